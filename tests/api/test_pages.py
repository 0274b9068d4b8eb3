"""What a person reads: the API docs offline, Chinese everywhere, Beijing time, icons and refusals.

Over HTTP: ``/docs`` and ``/redoc`` name no CDN and load our copies; the OpenAPI document declares
the three login methods and applies them per :mod:`api.policy` (that every route has a summary
and a description: ``test_openapi.py``); the favicon is served; 403 and 404 of page routes are Chinese pages for a browser and
JSON for a script; the geocoder's and the manual queue's reasons come in Chinese too.

In headless Chromium with the network cut off, each as the role that uses it: Swagger UI logs in
with a real account's password (OAuth2 password flow in the Authorize dialog) and calls
``GET /api/v1/locate`` with "Try it out"; ReDoc renders; the checks map's popup, the controls of
every map, Leaflet.draw's buttons and hints and the dispatch queue show no English code word; the
scale bar is metric only; the icon loads; a case popup reads its time in Beijing time.

``GEO_GRID_SCREENSHOTS=docs/img`` saves ``api_docs.png`` and ``checks_popup.png`` for the docs.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from auth import login_client, session_cookies
from browser import browser_available, first_paint, is_local_url, offline_page, record_timing
from demo_cases import ensure_demo_cases, queue_unplaced

from geo_grid import labels
from geo_grid.assets import static_path

needs_browser = pytest.mark.skipif(not browser_available(), reason="playwright/chromium missing")
SHOTS = os.environ.get("GEO_GRID_SCREENSHOTS")
CDN = re.compile(r"cdn\.|jsdelivr|unpkg|cdnjs|googleapis|gstatic|validator\.swagger", re.I)
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
#: English words a person may see on a map: Leaflet's attribution link and the scale's unit.
ALLOWED_WORDS = {"Leaflet", "km"}
#: A word of Latin letters (codes such as CG3005123 or 320113001 are data, not words)
WORD = re.compile(r"\b[A-Za-z][A-Za-z_]*[A-Za-z]\b")
#: Code words of the domain that must never reach a person (every key of every label table).
CODE_WORDS = {
    str(key)
    for name in labels.__all__
    if name.isupper()
    for key in getattr(labels, name)
    if key and re.fullmatch(r"[a-z_0-9]+", str(key))
}


#: An address the demo's library cannot place at all (no road, 小区 or area in it)
UNKNOWN = "请问这是哪里"


def _english(text: str) -> list[str]:
    return [w for w in WORD.findall(text) if w not in ALLOWED_WORDS]


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def store(demo_db, demo):
    """The demo with cases (demo cases when there are few) and one case in the manual queue."""
    from geo_grid.services import index

    index.invalidate()
    ensure_demo_cases(demo)
    return {"queued": queue_unplaced("月球路1号", "占道经营（页面测试）")}


@pytest.fixture(scope="module")
def cookies(server, accounts):
    """Playwright cookies of logged-in sessions, by role."""
    return {
        role: session_cookies(server, accounts[role])
        for role in ("viewer", "planner", "dispatcher", "leader")
    }


def _shot(tmp_path: Path, name: str) -> Path:
    return Path(SHOTS) / name if SHOTS else tmp_path / name


# ------------------------------------------------------------------------------------ HTTP: docs
def test_docs_pages_load_our_copies_and_no_cdn(server):
    for path, assets in (
        ("/docs", ("swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-dist/swagger-ui.css")),
        ("/redoc", ("redoc/redoc.standalone.js",)),
    ):
        page = httpx.get(server + path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert not CDN.search(page.text), (path, CDN.findall(page.text))
        assert "/static/img/favicon.svg" in page.text
        for asset in assets:
            assert f"/static/vendor/{asset}" in page.text
            got = httpx.get(f"{server}/static/vendor/{asset}")
            assert got.status_code == 200 and len(got.content) > 100_000, asset


def test_openapi_declares_the_login_methods_per_the_policy_table(server):
    from api.policy import POLICY, PUBLIC, resolve

    doc = httpx.get(server + "/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["OAuth2"]["flows"]["password"]["tokenUrl"] == "/auth/token"
    assert schemes["BearerToken"] == {**schemes["BearerToken"], "type": "http", "scheme": "bearer"}
    assert schemes["ApiKey"]["in"] == "header" and schemes["ApiKey"]["name"] == "X-API-Key"
    every = [{"OAuth2": []}, {"BearerToken": []}, {"ApiKey": []}]
    seen = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            roles = resolve(POLICY[f"{method.upper()} {path}"])  # Open311 discovery: public
            if roles is PUBLIC:
                assert "security" not in op, (method, path)
            else:
                assert op["security"] == every, (method, path)
            seen += 1
    assert seen == len([k for k in POLICY if k.split()[1] in doc["paths"]]) >= 60


def test_the_icon_is_served_and_linked_from_every_page(server, accounts):
    ico = httpx.get(server + "/favicon.ico")
    assert ico.status_code == 200 and ico.headers["content-type"] == "image/x-icon"
    assert ico.content == (static_path() / "img" / "favicon.ico").read_bytes()
    assert ico.content[:4] == b"\x00\x00\x01\x00" and b"PNG" in ico.content[:40]
    svg = httpx.get(server + "/static/img/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    link = 'rel="icon" type="image/svg+xml" href="/static/img/favicon.svg"'
    assert link in httpx.get(server + "/login").text
    with contextlib.closing(login_client(server, accounts["admin"])) as client:
        for path in ("/map", "/map/checks/urban_mgmt", "/map/dispatch", "/map/services"):
            assert link in client.get(path).text, path
        assert link in client.get("/map/nothing", headers=HTML).text


# ------------------------------------------------------------------------------------ HTTP: pages
def test_refusals_of_pages_are_chinese_pages_for_browsers_and_json_for_scripts(server, accounts):
    with contextlib.closing(login_client(server, accounts["viewer"])) as viewer:
        page = viewer.get("/map/dispatch", headers=HTML)
        assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
        assert "无权访问" in page.text and "只读用户" in page.text and 'lang="zh-CN"' in page.text
        assert viewer.get("/map/dispatch").json()["error"]["message"].startswith("role:")
        for path in ("/map/checks/no_such_layer", "/map/grid/000000000000000", "/map/nothing"):
            page = viewer.get(path, headers=HTML)
            assert page.status_code == 404, path
            assert (
                page.headers["content-type"].startswith("text/html") and "页面不存在" in page.text
            )
        api = viewer.get("/api/v1/nothing", headers=HTML)  # API routes keep JSON, browser or not
        assert api.status_code == 404 and api.headers["content-type"] == "application/json"
        api = viewer.get("/api/v1/layers/no_such_layer/grids", headers=HTML)
        assert api.status_code == 404 and api.json()["error"]["message"]
        assert viewer.get("/map/checks/no_such_layer").json()["error"]["message"]
        # one handler for Starlette's own errors: JSON for scripts, 405 and OPTIONS as the API's
        assert viewer.get("/map/nothing").json()["error"]["message"] == "no such path: /map/nothing"
        wrong = viewer.post("/map", headers=HTML)
        assert wrong.status_code == 405 and wrong.headers["content-type"] == "application/json"
        assert "GET" in wrong.headers["allow"] and wrong.json()["error"]["message"]
        options = viewer.options("/map", headers=HTML)
        assert options.status_code == 204 and "GET" in options.headers["allow"]
    anonymous = httpx.get(server + "/map/cases", headers=HTML)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_reasons_come_in_chinese_next_to_the_english_ones(server, accounts, store):
    with contextlib.closing(login_client(server, accounts["dispatcher"])) as client:
        body = client.get("/api/v1/geocode", params={"q": UNKNOWN}).json()
        assert body["status"] == "unmatched" and body["reason"]
        assert body["reason_zh"] == labels.reason_zh(body["reason"]) and not _english(
            body["reason_zh"]
        )
        queue = client.get("/api/v1/cases/manual").json()["data"]
        mine = next(c for c in queue if c["id"] == store["queued"]["id"])
        assert mine["manual_reason"] and not _english(mine["manual_reason_zh"])
        case = client.get(f"/api/v1/cases/{store['queued']['id']}").json()
        assert case["manual_reason_zh"] == mine["manual_reason_zh"]


# ------------------------------------------------------------------------------------ browser
@pytest.mark.browser
@needs_browser
def test_swagger_ui_logs_in_and_tries_locate_offline(server, accounts, demo, tmp_path):
    """Journey (d) of issue 15: a developer opens ``/docs`` offline, authorizes with a demo
    account's password (OAuth2 password flow in the Authorize dialog), then "Try it out" on
    GET /api/v1/locate answers 200 with the grid under the point."""
    planner = accounts["planner"]
    point = demo.grids["unified"].geometry.iloc[10].representative_point()
    with offline_page(viewport=(1280, 1200)) as (page, log):
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        started = time.monotonic()
        page.goto(server + "/docs")
        page.wait_for_selector(".swagger-ui .btn.authorize", timeout=30_000)
        ready = round(page.evaluate("() => performance.now()"))
        paint = first_paint(page)
        page.click(".swagger-ui .btn.authorize")
        oauth = page.locator(".auth-container").filter(has_text="OAuth2")
        oauth.locator("#oauth_username").fill(planner.username)
        oauth.locator("#oauth_password").fill(planner.password)
        oauth.locator("button", has_text="Authorize").click()
        oauth.locator("button", has_text="Logout").wait_for(timeout=20_000)  # authorized
        oauth.locator(".btn-done").click()
        op = page.locator("#operations-geocoding-locate_api_v1_locate_get")
        op.locator(".opblock-summary").click()
        op.locator(".try-out__btn").click()
        op.locator('tr[data-param-name="lon"] input').fill(f"{point.x:.6f}")
        op.locator('tr[data-param-name="lat"] input').fill(f"{point.y:.6f}")
        op.locator(".execute").click()
        status = op.locator(".live-responses-table .response .response-col_status")
        status.wait_for(timeout=20_000)
        shown = status.inner_text().strip()
        elapsed = time.monotonic() - started
        body = op.locator(".live-responses-table .microlight").first.inner_text()
        op.evaluate("e => e.scrollIntoView({block: 'start'})")  # the route, its lock, the answer
        page.screenshot(path=str(_shot(tmp_path, "api_docs.png")))
    assert shown == "200", (shown, body[:300])
    assert demo.grids["unified"]["code"].iloc[10] in body
    assert log.external_requests == [] and log.console_errors == [], (
        log.external_requests, log.console_errors)  # fmt: skip
    assert all(is_local_url(r) for r in requests), requests
    assert f"{server}/auth/token" in requests
    record_timing(page="/docs", role="developer", viewport="desk", first_contentful_paint_ms=paint,
                  ready_ms=ready, server="first request")  # fmt: skip
    record_timing(journey="d", seconds=round(elapsed, 2))


@pytest.mark.browser
@needs_browser
def test_redoc_renders_offline(server, tmp_path):
    with offline_page() as (page, log):
        page.goto(server + "/redoc")
        page.wait_for_selector("h1", timeout=30_000)
        summary = "Which grids, community, street and people are responsible at a point."
        page.locator("h2", has_text=summary).first.wait_for(timeout=30_000)
        text = page.inner_text("body")
        page.screenshot(path=str(tmp_path / "redoc.png"))
    assert "geo-grid" in text and "OAuth2" in text and "X-API-Key" in text
    assert log.external_requests == [] and log.console_errors == [], (
        log.external_requests, log.console_errors)  # fmt: skip


CONTROLS = """() => {
  const c = document.querySelector(".leaflet-control-container");
  const lines = [...document.querySelectorAll(".leaflet-control-scale-line")];
  const icon = document.querySelector("link[rel=icon]");
  return {text: c ? c.innerText : "", scale: lines.map(l => l.innerText.trim()),
          icon: icon ? icon.href : null};
}"""

# "?check": Playwright treats a URL ending in /favicon.ico as the browser's own favicon request and
# does not pass it through request interception, so a plain fetch of it fails under offline_page
ICONS = """async (href) => {
  const a = await fetch(href), b = await fetch("/favicon.ico?check");
  return [a.status, a.headers.get("content-type"), b.status, b.headers.get("content-type")];
}"""


def _controls_read_chinese(page, name: str) -> None:
    """The map's controls (legend, layers, scale, panels): no code word, metric scale, our icon."""
    seen = page.evaluate(CONTROLS)
    assert not _english(seen["text"]), (name, _english(seen["text"]))
    assert not CODE_WORDS & set(WORD.findall(seen["text"])), name
    assert len(seen["scale"]) == 1 and re.fullmatch(r"\d+ k?m", seen["scale"][0]), (name, seen)
    assert seen["icon"] and seen["icon"].endswith("/static/img/favicon.svg"), name
    svg, svg_type, ico, ico_type = page.evaluate(ICONS, seen["icon"])
    assert (svg, ico) == (200, 200) and "svg" in svg_type and ico_type == "image/x-icon", name


