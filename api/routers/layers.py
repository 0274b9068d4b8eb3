"""Layers and their grids as GeoJSON; new generations uploaded as layer files."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from geojson_pydantic import FeatureCollection

from api import schemas, workers
from api.auth import PrincipalDep
from api.deps import BBoxDep, OneDistrict, ReadableDistricts
from api.geojson import feature_collection
from api.guard import GuardedRoute
from api.openapi import request_body
from api.params import LayerKey
from api.routers.jobs import ACCEPTED
from api.routers.jobs import submit as submit_job
from api.serialize import plain_json_bytes
from api.uploads import UploadDep, UploadForm
from geo_grid.errors import BadInput
from geo_grid.io import INVALID_POLICIES
from geo_grid.services import layers

router = APIRouter(prefix="/api/v1/layers", tags=["layers"], route_class=GuardedRoute)


@router.get("", response_model=schemas.LayerList)
def list_layers(districts: ReadableDistricts) -> Any:
    """List the grid layers with their Chinese names and generations, per district.

    For each layer of each district (``district``, or every district of the caller's area): the
    published generation, its number of grids and the drafts waiting."""
    rows = layers.list_layers(districts)
    return schemas.LayerList(data=[schemas.LayerOut(**r) for r in rows], count=len(rows))


@router.get("/{layer}/grids", response_model=FeatureCollection)
def layer_grids(
    layer: LayerKey,
    bbox: BBoxDep,
    districts: ReadableDistricts,
    generation: Annotated[
        int | None,
        Query(ge=1, description="Generation number in the one district named (default: published)"),
    ] = None,
) -> Any:
    """The grids of a layer as GeoJSON (EPSG:4490), optionally in a bounding box.

    The published generation of each district of the caller's area (or of ``district``) unless
    ``generation`` names another one of the district named; properties carry code, name,
    community, street, district and households; ``generations`` gives each district's number."""
    # a layer may hold a million vertices: read and written to JSON in a worker process (one
    # json.dumps of it held the GIL, so every other request, for a second and more)
    body = workers.run(_grids_geojson, layer, list(districts), generation, bbox.bbox)
    return Response(body, media_type="application/geo+json")


def _grids_geojson(
    layer: str,
    districts: list[str],
    generation: int | None,
    bbox: tuple[float, float, float, float] | None,
) -> bytes:
    """The grids of a layer's generation(s) as GeoJSON, written (in a worker process)."""
    gens, grids = layers.layer_grids(layer, districts=districts, generation=generation, bbox=bbox)
    one = gens[0] if len(gens) == 1 else None
    body = feature_collection(
        grids.drop(columns=["id"]), layer=layer, generation=one and one["number"],
        generation_status=one and one["status"],
        generations={g["district_code"]: g["number"] for g in gens},
    )  # fmt: skip
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
    "/{layer}/imports",
    status_code=201,
    response_model=schemas.ImportOut,
    openapi_extra=_UPLOAD_BODY,
)
def import_upload(
    layer: LayerKey, form: UploadDep, principal: PrincipalDep, district: OneDistrict
) -> Any:
    """Store an uploaded layer file as a new draft generation of the layer in ``district`` (the
    caller's when they have one), what ``geo-grid import`` does.

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
            district=district.code,
            label=upload.filename,
            author=principal.label,
            **options,
        )
    except BadInput as exc:  # the reader names the file "path"; here it is the form's "file"
        if exc.field != "path":
            raise
        raise BadInput(exc.message, field="file") from exc


# ------------------------------------------------------------------- long work on a layer
@router.post("/{layer}/fixes", status_code=202, response_model=schemas.JobOut, responses=ACCEPTED)
def fix_layer(
    layer: LayerKey, body: schemas.FixIn, principal: PrincipalDep, district: OneDistrict
) -> Any:
    """Fix a stored generation of the layer in ``district`` into a new draft generation, as a job
    (``geo-grid fix --layer … --as-draft``).

    Overlaps go to a neighbour, gaps and slivers are filled, grids are clipped to their community;
    the draft gets its own stored check. 202 with the job once the generation is found; its
    result names the draft generation and the changes."""
    params = {**body.model_dump(), "layer": layer, "district": district.code, "as_draft": True}
    return submit_job("fix_layer", params, principal)


@router.post("/{layer}/exports", status_code=202, response_model=schemas.JobOut, responses=ACCEPTED)
def export_layer(
    layer: LayerKey, body: schemas.ExportIn, principal: PrincipalDep, district: OneDistrict
) -> Any:
    """Write a stored generation of the layer in ``district`` to a file, as a job
    (``geo-grid export``).

    GeoPackage (EPSG:4490, opens in QGIS), GeoJSON, zipped shapefile or CSV with WKT. 202 with the
    job; once done, ``GET /api/v1/jobs/{id}/file`` downloads the file."""
    params = {**body.model_dump(), "layer": layer, "district": district.code}
    return submit_job("export_layer", params, principal)
