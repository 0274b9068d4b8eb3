"""The case pages: /cases (each role's inbox), /cases/new (intake) and /cases/{id} (one case).

Over HTTP, as each role: every inbox box and count is the caller's area's (checked against the
store with SQL of its own), filters narrow and paging keeps them, refusals are the Chinese pages
(403, 404, 422) or the login form, and the pages are never cached and allow no inline script.

In headless Chromium (Debian's ``chromium``, every request off 127.0.0.1 refused, the browser in
Chinese), the two journeys of issue 15:

(a) a dispatcher files a case at /cases/new from a noisy typed address and sees its grid, on a
    small map, the people on duty there and an earlier report of the same kind at the same door
    (a likely duplicate) before submitting; the submit lands on the case page;
(b) the grid worker of that grid accepts it at /cases/{id} on a phone, adds photos before and
    after, and reports it handled; another grid worker of the grid verifies it (four eyes), a
    dispatcher closes it, and the timeline shows every step with who, in what role, and when in
    Beijing time (compared with the log's instants converted by the tz database, not our helper).

Each page also fits a phone (no sideways scrolling) and loads without a console error.
``GEO_GRID_SCREENSHOTS=docs/img`` saves each page per role, desktop and phone, for the docs;
``GEO_GRID_TIMINGS=FILE`` appends each page's first paint and each journey's time (JSON lines).
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from auth import DISTRICT, login_client, session_cookies
from browser import browser_available, first_paint, offline_page, record_timing
from job_wait import wait_for_job

from geo_grid import labels

needs_browser = pytest.mark.skipif(not browser_available(), reason="playwright/chromium missing")
SHOTS = os.environ.get("GEO_GRID_SCREENSHOTS")
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
BEIJING = ZoneInfo("Asia/Shanghai")
PHONE = (390, 844)
DESK = (1280, 900)
COUNT = re.compile(r'data-box="(\w+)">(\d+)<')


# ------------------------------------------------------------------------------------ store
def _rows(sql: str, **params) -> list[dict]:
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    with session_scope() as s:
        return [dict(r) for r in s.execute(text(sql), params).mappings()]


def _noisy_address(grid: str) -> dict:
    """A door plate of ``grid`` from the address library, typed as a caller says it: the street,
    the road, the number in Chinese numerals, 门口 and stray spaces (no city, no district)."""
    from geo_grid.address import arabic_to_chinese

    row = _rows(
        "SELECT s.name AS street, a.road, a.door_no, a.full_text FROM address a "
        "JOIN admin_area s ON s.code = a.street_code "
        "JOIN grid g ON ST_Contains(g.geom, a.geom) "
        "JOIN generation n ON n.id = g.generation_id AND n.layer_key = 'unified' "
        "AND n.status = 'published' WHERE g.code = :g AND a.road IS NOT NULL "
        "AND a.door_no ~ '^[0-9]+$' AND a.building IS NULL ORDER BY a.id LIMIT 1",
        g=grid,
    )[0]
    typed = f"{row['street']} {row['road']}{arabic_to_chinese(int(row['door_no']))}号 门口"
    return {**row, "typed": typed}


def _on_duty(grid: str) -> list[str]:
    """The names of the people on duty in a grid (its roster but the 党员中心户 households)."""
    rows = _rows(
        "SELECT p.name FROM roster r JOIN person p ON p.id = r.person_id WHERE r.active "
        "AND r.layer_key = 'unified' AND r.grid_code = :g AND r.role <> 'party_household' "
        "ORDER BY r.role, p.id",
        g=grid,
    )
    return [r["name"] for r in rows]


@pytest.fixture(scope="module")
def store(demo_db, demo, accounts):
    """The demo with its case history, the grid worker's grid and a second worker of it."""
    import contextlib as cl

    from auth import Account

    from geo_grid.errors import Conflict
    from geo_grid.services import access, cases, index

    index.invalidate()
    # the demo's case history, unless this process already holds it (other modules load fewer
    # cases, or their own: the inbox tests page through closed 占道经营 cases of the year)
    closed = _rows(
        "SELECT count(*) AS n FROM \"case\" WHERE status = 'closed' AND category_code = 'E0502'"
    )[0]["n"]
    if closed <= 40:
        cases.load_demo_cases(demo=demo, n=6000)
    grid = accounts["grid_worker"].grids[0]
    first = _rows("SELECT person_id FROM app_user WHERE username = :u",
                  u=accounts["grid_worker"].username)[0]["person_id"]  # fmt: skip
    second = _rows(
        "SELECT person_id FROM roster WHERE active AND layer_key = 'unified' AND grid_code = :g "
        "AND role IN ('grid_worker', 'grid_leader') AND person_id <> :p ORDER BY role DESC, "
        "person_id LIMIT 1",
        g=grid, p=first,
    )[0]["person_id"]  # fmt: skip
    with cl.suppress(Conflict):
        access.create_user("t.checker", "pw-checker-correct-horse", "grid_worker",
                           person_id=second)  # fmt: skip
    checker = Account("t.checker", "pw-checker-correct-horse", "grid_worker", {})
    return {"grid": grid, "address": _noisy_address(grid), "checker": checker}


