"""login throttle: failures per (username, client address) and windowed budgets, no hard lock

The account lock of 0007 (five wrong passwords lock the owner out for 15 minutes, whoever typed
them) is replaced by counting failures per (username, client address) with a growing wait, plus
per-address and per-account budgets over a window (see ``docs/security.md``). Usernames are
counted whether or not an account has them, so the answers do not tell which names exist.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True)),
        sa.Column("blocked_until", sa.DateTime(timezone=True)),
        sa.Column("last_success_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_login_failure_last_failure_at", "login_failure", ["last_failure_at"])
    op.create_table(
        "login_budget",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind in ('address', 'account')", name="login_budget_kind_values"),
    )
    op.create_index("ix_login_budget_window_start", "login_budget", ["window_start"])
    op.drop_column("app_user", "locked_until")
    op.drop_column("app_user", "failed_logins")


def downgrade() -> None:
    op.add_column(
        "app_user",
        sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("app_user", sa.Column("locked_until", sa.DateTime(timezone=True)))
    op.drop_index("ix_login_budget_window_start", table_name="login_budget")
    op.drop_table("login_budget")
    op.drop_index("ix_login_failure_last_failure_at", table_name="login_failure")
    op.drop_table("login_failure")
