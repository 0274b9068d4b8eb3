"""case photos: the 处置前/处置后 photos of a case's work, append-only

The files live under ``<GEO_GRID_HOME>/photos/<case id>/<uuid>.<ext>``; this table holds what
proves each one (type, bytes, pixel size, sha256 of the stored bytes), who added it, in what role
and when. Like the case log, the rows refuse UPDATE and DELETE: the verifier judges the work by
them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_photo",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("phase", sa.String(8), nullable=False),
        sa.Column("content_type", sa.String(16), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("uploaded_by", sa.Text(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.CheckConstraint("phase in ('before', 'after')", name="case_photo_phase_values"),
        sa.CheckConstraint(
            "content_type in ('image/jpeg', 'image/png', 'image/webp')",
            name="case_photo_type_values",
        ),
        sa.CheckConstraint("size_bytes > 0 AND width > 0 AND height > 0", name="case_photo_sizes"),
    )
    op.create_index(op.f("ix_case_photo_case_id"), "case_photo", ["case_id"], unique=False)
    op.execute(
        """
        CREATE FUNCTION case_photo_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'case_photo is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$;
        CREATE TRIGGER case_photo_no_update BEFORE UPDATE OR DELETE ON case_photo
            FOR EACH ROW EXECUTE FUNCTION case_photo_append_only();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS case_photo_no_update ON case_photo")
    op.execute("DROP FUNCTION IF EXISTS case_photo_append_only()")
    op.drop_index(op.f("ix_case_photo_case_id"), table_name="case_photo")
    op.drop_table("case_photo")