def _click_at(page, latlng: list[float]) -> None:
    xy = page.evaluate(
        """([lat, lon]) => {
          const map = window[Object.keys(window).find(k => k.startsWith("map_"))];
          const p = map.latLngToContainerPoint([lat, lon]);
          const box = map.getContainer().getBoundingClientRect();
          return [box.left + p.x, box.top + p.y];
        }""",
        latlng,
    )
    page.mouse.click(*xy)


FIRST_PIN = """(label) => {
  // the first defect pin (a small dot drawn at a defect's centre) of the layer named label
  const map = window[Object.keys(window).find(k => k.startsWith("map_"))];
  for (const k of Object.keys(window)) {
    const g = window[k];
    if (!g || !g.geo || !g.features || !g.getLayers) continue;
    if (!g.features.length || g.features[0].properties.kind !== label) continue;
    const pin = g.getLayers().find(l => l !== g.geo && l.getLatLng);
    map.setView(pin.getLatLng(), 15, {animate: false});
    const c = pin.getLatLng();
    return [c.lat, c.lng];
  }
  return null;
}"""


@pytest.mark.browser
@needs_browser
def test_checks_map_popup_and_controls_read_chinese(server, cookies, tmp_path):
    with offline_page(cookies=cookies["planner"]) as (page, log):
        page.goto(server + "/map/checks/urban_mgmt")
        page.wait_for_selector(".leaflet-control-layers", timeout=30_000)
        _controls_read_chinese(page, "checks")
        at = page.evaluate(FIRST_PIN, labels.DEFECT_KIND["overlap"])
        assert at is not None, "no overlap on the 城管 layer's checks map"
        page.wait_for_timeout(300)
        _click_at(page, at)
        popup = page.wait_for_selector(".leaflet-popup-content", timeout=10_000)
        text = popup.inner_text()
        page.wait_for_timeout(400)  # the popup fades in
        page.screenshot(path=str(_shot(tmp_path, "checks_popup.png")))
    assert text.startswith("重叠") and "面积 (m²)" in text and "涉及网格" in text, text
    assert not _english(text) and not CODE_WORDS & set(WORD.findall(text)), text
    assert log.external_requests == [] and log.console_errors == [], log.console_errors


