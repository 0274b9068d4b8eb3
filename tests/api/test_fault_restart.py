"""A PostgreSQL outage under a running API server: degraded answers, then recovery, no restart.

The server runs as a real uvicorn subprocess on a private cluster of this module's own (the
session's test database is never stopped). PostgreSQL is stopped before the server starts (so the
warm-up must wait for it) and again under load; each time ``/health`` must say ``degraded`` (503,
within the connect timeout), other routes answer 503 with a JSON error (never 500, never a hang),
and once the server is back everything works again without restarting the API.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import psycopg2
import pytest
import shapely
from api_server import ApiServer, start_server
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import NullPool

from geo_grid.db import migrate, repos
from geo_grid.db.cluster import LocalCluster
from geo_grid.db.session import error_line, get_engine, session_scope
from geo_grid.errors import DatabaseUnavailable

#: /health and a failing route must answer within this while PostgreSQL is down (the engine's
#: connect timeout is 2 s; a stopped server refuses at once)
ANSWER_WITHIN_S = 3.0


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """A dedicated, migrated cluster: this module stops and starts it at will.

    Its folder comes from ``mkdtemp`` as in ``tests/conftest.py``, not pytest's ``tmp_path``: as
    root the server runs as ``postgres``, and any pytest starting meanwhile resets
    ``/tmp/pytest-of-root`` to mode 0700, which would lock the server out of its own data.
    """
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="geo-grid-fault-")) / "pg")
    url = cluster.start()
    engine = create_engine(url, poolclass=NullPool)
    migrate.upgrade(engine)
    _publish_one_grid(engine)
    engine.dispose()
    try:
        yield cluster
    finally:
        cluster.destroy()
        shutil.rmtree(cluster.root.parent, ignore_errors=True)


def _publish_one_grid(engine) -> None:
    """One published unified grid: enough for the locate index and the warm-up to build."""
    grid = gpd.GeoDataFrame(
        {"code": ["320113001001001"], "name": ["测试网格"], "community_code": ["320113001001"],
         "street_code": ["320113001"], "households": [400], "area_m2": [250_000.0]},
        geometry=[shapely.MultiPolygon([shapely.box(118.90, 32.10, 118.905, 32.105)])],
        crs=4490,
    )  # fmt: skip
    with session_scope(engine) as session:
        from geo_grid.address import DistrictNames
        from geo_grid.districts import DistrictProfile

        outline = shapely.box(118.85, 32.05, 118.95, 32.15)
        profile = DistrictProfile.from_outline(DistrictNames("320113", "栖霞区"), outline)
        repos.district.upsert_district(session, profile, outline)
        gid = repos.grids.create_generation(
            session, layer="unified", district="320113", author="test"
        )
        repos.grids.insert_grids(session, gid, "unified", grid)
        repos.grids.publish_generation(session, gid)


def _wait_for(predicate, timeout: float, what: str) -> float:
    """Poll ``predicate`` until true; returns the seconds it took."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return time.monotonic() - t0
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout} s: {what}")


def _assert_degraded(server: ApiServer) -> None:
    t0 = time.monotonic()
    r = server.get("/health")
    assert time.monotonic() - t0 < ANSWER_WITHIN_S
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["status"] == "degraded" and body["database"] == "unreachable"
    assert body["error"]  # why, in one line
    for path in ("/api/v1/layers", "/api/v1/layers/unified/grids", "/api/v1/plans"):
        t0 = time.monotonic()
        r = server.get(path)
        assert time.monotonic() - t0 < ANSWER_WITHIN_S, path
        assert r.status_code == 503, (path, r.status_code, r.text)
        assert r.json()["error"]["message"] == "database unavailable", path


def _assert_ok(server: ApiServer) -> None:
    r = server.get("/health")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ok" and r.json()["database"] == "reachable"
    r = server.get("/api/v1/layers")
    assert r.status_code == 200, r.text
    assert {"unified", "politics_law"} <= {row["key"] for row in r.json()["data"]}


