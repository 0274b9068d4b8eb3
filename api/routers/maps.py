"""HTML map pages (Folium), served with every asset from this server: they work offline.

Each route only translates the request into :func:`geo_grid.services.maps.page`, which caches the
page by the data it shows (published generations, and cases for the case pages). The vector tiles
router (:mod:`api.routers.tiles`) is included here so one registration serves maps and their tiles.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from api import workers
from api.auth import PrincipalDep
from api.deps import PageDistrict, PeriodDep, ReadableDistricts
from api.guard import GuardedRoute
from api.params import Category, LayerKey
from api.policy import POLICY, resolve
from api.routers import tiles
from geo_grid.errors import NotFound
from geo_grid.maps.identify import LINKS, IdentifyLink
from geo_grid.services import maps, plans

router = APIRouter(tags=["maps"], route_class=GuardedRoute)
router.include_router(tiles.router)

ASSETS = "/static"


#: The identify panel's links (:data:`geo_grid.maps.identify.LINKS`), each shown to the roles the
#: role table lets open its page (a planner gets no link to the case list).
LINK_ROUTES = {
    "grid": "GET /map/grid/{code}",
    "cases": "GET /cases",
    "indicators": "GET /map/indicators",
}


def identify_links() -> tuple[IdentifyLink, ...]:
    """The identify panel's links with their roles (under the current settings)."""
    return tuple(
        replace(link, roles=tuple(sorted(resolve(POLICY[LINK_ROUTES[link.key]])))) for link in LINKS
    )


def _html(kind: str, district: str, **params: Any) -> HTMLResponse:
    """A page from the cache, or built in a worker process (``api/workers.py``)."""
    return HTMLResponse(
        maps.page(
            kind,
            district=district,
            asset_base=ASSETS,
            build_in=workers.run,
            links=identify_links(),
            **params,
        ),  # fmt: skip
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/map", response_class=HTMLResponse)
def coverage_map(district: PageDistrict, principal: PrincipalDep) -> HTMLResponse:
    """The coverage map page: unified grids over street and community outlines.

    Every map page shows one district and opens on it: ``district``, or the caller's (the first
    of theirs when their area holds several); a street or community account's page opens on
    their area and names it, a grid worker's on their grids. Department layers are toggles;
    tooltips name the grid leader and workers and count open cases; the search box finds
    streets, communities, roads, 小区, grids and door plates. HTML, works offline."""
    return _html("coverage", district.code, viewer=principal)


@router.get("/map/checks/{layer}", response_class=HTMLResponse)
def checks_map(layer: LayerKey, district: PageDistrict) -> HTMLResponse:
    """The checks map page: the coverage defects of a layer's published generation.

    Overlaps, gaps, slivers, nesting errors and invalid geometry, one toggle and colour per kind,
    each with a popup (kind, area, width, grids involved)."""
    return _html("checks", district.code, layer=layer)


@router.get("/map/cases", response_class=HTMLResponse)
def cases_map(
    period: PeriodDep, principal: PrincipalDep, district: PageDistrict, category: Category = None
) -> HTMLResponse:
    """The cases map page: clustered case points, a heat map and case counts per grid.

    ``from``/``to`` (Beijing time when no offset is given) and ``category`` filter; a viewer limited
    to a street, a community or their own grids sees only those cases."""
    return _html(
        "cases", district.code, start=period.start, end=period.end, category=category,
        viewer=principal,
    )  # fmt: skip


@router.get("/map/indicators", response_class=HTMLResponse)
def indicators_map(
    period: PeriodDep, district: PageDistrict, principal: PrincipalDep
) -> HTMLResponse:
    """The 红绿指标 map page: grids red, yellow or green by their indicators.

    States the on-time closure rate of the period and how many grids are of each colour (by the
    district's thresholds); each grid's tooltip says which rates made it red or yellow against
    which thresholds, and a grid with too few cases shows its community's colour. A street or
    community leader sees and the page names their area."""
    return _html("indicators", district.code, start=period.start, end=period.end, viewer=principal)


@router.get("/map/services", response_class=HTMLResponse)
def services_map(district: PageDistrict, principal: PrincipalDep) -> HTMLResponse:
    """The service map page: stations 驿站, their 10-minute walking reach, households covered.

    Households outside every reach are drawn as their own layer. Opens on the caller's street,
    community or grids."""
    return _html("services", district.code, viewer=principal)


@router.get("/map/dispatch", response_class=HTMLResponse)
def dispatch_map(district: PageDistrict) -> HTMLResponse:
    """The dispatcher's map page: the manual queue, a click to locate, a confirmation.

    The page calls ``/api/v1/cases/manual``, ``/api/v1/locate`` and ``route-to-point`` as the logged-in
    dispatcher; nothing about cases is baked into the page."""
    return _html("dispatch", district.code)


@router.get("/map/grid/{code}", response_class=HTMLResponse)
def grid_map(
    code: Annotated[str, Path(pattern="^[0-9A-Za-z_-]{1,64}$")], districts: ReadableDistricts
) -> HTMLResponse:
    """The map page of one unified grid: its buildings, door-plate addresses, neighbours.

    The grid's district is its code's first six digits (one of the caller's). Building tooltips
    carry households and floors."""
    if code[:6] not in districts:
        raise NotFound(f"code: no grid {code!r} in your districts", field="code")
    return _html("grid", code[:6], code=code)


@router.get("/map/plan/{plan_id}", response_class=HTMLResponse)
def plan_map(plan_id: Annotated[int, Path(ge=1)], principal: PrincipalDep) -> HTMLResponse:
    """The map page of a redrawing plan: its grids before and after, with drawing tools.

    An open plan can be edited from the page: a drawn line splits a grid, a drawn outline reshapes
    it; the impact is shown before anything is stored."""
    plan = plans.get_plan(plan_id, viewer=principal)
    return _html("plan", plan["district_code"], plan_id=plan_id)
