"""The case pages as HTML (geo_grid/pages), without a database: what each page says and offers.

Each page is rendered from hand-built answers of the services and read back with the standard
library's HTML parser: stored text stays text (hostile text cannot open an element or a script,
and the JSON island reads back verbatim), every word a person reads is Chinese, times are Beijing
time, the case page's buttons are exactly what the caller may do, and the timeline is in order.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from geo_grid import labels
from geo_grid.pages import NavLink, Viewer, case_page, inbox_page, intake_page, timeline

HOSTILE = (
    "</script><script>alert(1)</script><!--<script> \"'><img src=x onerror=alert(1)> {{ 7*7 }}"
)
T0 = datetime(2026, 12, 6, 1, 2, 3, tzinfo=UTC)  # 09:02:03 Beijing time
USER = Viewer("li.ming", "grid_worker")
NAV = [NavLink("/cases", "案件列表", True), NavLink("/map", "网格地图")]
#: Latin words a person may read on these pages: proper names kept as they are (labels.KEPT),
#: Leaflet's attribution, the image formats a photo may be, MB/KB.
ALLOWED = {"APP", "Open311", "Leaflet", "JPEG", "PNG", "WebP", "MB", "KB"}
WORD = re.compile(r"\b[A-Za-z][A-Za-z_]*[A-Za-z]\b")


class _Page(HTMLParser):
    """Text a person reads (not in <script>/<style>), elements, attributes and the JSON island."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style", "title"):
            self._in.append(tag)
            if tag == "script":
                self.scripts.append((dict(attrs), ""))

    def handle_endtag(self, tag):
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data):
        if self._in and self._in[-1] == "script":
            attrs, body = self.scripts[-1]
            self.scripts[-1] = (attrs, body + data)
        elif not self._in:
            self.text.append(data)

    @property
    def island(self) -> dict:
        (body,) = [b for a, b in self.scripts if a.get("id") == "gg-data"]
        return json.loads(body)

    def read(self) -> str:
        return " ".join(" ".join(self.text).split())


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _english(text: str) -> list[str]:
    """Latin words in ``text`` but the allowed ones and the account names (data, not words)."""
    text = text.replace("li.ming", "").replace("wang", "")
    return [w for w in WORD.findall(text) if w not in ALLOWED]


def _case(**kw) -> dict:
    """A case as :func:`geo_grid.services.cases.get_case` answers (the fields the page reads)."""
    case = {
        "id": 42, "number": "2026120600000042", "status": "handling", "status_zh": "处置中",
        "version": 4, "level": "grid", "level_zh": "网格", "category_code": "E0502",
        "category_name": "占道经营", "category_major": "街面秩序", "channel": "hotline",
        "channel_zh": "12345热线", "severity": "normal", "address_text": "尧佳路12号门口",
        "description": "早市占道", "reporter_name": "王**", "reporter_phone": "139****5678",
        "received_at": T0, "due_at": T0 + timedelta(days=3), "overdue": False,
        "handled_at": None, "closed_at": None, "grid_code": "320113001001001",
        "grids": {"unified": "320113001001001"}, "department": "城市管理局",
        "assignee_name": "闫勇国", "strategy": "territorial_first", "manual_reason_zh": None,
        "rating": None, "reopened": 0, "lon": 118.9, "lat": 32.1,
        "allowed_actions": ["comment", "contact", "handle", "return", "suspend"],
        "photo_phases": ["before", "after"], "work_photos": [], "report_ins": [],
        "events": [
            {"id": 1, "action": "receive", "from_status": None, "to_status": "received",
             "actor": "user:wang", "role": "dispatcher", "at": T0, "note": "早市占道"},
            {"id": 2, "action": "assess", "from_status": "received", "to_status": "assessed",
             "actor": "system:router", "role": "system", "at": T0, "note": "E0502 占道经营，一般"},
            {"id": 3, "action": "dispatch", "from_status": "assessed", "to_status": "dispatched",
             "actor": "system:router", "role": "system", "at": T0,
             "note": "属地网格 320113001001001: 派给 闫勇国 (网格员)"},
            {"id": 4, "action": "accept", "from_status": "dispatched", "to_status": "handling",
             "actor": "user:li.ming", "role": "grid_worker", "at": T0 + timedelta(minutes=30),
             "note": "已到现场"},
        ],
    }  # fmt: skip
    case.update(kw)
    return case


GRID = {
    "code": "320113001001001", "name": "尧化社区第1网格", "community": "尧化社区居委会",
    "street": "尧化街道", "community_code": "320113001001", "street_code": "320113001",
    "households": 420,
    "roster": [{"person_id": "P1", "name": "闫勇国", "role": "grid_worker", "role_zh": "网格员",
                "phone": "151****4140"}],
    "geometry": {"type": "Polygon", "coordinates": [[[118.9, 32.1], [118.91, 32.1],
                                                     [118.91, 32.11], [118.9, 32.1]]]},
}  # fmt: skip


