"""What flagged grids leave of the holes of the clean grids, with an overlay only for the grids
that overlap others.

A hole of the clean grids' union is a gap minus the flagged grids inside it. Most of those grids
overlap nothing: they were flagged because one grid among them (grown, shifted, duplicated)
overlaps them. The hole minus the grids overlapping nothing is walked from segments, as the
clean union is (:func:`geo_grid.coverage.edges.boundary_rings`): the hole's segments and those
grids' segments reversed, a segment drawn both ways cancelling out, leave the boundary of what
they do not cover. Only the grids that overlap others (one per hole, mostly) are then taken off
with an overlay. A hole whose walk does not give valid polygons (grids meeting otherwise than at
shared vertices) is filled by the union of all its grids, as before.

>>> import numpy as np, shapely
>>> from geo_grid.coverage.layer import edge_layer
>>> grids = np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(2, 0, 3, 1)])
>>> layer, _ = edge_layer(grids)
>>> hole = shapely.box(0, 0, 3, 2)
>>> [round(p.area, 3) for p in fill_holes(layer, np.array([hole]), np.zeros(3, int),
...     np.arange(3), np.zeros((0, 2), int))]
[3.0]
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.coverage.edges import Segments, boundary_rings
from geo_grid.coverage.layer import Layer
from geo_grid.coverage.polygons import meeting_unions

__all__ = ["fill_holes", "innermost", "with_islands"]


def fill_holes(
    layer: Layer,
    holes: NDArray,
    hj: NDArray,
    grid: NDArray,
    near: NDArray,
    hseg: Segments | None = None,
) -> NDArray:
    """Each hole ``holes[h]`` minus its grids (``grid[k]`` lies in hole ``hj[k]``; holes with
    none given are left as they are); ``near``: pairs of grids that may overlap (every pair
    whose interiors meet is among them: :func:`geo_grid.coverage.overlaps.overlap_candidates`);
    ``hseg``: ``Segments.of(holes)``, when the caller has made it."""
    out = np.asarray(holes, dtype=object).copy()
    if len(hj) == 0:
        return out
    lone = _lone(layer, hj, grid, near)
    hseg = Segments.of(holes) if hseg is None else hseg
    walked, done = _walked(layer, hseg, len(holes), hj[lone], grid[lone])
    out[done] = walked[done]
    left = ~lone | ~done[hj]  # grids overlapping others, and every grid of a hole not walked
    cover_h, cover = _covers(layer, hj[left], grid[left])
    if len(cover_h):
        out[cover_h] = shapely.difference(out[cover_h], cover)
    return out


def _lone(layer: Layer, hj: NDArray, grid: NDArray, near: NDArray) -> NDArray:
    """Mask of the ``(hole, grid)`` rows whose grid overlaps no other grid of its hole's walk:
    one end of every pair of ``near`` is left out (the one with more pairs: the grown or
    shifted grid, not its neighbours), and so is a grid in more than one hole, or in a pair with
    a grid in no hole."""
    n = len(layer.geoms)
    count = np.bincount(grid, minlength=n)
    home = np.full(n, -1, dtype=np.int64)
    home[grid] = hj
    out = np.zeros(n, dtype=bool)
    if len(near):
        a, b = near[:, 0], near[:, 1]
        degree = np.bincount(np.r_[a, b], minlength=n)
        left = np.where((degree[a] > degree[b]) | ((degree[a] == degree[b]) & (a > b)), a, b)
        out[left] = True
        out[a[home[b] != home[a]]] = True
        out[b[home[b] != home[a]]] = True
    out[count > 1] = True
    return ~out[grid]


def _walked(
    layer: Layer, hseg: Segments, holes: int, hj: NDArray, grid: NDArray
) -> tuple[NDArray, NDArray]:
    """Each of the ``holes`` (``hseg``: their segments) minus the grids given for it, walked
    from segments (a MultiPolygon per hole), and which holes were walked: those with grids
    given and only valid polygons as the result (none at all, if a grid is found in two holes
    or a face in none)."""
    walked = np.full(holes, None, dtype=object)
    done = np.zeros(holes, dtype=bool)
    held = np.unique(hj)
    if len(held) == 0:
        return walked, done
    seg = _hole_minus_grids(layer.seg, hseg.of_owners(held), hj, grid)
    faces = _faces(seg)
    if faces is None:
        return walked, done
    polys, first = faces
    found = seg.index_of(*first)
    at = seg.owner[found]
    if (found < 0).any():
        return walked, done
    done[held] = True
    done[at[~shapely.is_valid(polys)]] = False
    keep = done[at]
    order = np.argsort(at[keep], kind="stable")
    idx, parts = at[keep][order], polys[keep][order]
    if len(idx):
        fresh = np.r_[True, idx[1:] != idx[:-1]]
        walked[idx[fresh]] = shapely.multipolygons(parts, indices=np.cumsum(fresh) - 1)
    empty = done & shapely.is_missing(walked)
    walked[empty] = shapely.MultiPolygon()  # the grids fill the hole
    return walked, done


def _hole_minus_grids(seg: Segments, hseg: Segments, hj: NDArray, grid: NDArray) -> Segments:
    """The holes' segments (owner: the hole) with the grids' segments reversed (owner: their
    hole): a segment a hole and one of its grids both draw then runs both ways."""
    gseg = seg.of_owners(np.unique(grid))
    hole_of = np.full(int(seg.owner.max(initial=-1)) + 1, -1, dtype=np.int64)
    hole_of[grid] = hj
    shift = len(hseg.xy)
    return Segments(
        np.r_[hseg.xy, seg.xy],
        np.r_[hseg.ia, gseg.ib + shift],
        np.r_[hseg.ib, gseg.ia + shift],
        np.r_[hseg.owner, hole_of[gseg.owner]],
        np.r_[hseg.key, gseg.back],
        np.r_[hseg.back, gseg.key],
    )


def _faces(seg: Segments) -> tuple[NDArray, tuple[NDArray, NDArray]] | None:
    """Polygons (with their holes) of the free segments of ``seg``, and the first segment of
    each one's shell (its start and end points: a segment of ``seg``, which says whose polygon
    it is); None when they do not close."""
    walked = boundary_rings(seg, seg.free())
    if walked is None:
        return None
    rings, clockwise = walked
    shells, inner = rings[clockwise], rings[~clockwise]
    polys = shapely.polygons(shells)
    home = innermost(shapely.polygons(inner), polys, inner)
    if (home < 0).any():
        return None
    start = shapely.get_coordinates(shapely.get_point(shells, 0))
    end = shapely.get_coordinates(shapely.get_point(shells, 1))
    return with_islands(polys, inner, home), (start, end)


def _probe(rings: NDArray) -> NDArray:
    """The middle of each ring's first segment."""
    xy = shapely.get_coordinates(shapely.get_point(rings, 0))
    xy2 = shapely.get_coordinates(shapely.get_point(rings, 1))
    return shapely.points((xy + xy2) / 2)


