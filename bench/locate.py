"""Batch locate throughput over all layers (points/s); PostGIS ST_Contains baseline with a URL.

``python bench/locate.py [--n 200000] [--database-url postgresql:///geo_grid?host=/socket/dir]``.
The baseline is one query per point against the published generations of table ``grid``
(``grid(layer_key, code, geom)`` joined to ``generation(id, status)``), as the database-only design
would do it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from noisy_queries import load_library  # noqa: E402

from geo_grid.locate import LocateIndex  # noqa: E402

_SQL = (
    "SELECT g.layer_key, min(g.code) FROM grid g JOIN generation n ON n.id = g.generation_id "
    "WHERE n.status = 'published' AND ST_Contains(g.geom, ST_SetSRID(ST_MakePoint(%s, %s), 4490)) "
    "GROUP BY g.layer_key"
)


def postgis_rate(url: str, xs: np.ndarray, ys: np.ndarray) -> float:
    """Points/s of one ST_Contains query per point (all layers in one query)."""
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        start = time.perf_counter()
        for x, y in zip(xs, ys, strict=True):
            cur.execute(_SQL, (float(x), float(y)))
            cur.fetchall()
        return len(xs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    _, _, _, layers = load_library()
    if isinstance(layers, tuple):
        grids, communities, streets = layers
    else:
        grids, communities, streets = layers.grids, layers.communities, layers.streets
    index = LocateIndex(grids, communities, streets)
    minx, miny, maxx, maxy = grids["unified"].total_bounds
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
    print(
        f"layers {list(grids)} + communities + streets; grids {sum(len(g) for g in grids.values())}"
    )
    print(
        f"locate_many: {rate:,.0f} points/s (goal 100,000); inside {frame.inside_district.mean():.0%}"
    )
    print(f"locate one by one: {single:,.0f} points/s ({1e6 / single:.0f} µs each)")
    if args.database_url:
        base = postgis_rate(args.database_url, xs[:2000], ys[:2000])
        print(f"PostGIS ST_Contains per point: {base:,.0f}/s; batch is x{rate / base:.0f}")


if __name__ == "__main__":
    main()
