"""One grid by code, with its community, street and roster (phones masked)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api import schemas
from api.deps import ReadableDistricts
from api.geojson import geometry
from api.guard import GuardedRoute
from geo_grid.services import layers

router = APIRouter(prefix="/api/v1/grids", tags=["grids"], route_class=GuardedRoute)


@router.get("/{code}", response_model=schemas.GridOut)
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
