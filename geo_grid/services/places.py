"""Named places: the map's search (streets, communities, grids, roads, 小区, door plates) and the base
every map page is drawn over.

:func:`search` answers what a dispatcher types into a map's search box with typed hits
(:class:`geo_grid.address.places.Place` plus the door plate the geocoder finds), each with its match
level, confidence and the people on duty where one grid answers for it. :func:`base_map` is the
base a page is drawn over: the tiles the settings name (:func:`geo_grid.maps.basemap.tile_base`),
or without them the district's own roads and names from the store.

Both are built from the store once per district and kept: the place index with the locate index it
was built against (:func:`geo_grid.services.index.get_locator`: a publish or ``index.invalidate``
after loading addresses makes a new one, and the places are rebuilt with it), the base with the
district's published generations (a reload republishes).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd
import shapely

from geo_grid.address.places import Place, PlaceIndex, area_name, named_places, road_lines
from geo_grid.crs import normalize_crs, transform_geometry, wgs84_to_gcj02
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput
from geo_grid.labels import PLACE_KIND, ROSTER_ROLE, reason_zh
from geo_grid.layers import UNIFIED
from geo_grid.maps.basemap import BaseMap, tile_base, vector_base
from geo_grid.services import districts as district_profiles
from geo_grid.services import geocoding, index
from geo_grid.settings import get_settings

__all__ = ["MAX_HITS", "base_map", "place_index", "search"]

#: The most hits one search answers.
MAX_HITS = 20
#: Door-plate levels of the geocoder: a match there is an address, not a named place.
_DOOR_LEVELS = ("门牌", "楼栋")
#: Grids listed with a hit that covers many (a street has hundreds): the first ones.
_MAX_GRIDS = 50
#: Simplification of an outline sent with a hit (degrees: about 2 m).
_OUTLINE_TOLERANCE = 2e-5

_lock = threading.Lock()
_indexes: dict[str, tuple[Any, PlaceIndex]] = {}
_bases: dict[tuple, BaseMap] = {}


def _points(session, district: str) -> pd.DataFrame:
    return repos.district.read_place_points(session, district=district)


def place_index(district: str) -> PlaceIndex:
    """The place index of ``district``, built against the current locate index."""
    locator = index.get_locator()
    held = _indexes.get(district)
    if held is not None and held[0] is locator:
        return held[1]
    profile = district_profiles.get(district)
    with session_scope() as session:
        gid = repos.grids.published_generations(session, [district]).get((district, UNIFIED))
        if gid is None:
            raise BadInput(f"district: {district} has no published unified layer", field="district")
        grids = repos.grids.read_grids(session, generation_id=gid)
        one = [district]
        streets = repos.district.read_admin_areas(session, level="street", districts=one)
        communities = repos.district.read_admin_areas(session, level="community", districts=one)
        points = _points(session, district)

    def grid_at(lons: np.ndarray, lats: np.ndarray) -> list[str | None]:
        return locator.locate_many(lons, lats, "cgcs2000")[UNIFIED].tolist()

    built = PlaceIndex(streets, communities, grids, points, local_crs=profile.local_crs,
                       grid_at=grid_at)  # fmt: skip
    with _lock:
        _indexes[district] = (locator, built)
    return built


# ------------------------------------------------------------------------------------ search
def search(
    text: str, *, districts: Sequence[str], limit: int = 10, crs: str = "wgs84"
) -> list[dict[str, Any]]:
    """What ``text`` names in ``districts`` (the caller's), best first: places and the door plate.

    Each hit: ``kind`` (:data:`geo_grid.address.places.PLACE_KINDS`) and ``kind_zh``, ``name``,
    ``code``, ``level`` (the match level a person reads: 门牌, 楼栋, 小区, 道路, 社区, 街道, 网格),
    ``confidence``, a point ``lon, lat`` and ``bbox`` in ``crs`` (wgs84/cgcs2000 as stored, or
    gcj02 for a map on such tiles), ``grid_code`` (the one grid that answers) and ``grid_codes``,
    the community and street, ``people`` on duty in that grid (names and roles, no phones) and
    ``geometry`` (its outline or line, GeoJSON) when it has one.
    """
    if not 1 <= limit <= MAX_HITS:
        raise BadInput(f"limit: {limit} is not in [1, {MAX_HITS}]", field="limit")
    key = normalize_crs(crs)
    if key not in ("wgs84", "cgcs2000", "gcj02"):
        raise BadInput(f"crs: {crs!r} is not wgs84, cgcs2000 or gcj02", field="crs")
    if not isinstance(text, str) or not text.strip():
        raise BadInput("q: the search text is empty", field="q")
    hits: list[tuple[Place, str | None, str | None, str]] = []
    for code in districts:
        hits += [(p, None, None, code) for p in place_index(code).search(text, limit)]
    door = _door_plate(text, districts, bool(hits))
    if door is not None:
        hits.append(door)
    hits.sort(key=lambda h: -h[0].confidence)
    locator = index.get_locator()
    return [_answer(*hit, locator, key) for hit in hits[:limit]]


def _door_plate(
    text: str, districts: Sequence[str], named: bool
) -> tuple[Place, str | None, str | None, str] | None:
    """The geocoder's answer as a hit: a door plate or building it matched (or, when no place
    is named, whatever it placed); None when it found nothing."""
    found = geocoding.geocode(text, districts=districts)
    if found.lon is None or found.status == "unmatched":
        return None
    if named and found.level not in _DOOR_LEVELS:
        return None  # a 小区 or road the place index names better
    grid = found.grid_code if found.status == "matched" else None
    point = (found.lon, found.lat, found.lon, found.lat)
    place = Place(
        "address", found.matched_text or text.strip(), float(found.confidence), found.lon,
        found.lat, point, community_code=found.community_code, street_code=found.street_code,
        grid_code=grid, grid_codes=(grid,) if grid else (),
    )  # fmt: skip
    district = next((d for d in districts if (grid or "").startswith(d)), districts[0])
    return place, found.level, found.reason, district


def _answer(
    place: Place, level: str | None, reason: str | None, district: str, locator, crs: str
) -> dict[str, Any]:
    """One hit as the API answers it (coordinates moved onto ``crs``); ``level`` and ``reason``
    are the geocoder's for a door plate."""
    shift = wgs84_to_gcj02 if crs == "gcj02" else None
    lon, lat = _moved(np.array([place.lon]), np.array([place.lat]), shift)
    corners = _moved(np.array(place.bbox[::2]), np.array(place.bbox[1::2]), shift)
    people = [
        {"name": p.name, "role": p.role, "role_zh": ROSTER_ROLE.get(p.role, p.role)}
        for p in locator.roster_for(place.grid_code)
    ]
    body = asdict(place) | {
        "kind_zh": PLACE_KIND[place.kind],
        "level": level or ("网格" if place.kind == "grid" else PLACE_KIND[place.kind]),
        "district_code": district,
        "lon": float(lon[0]), "lat": float(lat[0]),
        "bbox": [float(corners[0][0]), float(corners[1][0]), float(corners[0][1]),
                 float(corners[1][1])],
        "grid_count": len(place.grid_codes), "grid_codes": list(place.grid_codes[:_MAX_GRIDS]),
        "people": people, "geometry": _outline(place.geometry, shift),
        "reason_zh": reason_zh(reason),
    }  # fmt: skip
    return body


