"""The maps as their users see them (issue 15 items 7-11), in headless Chromium, network cut off.

Each test drives a page as the role that uses it, with no request leaving 127.0.0.1 and no
console error: the dispatcher finds 咏梅社区, 乐城路 and a door plate from the search box (match
level, confidence, the people on duty; the road drawn, never "not in a grid"); 乐城路 is written
on the district's own base map at street level; the street leader's 红绿指标 opens on and names
their street, each red or yellow grid saying why and against which thresholds, few left grey;
on a phone the grid worker's map opens on their grid with the layer control folded, covering
nothing; the view is exported as a PNG and printed as a one-page PDF with title, area, time,
legend, scale and north arrow.

``GEO_GRID_SCREENSHOTS=docs/img`` saves the README's pictures of these pages. The first page of a worker process waits for its base map
(the district's roads from the address library): the timeouts allow for a busy machine.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest
from auth import session_cookies
from browser import browser_available, first_paint, offline_page, record_timing

needs_browser = pytest.mark.skipif(not browser_available(), reason="playwright/chromium missing")
pytestmark = [pytest.mark.browser, needs_browser]
SHOTS = os.environ.get("GEO_GRID_SCREENSHOTS")
COMMUNITY, ROAD = "咏梅社区", "乐城路"

MAP = "window.geoGrid.pageMap"


@pytest.fixture(scope="module")
def store(demo_db):
    """The demo, its caches built anew for this module (conftest's ``server`` serves it)."""
    from geo_grid.services import index

    index.invalidate()
    return demo_db


@pytest.fixture(scope="module")
def cookies(server, accounts):
    return {
        r: session_cookies(server, accounts[r]) for r in ("dispatcher", "leader", "grid_worker")
    }


def _shot(tmp_path: Path, name: str) -> Path:
    return Path(SHOTS) / name if SHOTS else tmp_path / name


def _paint(path: str, role: str, viewport: str, page, server: str) -> None:
    """Record the page's first paint and when its map was ready (what the test waited for), in
    ms after the navigation started (``GEO_GRID_TIMINGS``); ``server``: whether the server had
    the page built already (``cached``) or this was the first request for it since it started."""
    ready = round(page.evaluate("() => performance.now()"))
    record_timing(page=path, role=role, viewport=viewport, first_contentful_paint_ms=first_paint(page),
                  ready_ms=ready, server=server)  # fmt: skip


def _clean(log) -> None:
    assert log.external_requests == [] and log.console_errors == [] and log.dialogs == [], (
        log.external_requests, log.console_errors, log.dialogs)  # fmt: skip


SEARCH = """async (q) => {
  const box = document.querySelector(".gg-search");
  box.querySelector("input").value = q;
  box.querySelector("button").click();
  const msg = box.querySelector(".gg-search-msg");
  for (let i = 0; i < 600 && (!msg.textContent || msg.textContent === "查询中…"); i++)
    await new Promise(r => setTimeout(r, 100));
  const drawn = [];
  window.geoGrid.pageMap.eachLayer(l => {
    if (l instanceof L.Polyline && l.options.color === "#ffd600") drawn.push("road");
  });
  return {msg: msg.innerText, hits: [...box.querySelectorAll(".gg-search-hits li")].map(
    li => li.innerText), drawn};
}"""


def test_the_search_box_finds_communities_roads_and_door_plates(server, cookies, demo, tmp_path):
    plate = demo.addresses[(demo.addresses["road"] == ROAD) & demo.addresses["door_no"].notna()]
    door = f"{ROAD}{plate['door_no'].iloc[0]}号"
    with offline_page(cookies=cookies["dispatcher"]) as (page, log):
        page.goto(server + "/map", timeout=180_000)
        page.wait_for_selector(".gg-search", timeout=60_000)
        _paint("/map", "dispatcher", "desk", page, "first request")
        community = page.evaluate(SEARCH, COMMUNITY)
        road = page.evaluate(SEARCH, ROAD)
        page.wait_for_timeout(400)
        page.screenshot(path=str(_shot(tmp_path, "search_road.png")))
        address = page.evaluate(SEARCH, door)
    assert community["msg"].startswith(f"社区：{COMMUNITY}"), community
    assert "匹配级别 社区" in community["msg"] and "置信度 100%" in community["msg"]
    assert "个网格" in community["msg"] and community["hits"][0].startswith(f"社区{COMMUNITY}")
    assert road["msg"].startswith(f"道路：{ROAD}") and "匹配级别 道路" in road["msg"], road
    assert "未落入网格" not in road["msg"] and road["drawn"] == ["road"]
    assert address["msg"].startswith("门牌地址：") and "在岗：网格长" in address["msg"], address
    assert re.search(r"置信度 \d+%", address["msg"])
    _clean(log)


BASE_LABELS = """(kind) => [...document.querySelectorAll(".gg-base-" + kind + " span")]
  .map(s => s.textContent)"""


def test_the_base_map_writes_the_road_where_it_runs(server, cookies, tmp_path):
    with offline_page(cookies=cookies["dispatcher"]) as (page, log):
        page.goto(server + "/map", timeout=180_000)
        page.wait_for_selector(".gg-search", timeout=60_000)
        _paint("/map", "dispatcher", "desk", page, "cached")
        streets = page.evaluate(BASE_LABELS, "street")
        page.evaluate(
            """async (q) => { const r = await fetch("/api/v1/search?q=" + encodeURIComponent(q));
              const hit = (await r.json()).data[0];
              window.geoGrid.pageMap.setView([hit.lat, hit.lon], 15.5, {animate: false}); }""",
            ROAD,
        )  # fmt: skip
        page.wait_for_timeout(500)
        roads = page.evaluate(BASE_LABELS, "road")
        places = page.evaluate(BASE_LABELS, "community")
        page.screenshot(path=str(_shot(tmp_path, "base_map.png")))
    assert len(streets) >= 5 and all(s.endswith("街道") for s in streets), streets
    assert ROAD in roads and len(roads) >= 5 and places, (roads, places)
    _clean(log)


TOOLTIPS = """() => {
  const out = [];
  window.geoGrid.pageMap.eachLayer(l => {
    const p = l.feature && l.feature.properties;
    if (p && p.light !== undefined) out.push([p.light, p.why || ""]);
  });
  return out;
}"""


def _demo_month() -> str:
    """The query of the demo's last 30 days of cases (they end at this UTC midnight): the page's
    own default, the 30 days up to the latest case, follows whatever case another module of the
    session filed last."""
    from datetime import UTC, datetime, timedelta
    from urllib.parse import urlencode

    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return urlencode({"from": (end - timedelta(days=30)).isoformat(), "to": end.isoformat()})


def test_a_street_leaders_indicators_name_the_street_and_say_why(server, cookies, tmp_path):
    with offline_page(cookies=cookies["leader"]) as (page, log):
        page.goto(server + "/map/indicators?" + _demo_month(), timeout=180_000)
        page.wait_for_selector(".gg-info h3", timeout=60_000)
        _paint("/map/indicators", "leader", "desk", page, "first request")
        heading = page.inner_text(".gg-info h3")
        grids = page.evaluate(TOOLTIPS)
        legend = page.inner_text(".gg-legend")
        zoom = page.evaluate(f"{MAP}.getZoom()")
        worst = next((g for g in grids if g[0].startswith(("红", "黄"))), None)
        if worst is not None:  # open its tooltip for the picture
            page.evaluate("""(light) => { let hit; window.geoGrid.pageMap.eachLayer(l => {
                const p = l.feature && l.feature.properties;
                if (!hit && p && p.light === light) hit = l; });
              hit.openTooltip(hit.getBounds().getCenter()); }""", worst[0])  # fmt: skip
            page.wait_for_timeout(300)
        page.screenshot(path=str(_shot(tmp_path, "indicators_street.png")))
    assert heading.startswith("红绿指标：") and heading.endswith("街道"), heading
    assert zoom >= 13  # opened on the street, not the district
    grey = sum(light.startswith("案件过少") for light, _ in grids)
    assert grey < 0.05 * len(grids), (grey, len(grids))
    for light, why in grids:
        if light.startswith(("红", "黄")):
            assert re.search(r"\d+%（绿 [≥≤]\d+%，黄 [≥≤]\d+%）", why), (light, why)
        if "沿用" in light:
            assert why.startswith("本网格案件过少"), why
    assert "沿用社区或街道颜色" in legend or all("沿用" not in g[0] for g in grids)
    _clean(log)


RECTS = """() => {
  const r = s => { const e = document.querySelector(s); if (!e) return null;
    const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
  return {search: r(".gg-search"), layers: r(".leaflet-control-layers"),
    expanded: document.querySelector(".leaflet-control-layers")
      .classList.contains("leaflet-control-layers-expanded"),
    others: [...document.querySelectorAll(".leaflet-top .leaflet-control, .gg-info, .gg-legend")]
      .filter(e => !e.classList.contains("gg-search") && !e.closest(".gg-search"))
      .map(e => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; })};
}"""


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_on_a_phone_a_grid_worker_opens_on_their_grid_and_nothing_covers_search(
    server, cookies, accounts, tmp_path
):
    worker = accounts["grid_worker"]
    with offline_page(viewport=(390, 844), cookies=cookies["grid_worker"]) as (page, log):
        page.goto(server + "/map", timeout=180_000)
        page.wait_for_selector(".gg-focus", timeout=60_000)
        _paint("/map", "grid_worker", "phone", page, "cached")
        page.wait_for_timeout(300)
        rects = page.evaluate(RECTS)
        mine = page.inner_text(".gg-focus")
        inside = page.evaluate(
            """(codes) => { const map = window.geoGrid.pageMap, view = map.getBounds();
              let n = 0; map.eachLayer(l => { const p = l.feature && l.feature.properties;
                if (p && codes.includes(p.code) && l.getBounds && view.contains(l.getBounds())) n++; });
              return [n, map.getZoom()]; }""",
            list(worker.grids),
        )  # fmt: skip
        page.screenshot(path=str(_shot(tmp_path, "grid_worker_phone.png")))
        page.click(".leaflet-control-layers-toggle")
        opened = page.evaluate(RECTS)["expanded"]
    assert not rects["expanded"] and opened  # folded, and a tap opens it
    assert all(not _overlap(rects["search"], other) for other in rects["others"]), rects
    assert rects["search"][2] <= 390 and mine.startswith("我的网格：")
    assert inside[0] >= 1 and inside[1] >= 14, inside
    _clean(log)


BOXES = """() => [...document.querySelectorAll(".leaflet-control")]
  .filter(e => e.offsetParent !== null && e.getBoundingClientRect().width > 0)
  .map(e => { const b = e.getBoundingClientRect();
    return [e.className.split(" ")[0], b.left, b.top, b.right, b.bottom]; })"""


def test_on_a_phone_no_box_covers_another_on_the_dispatch_and_case_maps(server, cookies, tmp_path):
    """The dispatch panel left the print button under it; the case map's summary box and its
    folded legend sat side by side in the bottom corners, wider together than a phone."""
    covered = {}
    with offline_page(viewport=(390, 844), cookies=cookies["dispatcher"]) as (page, log):
        for path, ready in (("/map/dispatch", ".gg-panel li"), ("/map/cases", ".gg-info")):
            page.goto(server + path, timeout=180_000)
            page.wait_for_selector(ready, timeout=60_000)
            page.wait_for_timeout(300)
            boxes = page.evaluate(BOXES)
            page.screenshot(path=str(_shot(tmp_path, f"phone{path.replace('/', '_')}.png")))
            covered[path] = [
                (a[0], b[0]) for i, a in enumerate(boxes) for b in boxes[i + 1 :]
                if _overlap(a[1:], b[1:])
            ]  # fmt: skip
    assert covered == {"/map/dispatch": [], "/map/cases": []}, covered
    _clean(log)


SHEET = """() => {
  const s = document.querySelector(".gg-sheet");
  return s && {head: s.querySelector(".gg-sheet-head").innerText,
    foot: s.querySelector(".gg-sheet-foot").innerText,
    legend: !!s.querySelector(".gg-legend"), scale: s.querySelector(".leaflet-control-scale-line")
      .innerText, north: !!s.querySelector(".gg-north svg"),
    hidden: getComputedStyle(s.querySelector(".leaflet-control-zoom")).display};
}"""


def test_the_view_exports_as_a_png_and_prints_as_one_pdf_page(server, cookies, tmp_path):
    import base64

    with offline_page(cookies=cookies["leader"]) as (page, log):
        page.goto(server + "/map/indicators", timeout=180_000)
        page.wait_for_selector(".gg-export", timeout=60_000)
        with page.expect_download(timeout=120_000) as got:
            page.click(".gg-export .gg-png")
        png = Path(got.value.path()).read_bytes()
        name = got.value.suggested_filename
        with page.expect_download(timeout=120_000) as table:  # a job, then its file (issue 16)
            page.click(".gg-export .gg-xlsx")
            page.wait_for_selector(".gg-export .gg-xlsx-msg:not([hidden])")
            page.screenshot(path=str(_shot(tmp_path, "export_sheet_job.png")),
                            clip={"x": 0, "y": 0, "width": 520, "height": 160})  # fmt: skip
        xlsx = Path(table.value.path()).read_bytes()
        sheet_name = table.value.suggested_filename
        page.wait_for_function("() => !document.querySelector('.gg-export .gg-xlsx').disabled")
        sheet_line = page.inner_text(".gg-export .gg-xlsx-msg")
        info = page.inner_text(".gg-info")
        page.evaluate("window.print = () => { window.__printed = (window.__printed || 0) + 1; }")
        page.click(".gg-export .gg-print")
        page.wait_for_function("window.__printed === 1", timeout=30_000)
        sheet = page.evaluate(SHEET)
        page.emulate_media(media="print")
        page.screenshot(path=str(_shot(tmp_path, "print_layout.png")), full_page=True)
        pdf = page.pdf(format="A4", landscape=True, print_background=True)
        size = page.evaluate(
            """async (url) => { const i = new Image(); i.src = url; await i.decode();
              return [i.width, i.height]; }""",
            "data:image/png;base64," + base64.b64encode(png).decode(),
        )  # fmt: skip
    if SHOTS:
        (Path(SHOTS) / "export_indicators.png").write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    assert name.startswith("红绿指标_") and name.endswith(".png")
    assert size[0] > 1000 and size[1] > 650, size  # title, map and extent, not a blank strip
    assert sheet["head"].startswith("红绿指标") and "区域：" in sheet["head"]
    assert re.search(r"制图时间：\d{4}-\d\d-\d\d \d\d:\d\d \(北京时间\)", sheet["head"]), sheet
    assert sheet["legend"] and sheet["north"] and re.fullmatch(r"\d+ k?m", sheet["scale"])
    assert sheet["foot"].startswith("图幅范围：东经") and sheet["hidden"] == "none"
    assert pdf[:5] == b"%PDF-" and len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    assert sheet_name.startswith("红绿指标_") and sheet_name.endswith(".xlsx"), sheet_name
    assert sheet_line == "红绿指标导出：已完成，正在下载…", sheet_line
    _assert_sheet_agrees(xlsx, info)
    _clean(log)


def _assert_sheet_agrees(xlsx: bytes, info: str) -> None:
    """The page's 导出表格 button (issue 15 item 10): the leader's 红绿指标 of the page's period, the
    grids of the street the page shows coloured in the spreadsheet as the page counts them."""
    import io

    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(xlsx))["红绿指标"]
    head = [c.value for c in sheet[3]]
    lines = info.splitlines()
    street, period = re.search(r"红绿指标：(\S+)", lines[0])[1], lines[1].strip()
    assert period and period in sheet["A1"].value, (period, sheet["A1"].value)
    lights = [r[head.index("指标")] for r in sheet.iter_rows(min_row=4, values_only=True)
              if r[head.index("所属街道")] == street]  # fmt: skip
    counts = re.search(r"红 (\d+) · 黄 (\d+) · 绿 (\d+) 个网格", info).groups()
    assert [lights.count(c) for c in ("红", "黄", "绿")] == [int(n) for n in counts], (info, lights)


