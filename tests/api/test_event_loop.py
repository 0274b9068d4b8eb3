"""A long request does not stall the others: ``/health`` stays quick while the heaviest requests run.

A real server (``tests/api_server.py``) on the demo district. Each heavy request runs in a thread
while this test asks ``/health`` every 20 ms until it is answered; the latencies of those answers
are the measure (printed with ``-s``). The heavy requests are the slowest the API has: a map of
every demo case (20,000), the service-station map, indicators over a year, a refreshed coverage
check, a merge, a 9,999-address batch geocode, the upload of a layer of a million vertices and
its GeoJSON, and a plan reshape at the vertex limit. Before the heavy work moved to worker
processes (``api/workers.py``), ``/health`` took up to 0.9 s at a time during them (see the
figures below).

The bound is on the 95th percentile, 100 ms; a stall of the server shows as many late answers,
not one (a request over in a second is run again until ``/health`` was asked 60 times, so the 95th
percentile is never the one slowest answer). The machine the suite runs on may be shared (two cores, other test sessions with their
own PostgreSQL): then even an idle server's answers are late now and then, and a heavy request's
worker and its database session take CPU that ``/health`` and its own database session wait for,
which no server design avoids on two cores. So the test first measures ``/health`` with nothing
else running, and the bound is three times that idle 95th percentile when this is over 33 ms: on
a quiet machine it is 100 ms. Before the heavy work moved out, the 95th percentiles were 108-888
ms with an idle one of 38 ms (a bound of 114 ms); after, 18-56 ms with an idle one of 29 ms, and
87-114 ms while a full test suite ran beside it (idle 42 ms, bound 126 ms).
"""

from __future__ import annotations

import os
import signal
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import httpx
import pytest
import shapely
from api_server import COLD, ApiServer, start_server
from shapely.geometry import box, mapping

from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.io import write_layer

BOUND_MS = 100.0
#: On a machine busy with other work, the bound is this many times the idle 95th percentile.
BUSY_FACTOR = 3.0
#: /health answers asked during each heavy request at least (a short one is run again)
MIN_SAMPLES = 60
CODE = "320113001002001"


@pytest.fixture(scope="module")
def server(demo_db, tmp_path_factory) -> Iterator[ApiServer]:
    started = start_server(demo_db, tmp_path_factory.mktemp("loop") / "home", case_tick_seconds="0")
    deadline = time.monotonic() + 180
    while not started.get("/health").json()["warm"]:  # the warm-up is heavy work of its own
        assert time.monotonic() < deadline, started.log_text()
        time.sleep(0.5)
    yield started
    started.stop()