@pytest.fixture(scope="module")
def cookies(server, accounts, store):
    """Playwright cookies of logged-in sessions, by role (and the second grid worker)."""
    out = {role: session_cookies(server, accounts[role])
           for role in ("admin", "dispatcher", "grid_worker", "leader", "viewer")}  # fmt: skip
    out["checker"] = session_cookies(server, store["checker"])
    return out


def _file(server, account, grid: str, text: str = "页面测试") -> dict:
    """A case filed through the API at a point of ``grid`` (dispatched to it at once)."""
    from geo_grid.services import layers

    p = layers.get_grid(grid, layer="unified")["geometry"].representative_point()
    r = httpx.post(f"{server}/api/v1/cases", headers=account.headers, timeout=30,
                   json={"category_code": "E0502", "channel": "hotline", "lon": p.x, "lat": p.y,
                         "crs": "cgcs2000", "description": text,
                         "reporter_name": "王先生", "reporter_phone": "13912345678"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["grid_code"] == grid and r.json()["status"] == "dispatched"
    return r.json()


def _shot(tmp_path: Path, name: str) -> Path:
    return Path(SHOTS) / name if SHOTS else tmp_path / name


def _counts(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in COUNT.findall(html)}


# ------------------------------------------------------------------------------------ HTTP
def test_each_role_opens_its_own_inbox_confined_to_its_area(server, accounts, store):
    now = datetime.now(BEIJING)
    closed = "('closed', 'rated', 'rejected')"
    with contextlib.ExitStack() as stack:
        client = {role: stack.enter_context(contextlib.closing(login_client(server, accounts[role])))
                  for role in ("grid_worker", "dispatcher", "leader", "viewer")}  # fmt: skip
        worker = _counts(client["grid_worker"].get("/cases").text)
        centre = _counts(client["dispatcher"].get("/cases").text)
        leader = _counts(client["leader"].get("/cases").text)
        viewer = client["viewer"].get("/cases").text
    grids = list(accounts["grid_worker"].grids)
    assert worker == {
        "todo": _rows(
            f'SELECT count(*) AS n FROM "case" WHERE grid_code = ANY(:g) '
            f"AND status NOT IN {closed}",
            g=grids,
        )[0]["n"],  # fmt: skip
        "all": _rows('SELECT count(*) AS n FROM "case" WHERE grid_code = ANY(:g)', g=grids)[0]["n"],
    }
    assert centre["attention"] == _rows(
        f"SELECT count(*) AS n FROM \"case\" WHERE district_code = :d AND (status = 'manual' "
        f"OR (due_at < :now AND status NOT IN {closed}))", now=now, d=DISTRICT)[0]["n"]  # fmt: skip
    # the dispatcher's scope is the demo district: Gusu's cases, when loaded, are not theirs
    assert (
        centre["all"]
        == _rows('SELECT count(*) AS n FROM "case" WHERE district_code = :d', d=DISTRICT)[0]["n"]
        > 100
    )
    street = accounts["leader"].scope.split(":")[1]
    assert leader["open"] == _rows(
        f'SELECT count(*) AS n FROM "case" WHERE street_code = :s AND status NOT IN {closed}',
        s=street)[0]["n"] < centre["open"]  # fmt: skip
    assert list(_counts(viewer)) == ["open", "done", "all"]


def test_inbox_filters_narrow_and_paging_keeps_them(server, accounts):
    params = {
        "box": "all",
        "status": "closed",
        "category": "E0502",
        "from": "2026/6/1",
        "to": "2026年12月31日",
        "page": "2",
    }  # as people type days; both days included
    with contextlib.closing(login_client(server, accounts["dispatcher"])) as client:
        page = client.get("/cases", params=params).text
        first = client.get("/cases", params={**params, "page": "1"}).text
        bad = client.get("/cases", params={"status": "limbo"})
        wrong_box = client.get("/cases", params={"box": "todo"})
        backwards = client.get("/cases", params={"from": "2026-12-01", "to": "2026-11-01"})
        american = client.get("/cases", params={"from": "12/1/2026"}, headers=HTML)
    total = _rows(
        "SELECT count(*) AS n FROM \"case\" WHERE status = 'closed' AND category_code = 'E0502' "
        "AND received_at >= '2026-06-01T00:00:00+08:00' "
        "AND received_at < '2027-01-01T00:00:00+08:00' AND district_code = :d", d=DISTRICT)[0]["n"]  # fmt: skip
    assert total > 20, "the demo should have more than a page of closed 占道经营 cases"
    assert f'id="gg-total">{total}<' in page and "第 2/" in page
    rows = re.findall(r'<li class="gg-case[^"]*">', page)
    assert 0 < len(rows) <= 20
    assert page.count('gg-s-closed">已结案') == len(rows) and page.count("占道经营 · ") == len(rows)
    ids = set(re.findall(r'href="/cases/(\d+)"', page))
    assert ids and not ids & set(re.findall(r'href="/cases/(\d+)"', first))  # another page
    prev = re.search(r'<a href="([^"]+)" rel="prev">', page)[1].replace("&amp;", "&")
    assert prev == ("/cases?box=all&status=closed&category=E0502&from=2026-06-01&to=2026-12-31"
                    "&page=1")  # fmt: skip
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "status"
    assert wrong_box.status_code == 422 and wrong_box.json()["error"]["field"] == "box"
    assert backwards.status_code == 422 and backwards.json()["error"]["field"] == "from"
    assert american.status_code == 422 and "填写有误" in american.text  # a page, for a person
    assert "例如日期请写成 2026-12-01" in american.text and 'lang="zh-CN"' in american.text


def test_the_inbox_exports_the_cases_it_lists_as_a_spreadsheet(server, accounts):
    """Issue 15 item 10: a case list as XLSX from the page, not by calling the API by hand; a job
    since issue 16 (the page's 导出表格 starts it with the list's filters)."""
    import io

    import openpyxl

    params = {"box": "all", "status": "closed", "category": "E0502", "from": "2026-06-01",
              "to": "2026-12-31"}  # fmt: skip
    with contextlib.closing(login_client(server, accounts["dispatcher"])) as client:
        page = client.get("/cases", params=params).text
        button = re.search(r'<button type="button" class="gg-sheet-link" data-url="([^"]+)"', page)
        assert button, "the inbox offers no 导出表格 button"
        started = client.post(html.unescape(button[1]), headers={"X-Requested-With": "geo-grid"})
        job = wait_for_job(client, started)
        got = client.get(f"/api/v1/jobs/{job['id']}/file")
        unfiltered = client.get("/cases", params={"box": "all"}).text
    assert job["status"] == "done", job
    assert got.status_code == 200, got.text[:300]
    assert got.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(got.content))["案件列表"]
    head = [c.value for c in sheet[3]]
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    total = int(re.search(r'id="gg-total">(\d+)<', page)[1])
    assert len(rows) == total > 20  # the list's cases, every page of them
    assert {r[head.index("类别")] for r in rows} == {"占道经营"}, head
    default = re.search(r'class="gg-sheet-link" data-url="([^"]+)"', unfiltered)[1]
    assert "from=" in default and "to=" in default  # no dates typed: the last 30 days


def test_refusals_are_chinese_pages_and_strangers_log_in_first(server, accounts, store):
    other = _rows(
        "SELECT id FROM \"case\" WHERE grid_code IS NOT NULL AND grid_code <> ALL(:g) "
        "ORDER BY id LIMIT 1", g=list(accounts["grid_worker"].grids))[0]["id"]  # fmt: skip
    with contextlib.ExitStack() as stack:
        planner = stack.enter_context(contextlib.closing(login_client(server, accounts["planner"])))
        viewer = stack.enter_context(contextlib.closing(login_client(server, accounts["viewer"])))
        worker = stack.enter_context(
            contextlib.closing(login_client(server, accounts["grid_worker"]))
        )
        refused = [planner.get("/cases", headers=HTML), viewer.get("/cases/new", headers=HTML),
                   worker.get(f"/cases/{other}", headers=HTML)]  # fmt: skip
        missing = viewer.get("/cases/999999999", headers=HTML)
        mine = worker.get("/cases")
    for page, role in zip(refused, ("网格规划员", "只读用户", "网格员"), strict=True):
        assert page.status_code == 403 and "无权访问" in page.text and role in page.text
    assert missing.status_code == 404 and "页面不存在" in missing.text
    anonymous = httpx.get(f"{server}/cases/{other}", headers=HTML)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/login?next=%2Fcases%2F{other}"
    assert mine.headers["cache-control"] == "no-store"
    csp = mine.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]


