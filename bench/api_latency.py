"""Locate API latency through uvicorn: p50/p99 of ``GET /api/v1/locate`` against the store.

``python bench/api_latency.py [--n 2000] [--crs gcj02]``. Starts ``uvicorn api.main:app`` in a
subprocess on a free port against the same database the CLI uses (``geo-grid db start && geo-grid
demo load`` first), warms it up (the first call builds the locate index), then sends ``--n``
sequential requests for random points in the district over one keep-alive connection and prints the
percentiles. Goal: p50 < 3 ms, p99 < 10 ms.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _common import free_port, headers, uvicorn_command  # noqa: E402  (bench/ is the script's folder)

from geo_grid.crs import wgs84_to_gcj02  # noqa: E402


def start_server(port: int) -> subprocess.Popen:
    """uvicorn in a subprocess (one worker, no access log), ready when /health answers."""
    proc = subprocess.Popen(
        uvicorn_command(port, access_log=False),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"uvicorn exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/health", headers=headers(), timeout=2)
            if r.status_code == 200 and r.json().get("warm"):  # start-up warm-up finished
                return proc
            time.sleep(0.2)
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("uvicorn did not answer /health within 60 s")


def measure(port: int, n: int, crs: str, bounds: tuple[float, float, float, float]) -> np.ndarray:
    """Milliseconds per request for ``n`` random points (after 200 warm-up requests)."""
    rng = np.random.default_rng(0)
    minx, miny, maxx, maxy = bounds
    xs, ys = rng.uniform(minx, maxx, n + 200), rng.uniform(miny, maxy, n + 200)
    if crs == "gcj02":
        xs, ys = wgs84_to_gcj02(xs, ys)
    times = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers(), timeout=60) as client:
        client.get("/api/v1/locate", params={"lon": xs[0], "lat": ys[0], "crs": crs})  # build
        for k, (x, y) in enumerate(zip(xs, ys, strict=True)):
            start = time.perf_counter()
            r = client.get(
                "/api/v1/locate", params={"lon": f"{x:.7f}", "lat": f"{y:.7f}", "crs": crs}
            )
            elapsed = time.perf_counter() - start
            if r.status_code != 200:
                raise SystemExit(f"locate answered {r.status_code}: {r.text[:300]}")
            if k >= 200:
                times.append(elapsed * 1000)
    return np.array(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--crs", default="gcj02", choices=["wgs84", "cgcs2000", "gcj02"])
    args = parser.parse_args()
    import shapely

    from geo_grid.services.index import get_locator

    bounds = tuple(float(v) for v in shapely.total_bounds(get_locator().layers["unified"].geoms))
    port = free_port()
    proc = start_server(port)
    try:
        ms = measure(port, args.n, args.crs, bounds)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    p50, p99 = np.percentile(ms, [50, 99])
    print(
        f"locate API through uvicorn ({args.n} sequential requests, crs {args.crs}): "
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, mean {ms.mean():.2f} ms (goal < 3 ms / < 10 ms)"
    )


if __name__ == "__main__":
    main()
