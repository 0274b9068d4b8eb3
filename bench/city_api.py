"""The served API on a whole city's store: warm-up, memory per process, the first batch geocode,
and every GET route timed (issue 16: "no other route takes longer than 2 s on the city demo").

Against the store the CLI uses (``geo-grid demo load --city 3201`` first), it starts the server
as ``geo-grid serve`` does (one uvicorn process with its ``GEO_GRID_HEAVY_WORKERS`` worker
processes and its job workers), then:

1. waits until ``/health`` says warm, and prints how long that took;
2. prints VmRSS and VmHWM (peak) of the server and of each of its processes, from /proc;
3. posts a batch geocode of 1,000 library addresses of the city (answered in the request, by a
   worker process), then another 1,000: the first after a start must not wait for a worker to
   build its geocoder (it took 35-40 s when each worker built its own on first use);
4. calls every GET route of the OpenAPI document once cold and once warm, as an administrator,
   with real values of the city's largest district (a grid, a case, a plan, a job's export, a
   tile over its centre), and lists each with its status, bytes and both times, marking those
   over ``--limit`` (2 s);
5. prints the memory again (the heaviest requests have then run in every process).

    python bench/city_api.py [--district CODE] [--limit 2.0] [--skip-routes]

``--url`` measures a server already running (with ``--pid``, its memory and CPU too); ``--app-dir DIR``
serves another checkout (the commit before a change) against the same store. On a 2-core machine
shared with other engineers every time is printed with the load average.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    REPO,
    children,
    free_port,
    server_env,
    stop,
    uvicorn_command,
    wait_idle,
)


def admin_headers() -> dict[str, str]:
    from api.auth import issue_token
    from geo_grid.access import Principal

    token, _ = issue_token(Principal("bench.admin", "admin"))
    return {"Authorization": f"Bearer {token}"}


def load_average() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


# ------------------------------------------------------------------------------ memory
def _status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) // 1024  # MiB
    return out


def memory(server: int) -> list[tuple[str, int, int]]:
    """``(process, VmRSS MiB, VmHWM MiB)`` of the server and every process under it."""
    rows, todo = [], [(server, "server")]
    while todo:
        pid, name = todo.pop(0)
        try:
            st = _status(pid)
            cmd = Path(f"/proc/{pid}/cmdline").read_text()
        except OSError:
            continue
        if "resource_tracker" in cmd:
            name = "resource tracker"
        rows.append((f"{name} (pid {pid})", st.get("VmRSS", 0), st.get("VmHWM", 0)))
        todo += [(child, "worker process") for child in children(pid)]
    return rows


def print_memory(server: int | None, when: str) -> None:
    if server is None:
        return
    print(f"memory {when} (load {load_average()}):")
    for name, rss, hwm in memory(server):
        print(f"  {name:<32} VmRSS {rss:6,} MiB   VmHWM {hwm:6,} MiB")


# ------------------------------------------------------------------------------ the server
def served(url: str | None, warm_timeout: float, app_dir: Path = REPO):
    """The server a bench asks: ``url`` as given (None for its process), or one started here
    (:func:`start_server`) and warm. Prints the machine's cores and load first."""
    print(f"{os.cpu_count()} cores, load average {load_average()}")
    if url:
        return None, url
    proc, base, warm_s = start_server(warm_timeout, app_dir)
    print(f"server warm {warm_s:.1f} s after its start (load {load_average()})")
    return proc, base


def start_server(timeout_s: float, app_dir: Path = REPO) -> tuple[subprocess.Popen, str, float]:
    """``uvicorn api.main:app`` as ``geo-grid serve`` runs it; returns once ``/health`` is warm."""
    port = free_port()
    log = Path(REPO / ".geo-grid" / "bench-city-api.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    proc = subprocess.Popen(
        uvicorn_command(port, access_log=False),
        cwd=app_dir, env=server_env(app_dir), stdout=subprocess.DEVNULL, stderr=log.open("w"),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    while time.perf_counter() - started < timeout_s:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=10).json().get("warm"):
                return proc, base, time.perf_counter() - started
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(1)
    stop(proc)
    raise SystemExit(f"not warm within {timeout_s:.0f} s")


