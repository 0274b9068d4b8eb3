"""The in-memory locate index and geocoder, built from the store and rebuilt after a publish.

Both are caches of what PostgreSQL holds. Their identity is the set of published generation ids
(``repos.grids.published_generations``): every call checks that key with one cheap query and rebuilds when
a generation was published (by this process or another one). Address-library changes do not change
the key, so the demo loader and importers call :func:`invalidate` after writing addresses.

The key check runs on an engine kept with the cache (reused while :func:`get_settings` returns the
same object): resolving the database URL for the local cluster asks ``pg_ctl`` whether the server
runs, ~15 ms, which would otherwise be paid by every locate request.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from geo_grid.address import Geocoder
from geo_grid.db import repos
from geo_grid.db.session import get_engine, session_scope
from geo_grid.locate import LocateIndex
from geo_grid.services.gazetteer import district_context
from geo_grid.settings import Settings, get_settings

__all__ = ["build", "get_geocoder", "get_locator", "invalidate", "ready"]

_lock = threading.Lock()
_build_lock = threading.Lock()
_locator: LocateIndex | None = None
_geocoder: Geocoder | None = None
_geocoder_key: tuple | None = None
_engine: tuple[Settings, Engine] | None = None
_checked_at = 0.0  # time.monotonic() of the last key check that found _locator current


def ready() -> bool:
    """True once the geocoder (and with it the locate index) has been built: the server is warm."""
    return _geocoder is not None


def build() -> None:
    """Build the locate index and the geocoder now, before anyone asks (a server's warm-up, and
    each worker process's: its batch geocodes use its own)."""
    get_geocoder()


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


def _build_locator(session: Session, published: dict[str, int]) -> LocateIndex:
    layers = {
        layer: repos.grids.read_grids(session, generation_id=gid)[["code", "geometry"]]
        for layer, gid in sorted(published.items())
    }
    return LocateIndex(
        layers,
        communities=repos.district.read_admin_areas(session, level="community"),
        streets=repos.district.read_admin_areas(session, level="street"),
        roster=repos.district.read_roster(session),
        generation=published,
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
        published = repos.grids.published_generations(session)
        key = LocateIndex.key_for(published)
        checked = time.monotonic()
        current = _locator
        if current is not None and current.key == key:
            _checked_at = checked
            return current
        with _build_lock:  # one build at a time; the others wait for it and reuse it
            current = _locator
            if current is None or current.key != key:
                current = _build_locator(session, published)
            with _lock:
                _locator, _checked_at = current, checked
            return current


def get_geocoder() -> Geocoder:
    """The geocoder over the address library, attached to the current locate index."""
    global _geocoder, _geocoder_key
    locator = get_locator()
    if _geocoder is not None and _geocoder_key == locator.key:
        return _geocoder
    with _build_lock:
        if _geocoder is not None and _geocoder_key == locator.key:
            return _geocoder
        with session_scope(_store()) as session:
            library = repos.district.read_address_library(session)
            streets = repos.district.read_admin_areas(session, level="street")
            communities = repos.district.read_admin_areas(session, level="community")
            gazetteer, district = district_context(session)
        # no grid_code column: the geocoder takes each point's unified grid from the current
        # generation, in the same batch lookup that gives it the department grids
        geocoder = Geocoder(
            library,
            streets,
            communities,
            locate=locator,
            district=district,
            gazetteer=gazetteer,
        )
        with _lock:
            _geocoder, _geocoder_key = geocoder, locator.key
        return geocoder