@pytest.mark.browser
@needs_browser
def test_every_map_reads_chinese_for_the_role_that_uses_it(server, cookies, store):
    pages = {
        "viewer": ["/map", "/map/services"],
        "leader": ["/map/indicators", "/map/cases"],
        "dispatcher": ["/map/dispatch"],
    }
    with offline_page() as (page, log):
        for role, paths in pages.items():
            page.context.clear_cookies()
            page.context.add_cookies(cookies[role])
            for path in paths:
                page.goto(server + path)
                page.wait_for_selector(".leaflet-control-layers", timeout=30_000)
                if path == "/map/dispatch":
                    page.wait_for_selector(f'.gg-panel li[data-id="{store["queued"]["id"]}"]')
                _controls_read_chinese(page, path)
                if path == "/map":  # the search box's answer for a place it cannot find
                    box = page.locator(".gg-search")
                    box.locator("input").fill(UNKNOWN)
                    box.locator("button").click()
                    msg = box.locator(".gg-search-msg")
                    page.wait_for_function(
                        "() => /未找到|不可用/.test(document.querySelector('.gg-search-msg')"
                        ".textContent)"
                    )
                    said = msg.inner_text()
                    assert said.startswith(f"未找到“{UNKNOWN}”：") and not _english(said), said
    assert log.external_requests == [] and log.console_errors == [], log.console_errors


