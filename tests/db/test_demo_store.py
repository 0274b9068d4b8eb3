"""The demo district as stored in PostGIS: the numbers and the nesting, checked by PostGIS itself.

The store may serve other districts too (Gusu joins Qixia in ``gusu_db``): every count is of the
demo district's rows.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from geo_grid.db.session import session_scope
from geo_grid.services.demo import load_demo


def _scalar(sql: str):
    with session_scope() as s:
        return s.execute(text(sql)).scalar()


def test_counts(demo_db):
    here = "district_code = '320113'"
    assert _scalar(f"SELECT count(*) FROM admin_area WHERE level = 'street' AND {here}") == 9
    assert _scalar(f"SELECT count(*) FROM admin_area WHERE level = 'community' AND {here}") == 129
    assert (
        _scalar(
            "SELECT count(*) FROM grid g JOIN generation n ON n.id = g.generation_id "
            f"WHERE n.status = 'published' AND g.layer_key = 'unified' AND g.{here}"
        )
        == 1063
    )
    assert 90_000 <= _scalar(f"SELECT count(*) FROM address WHERE {here}") <= 110_000
    assert (
        _scalar(
            "SELECT count(DISTINCT grid_code) FROM roster WHERE layer_key = 'unified' "
            f"AND role = 'grid_leader' AND {here}"
        )
        == 1063
    )


def test_unified_grids_nest_in_their_communities(demo_db):
    outside = _scalar(
        """SELECT count(*) FROM grid g
           JOIN generation n ON n.id = g.generation_id AND n.status = 'published'
           JOIN admin_area c ON c.code = g.community_code
           WHERE g.layer_key = 'unified' AND NOT ST_CoveredBy(g.geom, c.geom)"""
    )
    assert outside == 0


def test_communities_nest_in_streets_and_streets_in_the_district(demo_db):
    assert (
        _scalar(
            """SELECT count(*) FROM admin_area c JOIN admin_area s ON s.code = c.parent_code
           WHERE c.level = 'community' AND NOT ST_CoveredBy(c.geom, s.geom)"""
        )
        == 0
    )
    assert (
        _scalar(
            """SELECT count(*) FROM admin_area s JOIN admin_area d ON d.code = s.parent_code
           WHERE s.level = 'street' AND NOT ST_CoveredBy(s.geom, d.geom)"""
        )
        == 0
    )


def test_unified_layer_has_no_overlaps_and_covers_the_district(demo_db):
    overlap = _scalar(
        """WITH u AS (SELECT g.id, g.geom FROM grid g JOIN generation n ON n.id = g.generation_id
                      AND n.status = 'published' WHERE g.layer_key = 'unified'
                      AND g.district_code = '320113')
           SELECT coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom)::geography)), 0)
           FROM u a JOIN u b ON a.id < b.id AND ST_Intersects(a.geom, b.geom)"""
    )
    assert overlap < 1.0  # m²: shared edges only
    ratio = _scalar(
        """SELECT ST_Area(ST_Union(g.geom)::geography) / (SELECT ST_Area(geom::geography)
                  FROM admin_area WHERE level = 'district' AND code = '320113')
           FROM grid g JOIN generation n ON n.id = g.generation_id AND n.status = 'published'
           WHERE g.layer_key = 'unified' AND g.district_code = '320113'"""
    )
    assert abs(ratio - 1) < 1e-4


def test_household_totals_agree_with_buildings(demo_db):
    grid_total = _scalar(
        "SELECT sum(households) FROM grid g JOIN generation n ON n.id = g.generation_id "
        "AND n.status = 'published' WHERE g.layer_key = 'unified' AND g.district_code = '320113'"
    )
    assert grid_total == _scalar(
        "SELECT sum(households) FROM building WHERE district_code = '320113'"
    )


def test_second_load_is_a_no_op(demo_db):
    before = _scalar("SELECT count(*) FROM generation")
    result = load_demo()
    assert result["loaded"] is False
    assert _scalar("SELECT count(*) FROM generation") == before


def test_demo_accounts_are_made_once_with_random_passwords_kept_private(demo_db):
    import json
    import stat
    from pathlib import Path

    from geo_grid.errors import Unauthorized
    from geo_grid.services import access
    from geo_grid.services.demo import DEMO_ACCOUNTS, demo_accounts

    first = demo_accounts()
    path = Path(first["file"])
    kept = json.loads(path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(kept["users"]) == {f"demo.{role}" for role in DEMO_ACCOUNTS}
    for username, acc in kept["users"].items():
        principal = access.authenticate(username, acc["password"])
        assert principal.role == acc["role"]
        if acc["role"] == "grid_worker":
            assert principal.grids  # tied to a real roster person and their grids
        if acc["role"] == "leader":
            assert (principal.scope_level, principal.scope_code) == ("street", "320113003")
    assert access.principal_for_key(kept["open311_key"]).role == "open311_client"
    assert len({acc["password"] for acc in kept["users"].values()}) == len(DEMO_ACCOUNTS)
    again = demo_accounts()  # a second `make demo` creates nothing and keeps the file
    assert again["users"] == {} and again["open311_key"] is None
    assert json.loads(path.read_text()) == kept
    with pytest.raises(Unauthorized):
        access.authenticate("demo.admin", "demo")
