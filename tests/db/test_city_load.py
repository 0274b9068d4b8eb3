"""A city's demo as a bulk load (``geo-grid demo load --city``): districts generated and stored
by worker processes at once, each district with its cases in one transaction, the secondary
indexes set aside during the load and built again after it, whatever happens.

Runs in a private copy of the test database (``db_copy``): the districts loaded here are not the
session's. The city is cut to a few small Nanjing districts (``city_districts`` patched).
"""

from __future__ import annotations

import pytest
from db_copy import copied_database
from sqlalchemy import text

from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.services import database
from geo_grid.services.demo import demo_loaded, load_city

XUANWU, JIANYE = "320102", "320105"
#: Cases per district (the demo loads 20,000; the path is the same)
N_CASES = 300


@pytest.fixture
def store(database_url):
    with copied_database(database_url, prefix="city") as url:
        yield url


@pytest.fixture
def city_of(monkeypatch):
    """``city_of(codes)``: Nanjing made of ``codes`` only, for the loader and the generator."""
    import geo_grid.demo
    import geo_grid.demo.generate

    def cut(codes: list[str]) -> None:
        def city_districts(city: str) -> list[str]:
            return list(codes) if city == "3201" else []

        monkeypatch.setattr(geo_grid.demo, "city_districts", city_districts)
        monkeypatch.setattr(geo_grid.demo.generate, "city_districts", city_districts)

    return cut


def _scalar(sql: str, **params):
    with session_scope() as s:
        return s.execute(text(sql), params).scalar()


def _indexes() -> dict[str, str]:
    with session_scope() as s:
        rows = s.execute(
            text("SELECT indexname, tablename FROM pg_indexes WHERE schemaname = 'public'")
        ).all()
    return dict(rows)


def _district_rows(code: str) -> dict[str, int]:
    tables = ("admin_area", "grid", "generation", "building", "address", "person", "roster")
    out = {t: _scalar(f"SELECT count(*) FROM {t} WHERE district_code = :d", d=code) for t in tables}
    out["district"] = _scalar("SELECT count(*) FROM district WHERE code = :d", d=code)
    out["case"] = _scalar('SELECT count(*) FROM "case" WHERE district_code = :d', d=code)
    return out


def test_indexes_set_aside_are_built_again_as_they_were(store):
    before = _indexes()
    with session_scope() as s:
        dropped = repos.bulk.set_aside(s, ["address", "case"])
    assert dropped == {"address": 4, "case": 11}
    during = _indexes()
    assert "address_pkey" in during and "case_number_key" in during  # keys keep guarding
    assert "address_full_text_trgm" not in during and "idx_address_geom" not in during
    with session_scope() as s:
        assert repos.bulk.deferred_tables(s) == ["address", "case"]
    # a load killed here: the next `geo-grid db start` builds them again from the store's record
    database.start()
    assert _indexes() == before
    with session_scope() as s:
        assert repos.bulk.deferred_tables(s) == []


def test_districts_load_at_once_each_with_its_cases(store, city_of):
    """Two districts generated and stored by two worker processes at once: all their rows and
    cases stored, case ids disjoint and the id sequence past both, the indexes built again."""
    city_of([XUANWU, JIANYE])
    before = _indexes()
    loaded = load_city("3201", processes=2, n_cases=N_CASES)
    assert [d["district"] for d in loaded["districts"]] == [XUANWU, JIANYE]
    assert set(loaded["phases"]) == {"load", "indexes", "analyze"}
    for summary in loaded["districts"]:
        code = summary["district"]
        assert demo_loaded(code) and summary["cases"] == N_CASES
        rows = _district_rows(code)
        assert rows["address"] == summary["addresses"] and rows["case"] == N_CASES
        assert rows["building"] == summary["buildings"] and rows["district"] == 1
        assert {"grids", "buildings", "addresses", "roster", "cases", "commit",
                "generate cases"} <= set(summary["phases"])  # fmt: skip
        assert summary["generate_s"] > 0 and summary["generate_cpu_s"] > 0
    # the copy may hold cases other modules of this session filed: the two districts' are counted
    ids = _scalar('SELECT count(DISTINCT id) FROM "case" WHERE district_code IN (:a, :b)',
                  a=XUANWU, b=JIANYE)  # fmt: skip
    assert ids == 2 * N_CASES
    top = _scalar('SELECT max(id) FROM "case"')
    assert _scalar("SELECT last_value FROM case_id_seq") >= top
    assert _scalar("SELECT count(*) FROM case_event") >= 2 * 2 * N_CASES  # receive + more
    assert _indexes() == before
    with session_scope() as s:
        assert repos.bulk.deferred_tables(s) == []
    again = load_city("3201", processes=2, n_cases=N_CASES)  # loaded: nothing to do
    assert {d["reason"] for d in again["districts"]} == {"already loaded"}


def test_a_district_that_fails_leaves_nothing_and_the_indexes_come_back(
    store, city_of, monkeypatch
):
    """The COPY of its escalations fails, last of the district's writes: none of its rows stay
    (admin areas, grids, buildings, addresses, roster, cases), nor its demo mark; the indexes
    set aside for the load are built again all the same. Loaded again, it is all there."""
    import geo_grid.demo.generate
    from geo_grid.demo import load_district

    real = geo_grid.demo.generate.generate_demo

    def small(code, seed, **kw):  # one unified grid per community: quick
        return real(code, seed, n_grids=len(load_district(code).communities))

    monkeypatch.setattr(geo_grid.demo.generate, "generate_demo", small)
    city_of([XUANWU])
    before = _indexes()

    def disk_full(*args, **kwargs):
        raise OSError("could not extend file: No space left on device")

    with monkeypatch.context() as m:
        m.setattr(repos.cases, "copy_escalations", disk_full)
        with pytest.raises(OSError, match="No space left"):
            load_city("3201", processes=1, n_cases=N_CASES)
    assert set(_district_rows(XUANWU).values()) == {0}
    assert demo_loaded(XUANWU) is None
    assert _indexes() == before
    loaded = load_city("3201", processes=1, n_cases=N_CASES)
    (summary,) = loaded["districts"]
    rows = _district_rows(XUANWU)
    assert rows["address"] == summary["addresses"] > 0 and rows["case"] == N_CASES
    assert rows["grid"] == sum(summary["grids"].values())
    assert _indexes() == before
