"""The three case pages: the inbox, the intake form and one case (see :mod:`geo_grid.pages`).

>>> from datetime import UTC, datetime
>>> t = datetime(2026, 12, 6, 2, 5, tzinfo=UTC)
>>> steps = timeline({"events": [{"id": 1, "action": "accept", "from_status": "dispatched",
...     "to_status": "handling", "actor": "user:li.ming", "role": "grid_worker", "at": t,
...     "note": None}]})
>>> [(s["at"], s["what"], s["change"], s["actor"], s["role"]) for s in steps]
[('2026-12-06 10:05:00 (北京时间)', '签收处置', '已派遣 → 处置中', 'li.ming', '网格员')]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from geo_grid.cases.catalogue import MAJORS, categories
from geo_grid.cases.duties import SYSTEM
from geo_grid.labels import (
    ACTOR_ROLE,
    CASE_ACTION,
    CASE_CHANNEL,
    CASE_SEVERITY,
    CASE_STATE,
    PHOTO_PHASE,
    ROUTING_STRATEGY,
    label,
    reason_zh,
)
from geo_grid.layers import UNIFIED
from geo_grid.pages.frame import NavLink, Viewer, render
from geo_grid.pages.frame import actor_name as _actor
from geo_grid.timefmt import format_time

__all__ = ["case_page", "inbox_page", "intake_page", "timeline"]

#: The unified grids as vector tiles (:mod:`api.routers.tiles`): the small maps' surroundings.
TILES_URL = f"/tiles/{UNIFIED}/{{z}}/{{x}}/{{y}}.pbf"

#: 吹哨 is not a transition (its own route), but a button among them on the case page.
WHISTLE = "whistle"


def _category_groups() -> list[dict[str, Any]]:
    """The catalogue as ``<optgroup>``s by major class."""
    groups: dict[str, dict[str, Any]] = {}
    for cat in categories():
        major = cat.code[:3]
        name = MAJORS.get(major, (cat.major_zh, None, None))[0]
        group = groups.setdefault(major, {"label": f"{major} {name}", "options": []})
        group["options"].append({"code": cat.code, "name": cat.name_zh})
    return list(groups.values())


# ------------------------------------------------------------------------------------ inbox
#: The inbox's filters when the person set none.
_NO_FILTERS: dict[str, Any] = {"statuses": (), "categories": (), "overdue": False, "start": "",
                               "end": "", "grid": ""}  # fmt: skip


def inbox_page(
    inbox: Mapping[str, Any],
    *,
    user: Viewer,
    nav: Sequence[NavLink],
    filters: Mapping[str, Any],
    sheet_href: str | None = None,
) -> str:
    """``/cases``: the caller's boxes with counts, the filters, one page of cases.

    ``inbox`` is :func:`geo_grid.services.cases.inbox`'s answer; ``filters`` what the person
    asked (``statuses``, ``categories``, ``overdue``, ``start``/``end`` as ``YYYY-MM-DD``, one
    ``grid``); ``sheet_href`` where the job exporting those cases as a spreadsheet is started
    (the 导出表格 button)."""
    filters = {**_NO_FILTERS, **filters}
    query = _query(filters)
    view = dict(inbox)
    grid = [("grid", filters["grid"])] if filters["grid"] else []
    view["boxes"] = [
        {**b, "href": "/cases?" + urlencode([("box", b["key"]), *grid])} for b in inbox["boxes"]
    ]
    page = inbox["page"]
    view["prev_href"] = _page_href(inbox["box"], query, page - 1) if page > 1 else None
    view["next_href"] = _page_href(inbox["box"], query, page + 1) if page < inbox["pages"] else None
    return render(
        "inbox.html", title="案件列表", page="inbox", user=user, nav=nav, inbox=view,
        filters=filters, statuses=list(CASE_STATE.items()), categories=_category_groups(),
        sheet_href=sheet_href,
    )  # fmt: skip


def _query(filters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The person's filters as query parameters (kept when paging)."""
    query = [("status", s) for s in filters.get("statuses", ())]
    query += [("category", c) for c in filters.get("categories", ())]
    query += [(k, filters[n]) for k, n in (("from", "start"), ("to", "end")) if filters.get(n)]
    if filters.get("overdue"):
        query.append(("overdue", "true"))
    if filters.get("grid"):
        query.append(("grid", filters["grid"]))
    return query


