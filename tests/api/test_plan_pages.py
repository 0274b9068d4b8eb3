"""The planner's pages and the API behind them: /plans, /plans/{id}, undo, the plan's roster.

Over HTTP and through the services: the plans list by layer and state (who may start a plan,
Chinese refusals), undo as an edit appended to the log that puts the replaced grids back bit for
bit (the log and the kept grids append-only), the roster a plan adds to a split's new grid
(refusals naming the field, added by the publish in its transaction and not at all when the
publish fails), the draft's grids with their band and people on duty, and ``/cases?grid=``.

In headless Chromium (Debian's ``chromium``, every request off 127.0.0.1 refused), journey (c) of
issue 15: a planner starts a plan at /plans, finds an over-full grid in the balance panel, splits
it by drawing a line, sees both halves inside the band before accepting, fills the new grid's
roster, checks and publishes with a confirmation, and /map shows the new grids; the view stays
where it was after 接受. Then merge, move buildings and undo through the page.

The module runs on a private copy of the demo database (:mod:`db_copy`): it publishes the demo
district's unified layer, which every other module reads. ``GEO_GRID_SCREENSHOTS=DIR`` keeps the
pages' screenshots; ``GEO_GRID_TIMINGS=FILE`` appends each page's first paint and the journey's
time (JSON lines).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest
import shapely
from api_server import serve_in_thread
from auth import login_client, session_cookies
from browser import browser_available, first_paint, offline_page, record_timing
from db_copy import copied_database
from shapely.geometry import shape

needs_browser = pytest.mark.skipif(not browser_available(), reason="playwright/chromium missing")
SHOTS = os.environ.get("GEO_GRID_SCREENSHOTS")
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
BEIJING = ZoneInfo("Asia/Shanghai")
DISTRICT = "320113"
DESK = (1366, 900)
PHONE = (390, 844)


# ------------------------------------------------------------------------------------ store
def _rows(sql: str, **params) -> list[dict]:
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    with session_scope() as s:
        return [dict(r) for r in s.execute(text(sql), params).mappings()]


def _overfull() -> list[str]:
    """The published unified grids above the band, fullest first (the demo makes a few)."""
    rows = _rows(
        "SELECT g.code FROM grid g JOIN generation n ON n.id = g.generation_id "
        "WHERE n.layer_key = 'unified' AND n.status = 'published' AND n.district_code = :d "
        "AND g.households > 500 ORDER BY g.households DESC, g.code",
        d=DISTRICT,
    )
    return [r["code"] for r in rows]


def props_geometry(collection: dict, code: str) -> dict:
    """The geometry of feature ``code`` of a FeatureCollection."""
    return next(f["geometry"] for f in collection["features"] if f["properties"]["code"] == code)


def _draft_grid(plan_id: int, code: str):
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope

    with session_scope() as s:
        gid = repos.plans.get_plan(s, plan_id)["generation_id"]
        return repos.grids.read_grids(s, generation_id=gid, codes=[code]).geometry.iloc[0]


def balanced_line(plan_id: int, code: str, band: tuple[int, int] = (300, 500)) -> dict:
    """A straight line across grid ``code`` of the plan that splits it into two halves inside the
    band, found as a planner would: trying lines between buildings with the API's preview."""
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope
    from geo_grid.errors import BadInput
    from geo_grid.services import plans

    grid = _draft_grid(plan_id, code)
    with session_scope() as s:
        near = repos.plans.read_buildings(s, district=DISTRICT, bbox=grid.bounds)
    points = shapely.point_on_surface(near.geometry.to_numpy())
    points = points[shapely.contains(grid, points)]
    minx, miny, maxx, maxy = grid.bounds
    for axis in (0, 1):
        values = np.sort(shapely.get_coordinates(points)[:, axis])
        for a, b in sorted(zip(values[:-1], values[1:], strict=True), key=lambda ab: abs(
                (ab[0] + ab[1]) / 2 - values.mean())):  # fmt: skip
            m = float((a + b) / 2)
            ends = ([[m, miny - 3e-4], [m, maxy + 3e-4]] if axis == 0
                    else [[minx - 3e-4, m], [maxx + 3e-4, m]])  # fmt: skip
            line = {"type": "LineString", "coordinates": ends}
            with contextlib.suppress(BadInput):
                done = plans.edit(plan_id, "split", {"grid": code, "line": line}, dry_run=True)
                halves = [g["households"] for g in done["impact"]["balance"]]
                if len(halves) == 2 and all(band[0] <= h <= band[1] for h in halves):
                    return line
    raise AssertionError(f"no straight line splits {code} into two halves inside {band}")


