"""Layers and their grids as GeoJSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from geojson_pydantic import FeatureCollection
from pydantic import BaseModel

from api.deps import BBoxDep
from api.geojson import feature_collection
from geo_grid.services import layers

router = APIRouter(prefix="/api/v1/layers", tags=["layers"])

LayerKey = Annotated[
    str, Path(description="Layer key, e.g. unified, politics_law", pattern=r"^[a-z][a-z0-9_]*$")
]


class LayerOut(BaseModel):
    key: str
    name_zh: str
    department: str | None
    generation: int | None
    published_at: datetime | None
    grids: int
    households: int
    drafts: int


class LayerList(BaseModel):
    data: list[LayerOut]
    count: int


@router.get("", response_model=LayerList)
def list_layers() -> Any:
    rows = layers.list_layers()
    return LayerList(data=[LayerOut(**r) for r in rows], count=len(rows))


@router.get("/{layer}/grids", response_model=FeatureCollection)
def layer_grids(
    layer: LayerKey,
    bbox: BBoxDep,
    generation: Annotated[
        int | None, Query(ge=1, description="Generation number (default: published)")
    ] = None,
) -> Any:
    gen, grids = layers.layer_grids(layer, generation=generation, bbox=bbox.bbox)
    grids = grids.drop(columns=["id"])
    body = feature_collection(
        grids, layer=layer, generation=gen["number"], generation_status=gen["status"]
    )
    return JSONResponse(body, media_type="application/geo+json")
