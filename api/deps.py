"""Typed dependencies: parameters parsed and validated once, before a route body runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from geo_grid.errors import BadInput
from geo_grid.settings import Settings, get_settings

SettingsDep = Annotated[Settings, Depends(get_settings)]


@dataclass(frozen=True)
class BBoxParams:
    """``bbox=minlon,minlat,maxlon,maxlat`` in EPSG:4490/WGS84, or None."""

    bbox: tuple[float, float, float, float] | None


def bbox_params(
    bbox: Annotated[
        str | None,
        Query(
            description="minlon,minlat,maxlon,maxlat (EPSG:4490)",
            examples=["118.85,32.08,118.95,32.16"],
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