def test_each_role_sees_its_own_buttons_on_one_case(server, accounts, store):
    case = _file(server, accounts["dispatcher"], store["grid"])
    buttons = {}
    for role in ("grid_worker", "dispatcher", "viewer", "admin"):
        with contextlib.closing(login_client(server, accounts[role])) as client:
            page = client.get(f"/cases/{case['id']}").text
        buttons[role] = re.findall(r'data-action="(\w+)"', page.split('id="gg-timeline"')[0])
    assert buttons["grid_worker"] == ["accept", "comment", "contact", "return", "suspend"]
    assert buttons["dispatcher"] == ["comment", "contact", "reassign", "suspend", "whistle"]
    assert buttons["viewer"] == []
    assert "accept" not in buttons["admin"]


# ------------------------------------------------------------------------------------ browser
TILE_INK = """() => {
  let painted = 0;
  for (const c of document.querySelectorAll(".leaflet-tile-pane canvas")) {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) painted++;
  }
  return painted;
}"""

#: (a function: a page whose CSP forbids eval cannot take a bare expression to wait for)
TILES_DRAWN = f"() => ({TILE_INK})() > 500"


def _clean(log) -> None:
    assert log.external_requests == [], log.external_requests
    assert log.console_errors == [], log.console_errors
    assert log.dialogs == [], log.dialogs