@pytest.fixture(scope="module")
def planning_db(demo_db, accounts):
    """A private copy of the demo database (the accounts made first, so they are in it)."""
    with copied_database(demo_db, "plans") as url:
        yield url


@pytest.fixture(scope="module")
def server(planning_db):
    from api.main import app

    with serve_in_thread(app) as base:
        yield base


@pytest.fixture(scope="module")
def cookies(server, accounts):
    return {role: session_cookies(server, accounts[role])
            for role in ("planner", "leader", "viewer", "admin", "dispatcher")}  # fmt: skip


def _shot(tmp_path: Path, name: str) -> Path:
    return Path(SHOTS) / name if SHOTS else tmp_path / name


def _clean(log) -> None:
    assert log.external_requests == [], log.external_requests
    assert log.console_errors == [], log.console_errors
    assert log.dialogs == [], log.dialogs


# ------------------------------------------------------------------------------------ HTTP
def test_plans_page_lists_by_layer_and_state_and_only_planners_start_one(
    server, accounts, scratch_layer
):
    from geo_grid.services import plans

    key, _ = scratch_layer("street_code = '320113003'")
    published = plans.create_plan(key, district=DISTRICT, note="测试图层方案", author="user:x")
    plans.publish(published["id"], author="user:x")
    open_one = plans.create_plan("unified", district=DISTRICT, note="<b>列表</b>测试",
                                 author="user:t.planner")  # fmt: skip
    with contextlib.ExitStack() as stack:
        client = {role: stack.enter_context(contextlib.closing(login_client(server, accounts[role])))
                  for role in ("planner", "leader", "dispatcher")}  # fmt: skip
        every = client["planner"].get("/plans").text
        unified = client["planner"].get("/plans", params={"layer": "unified"}).text
        done = client["planner"].get("/plans", params={"status": "published"}).text
        leader = client["leader"].get("/plans").text
        refused = client["dispatcher"].get("/plans", headers=HTML)
        bad = client["planner"].get("/plans", params={"status": "someday"}, headers=HTML)
    shown = lambda page: set(map(int, re.findall(r'data-id="(\d+)"', page)))  # noqa: E731
    assert {published["id"], open_one["id"]} <= shown(every)
    assert open_one["id"] in shown(unified) and published["id"] not in shown(unified)
    assert published["id"] in shown(done) and open_one["id"] not in shown(done)
    row = every.split(f'data-id="{open_one["id"]}"')[1].split("</tr>")[0]
    created = datetime.fromisoformat(str(open_one["created_at"])).astimezone(BEIJING)
    assert "全科网格" in row and "编辑中" in row and f"{created:%Y-%m-%d %H:%M}" in row
    assert "&lt;b&gt;列表&lt;/b&gt;测试" in row and "t.planner" in row  # the note as typed, escaped
    assert "测试规划" in done and "已发布" in done and "时间均为北京时间" in every
    assert 'id="gg-create"' in every and 'id="gg-create"' not in leader  # a leader only reads
    assert refused.status_code == 403 and "无权访问" in refused.text and "调度员" in refused.text
    assert bad.status_code == 422 and "填写有误" in bad.text


