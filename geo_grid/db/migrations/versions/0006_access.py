"""access: accounts (app_user), API keys and the append-only personal_data_read log

Open311 keys move from ``open311_key`` (plain text) into ``api_key`` (SHA-256, role
open311_client), except the well-known demo key ``demo`` seeded by 0002, which is withdrawn: a key
anybody can read in the source has no place on a city's network. ``open311_key`` is dropped.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 17:10:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ROLE_CHECK = (
    "role in ('admin', 'planner', 'dispatcher', 'grid_worker', 'leader', 'viewer', "
    "'open311_client')"
)
_SCOPE_CHECK = "scope_level in ('district', 'street', 'community')"


def _scope_columns() -> list[sa.Column]:
    return [
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("scope_level", sa.String(16), server_default="district", nullable=False),
        sa.Column("scope_code", sa.String(12), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    ]


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("person_id", sa.String(32), sa.ForeignKey("person.id", ondelete="SET NULL")),
        *_scope_columns(),
        sa.CheckConstraint(_ROLE_CHECK, name="app_user_role_values"),
        sa.CheckConstraint(_SCOPE_CHECK, name="app_user_scope_values"),
        sa.CheckConstraint(
            "role <> 'grid_worker' OR person_id IS NOT NULL", name="app_user_grid_worker_person"
        ),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        *_scope_columns(),
        sa.CheckConstraint(_ROLE_CHECK, name="api_key_role_values"),
        sa.CheckConstraint(_SCOPE_CHECK, name="api_key_scope_values"),
    )
    op.create_table(
        "personal_data_read",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("principal", sa.String(80), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("case_ids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("fields", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
    )
    op.create_index("ix_personal_data_read_at", "personal_data_read", ["at"])
    op.create_index(
        "ix_personal_data_read_case_ids",
        "personal_data_read",
        ["case_ids"],
        postgresql_using="gin",
    )
    op.execute(
        """
        INSERT INTO api_key (name, key_hash, prefix, role, scope_level, scope_code, active)
        SELECT left(regexp_replace(client_name, '[^A-Za-z0-9._@-]', '_', 'g'), 64),
               encode(sha256(convert_to(key, 'UTF8')), 'hex'), left(key, 10), 'open311_client',
               'district', coalesce((SELECT code FROM admin_area WHERE level = 'district'
                                     ORDER BY code LIMIT 1), '000000'), active
        FROM open311_key WHERE key <> 'demo'
        ON CONFLICT DO NOTHING
        """
    )
    op.drop_table("open311_key")
    op.execute(
        """
        CREATE FUNCTION personal_data_read_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'personal_data_read is append-only: % refused', TG_OP;
        END $$;
        CREATE TRIGGER personal_data_read_no_update BEFORE UPDATE OR DELETE ON personal_data_read
            FOR EACH ROW EXECUTE FUNCTION personal_data_read_append_only();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS personal_data_read_no_update ON personal_data_read")
    op.execute("DROP FUNCTION IF EXISTS personal_data_read_append_only()")
    op.drop_table("personal_data_read")
    op.drop_table("api_key")
    op.drop_table("app_user")
    op.create_table(  # the keys themselves cannot come back: only their hashes were kept
        "open311_key",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("client_name", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )
