"""Overlap and duplicate-geometry defects, intersecting only the pairs the damage points at.

Candidate pairs come from GEOS's invalid edges and the grids' segments alone
(:func:`overlap_candidates`), so no flagged grid is intersected with all its neighbours.

>>> import numpy as np, shapely
>>> from geo_grid.coverage.layer import Measure, edge_layer
>>> grids = np.array([shapely.box(0, 0, 11, 10), shapely.box(10, 0, 20, 10)])
>>> layer, edges = edge_layer(grids)
>>> overlap_candidates(layer, edges).tolist()
[[0, 1]]
>>> found, pairs, _ = overlap_defects(layer, edges, np.array(["A", "B"]),
...     Measure("EPSG:4549", "EPSG:4549", 0.01, 0.05), 0.999)
>>> [(d["kind"], d["ids"], d["area_m2"]) for d in found]
[('overlap', ['A', 'B'], 10.0)]
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.coverage.edges import Segments
from geo_grid.coverage.layer import Layer, Measure, Overlaps
from geo_grid.coverage.polygons import polygonal_all, widths
from geo_grid.coverage.report import defect

__all__ = ["overlap_candidates", "overlap_defects"]


def overlap_candidates(layer: Layer, edges: NDArray) -> NDArray:
    """Pairs ``(i, j)``, i < j, that may overlap, found from the damage alone:

    * an invalid edge of one meets the other, and their interiors meet (each invalid edge is
      looked up in the STRtree; ``touches`` on the pair then drops neighbours that only share
      boundary);
    * both draw a segment the same way, i.e. lie on the same side of it (duplicates, and copies
      whose other edges still match their neighbours, which GEOS then does not flag);
    * a flagged grid holds the other wholly inside, edges apart.
    """
    src = np.flatnonzero(layer.flagged)
    qi, qj = layer.tree.query(edges[src], predicate="intersects")
    met = np.unique(_ordered(src[qi], qj), axis=0)
    met = met[met[:, 0] != met[:, 1]]
    inner = ~shapely.touches(layer.geoms[met[:, 0]], layer.geoms[met[:, 1]])
    found = [met[inner], _same_side(layer.seg), _nested(layer, src)]
    cand = np.vstack(found)
    return np.unique(cand, axis=0) if len(cand) else np.empty((0, 2), dtype=int)


def _ordered(a: NDArray, b: NDArray) -> NDArray:
    return np.column_stack([np.minimum(a, b), np.maximum(a, b)]).astype(int).reshape(-1, 2)


def _same_side(seg: Segments) -> NDArray:
    """Pairs of grids drawing one segment in the same direction (both on its right)."""
    frame = seg.subset(seg.same_side()).frame().drop_duplicates()
    if len(frame) == 0:
        return np.empty((0, 2), dtype=int)
    pairs = frame.merge(frame, on="key")
    pairs = pairs[pairs["grid_x"] < pairs["grid_y"]]
    return _ordered(pairs["grid_x"].to_numpy(), pairs["grid_y"].to_numpy())


def _nested(layer: Layer, src: NDArray) -> NDArray:
    """Pairs where a flagged grid holds another wholly inside, edges apart."""
    qi, qj = layer.tree.query(layer.geoms[src], predicate="contains_properly")
    a, b = src[qi], qj
    return _ordered(a[a != b], b[a != b])


def overlap_defects(
    layer: Layer, edges: NDArray, codes: NDArray, measure: Measure, share: float
) -> tuple[list[dict], NDArray, Overlaps]:
    """``overlap`` and ``duplicate_geometry`` defects, the pairs that overlap, and every
    candidate pair with its overlap area in the layer's CRS (the gap step's area bound)."""
    pairs = overlap_candidates(layer, edges)
    if len(pairs) == 0:
        return [], pairs, Overlaps(pairs, np.zeros(0))
    g = layer.geoms
    inter = polygonal_all(shapely.intersection(g[pairs[:, 0]], g[pairs[:, 1]]))
    candidates = Overlaps(pairs, shapely.area(inter))
    inter_m = measure(inter)
    ia = shapely.area(inter_m)
    iw = widths(inter_m)
    keep = measure.keep(ia, iw)
    pairs, inter, ia, iw = pairs[keep], inter[keep], ia[keep], iw[keep]
    defects = [
        defect("overlap", [codes[i], codes[j]], a, w, piece)
        for (i, j), piece, a, w in zip(pairs, inter, ia, iw, strict=True)
    ]
    defects += _duplicates(layer, pairs, inter, ia, codes, measure, share)
    return defects, pairs, candidates


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
    a_m = shapely.area(measure(g[pairs[near, 0]]))
    b_m = shapely.area(measure(g[pairs[near, 1]]))
    dup = ia[near] >= share * np.maximum(a_m, b_m)
    return [
        defect("duplicate_geometry", [codes[i], codes[j]], area, np.nan, g[j])
        for (i, j), area in zip(pairs[near][dup], b_m[dup], strict=True)
    ]
