"""Long work as jobs kept in PostgreSQL: submit, take, report, finish; and the workers' loop.

A merge of a district takes 10-50 s, an accept-all 7 s: too long for a request. The request
*submits* a job instead (:func:`submit`: its arguments are checked at once by the kind's
``prepare``, so bad input is a 4xx then, never a failed job) and answers 202 with the job's URL;
a worker takes it (:func:`claim`, ``SELECT … FOR UPDATE SKIP LOCKED``: two workers never take
one job), runs the kind's work (:mod:`geo_grid.services.job_kinds`), writes its progress
(0..1 and a Chinese message) and its result or error into the row, where
``GET /api/v1/jobs/{id}`` reads them.

Workers are threads of the API process (``GEO_GRID_JOB_WORKERS``, their work run in its worker
processes) and ``geo-grid worker`` processes. A running job's worker renews its heartbeat every
``GEO_GRID_JOB_HEARTBEAT_SECONDS``; a job whose heartbeat is older than
``GEO_GRID_JOB_STALE_SECONDS`` lost its worker (killed, its machine gone) and is taken again, up
to ``GEO_GRID_JOB_MAX_ATTEMPTS`` attempts, then failed. Every kind's work is one transaction (or
stores nothing until its end), so an attempt cut short leaves nothing half-written; a worker that
comes back after its job was taken again cannot overwrite the new attempt (every write names its
worker).

A kind whose work stores something (a merge run, a draft generation, a stored check, a plan's
edits) finishes its job *inside the transaction that stores it* (:meth:`JobContext.record`): the
work and the job's result commit together. A worker killed before that commit leaves nothing and
its job is taken again; one killed after it leaves a finished job, never run twice; a worker
thought dead whose job was taken again finds, at that point, that the job is no longer its own
and its transaction is rolled back. So the work's writes happen once, whoever dies when.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures.process import BrokenProcessPool
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from geo_grid.access import Principal
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.errors import DatabaseUnavailable, Forbidden, GeoGridError, NotFound
from geo_grid.settings import get_settings

__all__ = [
    "Execute",
    "JobContext",
    "JobTaken",
    "Record",
    "WorkerPool",
    "claim",
    "get",
    "list_for",
    "run_claimed",
    "run_here",
    "serve",
    "start_workers",
    "submit",
    "work",
    "worker_name",
]

log = logging.getLogger("geo_grid.jobs")

#: How a worker runs a job's work: ``execute(fn, *args)`` (the API hands it to its worker
#: processes, ``api.workers.run``; ``geo-grid worker`` calls it in place).
Execute = Callable[..., Any]

#: ``record(session, result)``: what a service doing a job's work calls last inside the
#: transaction that stores it, with the answer it will return (:meth:`JobContext.record`).
Record = Callable[[Session, dict[str, Any]], None]


class JobTaken(Exception):
    """This worker's job was taken again by another (this one was thought dead): stop the work."""


# ------------------------------------------------------------------------- what is shown
def _plain(value: Any) -> Any:
    """``value`` as JSON values: times as ISO text, numpy scalars as Python, NaN as null.

    >>> _plain({"a": (np.int64(1), float("nan")), "t": date(2026, 1, 2)})
    {'a': [1, None], 't': '2026-01-02'}
    """
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


#: What every reader of a job sees (the detail adds ``params`` and ``result``).
_SHOWN = ("id", "kind", "status", "progress", "message", "error", "created_by", "district_code",
          "attempts", "created_at", "started_at", "finished_at", "heartbeat_at")  # fmt: skip


def _view(row: Mapping[str, Any], *, detail: bool = True) -> dict[str, Any]:
    """A job as its readers see it (never the stored principal; ``params`` and ``result`` only
    in the detail: a batch geocode's hold its addresses)."""
    from geo_grid.services.job_kinds import title

    out = {key: row.get(key) for key in _SHOWN}
    out["title"] = title(row["kind"])
    out["progress"] = float(row.get("progress") or 0.0)
    if detail:
        out["params"] = row.get("params") or {}
        out["result"] = row.get("result")
    return out


