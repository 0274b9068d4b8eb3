"""plan roster: the district's roles, and the grids whose roster the planner chose

A district's roster roles are its own rows since ``0012_roster_roles`` (专职网格员, 网格指导员 …),
so the people a plan puts on duty may take any of them whose duty is on duty: the fixed list of
``plan_roster_role_values`` goes (the service checks the role against the district's roles; the
roster's own foreign key to ``roster_role`` checks it again when the plan is published).

``plan_roster_grid`` names the grids of a plan whose roster the planner set in the plan (the roster
form saved, even empty): a merge's surviving grid or a recoded grid then gets the planner's
choice, not every person the merge or recode would carry to it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-16 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("plan_roster_role_values", "plan_roster", type_="check")
    op.create_table(
        "plan_roster_grid",
        sa.Column("plan_id", sa.Integer(), sa.ForeignKey("plan.id"), nullable=False),
        sa.Column("grid_code", sa.String(64), nullable=False),
        sa.Column("author", sa.Text()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("plan_id", "grid_code"),
    )


def downgrade() -> None:
    op.drop_table("plan_roster_grid")
    op.execute(
        "DELETE FROM plan_roster WHERE role NOT IN "
        "('grid_leader', 'grid_worker', 'police', 'dept_member')"
    )
    op.create_check_constraint(
        "plan_roster_role_values",
        "plan_roster",
        "role in ('grid_leader', 'grid_worker', 'police', 'dept_member')",
    )
