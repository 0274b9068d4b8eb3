"""Locate at city scale: the API's single locate, batch locate, and one PostGIS query per point.

``python bench/locate.py [--city 3201 | --district 320113] [--n 1000000] [--single-n 5000]
[--baseline-n 3000] [--repeat 2]``. No store needed: the city is generated once
(``generate_city``, cached by ``bench/_city.py``), and the baseline runs in the benches' own
PostGIS (``bench/_pg.py``), where the same grids are loaded with a GiST index.

The index is the one the API serves: :class:`geo_grid.locate.LocateIndex` over every layer's
grids, the communities, the streets and the roster, as ``services.index`` builds it from the
store. Measured side by side in each repeat, on points drawn uniformly inside the city's outline:

single
    ``LocateIndex.locate(lon, lat, crs)`` one call at a time, as ``GET /locate`` runs it after
    the cached index check (every layer, community, street, roster), for a WeChat point in
    GCJ-02 (converted by iteration) and for a WGS84 point; p50 / p99 per call, wall and CPU.
    Goal p50 < 3 ms, p99 < 10 ms. HTTP is not included (``bench/api_latency.py`` measures it
    on the store's district).
batch
    ``LocateIndex.locate_many`` over all points in storage coordinates. Goal ≥ 300,000 points/s.
    The same index without its cell rasters (every point to GEOS, as before them) answers the
    first 200,000 points too, and the answers are compared.
PostGIS
    one prepared statement per point over the Unix socket: ``ST_Contains`` against the same
    grids, communities and streets in one table with a GiST index, every layer answered at once
    (smallest code per layer, as the index does). Goal: batch ≥ 50× this.

The answers of the baseline are compared with the index's (they differ only for a point on a
shared edge, which ``ST_Contains`` leaves out and the index gives to the smallest code).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _city import NANJING, city_districts_cached, city_frames  # noqa: E402
from _pg import bench_postgis, copy_rows, frame_fingerprint, mark_current, table_current  # noqa: E402

from geo_grid.crs import wgs84_to_gcj02  # noqa: E402
from geo_grid.locate import LocateIndex  # noqa: E402

_PREPARE = (
    "PREPARE locate_point(float8, float8) AS "
    "SELECT layer, min(code) FROM bench_grid "
    "WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint($1, $2), 4490)) GROUP BY layer"
)
_EXECUTE = "EXECUTE locate_point(%s, %s)"
_COPY = "COPY bench_grid (layer, code, geom) FROM STDIN"
_CREATE = (
    "DROP TABLE IF EXISTS bench_grid; "
    "CREATE TABLE bench_grid (layer text NOT NULL, code text NOT NULL, "
    "geom geometry(Geometry, 4490) NOT NULL)"
)
_INDEX = "CREATE INDEX bench_grid_geom ON bench_grid USING gist (geom); ANALYZE bench_grid"


def load_source(args):
    """``(layers, communities, streets, roster, districts)`` of the city or of one district."""
    if args.district:
        from geo_grid.demo import generate_demo

        demo = generate_demo(args.district)
        return demo.grids, demo.communities, demo.streets, demo.roster, demo.district
    city = city_frames(city_districts_cached(args.city))
    return city.grids, city.communities, city.streets, city.roster, city.districts


def inside_points(outline, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform inside ``outline`` (rejection sampling in its bounding box)."""
    rng = np.random.default_rng(seed)
    shapely.prepare(outline)
    minx, miny, maxx, maxy = outline.bounds
    xs, ys = np.empty(0), np.empty(0)
    while len(xs) < n:
        x, y = rng.uniform(minx, maxx, 2 * n), rng.uniform(miny, maxy, 2 * n)
        keep = shapely.contains_xy(outline, x, y)
        xs, ys = np.concatenate([xs, x[keep]]), np.concatenate([ys, y[keep]])
    return xs[:n], ys[:n]


