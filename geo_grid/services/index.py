"""The in-memory locate index and geocoder, built from the store and rebuilt after a publish.

Both are caches of what PostgreSQL holds. Their identity is the set of published generation ids
(``repo.published_generations``): every call checks that key with one cheap query and rebuilds when
a generation was published (by this process or another one). Address-library changes do not change
the key, so the demo loader and importers call :func:`invalidate` after writing addresses.
"""

from __future__ import annotations

import threading

from geo_grid.db import repo
from geo_grid.db.session import session_scope
from geo_grid.geocode import Geocoder
from geo_grid.locate import LocateIndex

__all__ = ["get_geocoder", "get_locator", "invalidate"]

_lock = threading.Lock()
_locator: LocateIndex | None = None
_geocoder: Geocoder | None = None
_geocoder_key: tuple | None = None


def invalidate() -> None:
    """Forget both caches (after writing addresses, or in tests)."""
    global _locator, _geocoder, _geocoder_key
    with _lock:
        _locator = _geocoder = _geocoder_key = None


def _current_key(session) -> tuple:
    return LocateIndex.key_for(repo.published_generations(session))


def _build_locator(session, published: dict[str, int]) -> LocateIndex:
    layers = {
        layer: repo.read_grids(session, generation_id=gid)[["code", "geometry"]]
        for layer, gid in sorted(published.items())
    }
    return LocateIndex(
        layers,
        communities=repo.read_admin_areas(session, level="community"),
        streets=repo.read_admin_areas(session, level="street"),
        roster=repo.read_roster(session),
        generation=published,
    )


def get_locator() -> LocateIndex:
    """The current index over every published layer (rebuilt when a publish changed the key)."""
    global _locator
    with session_scope() as session:
        published = repo.published_generations(session)
        key = LocateIndex.key_for(published)
        with _lock:
            if _locator is not None and _locator.key == key:
                return _locator
            _locator = _build_locator(session, published)
            return _locator


def get_geocoder() -> Geocoder:
    """The geocoder over the address library, attached to the current locate index."""
    global _geocoder, _geocoder_key
    locator = get_locator()
    with _lock:
        if _geocoder is not None and _geocoder_key == locator.key:
            return _geocoder
    with session_scope() as session:
        library = repo.read_address_library(session)
        streets = repo.read_admin_areas(session, level="street")
        communities = repo.read_admin_areas(session, level="community")
    # the library's grid_code is the unified grid of its point under the current generation
    grids = locator.locate_many(
        library["lon"].to_numpy(), library["lat"].to_numpy(), crs="cgcs2000"
    )
    library["grid_code"] = grids["unified"].to_numpy() if "unified" in grids else None
    geocoder = Geocoder(library, streets, communities, locate=locator)
    with _lock:
        _geocoder, _geocoder_key = geocoder, locator.key
    return geocoder
