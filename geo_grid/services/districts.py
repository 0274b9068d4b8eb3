"""District profiles: which districts the store serves, and which of them a caller reads or writes.

A store serves any number of districts (:class:`~geo_grid.districts.DistrictProfile`, one row
each). Every read takes the districts it may show (:func:`readable`: the one asked for, or all
those in the caller's area) and every write the one district it changes (:func:`pick`: the one
asked for, or the caller's only one). Services pass a profile's facts (local CRS, names, household
band, thresholds) down to the domain functions, which hold no place of their own.

Profiles are read on nearly every request, so they are cached in the process and re-read when the
table changed (its row count and latest ``updated_at``), checked at most every
:data:`CHECK_SECONDS`; a write in this process (:func:`register`) is seen at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import shapely
from sqlalchemy.orm import Session

from geo_grid.access import Principal, district_in_scope
from geo_grid.address import DistrictNames
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.districts import DistrictProfile, check_district_code, check_outline
from geo_grid.errors import BadInput, Forbidden, NotFound
from geo_grid.roster import DEFAULT_ROLES
from geo_grid.settings import get_settings

__all__ = [
    "CHECK_SECONDS",
    "cached",
    "get",
    "household_band",
    "invalidate",
    "list_districts",
    "of_code",
    "pick",
    "profiles",
    "readable",
    "readable_among",
    "register",
    "thresholds",
]

#: How long the cached profiles are trusted before the table's fingerprint is read again.
CHECK_SECONDS = 1.0

_lock = threading.Lock()
_checking = threading.Lock()  # held by the one thread reading the fingerprint
_cache: dict[str, Any] = {"key": None, "profiles": None, "checked": 0.0}


def invalidate() -> None:
    """Forget the cached profiles (after writing one, or in tests)."""
    with _lock:
        _cache.update(key=None, profiles=None, checked=0.0)


def profiles() -> dict[str, DistrictProfile]:
    """Every stored district's profile, by code (cached; see the module docstring).

    One thread at a time reads the table's fingerprint; the others keep the profiles they have
    meanwhile (a second old at most). Each of 50 concurrent requests checked it at once when the
    second ran out, so the server took up to 40 database connections a second, most of them
    opened and closed again past the pool's size (profiled on ``POST /cases``: 17 % of the
    server's busy samples).
    """
    fresh = cached()
    if fresh is not None:
        return fresh
    held = _cache["profiles"]
    if held is not None and not _checking.acquire(blocking=False):
        return held  # another thread is checking
    try:
        return _check(held)
    finally:
        if held is not None:
            _checking.release()


def cached() -> dict[str, DistrictProfile] | None:
    """:func:`profiles` when it answers without reading the database, else None: the API then
    reads them on its event loop instead of in a thread."""
    held = _cache["profiles"]
    fresh = held is not None and time.monotonic() - _cache["checked"] < CHECK_SECONDS
    return held if fresh else None


def _check(held: dict[str, DistrictProfile] | None) -> dict[str, DistrictProfile]:
    """The profiles, re-read when the table's fingerprint changed since ``held`` was read."""
    with session_scope() as session:
        key = repos.district.districts_fingerprint(session)
        if held is not None and key == _cache["key"]:
            _cache["checked"] = time.monotonic()
            return held
        fresh = {p.code: p for p in repos.district.read_districts(session)}
    with _lock:
        _cache.update(key=key, profiles=fresh, checked=time.monotonic())
    return fresh


def get(code: str) -> DistrictProfile:
    """One district's profile; :class:`NotFound` naming ``district`` when it is not stored."""
    code = check_district_code(code)
    found = profiles().get(code)
    if found is None:
        raise NotFound(f"district: no district {code!r} is loaded", field="district")
    return found


def of_code(code: str | None) -> DistrictProfile | None:
    """The stored district a division or unified grid code lies in (its first six digits)."""
    if not code or len(str(code)) < 6:
        return None
    return profiles().get(str(code)[:6])


