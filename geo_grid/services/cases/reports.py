"""What leaves the case store for others: 红绿指标 for leaders, Open311 for outside clients."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from geo_grid.access import Principal
from geo_grid.cases import lifecycle
from geo_grid.cases.indicators import Thresholds, inherit_colours
from geo_grid.cases.indicators import indicators as compute_indicators
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.districts import DistrictProfile
from geo_grid.errors import BadInput, NotFound
from geo_grid.periods import check_period, days_before
from geo_grid.services import districts as district_profiles
from geo_grid.services.cases._common import action_time
from geo_grid.services.cases.reception import intake
from geo_grid.services.cases.views import case_view, ensure_in_scope, list_cases
from geo_grid.settings import get_settings
from geo_grid.timefmt import assume_local

__all__ = ["indicators", "open311_create", "open311_request", "open311_requests", "thresholds"]


def _thresholds(profile: DistrictProfile | None) -> Thresholds:
    """The district's thresholds, or the store's (``GEO_GRID_CASE_INDICATOR_THRESHOLDS``)."""
    config = district_profiles.thresholds(profile)
    return Thresholds() if config is None else Thresholds.from_config(config)


def thresholds(district: str) -> Thresholds:
    """The red/yellow/green bounds ``district``'s indicators are coloured by (what a map's
    tooltip states next to a rate)."""
    return _thresholds(district_profiles.get(district))


def indicators(
    level: str,
    start: datetime,
    end: datetime,
    *,
    districts: Sequence[str] | None = None,
    grids: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """红绿指标 per unit of ``level`` (grid, community, street, department) over ``[start, end)``
    in ``districts`` (None: every district), each district's units coloured by its own
    thresholds (``district_code`` on each row).

    Per grid, ``reasons`` names the rates that gave the colour, and a grid with too few cases to
    judge takes its community's colour, or its street's when the community has too few as well
    (``colour_source`` ``"community"`` or ``"street"``:
    :func:`geo_grid.cases.indicators.inherit_colours`). ``grids`` (grid code → community code)
    lists every grid to report, those without a case included (a map colours them all); None:
    the grids with cases.

    The period is checked first (:func:`geo_grid.periods.check_period`: offsets PostgreSQL
    holds, ``start < end``, at most ``GEO_GRID_MAX_PERIOD_DAYS``), whoever calls; a date without
    an offset is the district's local time, as a leader means it.
    """
    start, end = assume_local(start), assume_local(end)
    check_period(start, end, max_days=get_settings().max_period_days)
    profiles = district_profiles.profiles()
    codes = sorted(profiles) if districts is None else list(districts)
    with session_scope() as session:
        frame = repos.cases.indicator_frame(session, start, end, codes)
        parents = _community_streets(session, codes) if level == "grid" else {}
    rows: list[dict[str, Any]] = []
    for code, part in frame.groupby("district_code", sort=True):
        part = part.drop(columns=["district_code"])
        period, limits = (pd.Timestamp(start), pd.Timestamp(end)), _thresholds(profiles.get(code))
        table = compute_indicators(part, level, *period, limits)
        if level == "grid":
            every = _grid_communities(part, table["code"]) if grids is None else grids
            communities = compute_indicators(part, "community", *period, limits)
            streets = compute_indicators(part, "street", *period, limits)
            table = inherit_colours(table, communities, every, streets, parents)
        table.insert(1, "district_code", code)
        rows += table.astype(object).where(table.notna(), None).to_dict("records")
    return rows


def _community_streets(session, districts: Sequence[str]) -> dict[str, str]:
    """Each community of ``districts`` → its street (a community with no case in the period
    too: its grids may take their street's colour)."""
    areas = repos.district.read_admin_areas(session, level="community", districts=districts)
    return {str(c): str(p) for c, p in zip(areas["code"], areas["parent_code"], strict=True) if p}


def _grid_communities(cases: pd.DataFrame, codes: pd.Series) -> dict[str, str | None]:
    """Each grid of ``codes`` → the community its cases lie in (the most frequent; None when
    none of its cases names one)."""
    placed = cases.dropna(subset=["grid_code", "community_code"])
    pairs = placed.groupby("grid_code")["community_code"].agg(lambda s: s.mode().iloc[0])
    known = {str(g): str(c) for g, c in pairs.items()}
    return {str(code): known.get(str(code)) for code in codes}


def open311_create(
    form: Mapping[str, Any], *, by: Principal, now: datetime | None = None
) -> list[dict[str, Any]]:
    """``POST requests`` from ``by`` (whose key the API checked): take the case in, answer the
    spec's list. The log names the caller as the API does (``key:fixmystreet``, its role)."""
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
    own = district_profiles.readable(by)  # an unplaced report stays with the client's district
    case = intake(payload, actor=by.label, role=by.role, client=by.name, now=now,
                  district=own[0] if len(own) == 1 else None)  # fmt: skip
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
    viewer: Principal | None = None,
) -> list[dict[str, Any]]:
    """``GET requests``: by ids, or by codes/status over a window (default the last 90 days).

    Only the cases of the ``viewer``'s area, as :func:`list_cases` confines them; masked for
    everyone (an Open311 answer carries no personal data), so no read is logged.
    """
    from geo_grid.cases import open311

    filters: dict[str, Any] = {}
    if ids:
        filters["numbers"] = ids
    else:
        now = action_time(now)
        end = end or now
        start = start or days_before(end, 90, "end_date")
        check_period(start, end, max_days=get_settings().max_period_days,
                     start_field="start_date", end_field="end_date")  # fmt: skip
        filters.update(received_from=start, received_to=end)
        if service_codes:
            filters["category_code"] = service_codes
        if status:
            bad = [s for s in status if s not in _OPEN311_STATUS]
            if bad:
                raise BadInput(f"status: must be open or closed, not {bad[0]!r}", field="status")
            filters["status"] = sorted({x for s in status for x in _OPEN311_STATUS[s]})
    rows, _ = list_cases(filters, limit=1000, viewer=viewer, masked=True)
    return [open311.service_request(r) for r in rows]


def open311_request(request_id: str, *, viewer: Principal | None = None) -> list[dict[str, Any]]:
    """``GET requests/{id}``: one request as a one-item list; :class:`Forbidden` naming it when it
    lies outside the ``viewer``'s area (as ``GET /api/v1/cases/{id}``), :class:`NotFound` when
    there is none."""
    from geo_grid.cases import open311

    with session_scope() as session:
        try:
            row = repos.cases.get_case(session, number=request_id)
        except NotFound:
            raise NotFound(
                f"service_request_id: no request {request_id!r}", field="service_request_id"
            ) from None
        ensure_in_scope(viewer, row)
    return [open311.service_request(case_view(row))]
