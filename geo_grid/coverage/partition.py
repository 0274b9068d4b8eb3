"""Coverage checks in partitions (provinces, cities) that find the defects of one whole check.

A national layer does not fit one process, but its defects are local. Each partition checks its
own grids (the *core*) together with a *halo*: every grid of another partition whose geometry
meets a core grid's bounding box widened by ``halo``, and every parent that does. A defect is
then kept by exactly one partition, its *owner*: the partition of its parent, or, without a
parent, the smallest partition among its grids. So a defect across a seam (an overlap of two
provinces' districts, a gap between them) is reported once, by its owner, which saw both sides.

A kept defect must also lie within ``halo`` of the core: its distance to the nearest core grid
plus its own diameter. Then every grid and parent touching it was in the partition's check, so
it is the defect the whole layer's check finds. A partition whose owned defect reaches further is
checked again with a wider halo (doubling; the last round takes the whole layer). Duplicate codes
are the one global property: they are counted over all codes, and reported by a check of the
duplicated rows alone (the same function as the whole check).

What the halo cannot see is named here: a hole of the grids' union outside every parent (all
gaps, in a layer checked without parents) that closes only beyond the halo. Seen from the
partition it opens to the outside, so it is no gap there and nothing reaches past the halo to
widen it. Inside parents that cover the land (provinces, communities) a gap is an uncovered part
of a parent, cut at the edge of the halo, and found.

The work of a partition is :func:`check_partition`, plain data in and out, so any executor can run
it: :func:`check_coverage_partitioned` maps it with ``map`` (or a pool's), and
``bench/coverage_dask.py`` builds the partitions with dask-geopandas and runs them on a dask
cluster.

Examples
--------
>>> import geopandas as gpd, shapely
>>> grids = gpd.GeoDataFrame(
...     {"code": ["A", "B", "C"], "part": ["1", "1", "2"]},
...     geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(1.9, 0, 3, 1)],
...     crs=4490)
>>> report = check_coverage_partitioned(grids, partition_field="part", halo=0.5)
>>> report.defects[["kind", "ids"]].values.tolist()
[['overlap', ['B', 'C']]]
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_grid.coverage import CoverageReport, check_coverage, sort_defects
from geo_grid.errors import BadInput

__all__ = [
    "PART",
    "Partition",
    "PartitionResult",
    "check_coverage_partitioned",
    "check_partition",
    "duplicate_code_defects",
    "make_partition",
    "merge_partitions",
    "plan_partitions",
    "widened_boxes",
]

#: The column naming each row's partition in :attr:`Partition.grids` and ``.parents``.
PART = "_part"


@dataclass
class Partition:
    """One partition's check: its core and halo grids, the parents near them, the halo used.

    ``grids`` and ``parents`` carry :data:`PART` (the partition each row belongs to); ``grids``
    keeps the layer's row order. ``halo`` is in the grids' CRS units; None: the whole layer.
    """

    key: str
    grids: gpd.GeoDataFrame
    parents: gpd.GeoDataFrame | None
    halo: float | None


@dataclass
class PartitionResult:
    """The defects a partition owns, the halo it needed when its own was too narrow, and what
    its check cost (grids in the core and in the halo, wall and CPU seconds)."""

    key: str
    defects: gpd.GeoDataFrame
    needed: float | None = None
    core: int = 0
    halo: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def plan_partitions(
    grids: gpd.GeoDataFrame,
    parent: gpd.GeoDataFrame | None,
    field: str,
    halo: float | None,
    keys: Iterable[str] | None = None,
) -> list[Partition]:
    """The partitions of a layer by its column ``field`` (parents carry the same column).

    Halo rows are whole grids and parents, found with an STRtree; ``keys`` limits the plan to
    some partitions (a second round with a wider halo).
    """
    for frame, name in ((grids, "grids"), (parent, "parent")):
        if frame is not None and field not in frame.columns:
            raise BadInput(f"{name}: no partition column {field!r}", field=field)
    if parent is not None and parent.crs is not None and not parent.crs.equals(grids.crs):
        parent = parent.to_crs(grids.crs)
    part_of = grids[field].astype(str).to_numpy()
    geoms = np.asarray(grids.geometry.array, dtype=object)
    tree = shapely.STRtree(geoms)
    pkeys = parent[field].astype(str).to_numpy() if parent is not None else None
    ptree = shapely.STRtree(np.asarray(parent.geometry.array)) if parent is not None else None
    out = []
    for key in sorted(set(part_of)) if keys is None else sorted(keys):
        core = np.flatnonzero(part_of == key)
        if halo is None:
            rows = np.arange(len(grids))
            prows = np.arange(len(parent)) if parent is not None else None
        else:
            boxes = widened_boxes(geoms[core], halo)
            rows = np.union1d(core, tree.query(boxes, predicate="intersects")[1])
            if ptree is not None:
                mine = np.flatnonzero(pkeys == key)
                prows = np.union1d(mine, ptree.query(boxes, predicate="intersects")[1])
        pframe = parent.iloc[prows] if parent is not None else None
        out.append(make_partition(key, grids.iloc[rows], pframe, field, halo))
    return out


def widened_boxes(geoms: np.ndarray, halo: float) -> np.ndarray:
    """Each geometry's bounding box widened by ``halo`` on every side (what a halo must meet)."""
    b = shapely.bounds(geoms)
    return shapely.box(b[:, 0] - halo, b[:, 1] - halo, b[:, 2] + halo, b[:, 3] + halo)