# ------------------------------------------------------------------------------ geocoding
def batch_geocode(base: str, headers: dict, n: int, seed: int) -> None:
    """Two batches of ``n`` library addresses (answered in the request), timed."""
    from _common import read_library

    library, _, _ = read_library()
    rng = np.random.default_rng(seed)
    for label in ("first batch after the start", "second batch"):
        texts = library["full_text"].iloc[rng.choice(len(library), n, replace=False)].tolist()
        t = time.perf_counter()
        r = httpx.post(f"{base}/api/v1/geocode/batch", json=texts, headers=headers, timeout=900)
        took = time.perf_counter() - t
        matched = sum(1 for a in r.json().get("data", []) if a.get("status") == "matched")
        print(f"geocode batch, {label}: {n} addresses in {took:.2f} s (HTTP {r.status_code}, "
              f"{matched} matched; load {load_average()})")  # fmt: skip


# ------------------------------------------------------------------------------ routes
def _values(base: str, headers: dict, district: str) -> dict[str, str]:
    """Real values for the routes' parameters, from the city's store through the API."""
    get = lambda path, **p: httpx.get(f"{base}{path}", params=p, headers=headers, timeout=600)  # noqa: E731
    grids = get("/api/v1/layers/unified/grids", district=district, limit=1).json()
    grid = grids["features"][0]["properties"]["code"]
    profiles = get("/api/v1/districts").json()["data"]
    lon, lat = next(d for d in profiles if d["code"] == district)["centre"]
    z = 14
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - np.log(np.tan(np.radians(lat)) + 1 / np.cos(np.radians(lat))) / np.pi) / 2 * 2**z)
    case = get("/api/v1/cases", district=district, limit=1).json()["data"][0]
    made = httpx.post(f"{base}/api/v1/plans", json={"layer": "unified"},
                      params={"district": district}, headers=headers, timeout=600)  # fmt: skip
    assert made.status_code == 201, f"plan refused: {made.status_code} {made.text[:300]}"
    plan = made.json()
    answer = httpx.post(f"{base}/api/v1/layers/unified/exports", json={"format": "geojson"},
                        params={"district": district}, headers=headers, timeout=60)  # fmt: skip
    assert answer.status_code == 202, f"export refused: {answer.status_code} {answer.text[:300]}"
    job = answer.json()
    deadline = time.monotonic() + 600
    while get(f"/api/v1/jobs/{job['id']}").json()["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, "the export job did not end"
        time.sleep(1)
    return {
        "code": grid, "layer": "unified", "z": str(z), "x": str(x), "y": str(y),
        "plan_id": str(plan.get("id")), "ref": str(case["id"]), "request_id": str(case["id"]),
        "job_id": str(job["id"]), "fmt": "json", "lon": f"{lon:.6f}", "lat": f"{lat:.6f}",
        "q": case.get("address_text") or "玄武湖", "address_text": case.get("address_text") or "x",
        "district": district, "from": (datetime.now(UTC) - timedelta(days=30)).date().isoformat(),
        "to": datetime.now(UTC).date().isoformat(),
    }  # fmt: skip


def _url(path: str, op: dict, values: dict[str, str]) -> str | None:
    """``path`` with its parameters filled, or None when a value is missing."""
    params = []
    for p in op.get("parameters", []):
        name, where = p["name"], p["in"]
        if where == "path":
            if name not in values:
                return None
            path = path.replace("{" + name + "}", values[name])
        elif where == "query" and (p.get("required") or name == "district") and name in values:
            params.append(f"{name}={httpx.QueryParams({name: values[name]})[name]}")
    path = re.sub(r"\{code\}", values["code"], path)
    return path + ("?" + "&".join(params) if params else "")


def _cpu(server: int | None) -> float:
    """CPU seconds so far of the server's processes and of PostgreSQL (the local cluster)."""
    from _common import cpu_seconds, postmaster_pid

    return cpu_seconds(server) + cpu_seconds(postmaster_pid()) if server else float("nan")


def sweep(base: str, headers: dict, district: str, limit: float, server: int | None) -> list[str]:
    """Every GET route, cold then warm, each with the CPU seconds the server and PostgreSQL
    spent on it (one request at a time: on a machine shared with other work the wall time
    depends on the neighbours, the CPU time does not); the lines over ``limit`` seconds."""
    doc = httpx.get(f"{base}/openapi.json", headers=headers, timeout=60).json()
    values = _values(base, headers, district)
    rows, slow = [], []
    for path, ops in doc["paths"].items():
        op = ops.get("get")
        if op is None:
            continue
        if path.endswith("/photos/{photo_id}"):
            rows.append((path, "-", 0, 0.0, 0.0))  # the city's demo cases carry no photos
            continue
        url = _url(path, op, values)
        if url is None:
            rows.append((path, "no value", 0, 0.0, 0.0))
            continue
        times, cpus, status, size = [], [], 0, 0
        for _ in range(2):
            t, c = time.perf_counter(), _cpu(server)
            r = httpx.get(f"{base}{url}", headers=headers, timeout=900, follow_redirects=False)
            times.append(time.perf_counter() - t)
            cpus.append(_cpu(server) - c)
            status, size = r.status_code, len(r.content)
        rows.append((url, str(status), size, *times, *cpus))
    rows = [(*r, 0.0, 0.0) if len(r) == 5 else r for r in rows]
    print(f"GET routes on district {district}: wall cold / warm, CPU (server + PostgreSQL) cold "
          f"/ warm (load {load_average()}):")  # fmt: skip
    for url, status, size, cold, warm, cpu_cold, cpu_warm in sorted(rows, key=lambda r: -r[3]):
        mark = "  > limit" if max(cold, warm) > limit else ""
        mark += " (CPU too)" if mark and max(cpu_cold, cpu_warm) > limit else ""
        print(f"  {cold:7.2f} s {warm:7.2f} s   CPU {cpu_cold:6.2f} s {cpu_warm:6.2f} s  "
              f"{status:>4}  {size:>10,} B  {url}{mark}")  # fmt: skip
        if mark:
            slow.append(f"{url} ({cold:.2f} s cold, {warm:.2f} s warm; CPU {cpu_cold:.2f} s, "
                        f"{cpu_warm:.2f} s)")  # fmt: skip
    return slow


def jobs(base: str, headers: dict, district: str, limit: float) -> list[str]:
    """The spreadsheet exports, now jobs: the time of the 202 answer (the route's) and of the
    job itself, for the district's last 30 days; the answers over ``limit`` seconds."""
    end = datetime.now(UTC).replace(microsecond=0)
    period = {"from": (end - timedelta(days=30)).isoformat(), "to": end.isoformat(),
              "district": district}  # fmt: skip
    slow = []
    print(f"jobs on district {district} (load {load_average()}):")
    for path, extra in (("/api/v1/exports/cases.xlsx", {}),
                        ("/api/v1/exports/indicators.xlsx", {"level": "grid"})):  # fmt: skip
        t = time.perf_counter()
        r = httpx.post(f"{base}{path}", params={**period, **extra}, headers=headers, timeout=600)
        answered = time.perf_counter() - t
        assert r.status_code == 202, f"{path}: {r.status_code} {r.text[:300]}"
        job = r.json()
        while job["status"] not in ("done", "failed"):
            time.sleep(0.2)
            job = httpx.get(f"{base}/api/v1/jobs/{job['id']}", headers=headers, timeout=60).json()
        took = time.perf_counter() - t
        result = job.get("result") or {}
        print(f"  {answered:7.2f} s to answer 202, {took:7.2f} s to {job['status']}  "
              f"{result.get('bytes', 0):>10,} B  POST {path}")  # fmt: skip
        if answered > limit:
            slow.append(f"POST {path} ({answered:.2f} s to answer)")
    return slow


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--district", default="320115", help="the district the routes are asked of")
    ap.add_argument("--limit", type=float, default=2.0)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--url", default=None)
    ap.add_argument("--pid", type=int, default=None, help="with --url: the server's process")
    ap.add_argument("--skip-routes", action="store_true")
    ap.add_argument("--warm-timeout", type=float, default=1800.0)
    ap.add_argument("--app-dir", type=Path, default=REPO, help="serve another checkout")
    args = ap.parse_args()

    headers = admin_headers()
    proc, base = served(args.url, args.warm_timeout, args.app_dir)
    server = proc.pid if proc else args.pid
    try:
        if server:
            waited = wait_idle(server)
            print(f"server idle {waited:.1f} s later (the warm-up's pages and base maps built)")
        print_memory(server, "once warm")
        batch_geocode(base, headers, args.batch, args.seed)
        print_memory(server, "after the batches")
        if not args.skip_routes:
            slow = sweep(base, headers, args.district, args.limit, server)
            slow += jobs(base, headers, args.district, args.limit)
            print_memory(server, "after every route")
            print(f"routes over {args.limit} s: " + ("; ".join(slow) if slow else "none"))
    finally:
        if proc is not None:
            stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
