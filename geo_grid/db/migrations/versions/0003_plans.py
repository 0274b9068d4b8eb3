"""plans: plan (a draft generation being redrawn) and plan_edit (its append-only edit log)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 17:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    jsonb = postgresql.JSONB(astext_type=sa.Text())
    op.create_table(
        "plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer_key", sa.String(32), sa.ForeignKey("layer.key"), nullable=False),
        sa.Column("generation_id", sa.Integer(), sa.ForeignKey("generation.id"), nullable=False),
        sa.Column("base_generation_id", sa.Integer(), sa.ForeignKey("generation.id")),
        sa.Column("status", sa.String(16), server_default="open", nullable=False),
        sa.Column("author", sa.Text()),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("generation_id", name="plan_generation_unique"),
        sa.CheckConstraint(
            "status in ('open', 'published', 'abandoned')", name="plan_status_values"
        ),
    )
    op.create_index("ix_plan_layer_key", "plan", ["layer_key"])
    op.create_table(
        "plan_edit",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("plan_id", sa.Integer(), sa.ForeignKey("plan.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(32), nullable=False),
        sa.Column("params", jsonb, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("impact", jsonb, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("author", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "seq", name="plan_edit_plan_seq"),
    )
    op.create_index("ix_plan_edit_plan_id", "plan_edit", ["plan_id"])
    op.execute(
        """
        CREATE FUNCTION plan_edit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'plan_edit is append-only (% refused)', TG_OP;
        END $$;
        CREATE TRIGGER plan_edit_no_update BEFORE UPDATE OR DELETE ON plan_edit
            FOR EACH ROW EXECUTE FUNCTION plan_edit_append_only();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS plan_edit_no_update ON plan_edit")
    op.execute("DROP FUNCTION IF EXISTS plan_edit_append_only()")
    op.drop_index("ix_plan_edit_plan_id", table_name="plan_edit")
    op.drop_table("plan_edit")
    op.drop_index("ix_plan_layer_key", table_name="plan")
    op.drop_table("plan")
