"""Cases as the API shows them: one case, its history, a filtered list, the manual queue."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from geo_grid.cases import escalation as esc
from geo_grid.cases import lifecycle
from geo_grid.cases.catalogue import Category, category
from geo_grid.db import cases_repo
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput, NotFound
from geo_grid.services.cases._common import CHANNELS, _now

__all__ = ["case_view", "get_case", "history", "list_cases", "manual_queue"]


def _mask(phone: str | None) -> str | None:
    from geo_grid.services.layers import mask_phone

    return mask_phone(phone)


def case_view(row: Mapping[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """A stored case as the API shows it (phone masked, labels and allowed actions added)."""
    now = _now(now)
    try:
        cat: Category | None = category(row["category_code"])
    except NotFound:
        cat = None
    status = row["status"]
    due = row.get("due_at")
    out = {k: row.get(k) for k in cases_repo.CASE_COLUMNS if k != "reporter_phone"}
    out.update(
        lon=row.get("lon"),
        lat=row.get("lat"),
        reporter_phone=_mask(row.get("reporter_phone")),
        status_zh=lifecycle.STATES.get(status, status),
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


def get_case(ref: int | str, *, events: bool = True) -> dict[str, Any]:
    """One case by id or number, with its event log, escalations and report-ins."""
    with session_scope() as session:
        row = _find(session, ref)
        view = case_view(row)
        if events:
            view["events"] = cases_repo.case_events(session, row["id"])
            view["escalations"] = cases_repo.escalations(session, row["id"])
            view["report_ins"] = cases_repo.report_ins(session, row["id"])
    return view


def history(ref: int | str) -> list[dict[str, Any]]:
    """The append-only event log of one case."""
    with session_scope() as session:
        row = _find(session, ref)
        return cases_repo.case_events(session, row["id"])


def list_cases(
    filters: Mapping[str, Any] | None = None, *, limit: int = 100, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Cases matching the filters (see :data:`geo_grid.db.cases_repo._FILTERS`), newest first."""
    if not 1 <= limit <= 1000:
        raise BadInput("limit: must be between 1 and 1000", field="limit")
    with session_scope() as session:
        rows, total = cases_repo.list_cases(session, filters or {}, limit=limit, offset=offset)
    now = _now(None)
    return [case_view(r, now=now) for r in rows], total


def manual_queue(limit: int = 200) -> list[dict[str, Any]]:
    """Cases the router could not place, oldest first, for the dispatch map."""
    with session_scope() as session:
        return cases_repo.manual_queue(session, limit=limit)
