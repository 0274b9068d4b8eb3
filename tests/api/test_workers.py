"""The worker processes of ``api/workers.py``: no wait for them at exit, the server's settings."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: A process whose one worker runs a minute of work as it ends: how long its exit takes.
_SCRIPT = """
import threading, time
from api import workers
workers.start()
threading.Thread(target=workers.run, args=(time.sleep, 60), daemon=True).start()
time.sleep(1.0)
started = time.monotonic()
import atexit
atexit.register(lambda: print(f"exit took {time.monotonic() - started:.2f} s", flush=True))
"""


def test_a_process_ends_without_waiting_for_the_work_its_workers_run(tmp_path) -> None:
    """concurrent.futures joins a pool at exit, so a server told to stop waited for whatever its
    workers still ran (the warm-up's page: seconds); the workers are ended first instead."""
    env = {**os.environ, "GEO_GRID_HOME": str(tmp_path), "GEO_GRID_HEAVY_WORKERS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    took = float(done.stdout.split("exit took ")[1].split()[0])
    assert took < 5.0, f"the exit waited {took:.1f} s for a worker's work"


def test_a_worker_follows_the_servers_settings_to_another_database(demo_db, monkeypatch) -> None:
    """A worker used the engine its locate index was first built with for as long as it ran, so
    after the settings named another database it went on querying the old one (the schemathesis
    tests' copy, dropped: every later batch geocode in the session answered 503)."""
    from sqlalchemy import make_url

    from api import workers
    from geo_grid.errors import DatabaseUnavailable
    from geo_grid.services import geocoding
    from geo_grid.settings import get_settings

    def point_at(url: str) -> None:
        monkeypatch.setenv("GEO_GRID_DATABASE_URL", url)
        get_settings.cache_clear()
        time.sleep(geocoding.LOCATE_MAX_AGE_S + 0.1)  # the locate index asks the store again

    monkeypatch.setenv("GEO_GRID_HEAVY_WORKERS", "1")  # one worker: the one whose index is built
    get_settings.cache_clear()
    try:
        workers.run(geocoding.locate, 118.95, 32.12)
        point_at(make_url(demo_db).set(database="geo_grid_no_such_db").render_as_string(False))
        with pytest.raises(DatabaseUnavailable):
            workers.run(geocoding.locate, 118.95, 32.12)
        point_at(demo_db)
        workers.run(geocoding.locate, 118.95, 32.12)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def _note_pid(folder: str) -> None:
    """In a worker: leave this process's id in ``folder``, and take a moment (a warm-up's work)."""
    Path(folder, str(os.getpid())).touch()
    time.sleep(1.0)


def test_warm_runs_in_every_worker_process(tmp_path, monkeypatch) -> None:
    """The first batch geocode after a start built its worker's own geocoder (24-34 s in the
    grid worker's schemathesis run): the warm-up builds it in every worker instead."""
    from api import workers
    from geo_grid.settings import get_settings

    monkeypatch.setenv("GEO_GRID_HEAVY_WORKERS", "2")
    get_settings.cache_clear()
    try:
        workers.warm(functools.partial(_note_pid, str(tmp_path)))
    finally:
        get_settings.cache_clear()
    assert len(list(tmp_path.iterdir())) == 2, list(tmp_path.iterdir())


def test_warm_reaches_a_worker_busy_when_it_starts(tmp_path, monkeypatch) -> None:
    """The warm-up's calls were made once, one per worker: a worker busy (or, on CI's loaded two
    cores, not scheduled in time) left both to the other, and was never warmed (CI of 97abe22)."""
    import threading

    from api import workers
    from geo_grid.settings import get_settings

    monkeypatch.setenv("GEO_GRID_HEAVY_WORKERS", "2")
    get_settings.cache_clear()
    try:
        workers.run(time.sleep, 0.1)  # both workers started
        busy = threading.Thread(target=workers.run, args=(time.sleep, 3.0))
        busy.start()
        time.sleep(0.5)  # one worker is asleep in it
        workers.warm(functools.partial(_note_pid, str(tmp_path)))
        busy.join()
    finally:
        get_settings.cache_clear()
    assert len(list(tmp_path.iterdir())) == 2, list(tmp_path.iterdir())


def _wait_for_file(path: str) -> None:
    """A warm-up that lasts until the test lets it end (``path`` exists)."""
    deadline = time.monotonic() + 120
    while not os.path.exists(path):
        assert time.monotonic() < deadline, "never let go"
        time.sleep(0.05)


def test_warm_is_said_only_once_every_worker_has_warmed_up(tmp_path, monkeypatch) -> None:
    """``/health`` said warm once the server's own geocoders were built while every worker still
    built its own, and the first heavy request waited for that (a coverage check of an upload
    answered in 62 s in the admin's schemathesis run, started once the server said warm)."""
    import threading

    from api import workers
    from api.routers import health
    from geo_grid.services import index
    from geo_grid.settings import get_settings

    monkeypatch.setenv("GEO_GRID_HEAVY_WORKERS", "1")
    get_settings.cache_clear()
    monkeypatch.setattr(index, "ready", lambda: True)  # the server's own part: built
    gate = tmp_path / "go"
    try:
        workers.start()
        warming = threading.Thread(
            target=workers.warm, args=(functools.partial(_wait_for_file, str(gate)),)
        )
        warming.start()
        time.sleep(1.0)
        assert not workers.warmed() and not health._warm()
        gate.touch()
        warming.join(timeout=120)
        assert workers.warmed() and health._warm()
    finally:
        get_settings.cache_clear()


def test_a_server_told_not_to_warm_up_builds_nothing_before_it_is_asked(
    database_url, monkeypatch
) -> None:
    """``GEO_GRID_WARM_UP=false``: the server starts without the warm-up thread (a short-lived
    server, as the kill -9 tests start, spent some 15 s of CPU on caches it never used); with the
    default, it starts it."""
    from fastapi.testclient import TestClient

    import api.main as main
    from geo_grid.settings import get_settings

    started: list[str] = []
    monkeypatch.setattr(main, "_warm", lambda: started.append("warm-up"))
    monkeypatch.setenv("GEO_GRID_HEAVY_WORKERS", "0")
    monkeypatch.setenv("GEO_GRID_JOB_WORKERS", "0")
    try:
        for setting, expected in (("false", []), ("true", ["warm-up"])):
            monkeypatch.setenv("GEO_GRID_WARM_UP", setting)
            get_settings.cache_clear()
            started.clear()
            with TestClient(main.app):
                time.sleep(0.2)  # the thread, when started, has run its (recording) target
            assert started == expected, setting
    finally:
        get_settings.cache_clear()
