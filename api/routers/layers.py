"""Layers and their grids as GeoJSON; new generations uploaded as layer files."""

from __future__ import annotations

import re
import tempfile
from collections.abc import AsyncGenerator
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from geojson_pydantic import FeatureCollection
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from api.auth import PrincipalDep
from api.deps import BBoxDep, OneDistrict, ReadableDistricts, SettingsDep
from api.geojson import feature_collection
from api.openapi import request_body
from geo_grid.errors import BadInput
from geo_grid.io import INVALID_POLICIES
from geo_grid.services import layers

router = APIRouter(prefix="/api/v1/layers", tags=["layers"])

LayerKey = Annotated[
    str, Path(description="Layer key, e.g. unified, politics_law", pattern=r"^[a-z][a-z0-9_]*$")
]


class LayerOut(BaseModel):
    key: str
    name_zh: str
    department: str | None
    district_code: str | None
    generation: int | None
    published_at: datetime | None
    grids: int
    households: int
    drafts: int


class LayerList(BaseModel):
    data: list[LayerOut]
    count: int


@router.get("", response_model=LayerList)
def list_layers(districts: ReadableDistricts) -> Any:
    """List the grid layers with their Chinese names and generations, per district.

    For each layer of each district (``district``, or every district of the caller's area): the
    published generation, its number of grids and the drafts waiting."""
    rows = layers.list_layers(districts)
    return LayerList(data=[LayerOut(**r) for r in rows], count=len(rows))


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
    gens, grids = layers.layer_grids(
        layer, districts=districts, generation=generation, bbox=bbox.bbox
    )
    grids = grids.drop(columns=["id"])
    one = gens[0] if len(gens) == 1 else None
    body = feature_collection(
        grids, layer=layer, generation=one and one["number"],
        generation_status=one and one["status"],
        generations={g["district_code"]: g["number"] for g in gens},
    )  # fmt: skip
    return JSONResponse(body, media_type="application/geo+json")


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
#: Room for the form's text fields and multipart framing on top of the file's own limit.
_FORM_SLACK = 256 * 1024


class ImportOut(BaseModel):
    layer: str
    district_code: str
    generation: int
    generation_id: int
    status: str
    grids: int


class _TooLarge(Exception):
    """The request body passed the byte cap while it was being read."""


def _too_large(limit: int) -> JSONResponse:
    message = f"file: the upload is larger than the {limit / 1048576:.1f} MiB limit ({limit} bytes)"
    return JSONResponse({"error": {"message": message, "field": "file"}}, status_code=413)


async def _capped(stream: AsyncGenerator[bytes, None], cap: int) -> AsyncGenerator[bytes, None]:
    """The request body, stopped the moment it passes ``cap`` bytes (a lying or absent
    Content-Length cannot make the server spool more than that)."""
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > cap:
            raise _TooLarge
        yield chunk


def _client_name(upload: UploadFile) -> str:
    """The client's file name without folders, one line, for messages and the generation."""
    name = re.split(r"[\\/]", upload.filename or "")[-1]
    name = " ".join(name.split())[:120]
    return name or "upload"


def _suffix(name: str) -> str:
    """The extension the reader picks the format by; anything odd becomes ``.bin`` (refused)."""
    suffix = FilePath(name).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,10}", suffix) else ".bin"


def _options(form: Any) -> dict[str, Any]:
    unknown = sorted({key for key in form if key not in (*UPLOAD_FIELDS, "file")})
    if unknown:
        raise BadInput(
            f"{unknown[0]}: unknown form field (allowed: file, {', '.join(UPLOAD_FIELDS)})",
            field=unknown[0],
        )
    options: dict[str, Any] = {}
    for key in UPLOAD_FIELDS:
        value = form.get(key)
        if isinstance(value, UploadFile):
            raise BadInput(f"{key}: must be text, not a file", field=key)
        value = value.strip() if isinstance(value, str) else None
        if value and "\x00" in value:  # the app-wide NUL guard leaves multipart bodies alone
            raise BadInput(f"{key}: must not contain a NUL character", field=key)
        if key == "invalid":
            value = value or "refuse"
            if value not in INVALID_POLICIES:
                raise BadInput(
                    f"invalid: one of {', '.join(INVALID_POLICIES)}, not {value!r}", field="invalid"
                )
            options[key] = value
        else:
            options[key] = value or None
    return options


async def _spool(upload: UploadFile, target: FilePath, limit: int) -> bool:
    """Copy the uploaded file to ``target``; False as soon as it passes ``limit`` bytes."""
    written = 0
    with target.open("wb") as out:
        while chunk := await upload.read(1024 * 1024):
            written += len(chunk)
            if written > limit:
                return False
            out.write(chunk)
    return True


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
    response_model=ImportOut,
    openapi_extra=_UPLOAD_BODY,
    responses={413: {"description": "The file is over ``upload_max_bytes``"}},
)
async def import_upload(
    layer: LayerKey,
    request: Request,
    settings: SettingsDep,
    principal: PrincipalDep,
    district: OneDistrict,
) -> Any:
    """Store an uploaded layer file as a new draft generation of the layer in ``district`` (the
    caller's when they have one), what ``geo-grid import`` does.

    The body is read with a byte cap, never trusted to its Content-Length; the file lands in a
    private temporary folder under a fixed name and goes through the same service as the CLI, so
    every limit and check (size, features, zip bombs, encodings, axis order, validity) is one
    implementation. Bad input answers 4xx with the field named and stores nothing.
    """
    limit = settings.upload_max_bytes
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise BadInput(
            "file: send the layer as multipart/form-data with a 'file' part", field="file"
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _FORM_SLACK:
        return _too_large(limit)
    parser = MultiPartParser(
        request.headers,
        _capped(request.stream(), limit + _FORM_SLACK),
        max_files=1,
        max_fields=len(UPLOAD_FIELDS),
        max_part_size=64 * 1024,
    )
    try:
        form = await parser.parse()
    except _TooLarge:
        return _too_large(limit)
    except MultiPartException as exc:
        raise BadInput(f"file: unreadable form: {exc.message}", field="file") from exc
    with tempfile.TemporaryDirectory(prefix="geo_grid_upload_") as tmp:
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise BadInput(
                    "file: no file in the form (send it as the 'file' part)", field="file"
                )
            options = _options(form)
            name = _client_name(upload)
            target = FilePath(tmp) / f"upload{_suffix(name)}"
            if not await _spool(upload, target, limit):
                return _too_large(limit)
        finally:
            await form.close()
        try:
            return await run_in_threadpool(
                layers.import_layer,
                target,
                layer=layer,
                district=district.code,
                label=name,
                author=principal.label,
                **options,
            )
        except BadInput as exc:  # the reader names the file "path"; here it is the form's "file"
            if exc.field != "path":
                raise
            raise BadInput(exc.message, field="file") from exc
