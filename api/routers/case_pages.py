"""The case pages people work in: the inbox (``/cases``), intake (``/cases/new``), one case.

Each route reads what its page shows through the services *as the caller* (their area, their
masking, what their role may do now) and hands it to :mod:`geo_grid.pages` to render; the pages'
own script then works through the JSON API (preview, file, transitions, whistle, photos) with the
same session cookie. Roles come from :mod:`api.policy` like every route's, refusals are the Chinese
pages of :mod:`api.pages`, and a person who is not logged in is sent to the login form. The
header, the headers (never cached, no inline script) and the answer are :mod:`api.page_shell`'s.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from api.auth import PrincipalDep
from api.deps import SettingsDep
from api.geojson import geometry
from api.guard import GuardedRoute
from api.page_shell import html, nav, viewer
from api.params import CaseRef
from api.policy import POLICY, resolve
from geo_grid import pages
from geo_grid.access import Principal
from geo_grid.cases.escalation import whistle_open
from geo_grid.layers import UNIFIED
from geo_grid.periods import Period, check_period, days_before, parse_day
from geo_grid.services import cases
from geo_grid.services.maps import DEFAULT_DAYS

router = APIRouter(tags=["case pages"], route_class=GuardedRoute)

#: How a case filed from the intake page came in, by the filer's role: the centre answers the
#: 12345 hotline, a grid worker files what they find on patrol.
DEFAULT_CHANNEL = {"grid_worker": "patrol"}


def day_period(
    settings: SettingsDep,
    start: Annotated[str | None, Query(alias="from", max_length=20)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=20)] = None,
) -> Period:
    """The inbox's 受理自 … 至: two local days as a person types them (2026-12-01, 2026/12/1),
    both included (``to`` is the last day received, so the period ends the next midnight),
    checked as every period is."""
    first, last = parse_day(start, "from"), parse_day(end, "to")
    return check_period(
        first, last + timedelta(days=1) if last else None, max_days=settings.max_period_days
    )


DayPeriodDep = Annotated[Period, Depends(day_period)]


@router.get("/cases", response_class=HTMLResponse)
def inbox_page(
    principal: PrincipalDep,
    period: DayPeriodDep,
    box: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$")] = None,
    status: Annotated[list[str] | None, Query(max_length=20)] = None,
    category: Annotated[list[str] | None, Query(max_length=20)] = None,
    overdue: bool = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    grid: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z_-]{1,64}$")] = None,
) -> HTMLResponse:
    """案件列表: the caller's inbox, one box at a time, with counts, filters and pages.

    A grid worker's box holds the open cases of their own grids, a dispatcher's the cases waiting
    to be placed by hand and those past their deadline, a leader's the open cases of their area;
    every box and count is confined to the caller's area. Filters: status, category, received
    between two dates (Beijing time, both days included), overdue only, one grid (``grid``: a
    map's 案件 link)."""
    statuses = [s for s in status or () if s]  # the form's 全部状态 sends an empty value
    categories = [c for c in category or () if c]
    found = cases.inbox(
        principal, box=box, statuses=statuses, categories=categories, overdue=overdue,
        period=(period.start, period.end), page=page, grid=grid,
    )  # fmt: skip
    last_day = period.end - timedelta(days=1) if period.end else None
    filters = {
        "statuses": statuses, "categories": categories, "overdue": overdue,
        "start": period.start.date().isoformat() if period.start else "",
        "end": last_day.date().isoformat() if last_day else "", "grid": grid or "",
    }  # fmt: skip
    sheet = _sheet_href(statuses, categories, overdue, period)
    return html(
        pages.inbox_page(
            found,
            user=viewer(principal),
            nav=nav(principal, "/cases"),
            filters=filters,
            sheet_href=sheet,
        )
    )


def _sheet_href(statuses: list[str], categories: list[str], overdue: bool, period: Period) -> str:
    """The list's 导出表格 button: where the job exporting the cases the filters select, received
    in the list's period, as a spreadsheet is started (``POST /api/v1/exports/cases.xlsx``). The
    export takes a closed period, so a list without one exports the last 30 days (as the case
    maps show them)."""
    end = period.end or datetime.now(UTC).replace(microsecond=0)
    start = period.start or days_before(end, DEFAULT_DAYS, "to")
    query = [("from", start.isoformat()), ("to", end.isoformat())]
    query += [("status", s) for s in statuses] + [("category", c) for c in categories]
    if overdue:
        query.append(("overdue", "true"))
    return "/api/v1/exports/cases.xlsx?" + urlencode(query)


@router.get("/cases/new", response_class=HTMLResponse)
def intake_page(principal: PrincipalDep) -> HTMLResponse:
    """受理登记: file a case from a call or a patrol.

    As the address is typed the page shows its match, the grid on a small map, the people on duty
    there and same-category cases nearby (``GET /api/v1/cases/preview``); submitting files it
    (``POST /api/v1/cases``) and opens the new case's page."""
    channel = DEFAULT_CHANNEL.get(principal.role, "hotline")
    return html(
        pages.intake_page(
            user=viewer(principal), nav=nav(principal, "/cases/new"), default_channel=channel
        )
    )


@router.get("/cases/{ref}", response_class=HTMLResponse)
def case_page(ref: CaseRef, principal: PrincipalDep, settings: SettingsDep) -> HTMLResponse:
    """One case: details, map, the people on duty, photos, the whole timeline, and buttons.

    The buttons are what this caller may do now (the case's ``allowed_actions`` for them, and
    吹哨 where their role may whistle and the case can still climb); the timeline gives each step's
    time in Beijing time, who took it and in what role. Outside the caller's area: 403."""
    case = cases.get_case(ref, viewer=principal)
    code = (case.get("grids") or {}).get(UNIFIED) or case.get("grid_code")
    grid = cases.duty_grid(code) if code else None
    if grid is not None:
        grid = {**grid, "geometry": geometry(grid["geometry"])}
    return html(
        pages.case_page(
            case,
            user=viewer(principal),
            nav=nav(principal, "/cases"),
            grid=grid,
            may_whistle=_may_whistle(principal, case),
            photo_max_bytes=settings.photo_max_bytes,
        )
    )


def _may_whistle(principal: Principal, case: dict) -> bool:
    """吹哨 for the roles the whistle route admits, while the case is open below the district."""
    roles = resolve(POLICY["POST /api/v1/cases/{ref}/whistle"])
    return principal.role in roles and whistle_open(case["status"], case.get("level"))
