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


SCRATCH = ["t_pub", "t_retire", "t_stale", "t_dirty", "t_bbox"]


@pytest.fixture(autouse=True)
def _drop_scratch_layers(database_url):
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
        a = repos.grids.create_generation(s, layer="t_pub")
        b = repos.grids.create_generation(s, layer="t_pub")
        s.execute(
            text("UPDATE generation SET status = 'published' WHERE id IN (:a, :b)"),
            {"a": a, "b": b},
        )


def test_publish_retires_the_previous_generation(database_url):
    with session_scope() as s:
        _layer(s, "t_retire")
        a = repos.grids.create_generation(s, layer="t_retire")
        repos.grids.insert_grids(s, a, "t_retire", _grids(["A1", "A2"]))
        assert repos.grids.publish_generation(s, a) is None
        b = repos.grids.create_generation(s, layer="t_retire")
        repos.grids.insert_grids(s, b, "t_retire", _grids(["B1"]))
        assert repos.grids.publish_generation(s, b) == a
    with session_scope() as s:
        gens = {g["id"]: g["status"] for g in repos.grids.list_generations(s, "t_retire")}
        assert gens == {a: "retired", b: "published"}
        with pytest.raises(Conflict):
            repos.grids.publish_generation(s, a)


def test_publish_with_stale_expectation_conflicts(database_url):
    with session_scope() as s:
        _layer(s, "t_stale")
        a = repos.grids.create_generation(s, layer="t_stale")
        repos.grids.publish_generation(s, a)
        b = repos.grids.create_generation(s, layer="t_stale")
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
        gid = repos.grids.create_generation(s, layer="unified")
        repos.grids.insert_grids(
            s, gid, "unified", _grids(["320113001001001", "320113001001002"], invalid=True)
        )
    with pytest.raises(IntegrityError), session_scope() as s:
        gid = repos.grids.create_generation(s, layer="unified")
        repos.grids.insert_grids(s, gid, "unified", _grids(["X1"]))
    assert drafts() == before  # nothing of the failed attempts was kept


def test_department_layers_keep_invalid_geometry_for_the_checks(database_url):
    with session_scope() as s:
        _layer(s, "t_dirty")
        gid = repos.grids.create_generation(s, layer="t_dirty")
        repos.grids.insert_grids(s, gid, "t_dirty", _grids(["D1", "D2"], invalid=True))
        grids = repos.grids.read_grids(s, generation_id=gid)
    assert list(grids["code"]) == ["D1", "D2"]
    assert not grids.geometry.iloc[0].is_valid


def test_srid_is_enforced(database_url):
    engine = get_engine()
    with pytest.raises((DataError, InternalError)), engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO admin_area (code, name, level, area_m2, geom) VALUES "
                "('999999', 'x', 'district', 1, ST_Multi(ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))', 4326)))"
            )
        )


def test_unknown_layer_is_named(database_url):
    with pytest.raises(NotFound, match="layer: unknown layer 'nope'"), session_scope() as s:
        repos.grids.create_generation(s, layer="nope")


def test_read_grids_bbox_and_geometry_round_trip(database_url):
    frame = _grids(["R1", "R2", "R3"], x0=119.0)
    with session_scope() as s:
        _layer(s, "t_bbox")
        gid = repos.grids.create_generation(s, layer="t_bbox")
        repos.grids.insert_grids(s, gid, "t_bbox", frame)
        some = repos.grids.read_grids(s, generation_id=gid, bbox=(119.0, 32.1, 119.015, 32.11))
        every = repos.grids.read_grids(s, generation_id=gid)
    assert list(some["code"]) == ["R1", "R2"]
    assert all(a.equals_exact(b, 0) for a, b in zip(every.geometry, frame.geometry, strict=True))
    assert every.crs.to_epsg() == 4490