@pytest.mark.browser
@needs_browser
def test_leaflet_draw_speaks_chinese_on_the_plan_page(server, cookies):
    from geo_grid.services import plans

    plan = plans.create_plan("unified", district="320113", note="绘图工具中文测试", author="test")
    with offline_page(cookies=cookies["planner"]) as (page, log):
        page.goto(f"{server}/map/plan/{plan['id']}")
        button = page.wait_for_selector(".leaflet-draw-draw-polyline", timeout=30_000)
        titles = page.eval_on_selector_all(".leaflet-draw a", "as => as.map(a => a.title)")
        button.click()
        page.wait_for_selector(".leaflet-draw-actions a", state="visible")
        actions = page.eval_on_selector_all(
            ".leaflet-draw-actions a", "as => as.filter(a => a.offsetParent).map(a => a.innerText)"
        )
        page.mouse.move(640, 400)
        hint = page.inner_text(".leaflet-draw-tooltip").strip()
        controls = page.inner_text(".leaflet-control-container")
        _controls_read_chinese(page, "plan")
    assert "画线（分割网格）" in titles and "画多边形（新的边界）" in titles, titles
    assert set(actions) >= {"完成", "删除最后一点", "取消"}, actions
    assert hint == "点击地图开始画线。", hint
    for english in ("Draw a polyline", "Finish", "Cancel", "Delete last point", "Click"):
        assert english not in " ".join([*titles, *actions, hint, controls])
    assert log.external_requests == [] and log.console_errors == [], log.console_errors


