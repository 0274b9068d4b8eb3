"""SQL of the job queue: submit, take (``FOR UPDATE SKIP LOCKED``), heartbeat, progress, finish.

A worker takes the oldest job that is queued, or running with a heartbeat older than
``stale_s`` seconds (its worker died), in one statement: the inner ``SELECT … FOR UPDATE SKIP
LOCKED`` passes over rows another worker is taking at that moment, so two workers never take one
job. Every later write names the worker that took the job and changes nothing once another one
has taken it again (the first was thought dead): a late worker cannot overwrite a newer attempt.

Like every repository, functions take ``session`` and never commit.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = [
    "claim_job",
    "fail_exhausted",
    "finish_job",
    "get_job",
    "heartbeat",
    "insert_job",
    "list_jobs",
    "release_job",
    "set_progress",
]


def _row(row: Any) -> dict[str, Any] | None:
    return None if row is None else dict(row._mapping)


def insert_job(
    session: Session,
    *,
    kind: str,
    params: dict[str, Any],
    principal: dict[str, Any],
    created_by: str,
    district_code: str | None,
) -> dict[str, Any]:
    """Store a queued job; returns its row."""
    row = session.execute(
        text(
            """INSERT INTO job (kind, params, principal, created_by, district_code, message)
               VALUES (:k, CAST(:p AS jsonb), CAST(:who AS jsonb), :by, :d, '排队中')
               RETURNING id, kind, params, principal, status, progress, message, result, error,
                         created_by, district_code, attempts, worker, heartbeat_at, created_at,
                         started_at, finished_at"""
        ),
        {
            "k": kind,
            "p": json.dumps(params, ensure_ascii=False),
            "who": json.dumps(principal, ensure_ascii=False),
            "by": created_by,
            "d": district_code,
        },
    ).one()
    return _row(row)  # type: ignore[return-value]


def get_job(session: Session, job_id: int) -> dict[str, Any] | None:
    return _row(
        session.execute(
            text(
                """SELECT id, kind, params, principal, status, progress, message, result, error,
                          created_by, district_code, attempts, worker, heartbeat_at, created_at,
                          started_at, finished_at
                   FROM job WHERE id = :id"""
            ),
            {"id": job_id},
        ).one_or_none()
    )


def list_jobs(
    session: Session,
    *,
    created_by: str | None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Jobs newest first, of one creator (None: everyone's) and status; and how many match.
    Results are left out (a list shows state, ``get_job`` the answer)."""
    where = {"by": created_by, "st": status}
    rows = session.execute(
        text(
            """SELECT id, kind, params, status, progress, message, error, created_by,
                      district_code, attempts, heartbeat_at, created_at, started_at, finished_at
               FROM job
               WHERE (CAST(:by AS text) IS NULL OR created_by = :by)
                 AND (CAST(:st AS text) IS NULL OR status = :st)
               ORDER BY id DESC LIMIT :lim OFFSET :off"""
        ),
        {**where, "lim": limit, "off": offset},
    ).all()
    total = session.execute(
        text(
            """SELECT count(*) FROM job
               WHERE (CAST(:by AS text) IS NULL OR created_by = :by)
                 AND (CAST(:st AS text) IS NULL OR status = :st)"""
        ),
        where,
    ).scalar_one()
    return [dict(r._mapping) for r in rows], int(total)


def fail_exhausted(session: Session, *, stale_s: float, max_attempts: int) -> list[int]:
    """Fail the running jobs whose worker died on their last allowed attempt; their ids."""
    rows = session.execute(
        text(
            """UPDATE job SET status = 'failed', finished_at = now(), worker = NULL,
                      message = '失败：执行进程多次中断',
                      error = jsonb_build_object(
                          'message', 'job: its worker stopped ' || attempts || ' times; not retried',
                          'field', NULL)
               WHERE id IN (
                   SELECT id FROM job
                   WHERE status = 'running' AND attempts >= :max
                     AND heartbeat_at < now() - make_interval(secs => :stale)
                   FOR UPDATE SKIP LOCKED)
               RETURNING id"""
        ),
        {"stale": stale_s, "max": max_attempts},
    ).all()
    return [int(r.id) for r in rows]


