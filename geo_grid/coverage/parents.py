"""The parent layer of a check or a fix, and which parent each grid names.

>>> import geopandas as gpd, numpy as np, shapely
>>> communities = gpd.GeoDataFrame({"code": ["C1", "C2"]},
...     geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], crs="EPSG:4547")
>>> parents = Parents.read(communities, "EPSG:4547")
>>> grids = np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(0, 0, 2, 1)])
>>> parent_index(grids, np.array(["C2", None, "X"], dtype=object), parents).tolist()
[1, -2, -1]
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from geo_grid.coverage.polygons import polygonal

__all__ = ["FREE", "Parents", "covered", "parent_index"]

#: :func:`parent_index` value of a grid that names no parent (not nesting-checked).
FREE = -2


@dataclass
class Parents:
    """Parent codes, their polygonal geometries (an empty polygon for a missing one) and an
    STRtree over them."""

    codes: NDArray
    geoms: NDArray
    tree: shapely.STRtree

    @classmethod
    def of(cls, codes, geoms) -> Parents:
        arr = np.empty(len(geoms), dtype=object)
        arr[:] = list(geoms)
        out = np.empty(len(arr), dtype=object)
        one = (shapely.get_type_id(arr) == 3) & ~shapely.is_empty(arr)  # a Polygon: no copy
        out[one] = shapely.multipolygons(arr[one].reshape(-1, 1))  # of each part (~50 us)
        for k in np.flatnonzero(~one):
            out[k] = polygonal(arr[k]) if arr[k] is not None else shapely.MultiPolygon()
        return cls(np.asarray(codes, dtype=object), out, shapely.STRtree(out))

    def meeting(self, geoms: NDArray, *, inside: bool = False) -> tuple[NDArray, NDArray]:
        """``(geometry, parent)`` index pairs of the parents each of ``geoms`` intersects (or,
        ``inside``, lies within), in the order of ``self.tree.query(geoms, predicate=...)``:
        envelope pairs from the tree, then the predicate with the parents prepared. The tree's
        own predicate query prepares every geometry and tests it against whole parents: on the
        10 % layer's 516 gaps and 100 parents, 3.9 ms against 0.7 ms so (the same pairs)."""
        gi, pj = self.tree.query(geoms)
        shapely.prepare(self.geoms)
        test = shapely.contains if inside else shapely.intersects  # within(g, p) = contains(p, g)
        hit = test(self.geoms[pj], geoms[gi])
        return gi[hit], pj[hit]

    @classmethod
    def read(cls, parent: gpd.GeoDataFrame, crs) -> Parents:
        """The parents of a frame with ``code``, in the grids' CRS ``crs`` (the check's GEOS
        passes run there; the fixer projects to metres with :func:`geo_grid.crs.to_local`)."""
        series = parent.geometry
        if series.crs is not None and not series.crs.equals(crs):
            series = series.to_crs(crs)
        return cls.of(parent["code"].astype(str).to_numpy(), np.asarray(series.array, dtype=object))


def parent_index(
    work: NDArray, stated: NDArray, parents: Parents, *, infer_unknown: bool = False
) -> NDArray:
    """Index of each grid's parent from its stated code.

    A grid with no stated parent (None) is :data:`FREE`: coarse department layers (城管, 应急,
    生态) are drawn per street or across communities and are only checked for gaps and overlaps.
    A stated code that is not among the parents gives -1 (reported ``outside_parent``), or, with
    ``infer_unknown`` (the fixer), the parent the grid overlaps most.
    """
    codes = pd.Index(parents.codes, dtype=object)
    last = np.flatnonzero(~codes.duplicated(keep="last"))  # a code given twice: its last parent
    named = np.asarray(stated, dtype=object)
    free = pd.isna(named)
    asked = pd.Index([str(c) for c in named], dtype=object)
    found = codes[last].get_indexer(asked)  # one hash lookup for all (~1 ms for 10,000 grids)
    out = np.where(free, FREE, np.where(found < 0, -1, last[found])).astype(int)
    missing = shapely.is_missing(np.asarray(work, dtype=object))
    unknown = np.flatnonzero((out == -1) & ~missing)
    if len(unknown) and infer_unknown:
        _infer(out, unknown, work, parents)
    return out


def _infer(out: NDArray, unknown: NDArray, work: NDArray, parents: Parents) -> None:
    """Give each grid of ``unknown`` the parent it overlaps most (in place)."""
    gi, pj = parents.tree.query(work[unknown], predicate="intersects")
    if len(gi) == 0:
        return
    areas = shapely.area(shapely.intersection(work[unknown][gi], parents.geoms[pj]))
    best: dict[int, tuple[float, int]] = {}
    for g, p, a in zip(gi, pj, areas, strict=True):
        if a > best.get(g, (0.0, -1))[0]:
            best[g] = (a, p)
    for g, (_, p) in best.items():
        out[unknown[g]] = p


def covered(parents: NDArray, geoms: NDArray) -> NDArray:
    """``covers(parents, geoms)`` element-wise for non-empty geometries (grids, gaps): the
    prepared ``contains_properly`` (no point on the parent's boundary) first, then, for those
    touching their parent's boundary or leaving it, the matrix pattern of ``covers`` (no point
    in the parent's exterior), which GEOS's RelateNG computes faster than the prepared
    ``covers`` there. On 10,000 grids with 10 % perturbed in 100 parents, 1,395 of the 2,583
    suspect grids are inside properly (3 ms); the other 1,188 took 9 ms with the pattern and
    16 ms with ``covers``, which took 19-23 ms for all.

    >>> parent = np.array([shapely.box(0, 0, 4, 4)] * 3)
    >>> covered(parent, np.array([shapely.box(1, 1, 2, 2), shapely.box(0, 0, 2, 2),
    ...     shapely.box(3, 3, 5, 5)])).tolist()
    [True, True, False]
    """
    shapely.prepare(parents)
    out = shapely.contains_properly(parents, geoms)
    rest = ~out
    out[rest] = shapely.relate_pattern(parents[rest], geoms[rest], "******FF*")
    return out
