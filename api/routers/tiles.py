"""Vector tiles (Mapbox Vector Tile, protobuf) of published layers, built by PostGIS.

``/tiles/{layer}/{z}/{x}/{y}.pbf``: ``layer`` is a layer key (its published generation's grids,
tile layer ``grids``) or ``buildings``. Tiles of a published generation never change, so they carry
an ``ETag`` naming the content; but the URL names the layer, not the generation, so a publish
changes what it serves: browsers keep a tile for five minutes, then revalidate (a cheap 304 when the
ETag still matches). Map pages use tiles for layers too big to inline (see docs/maps.md).
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from api.deps import ReadableDistricts
from api.guard import GuardedRoute
from geo_grid.services import maps

router = APIRouter(prefix="/tiles", tags=["maps"], route_class=GuardedRoute)

MVT = "application/vnd.mapbox-vector-tile"
MAX_AGE = 300


@router.get(
    "/{layer}/{z}/{x}/{y}.pbf",
    response_class=Response,
    responses={200: {"content": {MVT: {}}, "description": "One vector tile (may be empty)"}},
)
def vector_tile(
    request: Request,
    layer: Annotated[str, Path(pattern="^[a-z][a-z0-9_]*$")],
    z: Annotated[int, Path(ge=0, le=22)],
    x: Annotated[int, Path(ge=0)],
    y: Annotated[int, Path(ge=0)],
    districts: ReadableDistricts,
) -> Response:
    """One Mapbox vector tile of a published layer or of the buildings, made by PostGIS.

    Of the caller's districts (or ``district``). Tile layer ``grids`` (code, name, households) or
    ``buildings``; an ``ETag`` names the content, so a repeated request answers 304 until a
    publish changes the tile. An empty tile is a 200 with no body."""
    data = maps.tile(layer, z, x, y, districts=districts)
    etag = '"' + hashlib.sha1(data).hexdigest()[:20] + '"'  # noqa: S324 (a content tag)
    headers = {"Cache-Control": f"public, max-age={MAX_AGE}", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(content=data, media_type=MVT, headers=headers)
