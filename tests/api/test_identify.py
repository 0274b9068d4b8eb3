"""Click to identify on every map page (issue 15, item 4).

Each map page the server serves carries the identify panel with its links and the roles that may
open them; the dispatcher's map keeps its clicks for placing cases and borrows the links. In
headless Chromium with the network cut off: a click inside a grid on each page opens the panel
with the grid's code, name, community, street, households (as stored), the people on duty and
the department grids at that point (as stored), the page's own word on the feature (the
indicators' colour), and the links the person's role may open; ``#grid=<code>`` (the indicators
link) opens the indicators map on the grid with its panel.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from auth import session_cookies
from browser import browser_available, offline_page

needs_browser = pytest.mark.skipif(not browser_available(), reason="playwright/chromium missing")
DISTRICT = "320113"
#: ``GEO_GRID_SCREENSHOTS=DIR`` keeps the panel's screenshot for the docs.
SHOTS = os.environ.get("GEO_GRID_SCREENSHOTS")


def _rows(sql: str, **params) -> list[dict]:
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    with session_scope() as s:
        return [dict(r) for r in s.execute(text(sql), params).mappings()]


def _published(code: str) -> dict:
    """A published unified grid as the store has it, with a point inside, its community and
    street names, the names of its people on duty and the department grids at that point."""
    row = _rows(
        "SELECT g.code, g.name, g.households, c.name AS community, s.name AS street, "
        "ST_X(ST_PointOnSurface(g.geom)) AS lon, ST_Y(ST_PointOnSurface(g.geom)) AS lat "
        "FROM grid g JOIN generation n ON n.id = g.generation_id "
        "JOIN admin_area c ON c.code = g.community_code JOIN admin_area s ON s.code = g.street_code "
        "WHERE n.layer_key = 'unified' AND n.status = 'published' AND g.code = :c",
        c=code,
    )[0]
    people = _rows(
        "SELECT p.name FROM roster r JOIN person p ON p.id = r.person_id WHERE r.active "
        "AND r.layer_key = 'unified' AND r.grid_code = :c AND r.role <> 'party_household'",
        c=code,
    )
    depts = _rows(
        "SELECT n.layer_key, g.code FROM grid g JOIN generation n ON n.id = g.generation_id "
        "WHERE n.status = 'published' AND n.district_code = :d AND n.layer_key <> 'unified' "
        "AND ST_Intersects(g.geom, ST_SetSRID(ST_MakePoint(:x, :y), 4490)) "
        "ORDER BY n.layer_key, g.code",
        d=DISTRICT, x=row["lon"], y=row["lat"],
    )  # fmt: skip
    return {**row, "people": sorted(p["name"] for p in people),
            "depts": sorted(d["code"] for d in depts)}  # fmt: skip


@pytest.fixture(scope="module")
def grid(demo_db):
    """A grid with no case: on the cases map its inside has no marker to catch the click."""
    code = _rows(
        "SELECT g.code FROM grid g JOIN generation n ON n.id = g.generation_id "
        "WHERE n.layer_key = 'unified' AND n.status = 'published' AND n.district_code = :d "
        'AND NOT EXISTS (SELECT 1 FROM "case" c WHERE c.grid_code = g.code) '
        "AND g.households > 0 ORDER BY g.code LIMIT 1",
        d=DISTRICT,
    )[0]["code"]
    return _published(code)


@pytest.fixture(scope="module")
def plan(demo_db):
    from geo_grid.services import plans

    return plans.create_plan("unified", district=DISTRICT, note="识别测试", author="user:t")


@pytest.fixture(scope="module")
def store(demo_db):
    """The demo, its caches built anew for this module (conftest's ``server`` serves it)."""
    from geo_grid.services import index

    index.invalidate()
    return demo_db


@pytest.fixture(scope="module")
def cookies(server, accounts):
    return {role: session_cookies(server, accounts[role])
            for role in ("admin", "planner", "dispatcher", "leader")}  # fmt: skip


def _options(html: str) -> dict:
    found = re.search(r"geoGridIdentify\.attach\(map_\w+, (\{.*?\})\);", html, re.S)
    assert found, "no identify panel on the page"
    return json.loads(found.group(1))


def test_every_map_page_carries_the_panel_and_its_links_roles(client, grid, plan):
    pages = ["/map", "/map/checks/urban_mgmt", "/map/cases", "/map/indicators", "/map/services",
             f"/map/grid/{grid['code']}", f"/map/plan/{plan['id']}"]  # fmt: skip
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        options = _options(r.text)
        links = {link["key"]: link for link in options["links"]}
        assert options["locateUrl"] == "/api/v1/locate" and options["clicks"] is True, path
        assert links["cases"]["href"] == "/cases?grid={code}"
        assert "planner" not in links["cases"]["roles"] and "grid_worker" in links["cases"]["roles"]
        assert "grid_worker" not in links["indicators"]["roles"]
        assert options["layerNames"]["urban_mgmt"] == "城管网格"
        assert "/static/js/geo_grid_identify.js" in r.text
    dispatch = _options(client.get("/map/dispatch").text)
    assert dispatch["clicks"] is False and dispatch["links"]  # its clicks place cases


TO_SCREEN = """([lat, lon, zoom]) => {
  const map = window[Object.keys(window).find(k => k.startsWith("map_"))];
  map.setView([lat, lon], zoom, {animate: false});
  const p = map.latLngToContainerPoint([lat, lon]), box = map.getContainer().getBoundingClientRect();
  return [box.left + p.x, box.top + p.y];
}"""
PANEL = ".gg-identify:not([hidden]) h3 .gg-code"


def _identify(page, lat: float, lon: float, zoom: int = 16) -> dict:
    """Click the map at (lat, lon) and read the panel that opens."""
    page.wait_for_timeout(300)
    page.mouse.click(*page.evaluate(TO_SCREEN, [lat, lon, zoom]))
    page.wait_for_selector(PANEL, timeout=30_000)
    page.wait_for_function("() => document.querySelector('.gg-identify td')")
    return page.evaluate(
        """() => { const box = document.querySelector('.gg-identify');
          return {code: box.querySelector('h3 .gg-code').textContent,
                  title: box.querySelector('h3 span').textContent, text: box.innerText,
                  links: [...box.querySelectorAll('a[data-link]')].map(a => [a.dataset.link,
                          a.getAttribute('href')])}; }"""
    )


@pytest.mark.browser
@needs_browser
@pytest.mark.parametrize(
    "path",
    ["/map", "/map/checks/urban_mgmt", "/map/cases", "/map/indicators", "/map/services",
     "/map/grid/{code}", "/map/plan/{plan}"],
)  # fmt: skip
def test_a_click_on_each_map_page_identifies_the_grid(server, cookies, grid, plan, path):
    url = server + path.format(code=grid["code"], plan=plan["id"])
    with offline_page(cookies=cookies["admin"], locale="zh-CN") as (page, log):
        page.goto(url)
        page.wait_for_selector(".leaflet-control-layers", timeout=60_000)
        shown = _identify(page, grid["lat"], grid["lon"], 17)
    assert log.external_requests == [] and log.console_errors == [], log.console_errors
    assert shown["code"] == grid["code"] and shown["title"] == grid["name"], shown
    text = shown["text"]
    for fact in (grid["community"], grid["street"], f"{grid['households']} 户", *grid["people"],
                 *grid["depts"]):  # fmt: skip
        assert str(fact) in text, (path, fact, text)
    assert "部门网格" in text and "城管网格" in text
    assert shown["links"] == [
        ["grid", f"/map/grid/{grid['code']}"],
        ["cases", f"/cases?grid={grid['code']}"],
        ["indicators", f"/map/indicators?district={DISTRICT}#grid={grid['code']}"],
    ]
    if path == "/map/indicators":
        assert "指标" in text.split("本图信息")[1]  # the page's own word: its colour and rates


@pytest.mark.browser
@needs_browser
def test_links_follow_the_role_and_the_indicators_link_opens_on_the_grid(
    server, cookies, grid, tmp_path
):
    with offline_page(cookies=cookies["planner"], locale="zh-CN") as (page, log):
        page.goto(server + "/map")
        page.wait_for_selector(".leaflet-control-layers", timeout=60_000)
        planner = _identify(page, grid["lat"], grid["lon"], 17)
        page.mouse.move(1200, 700)  # onto the legend: no grid tooltip in the screenshot
        page.wait_for_timeout(300)
        page.screenshot(path=str(Path(SHOTS or tmp_path) / "identify_map.png"))
        page.click(".gg-identify a[data-link=indicators]")
        page.wait_for_selector(PANEL, timeout=60_000)
        page.wait_for_function("() => /本图信息/.test(document.querySelector('.gg-identify')"
                               ".innerText)", timeout=30_000)  # fmt: skip
        focused = page.inner_text(".gg-identify")
        centre = page.evaluate("""() => { const m = window[Object.keys(window).find(k =>
            k.startsWith("map_"))]; const c = m.getBounds(); return [c.getSouth(), c.getWest(),
            c.getNorth(), c.getEast()]; }""")
    assert log.external_requests == [] and log.console_errors == [], log.console_errors
    assert [k for k, _ in planner["links"]] == ["grid", "indicators"]  # no case list for planners
    assert grid["code"] in focused and "指标" in focused.split("本图信息")[1]
    south, west, north, east = centre
    assert south < grid["lat"] < north and west < grid["lon"] < east
    with offline_page(cookies=cookies["dispatcher"], locale="zh-CN") as (page, log):
        page.goto(server + "/map/dispatch")
        page.wait_for_selector(".leaflet-control-layers", timeout=60_000)
        page.wait_for_timeout(300)
        page.mouse.click(*page.evaluate(TO_SCREEN, [grid["lat"], grid["lon"], 17]))
        page.wait_for_selector(".gg-place a[data-link=cases]", timeout=30_000)
        place = page.inner_text(".gg-place")
        identify_panels = page.locator(".gg-identify").count()
    assert log.external_requests == [] and log.console_errors == [], log.console_errors
    assert grid["code"] in place and f"{grid['households']} 户" in place
    assert identify_panels == 0  # the dispatcher's clicks stay the dispatcher's


def test_the_warm_up_warms_the_very_page_the_map_route_serves(client, monkeypatch):
    """/map's cache key holds the panel's links (with their roles): the server's warm-up must
    build the page with the same, or the first person to open /map waits for it all again."""
    from api.main import _warm
    from geo_grid.services import maps

    maps.forget_pages()
    _warm()

    def built_again(*args, **kwargs):
        raise AssertionError("/map was built again: the warm-up warmed another page")

    monkeypatch.setattr(maps, "render", built_again)
    assert client.get("/map").status_code == 200


def test_a_district_without_a_published_layer_does_not_stop_the_warm_up(client, monkeypatch):
    """A district onboarded today has no unified grids until its planners publish some: the
    warm-up builds every other district's page and the geocoders anyway (it gave up on all of them
    at the first such district, and /health never said warm)."""
    from api.main import _warm
    from geo_grid.services import districts, index, maps

    stored = districts.profiles()
    bare = next(iter(stored.values()))  # a profile of a code with no layers at all: 东城区
    monkeypatch.setattr(districts, "profiles", lambda: {"110101": bare, **stored})
    maps.forget_pages()
    index.invalidate()
    _warm()
    assert index.ready()

    def built_again(*args, **kwargs):
        raise AssertionError("/map was built again: the warm-up stopped before it")

    monkeypatch.setattr(maps, "render", built_again)
    assert client.get("/map").status_code == 200


def test_the_map_pages_lead_to_the_pages_the_role_may_open(server, cookies):
    """Login lands on /map, which had no header: a dispatcher could not reach 受理登记 or 案件列表
    without typing the address. Every map page now folds the role's pages (those of the case
    pages' header, from the one role table) under a 页面 button; a click opens one."""
    import httpx

    from api.page_shell import NAV

    for role in ("dispatcher", "planner"):
        session = {c["name"]: c["value"] for c in cookies[role]}
        me = httpx.get(server + "/auth/me", cookies=session).json()
        assert me["pages"] and {p["href"] for p in me["pages"]} <= {href for href, _ in NAV}
        with offline_page(cookies=cookies[role], locale="zh-CN") as (page, log):
            page.goto(server + "/map/cases" if role == "dispatcher" else server + "/map")
            page.wait_for_selector(".gg-pages button", timeout=60_000)
            assert not page.is_visible(".gg-pages ul")  # folded
            page.click(".gg-pages button")
            shown = page.locator(".gg-pages a").all_inner_texts()
            assert shown == [p["label"] for p in me["pages"]], (role, shown)
            if role == "dispatcher":
                assert {"受理登记", "案件列表"} <= set(shown)
                page.click(".gg-pages a:text('受理登记')")
                page.wait_for_url("**/cases/new", timeout=30_000)
        assert log.external_requests == [] and log.console_errors == [], log.console_errors
    assert "/cases/new" not in {p["href"] for p in me["pages"]}  # the planner files no case
