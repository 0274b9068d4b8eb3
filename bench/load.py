"""Mixed load on the API with several uvicorn workers: locate, geocode and case intake, nothing lost.

``python bench/load.py [--clients 50] [--seconds 60] [--workers 3] [--baseline-seconds 20]
[--url URL] [--app-dir DIR] [--mix locate=5,geocode=3,cases=2] [--client raw|httpx]`` after ``geo-grid db start`` (the demo is loaded here if absent). Unless ``--url``
names a running server, ``uvicorn api.main:app --workers N`` is started on a free port against the
store the CLI uses (``GEO_GRID_DATABASE_URL`` or the local cluster) and used once every worker
reports itself warm. ``--clients`` concurrent clients then send, for ``--seconds``, a seeded mix of

* ``GET /api/v1/locate``: library points with ~5 m of jitter, in WGS84, CGCS2000, GCJ-02 or BD-09;
* ``GET /api/v1/geocode``: library addresses, clean or with one kind of hotline noise
  (``bench/noisy_queries.py``);
* ``POST /api/v1/cases``: real catalogue categories, a point (any CRS) or an address text, each
  with its own ``Idempotency-Key`` (a request whose connection drops is retried with the same key).

It prints, per operation, the count, errors (any non-2xx or exception; the first few are shown),
throughput and p50/p95/p99 latency; then asks the database whether every case answered 201 is
stored (id and number), whether the run's new case rows number exactly the acknowledged cases, and
whether each has its intake (``receive``) event in the audit log. The same mix is first run for
``--baseline-seconds`` against one worker and the throughput ratio printed. Exit status 1 on any
error or any loss.

Every request carries :func:`_common.headers` (credentials: ``GEO_GRID_BENCH_API_KEY`` or
``GEO_GRID_BENCH_TOKEN``). ``--app-dir`` serves another source tree against the same store, e.g.
a commit exported with ``git archive``. The server's and PostgreSQL's CPU per request (from /proc)
and the cores they kept busy are printed too: on a shared machine they say how much of it the run
actually got.

The clients speak HTTP/1.1 keep-alive over plain asyncio streams (``--client raw``, default) or
``httpx.AsyncClient`` (``--client httpx``); the client's own CPU time per request is printed, since
on a 2-core machine the client competes with the server it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    REPO,
    cpu_seconds,
    ensure_demo,
    headers,
    postmaster_pid,
    read_library,
    serve,
    stop,
)
from noisy_queries import KINDS, make_queries  # noqa: E402

from geo_grid.crs import wgs84_to_bd09, wgs84_to_gcj02  # noqa: E402

__all__ = ["Mix", "Outcome", "build_mix", "run_load", "verify_cases", "main"]

OPERATIONS = ("locate", "geocode", "cases")
_TEXT_KINDS = ("clean",) * 4 + tuple(k for k in KINDS if k not in ("clean", "gcj02", "bd09"))
_POINT_CRS = ("wgs84", "cgcs2000", "gcj02", "bd09")
_SHOWN_ERRORS = 5


@dataclass
class Mix:
    """Pre-built requests: ``(method, path, body or None)`` per operation, and the weights."""

    requests: dict[str, list[tuple[str, str, bytes | None]]]
    weights: dict[str, float]
    tag: str


@dataclass
class Outcome:
    """What one run saw: per operation (status, seconds), errors, acknowledged cases."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    codes: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    error_count: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    created: dict[int, str] = field(default_factory=dict)  # 201: case id -> number
    replayed: dict[int, str] = field(default_factory=dict)  # 200 Idempotent-Replayed
    elapsed: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0  # the uvicorn process tree (0 with --url)
    pg_cpu: float = 0.0  # the whole local PostgreSQL cluster (0 for an external database)

    def fail(self, op: str, message: str) -> None:
        self.error_count[op] += 1
        if len(self.errors) < _SHOWN_ERRORS:
            self.errors.append(f"{op}: {message}")

    def total(self) -> int:
        return sum(len(v) for v in self.codes.values())