def _covers(layer: Layer, hj: NDArray, grid: NDArray) -> tuple[NDArray, NDArray]:
    """The holes with grids left to take off, and what those grids cover in each: a lone grid
    as it is, else the union of each group of them that meet, the groups of a hole as the
    parts of one MultiPolygon (apart, so a valid one, and the difference is the same).

    Most holes with several such grids hold them apart: on the 10 % layer, 107 holes hold 2-20
    of them, in 1-14 groups. Unioning each hole's grids whole took :func:`fill_holes` from
    22.0 to 24.7 ms CPU there, for the same differences (``equals_identical``, hole by hole)."""
    order = np.lexsort((grid, hj))
    hj, grid = hj[order], grid[order]
    if len(hj) == 0:
        return hj, np.empty(0, dtype=object)
    cuts = np.flatnonzero(np.r_[True, hj[1:] != hj[:-1], True])
    geoms = layer.geoms[grid]
    heads, _, cover = meeting_unions(geoms, np.repeat(np.arange(len(cuts) - 1), np.diff(cuts)))
    hole = np.searchsorted(cuts, heads, "right") - 1  # the hole of each group
    out = cover[np.r_[True, hole[1:] != hole[:-1]]]  # the first group of each hole
    several = np.flatnonzero(np.bincount(hole, minlength=len(cuts) - 1) > 1)
    if len(several):
        parts, at = shapely.get_parts(cover, return_index=True)
        mine = np.isin(hole[at], several)
        where = np.searchsorted(several, hole[at][mine])
        out[several] = shapely.multipolygons(parts[mine], indices=where)
    return hj[cuts[:-1]], out


def innermost(outlines: NDArray, holes: NDArray, outline_rings: NDArray) -> NDArray:
    """The smallest of ``holes`` (polygons) holding each of ``outlines`` (-1: none). Tested at
    the middle of the outline's first segment, which lies on no other ring (free segments meet
    only at their ends)."""
    home = np.full(len(outlines), -1, dtype=int)
    if len(holes) == 0 or len(outlines) == 0:
        return home
    oi, hj = shapely.STRtree(holes).query(_probe(outline_rings), predicate="within")
    if len(oi) == 0:
        return home
    area = shapely.area(holes)[hj]
    order = np.lexsort((area, oi))
    oi, hj = oi[order], hj[order]
    first = np.r_[True, oi[1:] != oi[:-1]]
    home[oi[first]] = hj[first]
    return home


def with_islands(holes: NDArray, island_rings: NDArray, home: NDArray) -> NDArray:
    """Each of ``holes`` (polygons without interiors) with the rings ``island_rings[k]`` it
    holds (``home[k]``) as its interior rings."""
    if len(island_rings) == 0:
        return holes
    held = np.unique(home)
    shells = shapely.get_exterior_ring(holes[held])
    rings = np.r_[shells, island_rings]
    at = np.r_[np.arange(len(held)), np.searchsorted(held, home)]
    order = np.argsort(at, kind="stable")  # each shell, then its islands in their order
    out = holes.copy()
    out[held] = shapely.polygons(rings[order], indices=at[order])  # one call, not one per hole
    return out
