"""Cases per second through the HTTP API with 50 concurrent clients, nothing lost.

Starts ``uvicorn api.main:app`` (``--workers`` processes, default one per core) against the
configured store (the local cluster, or ``GEO_GRID_DATABASE_URL``) with the demo loaded (loaded
here if absent), warms each worker (the locate index and geocoder are built on first use), then
posts ``--n`` reports from ``--clients`` concurrent clients: most with a point (WGS84, GCJ-02 or
BD-09, as apps send them), some with a noisy address text. Every POST carries an Idempotency-Key;
afterwards the database is asked how many cases and audit events carry the run's tag, and the run
fails unless every 201 is there.

The same is first done against the baseline, the obvious design: the same app whose POST /cases
stores each report alone in one ORM transaction (``intake(group_commit=False)``); the figures
that matter are the ratio and the CPU milliseconds per case of the server processes and of the
PostgreSQL cluster (from /proc; without the backends of the cluster's other databases). The clients speak HTTP/1.1 keep-alive over plain asyncio streams: on a
2-core machine a heavyweight client library would eat the CPU the server is being measured on.

Reports come from every district of the store (a city's: ``geo-grid demo load --city 3201``),
the hotline's address texts written with their district's name.

    python bench/cases.py [--n 5000] [--baseline-n 1500] [--clients 50] [--workers N] [--goal 700]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# bench/ too: the baseline server imports this file as ``bench.cases``, not as a script
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402  (bench/ is the script's folder)
    cpu_seconds,
    free_port,
    headers,
    store_cpu_seconds,
    uvicorn_command,
    wait_idle,
)

from geo_grid.crs import wgs84_to_bd09, wgs84_to_gcj02  # noqa: E402


def baseline_app():
    """The API with POST /api/v1/cases storing each report alone through the ORM (the baseline).

    Served by ``uvicorn --factory bench.cases:baseline_app``; every other route is the real one,
    and so is everything around the intake: the same credentials, the same caller's districts,
    the same answer, the route matched first as the real one is. The real route is taken out of
    its router: FastAPI 0.165 keeps included routers whole (by reference), so removing it from
    the app's own list removed nothing, the baseline's route added beside it was never reached,
    and earlier runs of this bench measured the group commit twice (fixed on 7 December 2026).
    """
    from typing import Annotated, Any

    from fastapi import APIRouter, Header, Response, status

    from api import policy
    from api.auth import PrincipalDep
    from api.deps import ReadableDistricts
    from api.guard import GuardedRoute
    from api.main import create_app
    from api.routers import cases as case_routes
    from api.schemas import CaseIn, CaseOut
    from geo_grid.services import cases

    app = create_app()
    real = case_routes.cases_router
    real.routes[:] = [
        r for r in real.routes if not (r.path == "/api/v1/cases" and "POST" in r.methods)
    ]
    real._mark_routes_changed()  # FastAPI caches the routes it matches until told
    orm = APIRouter(prefix="/api/v1/cases", tags=["cases"], route_class=GuardedRoute)

    def create_case_orm(body, response, principal, districts, idempotency_key=None) -> Any:
        case = cases.intake(
            body.model_dump(), actor=principal.label, role=principal.role, client=principal.label,
            idempotency_key=idempotency_key, viewer=principal,
            district=districts[0] if len(districts) == 1 else None, group_commit=False,
        )  # fmt: skip
        if case.pop("replayed", False):
            response.status_code = status.HTTP_200_OK
        return case

    # this file's annotations are text (``from __future__``), which FastAPI resolves in the
    # module's globals, where the names imported here are not: the objects themselves
    create_case_orm.__annotations__ = {
        "body": CaseIn, "response": Response, "principal": PrincipalDep,
        "districts": ReadableDistricts,
        "idempotency_key": Annotated[str | None, Header(min_length=1, max_length=128)],
        "return": Any,
    }  # fmt: skip
    orm.post("", response_model=CaseOut, status_code=status.HTTP_201_CREATED)(create_case_orm)

    app.include_router(orm)
    app.router.routes.insert(0, app.router.routes.pop())  # matched first, as the real one is
    app.state.policy = policy.bind(app)
    posts = [e for p, m, e in policy.routes(app) if p == "/api/v1/cases" and "POST" in m]
    if posts != [
        create_case_orm
    ]:  # a FastAPI that keeps routes otherwise: refuse, never mismeasure
        raise RuntimeError(f"baseline: POST /api/v1/cases goes to {posts}, not the ORM route")
    return app


def _payloads(n: int, tag: str, seed: int) -> list[dict]:
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope
    from geo_grid.services import districts

    rng = np.random.default_rng(seed)
    with session_scope() as s:
        lib = repos.district.read_address_library(s)
    # a hotline caller names the district, then the address within it (every district of a city)
    names = {code: profile.name for code, profile in districts.profiles().items()}
    pick = lib.iloc[rng.choice(len(lib), n, replace=True)]
    codes = ["E0101", "E0104", "E0502", "E0503", "F0101", "F0102", "Z0101", "Y0201", "S0201"]
    out = []
    for i, row in enumerate(pick.itertuples()):
        lon, lat = row.lon + rng.normal(0, 5e-5), row.lat + rng.normal(0, 5e-5)
        body = {"category_code": codes[i % len(codes)], "channel": "app",
                "description": f"{tag} #{i}", "reporter_phone": "13900000000"}  # fmt: skip
        kind = rng.random()
        if kind < 0.2:
            district = names.get(str(row.street_code)[:6], "")
            body.update(channel="hotline", address_text=f"{district}{row.local_text}门口")
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


class _Conn:
    """One keep-alive HTTP/1.1 connection: POST JSON, read status and body (Content-Length)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        code = int(lines[0].split(" ", 2)[1])
        fields = dict(
            (k.strip().lower(), v.strip()) for k, v in (x.split(":", 1) for x in lines[1:] if x)
        )
        data = await self.reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            self.close()
        return code, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _run(port: int, payloads: list[dict], clients: int) -> tuple[list[int], list[float]]:
    queue: asyncio.Queue = asyncio.Queue()
    for p in payloads:
        queue.put_nowait(json.dumps(p, ensure_ascii=False).encode())
    codes: list[int] = []
    latencies: list[float] = []
    auth = headers()

    async def worker() -> None:
        conn = _Conn("127.0.0.1", port)
        try:
            while True:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t = time.perf_counter()
                key = str(uuid.uuid4())
                for attempt in range(3):  # a dropped connection is retried with the same key
                    try:
                        code, _ = await conn.post(
                            "/api/v1/cases", body, {**auth, "Idempotency-Key": key}
                        )
                        break
                    except (OSError, asyncio.IncompleteReadError):
                        conn.close()
                        if attempt == 2:
                            raise
                codes.append(code)
                latencies.append(time.perf_counter() - t)
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(clients)))
    return codes, latencies