def _render_case(case: dict, **kw) -> _Page:
    options = {"user": USER, "nav": NAV, "grid": GRID, "may_whistle": False,
               "photo_max_bytes": 10 * 1048576, **kw}  # fmt: skip
    return parse(case_page(case, **options))


def _buttons(page: _Page) -> list[str]:
    return [a["data-action"] for tag, a in page.tags if tag == "form" and "data-action" in a]


# ------------------------------------------------------------------------------ one case
def test_case_page_offers_exactly_the_callers_actions_and_photo_phases():
    page = _render_case(_case())
    assert _buttons(page) == ["comment", "contact", "handle", "return", "suspend"]
    text = page.read()
    for action in ("handle", "return", "suspend", "contact", "comment"):
        assert labels.CASE_ACTION[action] in text
    phases = [a.get("value") for tag, a in page.tags if tag == "option" and a.get("value") in (
        "before", "after")]  # fmt: skip
    assert phases == ["before", "after"] and "拍照或选择照片" in text
    assert page.island["case"] == {"id": 42, "number": "2026120600000042", "version": 4}
    assert page.island["photoMaxBytes"] == 10 * 1048576


def test_a_leader_reads_and_may_only_whistle():
    page = _render_case(_case(allowed_actions=[], photo_phases=[]), user=Viewer("zhao", "leader"),
                        may_whistle=True)  # fmt: skip
    assert _buttons(page) == ["whistle"]
    assert "吹哨" in page.read() and "拍照或选择照片" not in page.read()


def test_nothing_to_do_says_so_in_chinese():
    page = _render_case(_case(allowed_actions=[], photo_phases=[]), user=Viewer("v", "viewer"))
    assert _buttons(page) == [] and "您（只读用户）现在对这件案件没有可办理的操作" in page.read()


def test_a_manual_case_is_placed_on_the_dispatch_map_not_dispatched_blind():
    case = _case(status="manual", status_zh="待人工派遣", grid_code=None, grids={},
                 allowed_actions=["comment", "contact", "dispatch", "reject"], photo_phases=[],
                 manual_reason_zh="文中没有地址库里的道路、小区、村或街道社区", lon=None, lat=None)  # fmt: skip
    page = _render_case(case, grid=None, user=Viewer("wang", "dispatcher"))
    assert _buttons(page) == ["comment", "contact", "reject"]
    assert ("a", {"class": "gg-btn gg-btn-dispatch", "href": "/map/dispatch"}) in page.tags
    assert "案件尚未落到网格：文中没有地址库里的道路" in page.read()
    assert page.island["map"] is None


def test_timeline_in_order_in_beijing_time_with_actor_and_role():
    photo = {"id": "a" * 32, "case_id": 42, "phase": "before", "phase_zh": "处置前",
             "uploaded_by": "user:li.ming", "role": "grid_worker", "width": 640, "height": 480,
             "size_bytes": 57_344, "uploaded_at": T0 + timedelta(minutes=31),
             "url": "/api/v1/cases/42/photos/" + "a" * 32}  # fmt: skip
    case = _case(work_photos=[photo])
    case["events"] = list(reversed(case["events"]))  # the page orders them, not the store
    steps = timeline(case)
    assert [s["action"] for s in steps] == ["receive", "assess", "dispatch", "accept", "photo"]
    assert steps[0]["at"] == "2026-12-06 09:02:03 (北京时间)"
    assert steps[3] == {**steps[3], "what": "签收处置", "change": "已派遣 → 处置中",
                        "actor": "li.ming", "role": "网格员", "note": "已到现场"}  # fmt: skip
    assert steps[1]["actor"] == "自动派遣" and steps[1]["role"] == "系统自动"
    assert steps[4]["what"] == "上传处置前照片" and steps[4]["note"] == "640×480，56 KB"
    text = _render_case(case).read()
    assert "2026-12-06 09:32:03 (北京时间) 签收处置 已派遣 → 处置中 li.ming（网格员）" in text


def test_the_services_reasons_read_in_chinese_in_the_timeline():
    event = {"id": 9, "action": "to_manual", "from_status": "received", "to_status": "manual",
             "actor": "system:router", "role": "system", "at": T0,
             "note": "the point lies outside every unified grid (辖区外或网格未覆盖)"}  # fmt: skip
    (step,) = timeline({"events": [event]})
    assert step["note"] == "坐标不在任何全科网格内 (辖区外或网格未覆盖)"
    typed = {**event, "actor": "user:wang", "role": "dispatcher", "note": "low confidence; x"}
    assert timeline({"events": [typed]})[0]["note"] == "low confidence; x"  # a person's words


