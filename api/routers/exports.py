"""Spreadsheet exports: 红绿指标 and case lists as XLSX (:mod:`geo_grid.services.exports`).

Each workbook is made in a worker process (``api/workers.py``): a month of a district's cases is
seconds of openpyxl. The file is named in Chinese (``Content-Disposition`` with ``filename*``)
and an ASCII fallback for old clients.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api import workers
from api.auth import PrincipalDep
from api.deps import ClosedPeriodDep, ReadableDistricts
from api.guard import GuardedRoute
from api.schemas import XLSX, XLSX_RESPONSE, CaseExportQuery, IndicatorExportQuery
from geo_grid.services import exports
from geo_grid.timefmt import format_period

router = APIRouter(prefix="/api/v1/exports", tags=["exports"], route_class=GuardedRoute)


def _workbook(data: bytes, name: str, ascii_name: str) -> Response:
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type=XLSX, headers={"Content-Disposition": disposition})


@router.get("/indicators.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def indicators_xlsx(
    query: Annotated[IndicatorExportQuery, Query()],
    period: ClosedPeriodDep,
    districts: ReadableDistricts,
) -> Response:
    """红绿指标 as a spreadsheet: one row per grid, community, street or department.

    The colour of each unit, whose colour it is (a grid with too few cases shows its community's),
    why (the rates that made it red or yellow and their thresholds), the counts and every rate;
    a second sheet gives the thresholds. Of the caller's districts (or ``district``)."""
    data, name = workers.run(
        exports.indicators_xlsx, query.level, period.start, period.end, districts=districts
    )
    return _workbook(data, name, f"indicators-{query.level}.xlsx")


@router.get("/cases.xlsx", response_class=Response, responses=XLSX_RESPONSE)
def cases_xlsx(
    query: Annotated[CaseExportQuery, Query()],
    period: ClosedPeriodDep,
    principal: PrincipalDep,
    districts: ReadableDistricts,
) -> Response:
    """The cases received in a period as a spreadsheet (status, category and overdue filters).

    Only the cases of the caller's area; reporters' names and phones, and phone and ID numbers
    typed into addresses and descriptions, are masked for everyone (a spreadsheet travels). Times
    in Beijing time. More than ``GEO_GRID_EXPORT_MAX_ROWS`` cases are refused (422)."""
    filters = {
        "status": query.status, "category_code": query.category,
        "received_from": period.start, "received_to": period.end, "districts": districts,
        "overdue_at": datetime.now(UTC) if query.overdue else None,
    }  # fmt: skip
    heading = f"案件列表 {format_period(period.start, period.end)}"
    data, name = workers.run(exports.cases_xlsx, filters, viewer=principal, heading=heading)
    return _workbook(data, name, "cases.xlsx")
