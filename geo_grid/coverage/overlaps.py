"""Overlap and duplicate-geometry defects, intersecting only the pairs the damage points at.

Candidate pairs come from the lines along which flagged grids may be invalid (their open
segments, which hold GEOS's invalid edges: :func:`geo_grid.coverage.suspects.suspect_edges`) and
the grids' segments alone (:func:`overlap_candidates`), so no flagged grid is intersected with
all its neighbours.

>>> import numpy as np, shapely
>>> from geo_grid.coverage.layer import Measure, edge_layer
>>> grids = np.array([shapely.box(0, 0, 11, 10), shapely.box(10, 0, 20, 10)])
>>> layer, edges = edge_layer(grids)
>>> overlap_candidates(layer, edges).tolist()
[[0, 1]]
>>> found = overlap_defects(layer, overlap_candidates(layer, edges), np.array(["A", "B"]),
...     Measure("EPSG:4547", "EPSG:4547", 0.01, 0.05), 0.999)
>>> [(d["kind"], d["ids"], d["area_m2"]) for d in found]
[('overlap', ['A', 'B'], 10.0)]
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.coverage.edges import Segments, multilines
from geo_grid.coverage.layer import Layer, Measure
from geo_grid.coverage.polygons import meeting_others, polygonal_all
from geo_grid.coverage.report import defect

__all__ = ["overlap_candidates", "overlap_defects"]


def overlap_candidates(layer: Layer, edges: NDArray) -> NDArray:
    """Pairs ``(i, j)``, i < j, that may overlap, found from the damage alone:

    * an edge of one (``edges``: its open segments, or GEOS's invalid edges) meets the other,
      and their interiors meet (each grid's edges are looked up in the STRtree, every segment
      without its very ends: :func:`_trimmed`; ``touches`` on the pair then drops neighbours
      that only share boundary);
    * both draw a segment the same way, i.e. lie on the same side of it (duplicates, and copies
      whose other edges still match their neighbours, which GEOS then does not flag);
    * a flagged grid holds the other wholly inside, edges apart.
    """
    src = np.flatnonzero(layer.flagged)
    n = len(layer.geoms)
    qi, qj = meeting_others(layer.tree, layer.geoms, _trimmed(edges[src]), src)
    met = np.unique(_pair_keys(src[qi], qj, n))
    a, b = met // n, met % n
    apart = a != b
    a, b = a[apart], b[apart]
    inner = _interiors_meet(layer, a, b)
    found = np.r_[a[inner] * n + b[inner], _same_side(layer.seg, n), _nested(layer, src, n)]
    found = np.unique(found)
    return np.column_stack([found // n, found % n]).astype(int).reshape(-1, 2)


def _interiors_meet(layer: Layer, a: NDArray, b: NDArray) -> NDArray:
    """Whether grids ``a[k]`` and ``b[k]`` share interior points (not only boundary: GEOS's
    ``touches``), asked once per pair of distinct shapes.

    Why: a duplicated grid meets every neighbour of its copy along the same open segments, and
    meets it as the copy does (the same point set, so the same answer). On 10,000 grids with
    10 % perturbed, 3,488 pairs ask 2,556 ``touches``. Two copies of one shape share their
    interior (``touches`` of a polygon with itself is false). Pairs are told apart by their
    grids' signatures (:meth:`~geo_grid.coverage.edges.Segments.shapes`), sorted: a first grid
    of each shape took a pass over every grid's signature (0.9 against 0.4 ms on 10,000
    grids)."""
    if len(a) == 0:
        return np.zeros(0, dtype=bool)
    shape = layer.seg.shapes(len(layer.geoms))
    lo, hi = np.minimum(shape[a], shape[b]), np.maximum(shape[a], shape[b])
    order = np.lexsort((hi, lo))
    lo, hi = lo[order], hi[order]
    fresh = np.r_[True, (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])]
    asked = order[fresh]  # one pair of each pair of shapes
    back = np.empty(len(order), dtype=np.int64)
    back[order] = np.cumsum(fresh) - 1
    return ~shapely.touches(layer.geoms[a[asked]], layer.geoms[b[asked]])[back]


#: The share of each edge segment's length left out at either end when looking up the grids it
#: meets (~1e-7 m on a 100 m segment in degrees: ~70 units in the last place there).
_TRIM = 1e-9


def _trimmed(edges: NDArray) -> NDArray:
    """``edges`` with every segment shortened by :data:`_TRIM` of its length at both ends.

    Why: a flagged grid's open segments end at vertices it shares with its neighbours, so each
    meets them there, and every such mere contact cost a ``touches`` (GEOS's whole relate, the
    costliest step of the candidates). A segment entering another grid's interior still does
    so without its ends, unless it enters within ~1e-7 m of its end (an overlap below every
    noise floor). On 10,000 grids with 10 % perturbed: 5,406 contacts -> 3,488, the same 1,745
    pairs kept, query and ``touches`` 39 -> 29 ms for 4 ms of trimming."""
    a, b, owner = _segments_of(edges)
    step = (b - a) * _TRIM
    out = np.full(len(edges), shapely.LineString(), dtype=object)
    if len(owner) == 0:
        return out
    fresh = np.r_[True, owner[1:] != owner[:-1]]
    out[owner[fresh]] = multilines(a + step, b - step, fresh)
    return out


def _segments_of(lines: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Start, end and line index of every segment of ``lines``, line by line, in order.

    The open segments are two-point parts (:func:`geo_grid.coverage.edges.multilines`): their
    coordinates pair up as they come, with no copy of each part (2.0 against 3.8 ms for the
    trimming on 10,000 grids with 10 % perturbed); lines of longer parts (GEOS's edges) are
    taken apart."""
    xy, line = shapely.get_coordinates(lines, return_index=True)
    if (shapely.get_num_coordinates(lines) == 2 * shapely.get_num_geometries(lines)).all():
        return xy[0::2], xy[1::2], line[0::2]
    parts, line = shapely.get_parts(lines, return_index=True)
    xy, part = shapely.get_coordinates(parts, return_index=True)
    same = part[1:] == part[:-1]
    return xy[:-1][same], xy[1:][same], line[part[:-1][same]]  # get_parts keeps the order