def test_every_word_on_the_case_page_is_chinese():
    case = _case(overdue=True, handled_at=T0 + timedelta(hours=2), reopened=1, rating=4)
    text = _render_case(case, may_whistle=True).read()
    assert _english(text) == [], _english(text)
    for code in ("handling", "grid_worker", "territorial_first", "hotline", "normal"):
        assert code not in text
    assert "（已超期）" in text and "退回重办 1 次" in text and "回访评价 4 分" in text


# ------------------------------------------------------------------------------ hostile text
def test_stored_text_stays_text_everywhere():
    grid = {**GRID, "name": HOSTILE, "community": HOSTILE,
            "roster": [{**GRID["roster"][0], "name": HOSTILE}]}  # fmt: skip
    number = "N</script><script>alert(1)</script><!--<script>"  # also in the JSON island
    case = _case(address_text=HOSTILE, description=HOSTILE, number=number, department=HOSTILE)
    case["events"][3]["note"] = HOSTILE
    html = case_page(case, user=Viewer(HOSTILE, "grid_worker"), nav=NAV, grid=grid,
                     may_whistle=False, photo_max_bytes=1)  # fmt: skip
    page = parse(html)
    executable = [b for a, b in page.scripts if a.get("type") != "application/json"]
    assert executable == ["", "", "", ""]  # our four script files, nothing inline
    assert not [t for t, a in page.tags if t == "img"]
    assert not [a for t, a in page.tags if any(k.startswith("on") for k in a)]
    assert page.read().count(HOSTILE) >= 6  # address ×2, description, department, note, user...
    assert page.island["case"]["number"] == number and page.island["map"]["label"] == number
    assert "{{ 7*7 }}" in page.read() and "49" not in page.read()


def test_inbox_lists_one_page_with_counts_and_keeps_filters_when_paging():
    row = {**_case(), "address_text": HOSTILE, "overdue": True}
    inbox = {"box": "todo", "boxes": [{"key": "todo", "label": "我的待办", "count": 41},
                                      {"key": "all", "label": "全部", "count": 97}],
             "rows": [row], "total": 41, "page": 2, "pages": 3, "size": 20}  # fmt: skip
    filters = {"statuses": ["handling"], "categories": ["E0502"], "overdue": True,
               "start": "2026-12-01", "end": "2026-12-06"}  # fmt: skip
    page = parse(inbox_page(inbox, user=USER, nav=NAV, filters=filters))
    text = page.read()
    assert "我的待办 41" in text and "全部 97" in text and "共 41 件，第 2/3 页" in text
    links = {a.get("rel"): a["href"] for t, a in page.tags if t == "a" and a.get("rel")}
    assert links["prev"] == ("/cases?box=todo&status=handling&category=E0502&from=2026-12-01"
                             "&to=2026-12-06&overdue=true&page=1")  # fmt: skip
    assert links["next"].endswith("&page=3")
    assert HOSTILE in text and "超期" in text and "受理 2026-12-06 09:02" in text
    selected = [a["value"] for t, a in page.tags if t == "option" and "selected" in a]
    assert selected == ["handling", "E0502"]
    assert _english(text.replace(HOSTILE, "")) == [], _english(text)


def test_intake_form_has_the_catalogue_and_the_fields():
    from geo_grid.cases.catalogue import categories

    page = parse(intake_page(user=Viewer("wang", "dispatcher"), nav=NAV,
                             default_channel="hotline"))  # fmt: skip
    fields = {a.get("name") for t, a in page.tags if t in ("input", "select", "textarea")}
    assert {"address_text", "category_code", "description", "reporter_name",
            "reporter_phone", "channel"} <= fields  # fmt: skip
    codes = [a["value"] for t, a in page.tags if t == "option" and a.get("value", "").startswith(
        tuple("EFZYS"))]  # fmt: skip
    assert sorted(codes) == sorted(c.code for c in categories())
    assert ("option", {"value": "hotline", "selected": None}) in page.tags
    assert page.island["previewUrl"] == "/api/v1/cases/preview"
    assert _english(page.read()) == []


@pytest.mark.parametrize("render", ["inbox", "intake", "case"])
def test_every_page_links_only_our_own_assets(render):
    pages = {
        "inbox": lambda: inbox_page({"box": "all", "boxes": [], "rows": [], "total": 0,
                                     "page": 1, "pages": 1, "size": 20},
                                    user=USER, nav=NAV, filters={}),
        "intake": lambda: intake_page(user=USER, nav=NAV, default_channel="patrol"),
        "case": lambda: case_page(_case(), user=USER, nav=NAV, grid=GRID, may_whistle=False,
                                  photo_max_bytes=1),
    }  # fmt: skip
    page = parse(pages[render]())
    urls = [a.get("src") or a.get("href") for t, a in page.tags if t in ("script", "link")]
    urls = [u for u in urls if u]
    assert urls and all(u.startswith("/static/") for u in urls), urls
    assert ("meta", {"name": "viewport", "content": "width=device-width,initial-scale=1"}) in (
        page.tags)  # fmt: skip