OPEN_CASE = """async (number) => {
  const map = window[Object.keys(window).find(k => k.startsWith("map_"))];
  const group = Object.values(window).find(v => v instanceof L.MarkerClusterGroup);
  const marker = group.getLayers().find(m => m.feature.properties.number === number);
  if (!marker) return null;
  await new Promise(done => group.zoomToShowLayer(marker, done));
  marker.openPopup();
  return document.querySelector(".leaflet-popup-content").innerText;
}"""


@pytest.mark.browser
@needs_browser
def test_a_case_popup_reads_its_time_in_beijing_time(server, cookies, accounts, store):
    with contextlib.closing(login_client(server, accounts["dispatcher"])) as client:
        rows = client.get("/api/v1/cases", params={"limit": 200}).json()["data"]
    case = next(c for c in rows if c["lon"] is not None and c["received_at"])
    received = datetime.fromisoformat(case["received_at"])
    assert received.utcoffset() is not None  # JSON keeps ISO 8601 with its offset
    local = received.astimezone(ZoneInfo("Asia/Shanghai"))  # the tz database, not our helper
    day = local.date()
    period = {"from": f"{day - timedelta(days=1)}", "to": f"{day + timedelta(days=2)}"}
    with offline_page(cookies=cookies["dispatcher"]) as (page, log):
        page.goto(f"{server}/map/cases?from={period['from']}&to={period['to']}")
        page.wait_for_selector(".leaflet-control-layers", timeout=30_000)
        info = page.inner_text(".gg-info")
        text = page.evaluate(OPEN_CASE, case["number"])
    assert text is not None, case["number"]
    assert re.search(rf"受理时间\s+{local:%Y-%m-%d %H:%M} \(北京时间\)", text), text
    assert labels.CASE_STATE[case["status"]] in text and case["status"] not in text
    assert f"{period['from']} 至 {day + timedelta(days=1)} (北京时间)" in info, info
    assert log.external_requests == [] and log.console_errors == [], log.console_errors