# ------------------------------------------------------------------ the base map, served live
def _png() -> bytes:
    """A 256 × 256 light-grey PNG tile (zlib and struct: no image library needed)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\xdd\xdd\xdd" * 256 for _ in range(256))
    head = struct.pack(">IIBBBBB", 256, 256, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(rows)) + (
        chunk(b"IEND", b""))  # fmt: skip


@contextlib.contextmanager
def _tile_server():
    """An intranet host on 127.0.0.1: its ``pages`` (path → HTML) as pages, every other GET
    answered with a tile and its path recorded in ``seen``."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []
    pages: dict[str, str] = {}
    tile = _png()

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            page = pages.get(self.path)
            if page is None:
                seen.append(self.path)
            body = tile if page is None else page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "image/png" if page is None else "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen, pages
    finally:
        httpd.shutdown()
        httpd.server_close()


def _tile_box(z: int, x: int, y: int, matrix: str) -> tuple[float, float, float, float]:
    """A tile's lon/lat box: Web Mercator (XYZ, 天地图 ``w``) or 天地图's ``c`` matrix (level L
    has 2^L × 2^(L-1) tiles of 360/2^L degrees, from 180°W, 90°N)."""
    import math

    if matrix == "c":
        deg = 360 / 2**z
        return (-180 + x * deg, 90 - (y + 1) * deg, -180 + (x + 1) * deg, 90 - y * deg)
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return (x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y))