def make_partition(
    key: str,
    grids: gpd.GeoDataFrame,
    parents: gpd.GeoDataFrame | None,
    field: str,
    halo: float | None,
) -> Partition:
    """A :class:`Partition` from its core and halo rows (in the layer's row order) and parents:
    :data:`PART` from ``field``, other partitions' parents cut to the core's widened boxes."""
    grids = grids.assign(**{PART: grids[field].astype(str).to_numpy()})
    if parents is not None:
        parents = parents.assign(**{PART: parents[field].astype(str).to_numpy()})
        if halo is not None:
            core = np.asarray(grids.geometry.array, dtype=object)[grids[PART].to_numpy() == key]
            region = shapely.union_all(widened_boxes(core, halo))
            parents = _clip_halo_parents(parents, key, region)
    return Partition(key, grids, parents, halo)


def _clip_halo_parents(parents: gpd.GeoDataFrame, key: str, region) -> gpd.GeoDataFrame:
    """Other partitions' parents cut to the widened boxes of the core.

    Without the cut, a neighbouring province's whole outline, a ring of its districts in the
    halo, would be one huge uncovered piece to compute and then drop (its owner is the
    neighbour). The cut line lies at least ``halo`` from every core grid, so a defect it
    touches is either owned elsewhere or fails the reach test and is checked again.
    """
    halo_rows = parents[PART].to_numpy() != key
    if not halo_rows.any():
        return parents
    geoms = np.asarray(parents.geometry.array, dtype=object).copy()
    geoms[halo_rows] = shapely.intersection(geoms[halo_rows], region)
    return parents.set_geometry(gpd.GeoSeries(geoms, index=parents.index, crs=parents.crs))


def _owners(defects: gpd.GeoDataFrame, part: Partition) -> np.ndarray:
    """The owning partition of each defect: its parent's, else the smallest of its grids'."""
    grid_part = part.grids.groupby(part.grids["code"].astype(str))[PART].min().to_dict()
    parent_part = (
        dict(zip(part.parents["code"].astype(str), part.parents[PART], strict=True))
        if part.parents is not None
        else {}
    )
    owners = []
    for parent, ids in zip(defects["parent"], defects["ids"], strict=True):
        if isinstance(parent, str) and parent in parent_part:
            owners.append(parent_part[parent])
        elif len(ids):
            owners.append(min(grid_part[str(i)] for i in ids))
        else:  # nothing names it: the partition of the check that found it
            owners.append(part.key)
    return np.asarray(owners, dtype=object)


def _reach(geoms: np.ndarray, core: np.ndarray) -> np.ndarray:
    """Distance to the nearest core grid plus the diameter (bounding-box diagonal) of each."""
    out = np.zeros(len(geoms))
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any() or len(core) == 0:
        return out
    tree = shapely.STRtree(core)
    idx, dist = tree.query_nearest(geoms[present], return_distance=True, all_matches=False)
    nearest = np.full(int(present.sum()), np.inf)
    np.minimum.at(nearest, idx[0], dist)
    b = shapely.bounds(geoms[present])
    out[present] = nearest + np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    return out


