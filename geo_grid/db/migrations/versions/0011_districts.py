"""districts: district profiles, and every district's rows marked with its code

A store serves any number of districts. ``district`` holds each one's profile (names, local CRS,
outline with its bounds derived by PostgreSQL, optional time zone, household band and indicator
thresholds). Admin areas, generations (so grids and plans), buildings, addresses, people, the
roster and cases carry ``district_code``:

* one published generation per (layer, district) instead of per layer, and generation numbers
  count per (layer, district);
* a grid repeats its generation's district (a composite foreign key keeps them equal), so the
  database itself refuses a unified grid whose code does not start with its district's code, and
  an admin area outside its district;
* accounts and API keys may be scoped to a province or a city (all its districts).

Existing rows are given the district they hold: each admin area of level ``district`` becomes a
profile (names from the gazetteer when loaded, the Gauss-Krüger zone of its central longitude), and
every other row takes the district of its codes (community, street, unified grid), or the one
district of the store. A row that belongs to no district stops the migration with its table named. The demo
seeds kept in ``meta`` become the one district's (``demo_seed:320113``). Accounts may also be
scoped ``all`` (the whole store, the new default), a province or a city.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 22:00:00
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_CODE = "^[0-9]{6}$"
_SCOPE_LEVELS = "scope_level in ('all', 'province', 'city', 'district', 'street', 'community')"
_SCOPE_CODES = (
    "(scope_level = 'all' AND scope_code = '') OR "
    "(scope_level = 'province' AND scope_code ~ '^[0-9]{2}$') OR "
    "(scope_level = 'city' AND scope_code ~ '^[0-9]{4}$') OR "
    "(scope_level = 'district' AND scope_code ~ '^[0-9]{6}$') OR "
    "(scope_level = 'street' AND scope_code ~ '^[0-9]{9}$') OR "
    "(scope_level = 'community' AND scope_code ~ '^[0-9]{12}$')"
)
#: The district of a row from a division code: its first six digits, when that district exists.
_OF = "(SELECT d.code FROM district d WHERE d.code = left({}, 6))"


def _bound(name: str, func: str) -> sa.Column:
    return sa.Column(name, sa.Float(), sa.Computed(f"{func}(outline)", persisted=True))


def _create_district() -> None:
    op.create_table(
        "district",
        sa.Column("code", sa.String(6), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("city", sa.Text()),
        sa.Column("province", sa.Text()),
        sa.Column("local_crs", sa.String(16), nullable=False),
        sa.Column("time_zone", sa.Text()),
        sa.Column("household_band_min", sa.Integer()),
        sa.Column("household_band_max", sa.Integer()),
        sa.Column("indicator_thresholds", postgresql.JSONB()),
        sa.Column(
            "outline",
            Geometry("MULTIPOLYGON", srid=4490, spatial_index=False, nullable=False),
            nullable=False,
        ),
        _bound("min_lon", "ST_XMin"),
        _bound("min_lat", "ST_YMin"),
        _bound("max_lon", "ST_XMax"),
        _bound("max_lat", "ST_YMax"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.CheckConstraint(f"code ~ '{_CODE}'", name="district_code_format"),
        sa.CheckConstraint("local_crs ~ '^EPSG:[0-9]{4,6}$'", name="district_local_crs_format"),
        sa.CheckConstraint("ST_IsValid(outline)", name="district_valid_outline"),
        sa.CheckConstraint(
            "(household_band_min IS NULL) = (household_band_max IS NULL) AND "
            "(household_band_min IS NULL OR "
            "(household_band_min > 0 AND household_band_min <= household_band_max))",
            name="district_household_band",
        ),
    )
    op.create_index("idx_district_outline", "district", ["outline"], postgresql_using="gist")


def _seed_districts() -> str | None:
    """A profile for every district-level admin area; returns the store's only district, if one."""
    from geo_grid.crs import gauss_kruger_zone  # the one rule for a district's zone

    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT a.code, a.name, ST_XMin(a.geom) + (ST_XMax(a.geom) - ST_XMin(a.geom)) / 2, "
            "(SELECT name FROM gazetteer g WHERE g.code = left(a.code, 4) "
            "AND g.name NOT IN ('市辖区', '县', '省直辖县级行政区划', '自治区直辖县级行政区划')), "
            "(SELECT name FROM gazetteer g WHERE g.code = left(a.code, 2)) "
            "FROM admin_area a WHERE a.level = 'district' AND a.code ~ :c ORDER BY a.code"
        ),
        {"c": _CODE},
    ).all()
    for code, name, lon, city, province in rows:
        bind.execute(
            sa.text(
                "INSERT INTO district (code, name, city, province, local_crs, outline) "
                "SELECT :code, :name, :city, :province, :crs, geom FROM admin_area "
                "WHERE code = :code"
            ),
            {"code": code, "name": name, "city": city, "province": province,
             "crs": gauss_kruger_zone(float(lon))},
        )  # fmt: skip
    return rows[0][0] if len(rows) == 1 else None


