"""One grid by code, with its community, street and roster (phones masked)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.deps import ReadableDistricts
from api.geojson import geometry
from api.guard import GuardedRoute
from geo_grid.services import layers

router = APIRouter(prefix="/api/v1/grids", tags=["grids"], route_class=GuardedRoute)


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


@router.get("/{code}", response_model=GridOut)
def get_grid(
    code: Annotated[str, Path(pattern=r"^[^\x00-\x1f\x7f]{1,128}$", description="Grid code")],
    districts: ReadableDistricts,
    layer: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z][a-z0-9_]*$", description="Layer key when the code is a department's"
        ),
    ] = None,
    generation: Annotated[int | None, Query(ge=1)] = None,
) -> Any:
    """One grid by code: its outline, community, street, district, households and roster.

    Phone numbers of the roster are masked. ``layer`` picks a department layer when the code is one
    of its grids (``district`` when its code exists in several districts); ``generation`` reads an
    older or draft generation. Only grids of the caller's districts are found."""
    grid = layers.get_grid(code, layer=layer, generation=generation, districts=districts)
    grid["geometry"] = geometry(grid["geometry"])
    return grid