def load_baseline(conn, index: LocateIndex) -> None:
    """The index's polygons (repaired as it repairs them) in ``bench_grid``, GiST-indexed."""
    parts = [(key, layer) for key, layer in index.layers.items()]
    parts += [("_community", index.communities), ("_street", index.streets)]
    frames = [
        pd.DataFrame({"layer": key, "code": layer.codes.astype(str), "geometry": layer.geoms})
        for key, layer in parts
    ]
    frame = pd.concat(frames, ignore_index=True)
    fp = frame_fingerprint(frame[["layer", "code"]], list(shapely.to_wkb(frame["geometry"])))
    if table_current(conn, "bench_grid", fp):
        return
    with conn.cursor() as cur:
        cur.execute(_CREATE)
    geoms = np.asarray(frame["geometry"].to_numpy(), dtype=object)
    wkb = shapely.to_wkb(geoms, hex=True, include_srid=False)
    rows = zip(frame["layer"], frame["code"], (f"SRID=4490;{w}" for w in wkb), strict=True)
    took = copy_rows(conn, _COPY, rows)
    with conn.cursor() as cur:
        cur.execute(_INDEX)
    mark_current(conn, "bench_grid", fp)
    print(f"  PostGIS: {len(frame):,} polygons loaded in {took:.1f} s", flush=True)


def postgis(conn, xs: np.ndarray, ys: np.ndarray) -> tuple[float, list[dict]]:
    """Points/s of one prepared ST_Contains query per point, and each point's answer."""
    answers = []
    with conn.cursor() as cur:
        cur.execute("DEALLOCATE ALL")
        cur.execute(_PREPARE)
        for x, y in zip(xs[:50], ys[:50], strict=True):  # warm the cache
            cur.execute(_EXECUTE, (float(x), float(y)))
            cur.fetchall()
        start = time.perf_counter()
        for x, y in zip(xs, ys, strict=True):
            cur.execute(_EXECUTE, (float(x), float(y)))
            answers.append(dict(cur.fetchall()))
        took = time.perf_counter() - start
    return len(xs) / took, answers


def agreement(index: LocateIndex, xs, ys, answers: list[dict]) -> float:
    """Share of baseline points where PostGIS and the index give the same code in every layer."""
    frame = index.locate_many(xs, ys, "cgcs2000")
    keys = [*index.layers, "_community", "_street"]
    cols = [*index.layers, "community_code", "street_code"]
    same = [
        all(row[c] == ans.get(k) for k, c in zip(keys, cols, strict=True))
        for row, ans in zip(frame[cols].to_dict("records"), answers, strict=True)
    ]
    return float(np.mean(same))


