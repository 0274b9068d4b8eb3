"""Which grids border a defect piece (the neighbours a gap report names).

A grid borders a piece when more than a point of its boundary runs along the piece's: within
``tol`` metres of it, for longer than ``4·tol``. Borders a grid draws with the piece's own
vertices (all of a hole of the clean grids) are found by segment keys
(:class:`geo_grid.coverage.edges.Segments`); only grids within ``tol`` of some other border
segment, and flagged grids (which may run along a border another grid draws exactly), are
measured with a buffer.

>>> import numpy as np, shapely
>>> from geo_grid.coverage.layer import Measure, edge_layer
>>> grids = np.array([shapely.box(0, 0, 10, 10), shapely.box(11, 0, 20, 10)])
>>> layer, _ = edge_layer(grids)
>>> gap = np.array([shapely.box(10, 0, 11, 10)])
>>> bordering(gap, layer, 0.05, Measure("EPSG:4549", "EPSG:4549", 0.01, 0.05))
[[0, 1]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from geo_grid.coverage.edges import Segments
from geo_grid.coverage.layer import Layer, Measure

__all__ = ["bordering"]


def bordering(pieces: NDArray, layer: Layer, tol: float, measure: Measure) -> list[list[int]]:
    """For each piece, the sorted grid indices sharing more than a point of border with it."""
    out: list[list[int]] = [[] for _ in range(len(pieces))]
    if len(pieces) == 0:
        return out
    seg = Segments.of(pieces)
    exact, matched = _shared_exactly(pieces, seg, layer, measure)
    known = {(p, g) for (p, g), length in exact.items() if length > 4 * tol}
    for p, g in known:
        out[p].append(g)
    pairs = _loose_pairs(pieces, seg, matched, layer, tol, measure)
    pairs = pairs[[(int(p), int(g)) not in known for p, g in pairs]] if known else pairs
    if len(pairs):
        grown = shapely.buffer(measure(pieces[pairs[:, 0]]), tol, quad_segs=2)
        near = shapely.boundary(measure(layer.geoms[pairs[:, 1]]))
        long = shapely.length(shapely.intersection(near, grown)) > 4 * tol
        for p, g in pairs[long]:
            out[p].append(int(g))
    return [sorted(set(nb)) for nb in out]


def _loose_pairs(pieces, seg, matched, layer: Layer, tol: float, measure) -> NDArray:
    """``(piece, grid)`` pairs to measure: grids near a piece segment no grid draws exactly,
    and flagged grids near the piece."""
    loose = seg.lines(~matched)
    reach = tol * _units_per_metre(pieces, measure) * 2
    si, gi = layer.tree.query(loose, predicate="dwithin", distance=reach)
    pi, gj = layer.tree.query(pieces, predicate="dwithin", distance=reach)
    damaged = layer.flagged[gj]  # may run along a border another grid draws exactly
    return np.unique(
        np.vstack(
            [np.column_stack([seg.owner[~matched][si], gi]), np.column_stack([pi, gj])[damaged]]
        ),
        axis=0,
    )


def _units_per_metre(geoms: NDArray, measure) -> float:
    """How many layer-CRS units make a metre around ``geoms`` (1 for a metric layer)."""
    sample = geoms[: min(len(geoms), 50)]
    src, met = shapely.length(sample), shapely.length(measure(sample))
    ok = met > 0
    return float(np.max(src[ok] / met[ok])) if ok.any() else 1.0


def _shared_exactly(pieces: NDArray, seg: Segments, layer: Layer, measure) -> tuple[dict, NDArray]:
    """``{(piece, grid): metric length}`` of borders a grid draws segment for segment (the
    reverse way: it lies on the other side), and which piece segments are so drawn."""
    near = np.unique(layer.tree.query(pieces, predicate="intersects")[1])
    hits = pd.DataFrame({"key": seg.back, "s": np.arange(len(seg))}).merge(
        layer.seg.of_owners(near).frame(), on="key"
    )
    matched = np.zeros(len(seg), dtype=bool)
    matched[hits["s"].to_numpy()] = True
    if len(hits) == 0:
        return {}, matched
    s = hits["s"].to_numpy()
    hits["piece"] = seg.owner[s]
    hits["length"] = shapely.length(measure(seg.lines(s)))
    sums = hits.groupby(["piece", "grid"])["length"].sum()
    return {(int(p), int(g)): float(v) for (p, g), v in sums.items()}, matched