@pytest.mark.browser
@needs_browser
def test_journey_a_dispatcher_files_from_a_noisy_address(
    server, accounts, cookies, store, tmp_path
):
    address = store["address"]
    on_duty = _on_duty(store["grid"])
    earlier = httpx.post(f"{server}/api/v1/cases", headers=accounts["dispatcher"].headers,
                         json={"category_code": "E0502", "channel": "app",
                               "address_text": address["full_text"],
                               "description": "早上已有人反映"}, timeout=30).json()  # fmt: skip
    assert earlier["grid_code"] == store["grid"], earlier
    with offline_page(DESK, cookies["dispatcher"], locale="zh-CN") as (page, log):
        started = time.monotonic()
        page.goto(server + "/cases/new")
        paint = first_paint(page)
        page.select_option("#category_code", "E0502")
        page.click("#address_text")
        page.keyboard.type(address["typed"], delay=25)  # as an operator types during the call
        page.wait_for_selector("#gg-duty li")
        page.wait_for_function(TILES_DRAWN)  # the neighbouring grids drew
        page.wait_for_timeout(400)  # and faded in (Leaflet's tile fade), for the screenshot
        match = page.inner_text("#gg-match")
        shown_grid = page.inner_text("#gg-grid")
        duty = page.eval_on_selector_all("#gg-duty li", "ls => ls.map(l => l.innerText)")
        outline = page.locator("#gg-map path.leaflet-interactive").count()
        duplicates = page.inner_text("#gg-dups")
        page.fill("#description", "门口有人占道摆摊，影响通行")
        page.fill("#reporter_name", "王先生")
        page.fill("#reporter_phone", "13912345678")
        page.screenshot(path=str(_shot(tmp_path, "case_new_dispatcher.png")), full_page=True)
        page.click("#gg-submit")
        page.wait_for_url(re.compile(r"/cases/\d+$"))
        page.wait_for_selector("#gg-timeline li")
        elapsed = time.monotonic() - started
        case_id = int(page.url.rsplit("/", 1)[1])
        status = page.inner_text("#gg-status")
        facts = page.inner_text(".gg-facts")
    _clean(log)
    assert match.startswith("已匹配") and address["full_text"] in match, match
    assert store["grid"] in shown_grid
    assert [line.split()[1] for line in duty] == on_duty, duty
    assert all(re.search(r"\d{3}\*{4}\d{4}$", line) for line in duty)  # phones masked
    assert outline >= 2  # the grid's outline and the point
    assert "附近可能重复的同类案件" in duplicates and earlier["number"] in duplicates, duplicates
    stored = _rows('SELECT grid_code, status, address_text, channel FROM "case" WHERE id = :i',
                   i=case_id)[0]  # fmt: skip
    assert stored == {"grid_code": store["grid"], "status": "dispatched",
                      "address_text": address["typed"], "channel": "hotline"}  # fmt: skip
    assert status == "已派遣" and "13912345678" in facts  # the dispatcher may read the reporter
    record_timing(page="/cases/new", role="dispatcher", first_contentful_paint_ms=paint)
    record_timing(journey="a", seconds=round(elapsed, 2))


