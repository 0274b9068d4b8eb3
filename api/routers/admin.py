"""Admin areas (district 区, street 街道, community 社区) as GeoJSON."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from geojson_pydantic import FeatureCollection

from api.deps import ReadableDistricts
from api.geojson import GeoJSONResponse, feature_collection
from api.guard import GuardedRoute
from geo_grid.services import layers

router = APIRouter(prefix="/api/v1/admin-areas", tags=["admin areas"], route_class=GuardedRoute)


@router.get("", response_model=FeatureCollection, response_class=GeoJSONResponse)
def admin_areas(
    districts: ReadableDistricts,
    level: Annotated[Literal["district", "street", "community"] | None, Query()] = None,
    parent: Annotated[str | None, Query(pattern=r"^[0-9]{6,12}$")] = None,
) -> Any:
    """Admin areas (district 区, street 街道, community 社区) as GeoJSON.

    Those of ``district`` (or of every district of the caller's area); filter by ``level`` and by
    ``parent`` code (a street's communities, the district's streets)."""
    areas = layers.admin_areas(level, parent, districts)
    return GeoJSONResponse(feature_collection(areas, precision=6))
