"""Benchmark: our full coverage check against bare GEOS and against pairwise overlay baselines.

Builds ``--grids`` (10,000) perturbed Voronoi grids (seeded; a few dozen cells grown, shrunk,
shifted, removed or duplicated), stores them in EPSG:4490 like the service does, and times

* ``check_coverage`` (everything: projection, validity, codes, duplicates, GEOS edge matching,
  overlap polygons, gap polygons with widths and neighbours, report assembly);
* bare ``shapely.coverage_invalid_edges`` on the same geometries (edges only, no polygons);
* a brute-force baseline computing the same two products as the check (overlap polygons and
  gap polygons): every pair tested with ``intersects`` (vectorized per row, O(n²)) and
  overlapping pairs intersected, plus the holes of ``shapely.union_all`` for gaps; the pair part
  is timed on a subset and extrapolated by (n / subset)² when the full run would take longer than
  a minute;
* ``geopandas.overlay(layer, layer, how="intersection")`` plus the same union for gaps (an
  indexed overlay, but it intersects every pair of neighbours, shared edges included).

Run: ``.venv/bin/python bench/coverage.py [--grids 10000] [--seed 7] [--repeat 3]``.
Goals from issue 3: check ≤ 2× bare GEOS; ≥ 10× faster than the pairwise overlay.
"""

from __future__ import annotations

import argparse
import time
import warnings

import geopandas as gpd
import numpy as np
import shapely

from geo_grid._coverage_synth import PERTURBATIONS, perturb, voronoi_layer
from geo_grid.coverage import check_coverage


def build(n: int, seed: int, damage: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    layer = voronoi_layer(n, seed)
    for _ in range(damage):
        kind = PERTURBATIONS[int(rng.integers(len(PERTURBATIONS)))]
        layer = perturb(layer, kind, int(rng.integers(len(layer))), rng.uniform(1, 20), rng)
    return layer.to_crs(4490)


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--damage", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--subset", type=int, default=1_500)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*keep_geom_type.*")

    layer = build(args.grids, args.seed, args.damage)
    geoms = np.asarray(layer.geometry.array, dtype=object)
    n = len(layer)
    print(f"layer: {n} grids (EPSG:4490), {args.damage} perturbations, seed {args.seed}")

    report = check_coverage(layer)
    print("defects:", {k: v for k, v in report.summary().items() if v and k != "features"})
    t_ours = best(lambda: check_coverage(layer), args.repeat)
    t_geos = best(lambda: shapely.coverage_invalid_edges(geoms), args.repeat)

    m = min(args.subset, n)
    sub = geoms[:m]
    t_sub = best(lambda: pairwise(sub), 1)
    t_pair = t_sub * (n / m) ** 2
    pair_note = f"measured on {m} grids in {t_sub:.2f} s, extrapolated by (n/m)^2"
    if t_pair <= 60.0 and m < n:
        t_pair = best(lambda: pairwise(geoms), 1)
        pair_note = "measured on all grids"
    elif m == n:
        pair_note = "measured on all grids"

    t_union = best(lambda: gaps_by_union(geoms), 1)
    t_pair += t_union
    metric = layer.to_crs("EPSG:4549")
    t_overlay = best(lambda: gpd.overlay(metric, metric, how="intersection"), 1) + t_union

    print(f"check_coverage (full report)      {t_ours:8.3f} s")
    print(f"shapely.coverage_invalid_edges    {t_geos:8.3f} s")
    print(f"union_all for gaps (in both)      {t_union:8.3f} s")
    print(f"pairwise O(n^2) + union           {t_pair:8.1f} s  (pairs {pair_note})")
    print(f"geopandas.overlay + union         {t_overlay:8.3f} s")
    print(f"ratio ours / bare GEOS            {t_ours / t_geos:8.2f}x   (goal <= 2x)")
    print(f"speed-up vs pairwise O(n^2)+union {t_pair / t_ours:8.0f}x   (goal >= 10x)")
    print(f"speed-up vs gpd.overlay+union     {t_overlay / t_ours:8.1f}x")


if __name__ == "__main__":
    main()