@pytest.mark.browser
@needs_browser
def test_refused_and_missing_pages_are_chinese_in_the_browser(server, cookies):
    with offline_page(cookies=cookies["viewer"]) as (page, log):
        refused = page.goto(server + "/map/dispatch")
        refused_text = page.inner_text("main")
        missing = page.goto(server + "/map/grid/000000000000000")
        missing_text = page.inner_text("main")
        page.click("text=返回网格地图")
        page.wait_for_selector(".leaflet-container", timeout=30_000)
    assert refused.status == 403 and "无权访问" in refused_text and "只读用户" in refused_text
    assert missing.status == 404 and "页面不存在" in missing_text
    for text in (refused_text, missing_text):
        visible = text.split("技术信息")[0]
        assert not _english(visible), visible
    assert log.external_requests == []
    # the browser notes the two refusals themselves, nothing else
    assert [re.sub(r".*status of (\d+).*", r"\1", e) for e in log.console_errors] == [
        "403", "404"], log.console_errors  # fmt: skip


#: Records every line a job's progress box shows, in the tab's sessionStorage (it outlives the
#: reload that ends the work), so a test reads them all whatever their speed.
RECORD_JOB_LINES = """(selector) => {
  sessionStorage.setItem("jobLines", "[]");
  const keep = () => {
    const el = document.querySelector(selector);
    if (!el) return;
    const lines = JSON.parse(sessionStorage.getItem("jobLines"));
    if (lines[lines.length - 1] !== el.textContent) lines.push(el.textContent);
    sessionStorage.setItem("jobLines", JSON.stringify(lines));
  };
  new MutationObserver(keep).observe(document.body, {subtree: true, childList: true,
                                                     characterData: true});
}"""


def _run_from_page(page, button: str, box: str) -> list[str]:
    """Click ``button``, follow the job's lines in ``box`` until the page reloads; the lines."""
    page.evaluate(RECORD_JOB_LINES, box)
    with page.expect_navigation(timeout=300_000):
        page.click(button)
    page.wait_for_selector(button, timeout=60_000)
    return page.evaluate("() => JSON.parse(sessionStorage.getItem('jobLines'))")


@pytest.mark.browser
@needs_browser
def test_pages_show_the_progress_of_the_jobs_they_start(server, cookies, tmp_path):
    """The checks map's 重新检查 and the plan page's 全部采纳建议 start jobs; the page shows
    their progress in Chinese, then reloads with the result."""
    from geo_grid.services import plans

    plan = plans.create_plan("unified", district="320113", note="全部采纳测试", author="test")
    with offline_page(cookies=cookies["planner"]) as (page, log):
        page.goto(server + "/map/checks/emergency")
        page.wait_for_selector(".gg-job-start", timeout=30_000)
        assert page.inner_text(".gg-job-start") == "重新检查"
        checked = _run_from_page(page, ".gg-job-start", ".gg-job-msg")
        page.goto(f"{server}/map/plan/{plan['id']}")
        page.wait_for_selector(".gg-accept-all", timeout=30_000)
        accepted = _run_from_page(page, ".gg-accept-all", ".gg-plan-msg")
        page.screenshot(path=str(_shot(tmp_path, "plan_after_accept_all.png")))
    # queued: "排队中 0%"; running: its stage too, "执行中 45%（查找缝隙）" (a quick job may
    # be seen queued only; "排队中 0%（排队中）" said it twice until 7 December)
    progress = r"覆盖检查：(排队中 \d+%|执行中 \d+%（.+）)"
    assert any(re.fullmatch(progress, line) for line in checked), checked
    assert checked[-1] == "已完成，正在刷新…", checked
    assert any(line.startswith("采纳调整建议：执行中") for line in accepted), accepted
    assert re.fullmatch(r"已采纳 \d+ 条建议，正在刷新…", accepted[-1]), accepted
    for line in checked + accepted:
        assert not _english(line) and not CODE_WORDS & set(WORD.findall(line)), line
    assert plans.get_plan(plan["id"])["edits"] > 0
    assert log.external_requests == [] and log.console_errors == [], log.console_errors
