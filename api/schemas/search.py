"""Answers of ``GET /api/v1/search``: the places and door plates a map's search box finds."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["PersonOnDuty", "SearchHit", "SearchOut"]


class PersonOnDuty(BaseModel):
    name: str
    role: str = Field(description="grid_leader | grid_worker | police | party_household | ...")
    role_zh: str = Field(description="网格长, 网格员, ...")


class SearchHit(BaseModel):
    kind: str = Field(description="address | grid | xiaoqu | road | village | community | street")
    kind_zh: str = Field(description="门牌地址, 网格, 小区, 道路, 村, 社区, 街道")
    name: str
    code: str | None = Field(description="The grid's or admin area's code")
    level: str = Field(description="Match level: 门牌, 楼栋, 小区, 道路, 村, 社区, 街道, 网格")
    confidence: float = Field(ge=0, le=1)
    lon: float = Field(description="A point inside the place, in the asked crs")
    lat: float
    bbox: list[float] = Field(description="min lon, min lat, max lon, max lat (asked crs)")
    district_code: str
    community_code: str | None
    community_name: str | None
    street_code: str | None
    street_name: str | None
    grid_code: str | None = Field(description="The one unified grid that answers for it, if any")
    grid_codes: list[str] = Field(description="Unified grids it touches (the first 50)")
    grid_count: int
    people: list[PersonOnDuty] = Field(description="On duty in grid_code (no phones)")
    geometry: dict[str, Any] | None = Field(description="Its outline or line (GeoJSON)")
    reason_zh: str | None = Field(description="For a door plate: how it was matched")


class SearchOut(BaseModel):
    query: str
    data: list[SearchHit]
    count: int
