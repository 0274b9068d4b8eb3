"""Typed dependencies: parameters parsed and validated once, before a route body runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from geo_grid.errors import BadInput
from geo_grid.periods import Period, check_period, parse_instant
from geo_grid.settings import Settings, get_settings

SettingsDep = Annotated[Settings, Depends(get_settings)]


def _integral(value: object) -> object:
    """3.0 as 3: JSON Schema's ``integer`` is any number without a fraction.

    >>> _integral(3.0), _integral(3.5), _integral("3")
    (3, 3.5, '3')
    """
    return int(value) if isinstance(value, float) and value.is_integer() else value


#: A version or generation number in a JSON body, as JSON Schema reads an integer: ``3`` or
#: ``3.0``, never ``"3"`` or ``true``. (The bound goes before the validator: after it, the
#: document would say ``ge`` instead of ``minimum``, which schemathesis found.)
PositiveInteger = Annotated[int, Field(ge=1), BeforeValidator(_integral)]


class JsonBody(BaseModel):
    """A JSON request body: its members and their JSON types exactly as the OpenAPI document
    declares them (``additionalProperties: false``, strict types).

    Pydantic's lax mode took ``0`` for ``false``, ``"3"`` for ``3`` and a number for a time
    (seconds since 1970: the sweep once ran "as of 1969"); schemathesis found both. Times in a
    body are ISO 8601 text read by :mod:`geo_grid.periods`, like those in a query; integers are
    :data:`PositiveInteger` (``3.0`` is one, as JSON Schema says).
    """

    model_config = ConfigDict(extra="forbid", strict=True)


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
            examples=["118.85,32.08,118.95,32.16"],
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