def test_undo_puts_the_grids_back_and_keeps_the_log(server, accounts):
    from sqlalchemy import text

    from geo_grid.access import Principal
    from geo_grid.db.session import session_scope
    from geo_grid.errors import Forbidden
    from geo_grid.services import plans

    headers = accounts["planner"].headers
    api = httpx.Client(base_url=server, headers=headers, timeout=120)
    pid = api.post("/api/v1/plans", json={"note": "撤销测试"}).json()["id"]
    code = _overfull()[-1]
    line = balanced_line(pid, code)
    before = {c: _draft_grid(pid, c).wkb for c in (code,)}
    split = api.post(f"/api/v1/plans/{pid}/split", json={"grid": code, "line": line}).json()
    new = split["added"][0]
    siblings = _rows(
        "SELECT g.code FROM grid g JOIN plan p ON p.generation_id = g.generation_id "
        "WHERE p.id = :p AND g.community_code = :c AND g.code NOT IN (:a, :b) ORDER BY g.code",
        p=pid, c=code[:12], a=code, b=new,
    )  # fmt: skip
    pair = next(
        (a["code"], b["code"]) for a in siblings for b in siblings
        if a["code"] < b["code"] and _draft_grid(pid, a["code"]).touches(_draft_grid(pid, b["code"]))
    )  # fmt: skip
    before.update({c: _draft_grid(pid, c).wkb for c in pair})
    merged = api.post(f"/api/v1/plans/{pid}/merge", json={"grids": list(pair)})
    assert merged.status_code == 200, merged.text
    street = Principal("t.other.street", "planner", "street", "320113009")
    with pytest.raises(Forbidden):  # an edit outside a street planner's street is not theirs
        plans.undo(pid, viewer=street)
    first = api.post(f"/api/v1/plans/{pid}/undo")
    assert first.status_code == 200, first.text
    assert first.json()["undone"] == merged.json()["seq"] and first.json()["op"] == "merge"
    assert sorted(first.json()["restored"]) == sorted(pair)
    assert {c: _draft_grid(pid, c).wkb for c in pair} == {c: before[c] for c in pair}
    second = api.post(f"/api/v1/plans/{pid}/undo").json()
    assert second["undone"] == split["seq"] and second["removed"] == [new]
    assert _draft_grid(pid, code).wkb == before[code]
    third = api.post(f"/api/v1/plans/{pid}/undo")
    assert third.status_code == 409 and third.json()["error"]["field"] == "plan"
    summary = api.get(f"/api/v1/plans/{pid}/diff").json()["summary"]
    assert (summary["added"], summary["changed"], summary["removed"]) == (0, 0, 0)
    log = api.get(f"/api/v1/plans/{pid}").json()["log"]
    assert [(e["op"], e["params"].get("seq")) for e in log] == [
        ("split", None), ("merge", None), ("undo", merged.json()["seq"]), ("undo", split["seq"])
    ]  # fmt: skip
    grids = api.get(f"/api/v1/plans/{pid}/grids").json()["features"]
    assert len(grids) == 1063 and not any(f["properties"]["change"] for f in grids)
    with pytest.raises(Exception, match="append-only"), session_scope() as s:
        s.execute(text("DELETE FROM plan_edit_grid WHERE plan_id = :p"), {"p": pid})
    api.close()


