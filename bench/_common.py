"""What the load and scale benches share: the store, the server subprocess, the HTTP headers.

Kept apart so that adding credentials (the API answers 401 without them once authentication
lands) is one edit in :func:`headers`, and so that every bench finds the demo database the same
way the CLI does (``GEO_GRID_DATABASE_URL``, else the local cluster under ``.geo-grid/pg``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from geo_grid.testing.server import free_port, uvicorn_command  # noqa: E402 (REPO on the path)

__all__ = [
    "REPO",
    "cpu_seconds",
    "ensure_demo",
    "free_port",
    "headers",
    "postmaster_pid",
    "read_library",
    "serve",
    "server_env",
    "stop",
    "uvicorn_command",
    "wait_idle",
]


def headers(role: str = "dispatcher") -> dict[str, str]:
    """Every header the benches send on every request: the one place for credentials.

    ``GEO_GRID_BENCH_API_KEY`` is sent as ``X-API-Key`` and ``GEO_GRID_BENCH_TOKEN`` as a bearer
    token (a server elsewhere). Without them the bench signs a token for ``role`` itself with this
    machine's key (``GEO_GRID_AUTH_SECRET`` or ``.geo-grid/auth-secret``), which the server it
    starts shares: dispatchers may locate, geocode and file cases, the load benches' whole mix;
    ``bench/bodies.py`` uploads as a planner.
    """
    key = os.environ.get("GEO_GRID_BENCH_API_KEY")
    token = os.environ.get("GEO_GRID_BENCH_TOKEN")
    if key:
        return {"X-API-Key": key}
    if not token:
        from api.auth import issue_token
        from geo_grid.access import Principal

        token, _ = issue_token(Principal("bench", role))
    return {"Authorization": f"Bearer {token}"}


def ensure_demo() -> str:
    """The store's URL, with the demo district loaded (loaded here if absent)."""
    from geo_grid.db.session import database_url
    from geo_grid.services.demo import demo_loaded, load_demo

    url = database_url()
    if not demo_loaded():
        print("loading the demo district …", flush=True)
        load_demo()
    return url


def server_env(app_dir: Path = REPO) -> dict[str, str]:
    """The environment of a server subprocess: the same store as this process, no escalation tick.

    The tick (a periodic sweep over open cases) is switched off so that it does not land in the
    middle of a measurement, as ``bench/cases.py`` does.
    """
    return {
        **os.environ,
        "PYTHONPATH": str(app_dir),
        "GEO_GRID_DATABASE_URL": ensure_demo(),
        "GEO_GRID_CASE_TICK_SECONDS": "0",
    }


def serve(
    workers: int, *, app_dir: Path = REPO, timeout_s: float = 180.0
) -> tuple[subprocess.Popen, str]:
    """``uvicorn api.main:app --workers N`` on a free port; returns once every worker is warm.

    ``/health`` says ``warm`` per process (each worker builds its own locate index and geocoder
    at start-up), and a request lands on whichever worker accepts it, so readiness is declared
    only after ``4 × workers`` consecutive warm answers, each on a fresh connection.
    """
    port = free_port()
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (the server writes it after we return)
        prefix="geo-grid-uvicorn-", suffix=".log", delete=False
    )
    proc = subprocess.Popen(
        uvicorn_command(port, workers=workers, access_log=False),
        cwd=app_dir,
        env=server_env(app_dir),
        stdout=subprocess.DEVNULL,
        stderr=log,  # a file: a pipe nobody reads would block a chatty server
    )
    proc.log_path = log.name  # type: ignore[attr-defined]
    base = f"http://127.0.0.1:{port}"
    deadline, streak = time.monotonic() + timeout_s, 0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"uvicorn exited: {Path(log.name).read_text()[-2000:]}")
        try:
            r = httpx.get(f"{base}/health", headers=headers(), timeout=5)
            warm = r.status_code == 200 and bool(r.json().get("warm"))
        except httpx.HTTPError:
            warm = False
        streak = streak + 1 if warm else 0
        if streak >= 4 * workers:
            return proc, base
        time.sleep(0.05 if warm else 0.3)
    stop(proc)
    raise SystemExit(f"uvicorn ({workers} workers) was not warm within {timeout_s:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    """Stop a server started by :func:`serve` (SIGTERM, then SIGKILL after 30 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def read_library():
    """``(library, streets, communities)`` of the store, as the geocoder reads them.

    ``grid_code`` is added empty: the noise helpers of ``bench/noisy_queries.py`` label each query
    with it, and the benches here do not need labels.
    """
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope

    with session_scope() as session:
        library = repos.district.read_address_library(session)
        streets = repos.district.read_admin_areas(session, level="street")
        communities = repos.district.read_admin_areas(session, level="community")
    library["grid_code"] = None
    return library, streets, communities


def children(pid: int) -> list[int]:
    """The live child processes of ``pid``, from /proc (a server's workers, a cluster's backends)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue  # exited meanwhile
            if parent == pid:
                out.append(int(entry.name))
    return out


def cpu_seconds(root: int | None) -> float:
    """CPU seconds (user + system) of a process and its descendants, living or ended (reaped
    children count in their parent), from /proc (0 elsewhere)."""
    if root is None or not Path("/proc").is_dir():
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        # its own time and that of its children already reaped: a backend that ended during the
        # measurement (the baseline's connections past the pool) stays counted, in its parent
        stats[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / tick)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0.0))[1]
        todo.extend(child for child, (parent, _) in stats.items() if parent == pid)
    return total


def postmaster_pid() -> int | None:
    """The local cluster's postmaster pid (None for an external database). A URL naming another
    database of the local cluster (its socket under ``.geo-grid/pg``, as ``bench/demo_load.py
    --keep`` prints) is the local cluster too."""
    from sqlalchemy.engine import make_url

    from geo_grid.db.session import local_cluster
    from geo_grid.settings import get_settings

    url = get_settings().database_url
    if url and make_url(url).query.get("host") != str(local_cluster().root):
        return None
    pid_file = local_cluster().data_dir / "postmaster.pid"
    try:
        return int(pid_file.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def store_cpu_seconds() -> float:
    """CPU seconds of the local cluster's processes serving this store: every process of the
    cluster (its WAL writer, checkpointer, autovacuum …) except the backends of *other*
    databases. The whole cluster's figure counted the other engineers' benches on a shared
    machine (a pg_trgm baseline beside the intake bench read 1.2 ms more per case); 0 for an
    external database. A backend of another database that ended meanwhile still counts."""
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    pm = postmaster_pid()
    if pm is None:
        return 0.0
    with session_scope() as s:
        others = {
            int(pid)
            for (pid,) in s.execute(
                text("""SELECT pid FROM pg_stat_activity
                        WHERE datname IS NOT NULL AND datname <> current_database()""")
            )
        }
    return cpu_seconds(pm) - sum(cpu_seconds(pid) for pid in others)


def wait_idle(
    pid: int, window_s: float = 5.0, busy_s: float = 0.5, timeout_s: float = 900.0
) -> float:
    """Until the processes of server ``pid`` use under ``busy_s`` CPU seconds in ``window_s``;
    the seconds waited. Once warm, the warm-up still builds every district's services page and
    every heavy worker's base maps (minutes of CPU on a city, at nice 10): a measurement taken
    meanwhile counts them and competes with them."""
    started = time.monotonic()
    before = cpu_seconds(pid)
    while time.monotonic() - started < timeout_s:
        time.sleep(window_s)
        now = cpu_seconds(pid)
        if now - before < busy_s:
            return time.monotonic() - started
        before = now
    raise SystemExit("the server did not become idle after its warm-up")