def _act(page, label: str, note: str | None = None) -> None:
    """Press one of the case page's buttons (with a note) and wait for the page to come back."""
    if note:
        page.fill("#gg-note", note)
    with page.expect_navigation():
        page.click(f"#gg-actions button:text-is('{label}')")
    page.wait_for_selector("#gg-timeline li")


def _photo(page, phase: str, path: Path) -> None:
    page.set_input_files("#gg-photo input[type=file]", str(path))
    page.select_option("#gg-photo select", phase)
    with page.expect_navigation():
        page.click("#gg-photo button[type=submit]")
    page.wait_for_selector("#gg-timeline li")


def _jpeg(path: Path, colour: str) -> Path:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (800, 600), colour)
    draw = ImageDraw.Draw(image)
    for x in range(0, 800, 50):
        draw.line((x, 0, 800 - x, 600), fill="white", width=4)
    image.save(path, "JPEG")
    return path


@pytest.mark.browser
@needs_browser
def test_journey_b_accept_handle_with_photos_verify_close(
    server, accounts, cookies, store, tmp_path
):
    case = _file(server, accounts["dispatcher"], store["grid"], "垃圾桶满溢，异味")
    url = f"{server}/cases/{case['id']}"
    before, after = (
        _jpeg(tmp_path / "before.jpg", "#8d6e63"),
        _jpeg(tmp_path / "after.jpg", "#66bb6a"),
    )
    started = time.monotonic()
    with offline_page(PHONE, cookies["grid_worker"], locale="zh-CN") as (page, log):
        page.goto(url)
        paint = first_paint(page)
        page.screenshot(path=str(_shot(tmp_path, "case_grid_worker_phone.png")), full_page=True)
        _act(page, "签收处置", "已到现场")
        _photo(page, "before", before)
        _photo(page, "after", after)
        _act(page, "办结", "已清运，桶已冲洗")
        page.locator(".gg-photos").scroll_into_view_if_needed()  # the images load lazily
        page.wait_for_function("() => [...document.querySelectorAll('.gg-photos img')]"
                               ".every(i => i.complete && i.naturalWidth)")  # fmt: skip
        photos = page.eval_on_selector_all(".gg-photos img", "is => is.map(i => i.naturalWidth)")
        offered = page.eval_on_selector_all("#gg-actions button", "bs => bs.map(b => b.innerText)")
        wide = page.evaluate("() => document.scrollingElement.scrollWidth")
    _clean(log)
    assert photos == [800, 800] and wide <= PHONE[0]
    assert "核查通过" not in offered  # four eyes: not for the one who handled it
    with offline_page(PHONE, cookies["checker"], locale="zh-CN") as (page, log):
        page.goto(url)
        _act(page, "核查通过", "复查现场已整改")
    _clean(log)
    with offline_page(DESK, cookies["dispatcher"], locale="zh-CN") as (page, log):
        page.goto(url)
        _act(page, "结案")
        elapsed = time.monotonic() - started
        steps = page.eval_on_selector_all(
            "#gg-timeline li", "ls => ls.map(l => [l.dataset.action, l.innerText])"
        )
        page.screenshot(path=str(_shot(tmp_path, "case_closed_dispatcher.png")), full_page=True)
    _clean(log)
    events = httpx.get(f"{url.replace('/cases/', '/api/v1/cases/')}/events",
                       headers=accounts["dispatcher"].headers).json()["data"]  # fmt: skip
    expected = [
        ("accept", accounts["grid_worker"].username, "网格员", "已到现场"),
        ("handle", accounts["grid_worker"].username, "网格员", "已清运，桶已冲洗"),
        ("verify", store["checker"].username, "网格员", "复查现场已整改"),
        ("close", accounts["dispatcher"].username, "调度员", ""),
    ]
    shown = dict((a, t) for a, t in steps if a in {e[0] for e in expected})
    for action, who, role, note in expected:
        (event,) = [e for e in events if e["action"] == action]
        at = datetime.fromisoformat(event["at"]).astimezone(BEIJING)
        text = shown[action]
        assert text.startswith(f"{at:%Y-%m-%d %H:%M:%S} (北京时间)"), (action, text)
        assert labels.CASE_ACTION[action] in text and f"{who}（{role}）" in text, text
        assert note in text
    order = [a for a, _ in steps]
    assert order == ["receive", "assess", "dispatch", "accept", "photo", "photo", "handle",
                     "verify", "close"], order  # fmt: skip
    photo_lines = [t for a, t in steps if a == "photo"]
    assert "上传处置前照片" in photo_lines[0] and "上传处置后照片" in photo_lines[1]
    assert _rows('SELECT status FROM "case" WHERE id = :i', i=case["id"])[0]["status"] == "closed"
    record_timing(
        page="/cases/{id}", role="grid_worker", viewport="phone", first_contentful_paint_ms=paint
    )
    record_timing(journey="b", seconds=round(elapsed, 2))