def _p95(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _health_while(
    server: ApiServer, request: Callable[[], httpx.Response], min_samples: int = MIN_SAMPLES
) -> tuple[list[float], list[httpx.Response | BaseException]]:
    """Run ``request`` in a thread, again until ``/health`` was asked ``min_samples`` times while
    it ran; those latencies (ms) and every answer. A request shorter than a second would give
    a 95th percentile of some 20 answers, that is their slowest: one pause of the machine."""
    latencies: list[float] = []
    answers: list[httpx.Response | BaseException] = []

    def heavy() -> None:
        try:
            answers.append(request())
        except BaseException as exc:  # noqa: BLE001 (reported by the test)
            answers.append(exc)

    with httpx.Client(base_url=server.base_url, timeout=30) as probe:
        while len(latencies) < min_samples:
            thread = threading.Thread(target=heavy)
            thread.start()
            while thread.is_alive():
                started = time.perf_counter()
                assert probe.get("/health").status_code == 200
                latencies.append((time.perf_counter() - started) * 1000)
                time.sleep(0.02)
            thread.join()
    return latencies, answers


def _to_the_end(server: ApiServer, answer: httpx.Response) -> httpx.Response:
    """A 202's job followed until it ends (the work runs in the server's job workers, so
    /health is asked while it runs): its last GET, which must show it done."""
    assert answer.status_code == 202, answer.text[:300]
    while True:
        job = server.get(answer.headers["location"], timeout=30)
        if job.json()["status"] in ("done", "failed"):
            assert job.json()["status"] == "done", job.text[:300]
            return job
        time.sleep(0.2)


def _since(days: int = 365) -> str:
    """The day ``days`` before today: 365 covers every demo case (six months) in the longest
    period GEO_GRID_MAX_PERIOD_DAYS (366) allows. Today in the service's zone (Beijing), as the
    API reads a day: the UTC date, after 16:00 UTC, made the period 366 days and some hours
    long, and it was refused (the suite run of 7 December at 17:10 UTC)."""
    from geo_grid.timefmt import to_local

    return (to_local(datetime.now(UTC)) - timedelta(days=days)).date().isoformat()


def _big_layer(path: Path, n: int = 400, vertices: int = 2500) -> Path:
    """``n`` square grids of ``vertices`` vertices each: a million, the most one file may hold."""
    cols, side = 20, 0.002
    squares = [
        box(118.80 + side * (i % cols), 32.05 + side * (i // cols),
            118.80 + side * (i % cols + 1), 32.05 + side * (i // cols + 1)).exterior
        for i in range(n)
    ]  # fmt: skip
    rings = shapely.segmentize(squares, 4 * side / (vertices - 1))
    geoms = [shapely.Polygon(r.coords[: vertices - 1]) for r in rings]
    frame = gpd.GeoDataFrame({"code": [f"L{i:05d}" for i in range(n)]}, geometry=geoms, crs=4490)
    assert int(frame.geometry.count_coordinates().sum()) == n * vertices
    return write_layer(frame, path)


def _reshape(server: ApiServer) -> Callable[[], httpx.Response]:
    """A reshape whose outline has as many vertices as allowed (GEO_GRID_GEOMETRY_MAX_VERTICES)."""
    from geo_grid.settings import Settings

    limit = Settings.model_fields["geometry_max_vertices"].default
    plan = server.post("/api/v1/plans", json={"layer": "unified"}).json()["id"]
    with session_scope() as s:
        gen = repos.grids.resolve_generation(s, "unified", district=CODE[:6])
        grid = repos.grids.read_grids(s, generation_id=gen["id"], codes=[CODE]).geometry.iloc[0]
    ring = shapely.segmentize(grid.buffer(1e-4).exterior, grid.buffer(1e-4).length / (limit - 2))
    outline = shapely.Polygon(ring.coords[: limit - 1])
    assert shapely.get_num_coordinates(outline) <= limit
    body = {"grid": CODE, "geometry": mapping(outline)}
    return lambda: server.post(f"/api/v1/plans/{plan}/reshape?dry_run=true", json=body, timeout=300)


def _heavy(server: ApiServer, tmp_path: Path) -> dict[str, Callable[[], httpx.Response]]:
    layer = f"t_loop_{uuid.uuid4().hex[:8]}"
    with session_scope() as s:
        repos.grids.ensure_layer(s, layer, "事件循环测试")
    upload = _big_layer(tmp_path / "big.gpkg")
    addresses = ["栖霞区尧化街道尧佳路12号", "尧林仙居3栋2单元301室", "马群街道花港路8号"] * 3333
    post, get = server.post, server.get
    imported: dict[str, httpx.Response] = {}
    return {
        "GET /map/cases (all 20,000 cases)": lambda: get(
            "/map/cases", params={"from": _since()}, timeout=300
        ),
        "GET /map/services": lambda: get("/map/services", timeout=300),
        "GET /api/v1/indicators (a year, per grid)": lambda: get(
            "/api/v1/indicators",
            params={"from": _since(), "to": _since(days=-1)},
            timeout=300,
        ),
        # jobs: the 202, then the job followed until it is done
        "POST /api/v1/checks (politics_law, refresh)": lambda: _to_the_end(
            server,
            post("/api/v1/checks", json={"layer": "politics_law", "refresh": True}, timeout=300),
        ),
        "POST /api/v1/merge (ecology)": lambda: _to_the_end(
            server, post("/api/v1/merge", json={"layers": ["ecology"]}, timeout=300)
        ),
        "POST /api/v1/geocode/batch (9,999 addresses)": lambda: _to_the_end(
            server, post("/api/v1/geocode/batch", json=addresses, timeout=300)
        ),
        "POST /api/v1/geocode/batch (1,000 addresses, answered at once)": lambda: post(
            "/api/v1/geocode/batch", json=addresses[:1000], timeout=300
        ),
        "POST /api/v1/layers/{layer}/imports (1,000,000 vertices)": lambda: imported.setdefault(
            "answer",
            post(
                f"/api/v1/layers/{layer}/imports",
                files={"file": (upload.name, upload.read_bytes())},
                timeout=300,
            ),
        ),
        "GET /api/v1/layers/{layer}/grids (1,000,000 vertices)": lambda: get(
            f"/api/v1/layers/{layer}/grids",
            params={"generation": imported["answer"].json()["generation"]},
            timeout=300,
        ),
        "POST /api/v1/plans/{id}/reshape (20,000 vertices)": _reshape(server),
    }


def test_health_answers_quickly_while_the_heaviest_requests_run(server, tmp_path) -> None:
    idle, _ = _health_while(server, lambda: time.sleep(5.0))  # the machine's own noise
    bound = max(BOUND_MS, BUSY_FACTOR * _p95(idle))
    figures = [
        f"{'(nothing else running)':50s} 1 x {5.0:5.1f} s  /health n={len(idle):4d} median "
        f"{statistics.median(idle):5.1f} p95 {_p95(idle):6.1f} max {max(idle):7.1f} ms"
    ]
    slow = []
    for name, request in _heavy(server, tmp_path).items():
        started = time.perf_counter()
        latencies, answers = _health_while(server, request)
        took = (time.perf_counter() - started) / len(answers)
        for answer in answers:
            assert isinstance(answer, httpx.Response), f"{name}: {answer!r}"
            assert answer.status_code in (200, 201), f"{name}: {answer.text[:300]}"
        figures.append(
            f"{name:50s} {len(answers)} x {took:5.1f} s  /health n={len(latencies):4d} median "
            f"{statistics.median(latencies):5.1f} p95 {_p95(latencies):6.1f} "
            f"max {max(latencies):7.1f} ms"
        )
        if _p95(latencies) >= bound:
            slow.append(name)
    print(f"\n/health p95 bound {bound:.0f} ms\n" + "\n".join(figures))
    assert not slow, f"/health p95 over {bound:.0f} ms during: {slow}\n" + "\n".join(figures)


def _descendants(pid: int) -> set[int]:
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def test_kill_9_of_the_server_takes_its_worker_processes_along(demo_db, tmp_path) -> None:
    server = start_server(demo_db, tmp_path / "home", **COLD)
    try:
        thread = threading.Thread(
            target=lambda: pytest.raises(
                httpx.HTTPError,
                server.get,
                "/map/cases",
                params={"from": _since()},
                timeout=300,
            )
        )
        thread.start()  # a page build in a worker, cut short by the kill
        deadline = time.monotonic() + 60
        while len(_descendants(server.proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _descendants(server.proc.pid)
        assert len(workers) >= 2, "no worker processes (fork server and a worker) seen"
        time.sleep(1.0)  # the build is under way
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)
        gone = time.monotonic() + 10
        while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < gone:
            time.sleep(0.05)
        alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
        assert not alive, f"worker processes outlived the server: {alive}"
        thread.join(timeout=30)
    finally:
        server.kill()
