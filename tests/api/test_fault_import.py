"""A layer upload whose server is ``kill -9``-ed mid-transaction stores nothing, and a restarted
server imports the same file.

The server is a real ``uvicorn`` subprocess (an in-process client cannot die half way). To kill it
at a known point rather than after a lucky sleep, the test holds ``LOCK TABLE grid IN SHARE MODE``
from its own connection: the server's import transaction then waits on its ``COPY`` into ``grid``
(after the generation row was inserted), which ``pg_stat_activity`` shows; the test kills the
server there, releases the lock, and checks that PostgreSQL rolled the orphaned transaction back.

The server and its credentials come from ``tests/api_server.py``, as in the other fault tests.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from pathlib import Path

import geopandas as gpd
import httpx
from api_server import COLD, ApiServer, start_server
from shapely.geometry import box
from sqlalchemy import create_engine, text

from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.io import write_layer

N_GRIDS = 4000


def _upload(server: ApiServer, layer: str, path: Path) -> httpx.Response:
    return server.post(
        f"/api/v1/layers/{layer}/imports",
        files={"file": (path.name, path.read_bytes())},
        timeout=120,
    )


def _upload_ignoring_errors(server: ApiServer, layer: str, path: Path) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server is killed under it: expected
        _upload(server, layer, path)


def _published() -> dict[str, tuple[int, int]]:
    """layer → (published generation id, its grid count), every layer."""
    with session_scope() as s:
        rows = s.execute(
            text(
                "SELECT g.layer_key, g.id, (SELECT count(*) FROM grid WHERE generation_id = g.id) "
                "FROM generation g WHERE g.status = 'published'"
            )
        ).all()
    return {layer: (gid, n) for layer, gid, n in rows}


def _layer_rows(layer: str) -> tuple[int, int]:
    with session_scope() as s:
        gens = s.execute(
            text("SELECT count(*) FROM generation WHERE layer_key = :k"), {"k": layer}
        ).scalar_one()
        grids = s.execute(
            text("SELECT count(*) FROM grid WHERE layer_key = :k"), {"k": layer}
        ).scalar_one()
    return gens, grids


_STUCK_COPY = text(
    "SELECT pid, state, wait_event_type, query FROM pg_stat_activity "
    "WHERE pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction') "
    "AND backend_xid IS NOT NULL "  # it has written: the generation row, uncommitted
    "AND query ~* '^\\s*(COPY|INSERT INTO)\\s+\"?grid\"?[\\s(]'"
)


def _big_layer(path: Path) -> Path:
    cols = 80
    frame = gpd.GeoDataFrame(
        {"code": [f"F{i:05d}" for i in range(N_GRIDS)], "name": [f"故障网格{i}" for i in range(N_GRIDS)]},
        geometry=[
            box(118.80 + 0.002 * (i % cols), 32.05 + 0.002 * (i // cols),
                118.80 + 0.002 * (i % cols + 1), 32.05 + 0.002 * (i // cols + 1))
            for i in range(N_GRIDS)
        ],
        crs=4490,
    )  # fmt: skip
    return write_layer(frame, path)


def test_kill_9_during_the_import_transaction_stores_nothing(demo_db, tmp_path) -> None:
    layer = f"t_fault_{uuid.uuid4().hex[:10]}"
    with session_scope() as s:
        repos.grids.ensure_layer(s, layer, "故障测试")
    path = _big_layer(tmp_path / "big.gpkg")
    published = _published()
    assert _layer_rows(layer) == (0, 0)

    server = start_server(demo_db, tmp_path / "home", **COLD)
    watcher = create_engine(demo_db, isolation_level="AUTOCOMMIT")
    blocker = create_engine(demo_db).connect()
    try:
        blocker.execute(text("LOCK TABLE grid IN SHARE MODE"))  # holds the server's COPY back
        sent = threading.Thread(target=_upload_ignoring_errors, args=(server, layer, path))
        sent.start()  # its answer never comes: the server dies first
        stuck = None
        deadline = time.monotonic() + 60
        with watcher.connect() as watch:
            while stuck is None and time.monotonic() < deadline:
                stuck = watch.execute(_STUCK_COPY).mappings().first()
                if stuck is None:
                    time.sleep(0.02)
            assert stuck is not None, f"no import transaction seen; server log: {server.log_text()}"
            assert _layer_rows(layer) == (0, 0)  # written in that backend, not committed
            server.kill()
            blocker.rollback()  # release the lock: the orphaned COPY finds its client gone
            gone = time.monotonic() + 30
            while time.monotonic() < gone:
                alive = watch.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p"),
                    {"p": stuck["pid"]},
                ).scalar_one()
                if not alive:
                    break
                time.sleep(0.05)
            assert not alive, "the killed server's backend is still running"
        sent.join(timeout=30)
    finally:
        blocker.close()
        watcher.dispose()
        server.kill()

    assert _layer_rows(layer) == (0, 0)  # no generation, no grid of that layer
    assert _published() == published  # every layer's published generation and its grids as before

    server = start_server(demo_db, tmp_path / "home", **COLD)
    try:
        response = _upload(server, layer, path)
        assert response.status_code == 201, response.text
        assert response.json()["grids"] == N_GRIDS
    finally:
        server.kill()
    assert _layer_rows(layer) == (1, N_GRIDS)
    assert _published() == published  # a draft: nothing published changed