PAGES = [
    ("grid_worker", "/cases", PHONE, "cases_inbox_grid_worker_phone.png"),
    ("dispatcher", "/cases", DESK, "cases_inbox_dispatcher.png"),
    ("leader", "/cases", DESK, "cases_inbox_leader.png"),
    ("viewer", "/cases?box=done", PHONE, "cases_inbox_viewer_phone.png"),
    ("grid_worker", "/cases/new", PHONE, "case_new_grid_worker_phone.png"),
    ("dispatcher", "/cases/{case}", DESK, "case_dispatcher.png"),
    ("leader", "/cases/{street_case}", DESK, "case_leader.png"),
    ("admin", "/cases/{case}", PHONE, "case_admin_phone.png"),
]


@pytest.mark.browser
@needs_browser
def test_every_page_per_role_loads_offline_fits_a_phone_and_reads_chinese(
    server, accounts, cookies, store, tmp_path
):
    case = _file(server, accounts["dispatcher"], store["grid"], "井盖松动（页面测试）")
    street = accounts["leader"].scope.split(":")[1]
    in_street = _rows("SELECT g.code FROM grid g JOIN generation n ON n.id = g.generation_id "
                      "WHERE n.layer_key = 'unified' AND n.status = 'published' "
                      "AND g.street_code = :s ORDER BY g.code LIMIT 1", s=street)[0]["code"]  # fmt: skip
    ids = {"case": case["id"],
           "street_case": _file(server, accounts["dispatcher"], in_street, "路灯不亮")["id"]}  # fmt: skip
    # what people typed into cases (other test files of this process store hostile text) is theirs,
    # shown as typed: only the page's own words must be Chinese
    typed = " ".join(str(v) for r in _rows('SELECT address_text, description FROM "case"')
                     for v in r.values() if v)  # fmt: skip
    typed_words = set(re.findall(r"\b[A-Za-z][A-Za-z_]*[A-Za-z]\b", html.unescape(typed) + typed))
    with offline_page(DESK, locale="zh-CN") as (page, log):
        for i, (role, path, size, name) in enumerate(PAGES):
            page.context.clear_cookies()
            page.context.add_cookies(cookies[role])
            page.set_viewport_size({"width": size[0], "height": size[1]})
            response = page.goto(server + path.format(**ids))
            assert response.status == 200, (role, path, response.status)
            page.wait_for_load_state("load")
            if page.locator("#gg-map:not([hidden])").count():
                page.wait_for_function(TILES_DRAWN)
                page.wait_for_timeout(400)
            paint = first_paint(page)
            wide = page.evaluate("() => document.scrollingElement.scrollWidth")
            text = page.inner_text("main")
            page.screenshot(path=str(_shot(tmp_path, name)), full_page=True)
            assert wide <= size[0], (role, path, wide)
            words = re.findall(r"\b[A-Za-z][A-Za-z_]*[A-Za-z]\b", text.replace("t.", ""))
            assert set(words) <= {
                "APP",
                "Open311",
                "Leaflet",
                "JPEG",
                "PNG",
                "WebP",
                "MB",
                "KB",
                *(a.username[2:] for a in accounts.values()),
                *typed_words,
            }, (path, words)
            record_timing(page=re.sub(r"\{\w+\}", "{id}", path), role=role,
                          viewport="phone" if size == PHONE else "desk",
                          browser="warm" if i else "cold", first_contentful_paint_ms=paint)  # fmt: skip
    _clean(log)