def list_districts(principal: Principal | None = None) -> list[dict[str, Any]]:
    """The profiles the caller may read, as plain dicts (``GET /api/v1/districts``)."""
    return [profiles()[c].to_dict() for c in readable(principal)]


def readable(
    principal: Principal | None = None,
    requested: str | None = None,
    loaded: Mapping[str, DistrictProfile] | None = None,
) -> list[str]:
    """The districts a read shows: ``requested`` (checked: stored, inside the caller's area) or,
    without one, every stored district in the caller's area (``principal`` None: the console,
    every district). ``loaded``: the profiles, when the caller has them (:func:`cached`)."""
    loaded = profiles() if loaded is None else loaded
    if requested is not None:
        code = check_district_code(requested)
        if code not in loaded:
            raise NotFound(f"district: no district {code!r} is loaded", field="district")
        if principal is not None and not district_in_scope(principal, code):
            raise Forbidden(
                f"district: {code} is outside your area ({principal.scope_level} "
                f"{principal.scope_code})",
                field="district",
            )
        return [code]
    return [c for c in loaded if principal is None or district_in_scope(principal, c)]


def readable_among(principal: Principal | None, asked: Sequence[str] | None) -> list[str]:
    """``asked`` when the caller reads each of them (:class:`NotFound` naming the first one they
    do not), else, none asked, every district they read in code order: the districts a job
    names in its arguments (a batch geocode, a spreadsheet export)."""
    allowed = readable(principal, None)
    outside = [d for d in asked or () if d not in allowed]
    if outside:
        raise NotFound(f"district: {outside[0]} is not one of your districts", field="district")
    return list(asked) if asked else sorted(allowed)


def pick(principal: Principal | None = None, requested: str | None = None) -> DistrictProfile:
    """The one district a write (or a one-district page) acts on: ``requested``, or the caller's
    only district; several without one named is a :class:`BadInput` listing them."""
    codes = readable(principal, requested)
    if len(codes) == 1:
        return profiles()[codes[0]]
    if not codes:
        raise NotFound(
            "district: no district is loaded here (geo-grid demo load --district CODE)",
            field="district",
        )
    names = ", ".join(f"{c} {profiles()[c].name}" for c in codes)
    raise BadInput(f"district: name one of the districts ({names})", field="district")


def household_band(profile: DistrictProfile) -> tuple[int, int]:
    """The district's 户数 band per grid, or the store's (``GEO_GRID_HOUSEHOLD_BAND_MIN/MAX``)."""
    if profile.household_band is not None:
        return profile.household_band
    s = get_settings()
    return s.household_band_min, s.household_band_max


def thresholds(profile: DistrictProfile | None) -> Mapping[str, Any] | None:
    """The district's 红绿指标 thresholds, or the store's (``GEO_GRID_CASE_INDICATOR_THRESHOLDS``;
    None: the built-in ones)."""
    if profile is not None and profile.thresholds is not None:
        return profile.thresholds
    raw = get_settings().case_indicator_thresholds
    if not raw:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"GEO_GRID_CASE_INDICATOR_THRESHOLDS: not JSON ({exc})", field="thresholds"
        ) from exc


def register(
    session: Session,
    names: DistrictNames,
    outline: shapely.Geometry,
    *,
    local_crs: str | None = None,
    time_zone: str | None = None,
    household_band: tuple[int, int] | None = None,
    thresholds: Mapping[str, Any] | None = None,
) -> DistrictProfile:
    """Store (or replace) a district's profile inside the caller's transaction; its local CRS is
    the Gauss-Krüger zone of its outline unless ``local_crs`` names another. A new district gets
    the default roster roles (:data:`geo_grid.roster.DEFAULT_ROLES`)."""
    geom = check_outline(outline)
    profile = DistrictProfile.from_outline(
        names, geom, local_crs=local_crs, time_zone=time_zone, household_band=household_band,
        thresholds=thresholds,
    )  # fmt: skip
    repos.district.upsert_district(session, profile, geom)
    repos.district.ensure_roles(session, DEFAULT_ROLES, district=profile.code)
    invalidate()
    return profile
