"""plan workspace: the grids each edit replaced (so an edit can be undone) and the plan's roster

``plan_edit_grid`` keeps, for every edit of a plan, the draft's grids it replaced (``before``)
and the grids it left (``after``), whole rows. Undoing the last edit puts the ``before`` rows back
and appends an ``undo`` edit to the log: nothing of the log is ever deleted, so these rows are
append-only too (a trigger refuses UPDATE and DELETE).

``plan_roster`` holds the people a planner assigns to the plan's grids before publishing (a
split's new grid has nobody on duty); publishing adds them to ``roster`` in the same transaction.
It is the plan's draft, replaced grid by grid while the plan is open.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-09 10:00:00
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_edit_grid",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(6), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.Text()),
        sa.Column("community_code", sa.String(12)),
        sa.Column("street_code", sa.String(12)),
        sa.Column("households", sa.Integer()),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column(
            "properties",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(
            ["plan_id", "seq"], ["plan_edit.plan_id", "plan_edit.seq"], name="plan_edit_grid_edit"
        ),
        sa.CheckConstraint("side in ('before', 'after')", name="plan_edit_grid_side_values"),
    )
    op.create_index("plan_edit_grid_edit_side", "plan_edit_grid", ["plan_id", "seq", "side"])
    op.execute(
        """
        CREATE FUNCTION plan_edit_grid_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'plan_edit_grid is append-only (% refused)', TG_OP;
        END $$;
        CREATE TRIGGER plan_edit_grid_no_update BEFORE UPDATE OR DELETE ON plan_edit_grid
            FOR EACH ROW EXECUTE FUNCTION plan_edit_grid_append_only();
        """
    )
    op.create_table(
        "plan_roster",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), sa.ForeignKey("plan.id"), nullable=False),
        sa.Column("grid_code", sa.String(64), nullable=False),
        sa.Column(
            "person_id",
            sa.String(32),
            sa.ForeignKey("person.id", ondelete="CASCADE"),
            nullable=False,
        ),  # fmt: skip
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("author", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "grid_code", "person_id", "role", name="plan_roster_once"),
        sa.CheckConstraint(
            "role in ('grid_leader', 'grid_worker', 'police', 'dept_member')",
            name="plan_roster_role_values",
        ),
    )
    op.create_index("plan_roster_plan_grid", "plan_roster", ["plan_id", "grid_code"])


def downgrade() -> None:
    op.drop_index("plan_roster_plan_grid", table_name="plan_roster")
    op.drop_table("plan_roster")
    op.execute("DROP TRIGGER IF EXISTS plan_edit_grid_no_update ON plan_edit_grid")
    op.execute("DROP FUNCTION IF EXISTS plan_edit_grid_append_only()")
    op.drop_index("plan_edit_grid_edit_side", table_name="plan_edit_grid")
    op.drop_table("plan_edit_grid")
