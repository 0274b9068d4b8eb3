"""The districts the store serves: their profiles as answered."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["DistrictList", "DistrictOut"]


class DistrictOut(BaseModel):
    code: str
    name: str
    city: str | None
    province: str | None
    short_forms: dict[str, list[str]]
    local_crs: str
    bounds: list[float]
    centre: list[float]
    time_zone: str | None
    household_band: list[int] | None
    thresholds: dict[str, Any] | None


class DistrictList(BaseModel):
    data: list[DistrictOut]
    count: int
