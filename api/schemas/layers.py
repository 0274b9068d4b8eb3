"""Layers and their imports, as answered."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

__all__ = ["ImportOut", "LayerList", "LayerOut"]


class LayerOut(BaseModel):
    key: str
    name_zh: str
    department: str | None
    district_code: str | None
    generation: int | None
    published_at: datetime | None
    grids: int
    households: int
    drafts: int


class LayerList(BaseModel):
    data: list[LayerOut]
    count: int


class ImportOut(BaseModel):
    layer: str
    district_code: str
    generation: int
    generation_id: int
    status: str
    grids: int
