"""Migration 0010 on a store of one district made before it: every row finds its district.

A fresh database is brought to 0009, given a small district by hand (its admin areas, a published
unified generation, a department generation, a building, an address, a person on the roster, a
case, the demo's seed and an account), then upgraded: the district gets a profile (names from the
gazetteer, the Gauss-Krüger zone of its centre), every row its ``district_code``, the demo seed its
district's key; a downgrade takes the store back to 0009 with nothing lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg2
import pytest
from psycopg2 import sql
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from geo_grid.db import migrate

_POLY = "ST_Multi(ST_GeomFromText('POLYGON((120.6 31.3,120.61 31.3,120.61 31.31,120.6 31.31,120.6 31.3))', 4490))"  # noqa: E501
_ROWS = f"""
INSERT INTO admin_area (code, name, level, parent_code, area_m2, geom) VALUES
  ('320508', '姑苏区', 'district', '3205', 1, {_POLY}),
  ('320508017', '白洋湾街道', 'street', '320508', 1, {_POLY}),
  ('320508017003', '路南社区居委会', 'community', '320508017', 1, {_POLY});
INSERT INTO generation (id, layer_key, number, status) VALUES (901, 'unified', 1, 'published'),
  (902, 'urban_mgmt', 1, 'published');
INSERT INTO grid (generation_id, layer_key, code, community_code, street_code, area_m2, geom)
  VALUES (901, 'unified', '320508017003001', '320508017003', '320508017', 1, {_POLY}),
         (902, 'urban_mgmt', 'CG001', NULL, NULL, 1, {_POLY});
INSERT INTO building (code, community_code, households, geom) VALUES
  ('B1', '320508017003', 10, ST_GeometryN({_POLY}, 1));
INSERT INTO address (id, full_text, local_text, street_code, community_code, geom) VALUES
  (1, '江苏省苏州市姑苏区白洋湾街道路南社区1号', '1号', '320508017', '320508017003',
   ST_SetSRID(ST_MakePoint(120.605, 31.305), 4490));
INSERT INTO person (id, name) VALUES ('P1', '张三');
INSERT INTO roster (person_id, role, layer_key, grid_code) VALUES
  ('P1', 'grid_worker', 'unified', '320508017003001');
INSERT INTO meta (key, value) VALUES ('demo_seed', '7');
INSERT INTO app_user (username, password_hash, role, scope_level, scope_code) VALUES
  ('old.admin', 'x', 'admin', 'district', '320508');
"""


@pytest.fixture
def old_store(gazetteer_db: str) -> Iterator[str]:
    """A new database at revision 0010 holding one district's rows (dropped afterwards)."""
    name = f"mig_{uuid.uuid4().hex[:8]}"
    admin_url = make_url(gazetteer_db).set(database="postgres", drivername="postgresql")
    admin = psycopg2.connect(admin_url.render_as_string(hide_password=False))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(gazetteer_db).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        migrate.upgrade(engine, "0010")
        with engine.begin() as c:
            c.execute(text(_ROWS))
            # the gazetteer's rows of Suzhou, as `geo-grid gazetteer load` leaves them
            c.execute(
                text(
                    "INSERT INTO gazetteer (code, name, level, parent_code) VALUES "
                    "('32', '江苏省', 'province', NULL), ('3205', '苏州市', 'city', '32'), "
                    "('320508', '姑苏区', 'district', '3205')"
                )
            )
        yield url
    finally:
        engine.dispose()
        with admin.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        admin.close()


def test_upgrade_gives_every_row_its_district_and_downgrade_takes_it_back(old_store):
    engine = create_engine(old_store)
    try:
        migrate.upgrade(engine, "0011")
        with engine.connect() as c:
            profile = c.execute(
                text("SELECT code, name, city, province, local_crs FROM district")
            ).all()
            assert profile == [("320508", "姑苏区", "苏州市", "江苏省", "EPSG:4549")]
            for table in ("admin_area", "generation", "grid", "building", "address", "person",
                          "roster"):  # fmt: skip
                codes = c.execute(text(f"SELECT DISTINCT district_code FROM {table}")).scalars()  # noqa: S608
                assert list(codes) == ["320508"], table
            keys = set(c.execute(text("SELECT key FROM meta WHERE key LIKE 'demo%'")).scalars())
            assert keys == {"demo_seed:320508"}
            scope = c.execute(text("SELECT scope_level, scope_code FROM app_user")).one()
            assert tuple(scope) == ("district", "320508")
        _downgrade(old_store, "0010")
        with engine.connect() as c:
            keys = set(c.execute(text("SELECT key FROM meta WHERE key LIKE 'demo%'")).scalars())
            assert keys == {"demo_seed"}
            assert c.execute(text("SELECT count(*) FROM grid")).scalar() == 2
            assert c.execute(text("SELECT to_regclass('district')")).scalar() is None
    finally:
        engine.dispose()


def _downgrade(url: str, revision: str) -> None:
    from alembic import command

    engine = create_engine(url)
    cfg = migrate.alembic_config(url)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
    engine.dispose()


def test_0012_gives_each_district_its_roles_and_takes_them_back(old_store):
    """Roster roles become a table per district (the defaults seeded), the CHECK a foreign key;
    admin areas may lack an outline. Downgraded, the CHECK is back and only the five remain."""
    from sqlalchemy.exc import IntegrityError

    engine = create_engine(old_store)
    try:
        migrate.upgrade(engine, "0012")
        with engine.begin() as c:
            roles = dict(c.execute(text(
                "SELECT key, duty FROM roster_role WHERE district_code = '320508'")).all())  # fmt: skip
            assert len(roles) == 8 and roles["building_leader"] == "none"
            assert roles["grid_worker"] == "grid_worker"
            c.execute(text(
                "INSERT INTO roster (person_id, district_code, role, layer_key, grid_code) "
                "VALUES ('P1', '320508', 'building_leader', 'unified', '320508017003001')"))  # fmt: skip
            c.execute(text(
                "INSERT INTO admin_area (code, name, level, district_code, parent_code) VALUES "
                "('320508017004', '新社区', 'community', '320508', '320508017')"))  # fmt: skip
        with pytest.raises(IntegrityError, match="roster_role_fk"), engine.begin() as c:
            c.execute(text(
                "INSERT INTO roster (person_id, district_code, role, layer_key, grid_code) "
                "VALUES ('P1', '320508', 'village_doctor', 'unified', '320508017003001')"))  # fmt: skip
        _downgrade(old_store, "0011")
        with engine.connect() as c:
            assert c.execute(text("SELECT to_regclass('roster_role')")).scalar() is None
            assert list(c.execute(text("SELECT role FROM roster")).scalars()) == ["grid_worker"]
            assert (
                c.execute(text("SELECT count(*) FROM admin_area WHERE geom IS NULL")).scalar() == 0
            )
    finally:
        engine.dispose()
