"""initial schema: PostGIS, admin areas, layers, generations, grids, buildings, addresses, roster

Revision ID: 0001
Revises:
Create Date: 2026-11-25 14:41:58.272837
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry, alembic_helpers  # noqa: F401  (registers geospatial ops)
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


BUILTIN_LAYERS = [
    ("unified", "全科网格", "网格化服务管理中心"),
    ("politics_law", "政法综治网格", "政法委"),
    ("urban_mgmt", "城管网格", "城市管理局"),
    ("emergency", "应急网格", "应急管理局"),
    ("ecology", "生态环境网格", "生态环境局"),
]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_geospatial_table(
        "admin_area",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("short_name", sa.Text(), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_code", sa.String(length=12), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("area_m2", sa.Float(), nullable=False),
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
        sa.CheckConstraint("level in ('district', 'street', 'community')", name="admin_area_level"),
        sa.CheckConstraint("ST_IsValid(geom)", name="admin_area_valid_geom"),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_geospatial_index(
        "idx_admin_area_geom",
        "admin_area",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_admin_area_parent_code"), "admin_area", ["parent_code"], unique=False)
    op.create_geospatial_table(
        "building",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("community_code", sa.String(length=12), nullable=True),
        sa.Column("xiaoqu", sa.Text(), nullable=True),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("floors", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name="building_valid_geom"),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_geospatial_index(
        "idx_building_geom",
        "building",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_building_community_code"), "building", ["community_code"], unique=False
    )
    op.create_table(
        "layer",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.Column("department", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("key ~ '^[a-z][a-z0-9_]*$'", name="layer_key_format"),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_table(
        "address",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("full_text", sa.Text(), nullable=False),
        sa.Column("local_text", sa.Text(), nullable=False),
        sa.Column("street_code", sa.String(length=12), nullable=True),
        sa.Column("community_code", sa.String(length=12), nullable=True),
        sa.Column("road", sa.Text(), nullable=True),
        sa.Column("door_no", sa.String(length=16), nullable=True),
        sa.Column("xiaoqu", sa.Text(), nullable=True),
        sa.Column("building", sa.String(length=16), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.Column("room", sa.String(length=16), nullable=True),
        sa.Column("village", sa.Text(), nullable=True),
        sa.Column("group_no", sa.String(length=16), nullable=True),
        sa.Column("building_code", sa.String(length=32), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["building_code"],
            ["building.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "address_full_text_trgm",
        "address",
        ["full_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"full_text": "gin_trgm_ops"},
    )
    op.create_geospatial_index(
        "idx_address_geom",
        "address",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_address_community_code"), "address", ["community_code"], unique=False)
    op.create_table(
        "generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer_key", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status in ('draft', 'published', 'retired')", name="generation_status_values"
        ),
        sa.ForeignKeyConstraint(
            ["layer_key"],
            ["layer.key"],
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["generation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("layer_key", "number", name="generation_layer_number"),
    )
    op.create_index(
        "generation_one_published",
        "generation",
        ["layer_key"],
        unique=True,
        postgresql_where=sa.text("status = 'published'"),
    )
    op.create_index(op.f("ix_generation_layer_key"), "generation", ["layer_key"], unique=False)
    op.create_table(
        "roster",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("layer_key", sa.String(length=32), nullable=False),
        sa.Column("grid_code", sa.String(length=64), nullable=False),
        sa.Column("department", sa.Text(), nullable=True),
        sa.Column("linked_households", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.CheckConstraint(
            "role in ('grid_leader', 'grid_worker', 'police', 'party_household', 'dept_member')",
            name="roster_role_values",
        ),
        sa.ForeignKeyConstraint(
            ["layer_key"],
            ["layer.key"],
        ),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_roster_person_id"), "roster", ["person_id"], unique=False)
    op.create_index("roster_layer_grid", "roster", ["layer_key", "grid_code"], unique=False)
    op.create_geospatial_table(
        "grid",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("generation_id", sa.Integer(), nullable=False),
        sa.Column("layer_key", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("community_code", sa.String(length=12), nullable=True),
        sa.Column("street_code", sa.String(length=12), nullable=True),
        sa.Column("households", sa.Integer(), nullable=True),
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
        sa.CheckConstraint("layer_key <> 'unified' OR ST_IsValid(geom)", name="grid_unified_valid"),
        sa.CheckConstraint(
            "layer_key <> 'unified' OR code ~ '^[0-9]{15}$'", name="grid_unified_code_format"
        ),
        sa.CheckConstraint("NOT ST_IsEmpty(geom)", name="grid_geom_not_empty"),
        sa.CheckConstraint(
            "households IS NULL OR households >= 0", name="grid_households_positive"
        ),
        sa.ForeignKeyConstraint(["generation_id"], ["generation.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["layer_key"],
            ["layer.key"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("grid_generation_code", "grid", ["generation_id", "code"], unique=False)
    op.create_index(
        "grid_unified_code_unique",
        "grid",
        ["generation_id", "code"],
        unique=True,
        postgresql_where=sa.text("layer_key = 'unified'"),
    )
    op.create_geospatial_index(
        "idx_grid_geom", "grid", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(op.f("ix_grid_community_code"), "grid", ["community_code"], unique=False)
    op.create_index(op.f("ix_grid_generation_id"), "grid", ["generation_id"], unique=False)
    layer = sa.table(
        "layer",
        sa.column("key", sa.String),
        sa.column("name_zh", sa.Text),
        sa.column("department", sa.Text),
    )
    op.bulk_insert(layer, [{"key": k, "name_zh": n, "department": d} for k, n, d in BUILTIN_LAYERS])


def downgrade() -> None:
    op.drop_index(op.f("ix_grid_generation_id"), table_name="grid")
    op.drop_index(op.f("ix_grid_community_code"), table_name="grid")
    op.drop_geospatial_index(
        "idx_grid_geom", table_name="grid", postgresql_using="gist", column_name="geom"
    )
    op.drop_index(
        "grid_unified_code_unique",
        table_name="grid",
        postgresql_where=sa.text("layer_key = 'unified'"),
    )
    op.drop_index("grid_generation_code", table_name="grid")
    op.drop_geospatial_table("grid")
    op.drop_index("roster_layer_grid", table_name="roster")
    op.drop_index(op.f("ix_roster_person_id"), table_name="roster")
    op.drop_table("roster")
    op.drop_index(op.f("ix_generation_layer_key"), table_name="generation")
    op.drop_index(
        "generation_one_published",
        table_name="generation",
        postgresql_where=sa.text("status = 'published'"),
    )
    op.drop_table("generation")
    op.drop_index(op.f("ix_address_community_code"), table_name="address")
    op.drop_geospatial_index(
        "idx_address_geom", table_name="address", postgresql_using="gist", column_name="geom"
    )
    op.drop_index(
        "address_full_text_trgm",
        table_name="address",
        postgresql_using="gin",
        postgresql_ops={"full_text": "gin_trgm_ops"},
    )
    op.drop_geospatial_table("address")
    op.drop_table("person")
    op.drop_table("meta")
    op.drop_table("layer")
    op.drop_index(op.f("ix_building_community_code"), table_name="building")
    op.drop_geospatial_index(
        "idx_building_geom", table_name="building", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("building")
    op.drop_index(op.f("ix_admin_area_parent_code"), table_name="admin_area")
    op.drop_geospatial_index(
        "idx_admin_area_geom", table_name="admin_area", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("admin_area")