def test_a_new_grids_roster_joins_the_roster_with_the_publish_only(server, accounts, monkeypatch):
    from geo_grid.db import repos
    from geo_grid.services import index, plans

    api = httpx.Client(base_url=server, headers=accounts["planner"].headers, timeout=120)
    pid = api.post("/api/v1/plans", json={"note": "在岗人员测试"}).json()["id"]
    code = _overfull()[-2]
    line = balanced_line(pid, code)
    new = api.post(f"/api/v1/plans/{pid}/split", json={"grid": code, "line": line}).json()
    new = new["added"][0]
    grids = api.get(f"/api/v1/plans/{pid}/grids", params={"codes": f"{code},{new}"}).json()
    props = {f["properties"]["code"]: f["properties"] for f in grids["features"]}
    assert props[new]["on_duty"] == 0 and props[new]["change"] == "added"
    assert props[code]["on_duty"] > 0 and props[code]["change"] == "changed"
    assert all(300 <= p["households"] <= 500 and p["status"] == "in" for p in props.values())
    assert {(p["low"], p["high"]) for p in props.values()} == {(300, 500)}
    form = api.get(f"/api/v1/plans/{pid}/roster/{new}").json()
    assert form["stored"] == [] and form["planned"] == [] and form["on_duty"] == 0
    assert form["candidates"][0]["grid_code"] == code  # the split grid's own people first
    assert api.post(f"/api/v1/plans/{pid}/validate").json()["unstaffed"] == [new]
    person = form["candidates"][0]["person_id"]
    url = f"/api/v1/plans/{pid}/roster/{new}"
    unknown = api.put(url, json={"entries": [{"person_id": "P0", "role": "grid_worker"}]})
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "person_id"
    households = api.put(url, json={"entries": [{"person_id": person, "role": "party_household"}]})
    assert households.status_code == 422  # 党员中心户 are households, not people on duty
    elsewhere = api.put(f"/api/v1/plans/{pid}/roster/320113999999999",
                        json={"entries": [{"person_id": person, "role": "grid_worker"}]})  # fmt: skip
    assert elsewhere.status_code == 404 and elsewhere.json()["error"]["field"] == "grid"
    saved = api.put(url, json={"entries": [{"person_id": person, "role": "grid_leader"}]})
    assert saved.status_code == 200 and saved.json()["on_duty"] == 1
    assert api.post(f"/api/v1/plans/{pid}/validate").json()["unstaffed"] == []

    def on_roster() -> list[dict]:
        return _rows("SELECT person_id, role FROM roster WHERE layer_key = 'unified' AND active "
                     "AND grid_code = :g", g=new)  # fmt: skip

    def fail(*args, **kwargs):
        raise RuntimeError("the publish breaks after the roster was written")

    monkeypatch.setattr(repos.plans, "set_plan_status", fail)
    with pytest.raises(RuntimeError):
        plans.publish(pid, author="user:t.planner")
    monkeypatch.undo()
    assert on_roster() == [] and plans.get_plan(pid)["status"] == "open"  # all or nothing
    published = api.post(f"/api/v1/plans/{pid}/publish")
    assert published.status_code == 200, published.text
    assert published.json()["roster_added"] == 1 and published.json()["unstaffed"] == []
    assert on_roster() == [{"person_id": person, "role": "grid_leader"}]
    index.invalidate()
    p = shape(props_geometry(grids, new)).representative_point()
    located = api.get("/api/v1/locate", params={"lon": p.x, "lat": p.y, "crs": "cgcs2000"}).json()
    assert located["grid_code"] == new and [r["person_id"] for r in located["roster"]] == [person]
    api.close()


def test_a_maps_case_link_narrows_the_inbox_to_one_grid(server, accounts):
    grid = _rows('SELECT grid_code FROM "case" WHERE grid_code IS NOT NULL GROUP BY grid_code '
                 "ORDER BY count(*) DESC, grid_code LIMIT 1")[0]["grid_code"]  # fmt: skip
    with contextlib.closing(login_client(server, accounts["dispatcher"])) as client:
        page = client.get("/cases", params={"box": "all", "grid": grid}).text
        bad = client.get("/cases", params={"grid": "x y"})
    total = _rows('SELECT count(*) AS n FROM "case" WHERE grid_code = :g', g=grid)[0]["n"]
    assert f'id="gg-total">{total}<' in page and f"网格 {grid}" in page
    assert set(re.findall(r"网格 (\d{15})</span>", page)) <= {grid}
    assert f'data-box="all">{total}<' in page  # the counts are the grid's too
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "grid"


