"""HTML map pages (Folium), served with every asset from this server: they work offline.

Each route only translates the request into :func:`geo_grid.services.maps.page`, which caches the
page by the data it shows (published generations, and cases for the case pages). The vector tiles
router (:mod:`api.routers.tiles`) is included here so one registration serves maps and their tiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse

from api import workers
from api.auth import PrincipalDep
from api.guard import GuardedRoute
from api.routers import tiles
from geo_grid.access import scope_filter
from geo_grid.errors import BadInput
from geo_grid.services import maps

router = APIRouter(tags=["maps"], route_class=GuardedRoute)
router.include_router(tiles.router)

ASSETS = "/static"
#: Times without a zone are Beijing time, as people in the district write them.
CST = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Period:
    """A period ``[from, to)`` (either end optional) and an optional case category (prefix)."""

    start: datetime | None
    end: datetime | None
    category: str | None


def period_params(
    start: Annotated[
        datetime | None,
        Query(alias="from", description="Start (ISO date or time; Beijing time if no zone)"),
    ] = None,
    end: Annotated[datetime | None, Query(alias="to", description="End (exclusive)")] = None,
    category: Annotated[
        str | None,
        Query(max_length=8, pattern="^[A-Z][0-9A-Z]*$", description="Category code or prefix"),
    ] = None,
) -> Period:
    start = start.replace(tzinfo=CST) if start and start.tzinfo is None else start
    end = end.replace(tzinfo=CST) if end and end.tzinfo is None else end
    if start and end and not start < end:
        raise BadInput("from: must be before to", field="from")
    return Period(start, end, category)


PeriodDep = Annotated[Period, Depends(period_params)]


def _html(kind: str, **params) -> HTMLResponse:
    """A page from the cache, or built in a worker process (``api/workers.py``)."""
    return HTMLResponse(
        maps.page(kind, asset_base=ASSETS, build_in=workers.run, **params),
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/map", response_class=HTMLResponse)
def coverage_map() -> HTMLResponse:
    """Unified grids over street and community outlines; department layers as toggles."""
    return _html("coverage")


@router.get("/map/checks/{layer}", response_class=HTMLResponse)
def checks_map(layer: Annotated[str, Path(pattern="^[a-z][a-z0-9_]*$")]) -> HTMLResponse:
    """The coverage defects of a layer's published generation (overlaps, gaps, slivers...)."""
    return _html("checks", layer=layer)


@router.get("/map/cases", response_class=HTMLResponse)
def cases_map(period: PeriodDep, principal: PrincipalDep) -> HTMLResponse:
    """Cases of a period: clustered markers, a heat map and case counts per grid.

    A viewer confined to a street, a community or their grids sees only those cases.
    """
    area = tuple(
        (k, tuple(v) if isinstance(v, list) else v) for k, v in scope_filter(principal).items()
    )
    return _html("cases", start=period.start, end=period.end, category=period.category, area=area)


@router.get("/map/indicators", response_class=HTMLResponse)
def indicators_map(period: PeriodDep) -> HTMLResponse:
    """红绿指标: grids red/yellow/green with the on-time closure rate."""
    return _html("indicators", start=period.start, end=period.end)


@router.get("/map/services", response_class=HTMLResponse)
def services_map() -> HTMLResponse:
    """Service stations 驿站, their 10-minute walking reach, the households covered."""
    return _html("services")


@router.get("/map/dispatch", response_class=HTMLResponse)
def dispatch_map() -> HTMLResponse:
    """The dispatcher's map: the queue, a click to locate, a confirmation to route."""
    return _html("dispatch")


@router.get("/map/grid/{code}", response_class=HTMLResponse)
def grid_map(code: Annotated[str, Path(pattern="^[0-9A-Za-z_-]{1,64}$")]) -> HTMLResponse:
    """One unified grid with its buildings, door-plate addresses and neighbours."""
    return _html("grid", code=code)


@router.get("/map/plan/{plan_id}", response_class=HTMLResponse)
def plan_map(plan_id: Annotated[int, Path(ge=1)]) -> HTMLResponse:
    """A redrawing plan's grids before and after, with tools to split or reshape."""
    return _html("plan", plan_id=plan_id)
