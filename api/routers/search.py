"""Search everywhere: ``GET /api/v1/search`` finds streets, communities, roads, 小区, villages,
grids and door plates by what a person types (:func:`geo_grid.services.places.search`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ReadableDistricts
from api.guard import GuardedRoute
from api.schemas import SearchOut
from geo_grid.services import places

router = APIRouter(prefix="/api/v1", tags=["geocoding"], route_class=GuardedRoute)


@router.get("/search", response_model=SearchOut)
def search(
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            description="What to find",
            examples=["咏梅社区", "乐城路", "990101001001001", "乐城路12号"],
        ),
    ],
    districts: ReadableDistricts,
    limit: Annotated[int, Query(ge=1, le=places.MAX_HITS)] = 10,
    crs: Annotated[str, Query(description="wgs84 | cgcs2000 | gcj02: of the answer's points")] = (
        "wgs84"
    ),
) -> Any:
    """Find places by name or code: streets, communities, roads, 小区, villages, grids, door plates.

    In the caller's districts (or ``district``). Typed hits, best first, each with its match
    level, confidence, a point inside it, its extent and outline, and the people on duty in the
    grid that answers for it (names and roles; no phones)."""  # fmt: skip
    data = places.search(q, districts=districts, limit=limit, crs=crs)
    return {"query": q, "data": data, "count": len(data)}
