"""The planner's pages: the plans of a district (``/plans``) and one plan's workspace
(``/plans/{id}``).

The list is rendered here whole (filters by layer and state, times in Beijing time, a form to
start a plan). The workspace is a map and a side panel whose script
(``geo_grid/static/js/geo_grid_workspace.js``) draws the plan's grids from the plans API,
coloured by households against the district's band, and edits the plan through it: split,
reshape, merge, move buildings, undo, the roster of grids nobody would be on duty in, validate,
diff and publish. This module gives that script its data island: the plan, the API's URLs and
every Chinese label it shows.

>>> from geo_grid.pages.frame import Viewer
>>> html = plans_page([], layers=[{"key": "unified", "name_zh": "全科网格"}],
...     filters={"layer": "", "status": ""}, user=Viewer("li", "planner"), nav=[],
...     may_create=True, districts=[])
>>> "新建调整方案" in html and "全科网格" in html
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from geo_grid.labels import (
    BAND_STATUS,
    DEFECT_KIND,
    PLAN_CHANGE,
    PLAN_OP,
    PLAN_STATE,
    ROSTER_ROLE,
    label,
)
from geo_grid.pages.frame import NavLink, Viewer, actor_name, render
from geo_grid.settings import get_settings
from geo_grid.timefmt import format_time, zone_name

__all__ = ["plan_page", "plans_page"]

#: The plans API (:mod:`api.routers.plans`), as the workspace calls it.
API = "/api/v1/plans"


def _plan_row(plan: Mapping[str, Any], layer_names: Mapping[str, str]) -> dict[str, Any]:
    """One plan as the list shows it."""
    return {
        **plan,
        "layer_zh": layer_names.get(plan["layer"], plan["layer"]),
        "status_zh": label(PLAN_STATE, plan["status"]),
        "who": actor_name(plan.get("author")),
        "created": format_time(plan.get("created_at"), suffix=False),
        "updated": format_time(plan.get("updated_at"), suffix=False),
        "published": format_time(plan.get("published_at"), suffix=False),
    }


def plans_page(
    plans: Sequence[Mapping[str, Any]],
    *,
    layers: Sequence[Mapping[str, Any]],
    filters: Mapping[str, str],
    user: Viewer,
    nav: Sequence[NavLink],
    may_create: bool,
    districts: Sequence[tuple[str, str]],
) -> str:
    """``/plans``: the plans (newest first) with their layer, state, edits and times, filters by
    layer and state, and for planners a form to start one (a layer, a note, and the district
    when the account has several)."""
    names = {row["key"]: row["name_zh"] for row in layers}
    rows = [_plan_row(p, names) for p in sorted(plans, key=lambda p: p["id"], reverse=True)]
    data = {"createUrl": API, "planUrl": "/plans/{id}"}
    return render(
        "plans.html", title="调整方案", page="plans", user=user, nav=nav, data=data, rows=rows,
        layers=list(names.items()), states=list(PLAN_STATE.items()), filters=filters,
        may_create=may_create, districts=list(districts),
    )  # fmt: skip


def _log(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The plan's edit log, newest first, as the side panel lists it."""
    out = []
    for e in reversed(plan.get("log") or []):
        what = label(PLAN_OP, e["op"])
        if e["op"] == "undo":
            undone = (e.get("params") or {}).get("op")
            what += f"（{label(PLAN_OP, undone)}，第 {(e.get('params') or {}).get('seq')} 步）"
        out.append({"seq": e["seq"], "what": what, "who": actor_name(e.get("author")),
                    "at": format_time(e.get("created_at"), seconds=True, suffix=False)})  # fmt: skip
    return out


def plan_page(
    plan: Mapping[str, Any],
    *,
    user: Viewer,
    nav: Sequence[NavLink],
    editable: bool,
    layer_name: str,
    band: tuple[int, int],
    may_check: bool = True,
) -> str:
    """``/plans/{id}``: the workspace of one plan. ``plan`` is
    :func:`geo_grid.services.plans.get_plan`'s answer; ``editable`` when the caller may edit
    and the plan is open; ``may_check`` when they may run the whole plan's check; ``band`` the
    district's household band (the page's legend; each grid carries its own)."""
    pid = plan["id"]
    data = {
        "plan": {"id": pid, "status": plan["status"], "layer": plan["layer"],
                 "district": plan["district_code"], "edits": plan.get("edits", 0)},
        "editable": editable,
        "api": f"{API}/{pid}",
        "band": list(band),
        "timeZone": get_settings().time_zone,
        "zoneName": zone_name(),
        "gridPage": "/map/grid/{code}",
        "mapPage": f"/map?district={plan['district_code']}",
        "diffPage": f"/map/plan/{pid}",
        "labels": {"role": ROSTER_ROLE, "defect": DEFECT_KIND, "op": PLAN_OP,
                   "change": PLAN_CHANGE, "band": BAND_STATUS, "state": PLAN_STATE},
    }  # fmt: skip
    return render(
        "plan.html", title=f"调整方案 {pid}", page="plan", user=user, nav=nav, uses_map=True,
        data=data, plan=plan, status_zh=label(PLAN_STATE, plan["status"]), editable=editable,
        may_check=may_check,
        layer_name=layer_name, band=band, log=_log(plan), who=actor_name(plan.get("author")),
        created=format_time(plan.get("created_at")),
    )  # fmt: skip
