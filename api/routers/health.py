"""``GET /health``: is the database reachable, which PostGIS, how many grids per layer.

While the database is down the route still answers, at once: 503 with ``status: "degraded"`` and
``database: "unreachable"`` (a load balancer takes the node out; a human reads why), and ``ok``
again as soon as the server is back: the pooled engine reconnects by itself (pre-ping), so the API
is never restarted for it. Connecting gives up after the engine's connect timeout (2 s).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api import schemas
from api.guard import GuardedRoute
from geo_grid.errors import DatabaseUnavailable
from geo_grid.services import database, index
from geo_grid.services.database import error_line

router = APIRouter(tags=["health"], route_class=GuardedRoute)


@router.get(
    "/health",
    response_model=schemas.Health,
    responses={503: {"model": schemas.Health, "description": "the database is unreachable"}},
)
def health() -> Any:
    """Is the service up: database, PostGIS, grids per layer, warm caches.

    Answers at once even while the database is down: 503 with ``status: "degraded"`` and the
    driver's reason, then ``ok`` again as soon as the server is back (no restart). No credentials."""
    try:
        info = database.health()
    except DatabaseUnavailable as exc:
        body = schemas.Health(
            status="degraded",
            database="unreachable",
            postgis=None,
            schema_revision=None,
            grids={},
            warm=index.ready(),
            error=error_line(exc),
        )
        return JSONResponse(body.model_dump(), status_code=503)
    return schemas.Health(
        status=info["status"],
        database=info["database"],
        postgis=info["postgis"],
        schema_revision=info["schema"],
        grids=info["grids"],
        districts=info["districts"],
        warm=index.ready(),
    )
