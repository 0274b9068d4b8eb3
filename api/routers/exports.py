"""Spreadsheet exports: 红绿指标 and case lists as XLSX, made by jobs.

A case list of 50,000 cases is ~20 s of work, a city's 红绿指标 several seconds: each route
checks the request (period, filters, district, level; a case selection over
``GEO_GRID_EXPORT_MAX_ROWS`` is counted and refused with a 422 now) and queues a job
(:mod:`geo_grid.services.export_jobs`): 202, the job, ``Location: /api/v1/jobs/{id}``. Once the
job is done, ``GET /api/v1/jobs/{id}/file`` downloads the workbook under its Chinese name.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.auth import PrincipalDep
from api.deps import ClosedPeriodDep, ReadableDistricts
from api.guard import GuardedRoute
from api.routers.jobs import ACCEPTED
from api.routers.jobs import submit as submit_job
from api.schemas import CaseExportQuery, IndicatorExportQuery, JobOut

router = APIRouter(prefix="/api/v1/exports", tags=["exports"], route_class=GuardedRoute)


@router.post("/indicators.xlsx", status_code=202, response_model=JobOut, responses=ACCEPTED)
def indicators_xlsx(
    query: Annotated[IndicatorExportQuery, Query()],
    period: ClosedPeriodDep,
    principal: PrincipalDep,
    districts: ReadableDistricts,
) -> Any:
    """红绿指标 as a spreadsheet, made by a job: one row per grid, community, street or department.

    The colour of each unit, whose colour it is (a grid with too few cases shows its community's),
    why (the rates that made it red or yellow and their thresholds), the counts and every rate;
    a second sheet gives the thresholds. Of the caller's districts (or ``district``). 202 with
    the job; once done, ``GET /api/v1/jobs/{id}/file`` downloads the workbook."""
    params = {"level": query.level, "from": period.start.isoformat(),
              "to": period.end.isoformat(), "districts": districts}  # fmt: skip
    return submit_job("export_indicators", params, principal)


@router.post("/cases.xlsx", status_code=202, response_model=JobOut, responses=ACCEPTED)
def cases_xlsx(
    query: Annotated[CaseExportQuery, Query()],
    period: ClosedPeriodDep,
    principal: PrincipalDep,
    districts: ReadableDistricts,
) -> Any:
    """The cases received in a period as a spreadsheet, made by a job (status, category and
    overdue filters).

    Only the cases of the caller's area; reporters' names and phones, and phone and ID numbers
    typed into addresses and descriptions, are masked for everyone (a spreadsheet travels). Times
    in Beijing time. More than ``GEO_GRID_EXPORT_MAX_ROWS`` cases are refused (422) before any
    job is queued. 202 with the job; once done, ``GET /api/v1/jobs/{id}/file`` downloads it."""
    params = {
        "from": period.start.isoformat(), "to": period.end.isoformat(), "status": query.status,
        "category": query.category, "overdue": query.overdue, "districts": districts,
    }  # fmt: skip
    return submit_job("export_cases", params, principal)
