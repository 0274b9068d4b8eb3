"""Coverage checks and 多网合一 over HTTP: a thin translation onto :mod:`geo_grid.services.checks`,
whose work runs in the API's worker processes (:mod:`api.workers`): it is seconds of pandas and
GEOS that would otherwise hold the GIL against every other request.

``POST /api/v1/checks`` takes either a multipart upload (``file``, optional ``parent``, form
fields ``crs`` and ``gap_width_m``) or JSON ``{"layer", "generation"}``; the
``check_request`` dependency turns both into one typed :class:`CheckRequest` so the route body
parses nothing. Stored checks are read back by ``GET /api/v1/layers/{layer}/checks`` without
recomputing; the merge's crosswalk is served per unified grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field, ValidationError

from api import workers
from api.deps import JsonBody, PositiveInteger
from api.guard import GuardedRoute
from api.openapi import request_body
from api.uploads import UploadDep, UploadedFile
from geo_grid.errors import BadInput
from geo_grid.services import checks

router = APIRouter(prefix="/api/v1", tags=["checks"], route_class=GuardedRoute)

LayerKey = Annotated[str, PathParam(pattern=r"^[a-z][a-z0-9_]*$", description="Layer key")]


class CheckLayerIn(JsonBody):
    """Check a stored layer (JSON body of ``POST /api/v1/checks``)."""

    layer: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    generation: PositiveInteger | None = Field(
        None, description="Default: the published generation."
    )
    gap_width_m: float = Field(20.0, gt=0)
    refresh: bool = False


class DefectOut(BaseModel):
    kind: str
    ids: list[str]
    area_m2: float | None
    width_m: float | None
    parent: str | None
    geometry: dict[str, Any] | None


class CheckOut(BaseModel):
    """A check's summary ``{features, valid, <kind>: count}`` and its defects (GeoJSON)."""

    layer: str | None = None
    generation: int | None = None
    generation_status: str | None = None
    source: str | None = None
    checked_at: datetime | None = None
    cached: bool = False
    params: dict[str, Any]
    summary: dict[str, Any]
    defects: list[DefectOut]


class MergeIn(JsonBody):
    layers: list[str] = Field(default_factory=lambda: list(checks.DEPARTMENT_LAYERS), min_length=1)
    as_draft: bool = False
    share_threshold: float = Field(0.9, gt=0, le=1)
    deviation_m: float = Field(10.0, gt=0)


class ConformanceOut(BaseModel):
    kind: str
    layer: str
    codes: list[str]
    value: float
    detail: str


class ProposedOut(BaseModel):
    grids: int
    households: int
    check: dict[str, Any] | None


class MergeOut(BaseModel):
    merge_id: int
    base: str
    base_generation: int
    departments: dict[str, int]
    crosswalk: int
    conformance: dict[str, int]
    conformance_rows: list[ConformanceOut]
    proposed: ProposedOut
    draft_generation: int | None


class CrosswalkRowOut(BaseModel):
    layer: str
    dept_generation: int
    dept_code: str
    overlap_m2: float
    share_of_unified: float
    share_of_dept: float


class CrosswalkOut(BaseModel):
    code: str
    generation: int
    merged_at: datetime | None
    covered: dict[str, float]
    data: list[CrosswalkRowOut]
    count: int


@dataclass(frozen=True)
class CheckRequest:
    """What to check: an uploaded file (on disk until the response is sent) or a stored layer.

    Messages name an uploaded file by the name the client sent (:attr:`UploadedFile.filename`),
    never by the server's temporary copy.
    """

    layer: CheckLayerIn | None = None
    file: UploadedFile | None = None
    parent: UploadedFile | None = None
    crs: str | None = None
    gap_width_m: float = 20.0