def _point(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """A storage point as an app would send it in ``crs`` (CGCS2000 is WGS84 here to ~cm)."""
    if crs == "gcj02":
        x, y = wgs84_to_gcj02(lon, lat)
    elif crs == "bd09":
        x, y = wgs84_to_bd09(lon, lat)
    else:
        x, y = lon, lat
    return float(x), float(y)


def build_mix(weights: dict[str, float], n: int = 6000, seed: int = 11) -> Mix:
    """``n`` requests per operation drawn from the store's address library, seeded.

    Requests are built before the clock starts, so the clients only send and read.
    """
    library, streets, communities = read_library()
    from geo_grid.cases.catalogue import categories

    rng = np.random.default_rng(seed)
    tag = f"load-{uuid.uuid4().hex[:8]}"
    pick = rng.integers(0, len(library), n)
    lons = library["lon"].to_numpy(float)[pick] + rng.normal(0, 5e-5, n)
    lats = library["lat"].to_numpy(float)[pick] + rng.normal(0, 5e-5, n)
    locate = []
    for i in range(n):
        crs = _POINT_CRS[i % len(_POINT_CRS)]
        x, y = _point(lons[i], lats[i], crs)
        query = urlencode({"lon": f"{x:.7f}", "lat": f"{y:.7f}", "crs": crs})
        locate.append(("GET", f"/api/v1/locate?{query}", None))
    texts = make_queries(library, streets, communities, n, seed, _TEXT_KINDS)["query"].tolist()
    geocode = [("GET", f"/api/v1/geocode?{urlencode({'q': t})}", None) for t in texts]
    codes = [c.code for c in categories()]
    channels = ("app", "wechat", "patrol", "hotline")
    cases = []
    for i in range(n):
        body: dict = {
            "category_code": codes[i % len(codes)],
            "channel": channels[i % len(channels)],
            "description": f"{tag} #{i}",
            "reporter_phone": "13900000000",
        }
        if i % 5 == 4:  # a hotline report: the address as the caller said it
            body.update(channel="hotline", address_text=texts[(i * 7) % n])
        else:
            crs = _POINT_CRS[i % len(_POINT_CRS)]
            x, y = _point(lons[(i * 3) % n], lats[(i * 3) % n], crs)
            body.update(lon=x, lat=y, crs=crs)
        cases.append(("POST", "/api/v1/cases", json.dumps(body, ensure_ascii=False).encode()))
    return Mix({"locate": locate, "geocode": geocode, "cases": cases}, weights, tag)


class _Conn:
    """One keep-alive HTTP/1.1 connection (Content-Length or chunked bodies)."""

    def __init__(self, host: str, port: int, base_headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in base_headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(
        self, method: str, path: str, body: bytes | None, extra: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.extra}"
        head += "".join(f"{k}: {v}\r\n" for k, v in extra.items())
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + (body or b""))
        await self.writer.drain()
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        code = int(lines[0].split(" ", 2)[1])
        fields = {
            k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:] if x)
        }
        if fields.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                data += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")
        else:
            data = await self.reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            self.close()
        return code, fields, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class _HttpxConn:
    """The same interface over one shared ``httpx.AsyncClient`` (to compare client cost)."""

    def __init__(self, client) -> None:
        self.client = client

    async def send(self, method, path, body, extra):
        if body is not None:
            extra = {**extra, "Content-Type": "application/json"}
        r = await self.client.request(method, path, content=body, headers=extra)
        return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content

    def close(self) -> None:
        pass


def _record_case(out: Outcome, code: int, fields: dict[str, str], data: bytes) -> None:
    try:
        body = json.loads(data)
        case_id, number = int(body["id"]), str(body["number"])
    except (ValueError, KeyError, TypeError):
        out.fail("cases", f"{code} without a case id: {data[:200]!r}")
        return
    if code == 201:
        out.created[case_id] = number
    else:
        out.replayed[case_id] = number