def _pair_keys(a: NDArray, b: NDArray, n: int) -> NDArray:
    """One int64 per unordered pair: ``min·n + max``."""
    return np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b)


def _same_side(seg: Segments, n: int) -> NDArray:
    """Pair keys of grids drawing one segment in the same direction (both on its right)."""
    same = seg.same_side()
    if not same.any():
        return np.zeros(0, dtype=np.int64)
    key, owner = seg.key[same], seg.owner[same].astype(np.int64)
    order = np.lexsort((owner, key))
    key, owner = key[order], owner[order]
    fresh = np.r_[True, (key[1:] != key[:-1]) | (owner[1:] != owner[:-1])]
    key, owner = key[fresh], owner[fresh]
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    size = np.diff(np.r_[start, len(key)])
    two = start[size == 2]
    out = [owner[two] * n + owner[two + 1]]
    for a in start[size > 2]:  # three or more grids on one side of a segment: rare
        grids = owner[a : a + size[start == a][0]]
        i, j = np.triu_indices(len(grids), 1)
        out.append(grids[i] * n + grids[j])
    return np.concatenate(out)


def _nested(layer: Layer, src: NDArray, n: int) -> NDArray:
    """Pair keys where a flagged grid holds another wholly inside, edges apart.

    Envelope pairs first, ``contains_properly`` only where the other grid's envelope lies
    strictly inside the flagged one's (as it does for a grid in its interior): the tree's
    predicate query prepared every flagged grid for a handful of nested pairs (2.4 -> 1.8 ms
    CPU on 10,000 grids with 10 % perturbed, the same pairs)."""
    qi, qj = layer.tree.query(layer.geoms[src])
    a, b = src[qi], qj
    box = shapely.bounds(layer.geoms)
    outer, inner = box[a], box[b]
    inside = (
        (a != b)
        & (inner[:, :2] > outer[:, :2]).all(axis=1)
        & (inner[:, 2:] < outer[:, 2:]).all(axis=1)
    )
    a, b = a[inside], b[inside]
    held = shapely.contains_properly(layer.geoms[a], layer.geoms[b])
    return _pair_keys(a[held], b[held], n)


def overlap_defects(
    layer: Layer, near: NDArray, codes: NDArray, measure: Measure, share: float
) -> list[dict]:
    """``overlap`` and ``duplicate_geometry`` defects among the pairs ``near``
    (:func:`overlap_candidates`; the gaps and the nesting use them too)."""
    pairs = near
    if len(pairs) == 0:
        return []
    inter, _, ia, iw = measure.read(polygonal_all(_intersections(layer, pairs)))
    keep = measure.keep(ia, iw)
    pairs, inter, ia, iw = pairs[keep], inter[keep], ia[keep], iw[keep]
    # codes and measures as Python lists, not a numpy row or scalar per defect: 5.1 -> 2.1 ms
    # for the 1,583 overlaps of 10,000 grids with 10 % perturbed
    first, second = codes[pairs[:, 0]].tolist(), codes[pairs[:, 1]].tolist()
    defects = [
        defect("overlap", [a, b], area, width, piece)
        for a, b, piece, area, width in zip(
            first, second, inter, ia.tolist(), iw.tolist(), strict=True
        )
    ]
    return defects + _duplicates(layer, pairs, inter, ia, codes, measure, share)


def _intersections(layer: Layer, pairs: NDArray) -> NDArray:
    """The intersection of each pair; a grid drawn twice (the same segments the same way:
    :meth:`~geo_grid.coverage.edges.Segments.shapes`) overlaps its copy by itself, with no
    overlay (GEOS's intersection of two identical polygons costs ~30 us, twice an ordinary
    pair's: 165 of the 1,748 pairs of 10,000 grids with 10 % perturbed)."""
    g = layer.geoms
    a, b = g[pairs[:, 0]], g[pairs[:, 1]]
    shape = layer.seg.shapes(len(g))
    same = shape[pairs[:, 0]] == shape[pairs[:, 1]]
    out = a.copy()
    out[~same] = shapely.intersection(a[~same], b[~same])
    return out


def _duplicates(layer, pairs, inter, ia, codes, measure, share) -> list[dict]:
    """Pairs overlapping by at least ``share`` of the larger grid (measured only for pairs whose
    share in the layer's own CRS is close: a projection changes area ratios very little)."""
    g = layer.geoms
    rough = shapely.area(inter) / np.maximum(
        shapely.area(g[pairs[:, 0]]), shapely.area(g[pairs[:, 1]])
    )
    near = np.flatnonzero(rough >= share - 0.01)
    if len(near) == 0:
        return []
    a_m, b_m = shapely.area(measure(g[pairs[near].T.ravel()])).reshape(2, -1)  # one projection
    dup = ia[near] >= share * np.maximum(a_m, b_m)
    return [
        defect("duplicate_geometry", [codes[i], codes[j]], area, np.nan, g[j])
        for (i, j), area in zip(pairs[near][dup], b_m[dup], strict=True)
    ]
