"""The districts the store serves that the caller may read: their profiles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api import schemas
from api.auth import PrincipalDep
from api.guard import GuardedRoute
from geo_grid.services import districts

router = APIRouter(prefix="/api/v1/districts", tags=["districts"], route_class=GuardedRoute)


@router.get("", response_model=schemas.DistrictList)
def list_districts(principal: PrincipalDep) -> Any:
    """The districts the store serves in the caller's area, with their profiles.

    Code, names and short forms, local CRS (its CGCS2000 Gauss-Krüger zone), bounds and map
    centre (EPSG:4490), and its own time zone, household band and indicator thresholds (null: the
    store's defaults)."""
    rows = districts.list_districts(principal)
    return {"data": rows, "count": len(rows)}