#: table → the statement giving each existing row its district (``:only``: the store's one
#: district). Constant statements: the tables are this migration's own.
_DERIVE = {
    "admin_area": f"UPDATE admin_area SET district_code = {_OF.format('code')}",
    "generation": "UPDATE generation SET district_code = coalesce((SELECT "
    + _OF.format("g.code")
    + " FROM grid g WHERE g.generation_id = generation.id AND g.layer_key = 'unified' LIMIT 1), "
    "(SELECT " + _OF.format("g.community_code") + " FROM grid g "
    "WHERE g.generation_id = generation.id AND g.community_code IS NOT NULL LIMIT 1), "
    "CAST(:only AS varchar))",
    "grid": "UPDATE grid SET district_code = "
    "(SELECT n.district_code FROM generation n WHERE n.id = grid.generation_id)",
    "plan": "UPDATE plan SET district_code = "
    "(SELECT n.district_code FROM generation n WHERE n.id = plan.generation_id)",
    "building": "UPDATE building SET district_code = "
    f"coalesce({_OF.format('community_code')}, CAST(:only AS varchar))",
    "address": "UPDATE address SET district_code = "
    f"coalesce({_OF.format('community_code')}, {_OF.format('street_code')}, "
    "CAST(:only AS varchar))",
    "roster": "UPDATE roster SET district_code = coalesce(CASE WHEN grid_code ~ '^[0-9]{15}$' "
    "THEN " + _OF.format("grid_code") + " END, CAST(:only AS varchar))",
    "person": "UPDATE person SET district_code = coalesce((SELECT r.district_code FROM roster r "
    "WHERE r.person_id = person.id ORDER BY r.id LIMIT 1), CAST(:only AS varchar))",
    "case": 'UPDATE "case" SET district_code = '
    f"coalesce({_OF.format('community_code')}, {_OF.format('street_code')}, "
    "CASE WHEN grid_code ~ '^[0-9]{15}$' THEN " + _OF.format("grid_code") + " END, "
    "CAST(:only AS varchar))",
}
_REQUIRED = ("admin_area", "generation", "grid", "plan", "building", "address", "roster", "person")


def _mark_rows(only: str | None) -> None:
    bind = op.get_bind()
    for table, update in _DERIVE.items():
        op.add_column(table, sa.Column("district_code", sa.String(6)))
        bind.execute(sa.text(update), {"only": only})
        if table not in _REQUIRED:
            continue
        rows = sa.table(table, sa.column("district_code"))
        orphans = bind.execute(
            sa.select(sa.func.count()).select_from(rows).where(rows.c.district_code.is_(None))
        ).scalar()
        if orphans:
            raise RuntimeError(
                f"migration 0010: {orphans} rows of {table} belong to no district (no admin area "
                "of level 'district' names it); load the district's admin areas first"
            )
        op.alter_column(table, "district_code", nullable=False)