def _requested(seen: list[str]) -> dict[str, list[tuple]]:
    """Layer (天地图 service or ``xyz``) → the (z, x, y, matrix, key) of each tile asked for."""
    from urllib.parse import parse_qs, urlsplit

    out: dict[str, list[tuple]] = {}
    for path in seen:
        url = urlsplit(path)
        xyz = re.fullmatch(r"/xyz/(\d+)/(\d+)/(\d+)\.png", url.path)
        if xyz:
            out.setdefault("xyz", []).append((*map(int, xyz.groups()), "w", None))
            continue
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        out.setdefault(url.path, []).append((int(q["TILEMATRIX"]), int(q["TILECOL"]),
                                             int(q["TILEROW"]), q["TILEMATRIXSET"], q.get("tk")))  # fmt: skip
    return out


BASES = {  # setting → the services its tiles come from, and their tile matrix
    "tianditu:vec webmercator": ({"/vec_w/wmts", "/cva_w/wmts"}, "w"),
    "tianditu:img cgcs2000": ({"/img_c/wmts", "/cia_c/wmts"}, "c"),
    "xyz webmercator": ({"xyz"}, "w"),
}


def test_tianditu_and_xyz_tiles_are_asked_for_the_district_and_drawn(server, monkeypatch, tmp_path):
    """Issue 15 item 7, live: the coverage page over an intranet's 天地图 copy (vector in Web
    Mercator, imagery in CGCS2000 with its annotation) and over an XYZ server. The browser asks
    the intranet's host for tiles that cover the district, with the key, draws them, and sees
    no error; Leaflet's credit links nowhere. (The page is written as ``geo-grid map`` writes
    one, served by the intranet host with the server's assets: Chromium lets a page of a
    loopback host read a loopback host's tiles.)"""
    from geo_grid.services import districts, maps
    from geo_grid.settings import get_settings

    lon, lat = districts.get("320113").centre
    with _tile_server() as (host, seen, pages):
        for setting, (services, matrix) in BASES.items():
            preset, projection = setting.split()
            monkeypatch.setenv("GEO_GRID_TILES_URL", f"{host}/xyz/{{z}}/{{x}}/{{y}}.png"
                               if preset == "xyz" else preset)  # fmt: skip
            monkeypatch.setenv("GEO_GRID_TILES_KEY", "intranet-key")
            monkeypatch.setenv("GEO_GRID_TILES_HOST", host)
            monkeypatch.setenv("GEO_GRID_TILES_PROJECTION", projection)
            get_settings.cache_clear()
            try:
                pages["/map.html"] = maps.render(
                    "coverage", f"{server}/static", {"district": "320113", "api_base": None}
                )
            finally:
                monkeypatch.undo()
                get_settings.cache_clear()
            seen.clear()
            with offline_page() as (page, log):
                page.goto(host + "/map.html", timeout=180_000)
                page.wait_for_function(
                    "document.querySelectorAll('.leaflet-tile-loaded').length >= 4",
                    timeout=60_000,
                )
                credit = page.inner_html(".leaflet-control-attribution")
                name = "base_" + re.sub(r"\W", "_", setting) + ".png"
                page.screenshot(path=str(_shot(tmp_path, name)))
            asked = _requested(seen)
            assert set(asked) == services, (setting, sorted(asked))
            for service, tiles in asked.items():
                boxes = [_tile_box(z, x, y, m) for z, x, y, m, _ in tiles]
                assert {m for *_, m, _ in tiles} == {matrix}, (setting, service)
                assert any(b[0] <= lon <= b[2] and b[1] <= lat <= b[3] for b in boxes), (
                    setting, service, lon, lat, tiles[:4])  # fmt: skip
                if service != "xyz":
                    assert {k for *_, k in tiles} == {"intranet-key"}, (setting, service)
            assert "leafletjs.com" not in credit and "Leaflet" in credit, credit
            _clean(log)