# ------------------------------------------------------------------------------------ browser
TO_SCREEN = """([lat, lon]) => {
  const m = window.geoGridWorkspace.map, p = m.latLngToContainerPoint([lat, lon]);
  const b = m.getContainer().getBoundingClientRect();
  return [b.left + p.x, b.top + p.y];
}"""
VIEW = """() => { const m = window.geoGridWorkspace.map, c = m.getCenter();
  return [Number(c.lat.toFixed(7)), Number(c.lng.toFixed(7)), m.getZoom()]; }"""
LOADED = "() => Number(document.getElementById('gg-plan-map').dataset.loaded) > 0"


def _fit(page, coords) -> None:
    """Zoom the workspace's map to ``coords`` ([lon, lat] pairs), as a person would."""
    xs, ys = [c[0] for c in coords], [c[1] for c in coords]
    page.evaluate(
        "([s, w, n, e]) => { window.geoGridWorkspace.map.fitBounds([[s, w], [n, e]],"
        " {padding: [70, 70], animate: false}); }",
        [min(ys), min(xs), max(ys), max(xs)],
    )
    page.wait_for_timeout(300)


def _draw_line(page, line: dict) -> None:
    """Draw ``line`` with the split tool: a click at each end, the last one again to finish."""
    ends = [[y, x] for x, y in line["coordinates"]]
    _fit(page, line["coordinates"])
    page.click(".gg-tool[data-tool=split]")
    for end in ends:
        page.mouse.click(*page.evaluate(TO_SCREEN, end))
        page.wait_for_timeout(150)
    page.mouse.click(*page.evaluate(TO_SCREEN, ends[-1]))


def _click_grid(page, plan_id: int, code: str) -> None:
    """Click inside grid ``code`` of the plan (a point on its surface)."""
    p = _draft_grid(plan_id, code).representative_point()
    page.mouse.click(*page.evaluate(TO_SCREEN, [p.y, p.x]))
    page.wait_for_timeout(150)


