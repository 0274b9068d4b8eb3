"""What a hotline operator sees while typing an address, before filing the case.

The address goes through the geocoder intake uses (:func:`geo_grid.services.index.get_geocoder`),
so what the page shows is what filing will do: a matched address goes to that grid, anything
else to the manual queue with the reason shown. With a match come the grid (outline, community,
street), the people on its roster (phones masked), and the cases of the same category within 50 m
and 48 h (:mod:`geo_grid.cases.duplicates`), confined to the caller's area and masked, so a
second call about the same overflowing bin is noticed before it becomes a second dispatch.
Nothing is stored, and nothing unmasked is read (so nothing is logged).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geo_grid.access import Principal
from geo_grid.address import GeocodeResult
from geo_grid.cases.catalogue import category
from geo_grid.cases.duplicates import duplicates_among, search_window
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput, NotFound
from geo_grid.labels import GEOCODE_STATUS, ROSTER_ROLE, label, reason_zh
from geo_grid.layers import UNIFIED
from geo_grid.services import geocoding, layers
from geo_grid.services.cases._common import action_time
from geo_grid.services.cases.views import list_cases
from geo_grid.timefmt import format_time

__all__ = ["MAX_ADDRESS", "duty_grid", "intake_preview"]

#: The longest address the preview (and intake: ``CaseIn.address_text``) takes.
MAX_ADDRESS = 500


def intake_preview(
    address_text: str,
    category_code: str | None = None,
    *,
    viewer: Principal,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The match of ``address_text``, its grid and people on duty, and nearby duplicates of
    ``category_code`` (when given) in ``viewer``'s area. ``grid.geometry`` is a shapely geometry
    (CGCS2000) for the caller to encode."""
    text, cat_code = _validate(address_text, category_code)
    now = action_time(now)
    result = geocoding.geocode(text)
    matched = result.status == "matched" and result.grid_code is not None
    grid = duty_grid(result.grids.get(UNIFIED) or result.grid_code) if matched else None
    dups = _duplicates(cat_code, result, now, viewer) if matched and cat_code else []
    return {
        "query": text,
        "status": result.status,
        "status_zh": label(GEOCODE_STATUS, result.status),
        "level": result.level,
        "confidence": round(float(result.confidence), 3),
        "matched_text": result.matched_text if matched else None,
        "reason_zh": reason_zh(result.reason),
        "lon": result.lon,
        "lat": result.lat,
        "alternatives": [
            {"text": a.text, "grid_code": a.grid_code, "confidence": round(a.confidence, 3)}
            for a in result.alternatives[:5]
        ],
        "grid": grid,
        "duplicates": dups,
    }


def _validate(address_text: str, category_code: str | None) -> tuple[str, str | None]:
    text = (address_text or "").strip()
    if not text:
        raise BadInput("address_text: type the address of the problem", field="address_text")
    if len(text) > MAX_ADDRESS:
        raise BadInput(
            f"address_text: at most {MAX_ADDRESS} characters, got {len(text)}",
            field="address_text",
        )
    if category_code:
        try:
            category(category_code)
        except NotFound as exc:
            raise BadInput(exc.message, field="category_code") from None
    return text, category_code or None


def duty_grid(code: str) -> dict[str, Any] | None:
    """A unified grid as the case pages show it: names, outline (a shapely geometry, CGCS2000)
    and the people on duty there (phones masked; 党员中心户 are households, not on duty); None
    for a code the published layer no longer has."""
    try:
        grid = layers.get_grid(code, layer=UNIFIED)
    except NotFound:
        return None
    roster = [
        {**p, "role_zh": p.get("role_name") or label(ROSTER_ROLE, p.get("role"))}
        for p in grid["roster"]
        if p.get("duty") != "party_household"  # households, not people on duty
    ]
    keep = ("code", "name", "community_code", "community", "street_code", "street", "households")
    return {**{k: grid[k] for k in keep}, "roster": roster, "geometry": grid["geometry"]}


def _duplicates(
    category_code: str, result: GeocodeResult, now: datetime, viewer: Principal
) -> list[dict[str, Any]]:
    """Same-category cases within 50 m and 48 h of the match, in the viewer's area, masked."""
    box, since = search_window(result.lon, result.lat, now)
    with session_scope() as session:
        recent = repos.cases.recent_cases_near(session, category_code, box, since, exclude=-1)
    found = duplicates_among(category_code, result.lon, result.lat, now, recent)
    if not found:
        return []
    distance = {r["number"]: r["distance_m"] for r in found}
    views, _ = list_cases(
        {"numbers": list(distance)}, limit=len(distance), viewer=viewer, masked=True
    )
    keep = ("id", "number", "status", "status_zh", "category_name", "address_text",
            "description", "received_at", "grid_code")  # fmt: skip
    out = [
        {**{k: v.get(k) for k in keep}, "received_zh": format_time(v["received_at"]),
         "distance_m": distance[v["number"]]}
        for v in views
    ]  # fmt: skip
    return sorted(out, key=lambda r: (r["distance_m"], r["id"]))