def _moved(lons: np.ndarray, lats: np.ndarray, shift) -> tuple[np.ndarray, np.ndarray]:
    return (lons, lats) if shift is None else shift(lons, lats)


def _outline(geom: Any, shift) -> dict[str, Any] | None:
    """A hit's geometry as GeoJSON, simplified to about 2 m, on the map's tiles."""
    if geom is None or geom.is_empty:
        return None
    simple = shapely.simplify(geom, _OUTLINE_TOLERANCE, preserve_topology=True)
    if shift is not None:
        simple = transform_geometry(simple, shift)
    return shapely.geometry.mapping(simple)


# ------------------------------------------------------------------------------------ base map
def base_map(district: str) -> BaseMap:
    """What ``district``'s pages are drawn over: the tiles the settings name, or the district's
    own roads (from its door plates) and the names of its streets, communities, roads, 小区 and
    villages."""
    settings = get_settings()
    if settings.tiles_url:
        return tile_base(**settings.tile_options())
    with session_scope() as session:
        key = (
            district,
            tuple(sorted(repos.grids.published_generations(session, [district]).items())),
        )
        held = _bases.get(key)
        if held is not None:
            return held
        one = [district]
        areas = pd.concat([
            repos.district.read_admin_areas(session, level=level, districts=one)
            for level in ("street", "community")
        ], ignore_index=True)  # fmt: skip
        points = _points(session, district)
    profile = district_profiles.get(district)
    roads = road_lines(points[points["kind"] == "road"], profile.local_crs)
    inside = shapely.point_on_surface(np.asarray(areas.geometry.array, dtype=object))
    labels = pd.concat([
        pd.DataFrame({"kind": areas["level"].to_numpy(),
                      "name": [area_name(str(n)) for n in areas["name"]],
                      "lon": shapely.get_x(inside), "lat": shapely.get_y(inside)}),
        named_places(points)[["kind", "name", "lon", "lat"]],
    ], ignore_index=True)  # fmt: skip
    built = vector_base(roads, labels)
    with _lock:
        _bases[key] = built
    return built