async def check_request(request: Request, form: UploadDep) -> CheckRequest:
    """Parse ``POST /api/v1/checks`` once, whichever body it came with."""
    if form is not None:
        try:
            gap = float(form.text("gap_width_m") or 20.0)
        except ValueError as exc:
            raise BadInput("gap_width_m: not a number", field="gap_width_m") from exc
        return CheckRequest(
            file=form.file("file"),
            parent=form.file("parent", required=False),
            crs=form.text("crs"),
            gap_width_m=gap,
        )
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise BadInput(
            "body: send multipart/form-data with a file, or JSON {layer, generation}",
            field="body",
        )
    try:
        body = CheckLayerIn.model_validate(await request.json())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise BadInput(f"{where}: {first['msg']}", field=where) from exc
    except ValueError as exc:
        raise BadInput("body: not valid JSON", field="body") from exc
    return CheckRequest(layer=body)


_CHECK_BODY = request_body(
    {
        "file": {"type": "string", "format": "binary"},
        "parent": {"type": "string", "format": "binary"},
        "crs": {"type": "string", "example": "gcj02"},
        "gap_width_m": {"type": "number", "default": 20},
    },
    json={"schema": CheckLayerIn.model_json_schema()},
)


@router.post("/checks", response_model=CheckOut, openapi_extra=_CHECK_BODY)
def post_check(req: Annotated[CheckRequest, Depends(check_request)]) -> Any:
    """Check a layer's coverage: an uploaded file (nothing stored) or a stored layer.

    Overlaps, gaps, slivers, nesting and invalid geometry with their polygons; a stored layer's check
    is kept and reused for that generation."""
    if req.layer is not None:
        return workers.run_json(
            CheckOut,
            checks.check_layer,
            req.layer.layer,
            generation=req.layer.generation,
            gap_width_m=req.layer.gap_width_m,
            refresh=req.layer.refresh,
        )
    file, parent = req.file, req.parent
    assert file is not None  # check_request gives a layer or a file
    try:
        return workers.run_json(
            CheckOut,
            _file_check,
            file.path,
            parent=parent.path if parent else None,
            crs=req.crs,
            gap_width_m=req.gap_width_m,
            labels=(file.filename, parent.filename if parent else None),
        )
    except BadInput as exc:  # the reader names the file "path"; here it is the form's "file"
        if exc.field != "path":
            raise
        raise BadInput(exc.message, field="file") from exc


def _file_check(path: Path, *, labels: tuple[str, str | None], **options: Any) -> dict[str, Any]:
    """A file's check as the answer (in a worker process)."""
    report = checks.check_file(path, labels=labels, **options)
    return {"source": labels[0], "params": report.params, **report.to_json()}


@router.get("/layers/{layer}/checks", response_model=CheckOut)
def layer_checks(
    layer: LayerKey,
    generation: Annotated[
        int | None, Query(ge=1, description="Generation number (default: published)")
    ] = None,
) -> Any:
    """The latest stored coverage check of a layer's generation.

    Computed and stored once if the generation has none."""
    return workers.run_json(CheckOut, checks.latest_check, layer, generation=generation)


@router.post("/merge", response_model=MergeOut)
def post_merge(body: MergeIn) -> Any:
    """多网合一: relate the department layers to the unified layer and propose one layer.

    Reports where the department grids do not conform, stores the crosswalk and, with ``as_draft``,
    stores the proposed unified layer as a draft."""
    return workers.run_json(
        MergeOut,
        checks.merge,
        body.layers,
        as_draft=body.as_draft,
        share_threshold=body.share_threshold,
        deviation_m=body.deviation_m,
        author="api",
    )


@router.get("/grids/{code}/crosswalk", response_model=CrosswalkOut)
def grid_crosswalk(
    code: str,
    generation: Annotated[
        int | None, Query(ge=1, description="Unified generation (default: published)")
    ] = None,
) -> Any:
    """Each department grid a unified grid overlaps, with the share of area both ways.

    From the crosswalk stored by the last merge."""
    return checks.crosswalk_for(code, generation=generation)
