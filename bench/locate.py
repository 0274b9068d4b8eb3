"""Batch locate throughput over all five layers on the demo store, vs one PostGIS query per point.

``python bench/locate.py [--n 200000] [--baseline-n 2000]`` after ``geo-grid db start && geo-grid
demo load``. The index is the one the API serves (``services.index.get_locator``: every published
layer, communities, streets). The baseline is the database-only design on the same store over its
Unix socket: one ``ST_Contains`` query per point against the published generations of ``grid``,
answering every layer at once (smallest code per layer, as the index does).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

_SQL = (
    "SELECT g.layer_key, min(g.code) FROM grid g JOIN generation n ON n.id = g.generation_id "
    "WHERE n.status = 'published' AND ST_Contains(g.geom, ST_SetSRID(ST_MakePoint(%s, %s), 4490)) "
    "GROUP BY g.layer_key"
)


def postgis_rate(url: str, xs: np.ndarray, ys: np.ndarray) -> float:
    """Points/s of one ST_Contains query per point (all layers in one query)."""
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        for x, y in zip(xs[:50], ys[:50], strict=True):  # warm the cache and the plan
            cur.execute(_SQL, (float(x), float(y)))
            cur.fetchall()
        start = time.perf_counter()
        for x, y in zip(xs, ys, strict=True):
            cur.execute(_SQL, (float(x), float(y)))
            cur.fetchall()
        return len(xs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--baseline-n", type=int, default=2000)
    args = parser.parse_args()
    from geo_grid.db.session import database_url
    from geo_grid.services.index import get_locator

    index = get_locator()
    minx, miny, maxx, maxy = shapely.total_bounds(index.streets.geoms)
    rng = np.random.default_rng(0)
    xs = rng.uniform(minx, maxx, args.n)
    ys = rng.uniform(miny, maxy, args.n)
    index.locate_many(xs[:1000], ys[:1000], "cgcs2000")  # warm up
    start = time.perf_counter()
    frame = index.locate_many(xs, ys, "cgcs2000")
    rate = args.n / (time.perf_counter() - start)
    start = time.perf_counter()
    for x, y in zip(xs[:2000], ys[:2000], strict=True):
        index.locate(x, y, "cgcs2000")
    single = 2000 / (time.perf_counter() - start)
    url = database_url().replace("postgresql+psycopg2://", "postgresql://", 1)
    base = postgis_rate(url, xs[: args.baseline_n], ys[: args.baseline_n])
    grids = {k: len(v.codes) for k, v in index.layers.items()}
    print(f"layers {grids} + communities + streets; {args.n:,} random points in the district bbox")
    print(
        f"locate_many (all five layers): {rate:,.0f} points/s (goal 100,000); "
        f"inside the district {frame.inside_district.mean():.0%}"
    )
    print(f"locate one by one: {single:,.0f} points/s ({1e6 / single:.0f} µs each)")
    print(
        f"PostGIS ST_Contains one query per point (Unix socket): {base:,.0f} points/s; "
        f"batch locate is x{rate / base:.0f} (goal 50x)"
    )


if __name__ == "__main__":
    main()