def _constrain() -> None:
    fk = "district_code"
    for table in ("admin_area", "building", "address", "person", "roster"):
        op.create_foreign_key(f"{table}_district_fk", table, "district", [fk], ["code"])
        op.create_index(f"ix_{table}_district_code", table, [fk])
    op.create_foreign_key(
        "case_district_fk", "case", "district", [fk], ["code"], ondelete="SET NULL"
    )
    op.create_index("ix_case_district_code", "case", [fk, "received_at"])
    op.create_check_constraint(
        "admin_area_in_district", "admin_area", "left(code, 6) = district_code"
    )
    # generations: per (layer, district)
    op.create_foreign_key("generation_district_fk", "generation", "district", [fk], ["code"])
    op.drop_constraint("generation_layer_number", "generation", type_="unique")
    op.create_unique_constraint(
        "generation_layer_number", "generation", ["layer_key", "district_code", "number"]
    )
    op.create_unique_constraint("generation_id_district", "generation", ["id", fk])
    op.drop_index("generation_one_published", table_name="generation")
    op.create_index(
        "generation_one_published",
        "generation",
        ["layer_key", fk],
        unique=True,
        postgresql_where=sa.text("status = 'published'"),
    )
    # grids and plans: the district of their generation, kept equal by a composite key
    for table in ("grid", "plan"):
        op.create_foreign_key(
            f"{table}_generation_district_fk", table, "generation",
            ["generation_id", fk], ["id", fk], ondelete="CASCADE" if table == "grid" else None,
        )  # fmt: skip
    op.create_index("ix_plan_district_code", "plan", [fk])
    op.create_check_constraint(
        "grid_unified_in_district",
        "grid",
        "layer_key <> 'unified' OR left(code, 6) = district_code",
    )


def _scopes(levels: str, codes: str | None) -> None:
    for table in ("app_user", "api_key"):
        op.drop_constraint(f"{table}_scope_values", table, type_="check")
        op.create_check_constraint(f"{table}_scope_values", table, levels)
        if codes is None:
            op.drop_constraint(f"{table}_scope_codes", table, type_="check")
        else:
            op.create_check_constraint(f"{table}_scope_codes", table, codes)


#: ``meta`` keys that name a loaded demo; they become per district (``demo_seed:320113``).
_DEMO_KEYS = ("demo_seed", "demo_cases_seed")


def _demo_keys(only: str | None) -> None:
    """The demo seeds recorded for the store's one district become that district's."""
    if only is None:
        return
    op.get_bind().execute(
        sa.text("UPDATE meta SET key = key || ':' || :d WHERE key = ANY(:keys)"),
        {"d": only, "keys": list(_DEMO_KEYS)},
    )


def upgrade() -> None:
    _create_district()
    only = _seed_districts()
    _mark_rows(only)
    _demo_keys(only)
    _constrain()
    _scopes(_SCOPE_LEVELS, _SCOPE_CODES)


def downgrade() -> None:
    bind = op.get_bind()
    for key in _DEMO_KEYS:  # back to one store-wide key (the first district's, if several)
        bind.execute(
            sa.text(
                "UPDATE meta SET key = :k WHERE key = (SELECT min(key) FROM meta "
                "WHERE key LIKE :k || ':%')"
            ),
            {"k": key},
        )
        bind.execute(sa.text("DELETE FROM meta WHERE key LIKE :k || ':%'"), {"k": key})
    for table in ("app_user", "api_key"):  # wider areas narrow to a district under them
        rows = sa.table(table, sa.column("scope_level"), sa.column("scope_code"))
        first = (
            sa.select(sa.func.coalesce(sa.func.min(sa.column("code")), "000000"))
            .select_from(sa.table("district", sa.column("code")))
            .where(sa.column("code").startswith(rows.c.scope_code))
            .scalar_subquery()
        )
        bind.execute(
            rows.update()
            .where(rows.c.scope_level.in_(("all", "province", "city")))
            .values(scope_level="district", scope_code=first)
        )
    _scopes("scope_level in ('district', 'street', 'community')", None)
    op.drop_constraint("grid_unified_in_district", "grid", type_="check")
    for table in ("grid", "plan"):
        op.drop_constraint(f"{table}_generation_district_fk", table, type_="foreignkey")
    op.drop_index("generation_one_published", table_name="generation")
    op.create_index(
        "generation_one_published",
        "generation",
        ["layer_key"],
        unique=True,
        postgresql_where=sa.text("status = 'published'"),
    )
    op.drop_constraint("generation_id_district", "generation", type_="unique")
    op.drop_constraint("generation_layer_number", "generation", type_="unique")
    op.create_unique_constraint("generation_layer_number", "generation", ["layer_key", "number"])
    for table in _DERIVE:
        op.drop_column(table, "district_code")  # drops its keys, checks and indexes with it
    op.drop_index("idx_district_outline", table_name="district")
    op.drop_table("district")