def _report(server: ApiServer) -> None:
    r = server.post("/api/v1/cases", json={"category_code": "E0502", "lon": 118.902,
                                           "lat": 32.102, "crs": "cgcs2000"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["grid_code"] == "320113001001001"


def test_api_survives_postgres_restarts(
    cluster: LocalCluster, database_url: str, tmp_path: Path
) -> None:
    del database_url  # requested for the session's token signing key only (see api_server.py)
    port = cluster.port  # restarts keep the port: the server's URL names it
    url = cluster.url
    cluster.stop()
    # the API comes up while the database is down: it answers, degraded, and warms up later
    server = start_server(url, tmp_path / "home", case_tick_seconds="1")
    try:
        _assert_degraded(server)
        assert server.get("/health").json()["warm"] is False
        waits = "warm-up waits for the database"
        _wait_for(lambda: waits in server.log_text(), 30, "the warm-up met the outage")
        cluster.start(port=port)
        _wait_for(lambda: server.get("/health").status_code == 200, 10, "/health ok after start")
        _assert_ok(server)
        _wait_for(lambda: server.get("/health").json()["warm"], 30, "warm-up resumed")

        _report(server)  # the intake writers now hold connections of their own

        # an outage under a running, warm server with a pool full of now-dead connections
        down, back = "database unreachable, retrying", "sweeps resumed"
        seen_down, seen_back = server.log_text().count(down), server.log_text().count(back)
        cluster.stop()
        _assert_degraded(server)
        _wait_for(lambda: server.log_text().count(down) > seen_down, 10, "a sweep met the outage")
        cluster.start(port=port)
        _assert_ok(server)  # the very first request after the restart works (pre-ping)
        _assert_ok(server)
        for _ in range(4):  # every intake writer pings its held connection before writing
            _report(server)
        _wait_for(lambda: server.log_text().count(back) > seen_back, 10, "the ticker resumed")
        assert server.proc.poll() is None  # the same server process throughout
    finally:
        server.stop()
    log = server.log_text()
    assert "escalation sweep: database unreachable" in log
    assert "Traceback" not in log, log[-3000:]


#: Every way a dead or absent database surfaces from the driver or the pool, and a bug.
DRIVER_ERRORS = [
    (OperationalError("SELECT 1", {}, Exception("could not connect to server")), True),
    (OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly")), True),
    (InterfaceError("SELECT 1", {}, Exception("connection already closed")), True),
    (DBAPIError("SELECT 1", {}, Exception("lost"), connection_invalidated=True), True),
    (DBAPIError("SELECT 1", {}, Exception("terminating connection due to administrator command")),
     True),
    (psycopg2.OperationalError("server closed the connection unexpectedly"), True),
    (PoolTimeout("QueuePool limit of size 10 overflow 20 reached"), True),
    (ProgrammingError("SELECT nope", {}, Exception('column "nope" does not exist')), False),
]  # fmt: skip


@pytest.mark.parametrize(("error", "unreachable"), DRIVER_ERRORS)
def test_db_translates_an_unreachable_database_into_the_domain_error(
    error: Exception, unreachable: bool
) -> None:
    """What reaches a unit of work from the driver or the pool leaves ``geo_grid.db`` as
    DatabaseUnavailable (its reason kept for the log); a broken statement stays what it is."""
    engine = get_engine("postgresql+psycopg2://nobody@127.0.0.1:1/nothing")
    if not unreachable:
        with pytest.raises(type(error)), session_scope(engine):
            raise error
        return
    with pytest.raises(DatabaseUnavailable) as caught, session_scope(engine):
        raise error
    assert caught.value.message == "database unavailable"
    assert error_line(caught.value) == error_line(error)


def test_db_translates_a_refused_connection_outside_a_session() -> None:
    """The engine's own hook: a connect that fails (nothing listens on port 1) raises the domain
    error whoever asked (here a bare connection, as migrations and the locate index use)."""
    engine = get_engine("postgresql+psycopg2://nobody@127.0.0.1:1/nothing")
    with pytest.raises(DatabaseUnavailable) as caught, engine.connect():
        pass
    assert "refused" in error_line(caught.value).lower(), error_line(caught.value)


@pytest.mark.parametrize(
    ("error", "status", "message"),
    [
        (DatabaseUnavailable("database unavailable"), 503, "database unavailable"),
        (DatabaseUnavailable("the local database is not running"), 503, "the local database"),
        (RuntimeError("a bug"), 500, None),
    ],
)
def test_the_api_answers_database_unavailable_with_503_json_and_bugs_stay_500(
    error: Exception, status: int, message: str | None
) -> None:
    """The API maps only the domain error (the translation happened in ``geo_grid.db``); the
    driver's reason is not sent to the client."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from api import errors

    app = FastAPI()
    errors.register(app)

    @app.get("/boom")
    def boom() -> None:
        raise error

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/boom")
    assert r.status_code == status, r.text
    if message is not None:
        assert r.json()["error"]["message"].startswith(message)
