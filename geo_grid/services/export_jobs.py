"""The spreadsheet exports as jobs: their arguments checked when asked for, the workbook written
to the job's folder.

A case list of 50,000 cases is ~20 s of reading and openpyxl, a city's 红绿指标 several seconds:
too long for a request (issue 16: no route over 2 s). ``POST /api/v1/exports/cases.xlsx`` and
``/indicators.xlsx`` queue a job of kind ``export_cases`` or ``export_indicators``
(:mod:`geo_grid.services.job_kinds`) whose ``prepare`` is :func:`check_cases` or
:func:`check_indicators` (bad input, a district outside the caller's area or a selection over
``GEO_GRID_EXPORT_MAX_ROWS`` is a 4xx then, never a failed job) and whose ``run`` is
:func:`write_cases` or :func:`write_indicators`: the workbook under its Chinese name in
``<home>/exports/job_<id>/``, which ``GET /api/v1/jobs/{id}/file`` serves.

Arguments are JSON values (a job's row keeps them): periods as ISO 8601 text with their offset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from geo_grid.access import Principal
from geo_grid.errors import BadInput
from geo_grid.labels import JOB_STAGE, label
from geo_grid.services import exports
from geo_grid.timefmt import format_period

__all__ = ["LEVELS", "check_cases", "check_indicators", "write_cases", "write_indicators"]

#: Units a 红绿指标 workbook reports on.
LEVELS = ("grid", "community", "street", "department")

#: ``report(fraction, message)``: a job's progress (:meth:`geo_grid.services.jobs.JobContext.report`).
Report = Callable[[float, str], None]

#: Where each stage of a workbook lies in its job's progress (from, to).
_SPAN = {"indicators": (0.05, 0.6), "cases": (0.02, 0.85), "workbook": (0.9, 0.9)}


# ----------------------------------------------------------------------------- arguments
def _period(params: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """``from`` and ``to`` as instants (the routes' period dependency checked them already)."""
    out = []
    for name in ("from", "to"):
        value = params.get(name)
        try:
            when = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            when = None
        if when is None or when.tzinfo is None:
            raise BadInput(f"{name}: an ISO 8601 time with its offset, not {value!r}", field=name)
        out.append(when)
    if out[0] >= out[1]:
        raise BadInput("from: must be before to", field="from")
    return out[0], out[1]


def _texts(params: Mapping[str, Any], name: str) -> list[str] | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise BadInput(f"{name}: a list of texts, not {value!r}", field=name)
    return list(value)


def _districts(params: Mapping[str, Any], who: Principal) -> list[str]:
    """The districts asked for, each one the caller may read (at least one)."""
    from geo_grid.services import districts as district_profiles

    asked = _texts(params, "districts") or []
    if not asked:
        raise BadInput("district: no district to report on", field="district")
    return district_profiles.readable_among(who, asked)


def _case_filters(params: Mapping[str, Any]) -> dict[str, Any]:
    """The case list's filters (:func:`geo_grid.services.cases.list_cases`) of checked params."""
    start, end = _period(params)
    overdue_at = params.get("overdue_at")
    return {
        "status": params.get("status"), "category_code": params.get("category"),
        "received_from": start, "received_to": end, "districts": params["districts"],
        "overdue_at": datetime.fromisoformat(overdue_at) if overdue_at else None,
    }  # fmt: skip


def check_cases(params: Mapping[str, Any], who: Principal) -> tuple[dict[str, Any], str | None]:
    """A case export's arguments checked, and the district it reads (None: several): the
    selection is counted now, so one over ``GEO_GRID_EXPORT_MAX_ROWS`` is refused at once.

    ``overdue`` (true or false) becomes ``overdue_at``, the time asked: a case is overdue in
    the workbook as it was when the export was asked for, however long the job waits."""
    overdue = params.get("overdue", False)
    if not isinstance(overdue, bool):
        raise BadInput(f"overdue: expected true or false, got {overdue!r}", field="overdue")
    start, end = _period(params)
    out = {
        "from": start.isoformat(), "to": end.isoformat(),
        "status": _texts(params, "status"), "category": _texts(params, "category"),
        "districts": _districts(params, who),
        "overdue_at": datetime.now(UTC).isoformat() if overdue else None,
    }  # fmt: skip
    out["count"] = exports.count_cases(_case_filters(out), viewer=who)
    return out, _one(out["districts"])


def check_indicators(
    params: Mapping[str, Any], who: Principal
) -> tuple[dict[str, Any], str | None]:
    """A 红绿指标 export's arguments checked, and the district it reads (None: several)."""
    level = params.get("level", "grid")
    if level not in LEVELS:
        raise BadInput(f"level: one of {', '.join(LEVELS)}, not {level!r}", field="level")
    start, end = _period(params)
    out = {"level": level, "from": start.isoformat(), "to": end.isoformat(),
           "districts": _districts(params, who)}  # fmt: skip
    return out, _one(out["districts"])


def _one(districts: list[str]) -> str | None:
    return districts[0] if len(districts) == 1 else None


# ------------------------------------------------------------------------------- the work
def _teller(report: Report) -> exports.Tell:
    """The workbook's ``tell(stage, done, total)`` as the job's progress: 读取案件 3000/12000."""

    def tell(stage: str, done: int, total: int) -> None:
        lo, hi = _SPAN.get(stage, (0.0, 1.0))
        count = f" {done}/{total}" if total > 1 else ""
        report(lo + (hi - lo) * done / max(total, 1), label(JOB_STAGE, stage) + count)

    return tell


def _save(folder: Path, data: bytes, name: str, ascii_name: str) -> dict[str, Any]:
    """The workbook written to the job's folder; the result names it (and an ASCII name for
    clients that cannot read a Chinese one)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return {"file": name, "ascii_file": ascii_name, "bytes": len(data)}


def write_cases(
    params: Mapping[str, Any], who: Principal, folder: Path, report: Report
) -> dict[str, Any]:
    """The case export's workbook in ``folder`` (the cases ``who`` reads, masked); the result
    names the file."""
    filters = _case_filters(params)
    heading = f"案件列表 {format_period(filters['received_from'], filters['received_to'])}"
    data, name = exports.cases_xlsx(filters, viewer=who, heading=heading, tell=_teller(report))
    return _save(folder, data, name, "cases.xlsx")


def write_indicators(
    params: Mapping[str, Any], who: Principal, folder: Path, report: Report
) -> dict[str, Any]:
    """The 红绿指标 export's workbook in ``folder``; the result names the file."""
    start, end = _period(params)
    data, name = exports.indicators_xlsx(
        params["level"], start, end, districts=params["districts"], tell=_teller(report)
    )
    return _save(folder, data, name, f"indicators-{params['level']}.xlsx")
