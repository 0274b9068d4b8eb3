"""The job queue in PostgreSQL: workers taking jobs concurrently never take the same one; a job
whose worker stopped renewing its heartbeat is taken again, and failed after its last attempt;
a worker that lost its job cannot overwrite the new attempt."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.services import jobs


@pytest.fixture
def kind() -> str:
    """A kind of this test's own (no real worker takes it: they take registered kinds only when
    they run them, and this one is only ever claimed with ``kinds=[kind]``)."""
    return f"t_{uuid.uuid4().hex[:10]}"


def _queue(kind: str, n: int) -> list[int]:
    with session_scope() as s:
        return [
            repos.jobs.insert_job(s, kind=kind, params={"n": i}, principal={},
                                  created_by="user:test", district_code=None)["id"]
            for i in range(n)
        ]  # fmt: skip


def _claim(worker: str, kind: str, *, stale_s: float = 60.0, max_attempts: int = 3):
    with session_scope() as s:
        return repos.jobs.claim_job(s, worker=worker, stale_s=stale_s, max_attempts=max_attempts,
                                    kinds=[kind])  # fmt: skip


def test_two_workers_claiming_at_once_never_take_the_same_job(database_url, kind):
    ids = _queue(kind, 60)
    taken: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        start.wait()
        while (job := _claim(name, kind)) is not None:
            taken[name].append(job["id"])

    threads = [threading.Thread(target=worker, args=(n,)) for n in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    a, b = set(taken["a"]), set(taken["b"])
    assert not a & b, f"taken twice: {sorted(a & b)}"
    assert a | b == set(ids) and len(taken["a"]) + len(taken["b"]) == len(ids)
    assert taken["a"] and taken["b"], taken  # both really took part
    with session_scope() as s:
        rows = [repos.jobs.get_job(s, i) for i in ids]
    assert {r["status"] for r in rows} == {"running"} and {r["attempts"] for r in rows} == {1}


def test_a_job_whose_worker_stopped_is_taken_again_then_failed(database_url, kind):
    (job_id,) = _queue(kind, 1)
    first = _claim("w1", kind, stale_s=0.5, max_attempts=2)
    assert first["id"] == job_id and first["attempts"] == 1
    assert _claim("w2", kind, stale_s=0.5, max_attempts=2) is None  # its heartbeat is fresh
    time.sleep(0.7)  # w1 died: no heartbeat
    second = _claim("w2", kind, stale_s=0.5, max_attempts=2)
    assert second["id"] == job_id and second["attempts"] == 2 and second["worker"] == "w2"
    with session_scope() as s:  # the late worker's writes change nothing now
        assert not repos.jobs.heartbeat(s, job_id, "w1")
        assert not repos.jobs.set_progress(s, job_id, "w1", 0.5, "x")
        assert not repos.jobs.finish_job(s, job_id, "w1", result={"late": True}, message="x")
        assert repos.jobs.set_progress(s, job_id, "w2", 0.5, "半")
    time.sleep(0.7)  # w2 died too, on the last attempt
    with session_scope() as s:
        assert repos.jobs.fail_exhausted(s, stale_s=0.5, max_attempts=2) == [job_id]
        row = repos.jobs.get_job(s, job_id)
    assert row["status"] == "failed" and row["result"] is None
    assert "stopped 2 times" in row["error"]["message"]
    assert _claim("w3", kind, stale_s=0.5, max_attempts=2) is None


def test_a_worker_runs_a_job_and_keeps_its_heartbeat(database_url, kind, monkeypatch):
    """run_claimed with a kind registered for the test: the heartbeat moves while it runs, the
    result is stored, a domain error fails the job with its field."""
    from geo_grid.errors import BadInput
    from geo_grid.services import job_kinds
    from geo_grid.settings import get_settings

    def run(params, ctx):
        ctx.report(0.5, "一半")
        time.sleep(0.6)
        if params.get("bad"):
            raise BadInput("x: bad", field="x")
        return {"n": params["n"], "by": ctx.principal.name}

    monkeypatch.setitem(job_kinds.KINDS, kind, job_kinds.JobKind(
        kind, lambda p, who, local: job_kinds.Prepared(p, None), run))  # fmt: skip
    monkeypatch.setattr(get_settings(), "job_heartbeat_seconds", 0.1)
    from geo_grid.access import Principal

    who = Principal(name="t.runner", role="planner")
    done = jobs.submit(kind, {"n": 7}, principal=who)
    failed = jobs.submit(kind, {"n": 1, "bad": True}, principal=who)
    for expected in (done, failed):
        job = jobs.claim("w-run", kinds=[kind])
        assert job["id"] == expected["id"]
        jobs.run_claimed(job, "w-run")
    ok, bad = (jobs.get(j["id"], viewer=who) for j in (done, failed))
    assert ok["status"] == "done" and ok["result"] == {"n": 7, "by": "t.runner"}
    assert ok["progress"] == 1.0 and ok["heartbeat_at"] > ok["started_at"]
    assert bad["status"] == "failed" and bad["error"]["field"] == "x"
    assert bad["error"]["message"] == "x: bad" and bad["progress"] == 0.5