def _page_href(box: str, query: list[tuple[str, str]], page: int) -> str:
    return "/cases?" + urlencode([("box", box), *query, ("page", str(page))])


# ------------------------------------------------------------------------------------ intake
def intake_page(*, user: Viewer, nav: Sequence[NavLink], default_channel: str) -> str:
    """``/cases/new``: the intake form; its script previews the typed address and files the case
    through the JSON API (``/api/v1/cases/preview``, ``POST /api/v1/cases``)."""
    data = {
        "previewUrl": "/api/v1/cases/preview",
        "createUrl": "/api/v1/cases",
        "caseUrl": "/cases/{id}",
        "tilesUrl": TILES_URL,
    }
    return render(
        "new.html", title="受理登记", page="new", user=user, nav=nav, uses_map=True, data=data,
        categories=_category_groups(), channels=list(CASE_CHANNEL.items()),
        default_channel=default_channel,
    )  # fmt: skip


# ------------------------------------------------------------------------------------ one case
def case_page(
    case: Mapping[str, Any],
    *,
    user: Viewer,
    nav: Sequence[NavLink],
    grid: Mapping[str, Any] | None,
    may_whistle: bool,
    photo_max_bytes: int,
) -> str:
    """``/cases/{id}``: details, map and people on duty, photos, the timeline, and the buttons of
    the actions the caller may take now (the case's ``allowed_actions``, plus 吹哨 when
    ``may_whistle``). ``case`` is :func:`geo_grid.services.cases.get_case`'s answer for the
    caller; ``grid`` the case's grid with its roster and its outline as GeoJSON."""
    actions = [{"key": a, "label": label(CASE_ACTION, a)} for a in case["allowed_actions"]]
    if may_whistle:
        actions.append({"key": WHISTLE, "label": "吹哨（提级）"})
    photos = [{**p, "who": _actor(p["uploaded_by"])} for p in case.get("work_photos", [])]
    data = {
        "case": {"id": case["id"], "number": case["number"], "version": case["version"]},
        "transitionUrl": f"/api/v1/cases/{case['id']}/transitions",
        "whistleUrl": f"/api/v1/cases/{case['id']}/whistle",
        "photoUrl": f"/api/v1/cases/{case['id']}/photos",
        "photoMaxBytes": photo_max_bytes,
        "tilesUrl": TILES_URL,
        "map": _map_data(case, grid),
    }
    return render(
        "case.html", title=f"案件 {case['number']}", page="case", user=user, nav=nav,
        uses_map=True, data=data, case=case, grid=grid, actions=actions,
        photo_phases=[(p, label(PHOTO_PHASE, p)) for p in case.get("photo_phases", [])],
        photo_limit_mb=f"{photo_max_bytes / 1048576:.0f}", facts=_facts(case, grid),
        photos=photos, timeline=timeline(case), map_data=data["map"],
    )  # fmt: skip


def _map_data(case: Mapping[str, Any], grid: Mapping[str, Any] | None) -> dict[str, Any] | None:
    point = [case["lat"], case["lon"]] if case.get("lon") is not None else None
    outline = grid.get("geometry") if grid else None
    if point is None and outline is None:
        return None
    return {"point": point, "grid": outline, "label": case["number"]}


