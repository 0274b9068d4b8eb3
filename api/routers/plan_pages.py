"""The planner's pages: ``/plans`` (the plans of the caller's districts, a form to start one) and
``/plans/{id}`` (one plan's workspace).

Each route reads what its page shows through the services as the caller (their districts; a plan
of another district is a 403 page) and hands it to :mod:`geo_grid.pages` to render; the
workspace's script then edits the plan through the plans API (``/api/v1/plans/...``) with the
same session cookie. Planners and administrators get the editing tools on an open plan; leaders
and viewers see the plan, its balance, its checks and its diff. Header, headers and refusals as
every page's (:mod:`api.page_shell`, :mod:`api.pages`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse

from api.auth import PrincipalDep
from api.deps import ReadableDistricts
from api.guard import GuardedRoute
from api.page_shell import html, nav, viewer
from api.policy import POLICY, resolve
from geo_grid import pages
from geo_grid.access import Principal
from geo_grid.services import districts as district_profiles
from geo_grid.services import layers, plans

router = APIRouter(tags=["plan pages"], route_class=GuardedRoute)

LayerKey = Annotated[str | None, Query(pattern=r"^$|^[a-z][a-z0-9_]*$", max_length=32)]
PlanState = Annotated[Literal["", "open", "published", "abandoned"] | None, Query()]


def _may_edit(principal: Principal) -> bool:
    """Whether the caller's role may edit plans (the role table's, for every edit route)."""
    return principal.role in resolve(POLICY["POST /api/v1/plans/{plan_id}/split"])


def _layer_names(districts: list[str]) -> list[dict]:
    """The layers of the caller's districts, once each, in the store's order."""
    seen: dict[str, dict] = {}
    for row in layers.list_layers(districts):
        seen.setdefault(row["key"], {"key": row["key"], "name_zh": row["name_zh"]})
    return list(seen.values())


@router.get("/plans", response_class=HTMLResponse)
def plans_page(
    principal: PrincipalDep,
    districts: ReadableDistricts,
    layer: LayerKey = None,
    status: PlanState = None,
) -> HTMLResponse:
    """调整方案: the redrawing plans of the caller's districts, newest first, by layer and state.

    Each with its layer, state, note, edits and times (Beijing time). Planners start a plan
    here: a draft copy of the layer's published grids, opened in its workspace."""
    rows = plans.list_plans(layer or None, districts=districts, status=status or None)
    names = [(code, district_profiles.get(code).name) for code in districts]
    return html(
        pages.plans_page(
            rows,
            layers=_layer_names(districts),
            filters={"layer": layer or "", "status": status or ""},
            user=viewer(principal),
            nav=nav(principal, "/plans"),
            may_create=_may_edit(principal),
            districts=names,
        )  # fmt: skip
    )


@router.get("/plans/{plan_id}", response_class=HTMLResponse)
def plan_page(
    plan_id: Annotated[int, Path(ge=1, le=2_147_483_647)], principal: PrincipalDep
) -> HTMLResponse:
    """One plan's workspace: its grids coloured by households against the band, and the tools.

    Split, reshape, merge, move buildings and undo, each previewed before it is kept; the grids
    nobody would be on duty in, with a roster form; validate, diff and publish (confirmed)."""
    plan = plans.get_plan(plan_id, viewer=principal)
    profile = district_profiles.get(plan["district_code"])
    names = {row["key"]: row["name_zh"] for row in _layer_names([plan["district_code"]])}
    return html(
        pages.plan_page(
            plan,
            user=viewer(principal),
            nav=nav(principal, "/plans"),
            editable=_may_edit(principal) and plan["status"] == "open",
            may_check=principal.role in resolve(POLICY["POST /api/v1/plans/{plan_id}/validate"]),
            layer_name=names.get(plan["layer"], plan["layer"]),
            band=district_profiles.household_band(profile),
        )  # fmt: skip
    )
