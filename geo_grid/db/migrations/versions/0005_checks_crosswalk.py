"""checks and crosswalk: stored coverage checks (per generation and parameters), merge runs and
the 多网合一 crosswalk (per base generation × department generation)

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-25 18:00:00
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    jsonb = postgresql.JSONB(astext_type=sa.Text())
    op.create_table(
        "coverage_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "generation_id",
            sa.Integer(),
            sa.ForeignKey("generation.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("layer_key", sa.String(32), sa.ForeignKey("layer.key"), nullable=False),
        sa.Column("params_key", sa.Text(), nullable=False),
        sa.Column("params", jsonb, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("features", sa.Integer(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("summary", jsonb, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("elapsed_s", sa.Float()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("generation_id", "params_key", name="coverage_check_generation_params"),
    )
    op.create_index("ix_coverage_check_generation_id", "coverage_check", ["generation_id"])
    op.create_table(
        "coverage_defect",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "check_id",
            sa.Integer(),
            sa.ForeignKey("coverage_check.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ids", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("area_m2", sa.Float()),
        sa.Column("width_m", sa.Float()),
        sa.Column("parent_code", sa.String(64)),
        sa.Column(
            "geom",
            Geometry("GEOMETRY", srid=4490, spatial_index=False, from_text="ST_GeomFromEWKT"),
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_coverage_defect_check_id", "coverage_defect", ["check_id"])
    op.create_table(
        "merge_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "base_generation_id",
            sa.Integer(),
            sa.ForeignKey("generation.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("dept_generations", jsonb, nullable=False),
        sa.Column("params", jsonb, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("conformance", jsonb, server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("summary", jsonb, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column(
            "proposed_generation_id",
            sa.Integer(),
            sa.ForeignKey("generation.id", ondelete="SET NULL"),
        ),
        sa.Column("author", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_merge_run_base_generation_id", "merge_run", ["base_generation_id"])
    op.create_table(
        "crosswalk",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "base_generation_id",
            sa.Integer(),
            sa.ForeignKey("generation.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "dept_generation_id",
            sa.Integer(),
            sa.ForeignKey("generation.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("merge_run_id", sa.Integer(), sa.ForeignKey("merge_run.id", ondelete="SET NULL")),
        sa.Column("unified_code", sa.String(64), nullable=False),
        sa.Column("layer_key", sa.String(32), sa.ForeignKey("layer.key"), nullable=False),
        sa.Column("dept_code", sa.String(64), nullable=False),
        sa.Column("overlap_m2", sa.Float(), nullable=False),
        sa.Column("share_of_unified", sa.Float(), nullable=False),
        sa.Column("share_of_dept", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("crosswalk_base_code", "crosswalk", ["base_generation_id", "unified_code"])
    op.create_index("crosswalk_dept_code", "crosswalk", ["dept_generation_id", "dept_code"])
    op.create_index("ix_crosswalk_dept_generation_id", "crosswalk", ["dept_generation_id"])


def downgrade() -> None:
    op.drop_table("crosswalk")
    op.drop_table("merge_run")
    op.drop_table("coverage_defect")
    op.drop_table("coverage_check")
