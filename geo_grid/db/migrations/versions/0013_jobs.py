"""jobs: long work (merge, accept-all, checks and fixes of big layers, batch geocode, exports) as
rows that workers take

A request that would run for seconds stores a ``job`` and answers 202; a worker (a thread of the
API process or ``geo-grid worker``) takes it with ``SELECT … FOR UPDATE SKIP LOCKED``, so two
workers never take the same row, and writes its progress, heartbeat and result or error into it.
A running job whose heartbeat is older than ``GEO_GRID_JOB_STALE_SECONDS`` was left by a worker
that died: it is taken again, up to ``GEO_GRID_JOB_MAX_ATTEMPTS`` times in all.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-09 10:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("params", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("principal", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("status", sa.String(8), nullable=False, server_default="queued"),
        sa.Column("progress", sa.Float(), nullable=False, server_default="0"),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("result", postgresql.JSONB(), nullable=True),
        sa.Column("error", postgresql.JSONB(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("district_code", sa.String(6), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("worker", sa.Text(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint(
            "status in ('queued', 'running', 'done', 'failed')", name="job_status_values"
        ),
        sa.CheckConstraint("progress >= 0 and progress <= 1", name="job_progress_range"),
        sa.CheckConstraint("attempts >= 0", name="job_attempts_positive"),
    )
    # what a worker looks for: queued jobs in order, and running ones by heartbeat
    op.create_index(
        "job_waiting",
        "job",
        ["status", "heartbeat_at", "id"],
        postgresql_where=sa.text("status in ('queued', 'running')"),
    )
    op.create_index("job_created_by", "job", ["created_by", "id"])


def downgrade() -> None:
    op.drop_table("job")
