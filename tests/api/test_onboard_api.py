"""Onboarding a district through the API, as an administrator: the outline and communities, the
grids, the address library and the roster uploaded; bad files answered with the field, row and
column named and nothing stored; who may do it (issue 14, item 5).

The district and its files are those of ``tests/cli/test_onboard_cli.py`` (Kangbashi 150603), in
a store of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from onboarding_files import DistrictFiles, store_of_its_own, write_district_files, write_xlsx
from sqlalchemy import text

CODE = "150603"
BOUNDS = (109.74, 39.56, 109.90, 39.64)


@pytest.fixture(scope="module")
def files(gazetteer_db, tmp_path_factory) -> Iterator[DistrictFiles]:
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope
    from geo_grid.io import write_layer

    with store_of_its_own(gazetteer_db):
        with session_scope() as s:
            divisions = repos.gazetteer.read_district_divisions(s, CODE)
        folder = tmp_path_factory.mktemp("kangbashi_api")
        made = write_district_files(folder, CODE, divisions, BOUNDS)
        # a shapefile travels as a zip over HTTP
        import geopandas as gpd

        made.outline = write_layer(gpd.read_file(made.outline), folder / "outline.zip")
        yield made


def _headers(role: str, scope: tuple[str, str] = ("all", "")) -> dict[str, str]:
    from auth import token_headers

    return token_headers(role, scope=scope, name=f"t.onboard.{role}")


@pytest.fixture(scope="module")
def client(files) -> Iterator[TestClient]:
    from api.main import app

    with TestClient(app, headers=_headers("admin")) as c:
        yield c


def _upload(client: TestClient, url: str, files: dict, data: dict, **kw):
    parts = {k: (p.name, p.read_bytes()) for k, p in files.items()}
    return client.post(url, files=parts, data=data, **kw)


@pytest.fixture(scope="module")
def onboarded(client, files):
    added = _upload(client, "/api/v1/districts", {"outline": files.outline,
                    "communities": files.communities}, {"code": CODE, "crs": "4490"})  # fmt: skip
    assert added.status_code == 201, added.text
    body = added.json()
    assert (body["name"], body["streets"], body["communities"]) == ("康巴什区", 4, 19)
    assert body["communities_outlined"] == 19 and body["local_crs"] == "EPSG:4546"
    grids = _upload(client, "/api/v1/layers/unified/imports", {"file": files.grids}, {},
                    params={"district": CODE})  # fmt: skip
    assert grids.status_code == 201, grids.text
    from geo_grid.services import layers

    layers.publish("unified", grids.json()["generation"], district=CODE)  # no HTTP route for it
    lib = _upload(client, f"/api/v1/districts/{CODE}/addresses", {"file": files.addresses},
                  {"crs": "gcj02"})  # fmt: skip
    assert lib.status_code == 201, lib.text
    assert lib.json()["addresses"] == len(files.library) == lib.json()["with_community"]
    roster = _upload(client, f"/api/v1/districts/{CODE}/roster", {"file": files.roster}, {})
    assert roster.status_code == 201, roster.text
    assert roster.json()["by_role"] == {"grid_leader": 38, "grid_worker": 38, "building_leader": 1}
    return files


def test_an_uploaded_district_geocodes_and_locates(client, onboarded):
    row = onboarded.library.iloc[31]
    body = client.get("/api/v1/geocode", params={"q": row["标准地址"]}).json()
    assert body["status"] == "matched" and body["grid_code"] == row["grid_code"]
    here = client.get("/api/v1/locate", params={"lon": row["lon"], "lat": row["lat"]}).json()
    assert here["district_code"] == CODE and here["grid_code"] == row["grid_code"]
    assert {p["role"] for p in here["roster"]} == {"grid_leader", "grid_worker"}
    areas = client.get("/api/v1/admin-areas", params={"district": CODE, "level": "community"})
    assert len(areas.json()["features"]) == 19


def _count(table: str) -> int:
    from geo_grid.db.session import session_scope

    with session_scope() as s:
        return s.execute(
            text(f"SELECT count(*) FROM {table} WHERE district_code = :d"),
            {"d": CODE},  # noqa: S608
        ).scalar_one()


def test_a_bad_roster_is_a_4xx_naming_row_and_column_and_stores_nothing(client, onboarded,
                                                                       tmp_path):  # fmt: skip
    people = onboarded.people.copy()
    people.loc[3, "角色"] = "村医"
    path = write_xlsx(tmp_path / "bad.xlsx", {"花名册": people})
    before = _count("roster")
    r = _upload(client, f"/api/v1/districts/{CODE}/roster", {"file": path},
                {"role_map": "专职网格员=网格员"})  # fmt: skip
    assert r.status_code in (400, 422), r.text
    error = r.json()["error"]
    assert (
        error["field"] == "角色" and "bad.xlsx [花名册]: row 5, column '角色'" in error["message"]
    )
    assert _count("roster") == before


def test_a_bad_form_names_the_field(client, onboarded):
    r = _upload(client, f"/api/v1/districts/{CODE}/addresses", {"file": onboarded.addresses},
                {"crs": "gcj02", "colour": "red"})  # fmt: skip
    assert r.status_code in (400, 422) and r.json()["error"]["field"] == "colour"
    again = _upload(client, "/api/v1/districts", {"outline": onboarded.outline}, {"code": CODE})
    assert again.status_code == 409 and again.json()["error"]["field"] == "district"
    missing = client.get("/api/v1/districts/152502/roles")
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "district"


def test_roles_are_read_by_staff_and_added_by_an_admin(client, onboarded):
    viewer = _headers("viewer", ("district", CODE))
    roles = client.get(f"/api/v1/districts/{CODE}/roles", headers=viewer)
    assert roles.status_code == 200
    assert {r["name_zh"] for r in roles.json()["data"]} >= {"网格员", "楼栋长", "微网格长",
                                                            "网格党支部书记"}  # fmt: skip
    body = {"key": "yj_member", "name_zh": "应急报到成员", "duty": "dept_member",
            "department": "应急管理所"}  # fmt: skip
    denied = client.post(f"/api/v1/districts/{CODE}/roles", json=body, headers=viewer)
    assert denied.status_code == 403
    added = client.post(f"/api/v1/districts/{CODE}/roles", json=body)
    assert added.status_code == 201 and added.json()["duty"] == "dept_member"
    twice = client.post(f"/api/v1/districts/{CODE}/roles", json=body)
    assert twice.status_code == 409 and twice.json()["error"]["field"] == "key"
    bad = client.post(f"/api/v1/districts/{CODE}/roles", json={**body, "key": "应急"})
    assert bad.status_code == 422


def test_an_admin_of_another_area_may_not_onboard_here(client, onboarded):
    elsewhere = _headers("admin", ("city", "3205"))
    r = _upload(client, f"/api/v1/districts/{CODE}/roster", {"file": onboarded.roster}, {},
                headers=elsewhere)  # fmt: skip
    assert r.status_code == 403
    r = _upload(client, "/api/v1/districts", {"outline": onboarded.outline},
                {"code": "150602"}, headers=elsewhere)  # fmt: skip
    assert r.status_code == 403 and r.json()["error"]["field"] == "code"
    planner = _headers("planner")
    r = _upload(client, f"/api/v1/districts/{CODE}/addresses", {"file": onboarded.addresses},
                {}, headers=planner)  # fmt: skip
    assert r.status_code == 403
