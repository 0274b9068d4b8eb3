"""Layers and their grids as GeoJSON; new generations uploaded as layer files."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from geojson_pydantic import FeatureCollection
from pydantic import BaseModel

from api import workers
from api.auth import PrincipalDep
from api.deps import BBoxDep
from api.geojson import GeoJSONResponse, feature_collection
from api.guard import GuardedRoute
from api.openapi import request_body
from api.serialize import plain_json_bytes
from api.uploads import UploadDep, UploadForm
from geo_grid.errors import BadInput
from geo_grid.io import INVALID_POLICIES
from geo_grid.services import layers

router = APIRouter(prefix="/api/v1/layers", tags=["layers"], route_class=GuardedRoute)

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
    """List the grid layers with their Chinese names and generations.

    For each layer: the published generation, its number of grids and the drafts waiting."""
    rows = layers.list_layers()
    return LayerList(data=[LayerOut(**r) for r in rows], count=len(rows))


@router.get("/{layer}/grids", response_model=FeatureCollection, response_class=GeoJSONResponse)
def layer_grids(
    layer: LayerKey,
    bbox: BBoxDep,
    generation: Annotated[
        int | None, Query(ge=1, description="Generation number (default: published)")
    ] = None,
) -> Any:
    """The grids of a layer as GeoJSON (EPSG:4490), optionally in a bounding box.

    The published generation unless ``generation`` names another one; properties carry code, name,
    community, street and households."""
    # a layer may hold a million vertices: read and written to JSON in a worker process (one
    # json.dumps of it held the GIL, so every other request, for a second and more)
    body = workers.run(_grids_geojson, layer, generation, bbox.bbox)
    return Response(body, media_type=GeoJSONResponse.media_type)


def _grids_geojson(
    layer: str, generation: int | None, bbox: tuple[float, float, float, float] | None
) -> bytes:
    """The grids of a layer's generation as GeoJSON, written (in a worker process)."""
    gen, grids = layers.layer_grids(layer, generation=generation, bbox=bbox)
    body = feature_collection(
        grids.drop(columns=["id"]),
        layer=layer,
        generation=gen["number"],
        generation_status=gen["status"],
    )
    return plain_json_bytes(body)


# ------------------------------------------------------------------------------------ uploads
#: Text fields an upload may carry besides ``file``: the CLI import's options.
UPLOAD_FIELDS: tuple[str, ...] = (
    "crs",
    "encoding",
    "code_field",
    "name_field",
    "households_field",
    "note",
    "invalid",
)


class ImportOut(BaseModel):
    layer: str
    generation: int
    generation_id: int
    status: str
    grids: int


def _options(form: UploadForm) -> dict[str, Any]:
    unknown = sorted(form.names() - {"file", *UPLOAD_FIELDS})
    if unknown:
        raise BadInput(
            f"{unknown[0]}: unknown form field (allowed: file, {', '.join(UPLOAD_FIELDS)})",
            field=unknown[0],
        )
    options: dict[str, Any] = {key: form.text(key) for key in UPLOAD_FIELDS}
    options["invalid"] = options["invalid"] or "refuse"
    if options["invalid"] not in INVALID_POLICIES:
        raise BadInput(
            f"invalid: one of {', '.join(INVALID_POLICIES)}, not {options['invalid']!r}",
            field="invalid",
        )
    return options


_UPLOAD_BODY = request_body(
    {
        "file": {
            "type": "string",
            "format": "binary",
            "description": ".gpkg, .geojson/.json, .zip (one shapefile with "
            ".shp/.shx/.dbf/.prj/.cpg) or .csv with a WKT column",
        },
        "crs": {"type": "string", "description": "4490|4326|gcj02|bd09|EPSG:n"},
        "encoding": {"type": "string", "description": "e.g. gbk"},
        "code_field": {"type": "string"},
        "name_field": {"type": "string"},
        "households_field": {"type": "string"},
        "note": {"type": "string"},
        "invalid": {
            "type": "string",
            "enum": ["refuse", "make_valid", "keep"],
            "default": "refuse",
            "description": "invalid polygons: refuse the file, repair them, or "
            "keep them for the coverage checks (department layers only)",
        },
    }
)


@router.post(
    "/{layer}/imports", status_code=201, response_model=ImportOut, openapi_extra=_UPLOAD_BODY
)
def import_upload(layer: LayerKey, form: UploadDep, principal: PrincipalDep) -> Any:
    """Store an uploaded layer file as a new draft generation (what ``geo-grid import`` does).

    The file arrives through :mod:`api.uploads` (on disk, 413 over ``upload_max_bytes``) and
    goes through the same service as the CLI (in a worker process, :mod:`api.workers`), so every
    limit and check (size, features,
    vertices, zip bombs, encodings, axis order, validity) is one implementation. Bad input
    answers 4xx with the field named and stores nothing.
    """
    if form is None:
        raise BadInput(
            "file: send the layer as multipart/form-data with a 'file' part", field="file"
        )
    options = _options(form)
    upload = form.file("file")
    try:  # reading, checking and storing thousands of grids: in a worker process
        return workers.run(
            layers.import_layer,
            upload.path,
            layer=layer,
            label=upload.filename,
            author=principal.label,
            **options,
        )
    except BadInput as exc:  # the reader names the file "path"; here it is the form's "file"
        if exc.field != "path":
            raise
        raise BadInput(exc.message, field="file") from exc
