"""Intake (受理): validate a report, place it, hand it to the writer, answer with the stored case.

Named ``reception`` rather than ``intake`` so that the package attribute ``cases.intake`` stays the
function and ``import geo_grid.services.cases.reception`` always reaches this module.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from geo_grid.access import Principal
from geo_grid.cases.catalogue import Category, category
from geo_grid.crs import normalize_crs
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput, Conflict
from geo_grid.services.cases._common import CHANNELS, Job, action_time
from geo_grid.services.cases._writer import REPLAY, store_alone_orm, submit
from geo_grid.services.cases.placement import geocoder_warm, get_locator, place, roster_map
from geo_grid.services.cases.views import case_view, handler_of

__all__ = ["intake", "intake_async"]


def _request_hash(payload: Mapping[str, Any]) -> str:
    """The body an idempotency key was first used with, as a digest independent of key order.

    >>> _request_hash({"lon": 1, "lat": 2}) == _request_hash({"lat": 2, "lon": 1})
    True
    """
    canon = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canon.encode()).hexdigest()


def _validate_intake(payload: Mapping[str, Any]) -> tuple[Category, str]:
    cat = category(str(payload.get("category_code") or ""))
    channel = payload.get("channel") or "app"
    if channel not in CHANNELS:
        raise BadInput(
            f"channel: must be one of {', '.join(CHANNELS)}, not {channel!r}", field="channel"
        )
    lon, lat = payload.get("lon"), payload.get("lat")
    if (lon is None) != (lat is None):
        raise BadInput("lon/lat: give both or neither", field="lat")
    if lon is None and not (payload.get("address_text") or "").strip():
        raise BadInput(
            "address_text: an address or a point (lon, lat) is required", field="address_text"
        )
    severity = payload.get("severity")
    if severity is not None and severity not in ("low", "normal", "high", "urgent"):
        raise BadInput(f"severity: unknown severity {severity!r}", field="severity")
    return cat, channel


def intake(
    payload: Mapping[str, Any],
    *,
    actor: str = "intake",
    role: str = "operator",
    client: str = "api",
    idempotency_key: str | None = None,
    now: datetime | None = None,
    group_commit: bool = True,
    viewer: Principal | None = None,
    district: str | None = None,
) -> dict[str, Any]:
    """Receive a report, place it, route it and store it with its first events, atomically.

    ``payload``: ``category_code, channel, description, address_text, lon, lat, crs,
    reporter_name, reporter_phone, photos, severity``. With ``idempotency_key`` a repeated request
    (same client, same key, same body) returns the case the first one created, flagged
    ``replayed``; the same key with a different body is a :class:`Conflict`.

    The report is placed in the calling thread, then stored by this process's intake writer
    together with the reports that arrived meanwhile, in one transaction (a group commit: one
    fsync for many reports); this returns only after that transaction committed, so an answered
    report is a durable one. ``group_commit=False`` stores it alone through ORM objects, the
    obvious design kept as the bench's baseline. ``viewer``: the caller, whose
    ``allowed_actions`` the answer lists (every action the status allows without one).
    ``district`` is the filer's own district: the case's when it cannot be placed (a placed case
    takes the district it lies in); without one, the store's only district, if it serves one
    (else the case belongs to no district, and only accounts of the whole store see it in the
    manual queue).
    """
    job = _prepare(payload, actor, role, client, idempotency_key, now, district)
    for _ in range(3):
        row = submit(job).result() if group_commit else store_alone_orm(job)
        if row is not REPLAY:
            return _answer(job, row, viewer)
        seen = _replay(client, idempotency_key, job.request_hash, job.now, viewer)
        if seen is not None:
            return seen
        # the request that held the key failed and rolled back: the key is free again
    raise _key_in_use()


async def intake_async(
    payload: Mapping[str, Any],
    *,
    actor: str = "intake",
    role: str = "operator",
    client: str = "api",
    idempotency_key: str | None = None,
    now: datetime | None = None,
    viewer: Principal | None = None,
    district: str | None = None,
) -> dict[str, Any]:
    """:func:`intake` for an event loop: waits for its group commit without holding a thread.

    A report with a point is placed by the writer (a batch at a time); one with only an address
    is geocoded here, in the loop (pure CPU, under a millisecond) once the geocoder is built, in a
    worker thread while it is (re)built after a start or a publish: the loop never stalls.
    """
    args = (payload, actor, role, client, idempotency_key, now, district)
    warm = payload.get("lon") is not None or geocoder_warm()
    job = _prepare(*args) if warm else await asyncio.to_thread(_prepare, *args)
    for _ in range(3):
        row = await asyncio.wrap_future(submit(job))
        if row is not REPLAY:
            return _answer(job, row, viewer)
        seen = await asyncio.to_thread(
            _replay, client, idempotency_key, job.request_hash, job.now, viewer
        )
        if seen is not None:
            return seen
    raise _key_in_use()


def _key_in_use() -> Conflict:
    return Conflict(
        "Idempotency-Key: the key is in use by a failing request", field="Idempotency-Key"
    )


def _prepare(payload, actor, role, client, idempotency_key, now, district=None) -> Job:
    """Validate and place a report (no transaction): what the writer needs to store it."""
    now = action_time(now)
    cat, channel = _validate_intake(payload)
    request_hash = _request_hash(payload) if idempotency_key else None
    job = Job(payload, cat, channel, None, {}, actor, role, client, idempotency_key,
               request_hash, now, district=district or _only_district())  # fmt: skip
    lon, lat = payload.get("lon"), payload.get("lat")
    if lon is not None:  # placed by the writer, a batch at a time (place_points)
        crs = payload.get("crs") or "wgs84"
        normalize_crs(crs)  # an unknown CRS is this request's BadInput, not the batch's
        try:
            lon, lat = float(lon), float(lat)
        except (TypeError, ValueError):
            lon = lat = math.nan
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise BadInput(f"lon/lat: not a finite point ({lon!r}, {lat!r})", field="lon")
        job.point = (lon, lat, crs)
        return job
    job.placement = place(address=(payload.get("address_text") or "").strip() or None)
    if job.placement.placed:
        job.roster = roster_map(get_locator(), job.placement.district_code)
    return job


def _only_district() -> str | None:
    """The store's district when it serves exactly one (an unplaced report is that one's)."""
    from geo_grid.services import districts

    served = districts.profiles()
    return next(iter(served)) if len(served) == 1 else None


def _answer(job: Job, row: dict[str, Any], viewer: Principal | None) -> dict[str, Any]:
    row.pop("lon", None), row.pop("lat", None)
    point = {"lon": job.placement.lon, "lat": job.placement.lat}
    return {**case_view({**row, **point}, now=job.now, viewer=viewer), "replayed": False}


def _replay(
    client: str, key: str, request_hash: str, now: datetime, viewer: Principal | None = None
) -> dict[str, Any] | None:
    """The case a key already created (flagged ``replayed``), None if unused, 409 if reused."""
    with session_scope() as session:
        seen = repos.cases.find_idempotency(session, client, key)
        if seen is None:
            return None
        if seen[0] != request_hash:
            raise Conflict(
                "Idempotency-Key: this key was already used with a different request",
                field="Idempotency-Key",
            )
        row = repos.cases.get_case(session, case_id=seen[1])
        view = case_view(row, now=now, viewer=viewer, handler=handler_of(session, row["id"]))
    return {**view, "replayed": True}
