"""The schema enforces what a city's system of record must never get wrong."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import MultiPolygon, Polygon, box
from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError, InternalError

from geo_grid.db import repos
from geo_grid.db.session import get_engine, session_scope
from geo_grid.errors import Conflict, NotFound


def _layer(session, key: str) -> None:
    repos.grids.ensure_layer(session, key, f"测试{key}")


SCRATCH = ["t_pub", "t_retire", "t_stale", "t_dirty", "t_bbox", "t_two"]
#: Two districts of this module's store (profiles only: outlines around the test boxes).
D1, D2 = "320113", "320508"


@pytest.fixture(scope="module")
def districts_stored(database_url):
    """Profiles for two districts (a later demo load replaces the first one's with its own)."""
    from geo_grid.address import DistrictNames
    from geo_grid.services import districts

    with session_scope() as s:
        for code, name, box_ in ((D1, "栖霞区", box(118.8, 32.0, 119.2, 32.3)),
                                 (D2, "姑苏区", box(120.5, 31.2, 120.7, 31.4))):  # fmt: skip
            if not repos.district.district_exists(s, code):
                districts.register(s, DistrictNames(code, name), box_)


@pytest.fixture(autouse=True)
def _drop_scratch_layers(database_url, districts_stored):
    """This module's scratch layers are removed after each test: nobody else sees them published."""
    yield
    with session_scope() as s:
        for table, column in (("grid", "layer_key"), ("generation", "layer_key"), ("layer", "key")):
            s.execute(text(f"DELETE FROM {table} WHERE {column} = ANY(:k)"), {"k": SCRATCH})


def _grids(codes, *, x0=118.9, invalid=False) -> gpd.GeoDataFrame:
    geoms = []
    for i, _ in enumerate(codes):
        if invalid and i == 0:
            geoms.append(
                MultiPolygon(
                    [Polygon([(x0, 32.1), (x0 + 0.01, 32.11), (x0 + 0.01, 32.1), (x0, 32.11)])]
                )
            )
        else:
            geoms.append(MultiPolygon([box(x0 + 0.01 * i, 32.1, x0 + 0.01 * (i + 1), 32.11)]))
    frame = gpd.GeoDataFrame(
        {"code": list(codes), "name": [f"网格{c}" for c in codes]}, geometry=geoms, crs=4490
    )
    frame["households"] = 350
    frame["area_m2"] = 1.0e6
    return frame


def test_postgis_and_builtin_layers(database_url):
    with session_scope() as s:
        assert s.execute(text("SELECT postgis_lib_version()")).scalar().startswith("3.")
        keys = {r["key"] for r in repos.grids.list_layers(s)}
    assert {"unified", "politics_law", "urban_mgmt", "emergency", "ecology"} <= keys


def test_one_published_generation_per_layer_is_enforced_by_the_database(database_url):
    with pytest.raises(IntegrityError), session_scope() as s:
        _layer(s, "t_pub")
        a = repos.grids.create_generation(s, layer="t_pub", district=D1)
        b = repos.grids.create_generation(s, layer="t_pub", district=D1)
        s.execute(
            text("UPDATE generation SET status = 'published' WHERE id IN (:a, :b)"),
            {"a": a, "b": b},
        )


def test_publish_retires_the_previous_generation(database_url):
    with session_scope() as s:
        _layer(s, "t_retire")
        a = repos.grids.create_generation(s, layer="t_retire", district=D1)
        repos.grids.insert_grids(s, a, "t_retire", _grids(["A1", "A2"]))
        assert repos.grids.publish_generation(s, a) is None
        b = repos.grids.create_generation(s, layer="t_retire", district=D1)
        repos.grids.insert_grids(s, b, "t_retire", _grids(["B1"]))
        assert repos.grids.publish_generation(s, b) == a
    with session_scope() as s:
        gens = {g["id"]: g["status"] for g in repos.grids.list_generations(s, "t_retire", D1)}
        assert gens == {a: "retired", b: "published"}
        with pytest.raises(Conflict):
            repos.grids.publish_generation(s, a)


def test_publish_with_stale_expectation_conflicts(database_url):
    with session_scope() as s:
        _layer(s, "t_stale")
        a = repos.grids.create_generation(s, layer="t_stale", district=D1)
        repos.grids.publish_generation(s, a)
        b = repos.grids.create_generation(s, layer="t_stale", district=D1)
        with pytest.raises(Conflict):
            repos.grids.publish_generation(
                s, b, expected_published=a + 1000
            )  # based on a stale state
        repos.grids.publish_generation(s, b, expected_published=a)


def test_unified_grids_must_be_valid_and_coded(database_url):
    def drafts() -> int:
        with session_scope() as s:
            sql = "SELECT count(*) FROM generation WHERE layer_key = 'unified'"
            return s.execute(text(sql)).scalar()

    before = drafts()
    with pytest.raises(IntegrityError), session_scope() as s:
        gid = repos.grids.create_generation(s, layer="unified", district=D1)
        repos.grids.insert_grids(
            s, gid, "unified", _grids(["320113001001001", "320113001001002"], invalid=True)
        )
    with pytest.raises(IntegrityError), session_scope() as s:
        gid = repos.grids.create_generation(s, layer="unified", district=D1)
        repos.grids.insert_grids(s, gid, "unified", _grids(["X1"]))
    assert drafts() == before  # nothing of the failed attempts was kept


def test_department_layers_keep_invalid_geometry_for_the_checks(database_url):
    with session_scope() as s:
        _layer(s, "t_dirty")
        gid = repos.grids.create_generation(s, layer="t_dirty", district=D1)
        repos.grids.insert_grids(s, gid, "t_dirty", _grids(["D1", "D2"], invalid=True))
        grids = repos.grids.read_grids(s, generation_id=gid)
    assert list(grids["code"]) == ["D1", "D2"]
    assert not grids.geometry.iloc[0].is_valid


def test_srid_is_enforced(database_url):
    engine = get_engine()
    with pytest.raises((DataError, InternalError)), engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO admin_area (code, name, level, district_code, area_m2, geom) VALUES "
                "('320113', 'x', 'district', '320113', 1, "
                "ST_Multi(ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 4326)))"
            )
        )


