"""Coverage checks, 多网合一 and the crosswalk: request and answer bodies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from api.uploads import UploadedFile
from geo_grid.services.checks import DEPARTMENT_LAYERS

__all__ = [
    "CheckLayerIn",
    "CheckOut",
    "CheckRequest",
    "ConformanceOut",
    "CrosswalkOut",
    "CrosswalkRowOut",
    "DefectOut",
    "MergeIn",
    "MergeOut",
    "ProposedOut",
]


class CheckLayerIn(BaseModel):
    """Check a stored layer (JSON body of ``POST /api/v1/checks``)."""

    layer: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    generation: int | None = Field(None, ge=1, description="Default: the published generation.")
    gap_width_m: float = Field(20.0, gt=0)
    refresh: bool = False


@dataclass(frozen=True)
class CheckRequest:
    """What to check: an uploaded file (on disk until the response is sent) or a stored layer.

    Messages name an uploaded file by the name the client sent (:attr:`UploadedFile.filename`),
    never by the server's temporary copy.
    """

    layer: CheckLayerIn | None = None
    file: UploadedFile | None = None
    parent: UploadedFile | None = None
    crs: str | None = None
    gap_width_m: float = 20.0


class DefectOut(BaseModel):
    kind: str
    ids: list[str]
    area_m2: float | None
    width_m: float | None
    parent: str | None
    geometry: dict[str, Any] | None


class CheckOut(BaseModel):
    """A check's summary ``{features, valid, <kind>: count}`` and its defects (GeoJSON)."""

    layer: str | None = None
    district_code: str | None = None
    generation: int | None = None
    generation_status: str | None = None
    source: str | None = None
    checked_at: datetime | None = None
    cached: bool = False
    params: dict[str, Any]
    summary: dict[str, Any]
    defects: list[DefectOut]


class MergeIn(BaseModel):
    layers: list[str] = Field(default_factory=lambda: list(DEPARTMENT_LAYERS), min_length=1)
    as_draft: bool = False
    share_threshold: float = Field(0.9, gt=0, le=1)
    deviation_m: float = Field(10.0, gt=0)


class ConformanceOut(BaseModel):
    kind: str
    layer: str
    codes: list[str]
    value: float
    detail: str


class ProposedOut(BaseModel):
    grids: int
    households: int
    check: dict[str, Any] | None


class MergeOut(BaseModel):
    merge_id: int
    district_code: str
    base: str
    base_generation: int
    departments: dict[str, int]
    crosswalk: int
    conformance: dict[str, int]
    conformance_rows: list[ConformanceOut]
    proposed: ProposedOut
    draft_generation: int | None


class CrosswalkRowOut(BaseModel):
    layer: str
    dept_generation: int
    dept_code: str
    overlap_m2: float
    share_of_unified: float
    share_of_dept: float


class CrosswalkOut(BaseModel):
    code: str
    generation: int
    merged_at: datetime | None
    covered: dict[str, float]
    data: list[CrosswalkRowOut]
    count: int
