"""The planner's pages as HTML (geo_grid/pages/plans.py), without a database.

Rendered from hand-built answers of the plans service and read back with the standard library's
HTML parser (the case pages' reader): a note is shown as typed and never opens an element or a
script, the data island reads back verbatim, every word a person reads is Chinese, times are
Beijing time, and the tools are there only for an editor of an open plan.
"""

from __future__ import annotations

from datetime import UTC, datetime

from test_pages_cases import HOSTILE, _english, parse

from geo_grid import labels
from geo_grid.pages import NavLink, Viewer, plan_page, plans_page

T0 = datetime(2026, 12, 6, 1, 2, 3, tzinfo=UTC)  # 09:02:03 Beijing time
NAV = [NavLink("/plans", "调整方案", True), NavLink("/map", "网格地图")]
LAYERS = [{"key": "unified", "name_zh": "全科网格"}, {"key": "urban_mgmt", "name_zh": "城管网格"}]


def _plan(**kw) -> dict:
    plan = {
        "id": 7, "layer": "unified", "district_code": "320113", "status": "open",
        "generation": 3, "generation_id": 30, "base_generation": 2, "base_generation_id": 20,
        "author": "user:li.ming", "note": HOSTILE, "created_at": T0, "updated_at": T0,
        "published_at": None, "edits": 2,
        "log": [
            {"seq": 1, "op": "split", "params": {"grid": "x"}, "author": "user:li.ming",
             "created_at": T0},
            {"seq": 2, "op": "undo", "params": {"seq": 1, "op": "split"},
             "author": "user:li.ming", "created_at": T0},
        ],
    }  # fmt: skip
    return {**plan, **kw}


def _list(plans, **kw) -> str:
    args = {"layers": LAYERS, "filters": {"layer": "", "status": ""},
            "user": Viewer("li.ming", "planner"), "nav": NAV, "may_create": True,
            "districts": []}  # fmt: skip
    return plans_page(plans, **{**args, **kw})


def test_the_list_shows_each_plan_in_chinese_and_beijing_time():
    page = parse(_list([_plan(), _plan(id=8, status="published", layer="urban_mgmt",
                                       published_at=T0)]))  # fmt: skip
    text = page.read()
    assert HOSTILE.replace("  ", " ") in text  # the note as typed, as text
    assert not any(t == "img" or (t == "script" and "src" not in a) and a.get("id") != "gg-data"
                   for t, a in page.tags)  # fmt: skip
    assert "2026-12-06 09:02" in text and "时间均为北京时间" in text
    assert "编辑中" in text and "已发布" in text and "城管网格" in text
    rows = [a["data-id"] for t, a in page.tags if t == "tr" and "data-id" in a]
    assert rows == ["8", "7"]  # newest first
    assert not _english(text.replace(HOSTILE.replace("  ", " "), ""))
    assert page.island == {"createUrl": "/api/v1/plans", "planUrl": "/plans/{id}"}


def test_only_planners_get_the_form_and_several_districts_are_offered():
    reader = parse(_list([], may_create=False, user=Viewer("wang", "leader")))
    assert not any(a.get("id") == "gg-create" for _, a in reader.tags)
    many = parse(_list([], districts=[("320113", "栖霞区"), ("320508", "姑苏区")]))
    options = [a.get("value") for t, a in many.tags if t == "option"]
    assert "320508" in options and "urban_mgmt" in options


def test_the_workspace_carries_its_plan_labels_and_tools_for_editors_only():
    editor = parse(plan_page(_plan(), user=Viewer("li.ming", "planner"), nav=NAV, editable=True,
                             layer_name="全科网格", band=(300, 500)))  # fmt: skip
    data = editor.island
    assert data["api"] == "/api/v1/plans/7" and data["editable"] is True
    assert data["band"] == [300, 500] and data["timeZone"] == "Asia/Shanghai"
    assert data["labels"]["op"] == labels.PLAN_OP and data["labels"]["band"] == labels.BAND_STATUS
    ids = {a.get("id") for _, a in editor.tags}
    assert {"gg-tools", "gg-undo", "gg-publish", "gg-validate", "gg-staff"} <= ids
    text = editor.read()
    assert "第 2 步 撤销（分割网格，第 1 步）" in text and "2026-12-06 09:02:03" in text
    assert "目标 300–500 户/网格" in text and HOSTILE.replace("  ", " ") in text
    assert not _english(text.replace(HOSTILE.replace("  ", " "), ""))
    reader = parse(plan_page(_plan(status="published"), user=Viewer("wang", "leader"), nav=NAV,
                             editable=False, layer_name="全科网格", band=(300, 500),
                             may_check=False))  # fmt: skip
    ids = {a.get("id") for _, a in reader.tags}
    assert not ids & {"gg-tools", "gg-undo", "gg-publish", "gg-validate"}
    assert "gg-diff" in ids and "已发布" in reader.read()