# ------------------------------------------------------------------------ submit and read
def _principal_json(principal: Principal) -> dict[str, Any]:
    return _plain(dataclasses.asdict(principal))


def _principal_of(data: Mapping[str, Any]) -> Principal:
    return Principal(**{**data, "grids": tuple(data.get("grids") or ())})


def submit(kind: str, params: Mapping[str, Any], *, principal: Principal) -> dict[str, Any]:
    """Queue a job of ``kind`` for ``principal`` once its arguments are checked (the kind's
    ``prepare`` raises what the work would: :class:`BadInput`, :class:`NotFound`, ...); the job."""
    from geo_grid.services.job_kinds import kind_of

    spec = kind_of(kind)
    prepared = spec.prepare(dict(params), principal, False)
    with session_scope() as session:
        row = repos.jobs.insert_job(
            session,
            kind=kind,
            params=_plain(prepared.params),
            principal=_principal_json(principal),
            created_by=principal.label,
            district_code=prepared.district,
        )
    return _view(row)


def _readable(row: Mapping[str, Any] | None, job_id: int, viewer: Principal) -> None:
    if row is None:
        raise NotFound(f"job: no job {job_id}", field="job")
    if viewer.role != "admin" and row["created_by"] != viewer.label:
        raise Forbidden(f"job: job {job_id} is another user's", field="job")


def get(job_id: int, *, viewer: Principal) -> dict[str, Any]:
    """A job, to its creator or an administrator (:class:`Forbidden` to anyone else)."""
    with session_scope() as session:
        row = repos.jobs.get_job(session, job_id)
    _readable(row, job_id, viewer)
    return _view(row)  # type: ignore[arg-type]