def check_partition(part: Partition, **check_kwargs: Any) -> PartitionResult:
    """Check one partition and keep the defects it owns (see the module docstring).

    ``check_kwargs`` go to :func:`geo_grid.coverage.check_coverage` (``parent_field``,
    ``local_crs``, ``gap_width_m`` …); duplicate codes are left to
    :func:`duplicate_code_defects`.
    """
    start, cpu = time.perf_counter(), time.process_time()
    grids = part.grids.drop(columns=[PART])
    parents = part.parents.drop(columns=[PART]) if part.parents is not None else None
    defects = check_coverage(grids, parents, **check_kwargs).defects
    defects = defects[defects["kind"] != "duplicate_code"]
    mine = defects[_owners(defects, part) == part.key].reset_index(drop=True)
    in_core = part.grids[PART].to_numpy() == part.key
    needed = None
    if part.halo is not None and len(mine):
        core = np.asarray(part.grids.geometry.array, dtype=object)[in_core]
        local = mine.geometry.to_crs(grids.crs) if grids.crs is not None else mine.geometry
        reach = _reach(np.asarray(local.array, dtype=object), core)
        needed = float(reach.max()) if reach.max() > part.halo else None
    return PartitionResult(
        part.key, mine, needed, core=int(in_core.sum()), halo=int((~in_core).sum()),
        seconds=time.perf_counter() - start, cpu_seconds=time.process_time() - cpu,
    )  # fmt: skip


def duplicate_code_defects(grids: gpd.GeoDataFrame, **check_kwargs: Any) -> gpd.GeoDataFrame:
    """``duplicate_code`` defects over the whole layer: the rows whose code repeats, checked
    alone (a partition sees only the copies near it)."""
    codes = grids["code"].astype(str)
    repeated = grids[codes.duplicated(keep=False).to_numpy()]
    check_kwargs.pop("parent_field", None)
    defects = check_coverage(repeated, None, **check_kwargs).defects
    return defects[defects["kind"] == "duplicate_code"]


def merge_partitions(
    results: Iterable[PartitionResult], duplicates: gpd.GeoDataFrame, features: int, params: dict
) -> CoverageReport:
    """One report from the partitions' owned defects and the layer's duplicate codes."""
    frames = [r.defects for r in results if len(r.defects)] + (
        [duplicates] if len(duplicates) else []
    )
    if frames:
        merged = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
        defects = sort_defects(merged)
    else:
        defects = duplicates.iloc[0:0]
    return CoverageReport(defects=defects, features=features, params=params)


def check_coverage_partitioned(
    grids: gpd.GeoDataFrame,
    parent: gpd.GeoDataFrame | None = None,
    *,
    partition_field: str,
    halo: float,
    map_fn: Callable = map,
    max_rounds: int = 4,
    **check_kwargs: Any,
) -> CoverageReport:
    """:func:`geo_grid.coverage.check_coverage` run partition by partition, same defects.

    ``partition_field`` names each grid's (and each parent's) partition; ``halo`` is in the
    grids' CRS units (0.05 degrees, ~5 km, for districts in EPSG:4490); ``map_fn`` runs
    :func:`check_partition` over the partitions (``map``, a process pool's ``map`` …). A
    partition that needs a wider halo is planned again with twice the halo (or what it needed),
    up to ``max_rounds`` rounds, the last one over the whole layer.
    """
    if not halo > 0:
        raise BadInput(f"halo: {halo!r} is not a positive distance", field="halo")
    if max_rounds < 2:
        raise BadInput(f"max_rounds: {max_rounds!r}, at least 2", field="max_rounds")
    run = functools.partial(check_partition, **check_kwargs)
    results: dict[str, PartitionResult] = {}
    todo = plan_partitions(grids, parent, partition_field, halo)
    for round_no in range(max_rounds):
        retry = []
        for result in map_fn(run, todo):
            if result.needed is None:
                results[result.key] = result
            else:
                retry.append(result)
        if not retry:
            break
        halo = max(2 * halo, 1.05 * max(r.needed for r in retry))
        whole = round_no >= max_rounds - 2  # the last round sees the whole layer
        keys = [r.key for r in retry]
        todo = plan_partitions(grids, parent, partition_field, None if whole else halo, keys)
    params = {"partitions": len(results), "halo": halo, "partition_field": partition_field}
    dups = duplicate_code_defects(grids, **check_kwargs)
    return merge_partitions(results.values(), dups, len(grids), params)
