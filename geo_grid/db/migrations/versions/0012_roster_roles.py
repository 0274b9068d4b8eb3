"""roster roles per district; admin areas known by name and code only

Roster roles become data: ``roster_role`` holds each district's roles (key, Chinese name, duty:
what the system does with the role's people, and a department for its 报到 members). Every stored
district is seeded with the defaults (:data:`geo_grid.roster.DEFAULT_ROLES`: the five the CHECK
allowed, 楼栋长, 网格党支部书记, 微网格长); the CHECK on ``roster.role`` gives way to a foreign key
to its district's roles, so a roster row names a role its district has.

``admin_area.geom`` and ``area_m2`` may be NULL: a district onboarded from the gazetteer without
community outlines keeps its streets and communities by name and code.

Downgrade: rows of roles other than the five are deleted from the roster, areas without an
outline are deleted, and the CHECK comes back.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: The defaults seeded into every district, as geo_grid.roster.DEFAULT_ROLES had them when this
#: migration was written (a migration does not follow later library changes).
_DEFAULTS = (
    ("grid_leader", "网格长", "grid_leader"),
    ("grid_worker", "网格员", "grid_worker"),
    ("police", "包保民警", "police"),
    ("party_household", "党员中心户", "party_household"),
    ("dept_member", "报到成员", "dept_member"),
    ("building_leader", "楼栋长", "none"),
    ("party_secretary", "网格党支部书记", "none"),
    ("micro_grid_leader", "微网格长", "none"),
)
_FIVE = "('grid_leader', 'grid_worker', 'police', 'party_household', 'dept_member')"


def upgrade() -> None:
    op.create_table(
        "roster_role",
        sa.Column("district_code", sa.String(6), nullable=False),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.Column("duty", sa.String(16), nullable=False),
        sa.Column("department", sa.Text()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(["district_code"], ["district.code"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("district_code", "key"),
        sa.CheckConstraint("key ~ '^[a-z][a-z0-9_]{0,31}$'", name="roster_role_key_format"),
        sa.CheckConstraint(
            "duty in ('grid_worker', 'grid_leader', 'dept_member', 'police', 'party_household', "
            "'none')",
            name="roster_role_duty_values",
        ),
        sa.UniqueConstraint("district_code", "name_zh", name="roster_role_name_unique"),
    )
    bind = op.get_bind()
    for key, name, duty in _DEFAULTS:
        bind.execute(
            sa.text(
                "INSERT INTO roster_role (district_code, key, name_zh, duty) "
                "SELECT code, :k, :n, :d FROM district"
            ),
            {"k": key, "n": name, "d": duty},
        )
    op.drop_constraint("roster_role_values", "roster", type_="check")
    op.create_foreign_key(
        "roster_role_fk", "roster", "roster_role", ["district_code", "role"],
        ["district_code", "key"],
    )  # fmt: skip
    op.alter_column("admin_area", "geom", nullable=True)
    op.alter_column("admin_area", "area_m2", nullable=True)


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text("DELETE FROM admin_area WHERE geom IS NULL"))
    op.alter_column("admin_area", "area_m2", nullable=False)
    op.alter_column("admin_area", "geom", nullable=False)
    op.drop_constraint("roster_role_fk", "roster", type_="foreignkey")
    bind.execute(sa.text(f"DELETE FROM roster WHERE role NOT IN {_FIVE}"))
    op.create_check_constraint("roster_role_values", "roster", f"role in {_FIVE}")
    op.drop_table("roster_role")