def _facts(case: Mapping[str, Any], grid: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """What the details table shows, each a (label, text) pair; empty values left out."""
    where = grid and " ".join(x for x in (grid.get("street"), grid.get("community")) if x)
    due = format_time(case.get("due_at")) + ("（已超期）" if case.get("overdue") else "")
    rating = case.get("rating")
    rows = [
        ("案件编号", case["number"]),
        ("问题类别", f"{case['category_code']} {case.get('category_name') or ''}".strip()),
        ("来源", case.get("channel_zh") or label(CASE_CHANNEL, case.get("channel"))),
        ("紧急程度", label(CASE_SEVERITY, case.get("severity"))),
        ("事发地址", case.get("address_text")),
        ("问题描述", case.get("description")),
        ("反映人", case.get("reporter_name")),
        ("联系电话", case.get("reporter_phone")),
        ("受理时间", format_time(case.get("received_at"))),
        ("办理时限", due if case.get("due_at") else ""),
        ("办结时间", format_time(case.get("handled_at"))),
        ("结案时间", format_time(case.get("closed_at"))),
        ("退回重办", f"{case['reopened']} 次" if case.get("reopened") else ""),
        ("当前层级", case.get("level_zh")),
        ("所属网格", case.get("grid_code")),
        ("所在街道社区", where),
        ("责任部门", case.get("department")),
        ("承办人", case.get("assignee_name")),
        ("派遣方式", label(ROUTING_STRATEGY, case.get("strategy"))),
        ("待人工派遣原因", case.get("manual_reason_zh")),
        ("回访评价", f"{rating} 分" if rating else ""),
    ]
    return [(k, str(v)) for k, v in rows if v not in (None, "")]


def timeline(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every step of a case, oldest first, as a person reads it: when (Beijing time, to the
    second), what, the status change, who and in what role, and the note. The case log's events,
    the photos of the work and the departments' 报到 are merged by time."""
    steps = [_event_step(e) for e in case.get("events", [])]
    steps += [_photo_step(p) for p in case.get("work_photos", [])]
    steps += [_report_step(r) for r in case.get("report_ins", []) if r.get("reported_at")]
    steps.sort(key=lambda s: (s["sort"], s["order"]))
    return steps


def _step(at: datetime | str, order: tuple, **fields: Any) -> dict[str, Any]:
    instant = datetime.fromisoformat(at) if isinstance(at, str) else at
    return {"sort": instant, "order": order, "iso": instant.isoformat(),
            "at": format_time(instant, seconds=True), **fields}  # fmt: skip


def _event_step(e: Mapping[str, Any]) -> dict[str, Any]:
    frm, to = e.get("from_status"), e.get("to_status")
    change = f"{label(CASE_STATE, frm)} → {label(CASE_STATE, to)}" if frm and frm != to else ""
    return _step(
        e["at"], (0, e.get("id") or 0), action=e["action"], what=label(CASE_ACTION, e["action"]),
        change=change, actor=_actor(e.get("actor")), role=label(ACTOR_ROLE, e.get("role")),
        note=_note(e),
    )  # fmt: skip


def _note(e: Mapping[str, Any]) -> str:
    """An event's note as shown: a person's words as typed, the service's reasons in Chinese."""
    note = e.get("note") or ""
    return (reason_zh(note) or "") if e.get("role") == SYSTEM else note


def _photo_step(p: Mapping[str, Any]) -> dict[str, Any]:
    return _step(
        p["uploaded_at"], (1, p["id"]), action="photo",
        what=f"上传{label(PHOTO_PHASE, p['phase'])}照片", change="",
        actor=_actor(p.get("uploaded_by")), role=label(ACTOR_ROLE, p.get("role")),
        note=f"{p['width']}×{p['height']}，{_size(p['size_bytes'])}",
    )  # fmt: skip


def _report_step(r: Mapping[str, Any]) -> dict[str, Any]:
    return _step(
        r["reported_at"], (2, r.get("id") or 0), action="report_in", what="部门报到", change="",
        actor=r.get("department") or "", role=_actor(r.get("actor")), note=r.get("note") or "",
    )  # fmt: skip


def _size(n: int) -> str:
    return f"{n / 1048576:.1f} MB" if n >= 1048576 else f"{max(1, round(n / 1024))} KB"
