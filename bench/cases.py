"""Cases per second through the HTTP API with 50 concurrent clients, nothing lost.

Starts ``uvicorn api.main:app`` (``--workers`` processes) against the configured store (the local
cluster, or ``GEO_GRID_DATABASE_URL``) with the demo loaded (loaded here if absent), warms each
worker (the locate index and geocoder are built on first use), then posts ``--n`` reports from
``--clients`` concurrent clients: most with a point (WGS84, GCJ-02 or BD-09, as apps send them), some
with a noisy address text. Every POST carries an Idempotency-Key; afterwards the database is asked
how many cases and audit events carry this run's tag, and the run fails unless every 201 is there.

    python bench/cases.py [--n 5000] [--clients 50] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo_grid.crs import wgs84_to_bd09, wgs84_to_gcj02  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _payloads(n: int, tag: str, seed: int) -> list[dict]:
    from geo_grid.db import repo
    from geo_grid.db.session import session_scope

    rng = np.random.default_rng(seed)
    with session_scope() as s:
        lib = repo.read_address_library(s)
    pick = lib.iloc[rng.choice(len(lib), n, replace=True)]
    codes = ["E0101", "E0104", "E0502", "E0503", "F0101", "F0102", "Z0101", "Y0201", "S0201"]
    out = []
    for i, row in enumerate(pick.itertuples()):
        lon, lat = row.lon + rng.normal(0, 5e-5), row.lat + rng.normal(0, 5e-5)
        body = {"category_code": codes[i % len(codes)], "channel": "app",
                "description": f"{tag} #{i}", "reporter_phone": "13900000000"}  # fmt: skip
        kind = rng.random()
        if kind < 0.2:
            body.update(channel="hotline", address_text=f"栖霞区{row.local_text}门口")
        elif kind < 0.5:
            x, y = wgs84_to_gcj02(lon, lat)
            body.update(lon=float(x), lat=float(y), crs="gcj02")
        elif kind < 0.6:
            x, y = wgs84_to_bd09(lon, lat)
            body.update(lon=float(x), lat=float(y), crs="bd09")
        else:
            body.update(lon=float(lon), lat=float(lat), crs="wgs84")
        out.append(body)
    return out


async def _run(base: str, payloads: list[dict], clients: int) -> tuple[list[int], list[float]]:
    queue: asyncio.Queue = asyncio.Queue()
    for p in payloads:
        queue.put_nowait(p)
    codes: list[int] = []
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:

        async def worker() -> None:
            while True:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t = time.perf_counter()
                key = str(uuid.uuid4())
                for attempt in range(3):  # a dropped connection is retried with the same key
                    try:
                        r = await http.post("/api/v1/cases", json=body,
                                            headers={"Idempotency-Key": key})  # fmt: skip
                        break
                    except httpx.TransportError:
                        if attempt == 2:
                            raise
                codes.append(r.status_code)
                latencies.append(time.perf_counter() - t)

        await asyncio.gather(*(worker() for _ in range(clients)))
    return codes, latencies


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    from sqlalchemy import text

    from geo_grid.db.session import database_url, session_scope
    from geo_grid.services.demo import demo_loaded, load_demo

    url = database_url()
    if not demo_loaded():
        print("loading the demo district …", flush=True)
        load_demo()
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    payloads = _payloads(args.n, tag, args.seed)
    port = _free_port()
    env = {**os.environ, "GEO_GRID_DATABASE_URL": url, "GEO_GRID_CASE_TICK_SECONDS": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port",
         str(port), "--workers", str(args.workers), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise SystemExit("the server did not start")
        warm = _payloads(40 * args.workers, f"{tag}-warmup", args.seed + 1)
        t = time.perf_counter()
        asyncio.run(_run(base, warm, args.workers * 4))
        print(f"warm-up (index + geocoder per worker): {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        codes, latencies = asyncio.run(_run(base, payloads, args.clients))
        elapsed = time.perf_counter() - t
    finally:
        server.terminate()
        server.wait(timeout=30)
    created = sum(c == 201 for c in codes)
    lat = np.array(latencies) * 1000
    with session_scope() as s:
        stored = s.execute(
            text("""SELECT count(*), count(*) FILTER (WHERE status = 'manual')
                    FROM "case" WHERE description LIKE :t"""),
            {"t": f"{tag} #%"},
        ).one()
        events = s.execute(
            text("""SELECT count(*) FROM case_event e JOIN "case" c ON c.id = e.case_id
                    WHERE c.description LIKE :t"""),
            {"t": f"{tag} #%"},
        ).scalar()
    print(
        f"{args.n} cases, {args.clients} clients, {args.workers} workers: {elapsed:.2f} s, "
        f"{args.n / elapsed:.0f} cases/s; latency p50 {np.percentile(lat, 50):.0f} ms, "
        f"p95 {np.percentile(lat, 95):.0f} ms, p99 {np.percentile(lat, 99):.0f} ms"
    )
    print(f"HTTP: {created} × 201, {len(codes) - created} other; in the database: {stored[0]} cases "
          f"({stored[1]} in the manual queue), {events} audit events")  # fmt: skip
    ok = created == args.n == stored[0] and events >= 2 * stored[0]
    print("nothing lost" if ok else "MISMATCH: requests and stored cases differ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
