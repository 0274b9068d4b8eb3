"""A job's stored work happens once, whichever worker dies when.

A merge stored as a draft writes a merge run, its crosswalk and a draft generation. Its job is
finished in that same transaction, so:

* a worker killed after the work committed, before it could say so, leaves the job done (it is
  not run again, nothing is written twice);
* a worker thought dead whose job was taken again meanwhile has its writes rolled back when it
  comes to store them;
* the API's worker process killed with ``kill -9`` mid-job: the job runs again in a new process
  and its work is stored once.

Against the real PostGIS, in a private copy of the demo database (the jobs claimed here are the
only ones in it).
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from concurrent.futures.process import BrokenProcessPool

import pytest
from conftest import QIXIA
from db_copy import copied_database
from sqlalchemy import text

from geo_grid.access import Principal
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.services import jobs


@pytest.fixture(scope="module")
def store(demo_db):
    with copied_database(demo_db, prefix="jobs_once") as url:
        yield url


@pytest.fixture
def who(store) -> Principal:
    """A planner of this test's own: what they stored is counted by their name."""
    return Principal(name=f"t.once.{uuid.uuid4().hex[:8]}", role="planner")


def _merge(who: Principal) -> dict:
    params = {"layers": ["ecology"], "district": QIXIA, "as_draft": True}
    return jobs.submit("merge", params, principal=who)


def _claim(worker: str, **kw) -> dict | None:
    with session_scope() as s:
        return repos.jobs.claim_job(s, worker=worker, max_attempts=3, kinds=["merge"],
                                    stale_s=kw.get("stale_s", 60.0))  # fmt: skip


def _stored(who: Principal) -> list[tuple[int, int | None, int]]:
    """(merge run, its draft generation's number, the draft's grids) of each run ``who`` stored."""
    with session_scope() as s:
        rows = s.execute(
            text(
                """SELECT r.id, g.number,
                          (SELECT count(*) FROM grid WHERE generation_id = g.id)
                   FROM merge_run r LEFT JOIN generation g ON g.id = r.proposed_generation_id
                   WHERE r.author = :a ORDER BY r.id"""
            ),
            {"a": who.label},
        ).all()
        drafts = s.execute(
            text("SELECT count(*) FROM generation WHERE author = :a AND source LIKE 'merge:%'"),
            {"a": who.label},
        ).scalar()
    assert drafts == len(rows), "a draft generation without its merge run, or the reverse"
    return [tuple(r) for r in rows]


def _assert_stored_once(who: Principal, job: dict) -> None:
    (run,) = _stored(who)
    result = job["result"]
    assert run == (result["merge_id"], result["draft_generation"], result["proposed"]["grids"])


def test_a_worker_killed_after_its_work_committed_leaves_the_job_done(who):
    job = _merge(who)
    taken = _claim("w1")
    assert taken["id"] == job["id"]

    def killed_after_the_commit(fn, *args):
        fn(*args)  # the work runs and commits ...
        raise BrokenProcessPool("... and its process is killed before it answers")

    jobs.run_claimed(taken, "w1", execute=killed_after_the_commit)
    done = jobs.get(job["id"], viewer=who)
    assert done["status"] == "done" and done["attempts"] == 1 and done["progress"] == 1.0
    # nothing is left to run again, however old its heartbeat
    again = _claim("w2", stale_s=0.0)
    if again is not None:  # (before this was fixed: the job, run a second time)
        jobs.run_claimed(again, "w2")
    assert again is None
    _assert_stored_once(who, jobs.get(job["id"], viewer=who))


def test_a_worker_whose_job_was_taken_again_stores_nothing(who, monkeypatch):
    job = _merge(who)
    first = _claim("w1")
    assert first["id"] == job["id"]
    real = repos.checks.insert_merge_run
    second: dict = {}

    def taken_meanwhile(session, **kw):
        """While w1 stores its run, w2 takes the job (w1's heartbeat looked an hour old)."""
        with session_scope() as other:
            other.execute(
                text("UPDATE job SET heartbeat_at = now() - interval '1 hour' WHERE id = :id"),
                {"id": job["id"]},
            )
        second.update(_claim("w2"))
        return real(session, **kw)

    monkeypatch.setattr(repos.checks, "insert_merge_run", taken_meanwhile)
    jobs.run_claimed(first, "w1")
    assert second["id"] == job["id"] and second["attempts"] == 2
    assert _stored(who) == []  # w1's run, crosswalk and draft were rolled back
    left = jobs.get(job["id"], viewer=who)
    assert left["status"] == "running" and left["result"] is None
    monkeypatch.setattr(repos.checks, "insert_merge_run", real)
    jobs.run_claimed(second, "w2")
    done = jobs.get(job["id"], viewer=who)
    assert done["status"] == "done" and done["attempts"] == 2
    _assert_stored_once(who, done)


def test_the_api_worker_process_killed_mid_job_runs_it_again_once(who, monkeypatch):
    """``kill -9`` of the API's worker process that runs the job: the job runs again in a new
    process (the same attempt) and its work is stored once."""
    from api import workers
    from geo_grid.settings import get_settings

    monkeypatch.setattr(get_settings(), "heavy_workers", 1)
    job = _merge(who)
    taken = _claim("api-w")
    assert taken["id"] == job["id"]
    runner = threading.Thread(target=jobs.run_claimed, args=(taken, "api-w"),
                              kwargs={"execute": workers.run})  # fmt: skip
    runner.start()
    deadline = time.monotonic() + 300
    while (state := jobs.get(job["id"], viewer=who))["progress"] <= 0:
        assert time.monotonic() < deadline and state["status"] == "running", state
        time.sleep(0.05)
    (pid,) = list((workers._pool._processes or {}).keys())
    os.kill(pid, signal.SIGKILL)
    killed_at = jobs.get(job["id"], viewer=who)
    runner.join(900)  # a new process is started and imports everything: slow on a busy machine
    assert not runner.is_alive()
    done = jobs.get(job["id"], viewer=who)
    assert done["status"] == "done" and done["attempts"] == 1, (killed_at, done)
    _assert_stored_once(who, done)
