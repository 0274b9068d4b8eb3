"""One grid with its roster, as answered."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["GridOut", "RosterOut"]


class RosterOut(BaseModel):
    person_id: str
    name: str
    role: str
    phone: str | None
    department: str | None = None
    linked_households: int | None = None


class GridOut(BaseModel):
    code: str
    name: str | None
    layer: str
    district_code: str
    generation: int
    generation_status: str
    community_code: str | None
    community: str | None
    street_code: str | None
    street: str | None
    households: int | None
    area_m2: float
    duplicates: int
    roster: list[RosterOut]
    geometry: dict[str, Any]