#: Every line the 导出表格 progress showed, as the page wrote them (a MutationObserver's).
WATCH_SHEET_LINE = """() => {
  const line = document.getElementById("gg-sheet-msg");
  window.__sheetLines = [];
  new MutationObserver(() => window.__sheetLines.push(line.textContent))
    .observe(line, {childList: true, characterData: true, subtree: true});
}"""


@needs_browser
def test_the_inbox_export_button_shows_the_jobs_progress_and_downloads_the_workbook(
    server, cookies, tmp_path
):
    """Issue 16: 导出表格 on the case list starts the export job (a POST with the session cookie),
    shows its progress in Chinese beside the button, and downloads the workbook when it is done,
    offline; the workbook holds the list's cases."""
    import io

    import openpyxl

    query = "/cases?box=all&from=2026-06-01&to=2026-12-31"
    with offline_page(DESK, cookies["dispatcher"], locale="zh-CN") as (page, log):
        page.goto(server + query)
        total = int(page.inner_text("#gg-total"))
        page.evaluate(WATCH_SHEET_LINE)
        with page.expect_download(timeout=180_000) as got:
            page.click("button.gg-sheet-link")
            page.wait_for_function(
                "() => /案件导出：执行中 \\d+%（读取案件/.test(document.getElementById('gg-sheet-msg')"
                ".textContent)", timeout=60_000,
            )  # fmt: skip
            page.locator(".gg-summary").screenshot(path=str(_shot(tmp_path, "sheet_running.png")))
        name = got.value.suggested_filename
        book = openpyxl.load_workbook(io.BytesIO(Path(got.value.path()).read_bytes()))
        page.wait_for_function("() => !document.querySelector('button.gg-sheet-link').disabled")
        page.locator(".gg-summary").screenshot(path=str(_shot(tmp_path, "sheet_done.png")))
        lines = page.evaluate("() => window.__sheetLines")
        done = page.inner_text("#gg-sheet-msg")
    rows = list(book["案件列表"].iter_rows(min_row=4, values_only=True))
    assert len(rows) == total > 0, (len(rows), total)
    assert name == "案件列表_2026-06-01.xlsx", name  # the Chinese name, as the server gave it
    assert lines[0] == "提交中…" and any(re.search(r"案件导出：执行中 \d+%", t) for t in lines)
    assert done == "案件导出：已完成，正在下载…", lines
    _clean(log)  # geo_grid_jobs.js served by the server: no request left 127.0.0.1
