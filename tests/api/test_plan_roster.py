"""The roster a plan publishes, over HTTP against the demo district (a private copy of its database).

- A merge's surviving grid gets the merged grids' people and a recoded grid's people go to its new
  code: the workspace counts them before the publish (the recoded grid is not flagged as having
  nobody), the roster form lists them as carried, and the publish moves their rows (the ones that
  would be there twice are retired, kept but not active); ``/locate`` answers the new code with
  them.
- The planner's choice on the roster form of a merge's surviving grid is whom it gets from the
  merged grid: the others' rows are retired. An undone merge moves nobody.
- A planner adds a person the roster does not have yet (name, phone, one of the district's roles
  on duty, a role the district added itself included) on the roster form: a bad name, phone or
  role is refused naming the field, and nothing is stored when any part of the request is bad;
  the person and the plan's roster are stored together and the person is on duty once the plan is
  published. No answer carries the phone.
"""

from __future__ import annotations

import contextlib
import itertools

import httpx
import pytest
import shapely
from api_server import serve_in_thread
from db_copy import copied_database

DISTRICT = "320113"


@pytest.fixture(scope="module")
def roster_db(demo_db, accounts):
    """A private copy of the demo database: these tests publish its unified layer."""
    with copied_database(demo_db, "plan_roster") as url:
        yield url


@pytest.fixture(scope="module")
def server(roster_db):
    from api.main import app

    with serve_in_thread(app) as base:
        yield base


@pytest.fixture
def api(server, accounts):
    with contextlib.closing(
        httpx.Client(base_url=server, headers=accounts["planner"].headers, timeout=180)
    ) as client:
        yield client


def _rows(sql: str, **params) -> list[dict]:
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    with session_scope() as s:
        return [dict(r) for r in s.execute(text(sql), params).mappings()]


def _people(code: str, *, active: bool = True) -> set[tuple[str, str]]:
    """(person, role) on the unified roster of ``code`` (active rows, or the retired ones)."""
    rows = _rows(
        "SELECT person_id, role FROM roster WHERE layer_key = 'unified' AND district_code = :d "
        "AND grid_code = :g AND active = :a",
        d=DISTRICT, g=code, a=active,
    )  # fmt: skip
    return {(r["person_id"], r["role"]) for r in rows}


def _staffed_neighbours(skip: set[str]) -> tuple[str, str]:
    """Two published unified grids of one community sharing a border, both with people on duty
    and together inside the band (a merge that leaves the district clean and in band)."""
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope

    with session_scope() as s:
        gid = repos.grids.published_generations(s, [DISTRICT])[(DISTRICT, "unified")]
        grids = repos.grids.read_grids(s, generation_id=gid)
    staffed = {r["grid_code"] for r in _rows(
        "SELECT DISTINCT grid_code FROM roster WHERE layer_key = 'unified' AND active "
        "AND role IN ('grid_worker', 'grid_leader')")}  # fmt: skip
    grids = grids.loc[grids["code"].isin(staffed) & ~grids["code"].isin(skip)]
    for _, part in grids.groupby("community_code"):
        rows = list(part.itertuples())
        for a, b in itertools.combinations(rows, 2):
            border = shapely.intersection(a.geometry.boundary, b.geometry.boundary).length
            if border > 1e-4 and (a.households or 0) + (b.households or 0) <= 500:
                return str(a.code), str(b.code)
    raise AssertionError("no two staffed neighbouring grids in one community")


def _free_code(community: str) -> str:
    taken = {r["code"] for r in _rows("SELECT DISTINCT code FROM grid WHERE code LIKE :p",
                                      p=f"{community}%")}  # fmt: skip
    return next(
        f"{community}{n:03d}" for n in range(999, 0, -1) if f"{community}{n:03d}" not in taken
    )


def test_publish_moves_the_people_of_merged_and_recoded_grids(api):
    pid = api.post("/api/v1/plans", json={"note": "合并与改码的人员"}).json()["id"]
    keep, gone = _staffed_neighbours(set())
    other, _ = _staffed_neighbours({keep, gone})
    before = {c: _people(c) for c in (keep, gone, other)}
    assert before[keep] and before[gone] and before[other]
    merged = api.post(f"/api/v1/plans/{pid}/merge", json={"grids": [keep, gone], "keep": keep})
    assert merged.status_code == 200, merged.text
    new = _free_code(other[:12])
    recoded = api.post(f"/api/v1/plans/{pid}/recode", json={"grid": other, "code": new})
    assert recoded.status_code == 200, recoded.text
    grids = api.get(f"/api/v1/plans/{pid}/grids", params={"codes": f"{keep},{new}"}).json()
    on_duty = {f["properties"]["code"]: f["properties"]["on_duty"] for f in grids["features"]}
    assert on_duty[new] > 0 and on_duty[keep] >= len({p for p, _ in before[keep] | before[gone]
                                                       if p})  # fmt: skip
    assert new not in api.post(f"/api/v1/plans/{pid}/validate").json()["unstaffed"]
    form = api.get(f"/api/v1/plans/{pid}/roster/{new}").json()
    assert form["stored"] == [] and not form["chosen"]
    assert {c["grid_code"] for c in form["carried"]} == {other}
    assert form["on_duty"] == on_duty[new]
    published = api.post(f"/api/v1/plans/{pid}/publish")
    assert published.status_code == 200, published.text
    out = published.json()
    assert out["roster_moved"] > 0 and new not in out["unstaffed"]
    assert _people(keep) == before[keep] | before[gone]
    assert _people(gone) == set() and _people(other) == set()
    assert _people(new) == before[other]
    twice = before[keep] & before[gone]
    assert _people(gone, active=False) >= twice  # a row that would be there twice: retired
    assert out["roster_moved"] + out["roster_retired"] == len(before[gone]) + len(before[other])
    from geo_grid.services import index

    index.invalidate()
    inside = shapely.geometry.shape(
        next(f["geometry"] for f in grids["features"] if f["properties"]["code"] == new)
    ).representative_point()
    located = api.get("/api/v1/locate",
                      params={"lon": inside.x, "lat": inside.y, "crs": "cgcs2000"}).json()  # fmt: skip
    assert located["grid_code"] == new
    assert {r["person_id"] for r in located["roster"]} == {p for p, _ in before[other]}


