"""Spreadsheet exports: 红绿指标 and case lists as XLSX, each read as its caller may read it.

The indicators are those of :func:`geo_grid.services.cases.indicators` (the districts' thresholds,
thin grids coloured by their community or street); the cases those of
:func:`geo_grid.services.cases.list_cases` in the caller's area, masked for everyone (a
spreadsheet travels: no reporter's name or phone leaves unmasked, so no read is logged). Both
answer ``(bytes, file name)`` and tell how far they are as ``tell(stage, done, total)`` (stages
of :data:`geo_grid.labels.JOB_STAGE`): they run as jobs (:mod:`geo_grid.services.export_jobs`),
50,000 cases are ~20 s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from geo_grid.access import Principal
from geo_grid.cases.indicators import Thresholds
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput
from geo_grid.exports import cases_workbook, indicators_workbook
from geo_grid.layers import UNIFIED
from geo_grid.services import cases
from geo_grid.services import districts as district_profiles
from geo_grid.settings import get_settings
from geo_grid.timefmt import assume_local, format_date, format_period

__all__ = ["Tell", "cases_xlsx", "count_cases", "indicators_xlsx"]

_PAGE = 1000

#: ``tell(stage, done, total)``: how far a workbook is (a stage of JOB_STAGE, and a count).
Tell = Callable[[str, int, int], None]


def _silent(stage: str, done: int, total: int) -> None:
    """No one follows this workbook (a call outside a job)."""


def _context(session, level: str, districts: Sequence[str]) -> tuple[dict, dict, dict | None]:
    """What a report's rows need beside their figures: names (grids and admin areas), each
    unit's community and street, and for grids every published unified grid → its community
    (a grid with no case is reported too)."""
    from geo_grid.address.places import area_name

    areas = repos.district.read_admin_areas(session, districts=list(districts))
    names = {str(c): area_name(str(n)) for c, n in zip(areas["code"], areas["name"], strict=True)}
    parent = {str(c): p for c, p in zip(areas["code"], areas["parent_code"], strict=True)}
    above: dict[str, tuple[str | None, str | None]] = {
        str(c): (None, parent.get(str(c))) for c in areas["code"]
    }  # a community's street; a street's district (shown under 所属街道 only for communities)
    every = None
    if level == "grid":
        every = {}
        for (_, layer), gid in repos.grids.published_generations(session, list(districts)).items():
            if layer != UNIFIED:
                continue
            grids = repos.grids.read_grids(session, generation_id=gid)
            for code, name, comm, street in zip(grids["code"], grids["name"],
                                                grids["community_code"], grids["street_code"],
                                                strict=True):  # fmt: skip
                names[str(code)], above[str(code)] = str(name), (comm, street)
                every[str(code)] = comm
    return names, above, every


def indicators_xlsx(
    level: str,
    start: datetime,
    end: datetime,
    *,
    districts: Sequence[str],
    tell: Tell = _silent,
) -> tuple[bytes, str]:
    """红绿指标 of ``level`` over ``[start, end)`` in ``districts`` as a workbook, and its name."""
    if not districts:
        raise BadInput("district: no district to report on", field="district")
    tell("indicators", 0, 1)
    with session_scope() as session:
        names, above, every = _context(session, level, districts)
    rows = cases.indicators(level, start, end, districts=districts, grids=every)
    tell("workbook", 0, 1)
    for row in rows:
        community, street = above.get(str(row["code"]), (None, None))
        row["community_code"], row["street_code"] = community, (
            street if level in ("grid", "community") else None)  # fmt: skip
    start, end = assume_local(start), assume_local(end)
    data = indicators_workbook(rows, level=level, period=format_period(start, end),
                               thresholds=_thresholds(districts), names=names)  # fmt: skip
    return data, f"红绿指标_{format_date(start)}_{format_date(end)}.xlsx"


def _thresholds(districts: Sequence[str]) -> Thresholds:
    """The thresholds of the report: its district's (the first's, when it spans several)."""
    return cases.thresholds(district_profiles.get(districts[0]).code)


def _within_limit(total: int) -> None:
    """More than ``GEO_GRID_EXPORT_MAX_ROWS`` cases are refused, naming the limit and ``from``
    (a shorter period is the usual way under it)."""
    limit = get_settings().export_max_rows
    if total > limit:
        raise BadInput(
            f"from: {total} cases selected, at most {limit} per export "
            "(GEO_GRID_EXPORT_MAX_ROWS); choose a shorter period or fewer categories",
            field="from",
        )


def count_cases(filters: Mapping[str, Any], *, viewer: Principal) -> int:
    """How many cases ``filters`` select in ``viewer``'s area, refused over the limit: checked
    when an export is asked for, so that a selection too big is a 422 then, not a failed job."""
    _, total = cases.list_cases(filters, limit=1, viewer=viewer, masked=True)
    _within_limit(total)
    return total


def cases_xlsx(
    filters: Mapping[str, Any],
    *,
    viewer: Principal,
    heading: str,
    tell: Tell = _silent,
) -> tuple[bytes, str]:
    """The cases ``filters`` select in ``viewer``'s area (newest first) as a workbook, and its
    name; more than ``GEO_GRID_EXPORT_MAX_ROWS`` are refused, naming the limit (checked again:
    cases may have come in since the export was asked for). Tells each page of cases read."""
    rows, total = cases.list_cases(filters, limit=_PAGE, viewer=viewer, masked=True)
    _within_limit(total)
    while len(rows) < total:
        tell("cases", len(rows), total)
        more, _ = cases.list_cases(filters, limit=_PAGE, offset=len(rows), viewer=viewer,
                                   masked=True)  # fmt: skip
        if not more:
            break
        rows += more
    tell("workbook", len(rows), len(rows))
    start = filters.get("received_from")
    stamp = format_date(start) if start else "全部"
    return cases_workbook(rows, heading=heading), f"案件列表_{stamp}.xlsx"
