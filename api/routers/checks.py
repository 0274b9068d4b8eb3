"""Coverage checks and 多网合一 over HTTP: a thin translation onto :mod:`geo_grid.services.checks`,
whose work runs in the API's worker processes (:mod:`api.workers`): it is seconds of pandas and
GEOS that would otherwise hold the GIL against every other request.

``POST /api/v1/checks`` takes either a multipart upload (``file``, optional ``parent``, form
fields ``crs`` and ``gap_width_m``: checked in the request) or JSON ``{"layer", "generation"}``
(a stored layer: a job, :mod:`api.routers.jobs`, as is ``POST /api/v1/merge``); the
``check_request`` dependency turns both into one typed :class:`api.schemas.CheckRequest` so the
route body parses nothing. Stored checks are read back by ``GET /api/v1/layers/{layer}/checks``
without
recomputing; the merge's crosswalk is served per unified grid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError

from api import schemas, workers
from api.auth import PrincipalDep
from api.deps import DistrictQuery, OneDistrict, ReadableDistricts
from api.guard import GuardedRoute
from api.openapi import request_body
from api.params import LayerKey
from api.routers.jobs import ACCEPTED
from api.routers.jobs import submit as submit_job
from api.uploads import UploadDep
from geo_grid.errors import BadInput, NotFound
from geo_grid.services import checks

router = APIRouter(prefix="/api/v1", tags=["checks"], route_class=GuardedRoute)


async def check_request(request: Request, form: UploadDep) -> schemas.CheckRequest:
    """Parse ``POST /api/v1/checks`` once, whichever body it came with."""
    if form is not None:
        try:
            gap = float(form.text("gap_width_m") or 20.0)
        except ValueError as exc:
            raise BadInput("gap_width_m: not a number", field="gap_width_m") from exc
        return schemas.CheckRequest(
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
        body = schemas.CheckLayerIn.model_validate(await request.json())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise BadInput(f"{where}: {first['msg']}", field=where) from exc
    except ValueError as exc:
        raise BadInput("body: not valid JSON", field="body") from exc
    return schemas.CheckRequest(layer=body)


_CHECK_BODY = request_body(
    {
        "file": {"type": "string", "format": "binary"},
        "parent": {"type": "string", "format": "binary"},
        "crs": {"type": "string", "example": "gcj02"},
        "gap_width_m": {"type": "number", "default": 20},
    },
    json={"schema": schemas.CheckLayerIn.model_json_schema()},
)


@router.post(
    "/checks", response_model=schemas.CheckOut, openapi_extra=_CHECK_BODY, responses=ACCEPTED
)
def post_check(
    req: Annotated[schemas.CheckRequest, Depends(check_request)], principal: PrincipalDep,
    district: DistrictQuery = None,
) -> Any:  # fmt: skip
    """Check a layer's coverage: an uploaded file (answered at once) or a stored layer (a job).

    Overlaps, gaps, slivers, nesting and invalid geometry with their polygons. An uploaded file is
    checked in the request (200, nothing stored: uploads are held to the upload limits). A stored
    layer (of ``district``, or the caller's one) is checked as a job: 202 with the job, whose
    result is this answer once done; the check is kept and reused for that generation."""
    if req.layer is not None:
        params = req.layer.model_dump()
        return submit_job("check_layer", {**params, "district": district}, principal)
    file, parent = req.file, req.parent
    assert file is not None  # check_request gives a layer or a file
    try:
        return workers.run_json(
            schemas.CheckOut,
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


@router.get("/layers/{layer}/checks", response_model=schemas.CheckOut)
def layer_checks(
    layer: LayerKey,
    district: OneDistrict,
    generation: Annotated[
        int | None, Query(ge=1, description="Generation number (default: published)")
    ] = None,
) -> Any:
    """The latest stored coverage check of a layer's generation in ``district`` (the caller's
    when they have one).

    Computed and stored once if the generation has none."""
    return workers.run_json(
        schemas.CheckOut, checks.latest_check, layer, district=district.code, generation=generation
    )


@router.post("/merge", status_code=202, response_model=schemas.JobOut, responses=ACCEPTED)
def post_merge(body: schemas.MergeIn, district: OneDistrict, principal: PrincipalDep) -> Any:
    """多网合一 as a job: relate the department layers to the unified layer of ``district`` (the
    caller's when they have one) and propose one layer.

    Answers 202 with the job (``Location: /api/v1/jobs/{id}``) once the layers are found; the
    job's result (a :class:`~api.schemas.MergeOut`) reports where the department grids do not
    conform, the crosswalk is stored and, with ``as_draft``, the proposed unified layer as a
    draft; the caller's account is recorded as its author."""
    return submit_job("merge", {**body.model_dump(), "district": district.code}, principal)


@router.get("/grids/{code}/crosswalk", response_model=schemas.CrosswalkOut)
def grid_crosswalk(
    code: str,
    districts: ReadableDistricts,
    generation: Annotated[
        int | None, Query(ge=1, description="Unified generation (default: published)")
    ] = None,
) -> Any:
    """Each department grid a unified grid overlaps, with the share of area both ways.

    From the crosswalk stored by the last merge of the grid's district (one of the caller's)."""
    if code[:6] not in districts:
        raise NotFound(f"code: no grid {code!r} in your districts", field="code")
    return checks.crosswalk_for(code, generation=generation)
