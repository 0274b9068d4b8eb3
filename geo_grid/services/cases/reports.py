"""What leaves the case store for others: 红绿指标 for leaders, Open311 for outside clients."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from geo_grid.cases import lifecycle
from geo_grid.cases.indicators import Thresholds
from geo_grid.cases.indicators import indicators as compute_indicators
from geo_grid.db import cases_repo
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput
from geo_grid.services.cases._common import _now
from geo_grid.services.cases.reception import intake
from geo_grid.services.cases.views import list_cases
from geo_grid.settings import get_settings
from geo_grid.timefmt import assume_beijing

__all__ = ["indicators", "open311_create", "open311_requests"]


def _thresholds() -> Thresholds:
    raw = get_settings().case_indicator_thresholds
    if not raw:
        return Thresholds()
    try:
        config = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"GEO_GRID_CASE_INDICATOR_THRESHOLDS: not JSON ({exc})", field="thresholds"
        ) from exc
    return Thresholds.from_config(config)


def _local(value: datetime) -> datetime:
    """A date without an offset is Beijing time (:mod:`geo_grid.timefmt`), as a leader means it.

    >>> _local(datetime(2026, 1, 1)).isoformat()
    '2026-01-01T00:00:00+08:00'
    """
    return assume_beijing(value)


def indicators(level: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """红绿指标 per unit of ``level`` (grid, community, street, department) over ``[start, end)``."""
    start, end = _local(start), _local(end)
    thresholds = _thresholds()
    with session_scope() as session:
        frame = cases_repo.indicator_frame(session, start, end)
    if frame.empty:
        return []
    table = compute_indicators(frame, level, pd.Timestamp(start), pd.Timestamp(end), thresholds)
    table = table.astype(object).where(table.notna(), None)
    return table.to_dict("records")


def open311_create(
    form: Mapping[str, Any], *, client: str, now: datetime | None = None
) -> list[dict[str, Any]]:
    """``POST requests`` from ``client`` (whose key the API checked): take the case in, answer
    the spec's list."""
    from geo_grid.cases import open311

    req = open311.parse_request(form)
    attrs = req.attributes
    payload = {
        "category_code": req.service_code,
        "channel": "open311",
        "description": req.description,
        "address_text": req.address_string,
        "lon": req.long,
        "lat": req.lat,
        "crs": "wgs84",
        "reporter_name": req.name,
        "reporter_phone": req.phone,
        "photos": [req.media_url] if req.media_url else [],
        "severity": attrs.get("severity") or None,
    }
    if attrs.get("landmark"):
        payload["description"] = f"{req.description or ''} (附近: {attrs['landmark']})".strip()
    case = intake(payload, actor=f"open311:{client}", role="open311", client=client, now=now)
    return open311.post_response(case)


_OPEN311_STATUS = {
    "open": sorted(lifecycle.OPEN_STATES),
    "closed": sorted(lifecycle.CLOSED_STATES),
}


def open311_requests(
    *,
    ids: list[str] | None = None,
    service_codes: list[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    status: list[str] | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """``GET requests``: by ids, or by codes/status over a window (default the last 90 days)."""
    from geo_grid.cases import open311

    filters: dict[str, Any] = {}
    if ids:
        filters["numbers"] = ids
    else:
        now = _now(now)
        end = end or now
        try:
            start = start or end - timedelta(days=90)
        except OverflowError:  # end_date in the first days of year 1: no window fits before it
            raise BadInput(
                f"end_date: no 90 days before {end:%Y-%m-%d}", field="end_date"
            ) from None
        if start >= end:
            raise BadInput("start_date: must be before end_date", field="start_date")
        filters.update(received_from=start, received_to=end)
        if service_codes:
            filters["category_code"] = service_codes
        if status:
            bad = [s for s in status if s not in _OPEN311_STATUS]
            if bad:
                raise BadInput(f"status: must be open or closed, not {bad[0]!r}", field="status")
            filters["status"] = sorted({x for s in status for x in _OPEN311_STATUS[s]})
    rows, _ = list_cases(filters, limit=1000)
    return [open311.service_request(r) for r in rows]
