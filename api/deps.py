"""Typed dependencies: parameters parsed and validated once, before a route body runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from fastapi.concurrency import run_in_threadpool

from api import schemas
from api.auth import PrincipalDep
from api.params import DISTRICT_CODE
from geo_grid.cases import open311
from geo_grid.districts import DistrictProfile
from geo_grid.errors import BadInput
from geo_grid.periods import Period, check_period, parse_instant
from geo_grid.services import districts
from geo_grid.settings import Settings, get_settings

SettingsDep = Annotated[Settings, Depends(get_settings)]


@dataclass(frozen=True)
class BBoxParams:
    """``bbox=minlon,minlat,maxlon,maxlat`` in EPSG:4490/WGS84, or None."""

    bbox: tuple[float, float, float, float] | None


#: one number as ``float()`` reads it (no inf or nan), four of them comma-separated
_NUMBER = r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*"
BBOX_PATTERN = rf"^{_NUMBER}(,{_NUMBER}){{3}}$"


def bbox_params(
    bbox: Annotated[
        str | None,
        Query(
            description="minlon,minlat,maxlon,maxlat (EPSG:4490)",
            examples=["114.28,30.58,114.35,30.64"],
            pattern=BBOX_PATTERN,
        ),
    ] = None,
) -> BBoxParams:
    if bbox is None:
        return BBoxParams(None)
    try:
        parts = tuple(float(p) for p in bbox.split(","))
    except ValueError as exc:
        raise BadInput(f"bbox: not four numbers: {bbox!r}", field="bbox") from exc
    if len(parts) != 4:
        raise BadInput(
            f"bbox: need minlon,minlat,maxlon,maxlat, got {len(parts)} values", field="bbox"
        )
    minx, miny, maxx, maxy = parts
    if not (minx < maxx and miny < maxy):
        raise BadInput("bbox: min must be below max", field="bbox")
    if not (
        -180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90
    ):
        raise BadInput("bbox: outside lon/lat range", field="bbox")
    return BBoxParams(parts)  # type: ignore[arg-type]


BBoxDep = Annotated[BBoxParams, Depends(bbox_params)]


# ------------------------------------------------------------------------------------ districts
DistrictQuery = Annotated[
    str | None,
    Query(
        pattern=DISTRICT_CODE,
        description="District code (6 digits, e.g. 110101); default: every district of the "
        "caller's area (one for a district account, all of a city for a city account)",
        examples=["110101"],
    ),
]


async def readable_districts(principal: PrincipalDep, district: DistrictQuery = None) -> list[str]:
    """The districts a read shows: ``district`` (stored, inside the caller's area) or every
    stored district of the caller's area (on the event loop while the profiles are cached:
    the hop to a thread was 4.7 % of the server's CPU on ``POST /cases``)."""
    held = districts.cached()
    if held is not None:
        return districts.readable(principal, district, held)
    return await run_in_threadpool(districts.readable, principal, district)


async def one_district(principal: PrincipalDep, district: DistrictQuery = None) -> DistrictProfile:
    """The district a write acts on: ``district``, or the caller's only one (several: 400 asking
    to name one)."""
    return await run_in_threadpool(districts.pick, principal, district)


async def page_district(principal: PrincipalDep, district: DistrictQuery = None) -> DistrictProfile:
    """The district a map page shows: ``district``, or the caller's (the first of theirs when
    their area holds several; ``?district=`` shows another)."""
    codes = await run_in_threadpool(districts.readable, principal, district)
    if len(codes) == 1:
        return districts.get(codes[0])
    return await run_in_threadpool(districts.pick, principal, codes[0] if codes else None)


ReadableDistricts = Annotated[list[str], Depends(readable_districts)]
OneDistrict = Annotated[DistrictProfile, Depends(one_district)]
PageDistrict = Annotated[DistrictProfile, Depends(page_district)]


# ------------------------------------------------------------------------------------ periods
_WHEN = (
    "ISO 8601 date or time (2026-06-01, 2026-06-01T08:00:00+08:00); without an offset it is "
    "the district's local time (GEO_GRID_TIME_ZONE, Beijing time). A closed period spans at most "
    "GEO_GRID_MAX_PERIOD_DAYS days (366)."
)


def _period(settings: Settings, start: str | None, end: str | None, names=("from", "to")) -> Period:
    """Parse both ends and check the period: the one rule every route with a period shares."""
    return check_period(
        parse_instant(start, names[0]),
        parse_instant(end, names[1]),
        max_days=settings.max_period_days,
        start_field=names[0],
        end_field=names[1],
    )


def period_params(
    settings: SettingsDep,
    start: Annotated[
        str | None,
        Query(alias="from", max_length=64, description=f"Start (inclusive). {_WHEN}",
              examples=["2026-06-01"]),
    ] = None,
    end: Annotated[
        str | None,
        Query(alias="to", max_length=64, description=f"End (exclusive). {_WHEN}",
              examples=["2026-07-01T00:00:00+08:00"]),
    ] = None,
) -> Period:  # fmt: skip
    """``from``/``to``, either optional (an open end): offsets PostgreSQL holds, ``from < to``,
    and a closed period no longer than ``GEO_GRID_MAX_PERIOD_DAYS``."""
    return _period(settings, start, end)


def closed_period_params(
    settings: SettingsDep,
    start: Annotated[
        str,
        Query(alias="from", max_length=64, description=f"Start (inclusive). {_WHEN}",
              examples=["2026-06-01T00:00:00+08:00"]),
    ],
    end: Annotated[
        str,
        Query(alias="to", max_length=64, description=f"End (exclusive). {_WHEN}",
              examples=["2026-07-01T00:00:00+08:00"]),
    ],
) -> Period:  # fmt: skip
    """Like :func:`period_params` with both ends required."""
    period = _period(settings, start, end)
    for value, name in ((period.start, "from"), (period.end, "to")):
        if value is None:
            raise BadInput(f"{name}: required", field=name)
    return period


def open311_period_params(
    settings: SettingsDep,
    start: Annotated[
        str | None,
        Query(alias="start_date", max_length=64,
              description=f"GeoReport v2: earliest requested_datetime. {_WHEN}"),
    ] = None,
    end: Annotated[
        str | None,
        Query(alias="end_date", max_length=64,
              description=f"GeoReport v2: latest requested_datetime. {_WHEN}"),
    ] = None,
) -> Period:  # fmt: skip
    """Open311's ``start_date``/``end_date``, checked as every other period."""
    return _period(settings, start, end, ("start_date", "end_date"))


PeriodDep = Annotated[Period, Depends(period_params)]
ClosedPeriodDep = Annotated[Period, Depends(closed_period_params)]
Open311PeriodDep = Annotated[Period, Depends(open311_period_params)]


# ------------------------------------------------------------------------------------ Open311
def _comma_query(description: str, example: str) -> Any:
    return Query(description=f"GeoReport v2: {description}, comma-delimited", examples=[example])


def open311_filters(
    service_request_id: Annotated[
        str | None,
        _comma_query("service request ids (then the other filters are ignored)", "638344,638349"),
    ] = None,
    service_code: Annotated[str | None, _comma_query("service (category) codes", "E0101")] = None,
    status: Annotated[str | None, _comma_query("open or closed", "open")] = None,
) -> schemas.RequestFilters:
    """``GET requests``' filters, each a GeoReport v2 comma-delimited list: split and checked
    once (control characters refused, naming the parameter), before the route runs."""
    return schemas.RequestFilters(
        ids=open311.comma_list(service_request_id, "service_request_id"),
        service_codes=open311.comma_list(service_code, "service_code"),
        status=open311.comma_list(status, "status"),
    )


Open311FiltersDep = Annotated[schemas.RequestFilters, Depends(open311_filters)]
