"""The map's search, base, scopes and exports over HTTP (issue 15 items 7-11), on the demo.

``GET /api/v1/search`` finds what the address geocoder cannot (咏梅社区 is "unmatched" there) and
answers 乐城路 as a road with its line and the grids along it, not as a point "outside every grid";
door plates keep the geocoder's level and reason; grids answer with the people on duty. Map pages
are drawn over the district's own roads and names without tiles, over 天地图 with them; a street
leader's pages open on and name their street, a grid worker's on their grid. The XLSX exports
are jobs (202 at once, the workbook the job's file under its Chinese name) and carry Chinese
headings, colours with their reasons, Beijing times, masked reporters, the caller's area only;
a selection over the configured limit is refused when asked for, never queued.
"""

from __future__ import annotations

import io
import re
import time
from datetime import datetime, timedelta
from types import SimpleNamespace
from urllib.parse import quote
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from auth import LEADER_STREET
from job_wait import wait_for_job

from geo_grid.labels import INDICATOR_COLOUR

#: The names issue 15 tried: a community the geocoder left unmatched, a road it misplaced
COMMUNITY, ROAD = "咏梅社区", "乐城路"
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")  # a whole mobile number, unmasked


@pytest.fixture(scope="module")
def demo_names(demo) -> dict[str, str]:
    """The demo holds the places the issue names (a real community; a generated road)."""
    assert (demo.communities["name"].str.startswith(COMMUNITY)).any()
    assert (demo.addresses["road"] == ROAD).any()
    grid = demo.grids["unified"].iloc[5]
    return {"grid": str(grid["code"]), "grid_name": str(grid["name"])}