@pytest.mark.browser
@needs_browser
def test_journey_c_a_planner_splits_an_overfull_grid_staffs_it_and_publishes(
    server, cookies, tmp_path
):
    from geo_grid.services import plans

    code = _overfull()[0]
    with offline_page(DESK, cookies["planner"], locale="zh-CN") as (page, log):
        started = time.monotonic()
        page.goto(server + "/plans")
        list_paint = first_paint(page)
        page.screenshot(path=str(_shot(tmp_path, "plans.png")), full_page=True)
        if not page.is_visible("#gg-create"):
            page.click(".gg-create summary")
        page.select_option("#gg-create select[name=layer]", "unified")
        page.fill("#gg-create textarea[name=note]", f"{code} 超过 500 户，分为两个网格")
        page.click("#gg-create button[type=submit]")
        page.wait_for_url(re.compile(r"/plans/\d+$"))
        plan_id = int(page.url.rsplit("/", 1)[1])
        workspace_paint = first_paint(page)
        page.wait_for_function(LOADED, timeout=60_000)
        # the balance panel lists the over-full grids; the fullest first
        page.click("#gg-balance-text button[data-status=over]")
        first = page.get_attribute("#gg-band-list li", "data-code")
        page.click(f'#gg-band-list li[data-code="{code}"] button')
        line = balanced_line(plan_id, code)  # where a planner would draw, between buildings
        _draw_line(page, line)
        page.wait_for_selector(".gg-accept", timeout=60_000)
        halves = page.eval_on_selector_all(
            ".gg-pv", "ls => ls.map(l => [l.dataset.code, l.className, l.innerText])"
        )
        page.wait_for_timeout(300)
        page.screenshot(path=str(_shot(tmp_path, "plan_split_preview.png")))
        view = page.evaluate(VIEW)
        page.click(".gg-accept")
        page.wait_for_function(
            "() => /已写入方案/.test(document.getElementById('gg-tool-msg').textContent)",
            timeout=60_000,
        )
        after_view = page.evaluate(VIEW)
        new = plans.get_plan(plan_id)["log"][-1]["impact"]["grids"][-1]["code"]
        flagged = page.eval_on_selector_all(
            "#gg-staff-list li", "ls => ls.map(l => l.dataset.code)"
        )
        page.click(f'#gg-staff-list li[data-code="{new}"] .gg-btn')
        page.wait_for_selector("#gg-roster select[name=person]")
        person = page.eval_on_selector("#gg-roster select[name=person]", "s => s.options[0].text")
        page.select_option("#gg-roster select[name=role]", "grid_worker")
        page.click("#gg-roster .gg-roster-add button")
        # and a person the roster does not have yet, as its 网格长 (a wrong phone first)
        page.fill("#gg-roster input[name=new_name]", "赵新来")
        page.fill("#gg-roster input[name=new_phone]", "电话")
        page.select_option("#gg-roster select[name=new_role]", "grid_leader")
        page.click("#gg-roster-add-new")
        wrong_phone = page.inner_text("#gg-roster .gg-msg")
        page.fill("#gg-roster input[name=new_phone]", "139 2222 3333")
        page.click("#gg-roster-add-new")
        listed = page.inner_text("#gg-roster .gg-duty")
        page.click("#gg-roster-save")
        page.wait_for_function("() => /已保存/.test(document.querySelector('#gg-roster .gg-msg')"
                               ".textContent)", timeout=30_000)  # fmt: skip
        page.wait_for_selector("#gg-staff", state="hidden")
        page.screenshot(path=str(_shot(tmp_path, "plan_workspace.png")))
        page.click("#gg-validate")
        page.wait_for_selector("#gg-check-out .gg-ok-line", timeout=60_000)
        checked = page.inner_text("#gg-check-out")
        page.click("#gg-publish")
        page.wait_for_selector("#gg-confirm:not([hidden])", timeout=60_000)
        confirm = page.inner_text("#gg-confirm-body")
        page.screenshot(path=str(_shot(tmp_path, "plan_publish_confirm.png")))
        page.click("#gg-confirm-yes")
        page.wait_for_selector("#gg-to-map", timeout=120_000)
        published = page.inner_text("#gg-check-out")
        status = page.inner_text("#gg-plan-status")
        log_text = page.inner_text("#gg-log")
        main_text = page.inner_text("main")
        page.click("#gg-to-map")
        page.wait_for_url(re.compile(r"/map\?district="))
        page.wait_for_selector(".leaflet-control-layers", timeout=60_000)
        shown = page.content()
        elapsed = time.monotonic() - started
        warm = {}  # each page again, the browser warm (its fonts and scripts cached)
        for path in ("/plans", f"/plans/{plan_id}"):
            page.goto(server + path)
            warm[path] = first_paint(page)
        page.wait_for_function(LOADED, timeout=60_000)
        drawn = round(page.evaluate("() => performance.now()"))  # the grids fetched and drawn
    _clean(log)
    assert first == code  # the fullest grid heads the list
    assert [h[0] for h in halves] == [code, new] and all("gg-pv-in" in h[1] for h in halves)
    assert all("户数适中（300–500）" in h[2] for h in halves), halves
    assert after_view == view  # 接受 keeps the view where it was
    assert flagged == [new]
    assert "检查通过" in checked and "每个网格都有在岗人员" in checked
    assert "新增 1、调整 1、撤销 0 个网格" in confirm and "无人在岗" not in confirm
    assert status == "已发布" and "2 人加入在岗名册" in published
    assert "电话号码格式不对" in wrong_phone and "赵新来" in listed and "新增人员" in listed
    name = person.split("（")[0]
    staffed = _rows("SELECT p.name, p.phone, r.role FROM roster r JOIN person p ON p.id = r.person_id "
                    "WHERE r.grid_code = :g AND r.active ORDER BY r.role", g=new)  # fmt: skip
    assert [(r["name"], r["role"]) for r in staffed] == [("赵新来", "grid_leader"),
                                                         (name, "grid_worker")]  # fmt: skip
    assert staffed[0]["phone"] == "139 2222 3333"
    assert code in shown and new in shown  # /map draws both halves from the new generation
    entries = plans.get_plan(plan_id)["log"]
    for e in entries:  # every step of the log in Beijing time, to the second
        at = datetime.fromisoformat(str(e["created_at"])).astimezone(BEIJING)
        assert f"{at:%Y-%m-%d %H:%M:%S}" in log_text
    words = set(re.findall(r"[A-Za-z][A-Za-z_]+", main_text)) - {"t", "planner", "Leaflet", "km"}
    assert not words, words  # the page's own words are Chinese
    record_timing(
        page="/plans", role="planner", first_contentful_paint_ms=list_paint, browser="cold"
    )
    record_timing(page="/plans/{id}", role="planner", first_contentful_paint_ms=workspace_paint)
    record_timing(
        page="/plans", role="planner", first_contentful_paint_ms=warm["/plans"], browser="warm"
    )
    record_timing(page="/plans/{id}", role="planner", browser="warm",
            first_contentful_paint_ms=warm[f"/plans/{plan_id}"], grids_drawn_ms=drawn)  # fmt: skip
    record_timing(journey="c", seconds=round(elapsed, 2))


