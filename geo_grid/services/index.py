"""The in-memory locate index and geocoders, built from the store and rebuilt after a publish.

Both are caches of what PostgreSQL holds. Their identity is the set of published generation ids of
every district (``repos.grids.published_generations``): every call checks that key with one cheap
query and rebuilds when a generation was published (by this process or another one). One locate
index holds every district (their outlines decide which district a point is in); each district has
its own geocoder, and :class:`~geo_grid.address.districts.GeocoderSet` answers for all of them.
Reference data a district replaces without a publish (its address library, its roster, its admin
areas) is part of the key too: whoever writes it calls :func:`touch` in the same transaction, and
every process sees the change at its next key check (this one at once after :func:`invalidate`).

The key check runs on an engine kept with the cache (reused while :func:`get_settings` returns the
same object): resolving the database URL for the local cluster asks ``pg_ctl`` whether the server
runs, ~15 ms, which would otherwise be paid by every locate request.
"""

from __future__ import annotations

import threading
import time

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from geo_grid.address import Geocoder
from geo_grid.address.districts import GeocoderSet
from geo_grid.db import repos
from geo_grid.db.session import get_engine, session_scope
from geo_grid.locate import LocateIndex
from geo_grid.services.gazetteer import district_context
from geo_grid.settings import Settings, get_settings

__all__ = ["REFERENCE_KEY", "get_geocoder", "get_locator", "invalidate", "ready", "touch",
           "warm_geocoders"]  # fmt: skip

#: ``meta`` keys (``reference_data:<district>``) whose values change when a district's reference
#: data is replaced: part of the index's key.
REFERENCE_KEY = "reference_data:"

_lock = threading.Lock()
_build_lock = threading.Lock()
_locator: LocateIndex | None = None
_geocoder: GeocoderSet | None = None
_geocoder_key: tuple | None = None
_engine: tuple[Settings, Engine] | None = None
_checked_at = 0.0  # time.monotonic() of the last key check that found _locator current


def ready() -> bool:
    """True once every district's geocoder (and with them the locate index) has been built: the
    server is warm."""
    held = _geocoder
    return held is not None and held.built


def invalidate() -> None:
    """Forget both caches and the engine (after writing addresses, or in tests)."""
    global _locator, _geocoder, _geocoder_key, _engine, _checked_at
    with _lock:
        _locator = _geocoder = _geocoder_key = _engine = None
        _checked_at = 0.0


def _store() -> Engine:
    """The store's engine, resolved once per settings object."""
    global _engine
    settings = get_settings()
    held = _engine
    if held is not None and held[0] is settings:
        return held[1]
    engine = get_engine()
    _engine = (settings, engine)
    return engine


def touch(session: Session, district: str) -> None:
    """Record, in the caller's transaction, that ``district``'s reference data changed (its
    address library, roster or admin areas): every process's index and geocoders are rebuilt."""
    import uuid

    repos.store.set_meta(session, f"{REFERENCE_KEY}{district}", uuid.uuid4().hex)


def _generations(
    published: dict[tuple[str, str], int], versions: dict[str, str] | None = None
) -> dict[str, int | str]:
    """``{"district:layer": generation id}`` and the reference data's versions
    (``reference_data:<district>``): what the index is built from (its key)."""
    out: dict[str, int | str] = {
        f"{district}:{layer}": gid for (district, layer), gid in sorted(published.items())
    }
    out.update(versions or {})
    return out


def _state(session: Session) -> tuple[dict[tuple[str, str], int], dict[str, int | str]]:
    """The published generations and the key description of the index they make."""
    published = repos.grids.published_generations(session)
    versions = repos.store.meta_with_prefix(session, REFERENCE_KEY)
    return published, _generations(published, versions)


def _build_locator(
    session: Session, published: dict[tuple[str, str], int], described: dict[str, int | str]
) -> LocateIndex:
    """One index over every district: each layer's published grids of all districts, tagged with
    their district, and the districts' outlines."""
    parts: dict[str, list] = {}
    for (district, layer), gid in sorted(published.items()):
        grids = repos.grids.read_grids(session, generation_id=gid)[["code", "geometry"]]
        grids["district_code"] = district
        parts.setdefault(layer, []).append(grids)
    layers = {k: pd.concat(v, ignore_index=True) for k, v in parts.items()}
    return LocateIndex(
        layers,
        communities=repos.district.read_admin_areas(session, level="community"),
        streets=repos.district.read_admin_areas(session, level="street"),
        roster=repos.district.read_roster(session),
        generation=described,
        districts=repos.district.read_district_outlines(session),
    )


def get_locator(max_age_s: float = 0.0) -> LocateIndex:
    """The current index over every published layer (rebuilt when a publish changed the key).

    ``max_age_s`` lets a latency-bound caller (the locate API) skip the key check when the last
    one is younger than that: a publish is then seen within ``max_age_s`` seconds (at once after
    :func:`invalidate`). The default checks on every call.
    """
    global _locator, _checked_at
    current = _locator
    if current is not None and max_age_s > 0 and time.monotonic() - _checked_at < max_age_s:
        return current
    engine = _store()
    with session_scope(engine) as session:
        published, described = _state(session)
        key = LocateIndex.key_for(described)
        checked = time.monotonic()
        current = _locator
        if current is not None and current.key == key:
            _checked_at = checked
            return current
        with _build_lock:  # one build at a time; the others wait for it and reuse it
            current = _locator
            if current is None or current.key != key:
                current = _build_locator(session, published, described)
            with _lock:
                _locator, _checked_at = current, checked
            return current


def _district_at(locator: LocateIndex):
    """``(lon, lat) -> district code`` in EPSG:4490, for the geocoders' reverse lookups."""
    return lambda lon, lat: locator.locate(lon, lat, "cgcs2000").district_code


def _district_geocoder(profile, names, gazetteer, locator: LocateIndex):
    """A function building one district's geocoder from the store (called when first needed)."""

    def build() -> Geocoder:
        one = [profile.code]
        with session_scope(_store()) as session:
            library = repos.district.read_address_library(session, district=profile.code)
            streets = repos.district.read_admin_areas(session, level="street", districts=one)
            communities = repos.district.read_admin_areas(session, level="community", districts=one)
        # no grid_code column: the geocoder takes each point's unified grid from the current
        # generation, in the same batch lookup that gives it the department grids
        return Geocoder(
            library, streets, communities, locate=locator, district=names,
            gazetteer=gazetteer,
        )  # fmt: skip

    return build


def get_geocoder() -> GeocoderSet:
    """The geocoders of every district (one per address library, each built when first asked
    for), attached to the current locate index."""
    global _geocoder, _geocoder_key
    locator = get_locator()
    if _geocoder is not None and _geocoder_key == locator.key:
        return _geocoder
    with _build_lock:
        if _geocoder is not None and _geocoder_key == locator.key:
            return _geocoder
        with session_scope(_store()) as session:
            profiles = repos.district.read_districts(session)
            gazetteer, names = district_context(session, profiles)
        builders = {
            p.code: _district_geocoder(p, names[p.code], gazetteer, locator) for p in profiles
        }
        geocoder = GeocoderSet(builders, gazetteer, _district_at(locator))
        with _lock:
            _geocoder, _geocoder_key = geocoder, locator.key
        return geocoder


def warm_geocoders() -> None:
    """Build every district's geocoder now (the server's warm-up: no first caller waits)."""
    geocoders = get_geocoder()
    for code in geocoders.codes:
        geocoders.geocoder(code)
