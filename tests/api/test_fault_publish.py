"""``kill -9`` of the API server in the middle of a plan's publish transaction changes nothing.

Publishing (``geo_grid.services.plans.publish``) locks the plan, validates the draft, locks the
layer, retires the published generation and then marks the draft published, all in one
transaction. To kill the server at the worst moment without sleeping and hoping, the test holds a
row lock on the draft's ``generation`` row from its own connection: the server's transaction
retires the old generation (it now holds a transaction id, i.e. it has written) and then waits on
that lock in ``UPDATE generation SET status = 'published'``. The test sees exactly that in
``pg_stat_activity``, kills the server, releases the lock, and checks that the layer still
serves the same generation with the same grids, that nothing half-published is left, and that a
restarted server publishes the same plan.

The plan is drawn on a private copy layer (``scratch_layer``), so the demo's layers never change.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import httpx
import psycopg2
from api_server import COLD, ApiServer, start_server
from sqlalchemy import make_url

WAIT_S = 30.0


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _layer_state(dsn: str, layer: str) -> dict:
    """The layer's generations by id (status) and its published grids' count and checksum."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, status FROM generation WHERE layer_key = %s ORDER BY id", (layer,))
        generations = dict(cur.fetchall())
        cur.execute(
            """SELECT g.id, count(*),
                      md5(string_agg(d.code || ':' || coalesce(d.name, '') || ':'
                                     || encode(ST_AsBinary(d.geom), 'hex'), ',' ORDER BY d.code))
               FROM generation g JOIN grid d ON d.generation_id = g.id
               WHERE g.layer_key = %s AND g.status = 'published' GROUP BY g.id""",
            (layer,),
        )
        published = cur.fetchall()
        cur.execute("SELECT status FROM plan WHERE layer_key = %s ORDER BY id", (layer,))
        plans = [r[0] for r in cur.fetchall()]
    conn.close()
    return {"generations": generations, "published": published, "plans": plans}


def _blocked_backend(watch, holder_pid: int) -> tuple | None:
    """The backend waiting on a lock ``holder_pid`` holds: (pid, xid, state, query)."""
    with watch.cursor() as cur:
        cur.execute(
            """SELECT pid, backend_xid::text, state, query FROM pg_stat_activity
               WHERE %s = ANY(pg_blocking_pids(pid))""",
            (holder_pid,),
        )
        rows = cur.fetchall()
    return rows[0] if rows else None


def _backend_alive(watch, pid: int) -> bool:
    with watch.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
        return cur.fetchone()[0] > 0


def _publish_in_background(server: ApiServer, plan_id: int) -> threading.Thread:
    """POST the publish from a thread: it never answers (the server dies under it)."""

    def post() -> None:
        with contextlib.suppress(httpx.TransportError):  # it dies with the server: expected
            server.post(f"/api/v1/plans/{plan_id}/publish", timeout=WAIT_S + 30)

    thread = threading.Thread(target=post, daemon=True)
    thread.start()
    return thread


def test_kill_9_during_publish_leaves_the_layer_as_it_was(demo_db, scratch_layer, tmp_path: Path):
    dsn = _libpq(demo_db)
    layer, published_id = scratch_layer("community_code LIKE '320113004%'")
    server = start_server(demo_db, tmp_path / "home", **COLD)
    try:
        created = server.post("/api/v1/plans", json={"layer": layer, "note": "kill -9 test"})
        assert created.status_code == 201, created.text
        plan_id, draft_id = created.json()["id"], created.json()["generation_id"]
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT min(code) FROM grid WHERE generation_id = %s", (published_id,))
            code = cur.fetchone()[0]
        conn.close()
        edit = server.post(f"/api/v1/plans/{plan_id}/recode", json={"grid": code, "name": "改名"})
        assert edit.status_code == 200, edit.text
        before = _layer_state(dsn, layer)
        assert before["generations"] == {published_id: "published", draft_id: "draft"}
        assert before["published"][0][0] == published_id and before["published"][0][1] > 10

        holder = psycopg2.connect(dsn)  # holds the draft's row: the publish waits on it
        watch = psycopg2.connect(dsn)
        watch.autocommit = True  # a fresh pg_stat_activity snapshot per query
        try:
            with holder.cursor() as cur:
                cur.execute("SELECT id FROM generation WHERE id = %s FOR UPDATE", (draft_id,))
            publishing = _publish_in_background(server, plan_id)
            deadline = time.monotonic() + WAIT_S
            blocked = None
            while blocked is None and time.monotonic() < deadline:
                blocked = _blocked_backend(watch, holder.get_backend_pid())
                time.sleep(0.05)
            assert blocked is not None, "the publish never reached the draft's row"
            pid, xid, state, query = blocked
            assert query.startswith("UPDATE generation SET status = 'published'"), query
            assert state == "active" and xid is not None  # inside the transaction, after a write

            server.kill()  # kill -9 while the transaction is open
            publishing.join(timeout=10)
            assert _backend_alive(watch, pid)  # still waiting: a dead client is not noticed
        finally:
            holder.rollback()  # release the lock: the orphaned backend runs on, then finds EOF
            holder.close()
        deadline = time.monotonic() + WAIT_S
        while _backend_alive(watch, pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _backend_alive(watch, pid), "the orphaned backend never ended"
        watch.close()

        after = _layer_state(dsn, layer)
        assert after == before  # same generation, grids, checksum; draft still a draft; plan open
    finally:
        server.kill()

    # a restarted server publishes the same plan: nothing was left locked or half-done
    server = start_server(demo_db, tmp_path / "home", **COLD)
    try:
        r = server.post(f"/api/v1/plans/{plan_id}/publish")
        assert r.status_code == 200, r.text
        assert r.json()["generation_id"] == draft_id
        assert r.json()["retired_generation_id"] == published_id
    finally:
        server.stop()
    done = _layer_state(dsn, layer)
    assert done["generations"] == {published_id: "retired", draft_id: "published"}
    assert done["published"][0][:2] == (draft_id, before["published"][0][1])
    assert done["published"][0][2] != before["published"][0][2]  # the renamed grid is live
    assert done["plans"] == ["published"]