@pytest.mark.browser
@needs_browser
def test_merge_move_buildings_and_undo_in_the_workspace(server, cookies, tmp_path):
    from geo_grid.services import plans

    plan = plans.create_plan("unified", district=DISTRICT, note="合并、移楼栋与撤销",
                             author="user:t.planner")  # fmt: skip
    pid = plan["id"]
    grids = plans.plan_grids(pid)
    community = grids.loc[grids["status"] == "in", "community_code"].value_counts().index[0]
    mine = grids.loc[grids["community_code"] == community].reset_index(drop=True)
    a, b = next(
        (mine.loc[i, "code"], mine.loc[j, "code"]) for i in range(len(mine))
        for j in range(i + 1, len(mine)) if mine.geometry[i].touches(mine.geometry[j])
    )  # fmt: skip
    with offline_page(DESK, cookies["planner"], locale="zh-CN") as (page, log):
        page.goto(f"{server}/plans/{pid}")
        page.wait_for_function(LOADED, timeout=60_000)
        both = [*shapely.get_coordinates(_draft_grid(pid, a)), *shapely.get_coordinates(
            _draft_grid(pid, b))]  # fmt: skip
        _fit(page, [list(c) for c in both])
        view = page.evaluate(VIEW)
        page.click(".gg-tool[data-tool=merge]")
        _click_grid(page, pid, a)
        _click_grid(page, pid, b)
        page.click("#gg-preview button:text-is('预览合并')")
        page.wait_for_selector(".gg-accept", timeout=60_000)
        merged_preview = page.inner_text("#gg-preview")
        page.click(".gg-accept")
        page.wait_for_function("() => /第 1 步/.test(document.getElementById('gg-tool-msg')"
                               ".textContent)", timeout=60_000)  # fmt: skip
        after_merge = plans.get_plan(pid)["log"][-1]
        kept = after_merge["params"]["keep"]
        gone = a if kept == b else b
        gone_drawn = page.evaluate(f"() => '{gone}' in window.geoGridWorkspace.state.byCode")
        # the building of the merged grid nearest a neighbour of its community moves there
        neighbour = next(
            c for c in grids["code"]
            if c not in (a, b) and _draft_grid(pid, c).touches(_draft_grid(pid, kept))
            and grids.loc[grids["code"] == c, "community_code"].iloc[0] == community
        )  # fmt: skip
        page.click(".gg-tool[data-tool=move]")
        _click_grid(page, pid, kept)
        page.wait_for_function("() => window.geoGridWorkspace.state.buildings", timeout=30_000)
        target_grid = _draft_grid(pid, neighbour)
        buildings = plans.plan_buildings(pid, kept)
        nearest = buildings.iloc[[int(np.argmin(shapely.distance(buildings.geometry.values,
                                                                 target_grid)))]]  # fmt: skip
        p = nearest.geometry.iloc[0].representative_point()
        page.evaluate("([lat, lon]) => { window.geoGridWorkspace.map.setView([lat, lon], 18,"
                      " {animate: false}); }", [p.y, p.x])  # fmt: skip
        page.wait_for_timeout(300)
        page.mouse.click(*page.evaluate(TO_SCREEN, [p.y, p.x]))
        page.click("#gg-preview button:text-is('选择目标网格')")
        t = target_grid.representative_point()
        page.evaluate("([lat, lon]) => { window.geoGridWorkspace.map.setView([lat, lon], 16,"
                      " {animate: false}); }", [t.y, t.x])  # fmt: skip
        page.wait_for_timeout(300)
        _click_grid(page, pid, neighbour)
        page.wait_for_selector(".gg-accept", timeout=60_000)
        moved_preview = page.inner_text("#gg-preview")
        page.click(".gg-accept")
        page.wait_for_function("() => /第 2 步/.test(document.getElementById('gg-tool-msg')"
                               ".textContent)", timeout=60_000)  # fmt: skip
        page.evaluate("([s, w, n, e]) => { window.geoGridWorkspace.map.fitBounds([[s, w], [n, e]],"
                      " {animate: false}); }", [view[0] - 0.001, view[1] - 0.001, view[0] + 0.001,
                                                view[1] + 0.001])  # fmt: skip
        undo_view = page.evaluate(VIEW)
        page.click("#gg-undo")
        page.wait_for_function("() => /已撤销第 2 步/.test(document.getElementById('gg-tool-msg')"
                               ".textContent)", timeout=60_000)  # fmt: skip
        page.click("#gg-undo")
        page.wait_for_function("() => /已撤销第 1 步/.test(document.getElementById('gg-tool-msg')"
                               ".textContent)", timeout=60_000)  # fmt: skip
        back = page.evaluate(f"() => ['{a}', '{b}'].every(c => c in window.geoGridWorkspace"
                             ".state.byCode)")  # fmt: skip
        still = page.evaluate(VIEW)
        log_items = page.eval_on_selector_all("#gg-log li b", "bs => bs.map(b => b.innerText)")
        page.screenshot(path=str(_shot(tmp_path, "plan_undo.png")))
    _clean(log)
    assert "合并" in merged_preview and "接受" in merged_preview and not gone_drawn
    assert "移动" in moved_preview and f"{kept}" in moved_preview
    assert back and still == undo_view  # undo swaps the grids in place, the view stays
    assert log_items == ["第 4 步 撤销（合并网格，第 1 步）", "第 3 步 撤销（移动楼栋，第 2 步）",
                         "第 2 步 移动楼栋", "第 1 步 合并网格"]  # fmt: skip
    ops = [e["op"] for e in plans.get_plan(pid)["log"]]
    assert ops == ["merge", "move_buildings", "undo", "undo"]
    assert plans.diff_plan(pid)[1]["changed"] == 0 and plans.diff_plan(pid)[1]["removed"] == 0


@pytest.mark.browser
@needs_browser
def test_a_leader_reads_a_plan_without_tools_and_a_phone_fits(server, cookies, tmp_path):
    from geo_grid.services import plans

    plan = plans.create_plan("unified", district=DISTRICT, note="领导查看", author="user:x")
    with offline_page(PHONE, cookies["leader"], locale="zh-CN") as (page, log):
        page.goto(f"{server}/plans/{plan['id']}")
        page.wait_for_function(LOADED, timeout=60_000)
        tools = page.locator("#gg-tools, #gg-publish, #gg-validate").count()
        page.click("#gg-diff")
        page.wait_for_function("() => /方案还没有改动/.test(document.getElementById('gg-check-out')"
                               ".textContent)", timeout=60_000)  # fmt: skip
        wide = page.evaluate("() => document.scrollingElement.scrollWidth")
        page.screenshot(path=str(_shot(tmp_path, "plan_leader_phone.png")), full_page=True)
    _clean(log)
    assert tools == 0 and wide <= PHONE[0]
