"""cases: case, append-only case_event, routing_rule, idempotency_key, escalation, report_in,
open311_key (demo key seeded), the manual-queue view

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:00:00
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry, alembic_helpers  # noqa: F401  (registers geospatial ops)
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATUSES = (
    "received", "manual", "assessed", "dispatched", "handling", "handled", "verified", "closed",
    "rated", "returned", "suspended", "rejected",
)  # fmt: skip
CHANNELS = ("hotline", "app", "wechat", "patrol", "open311")


def _in(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _ts(name: str, nullable: bool = True, **kw) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kw)


def upgrade() -> None:
    jsonb = postgresql.JSONB(astext_type=sa.Text())
    op.create_geospatial_table(
        "case",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.String(24), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("reporter_name", sa.Text()),
        sa.Column("reporter_phone", sa.String(32)),
        sa.Column("address_text", sa.Text()),
        sa.Column("input_crs", sa.String(16)),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("category_code", sa.String(8), nullable=False),
        sa.Column("category_kind", sa.String(10), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("photos", jsonb, server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("level", sa.String(10), server_default="grid", nullable=False),
        sa.Column("grid_code", sa.String(64)),
        sa.Column("grids", jsonb, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("community_code", sa.String(12)),
        sa.Column("street_code", sa.String(12)),
        sa.Column("responsible_layer", sa.String(32)),
        sa.Column("responsible_grid", sa.String(64)),
        sa.Column("department", sa.Text()),
        sa.Column("assignee_person_id", sa.String(32)),
        sa.Column("assignee_name", sa.Text()),
        sa.Column("strategy", sa.String(24)),
        sa.Column("routing", jsonb, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("manual_reason", sa.Text()),
        _ts("received_at", False),
        _ts("due_at"),
        _ts("stage_due_at"),
        _ts("level_due_at"),
        _ts("dispatched_at"),
        _ts("handled_at"),
        _ts("closed_at"),
        _ts("rated_at"),
        _ts("responded_at"),
        sa.Column("reopened", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("extended", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("rating", sa.SmallInteger()),
        sa.Column("resolved", sa.Boolean()),
        sa.Column("satisfied", sa.Boolean()),
        sa.Column("duplicate_of", sa.BigInteger()),
        sa.Column("source_client", sa.Text()),
        _ts("updated_at", False),
        sa.CheckConstraint(f"status in ({_in(STATUSES)})", name="case_status_values"),
        sa.CheckConstraint(f"channel in ({_in(CHANNELS)})", name="case_channel_values"),
        sa.CheckConstraint(
            "level in ('grid', 'community', 'street', 'district')", name="case_level_values"
        ),
        sa.CheckConstraint("version >= 1", name="case_version_positive"),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="case_rating_range"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_geospatial_index(
        "idx_case_geom", "case", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    for col in ("status", "grid_code", "community_code", "street_code", "department"):
        op.create_index(op.f(f"ix_case_{col}"), "case", [col], unique=False)
    op.create_index(op.f("ix_case_received_at"), "case", ["received_at"], unique=False)
    op.create_index(op.f("ix_case_due_at"), "case", ["due_at"], unique=False)
    op.create_index("case_category_received", "case", ["category_code", "received_at"])
    op.create_index(
        "case_open_level_due",
        "case",
        ["level_due_at"],
        postgresql_where=sa.text("status NOT IN ('closed', 'rated', 'rejected')"),
    )

    op.create_table(
        "case_event",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("role", sa.String(32)),
        _ts("at", False),
        sa.Column("note", sa.Text()),
        sa.Column("attachment", sa.Text()),
        sa.Column("data", jsonb, server_default=sa.text("'{}'::jsonb"), nullable=False),
        _ts("recorded_at", False, server_default=sa.text("now()")),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_case_event_case_id"), "case_event", ["case_id"], unique=False)
    # the audit log protects itself: no UPDATE, no DELETE, whoever asks (TRUNCATE stays possible
    # for an administrator resetting a demo database)
    op.execute(
        """
        CREATE FUNCTION case_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'case_event is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$;
        CREATE TRIGGER case_event_no_update BEFORE UPDATE OR DELETE ON case_event
            FOR EACH ROW EXECUTE FUNCTION case_event_append_only();
        """
    )

    op.create_table(
        "routing_rule",
        sa.Column("category_code", sa.String(8), nullable=False),
        sa.Column("layer", sa.String(32)),
        sa.Column("department", sa.Text()),
        sa.Column("strategy", sa.String(24), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("sla_hours", jsonb, nullable=False),
        sa.Column("report_in_hours", sa.Float(), nullable=False),
        sa.Column(
            "whistle_departments", jsonb, server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column("updated_by", sa.Text()),
        _ts("updated_at", False, server_default=sa.text("now()")),
        sa.CheckConstraint(
            "strategy in ('territorial_first', 'owner_first', 'territorial_fallback')",
            name="routing_rule_strategy_values",
        ),
        sa.PrimaryKeyConstraint("category_code"),
    )
    op.create_table(
        "idempotency_key",
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        _ts("created_at", False, server_default=sa.text("now()")),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("client", "key"),
    )
    op.create_table(
        "escalation",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("from_level", sa.String(10), nullable=False),
        sa.Column("to_level", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(10), nullable=False),
        _ts("at", False),
        _ts("overdue_since"),
        _ts("level_due_at", False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.CheckConstraint("reason in ('overdue', 'whistle')", name="escalation_reason_values"),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "to_level", name="escalation_once_per_level"),
    )
    op.create_index(op.f("ix_escalation_case_id"), "escalation", ["case_id"], unique=False)
    op.create_table(
        "report_in",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("escalation_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("department", sa.Text(), nullable=False),
        _ts("due_at", False),
        _ts("reported_at"),
        sa.Column("actor", sa.Text()),
        sa.Column("note", sa.Text()),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("escalation_id", "department", name="report_in_once_per_department"),
    )
    op.create_index(op.f("ix_report_in_case_id"), "report_in", ["case_id"], unique=False)
    op.create_index(
        op.f("ix_report_in_escalation_id"), "report_in", ["escalation_id"], unique=False
    )
    op.create_table(
        "open311_key",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("client_name", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        _ts("created_at", False, server_default=sa.text("now()")),
        sa.PrimaryKeyConstraint("key"),
    )
    keys = sa.table("open311_key", sa.column("key", sa.String), sa.column("client_name", sa.Text))
    op.bulk_insert(keys, [{"key": "demo", "client_name": "demo client (README)"}])
    op.execute(
        """CREATE VIEW case_manual_queue AS
           SELECT id, number, channel, address_text, category_code, description, manual_reason,
                  received_at, ST_X(geom) AS lon, ST_Y(geom) AS lat
           FROM "case" WHERE status = 'manual' ORDER BY received_at"""
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS case_manual_queue")
    op.drop_table("open311_key")
    op.drop_index(op.f("ix_report_in_escalation_id"), table_name="report_in")
    op.drop_index(op.f("ix_report_in_case_id"), table_name="report_in")
    op.drop_table("report_in")
    op.drop_index(op.f("ix_escalation_case_id"), table_name="escalation")
    op.drop_table("escalation")
    op.drop_table("idempotency_key")
    op.drop_table("routing_rule")
    op.execute("DROP TRIGGER IF EXISTS case_event_no_update ON case_event")
    op.execute("DROP FUNCTION IF EXISTS case_event_append_only()")
    op.drop_index(op.f("ix_case_event_case_id"), table_name="case_event")
    op.drop_table("case_event")
    op.drop_index("case_open_level_due", table_name="case")
    op.drop_index("case_category_received", table_name="case")
    op.drop_index(op.f("ix_case_due_at"), table_name="case")
    op.drop_index(op.f("ix_case_received_at"), table_name="case")
    for col in ("status", "grid_code", "community_code", "street_code", "department"):
        op.drop_index(op.f(f"ix_case_{col}"), table_name="case")
    op.drop_geospatial_index(
        "idx_case_geom", table_name="case", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("case")
