"""Geocoding, locating and reverse geocoding: request and answer bodies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "BatchInput",
    "BatchOut",
    "BatchRow",
    "CandidateOut",
    "GeocodeOut",
    "LocateOut",
    "PersonOut",
    "ReverseOut",
]


class CandidateOut(BaseModel):
    confidence: float
    grid_code: str | None
    lon: float
    lat: float
    address_id: int | None
    text: str | None


class GeocodeOut(BaseModel):
    query: str
    status: str = Field(description="matched | ambiguous | unmatched")
    level: str | None = Field(description="门牌 | 楼栋 | 小区 | 道路 | 社区 | 街道")
    confidence: float
    lon: float | None
    lat: float | None
    address_id: int | None
    matched_text: str | None
    grid_code: str | None
    grids: dict[str, str | None]
    community_code: str | None
    street_code: str | None
    alternatives: list[CandidateOut]
    reason: str | None = Field(description="Why not matched, or a note (English, for developers)")
    reason_zh: str | None = Field(description="The reason in Chinese, for people")
    normalized: str


@dataclass(frozen=True)
class BatchInput:
    """The addresses of a batch request, whichever way they came."""

    addresses: list[Any]
    field: str


class BatchRow(BaseModel):
    row: int
    query: str | None
    status: str
    grid_code: str | None
    grids: dict[str, str | None]
    match_level: str | None
    confidence: float
    lon: float | None
    lat: float | None
    address_id: int | None
    matched_text: str | None
    reason: str | None


class BatchOut(BaseModel):
    data: list[BatchRow]
    count: int
    matched: int
    ambiguous: int
    unmatched: int


class PersonOut(BaseModel):
    person_id: str
    name: str
    phone: str | None
    role: str


class LocateOut(BaseModel):
    lon: float = Field(description="CGCS2000 (EPSG:4490)")
    lat: float = Field(description="CGCS2000 (EPSG:4490)")
    inside_district: bool
    grid_code: str | None
    grids: dict[str, str | None]
    community_code: str | None
    community_name: str | None
    street_code: str | None
    street_name: str | None
    district_code: str | None
    district_name: str | None
    roster: list[PersonOut]
    generation: dict[str, int] | None = Field(
        None, description="published generation id of each district:layer the index holds"
    )


class ReverseOut(BaseModel):
    lon: float = Field(description="CGCS2000 (EPSG:4490)")
    lat: float = Field(description="CGCS2000 (EPSG:4490)")
    address_id: int | None
    full_text: str | None
    distance_m: float | None
    grid_code: str | None
    grids: dict[str, str | None]
