"""Gap polygons of a grid layer, with work bounded by the damage GEOS found.

Gaps are the holes of the grids' union and, with parents, the parts of the parents that no grid
covers. The union is never built whole:

1. the union of the *clean* grids (no invalid edge) comes from their free segments
   (:mod:`geo_grid._coverage_edges`): faces of those segments are either covered by a clean grid
   or a hole of that union;
2. a hole holding no flagged grid is a gap as it is; a hole holding flagged grids loses what they
   cover (a local union of the few grids inside it);
3. flagged grids sticking out of the clean union can close pockets of the outside: the holes of
   the clean union's outline joined with just those grids;
4. with parents, only a parent whose boundary is not lined, segment by segment, by grid edges from
   inside can have uncovered parts open to the outside: those are the parent minus the outline.

Pieces found twice (a pocket inside a parent) or split at a parent line are merged at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from geo_grid._coverage_edges import Segments, edge_drawn, union_faces
from geo_grid._coverage_faces import polygonal

__all__ = ["Layer", "Overlaps", "ParentLines", "find_gaps", "holes_of", "pieces"]


@dataclass
class Layer:
    """The working arrays of one check: grids (valid polygons, in the layer's CRS), the flagged
    mask from GEOS, their boundary segments and an STRtree over the grids."""

    geoms: NDArray
    flagged: NDArray
    seg: Segments
    tree: shapely.STRtree


@dataclass
class ParentLines:
    """Parents (layer CRS), their boundary segments, and which segments no grid draws the same
    way (``loose``: where a grid may cross the boundary or leave the parent open)."""

    geoms: NDArray
    seg: Segments
    loose: NDArray

    @classmethod
    def of(cls, geoms: NDArray, layer: Layer) -> ParentLines:
        seg = Segments.of(geoms)
        return cls(geoms, seg, ~seg.found_in(layer.seg))


def pieces(geom) -> NDArray:
    """Polygons of a (multi)polygonal result, as an array."""
    if geom is None or geom.is_empty:
        return np.empty(0, dtype=object)
    return shapely.get_parts(polygonal(geom))


def holes_of(union) -> NDArray:
    """Holes of a union as polygons, minus any islands of the union that sit inside them."""
    parts = shapely.get_parts(union)
    holes = [shapely.Polygon(r) for p in parts for r in getattr(p, "interiors", [])]
    if not holes:
        return np.empty(0, dtype=object)
    tree = shapely.STRtree(parts)
    out = []
    for hole in holes:
        inside = tree.query(hole, predicate="contains_properly")
        if len(inside):
            out.extend(pieces(shapely.difference(hole, shapely.union_all(parts[inside]))))
        else:
            out.append(hole)
    return np.asarray(out, dtype=object)


def _clean_faces(layer: Layer) -> tuple[NDArray, NDArray]:
    """Faces of the clean grids' union: (covered faces, hole faces).

    A face is covered when the first edge of its shell, run with the face on its right, is an
    edge some clean grid draws the same way (a grid also has itself on the right); the shell of
    a hole runs the other way round its bordering grids. No point-in-polygon test, which a point
    on a shared edge would fool."""
    clean = ~layer.flagged
    seg = layer.seg.subset(clean[layer.seg.owner])
    free = seg.free()
    faces = union_faces(seg, free)
    if len(faces) == 0:
        return faces, faces
    shells = shapely.get_exterior_ring(faces)
    xy, at = shapely.get_coordinates(shells, return_index=True)
    first = np.flatnonzero(np.r_[True, at[1:] != at[:-1]])
    a, b = xy[first], xy[first + 1]
    ccw = shapely.is_ccw(shells)
    a[ccw], b[ccw] = b[ccw], a[ccw].copy()
    covered = edge_drawn(a, b, seg.subset(free))
    return faces[covered], _enclosed(faces[~covered], faces[covered])


def _enclosed(holes: NDArray, covered: NDArray) -> NDArray:
    """The uncovered faces that are holes of a covered face. A face closed off only by parts
    touching at points (a bow-tie's loop against its neighbour) is no hole of the union, as GEOS
    builds it, so it is no gap either."""
    if len(holes) == 0 or len(covered) == 0:
        return holes[:0]
    shells = shapely.STRtree(shapely.polygons(shapely.get_exterior_ring(covered)))
    inside, _ = shells.query(shapely.point_on_surface(holes), predicate="within")
    return holes[np.unique(inside)]


def _outline(covered: NDArray, holes: NDArray):
    """The clean union with its holes filled (islands in holes dropped), as one MultiPolygon."""
    if len(covered) == 0:
        return shapely.MultiPolygon()
    shells = shapely.polygons(shapely.get_exterior_ring(covered))
    if len(holes):
        filled = shapely.STRtree(shapely.polygons(shapely.get_exterior_ring(holes)))
        island, _ = filled.query(shapely.point_on_surface(covered), predicate="within")
        shells = np.delete(shells, np.unique(island))
    return shapely.MultiPolygon(list(shells))


def _fill_holes(layer: Layer, holes: NDArray, overlaps: Overlaps | None = None) -> NDArray:
    """Each hole minus the flagged grids inside it (a hole without any is a gap as it is).

    A hole its flagged grids provably fill is skipped without an overlay (see :func:`_filled`).
    The rest go by rounds: round k takes the k-th flagged grid of every hole off it at once, so
    most holes cost one small difference per flagged grid in a few GEOS calls; a hole holding
    many flagged grids takes their union off in one go instead."""
    if len(holes) == 0:
        return holes
    flagged = np.flatnonzero(layer.flagged)
    fi, hj = shapely.STRtree(holes).query(layer.geoms[flagged], predicate="intersects")
    order = np.lexsort((fi, hj))
    hj, grid = hj[order], flagged[fi[order]]
    filled = _filled(layer, holes, hj, grid, overlaps)
    keep = ~filled[hj]
    hj, grid = hj[keep], grid[keep]
    rank = np.arange(len(hj)) - np.searchsorted(hj, hj, side="left")
    rest = holes.copy()
    rest[filled] = None
    crowded = np.unique(hj[rank >= _FEW])
    for h, group in _groups(hj, grid):
        if h in crowded:
            rest[h] = shapely.difference(rest[h], shapely.union_all(layer.geoms[group]))
    few = ~np.isin(hj, crowded)
    for k in range(_FEW):
        at = few & (rank == k)
        rest[hj[at]] = shapely.difference(rest[hj[at]], layer.geoms[grid[at]])
    parts = shapely.get_parts(rest[~shapely.is_missing(rest)])
    return parts[~shapely.is_empty(parts)]


@dataclass
class Overlaps:
    """The overlap step's candidate pairs and the area of each pair's intersection (layer CRS)."""

    pairs: NDArray
    areas: NDArray


def _filled(layer: Layer, holes: NDArray, hj: NDArray, grid: NDArray, overlaps) -> NDArray:
    """Holes their flagged grids fill, proven by area: when every grid lies inside the hole,
    the union of the grids is at least Σ areas − Σ pairwise overlaps (Bonferroni), so a sum
    reaching the hole's area leaves no gap wider than float noise. Typical of overlap damage
    (a grown or shifted grid and the neighbours it overlaps). Triple overlaps make the bound
    fall short and the hole goes the exact way."""
    out = np.zeros(len(holes), dtype=bool)
    if len(hj) == 0 or overlaps is None:
        return out
    inside = shapely.covers(holes[hj], layer.geoms[grid])
    frame = pd.DataFrame(
        {"h": hj, "g": grid, "inside": inside, "area": shapely.area(layer.geoms[grid])}
    )
    per = frame.groupby("h").agg(inside=("inside", "all"), area=("area", "sum"))
    home = pd.Series(frame["h"].to_numpy(), index=frame["g"].to_numpy())
    home = home[frame["inside"].to_numpy()]
    home = home[~home.index.duplicated(keep=False)]
    a = home.reindex(overlaps.pairs[:, 0]).to_numpy()
    b = home.reindex(overlaps.pairs[:, 1]).to_numpy()
    same = ~np.isnan(a) & (a == b)
    lost = pd.Series(overlaps.areas[same]).groupby(a[same].astype(int)).sum()
    union_low = per["area"] - lost.reindex(per.index, fill_value=0.0)
    need = shapely.area(holes[per.index.to_numpy()])
    ok = per["inside"].to_numpy() & (union_low.to_numpy() >= need * (1 - 1e-9))
    out[per.index.to_numpy()[ok]] = True
    return out


#: Holes with more flagged grids than this lose their union rather than one grid per round.
_FEW = 4


def _groups(keys: NDArray, values: NDArray):
    """``(key, values)`` runs of a sorted ``keys`` array."""
    if len(keys) == 0:
        return
    cuts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1], True])
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        yield int(keys[a]), values[a:b]


def _sticking_out(layer: Layer, outline) -> NDArray:
    """Indices of flagged grids not inside the clean union's outline."""
    flagged = np.flatnonzero(layer.flagged)
    if outline.is_empty:
        return flagged
    shapely.prepare(outline)
    return flagged[~shapely.covers(outline, layer.geoms[flagged])]


def find_gaps(
    layer: Layer, parents: ParentLines | None = None, overlaps: Overlaps | None = None
) -> NDArray:
    """Gap polygons (layer CRS), merged where they touch."""
    covered, holes = _clean_faces(layer)
    outline = _outline(covered, holes)
    gaps = list(_fill_holes(layer, holes, overlaps))
    out = _sticking_out(layer, outline)
    reach = outline
    if len(out):
        reach = shapely.union_all(np.concatenate([[outline], layer.geoms[out]]))
        gaps.extend(holes_of(reach))
    if parents is not None:
        gaps.extend(_open_parent_parts(parents, reach))
    return _merge(np.asarray(gaps, dtype=object))


def _open_parent_parts(parents: ParentLines, reach) -> list:
    """Parts of unlined parents outside the (flagged-grid-extended) outline of the grids."""
    unlined = np.unique(parents.seg.owner[parents.loose])
    if len(unlined) == 0:
        return []
    parts = shapely.get_parts(reach)
    tree = shapely.STRtree(parts)
    out: list = []
    for p in unlined:
        near = tree.query(parents.geoms[p], predicate="intersects")
        rest = shapely.difference(parents.geoms[p], shapely.union_all(parts[near]))
        out.extend(pieces(rest))
    return out


def _merge(gaps: NDArray) -> NDArray:
    """Union the gap pieces that touch or overlap; leave the others as they are."""
    if len(gaps) < 2:
        return gaps
    a, b = shapely.STRtree(gaps).query(gaps, predicate="intersects")
    linked = a != b
    if not linked.any():
        return gaps
    label = _components(len(gaps), a[linked], b[linked])
    out = []
    order = np.argsort(label, kind="stable")
    for _, group in _groups(label[order], order):
        if len(group) == 1:
            out.append(gaps[group[0]])
        else:
            out.extend(pieces(shapely.union_all(gaps[group])))
    return np.asarray(out, dtype=object)


def _components(n: int, a: NDArray, b: NDArray) -> NDArray:
    """Connected-component label of each of ``n`` nodes linked by edges ``a[k]-b[k]`` (min-label
    propagation with pointer jumping: a handful of vectorized rounds for gap clusters)."""
    label = np.arange(n)
    while True:
        before = label.copy()
        low = np.minimum(label[a], label[b])
        np.minimum.at(label, a, low)
        np.minimum.at(label, b, low)
        label = label[label]
        if np.array_equal(label, before):
            return label