def _serve(app: list[str], workers: int, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    server = subprocess.Popen(
        uvicorn_command(port, app=app, workers=workers, access_log=False), cwd=ROOT, env=env
    )
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server, port
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not start")


def _wait_warm(port: int, workers: int, timeout_s: float = 1800.0) -> None:
    """Until ``/health`` says warm on every worker (each builds its own index and geocoders; a
    city's take minutes): asked on a new connection each time, so that the workers sharing the
    socket all answer, until 10 answers per worker in a row say warm. Measuring before that
    times the warm-up: the first city run gave 45 cases/s, p99 23 s."""
    deadline, in_a_row = time.monotonic() + timeout_s, 0
    while in_a_row < 10 * workers:
        if time.monotonic() > deadline:
            raise SystemExit("the server did not become warm")
        warm = httpx.get(f"http://127.0.0.1:{port}/health", timeout=30).json().get("warm")
        in_a_row = in_a_row + 1 if warm else 0
        if not warm:
            time.sleep(1)


def _stored(tag: str) -> tuple[int, int, int]:
    """(cases, of which in the manual queue, audit events) carrying this run's tag, counted in SQL."""
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    with session_scope() as s:
        cases, manual = s.execute(
            text("""SELECT count(*), count(*) FILTER (WHERE status = 'manual')
                    FROM "case" WHERE description LIKE :t"""),
            {"t": f"{tag} #%"},
        ).one()
        events = s.execute(
            text("""SELECT count(*) FROM case_event e JOIN "case" c ON c.id = e.case_id
                    WHERE c.description LIKE :t"""),
            {"t": f"{tag} #%"},
        ).scalar()
    return int(cases), int(manual), int(events)


def _measure(name: str, app: list[str], n: int, args, env: dict[str, str]) -> tuple[float, bool]:
    """Serve ``app``, warm it, post ``n`` tagged reports, check the store; (cases/s, nothing lost)."""
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    payloads = _payloads(n, tag, args.seed)
    server, port = _serve(app, args.workers, env)
    try:
        t = time.perf_counter()
        _wait_warm(port, args.workers)
        wait_idle(server.pid)
        warm = _payloads(40 * args.workers, f"{tag}-warmup", args.seed + 1)
        asyncio.run(_run(port, warm, args.workers * 4))
        warm_s = time.perf_counter() - t
        cpu0 = cpu_seconds(server.pid), store_cpu_seconds()
        t, own = time.perf_counter(), time.process_time()
        codes, latencies = asyncio.run(_run(port, payloads, args.clients))
        elapsed, own = time.perf_counter() - t, time.process_time() - own
        cpu = [
            (b - a) * 1000 / n
            for a, b in zip(cpu0, (cpu_seconds(server.pid), store_cpu_seconds()), strict=True)
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)
    created = sum(c == 201 for c in codes)
    lat = np.array(latencies) * 1000
    cases, manual, events = _stored(tag)
    rate = n / elapsed
    print(
        f"{name}: {n} cases, {args.clients} clients, {args.workers} workers "
        f"(warm-up {warm_s:.1f} s): {elapsed:.2f} s, {rate:.0f} cases/s; latency "
        f"p50 {np.percentile(lat, 50):.0f} ms, p95 {np.percentile(lat, 95):.0f} ms, "
        f"p99 {np.percentile(lat, 99):.0f} ms"
    )
    ok = created == n == cases and events >= 2 * cases
    print(f"  CPU per case: server {cpu[0]:.2f} ms, PostgreSQL {cpu[1]:.2f} ms (the cluster but other databases' backends), "
          f"these clients {own * 1000 / n:.2f} ms")  # fmt: skip
    print(f"  HTTP: {created} × 201, {len(codes) - created} other; in the database: {cases} cases "
          f"({manual} in the manual queue), {events} audit events: "
          + ("nothing lost" if ok else "MISMATCH: requests and stored cases differ"))  # fmt: skip
    return rate, ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--baseline-n", type=int, default=1500, help="0: skip the baseline")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--goal", type=float, default=700.0, help="cases/s (issue 16: 700 on a city)")
    args = ap.parse_args()

    from geo_grid.db.session import database_url
    from geo_grid.services.demo import demo_loaded, load_demo

    url = database_url()
    if not demo_loaded():
        print("loading the demo district …", flush=True)
        load_demo()
    env = {**os.environ, "GEO_GRID_DATABASE_URL": url, "GEO_GRID_CASE_TICK_SECONDS": "0"}
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load}")
    base_rate, base_ok = 0.0, True
    if args.baseline_n > 0:
        base_rate, base_ok = _measure(
            "baseline (one ORM transaction per report)",
            ["--factory", "bench.cases:baseline_app"], args.baseline_n, args, env,
        )  # fmt: skip
    rate, ok = _measure("group commit (api.main:app)", ["api.main:app"], args.n, args, env)
    goal = f"goal ≥ {args.goal:.0f}/s " + ("met" if rate >= args.goal else "NOT met")
    ratio = f"{rate / base_rate:.1f}× the baseline, " if base_rate else ""
    print(f"result: {rate:.0f} cases/s, {ratio}{goal}")
    return 0 if ok and base_ok else 1


if __name__ == "__main__":
    sys.exit(main())