def test_the_planners_choice_is_whom_a_merged_grid_gets_and_an_undo_moves_nobody(api):
    keep, gone = _staffed_neighbours(set())
    before = {c: _people(c) for c in (keep, gone)}
    undone = api.post("/api/v1/plans", json={"note": "撤销合并"}).json()["id"]
    api.post(f"/api/v1/plans/{undone}/merge", json={"grids": [keep, gone], "keep": keep})
    assert api.post(f"/api/v1/plans/{undone}/undo").status_code == 200
    out = api.post(f"/api/v1/plans/{undone}/publish").json()
    assert out["roster_moved"] == 0 and out["roster_retired"] == 0
    assert {c: _people(c) for c in (keep, gone)} == before

    pid = api.post("/api/v1/plans", json={"note": "合并后选人"}).json()["id"]
    api.post(f"/api/v1/plans/{pid}/merge", json={"grids": [keep, gone], "keep": keep})
    form = api.get(f"/api/v1/plans/{pid}/roster/{keep}").json()
    carried = {(p["person_id"], p["role"]) for p in form["carried"]}
    on_duty = {(p, r) for p, r in before[gone] if r in ("grid_worker", "grid_leader", "police")}
    assert carried == on_duty and {c["grid_code"] for c in form["carried"]} == {gone}
    assert form["candidates"][0]["grid_code"] == gone  # the people carried in come first
    person, role = sorted(carried)[0]
    saved = api.put(f"/api/v1/plans/{pid}/roster/{keep}",
                    json={"entries": [{"person_id": person, "role": role}]})  # fmt: skip
    assert saved.status_code == 200, saved.text
    assert saved.json()["chosen"] and [p["person_id"] for p in saved.json()["planned"]] == [person]
    assert api.post(f"/api/v1/plans/{pid}/publish").status_code == 200
    assert _people(keep) == before[keep] | {(person, role)}
    assert _people(gone) == set()
    assert _people(gone, active=False) >= before[gone] - {(person, role)}  # kept, not on duty


def test_a_planner_adds_a_new_person_with_the_plans_roster(api):
    from geo_grid.services import onboarding

    with contextlib.suppress(Exception):  # a rerun on the same copy: the role is there already
        onboarding.add_role("zhuanzhi_worker", "专职网格员", "grid_worker", district=DISTRICT)
    pid = api.post("/api/v1/plans", json={"note": "新增人员"}).json()["id"]
    code, _ = _staffed_neighbours(set())
    url = f"/api/v1/plans/{pid}/roster/{code}"
    form = api.get(url).json()
    keys = [r["key"] for r in form["roles"]]
    assert "zhuanzhi_worker" in keys and "party_household" not in keys
    assert {"key": "grid_worker", "name": "网格员"} in form["roles"]
    people = _rows("SELECT count(*) AS n FROM person")[0]["n"]
    good = {"name": " 李 新 ", "phone": "139 0000 1111", "role": "zhuanzhi_worker"}
    bad = [
        ({**good, "phone": "打电话"}, "new_people.0.phone"),
        ({**good, "name": "   "}, "new_people.0.name"),
        ({**good, "name": "名" * 33}, "new_people.0.name"),
        ({**good, "role": "party_household"}, "new_people.0.role"),  # households, not on duty
        ({**good, "role": "building_leader"}, "new_people.0.role"),  # listed, never on duty
        ({**good, "role": "no_such_role"}, "new_people.0.role"),
    ]
    for person, field in bad:
        refused = api.put(url, json={"entries": [], "new_people": [person]})
        assert refused.status_code == 422, (person, refused.text)
        assert refused.json()["error"]["field"] == field, refused.json()
    # a good new person with a bad entry: neither is stored (one transaction)
    half = api.put(url, json={"entries": [{"person_id": "P0", "role": "grid_worker"}],
                              "new_people": [good]})  # fmt: skip
    assert half.status_code == 404 and half.json()["error"]["field"] == "person_id"
    assert _rows("SELECT count(*) AS n FROM person")[0]["n"] == people
    assert _rows("SELECT count(*) AS n FROM plan_roster WHERE plan_id = :p", p=pid)[0]["n"] == 0

    saved = api.put(url, json={"entries": [], "new_people": [good]})
    assert saved.status_code == 200, saved.text
    assert "1111" not in saved.text  # no answer carries the phone
    planned = saved.json()["planned"]
    assert [(p["name"], p["role"]) for p in planned] == [("李 新", "zhuanzhi_worker")]
    stored = _rows("SELECT name, phone, district_code FROM person WHERE id = :i",
                   i=planned[0]["person_id"])  # fmt: skip
    assert stored == [{"name": "李 新", "phone": "139 0000 1111", "district_code": DISTRICT}]
    again = api.put(url, json={"entries": [], "new_people": [good]})  # the same person, once
    assert [p["person_id"] for p in again.json()["planned"]] == [planned[0]["person_id"]]
    assert _rows("SELECT count(*) AS n FROM person")[0]["n"] == people + 1
    assert api.post(f"/api/v1/plans/{pid}/publish").status_code == 200
    assert (planned[0]["person_id"], "zhuanzhi_worker") in _people(code)