def list_for(
    viewer: Principal,
    *,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
    everyone: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """The caller's jobs (an administrator's ``everyone``: all jobs), newest first, without
    params and results; and how many there are."""
    if everyone and viewer.role != "admin":
        raise Forbidden("job: only administrators list everyone's jobs", field="job")
    with session_scope() as session:
        rows, total = repos.jobs.list_jobs(
            session, created_by=None if everyone else viewer.label, status=status,
            limit=limit, offset=offset,
        )  # fmt: skip
    return [_view(r, detail=False) for r in rows], total


# ------------------------------------------------------------------------------- the work
class JobContext:
    """What a kind's work is given: the job, who asked, and how to report progress.

    :meth:`report` writes progress to the job's row (at most every quarter second unless the
    message changes); :meth:`stages` turns it into the ``progress(stage, done, total)`` callback
    the coverage, merge and plan services call, mapped into ``[lo, hi]`` of the whole job.
    Without a job (:func:`run_here`: the CLI) reports go to ``on_report`` only.
    """

    def __init__(
        self,
        job_id: int | None,
        principal: Principal,
        *,
        worker: str | None = None,
        on_report: Callable[[float, str], None] | None = None,
        author: str | None = None,
    ) -> None:
        self.job_id, self.principal, self.worker = job_id, principal, worker
        #: how stored work names who did it (plan edits, merges, drafts)
        self.author = author or principal.label
        self._on_report = on_report
        self._last = (0.0, "")
        self._started = time.perf_counter()
        #: the job was finished inside the work's own transaction (:meth:`record`)
        self.recorded = False

    def report(self, fraction: float, message: str) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if self._on_report is not None:
            self._on_report(fraction, message)
        if self.job_id is None or self.worker is None or self.recorded:
            return
        now = time.monotonic()
        if message == self._last[1] and now - self._last[0] < 0.25:
            return
        self._last = (now, message)
        with session_scope() as session:
            mine = repos.jobs.set_progress(session, self.job_id, self.worker, fraction, message)
        if not mine:
            raise JobTaken(f"job {self.job_id} was taken by another worker")

    def record(self, session: Session, result: Mapping[str, Any]) -> None:
        """Finish the job with ``result`` in ``session``'s transaction, the one storing the
        work, as its last statement: both commit together, or neither.

        :class:`JobTaken` when the job is no longer this worker's (it was thought dead and the
        job taken again): the caller's transaction is then rolled back, its writes with it. Once
        recorded, progress is no longer written (the row is the finished job's, and locked until
        the commit). Without a job (the CLI) it does nothing.
        """
        if self.job_id is None or self.worker is None:
            return
        done = _done_message(time.perf_counter() - self._started)
        if not repos.jobs.finish_job(session, self.job_id, self.worker, result=_plain(result),
                                     message=done):  # fmt: skip
            raise JobTaken(f"job {self.job_id} was taken by another worker")
        self.recorded = True

    def stages(self, lo: float = 0.0, hi: float = 1.0) -> Callable[[str, int, int], None]:
        from geo_grid.labels import JOB_STAGE, label

        def step(stage: str, done: int, total: int) -> None:
            self.report(lo + (hi - lo) * done / max(total, 1), label(JOB_STAGE, stage))

        return step


def _done_message(elapsed_s: float) -> str:
    return f"完成（用时 {elapsed_s:.1f} 秒）"


def work(
    job_id: int | None,
    kind: str,
    params: dict[str, Any],
    principal: dict[str, Any],
    worker: str | None,
) -> tuple[dict[str, Any], bool]:
    """Run one job's work (where ``execute`` puts it: a worker process of the API, or in
    place); its result as JSON values, and whether the job was already finished with it in the
    work's own transaction (:meth:`JobContext.record`)."""
    from geo_grid.services.job_kinds import kind_of

    ctx = JobContext(job_id, _principal_of(principal), worker=worker)
    ctx.report(0.0, "开始执行")
    return _plain(kind_of(kind).run(params, ctx)), ctx.recorded


def run_here(
    kind: str,
    params: Mapping[str, Any],
    *,
    principal: Principal,
    on_report: Callable[[float, str], None] | None = None,
    author: str | None = None,
) -> dict[str, Any]:
    """A kind's work done in this process with no job row (the CLI, on the operator's own
    machine): the same checks and work as a job, progress to ``on_report``; ``author`` names
    who did it in what is stored (default: the principal's label)."""
    from geo_grid.services.job_kinds import kind_of

    spec = kind_of(kind)
    prepared = spec.prepare(dict(params), principal, True)
    ctx = JobContext(None, principal, on_report=on_report, author=author)
    return _plain(spec.run(prepared.params, ctx))


# ------------------------------------------------------------------------------- workers
def claim(worker: str, *, kinds: list[str] | None = None) -> dict[str, Any] | None:
    """Take the next job for ``worker`` (failing first the jobs whose last attempt's worker
    died); None when none waits."""
    s = get_settings()
    with session_scope() as session:
        failed = repos.jobs.fail_exhausted(
            session, stale_s=s.job_stale_seconds, max_attempts=s.job_max_attempts
        )
        job = repos.jobs.claim_job(
            session, worker=worker, stale_s=s.job_stale_seconds,
            max_attempts=s.job_max_attempts, kinds=kinds,
        )  # fmt: skip
    for job_id in failed:
        log.error("job %s failed: its worker stopped on every attempt", job_id)
    return job


class _Heartbeat:
    """Renews a job's heartbeat from a thread while its work runs (wherever that runs)."""

    def __init__(self, job_id: int, worker: str, interval_s: float) -> None:
        self.job_id, self.worker, self.interval_s = job_id, worker, interval_s
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"job-{job_id}-beat", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                with session_scope() as session:
                    if not repos.jobs.heartbeat(session, self.job_id, self.worker):
                        self.lost = True
                        return
            except DatabaseUnavailable as exc:
                log.warning("job %s: heartbeat not written: %s", self.job_id, exc.message)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _error(exc: BaseException, kind: str) -> dict[str, Any]:
    if isinstance(exc, GeoGridError):
        return {"message": exc.message, "field": exc.field, "type": type(exc).__name__}
    return {
        "message": f"job: the {kind} failed ({type(exc).__name__}); the server log has the cause",
        "field": None,
        "type": "InternalError",
    }


def _finish(job: Mapping[str, Any], worker: str, **outcome: Any) -> None:
    with session_scope() as session:
        mine = repos.jobs.finish_job(session, job["id"], worker, **outcome)
    if not mine:
        log.warning("job %s was taken again by another worker; this answer is dropped", job["id"])


def run_claimed(job: Mapping[str, Any], worker: str, *, execute: Execute | None = None) -> None:
    """Run a job this worker took, with its heartbeat, and store its result or error.

    A domain error fails the job with its message and field; a worker process that died, or
    a database gone away, leave it running: its heartbeat stops and another worker takes it
    again. A KeyboardInterrupt (a worker told twice to stop) puts the job back in the queue.
    """
    execute = execute or (lambda fn, *args: fn(*args))
    args = (job["id"], job["kind"], job["params"], job["principal"], worker)
    started = time.perf_counter()
    try:
        with _Heartbeat(job["id"], worker, get_settings().job_heartbeat_seconds) as beat:
            result, recorded = execute(work, *args)
    except KeyboardInterrupt:
        with session_scope() as session:
            repos.jobs.release_job(session, job["id"], worker)
        raise
    except (JobTaken, BrokenProcessPool, DatabaseUnavailable) as exc:
        log.warning("job %s left to be taken again: %s", job["id"], exc)
        return
    except Exception as exc:  # noqa: BLE001 (stored as the job's error; 5xx-like ones logged)
        if not isinstance(exc, GeoGridError):
            log.exception("job %s (%s) failed", job["id"], job["kind"])
        _finish(job, worker, error=_error(exc, job["kind"]), message="失败")
        return
    if recorded:  # finished with the commit of its work
        return
    if beat.lost:
        log.warning("job %s was taken again while it ran; this answer is dropped", job["id"])
        return
    _finish(job, worker, result=result, message=_done_message(time.perf_counter() - started))


def worker_name(n: int = 0) -> str:
    """How a worker names itself in the rows it takes: host, process, number."""
    return f"{socket.gethostname()}:{os.getpid()}:{n}"


def serve(
    stop: threading.Event,
    *,
    name: str | None = None,
    execute: Execute | None = None,
    kinds: list[str] | None = None,
    poll_s: float | None = None,
) -> None:
    """Take and run jobs until ``stop`` is set (checked between jobs: the job in hand is
    finished first). A database that is away is waited for."""
    name = name or worker_name()
    while not stop.is_set():
        wait = poll_s if poll_s is not None else get_settings().job_poll_seconds
        try:
            job = claim(name, kinds=kinds)
        except DatabaseUnavailable as exc:
            log.warning("job worker %s waits for the database: %s", name, exc.message)
            stop.wait(max(wait, 5.0))
            continue
        if job is None:
            stop.wait(wait)
            continue
        log.info("job %s (%s) taken by %s, attempt %s", job["id"], job["kind"], name,
                 job["attempts"])  # fmt: skip
        run_claimed(job, name, execute=execute)


class WorkerPool:
    """Worker threads of one process (the API's), stopped together."""

    def __init__(self, count: int, execute: Execute | None = None) -> None:
        self.stop_event = threading.Event()
        self.threads = [
            threading.Thread(
                target=serve,
                args=(self.stop_event,),
                kwargs={"name": worker_name(i), "execute": execute},
                name=f"geo-grid-job-{i}",
                daemon=True,
            )
            for i in range(count)
        ]
        for thread in self.threads:
            thread.start()

    def stop(self, timeout_s: float = 0.0) -> None:
        """Ask the threads to stop after their current job; wait up to ``timeout_s`` for them."""
        self.stop_event.set()
        deadline = time.monotonic() + timeout_s
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def start_workers(count: int | None = None, *, execute: Execute | None = None) -> WorkerPool:
    """Start ``count`` (default ``GEO_GRID_JOB_WORKERS``) worker threads in this process."""
    count = get_settings().job_workers if count is None else count
    return WorkerPool(max(0, int(count)), execute)