async def _client(conn, mix: Mix, out: Outcome, deadline: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ops = list(mix.weights)
    p = np.array([mix.weights[o] for o in ops], float)
    p /= p.sum()
    try:
        while time.perf_counter() < deadline:
            op = ops[int(rng.choice(len(ops), p=p))]
            pool = mix.requests[op]
            method, path, body = pool[int(rng.integers(0, len(pool)))]
            extra = {"Idempotency-Key": str(uuid.uuid4())} if op == "cases" else {}
            start = time.perf_counter()
            code = 0
            for attempt in range(3):  # a dropped connection is retried (cases: with the same key)
                try:
                    code, fields, data = await conn.send(method, path, body, extra)
                    break
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    conn.close()
                    out.fail(op, f"{type(exc).__name__}: {exc}")
                    if attempt == 2:
                        code, fields, data = 0, {}, b""
            out.latencies[op].append(time.perf_counter() - start)
            out.codes[op].append(code)
            if code and not 200 <= code < 300:
                out.fail(op, f"HTTP {code}: {data[:200].decode('utf-8', 'replace')}")
            elif op == "cases" and code:
                _record_case(out, code, fields, data)
    finally:
        conn.close()


async def _run(base: str, mix: Mix, clients: int, seconds: float, kind: str, seed: int) -> Outcome:
    out = Outcome()
    parts = urlsplit(base)
    http = None
    if kind == "httpx":
        import httpx

        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        http = httpx.AsyncClient(base_url=base, headers=headers(), limits=limits, timeout=60)
    try:
        conns = [
            _HttpxConn(http) if http is not None else _Conn(parts.hostname, parts.port, headers())
            for _ in range(clients)
        ]
        cpu0, t0 = time.process_time(), time.perf_counter()
        deadline = t0 + seconds
        await asyncio.gather(
            *(_client(c, mix, out, deadline, seed + i) for i, c in enumerate(conns))
        )
        out.elapsed = time.perf_counter() - t0
        out.client_cpu = time.process_time() - cpu0
    finally:
        if http is not None:
            await http.aclose()
    return out


def run_load(
    base: str, mix: Mix, clients: int, seconds: float, *, client: str = "raw", seed: int = 0
) -> Outcome:
    """Send the mix from ``clients`` concurrent clients for ``seconds``; what they saw."""
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvicorn[standard] brings uvloop
        runner = asyncio.run
    return runner(_run(base, mix, clients, seconds, client, seed))


def report(name: str, out: Outcome) -> float:
    """Print the per-operation table; the overall throughput (requests/s)."""
    total = out.total()
    rate = total / out.elapsed if out.elapsed else 0.0
    print(f"\n{name}: {total} requests in {out.elapsed:.1f} s = {rate:.0f} req/s")
    print(f"  {'operation':<9} {'count':>7} {'errors':>6} {'req/s':>7} "
          f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")  # fmt: skip
    for op in [*OPERATIONS, "all"]:
        lat = (
            np.concatenate([np.array(v) for v in out.latencies.values()])
            if op == "all"
            else np.array(out.latencies.get(op, []))
        )
        if not len(lat):
            continue
        errs = sum(out.error_count.values()) if op == "all" else out.error_count.get(op, 0)
        p50, p95, p99 = np.percentile(lat * 1000, [50, 95, 99])
        print(f"  {op:<9} {len(lat):>7} {errs:>6} {len(lat) / out.elapsed:>7.0f} "
              f"{p50:>8.1f} {p95:>8.1f} {p99:>8.1f}")  # fmt: skip
    per_req = out.client_cpu / total * 1e6 if total else 0.0
    print(f"  client CPU: {out.client_cpu:.1f} s ({100 * out.client_cpu / out.elapsed:.0f}% of "
          f"one core), {per_req:.0f} µs per request")  # fmt: skip
    if out.server_cpu or out.pg_cpu:
        busy = (out.server_cpu + out.pg_cpu + out.client_cpu) / out.elapsed
        print(f"  CPU per request: server {out.server_cpu / total * 1000:.2f} ms, PostgreSQL "
              f"{out.pg_cpu / total * 1000:.2f} ms (whole cluster); server + PostgreSQL + client "
              f"kept {busy:.2f} of {os.cpu_count()} cores busy")  # fmt: skip
    for e in out.errors:
        print(f"  error: {e}")
    return rate


def verify_cases(out: Outcome, tag: str, first_id: int) -> bool:
    """Is every acknowledged case stored, once, with its intake event? Prints what it finds."""
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    with session_scope() as s:
        rows = s.execute(
            text("""SELECT c.id, c.number,
                           EXISTS (SELECT 1 FROM case_event e
                                   WHERE e.case_id = c.id AND e.action = 'receive')
                    FROM "case" c WHERE c.id >= :first AND c.description LIKE :tag"""),
            {"first": first_id, "tag": f"{tag} #%"},
        ).all()
    stored = {int(i): str(n) for i, n, _ in rows}
    acked = {**out.replayed, **out.created}
    missing = [i for i, n in acked.items() if stored.get(i) != n]
    unacked = [i for i in stored if i not in acked]
    no_event = [int(i) for i, _, has in rows if not has]
    ok = not missing and not unacked and not no_event and len(stored) == len(acked)
    print(
        f"\ncases in the database (tag {tag}): {len(out.created)} answered 201, "
        f"{len(set(out.replayed) - set(out.created))} only as a 200 replay; {len(stored)} new rows; "
        f"{len(missing)} acknowledged but missing, {len(unacked)} stored but never acknowledged, "
        f"{len(no_event)} without their intake event: " + ("nothing lost" if ok else "MISMATCH")
    )
    return ok


def server_rss_mib(root: int) -> list[float]:
    """Resident memory (MiB) of each child of ``root`` over 100 MiB (uvicorn's workers), /proc."""
    page = os.sysconf("SC_PAGE_SIZE")
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, IndexError, ValueError):
                continue
    out = []
    for pid, ppid in parent.items():
        if ppid == root:
            try:
                out.append(int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page / 2**20)
            except (OSError, IndexError, ValueError):
                continue
    big = sorted((v for v in out if v > 100), reverse=True)
    if not big:  # one worker: uvicorn serves in its own process
        big = [int(Path(f"/proc/{root}/statm").read_text().split()[1]) * page / 2**20]
    return big


def _max_case_id() -> int:
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    with session_scope() as s:
        return int(s.execute(text('SELECT coalesce(max(id), 0) FROM "case"')).scalar())


def _phase(name: str, base: str | None, workers: int, mix: Mix, seconds: float, args) -> Outcome:
    """Serve (unless ``base``), warm the path with a few seconds of the mix, then measure."""
    proc = None
    if base is None:
        t = time.perf_counter()
        proc, base = serve(workers, app_dir=args.app_dir)
        print(f"{name}: {workers} worker(s) warm after {time.perf_counter() - t:.1f} s", flush=True)
    try:
        warm = run_load(base, mix, args.clients, args.warmup_seconds, client=args.client, seed=99)
        pg = postmaster_pid()
        cpu0 = cpu_seconds(proc.pid if proc else None), cpu_seconds(pg)
        out = run_load(base, mix, args.clients, seconds, client=args.client, seed=args.seed)
        out.server_cpu = cpu_seconds(proc.pid if proc else None) - cpu0[0]
        out.pg_cpu = cpu_seconds(pg) - cpu0[1]
        if proc is not None:
            rss = ", ".join(f"{v:,.0f}" for v in server_rss_mib(proc.pid))
            print(f"{name}: resident memory of the server's processes after the run: {rss} MiB")
    finally:
        if proc is not None:
            stop(proc)
    out.created.update(warm.created)  # warm-up cases are checked in the store too
    out.replayed.update(warm.replayed)
    for op, n in warm.error_count.items():
        out.error_count[op] += n
    out.errors = (warm.errors + out.errors)[:_SHOWN_ERRORS]
    return out


def _weights(spec: str) -> dict[str, float]:
    out = {}
    for part in spec.split(","):
        op, _, w = part.partition("=")
        if op.strip() not in OPERATIONS:
            raise SystemExit(f"--mix: unknown operation {op!r} (use {', '.join(OPERATIONS)})")
        out[op.strip()] = float(w)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--baseline-seconds", type=float, default=20, help="0: no 1-worker baseline")
    ap.add_argument("--warmup-seconds", type=float, default=3)
    ap.add_argument("--url", help="an already running server (no baseline then)")
    ap.add_argument(
        "--app-dir", type=Path, default=REPO, help="serve this source tree (default: the repo)"
    )
    ap.add_argument("--mix", default="locate=5,geocode=3,cases=2")
    ap.add_argument("--client", choices=["raw", "httpx"], default="raw")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    ensure_demo()
    mix = build_mix(_weights(args.mix))
    first_id = _max_case_id() + 1
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load}; {args.clients} clients "
          f"({args.client}), mix {args.mix}; {time.strftime('%Y-%m-%d %H:%M')}", flush=True)  # fmt: skip
    base_rate = 0.0
    created: list[Outcome] = []
    if args.baseline_seconds > 0 and not args.url:
        out = _phase("baseline", None, 1, mix, args.baseline_seconds, args)
        base_rate = report("baseline: 1 worker", out)
        created.append(out)
    out = _phase("main", args.url, args.workers, mix, args.seconds, args)
    label = f"server at {args.url}" if args.url else f"{args.workers} workers"
    rate = report(label, out)
    created.append(out)
    if base_rate:
        print(f"\nthroughput: {rate:.0f} req/s with {args.workers} workers vs {base_rate:.0f} "
              f"req/s with 1 = {rate / base_rate:.2f}×")  # fmt: skip
    merged = Outcome()
    for o in created:
        merged.created.update(o.created)
        merged.replayed.update(o.replayed)
    intact = verify_cases(merged, mix.tag, first_id)
    errors = sum(sum(o.error_count.values()) for o in created)
    return 0 if intact and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
