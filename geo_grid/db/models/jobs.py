"""The model of long work kept as jobs: one row per piece of work a worker takes.

Mirrors migration ``0013_jobs``. A job is ``queued`` until a worker takes it (``running``, with
``attempts`` counted and a ``heartbeat_at`` it renews), then ``done`` with its ``result`` or
``failed`` with its ``error`` (``{message, field}``). ``principal`` is who asked, as the work
needs it (role and area); ``created_by`` names them as the audit log does and decides who may
read the job.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    Identity,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from geo_grid.db.models.store import Base, empty_object, now_default

__all__ = ["JOB_STATUSES", "Job"]

JOB_STATUSES = ("queued", "running", "done", "failed")


class Job(Base):
    """One piece of long work: what to do (``kind``, ``params``), its state and its answer."""

    __tablename__ = "job"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict] = empty_object()
    principal: Mapped[dict] = empty_object()
    status: Mapped[str] = mapped_column(String(8), server_default="queued")
    progress: Mapped[float] = mapped_column(Float, server_default="0")
    message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None]
    error: Mapped[dict | None]
    created_by: Mapped[str] = mapped_column(Text)
    district_code: Mapped[str | None] = mapped_column(String(6))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    worker: Mapped[str | None] = mapped_column(Text)
    heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = now_default()
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    __table_args__ = (
        CheckConstraint(
            "status in ('queued', 'running', 'done', 'failed')", name="job_status_values"
        ),
        CheckConstraint("progress >= 0 and progress <= 1", name="job_progress_range"),
        CheckConstraint("attempts >= 0", name="job_attempts_positive"),
        Index(
            "job_waiting",
            "status",
            "heartbeat_at",
            "id",
            postgresql_where=text("status in ('queued', 'running')"),
        ),
        Index("job_created_by", "created_by", "id"),
    )