@pytest.fixture(scope="module")
def phoned(client) -> dict:
    """A case whose reporter left a phone number, in the description too (to be masked)."""
    body = {"category_code": "E0502", "channel": "hotline", "address_text": f"{ROAD}1号",
            "description": "占道经营，回电 13912345678", "reporter_name": "张三丰",
            "reporter_phone": "13912345678"}  # fmt: skip
    r = client.post("/api/v1/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
def period(client, phoned) -> dict[str, str]:
    """The 30 days up to the latest case (Beijing dates): the phoned case's and the demo's."""
    rows = client.get("/api/v1/cases", params={"limit": 1}).json()["data"]
    received = datetime.fromisoformat(rows[0]["received_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    last = received.date() + timedelta(days=1)  # its Beijing date: 00:00-08:00 is the UTC eve
    return {"from": str(last - timedelta(days=30)), "to": str(last)}


def _search(client, q: str, **params) -> list[dict]:
    r = client.get("/api/v1/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return r.json()["data"]


# ------------------------------------------------------------------------------------ search
def test_a_community_the_geocoder_leaves_unmatched_is_found(client, demo_names):
    assert client.get("/api/v1/geocode", params={"q": COMMUNITY}).json()["status"] == "unmatched"
    hit = _search(client, COMMUNITY)[0]
    assert (hit["kind"], hit["kind_zh"], hit["name"]) == ("community", "社区", COMMUNITY)
    assert hit["level"] == "社区" and hit["confidence"] == 1.0
    assert hit["grid_code"] is None and hit["grid_count"] > 1 and hit["people"] == []
    assert hit["geometry"]["type"] in ("Polygon", "MultiPolygon") and hit["street_name"]
    minx, miny, maxx, maxy = hit["bbox"]
    assert minx <= hit["lon"] <= maxx and miny <= hit["lat"] <= maxy


def test_a_road_is_a_line_along_its_grids_not_a_point_outside_them(client, demo_names):
    hit = _search(client, ROAD)[0]
    assert (hit["kind"], hit["name"], hit["confidence"]) == ("road", ROAD, 1.0)
    assert hit["geometry"]["type"] == "LineString" and len(hit["geometry"]["coordinates"]) >= 2
    assert hit["grid_count"] >= 1 and hit["grid_codes"]
    if hit["grid_count"] > 1:  # a road through several grids names no one grid
        assert hit["grid_code"] is None
    # its point is one of its own door plates, inside one of its grids
    located = client.get("/api/v1/locate", params={"lon": hit["lon"], "lat": hit["lat"],
                                                   "crs": "cgcs2000"}).json()  # fmt: skip
    assert located["grid_code"] in hit["grid_codes"]


def test_a_grid_code_answers_with_the_people_on_duty_and_no_phone(client, demo_names):
    hit = _search(client, demo_names["grid"])[0]
    assert (hit["kind"], hit["code"], hit["name"]) == ("grid", demo_names["grid"],
                                                      demo_names["grid_name"])  # fmt: skip
    assert hit["level"] == "网格" and hit["grid_code"] == demo_names["grid"]
    roles = {p["role_zh"] for p in hit["people"]}
    assert "网格长" in roles and "网格员" in roles
    assert all(set(p) == {"name", "role", "role_zh"} for p in hit["people"])


def test_a_door_plate_keeps_the_geocoders_level_and_reason(client, demo):
    plate = demo.addresses[(demo.addresses["road"] == ROAD) & demo.addresses["door_no"].notna()]
    text = f"{ROAD}{plate['door_no'].iloc[0]}号"
    hits = _search(client, text)
    door = next(h for h in hits if h["kind"] == "address")
    assert door["kind_zh"] == "门牌地址" and door["level"] in ("门牌", "楼栋", "道路")
    assert door["grid_code"] and door["people"] and 0 < door["confidence"] <= 1


def test_search_refusals_name_the_field_and_nothing_found_is_empty(client):
    assert _search(client, "请问这是哪里") == []
    for params, field in (({"q": COMMUNITY, "limit": 0}, "limit"),
                          ({"q": COMMUNITY, "crs": "bd09"}, "crs"), ({"q": ""}, "q")):  # fmt: skip
        r = client.get("/api/v1/search", params=params)
        assert r.status_code == 422 and r.json()["error"]["field"] == field, (params, r.text)


def test_search_on_gcj02_tiles_answers_shifted_points(client):
    plain, shifted = _search(client, COMMUNITY)[0], _search(client, COMMUNITY, crs="gcj02")[0]
    assert 0.003 < shifted["lon"] - plain["lon"] < 0.007  # GCJ-02 moves Nanjing ~470 m east


def test_every_staff_role_may_search(client, accounts):
    """(Systems, the Open311 clients, may not: tests/api/test_access.py calls every route as
    every role against api/policy.py.)"""
    for role in ("viewer", "grid_worker", "planner", "leader"):
        r = client.get("/api/v1/search", params={"q": COMMUNITY}, headers=accounts[role].headers)
        assert r.status_code == 200, role


# ------------------------------------------------------------------------------------ base map
def test_without_tiles_pages_are_drawn_over_the_districts_roads_and_names(client):
    html = client.get("/map").text
    assert "geoGrid.vectorBase" in html and ROAD in html and "tianditu" not in html
    for path in ("/map/indicators", "/map/cases", "/map/dispatch"):
        assert "geoGrid.vectorBase" in client.get(path).text, path


def test_with_tianditu_set_pages_ask_its_tiles_and_draw_no_vector_base(demo_db, monkeypatch):
    from geo_grid.services import maps
    from geo_grid.settings import get_settings

    monkeypatch.setenv("GEO_GRID_TILES_URL", "tianditu:img")
    monkeypatch.setenv("GEO_GRID_TILES_KEY", "test-key")
    monkeypatch.setenv("GEO_GRID_TILES_PROJECTION", "cgcs2000")
    get_settings.cache_clear()
    try:
        html = maps.render("coverage", "/static", {"district": "320113"})
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert "img_c/wmts" in html and "cia_c/wmts" in html and "tk=test-key" in html
    assert "L.CRS.EPSG4326" in html and "geoGrid.vectorBase" not in html


# ------------------------------------------------------------------------------------ scopes
def test_a_street_leaders_pages_open_on_their_street_and_name_it(client, accounts, demo):
    from geo_grid.address.places import area_name
    from geo_grid.services import districts

    leader = accounts["leader"].headers
    street = area_name(str(demo.streets.set_index("code").loc[LEADER_STREET, "name"]))
    indicators = client.get("/map/indicators", headers=leader).text
    assert f"红绿指标：{street}" in indicators
    coverage = client.get("/map", headers=leader).text
    assert "geoGrid.focus(" in coverage and f"所辖范围：{street}" in coverage
    bounds = re.search(r'geoGrid\.focus\(\{"bounds":\[([^\]]+)\]', coverage).group(1)
    minx, miny, maxx, maxy = map(float, bounds.split(","))
    d = districts.get("320113").bounds
    assert (maxx - minx) * (maxy - miny) < 0.5 * (d[2] - d[0]) * (d[3] - d[1])
    assert "geoGrid.focus(" not in client.get("/map").text  # the administrator: the district


def test_a_grid_workers_maps_open_on_their_grid(client, accounts):
    worker = accounts["grid_worker"]
    html = client.get("/map", headers=worker.headers).text
    assert "我的网格：" in html
    focus = re.search(r"geoGrid\.focus\((\{.*?\})\);", html).group(1)
    assert all(code in focus for code in worker.grids)
    assert "geoGrid.focus(" in client.get("/map/services", headers=worker.headers).text


# ------------------------------------------------------------------------------------ exports
def _as(client, headers: dict | None):
    """``client`` reading as ``headers``' account (a job is read by whoever started it)."""
    return SimpleNamespace(get=lambda url, **kw: client.get(url, headers=headers, **kw))


def _submitted(client, sheet: str, params: dict, headers: dict | None = None):
    """An export job asked for: 202 with the job and its Location, answered at once."""
    started = time.perf_counter()
    r = client.post(f"/api/v1/exports/{sheet}", params=params, headers=headers)
    took = time.perf_counter() - started
    assert r.status_code == 202, r.text[:300]
    assert r.headers["location"] == f"/api/v1/jobs/{r.json()['id']}"
    assert took < 2.0, f"{took:.2f} s to the 202"  # the work is the job's, not the request's
    return r


def _exported(client, sheet: str, params: dict, headers: dict | None = None):
    """The file of an export job: submitted, waited for, fetched as its creator."""
    r = _submitted(client, sheet, params, headers)
    job = wait_for_job(_as(client, headers), r)
    assert job["status"] == "done", job
    assert job["result"]["file"].endswith(".xlsx") and job["progress"] == 1.0
    return client.get(f"/api/v1/jobs/{job['id']}/file", headers=headers)


def _book(r, name: str, fallback: str) -> openpyxl.Workbook:
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = r.headers["content-disposition"]
    assert f"filename*=UTF-8''{quote(name)}" in disposition, disposition  # the Chinese name
    assert f'filename="{fallback}"' in disposition, disposition  # and one for old clients
    return openpyxl.load_workbook(io.BytesIO(r.content))


def test_indicators_export_explains_each_colour(client, period):
    got = _exported(client, "indicators.xlsx", {"level": "grid", **period})
    book = _book(got, f"红绿指标_{period['from']}_{period['to']}.xlsx", "indicators-grid.xlsx")
    sheet, limits = book["红绿指标"], book["阈值"]
    head = [c.value for c in sheet[3]]
    assert head[:7] == ["编码", "名称", "所属社区", "所属街道", "指标", "颜色来源", "原因"]
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    assert len(rows) == 1063  # every grid, those without a case too
    lights = [r[4] for r in rows]
    assert set(lights) <= set(INDICATOR_COLOUR.values())
    assert lights.count(INDICATOR_COLOUR["green"]) > len(rows) / 2  # a working district
    red = next(r for r in rows if r[4] == "红")
    assert "（绿 " in red[6] and "黄 " in red[6]  # the rate, its value and the thresholds
    assert [c.value for c in limits[3]][:3] == ["指标", "绿", "黄"]


def test_cases_export_is_the_callers_area_masked_in_beijing_time(client, accounts, period, phoned):
    named = f"案件列表_{period['from']}.xlsx"
    book = _book(_exported(client, "cases.xlsx", period), named, "cases.xlsx")
    sheet = book["案件列表"]
    head = [c.value for c in sheet[3]]
    assert head[0] == "编号" and "受理时间（北京时间）" in head
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    listed = client.get("/api/v1/cases", params={**period, "limit": 1}).json()["count"]
    assert len(rows) == listed > 0
    received = rows[0][head.index("受理时间（北京时间）")]
    first = client.get("/api/v1/cases", params={**period, "limit": 1}).json()["data"][0]
    local = datetime.fromisoformat(first["received_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert abs(received - local.replace(tzinfo=None)) < timedelta(seconds=1)  # the tz database's
    assert not any(PHONE.search(str(v)) for r in rows for v in r if v is not None)
    mine = next(r for r in rows if r[0] == phoned["number"])
    assert mine[head.index("联系电话")] == "139****5678" and mine[head.index("反映人")] == "张**"
    worker = accounts["grid_worker"]
    mine = _book(_exported(client, "cases.xlsx", period, worker.headers), named, "cases.xlsx")
    grid_col = head.index("网格")
    codes = {r[grid_col] for r in mine["案件列表"].iter_rows(min_row=4, values_only=True)}
    assert codes <= set(worker.grids)


def test_a_case_export_reports_its_progress_page_by_page(client, period):
    """Issue 16: the job tells how far it is (cases read per page of 1,000, then the workbook)."""
    seen: list[str] = []
    r = _submitted(client, "cases.xlsx", period)
    while (job := client.get(r.headers["location"]).json())["status"] in ("queued", "running"):
        seen.append(job["message"] or "")
        time.sleep(0.05)
    assert job["status"] == "done" and job["message"].startswith("完成"), job
    assert job["title"] == "案件导出" and job["kind"] == "export_cases"
    assert job["result"]["bytes"] > 0 and "overdue_at" in job["params"]
    assert any(m.startswith(("读取案件", "写入表格")) for m in seen), seen


def test_an_export_over_the_limit_is_refused_naming_the_period(client, period, monkeypatch):
    from geo_grid.settings import get_settings

    before = client.get("/api/v1/jobs").json()["count"]
    monkeypatch.setenv("GEO_GRID_EXPORT_MAX_ROWS", "10")
    get_settings.cache_clear()
    try:
        r = client.post("/api/v1/exports/cases.xlsx", params=period)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert r.status_code == 422 and r.json()["error"]["field"] == "from"
    assert "GEO_GRID_EXPORT_MAX_ROWS" in r.json()["error"]["message"]
    assert client.get("/api/v1/jobs").json()["count"] == before  # refused, not a queued job


def test_exports_keep_to_the_roles_of_what_they_export(client, accounts, period):
    planner, worker = accounts["planner"].headers, accounts["grid_worker"].headers
    before = client.get("/api/v1/jobs").json()["count"]
    assert client.post("/api/v1/exports/cases.xlsx", params=period,
                       headers=planner).status_code == 403  # fmt: skip
    assert client.post("/api/v1/exports/indicators.xlsx", params=period,
                       headers=worker).status_code == 403  # fmt: skip
    r = client.post("/api/v1/exports/indicators.xlsx", params={"level": "moon", **period})
    assert r.status_code == 422
    r = client.post("/api/v1/exports/cases.xlsx", params={"from": period["from"]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "to"  # an open period
    assert client.get("/api/v1/jobs").json()["count"] == before  # nothing queued
    assert client.get("/api/v1/exports/cases.xlsx", params=period).status_code in (404, 405)
