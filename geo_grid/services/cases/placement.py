"""Where a report is: a point located in the grids, or an address geocoded, and who works there.

The roster map and the intake's geocoder follow the locate index's key (a publish rebuilds them).
"""

from __future__ import annotations

import threading
from typing import Any

from geo_grid.cases.rules import (
    Placement,
)
from geo_grid.crs import normalize_crs
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.layers import UNIFIED
from geo_grid.roster import ON_DUTY
from geo_grid.services.cases._common import Job, cache_lock

__all__ = ["geocoder_warm", "get_locator", "place", "place_points", "roster_map", "warm_roster"]

_roster: dict[str, Any] = {"key": None, "map": None}
_roster_build = threading.Lock()  # one roster read at a time (roster_map)


_geocoder_cache: dict[str, Any] = {"locator": None, "geocoder": None}


def _index():
    from geo_grid.services import index

    return index


#: How long an intake trusts the last locate index before asking the store whether a publish
#: happened (each check is a round trip; a publish is picked up within this many seconds).
LOCATOR_TTL_S = 1.0


def get_locator():
    return _index().get_locator(max_age_s=LOCATOR_TTL_S)


def _geocoder():
    """The geocoder of the current locate index, asked for again only when that index object
    changed (a publish or ``index.invalidate``): ``index.get_geocoder`` checks the store on every
    call, intake trusts :data:`LOCATOR_TTL_S` like the locate API."""
    locator = get_locator()
    with cache_lock:
        if _geocoder_cache["locator"] is locator:
            return _geocoder_cache["geocoder"]
    geocoder = _index().get_geocoder()
    with cache_lock:
        _geocoder_cache.update(locator=locator, geocoder=geocoder)
    return geocoder


def geocoder_warm() -> bool:
    """True when geocoding a report needs no build: index, roster and geocoder are current."""
    locator = get_locator()
    held = _geocoder_cache["geocoder"]
    return (
        _roster["key"] == locator.key
        and _geocoder_cache["locator"] is locator
        and held is not None
        and held.built
    )


def roster_map(locator, district: str | None) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """``{(layer, grid_code): [person...]}`` of one district's layers (department codes are
    unique within a district only), rebuilt with the locate index.

    Built by one thread at a time: the first reports after a start or a publish all found it
    missing, and each read the whole roster (on the city, 11 reads of 70,000 rows by two workers
    held the first batches for 8 s); now the others wait for that one read."""
    maps = _current_roster(locator)
    if maps is None:
        with _roster_build:
            maps = _current_roster(locator)
            if maps is None:
                maps = _read_roster_maps()
                with cache_lock:
                    _roster.update(key=locator.key, map=maps)
    return maps.get(district, {})


def warm_roster() -> None:
    """Build the on-duty roster of the current locate index now (the server's warm-up), so that
    the first reports routed to a person do not wait for it."""
    roster_map(get_locator(), None)


def _current_roster(locator) -> dict[str, dict] | None:
    with cache_lock:
        return _roster["map"] if _roster["key"] == locator.key else None


def _read_roster_maps() -> dict[str, dict[tuple[str, str], list[dict[str, Any]]]]:
    """Every district's on-duty roster by ``(layer, grid_code)``, read in one query."""
    with session_scope() as session:
        roster = repos.district.read_roster(session)
    maps: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = {}
    for rec in roster.itertuples(index=False):
        if rec.duty not in ON_DUTY:  # 党员中心户, 楼栋长 …: listed, never assigned
            continue
        maps.setdefault(rec.district, {}).setdefault((rec.layer, rec.grid_code), []).append(
            {"person_id": rec.person_id, "name": rec.name, "role": rec.role,
             "duty": rec.duty, "role_name": rec.role_name}
        )  # fmt: skip
    return maps


def _district_of(*codes: str | None) -> str | None:
    """The district of the first division or unified grid code given (its first six digits)."""
    code = next((str(c) for c in codes if c), None)
    return code[:6] if code and len(code) >= 6 and code[:6].isdigit() else None


def place(
    *, lon: float | None = None, lat: float | None = None, crs: str = "wgs84",
    address: str | None = None,
) -> Placement:  # fmt: skip
    """Where a report is: its point when given (any CRS), else its geocoded address.

    An ambiguous or unmatched address is *not* placed: the geocoder's reason (and its candidates)
    go with it to the manual queue.
    """
    if lon is not None and lat is not None:
        located = get_locator().locate(lon, lat, crs)
        return _point_placement(
            (lon, lat, crs), located.lon, located.lat, dict(located.grids),
            located.community_code, located.street_code, located.inside_district,
            located.district_code,
        )  # fmt: skip
    if address:
        result = _geocoder().geocode(address)
        if result.status != "matched":
            alts = ", ".join(
                f"{a.text or a.grid_code}({a.confidence:.2f})" for a in result.alternatives[:3]
            )
            reason = f"geocoder {result.status}: {result.reason or 'low confidence'}"
            return Placement.unplaced(
                reason + (f"; candidates: {alts}" if alts else ""),
                lon=result.lon, lat=result.lat, source="address",
                confidence=result.confidence, community_code=result.community_code,
                street_code=result.street_code,
                district_code=_district_of(result.community_code, result.street_code),
            )  # fmt: skip
        grids = dict(result.grids) or {UNIFIED: result.grid_code}
        return Placement(
            True, grids, result.community_code, result.street_code, result.lon, result.lat,
            "address", f"{result.level}: {result.matched_text}", result.confidence,
            _district_of(result.grid_code, result.community_code, result.street_code),
        )  # fmt: skip
    return Placement.unplaced("the report has neither a point nor an address")


def _point_placement(
    given, x, y, grids, community_code, street_code, inside, district=None
) -> Placement:
    """A located point as a :class:`Placement` (``given``: the reported lon, lat, crs)."""
    if not inside and grids.get(UNIFIED) is None:
        lon, lat, crs = given
        return Placement.unplaced(
            f"the point ({lon}, {lat}, {crs}) lies outside the district",
            lon=x, lat=y, source="point",
        )  # fmt: skip
    district = district or _district_of(grids.get(UNIFIED), community_code, street_code)
    return Placement(True, grids, community_code, street_code, x, y, "point",
                     district_code=district)  # fmt: skip


def place_points(jobs: list[Job]) -> None:
    """Place the reports that came with a point: one vectorized lookup per CRS for a whole batch
    (``locate_many``), a fraction of a single lookup's cost per point."""
    todo = [job for job in jobs if job.placement is None]
    if not todo:
        return
    locator = get_locator()
    by_crs: dict[str, list[Job]] = {}
    for job in todo:
        by_crs.setdefault(normalize_crs(job.point[2]), []).append(job)
    for crs, group in by_crs.items():
        found = locator.locate_columns(
            [j.point[0] for j in group], [j.point[1] for j in group], crs
        )
        cols = {k: v.tolist() for k, v in found.items()}
        for n, job in enumerate(group):
            grids = {k: _text(cols[k][n]) for k in locator.layers}
            job.placement = _point_placement(
                job.point, float(cols["lon"][n]), float(cols["lat"][n]), grids,
                _text(cols["community_code"][n]), _text(cols["street_code"][n]),
                bool(cols["inside_district"][n]), _text(cols["district_code"][n]),
            )  # fmt: skip
            job.roster = roster_map(locator, job.placement.district_code)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
