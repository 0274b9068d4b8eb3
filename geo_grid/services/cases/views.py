"""Cases as the API shows them: one case, its history, a filtered list, the manual queue.

A case's reporter (name, phone) is personal data. :func:`case_view` always masks it; the readers
whose work needs it (:data:`geo_grid.access.PERSONAL_READERS`, in their own area) get it back from
:func:`get_case` and :func:`list_cases`, and every such read is written to ``personal_data_read`` in
the same transaction as the read. ``viewer=None`` is the library's own call (demo, tests, CLI
internals): masked, no scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from geo_grid import access
from geo_grid.access import Principal
from geo_grid.cases import escalation as esc
from geo_grid.cases import lifecycle
from geo_grid.cases.catalogue import Category, category
from geo_grid.db import cases_repo
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput, Forbidden, NotFound
from geo_grid.labels import reason_zh
from geo_grid.services.access import record_personal_read
from geo_grid.services.cases._common import CHANNELS, _now

__all__ = ["case_view", "ensure_in_scope", "get_case", "history", "list_cases", "manual_queue"]

_PERSONAL = ("reporter_name", "reporter_phone")


def case_view(row: Mapping[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """A stored case as the API shows it (reporter masked, labels and allowed actions added)."""
    now = _now(now)
    try:
        cat: Category | None = category(row["category_code"])
    except NotFound:
        cat = None
    status = row["status"]
    due = row.get("due_at")
    out = {k: row.get(k) for k in cases_repo.CASE_COLUMNS}
    out.update(
        lon=row.get("lon"),
        lat=row.get("lat"),
        reporter_name=access.mask_name(row.get("reporter_name")),
        reporter_phone=access.mask_phone(row.get("reporter_phone")),
        status_zh=lifecycle.STATES.get(status, status),
        manual_reason_zh=reason_zh(row.get("manual_reason")),
        level_zh=esc.LEVELS.get(row.get("level") or "grid"),
        channel_zh=CHANNELS.get(row.get("channel"), row.get("channel")),
        category_name=cat.name_zh if cat else None,
        category_major=cat.major_zh if cat else None,
        allowed_actions=lifecycle.allowed_actions(status),
        overdue=bool(
            due is not None and (row.get("closed_at") or now) > due and status != "rejected"
        ),
    )
    return out


def _find(session, ref: int | str) -> dict[str, Any]:
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit() and len(ref) < 12):
        return cases_repo.get_case(session, case_id=int(ref))
    return cases_repo.get_case(session, number=str(ref))


def ensure_in_scope(viewer: Principal | None, case: Mapping[str, Any]) -> None:
    """:class:`Forbidden` when ``case`` lies outside the caller's area (a grid worker's grids)."""
    if viewer is not None and not access.case_in_scope(viewer, case):
        where = "your grids" if viewer.role == "grid_worker" else (
            f"your {viewer.scope_level} {viewer.scope_code}"
        )  # fmt: skip
        raise Forbidden(f"case: {case['number']} lies outside {where}", field="ref")


def _disclose(
    session, viewer: Principal | None, rows: list[Mapping[str, Any]], views: list[dict[str, Any]],
    purpose: str,
) -> None:  # fmt: skip
    """Give readers who may see them the reporters' real name and phone, and log that they did."""
    if viewer is None:
        return
    read: list[int] = []
    for row, view in zip(rows, views, strict=True):
        if access.sees_personal_data(viewer, row) and any(row.get(k) for k in _PERSONAL):
            view.update({k: row.get(k) for k in _PERSONAL})
            read.append(row["id"])
    if read:
        record_personal_read(session, viewer, read, _PERSONAL, purpose)


def get_case(
    ref: int | str, *, events: bool = True, viewer: Principal | None = None
) -> dict[str, Any]:
    """One case by id or number, with its event log, escalations and report-ins."""
    with session_scope() as session:
        row = _find(session, ref)
        ensure_in_scope(viewer, row)
        view = case_view(row)
        _disclose(session, viewer, [row], [view], f"GET case {row['number']}")
        if events:
            view["events"] = cases_repo.case_events(session, row["id"])
            view["escalations"] = cases_repo.escalations(session, row["id"])
            view["report_ins"] = cases_repo.report_ins(session, row["id"])
    return view


def history(ref: int | str, *, viewer: Principal | None = None) -> list[dict[str, Any]]:
    """The append-only event log of one case."""
    with session_scope() as session:
        row = _find(session, ref)
        ensure_in_scope(viewer, row)
        return cases_repo.case_events(session, row["id"])


def list_cases(
    filters: Mapping[str, Any] | None = None,
    *,
    limit: int = 100,
    offset: int = 0,
    viewer: Principal | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Cases matching the filters (see :data:`geo_grid.db.cases_repo._FILTERS`), newest first.

    A ``viewer`` sees only the cases of their area, whatever the filters ask.
    """
    if not 1 <= limit <= 1000:
        raise BadInput("limit: must be between 1 and 1000", field="limit")
    wanted = {**(filters or {}), **(access.scope_filter(viewer) if viewer else {})}
    now = _now(None)
    with session_scope() as session:
        rows, total = cases_repo.list_cases(session, wanted, limit=limit, offset=offset)
        views = [case_view(r, now=now) for r in rows]
        _disclose(session, viewer, rows, views, "GET cases list")
    return views, total


def manual_queue(limit: int = 200) -> list[dict[str, Any]]:
    """Cases the router could not place, oldest first, for the dispatch map (no personal data)."""
    with session_scope() as session:
        return cases_repo.manual_queue(session, limit=limit)