def single_latencies(index: LocateIndex, lons, lats, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds per ``locate`` call, one at a time: wall and CPU time of this process.

    On a shared machine the wall time of a call includes waiting for a core (a process among
    ten runnable ones on two cores waits tens of ms now and then); the CPU time does not."""
    wall, cpu = np.empty(len(lons)), np.empty(len(lons))
    for k, (x, y) in enumerate(zip(lons.tolist(), lats.tolist(), strict=True)):
        start, c0 = time.perf_counter(), time.process_time()
        index.locate(x, y, crs)
        cpu[k] = time.process_time() - c0
        wall[k] = time.perf_counter() - start
    return wall * 1000, cpu * 1000


def one_round(index, conn, xs, ys, gx, gy, args) -> dict:
    """Single, batch and PostGIS, back to back; wall and CPU time of this process."""
    out = {}
    cpu = time.process_time()
    for crs, lons, lats in (("gcj02", gx, gy), ("wgs84", xs[: len(gx)], ys[: len(gy)])):
        wall, busy = single_latencies(index, lons, lats, crs)
        out[crs] = (*np.percentile(wall, [50, 99]), *np.percentile(busy, [50, 99]))
    start, c0 = time.perf_counter(), time.process_time()
    fast = index.locate_many(xs, ys, "cgcs2000")
    out["batch_s"], out["batch_cpu"] = time.perf_counter() - start, time.process_time() - c0
    out["batch"] = len(xs) / out["batch_s"]
    before, n = geos_only(index), min(len(xs), 200_000)
    start = time.perf_counter()
    slow = before.locate_many(xs[:n], ys[:n], "cgcs2000")
    out["geos"], out["geos_n"] = n / (time.perf_counter() - start), n
    out["geos_same"] = bool(slow.equals(fast.iloc[:n]))
    out["pg"], answers = postgis(conn, xs[: args.baseline_n], ys[: args.baseline_n])
    out["agree"] = agreement(index, xs[: args.baseline_n], ys[: args.baseline_n], answers)
    out["cpu_s"] = time.process_time() - cpu
    return out


def geos_only(index: LocateIndex) -> LocateIndex:
    """The same index without its rasters: every point to GEOS, as before the raster."""
    out = copy.copy(index)
    out.layers = {k: replace(v, raster=None) for k, v in index.layers.items()}
    out.communities = replace(index.communities, raster=None)
    out.streets = replace(index.streets, raster=None)
    return out


def show(k: int, load: float, r: dict) -> None:
    singles = "; ".join(
        f"{crs} p50 {r[crs][0]:.3f} / p99 {r[crs][1]:.3f} ms wall, "
        f"{r[crs][2]:.3f} / {r[crs][3]:.3f} ms CPU"
        for crs in ("gcj02", "wgs84")
    )
    print(
        f"round {k + 1} (load average {load:.1f} at start, {r['cpu_s']:.1f} CPU s):\n"
        f"  single locate: {singles} (goal p50 < 3, p99 < 10 ms)\n"
        f"  batch: {r['batch']:,.0f} points/s wall ({r['batch_s']:.2f} s), "
        f"{r['batch_s'] * r['batch'] / r['batch_cpu']:,.0f} points/s of CPU "
        f"(goal 300,000); GEOS alone (no raster, {r['geos_n']:,} points) {r['geos']:,.0f} points/s, "
        f"same answers: {r['geos_same']}\n"
        f"  PostGIS, one prepared ST_Contains per point: {r['pg']:,.0f} points/s; batch is "
        f"x{r['batch'] / r['pg']:.0f} (goal 50x); same answers on {100 * r['agree']:.2f}% of "
        f"the baseline's points",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", default=NANJING)
    parser.add_argument("--district", default=None, help="one district instead of the city")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--single-n", type=int, default=5000)
    parser.add_argument("--baseline-n", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep-db", action="store_true", help="leave the bench PostGIS running")
    args = parser.parse_args()

    layers, communities, streets, roster, districts = load_source(args)
    start = time.perf_counter()
    index = LocateIndex(layers, communities, streets, roster=roster, generation="bench")
    build = time.perf_counter() - start
    outline = shapely.union_all(np.asarray(districts.geometry.array, dtype=object))
    xs, ys = inside_points(outline, args.n, seed=1)
    gx, gy = (np.asarray(v) for v in wgs84_to_gcj02(xs[: args.single_n], ys[: args.single_n]))
    sizes = {k: len(v.codes) for k, v in index.layers.items()}
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores; index built in {build:.1f} s: "
        f"layers {sizes}, {len(index.communities.codes)} communities, "
        f"{len(index.streets.codes)} streets; {args.n:,} points inside the outline",
        flush=True,
    )
    index.locate_many(xs[:2000], ys[:2000], "cgcs2000")  # warm up
    with bench_postgis(keep=args.keep_db) as (conn, _):
        load_baseline(conn, index)
        for k in range(args.repeat):
            load = os.getloadavg()[0]
            r = one_round(index, conn, xs, ys, gx, gy, args)
            show(k, load, r)


if __name__ == "__main__":
    main()