def test_unknown_layer_is_named(database_url):
    with pytest.raises(NotFound, match="layer: unknown layer 'nope'"), session_scope() as s:
        repos.grids.create_generation(s, layer="nope", district=D1)


def test_read_grids_bbox_and_geometry_round_trip(database_url):
    frame = _grids(["R1", "R2", "R3"], x0=119.0)
    with session_scope() as s:
        _layer(s, "t_bbox")
        gid = repos.grids.create_generation(s, layer="t_bbox", district=D1)
        repos.grids.insert_grids(s, gid, "t_bbox", frame)
        some = repos.grids.read_grids(s, generation_id=gid, bbox=(119.0, 32.1, 119.015, 32.11))
        every = repos.grids.read_grids(s, generation_id=gid)
    assert list(some["code"]) == ["R1", "R2"]
    assert all(a.equals_exact(b, 0) for a, b in zip(every.geometry, frame.geometry, strict=True))
    assert every.crs.to_epsg() == 4490


def test_each_district_has_its_own_generations_of_a_layer(database_url):
    """One layer key, a line of generations per district: both publish, numbers count apart, and
    one district's publish retires nothing of the other's."""
    with session_scope() as s:
        _layer(s, "t_two")
        a = repos.grids.create_generation(s, layer="t_two", district=D1)
        b = repos.grids.create_generation(s, layer="t_two", district=D2)
        repos.grids.publish_generation(s, a)
        assert repos.grids.publish_generation(s, b) is None  # a is not b's to retire
        c = repos.grids.create_generation(s, layer="t_two", district=D2)
        assert repos.grids.publish_generation(s, c) == b
        numbers = {g["id"]: g["number"] for g in repos.grids.list_generations(s, "t_two", D2)}
        published = repos.grids.published_generations(s, [D1, D2])
    assert numbers == {b: 1, c: 2}
    assert published[(D1, "t_two")] == a and published[(D2, "t_two")] == c


def test_a_unified_grid_must_carry_its_districts_code(database_url):
    """A 15-digit unified code of another district is refused by the database itself."""
    with pytest.raises(IntegrityError, match="grid_unified_in_district"), session_scope() as s:
        gid = repos.grids.create_generation(s, layer="unified", district=D2)
        repos.grids.insert_grids(s, gid, "unified", _grids(["320113001001001"]))


def test_an_admin_area_must_lie_in_its_district(database_url):
    with pytest.raises(IntegrityError, match="admin_area_in_district"), session_scope() as s:
        s.execute(
            text(
                "INSERT INTO admin_area (code, name, level, district_code, area_m2, geom) VALUES "
                "('320113001', 'x', 'street', :d, 1, "
                "ST_Multi(ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 4490)))"
            ),
            {"d": D2},
        )
