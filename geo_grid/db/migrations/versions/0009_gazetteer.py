"""gazetteer: the names and codes of every division of China (province down to community)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gazetteer",
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_code", sa.String(12)),
        sa.PrimaryKeyConstraint("code"),
        sa.CheckConstraint(
            "level in ('province', 'city', 'district', 'street', 'community')",
            name="gazetteer_level",
        ),
    )
    op.create_index("ix_gazetteer_parent_code", "gazetteer", ["parent_code"])


def downgrade() -> None:
    op.drop_index("ix_gazetteer_parent_code", table_name="gazetteer")
    op.drop_table("gazetteer")