def claim_job(
    session: Session,
    *,
    worker: str,
    stale_s: float,
    max_attempts: int,
    kinds: list[str] | None = None,
) -> dict[str, Any] | None:
    """Take the oldest waiting job (queued, or running with a stale heartbeat and attempts
    left) for ``worker``: running, one more attempt, progress from zero. None when none waits."""
    row = session.execute(
        text(
            """UPDATE job SET status = 'running', attempts = attempts + 1, worker = :w,
                      heartbeat_at = now(), started_at = now(), progress = 0,
                      message = '开始执行', error = NULL
               WHERE id = (
                   SELECT id FROM job
                   WHERE (status = 'queued'
                          OR (status = 'running' AND attempts < :max
                              AND heartbeat_at < now() - make_interval(secs => :stale)))
                     AND (CAST(:kinds AS text[]) IS NULL OR kind = ANY(CAST(:kinds AS text[])))
                   ORDER BY id
                   FOR UPDATE SKIP LOCKED
                   LIMIT 1)
               RETURNING id, kind, params, principal, status, progress, message, result, error,
                         created_by, district_code, attempts, worker, heartbeat_at, created_at,
                         started_at, finished_at"""
        ),
        {"w": worker, "stale": stale_s, "max": max_attempts, "kinds": kinds},
    ).one_or_none()
    return _row(row)


def heartbeat(session: Session, job_id: int, worker: str) -> bool:
    """Renew the heartbeat; False when the job is no longer this worker's."""
    return (
        session.execute(
            text(
                """UPDATE job SET heartbeat_at = now()
                   WHERE id = :id AND worker = :w AND status = 'running' RETURNING id"""
            ),
            {"id": job_id, "w": worker},
        ).one_or_none()
        is not None
    )


def set_progress(
    session: Session, job_id: int, worker: str, progress: float, message: str | None
) -> bool:
    """Record progress (0..1) and what is being done (a heartbeat too); False when the job is no
    longer this worker's."""
    return (
        session.execute(
            text(
                """UPDATE job SET progress = :p, message = :m, heartbeat_at = now()
                   WHERE id = :id AND worker = :w AND status = 'running' RETURNING id"""
            ),
            {"id": job_id, "w": worker, "p": progress, "m": message},
        ).one_or_none()
        is not None
    )


def finish_job(
    session: Session,
    job_id: int,
    worker: str,
    *,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
    message: str,
) -> bool:
    """Mark the job done with ``result``, or failed with ``error``; False when it is no longer
    this worker's (its answer is then dropped: another attempt owns the job)."""
    status = "failed" if error is not None else "done"
    return (
        session.execute(
            text(
                """UPDATE job SET status = :st, result = CAST(:r AS jsonb),
                          error = CAST(:e AS jsonb), message = :m, finished_at = now(),
                          heartbeat_at = now(),
                          progress = CASE WHEN :st = 'done' THEN 1 ELSE progress END
                   WHERE id = :id AND worker = :w AND status = 'running' RETURNING id"""
            ),
            {
                "id": job_id,
                "w": worker,
                "st": status,
                "r": None if result is None else json.dumps(result, ensure_ascii=False),
                "e": None if error is None else json.dumps(error, ensure_ascii=False),
                "m": message,
            },
        ).one_or_none()
        is not None
    )


def release_job(session: Session, job_id: int, worker: str) -> bool:
    """Put a job this worker took back in the queue, its attempt not counted (a worker told to
    stop at once leaves it for another)."""
    return (
        session.execute(
            text(
                """UPDATE job SET status = 'queued', worker = NULL, heartbeat_at = NULL,
                          attempts = greatest(attempts - 1, 0), progress = 0, message = '排队中'
                   WHERE id = :id AND worker = :w AND status = 'running' RETURNING id"""
            ),
            {"id": job_id, "w": worker},
        ).one_or_none()
        is not None
    )
