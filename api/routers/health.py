"""``GET /health``: is the database reachable, which PostGIS, how many grids per layer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from geo_grid.services import database, index

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str
    postgis: str
    schema_revision: str | None
    grids: dict[str, int]
    warm: bool  # the locate index and geocoder are built (the first lookups will not wait)


@router.get("/health", response_model=Health)
def health() -> Any:
    info = database.health()
    return Health(
        status=info["status"],
        database=info["database"],
        postgis=info["postgis"],
        schema_revision=info["schema"],
        grids=info["grids"],
        warm=index.ready(),
    )
