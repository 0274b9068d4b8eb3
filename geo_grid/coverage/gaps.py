"""Gap polygons of a grid layer, with work bounded by the damage GEOS found.

Gaps are the holes of the grids' union and, with parents, the parts of the parents that no grid
covers. The union is never built whole:

1. the union of the *clean* grids (no invalid edge) comes from their free segments
   (:mod:`geo_grid.coverage.edges`): faces of those segments are either covered by a clean grid
   or a hole of that union;
2. a hole holding no flagged grid is a gap as it is; a hole holding flagged grids loses what they
   cover: the grids overlapping no other are taken off by walking segments again, the others
   with a local union and difference (:mod:`geo_grid.coverage.fill`);
3. flagged grids sticking out of the clean union can close pockets of the outside: the holes of
   the clean union's outline joined with just those grids;
4. with parents, only a parent whose boundary is not lined, segment by segment, by grid edges from
   inside can have uncovered parts open to the outside: those are the parent minus the outline.

Pieces found twice (a pocket inside a parent) or split at a parent line are merged at the end.
:func:`gap_defects` then measures them, drops noise, and names their neighbours and parent.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.coverage.borders import bordering
from geo_grid.coverage.edges import Segments, boundary_rings
from geo_grid.coverage.fill import fill_holes, innermost, with_islands
from geo_grid.coverage.layer import Layer, Measure, ParentLines
from geo_grid.coverage.parents import Parents, covered
from geo_grid.coverage.polygons import checked_difference, meeting_unions, pieces, union_of
from geo_grid.coverage.report import defect

__all__ = ["find_gaps", "gap_defects", "holes_of"]


def holes_of(union) -> NDArray:
    """Holes of a union as polygons, minus the outlines of the union's islands inside them.

    An island is a part the hole *contains*, not only contains properly: a part may touch the
    hole's ring at a point (a grid pinched at a corner against the grids around it), and it is
    covered all the same. Only an island's outline is taken off: a hole of the island is a hole
    of the union in its own right, found in its turn, and taking off the island as it is would
    report that hole twice.

    >>> frame = shapely.box(0, 0, 6, 6).difference(shapely.box(1, 1, 5, 5))
    >>> notch, island = shapely.box(1, 1, 2, 2), shapely.box(2, 2, 4, 4).difference(
    ...     shapely.box(2.5, 2.5, 3.5, 3.5))  # touches the notch at (2, 2)
    >>> sorted(shapely.area(holes_of(shapely.union_all([frame, notch, island]))).tolist())
    [1.0, 11.0]
    """
    parts = shapely.get_parts(union)
    holes = [shapely.Polygon(r) for p in parts for r in getattr(p, "interiors", [])]
    if not holes:
        return np.empty(0, dtype=object)
    tree = shapely.STRtree(parts)
    out = []
    for hole in holes:
        inside = tree.query(hole, predicate="contains")
        if len(inside):
            outlines = shapely.polygons(shapely.get_exterior_ring(parts[inside]))
            out.extend(pieces(shapely.difference(hole, shapely.union_all(outlines))))
        else:
            out.append(hole)
    return np.asarray(out, dtype=object)


def _clean_faces(layer: Layer) -> tuple[NDArray, NDArray]:
    """The clean grids' union as (outlines, holes): the polygons of its outer rings, islands in
    holes left out, and its holes as polygons, minus the islands in them.

    The union's rings are walked from the clean grids' free segments
    (:func:`geo_grid.coverage.edges.boundary_rings`): clockwise rings are outlines,
    anti-clockwise ones holes. A region closed off only by parts touching at points (a bow-tie's
    loop against its neighbour) is no ring of either kind, as GEOS builds the union, so it is
    no gap either."""
    clean = ~layer.flagged
    walked = boundary_rings(layer.seg, layer.seg.free_among(clean[layer.seg.owner]))
    if walked is None:  # not a valid coverage after all: let GEOS build the union
        union = shapely.union_all(layer.geoms[clean])
        shells = shapely.polygons(shapely.get_exterior_ring(shapely.get_parts(union)))
        inner, outer = shapely.STRtree(shells).query(shells, predicate="within")
        islands = np.unique(inner[inner != outer])
        return np.delete(shells, islands), holes_of(union)
    rings, clockwise = walked
    outlines, holes = shapely.polygons(rings[clockwise]), shapely.polygons(rings[~clockwise])
    home = innermost(outlines, holes, rings[clockwise])
    islands = home >= 0
    return outlines[~islands], with_islands(holes, rings[clockwise][islands], home[islands])


def _outline(outlines: NDArray):
    """The clean union with its holes filled, as one MultiPolygon."""
    return shapely.MultiPolygon(list(outlines)) if len(outlines) else shapely.MultiPolygon()


def _fill_holes(layer: Layer, holes: NDArray, near: NDArray) -> NDArray:
    """Each hole minus the flagged grids inside it (a hole without any is a gap as it is):
    :func:`geo_grid.coverage.fill.fill_holes` (``near``: the pairs of grids that may overlap).

    Segment signatures (:meth:`~geo_grid.coverage.edges.Segments.shapes`) spare the overlays
    a duplicated grid causes: a hole that one of its grids draws segment for segment (the
    duplicated grid's own place) is filled, and a grid drawn twice is taken off once (on 10,000
    grids with 10 % perturbed, 58 holes and 66 twins: the unions of identical polygons were the
    slowest, 0.4 ms each)."""
    if len(holes) == 0:
        return holes
    hj, grid = _flagged_in(layer, holes)
    shape = layer.seg.shapes(len(layer.geoms))[grid]
    hseg = Segments.of(holes)  # the signatures here, the walk in fill_holes
    filled = np.zeros(len(holes), dtype=bool)
    filled[hj[shape == hseg.shapes(len(holes))[hj]]] = True
    order = np.lexsort((grid, shape, hj))
    hj, grid, shape = hj[order], grid[order], shape[order]
    twin = np.r_[False, (hj[1:] == hj[:-1]) & (shape[1:] == shape[:-1])]
    keep = ~twin & ~filled[hj]
    rest = fill_holes(layer, holes, hj[keep], grid[keep], near, hseg)
    rest[filled] = None
    parts = shapely.get_parts(rest[~shapely.is_missing(rest)])
    return parts[~shapely.is_empty(parts)]


def _flagged_in(layer: Layer, holes: NDArray) -> tuple[NDArray, NDArray]:
    """``(hole, grid)`` pairs of the flagged grids meeting each hole: the layer's tree by
    envelope, then each prepared hole against its flagged grids only (1.9 ms on the 10 % layer,
    where a tree of the holes queried with every flagged grid took 7 ms: the same pairs)."""
    hj, grid = layer.tree.query(holes)
    keep = layer.flagged[grid]
    hj, grid = hj[keep], grid[keep]
    shapely.prepare(holes)
    meet = shapely.intersects(holes[hj], layer.geoms[grid])
    return hj[meet], grid[meet]


def _sticking_out(layer: Layer, outline) -> NDArray:
    """Indices of flagged grids not inside the clean union's outline: ``covers`` as
    :func:`geo_grid.coverage.parents.covered` tests it, most grids lying in holes well inside
    (on the 10 % layer, 1,894 of 2,016 flagged grids: 2.8 -> 2.3 ms CPU)."""
    flagged = np.flatnonzero(layer.flagged)
    if outline.is_empty:
        return flagged
    return flagged[~covered(np.full(len(flagged), outline), layer.geoms[flagged])]


def find_gaps(layer: Layer, parents: ParentLines | None, near: NDArray) -> NDArray:
    """Gap polygons (layer CRS), merged where they touch (``near``: the pairs of grids that may
    overlap, :func:`geo_grid.coverage.overlaps.overlap_candidates`)."""
    outlines, holes = _clean_faces(layer)
    outline = _outline(outlines)
    gaps = list(_fill_holes(layer, holes, near))
    out = _sticking_out(layer, outline)
    reach = outline
    if len(out):
        # the grids by disjoint subsets, then the outline: 7.2 -> 5.2 ms for the 10 % layer's 122
        # grids against one union of all (the same area; the defects byte-identical)
        reach = shapely.union(outline, shapely.disjoint_subset_union_all(layer.geoms[out]))
        gaps.extend(holes_of(reach))
    if parents is not None:
        gaps.extend(_open_parent_parts(parents, reach))
    return _merge(np.asarray(gaps, dtype=object))


def _open_parent_parts(parents: ParentLines, reach) -> list:
    """Parts of parents outside the (flagged-grid-extended) outline of the grids.

    Only a parent with a loose boundary segment (one no grid draws the same way) not wholly in
    the interior of ``reach`` can have such a part: next to a lined segment lies the grid lining
    it, which is inside ``reach``, and an uncovered part touching the parent's boundary nowhere
    is enclosed by the grids, a hole the other steps find. So the overlay runs only for parents
    that may be open to the outside (10,000 grids, 10 % perturbed, in 100 parents: 7 of the 91
    parents with loose segments; ``find_gaps`` 151 -> 117 ms).

    The grids drawn along a parent's boundary nearly coincide with it, where GEOS's overlay can
    silently return a wrong difference (a whole community, on Nanjing's politics_law layer), so
    the difference is :func:`geo_grid.coverage.polygons.checked_difference`. A parent reached by
    one part of ``reach`` is cut by that part as it is, the same object for every parent it
    reaches (on Nanjing's layers ``reach`` is one polygon of ~14,000 vertices: unioning it anew
    for each of 445 parents cost 0.26 s, and preparing each copy for the difference check
    0.16 s)."""
    loose = np.flatnonzero(parents.loose)
    if len(loose) == 0:
        return []
    shapely.prepare(reach)
    inside = shapely.contains_properly(reach, parents.seg.lines(loose))
    unlined = np.unique(parents.seg.owner[loose[~inside]])
    if len(unlined) == 0:
        return []
    parts = shapely.get_parts(reach)
    tree = shapely.STRtree(parts)
    near = [tree.query(parents.geoms[p], predicate="intersects") for p in unlined]
    covers = np.asarray([union_of(parts[n]) for n in near], dtype=object)
    rest = checked_difference(parents.geoms[unlined], covers)
    return [piece for r in rest for piece in pieces(r)]


def _merge(gaps: NDArray) -> NDArray:
    """Union the gap pieces that touch or overlap; leave the others as they are, in the order
    of their first piece.

    Groups and unions by :func:`geo_grid.coverage.polygons.meeting_unions`; a Python step only
    per group to union (13 groups among the 10 % layer's 536 pieces), the lone pieces placed by
    numpy: ``_merge`` 2.1 -> 1.6 ms CPU there, of which 0.6 ms are the unions."""
    if len(gaps) < 2:
        return gaps
    heads, size, unions = meeting_unions(gaps)
    if len(heads) == len(gaps):
        return gaps
    groups = np.flatnonzero(size > 1)
    merged = [pieces(u) for u in unions[groups]]
    count = np.ones(len(heads), dtype=np.int64)
    count[groups] = [len(m) for m in merged]
    at = np.cumsum(count) - count
    out = np.empty(int(count.sum()), dtype=object)
    lone = np.ones(len(heads), dtype=bool)
    lone[groups] = False
    out[at[lone]] = gaps[heads[lone]]
    for k, m in zip(groups, merged, strict=True):
        out[at[k] : at[k] + len(m)] = m
    return out


def gap_defects(
    gaps: NDArray,
    layer: Layer,
    codes: NDArray,
    parents: Parents | None,
    measure: Measure,
    sliver_w: float,
) -> list[dict]:
    """``gap`` / ``sliver_gap`` defects: measured, noise dropped, neighbours and parent named."""
    if len(gaps) == 0:
        return []
    gaps, gaps_m, ga, gw = measure.read(gaps)
    keep = measure.keep(ga, gw)
    gaps, gaps_m, ga, gw = gaps[keep], gaps_m[keep], ga[keep], gw[keep]
    owner = _gap_parents(gaps, parents) if parents else np.full(len(gaps), -1, dtype=int)
    tol = max(measure.noise_width, 1e-3)
    neighbours = bordering(gaps, layer, tol, measure, gaps_m)
    out = []
    names = codes.tolist()  # Python strings and floats, not a numpy lookup per gap: 1.3 -> 0.7 ms
    rows = zip(gaps, ga.tolist(), gw.tolist(), neighbours, owner.tolist(), strict=True)
    for g, area, width, nb, p in rows:
        kind = "sliver_gap" if width < sliver_w else "gap"
        pcode = parents.codes[p] if p >= 0 else None
        out.append(defect(kind, sorted([names[k] for k in nb]), area, width, g, pcode))
    return out


def _gap_parents(gaps: NDArray, parents: Parents) -> NDArray:
    """The parent holding most of each gap (-1: none, also for a gap outside every parent that
    only touches one). A gap is not cut at parent lines: a strip lost between two grids of
    neighbouring communities is one defect, as a planner sees it."""
    owner = np.full(len(gaps), -1, dtype=int)
    if len(gaps) == 0:
        return owner
    gi, pj = parents.meeting(gaps)
    if len(gi) == 0:
        return owner
    count = np.bincount(gi, minlength=len(gaps))
    single = count[gi] == 1
    gs, ps = gi[single], pj[single]
    # inside properly (prepared by meeting(), most gaps) first, the unprepared pattern for the
    # rest: on the 10 % layer with 100 parents, this function 6.7 -> 5.5 ms CPU
    inner = shapely.contains_properly(parents.geoms[ps], gaps[gs])
    rest = ~inner
    inner[rest] = shapely.relate_pattern(gaps[gs[rest]], parents.geoms[ps[rest]], "T********")
    owner[gs[inner]] = ps[inner]  # a parent the gap only touches does not hold it
    many = np.flatnonzero(~single)  # parents only touched have no area there: never the largest
    held = covered(parents.geoms[pj[many]], gaps[gi[many]])  # holds it all: no overlay
    owner[gi[many[held]]] = pj[many[held]]
    many = many[~np.isin(gi[many], gi[many[held]])]
    areas = shapely.area(shapely.intersection(gaps[gi[many]], parents.geoms[pj[many]]))
    best = np.zeros(len(gaps))
    for g, p, a in zip(gi[many], pj[many], areas, strict=True):
        if a > best[g]:
            best[g], owner[g] = a, p
    return owner
