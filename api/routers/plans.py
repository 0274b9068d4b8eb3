"""Plans: redraw grids in a draft, see each edit's impact, validate, diff and publish.

Edits, suggestions, validation, diffs and publishing are GEOS and pandas work over a community's
buildings, addresses and cases (a publish validates the whole plan): they run in the API's worker
processes (:mod:`api.workers`), their answers written to JSON there.

Every edit route takes ``?dry_run=true`` to answer with the impact without storing anything, so
the plan map (``/map/plan/{id}``) can show what a drawn line or outline would do before the
planner accepts it. Geometries are GeoJSON in lon/lat (EPSG:4490).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import FileResponse, Response
from geojson_pydantic import FeatureCollection
from pydantic import BaseModel

from api import schemas, workers
from api.auth import PrincipalDep
from api.deps import OneDistrict, ReadableDistricts
from api.geojson import GeoJSONResponse, feature_collection
from api.guard import GuardedRoute
from api.params import DryRun, GridCode, PlanId
from api.routers.jobs import ACCEPTED
from api.routers.jobs import submit as submit_job
from api.serialize import plain_json_bytes
from geo_grid import scratch
from geo_grid.access import Principal
from geo_grid.errors import BadInput
from geo_grid.services import index, plans

router = APIRouter(prefix="/api/v1/plans", tags=["plans"], route_class=GuardedRoute)
#: the diff's other format (``format=gpkg``)
GPKG = "application/geopackage+sqlite3"


def _edit(
    plan_id: int, op: str, params: dict[str, Any], principal: Principal, dry_run: bool
) -> Response:
    """Apply one edit as the caller (author and area), in a worker process, answer included."""
    return workers.run_json(schemas.EditOut, _edit_result, plan_id, op, params, principal, dry_run)


def _edit_result(
    plan_id: int, op: str, params: dict[str, Any], principal: Principal, dry_run: bool
) -> dict[str, Any]:
    """The edit applied, its grids shaped as GeoJSON (in a worker process)."""
    result = plans.edit(
        plan_id, op, params, dry_run=dry_run, author=principal.label, viewer=principal
    )
    features = [
        {"type": "Feature", "id": g["code"], "geometry": g.pop("geometry"), "properties": g}
        for g in result["grids"]
    ]
    return {**result, "grids": {"type": "FeatureCollection", "features": features}}


def _geojson(model: BaseModel, name: str) -> dict[str, Any]:
    """The unvalidated GeoJSON member ``name`` of a body (see :data:`Line`): an object, of which
    only ``type`` and ``coordinates`` go on (into the plan's log); shapely judges them."""
    value = getattr(model, name)
    if not isinstance(value, dict):
        raise BadInput(f"{name}: expected a GeoJSON geometry object", field=name)
    return {key: value[key] for key in ("type", "coordinates") if key in value}


@router.post("", response_model=schemas.PlanOut, status_code=201)
def create_plan(body: schemas.PlanCreate, principal: PrincipalDep, district: OneDistrict) -> Any:
    """Start a redrawing plan: a draft copy of a layer's published generation in ``district``
    (the caller's when they have one).

    Edits go to the copy; nothing changes for users until the plan is published."""
    return plans.create_plan(
        body.layer, district=district.code, note=body.note, author=principal.label
    )


@router.get("", response_model=schemas.PlanList)
def list_plans(
    districts: ReadableDistricts,
    layer: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]*$")] = None,
    status: Annotated[Literal["open", "published", "abandoned"] | None, Query()] = None,
) -> Any:
    """List the redrawing plans of the caller's districts (or ``district``), optionally of one
    layer and in one state.

    Each with its state (open, published, abandoned)."""
    rows = plans.list_plans(layer, districts=districts, status=status)
    return {"data": rows, "count": len(rows)}


@router.get("/{plan_id}", response_model=schemas.PlanDetail)
def get_plan(plan_id: int, principal: PrincipalDep) -> Any:
    """One plan with its edits, in order.

    Each edit records its parameters, author and impact."""
    return plans.get_plan(plan_id, viewer=principal)


@router.post("/{plan_id}/split", response_model=schemas.EditOut)
def split(
    plan_id: int, body: schemas.SplitIn, principal: PrincipalDep, dry_run: DryRun = False
) -> Any:
    """Split a grid of the plan along a line.

    Checked on the spot (still a clean coverage inside its community) or refused with the reason;
    ``dry_run=true`` shows the result and its impact without storing it."""
    params = {"grid": body.grid, "line": _geojson(body, "line")}
    return _edit(plan_id, "split", params, principal, dry_run)


@router.post("/{plan_id}/merge", response_model=schemas.EditOut)
def merge(
    plan_id: int, body: schemas.PlanMergeIn, principal: PrincipalDep, dry_run: DryRun = False
) -> Any:
    """Merge grids of the plan into one (``keep`` names the code that stays).

    Neighbouring grids of one community only; ``dry_run=true`` stores nothing."""
    params: dict[str, Any] = {"grids": body.grids}
    if body.keep:
        params["keep"] = body.keep
    return _edit(plan_id, "merge", params, principal, dry_run)


@router.post("/{plan_id}/reshape", response_model=schemas.EditOut)
def reshape(
    plan_id: int, body: schemas.ReshapeIn, principal: PrincipalDep, dry_run: DryRun = False
) -> Any:
    """Give a grid of the plan a new outline; its neighbours give or take the difference.

    Checked on the spot; ``dry_run=true`` stores nothing."""
    params = {"grid": body.grid, "geometry": _geojson(body, "geometry")}
    return _edit(plan_id, "reshape", params, principal, dry_run)


@router.post("/{plan_id}/move-buildings", response_model=schemas.EditOut)
def move_buildings(
    plan_id: int, body: schemas.MoveIn, principal: PrincipalDep, dry_run: DryRun = False
) -> Any:
    """Move buildings (and their households and addresses) into a neighbouring grid of the plan.

    The border is redrawn along the gaps around them; ``dry_run=true`` stores nothing."""
    params = {"buildings": body.buildings, "to": body.to}
    return _edit(plan_id, "move_buildings", params, principal, dry_run)


@router.post("/{plan_id}/recode", response_model=schemas.EditOut)
def recode(
    plan_id: int, body: schemas.RecodeIn, principal: PrincipalDep, dry_run: DryRun = False
) -> Any:
    """Give a grid of the plan a new code and/or name.

    The roster follows the code; a code already taken is refused; ``dry_run=true`` stores nothing."""
    params = {"grid": body.grid, "code": body.code, "name": body.name}
    return _edit(plan_id, "recode", params, principal, dry_run)


@router.post("/{plan_id}/undo", response_model=schemas.UndoOut)
def undo(plan_id: int, principal: PrincipalDep) -> Any:
    """Undo the plan's last edit: its grids go back to what they were before it.

    Appended to the edit log as an ``undo`` naming the edit (nothing is removed from the log);
    undoing again takes back the edit before. 409 when nothing is left to undo."""
    return plans.undo(plan_id, author=principal.label, viewer=principal)


#: Grid codes, comma-separated (the grids an edit changed).
Codes = Annotated[
    str | None,
    Query(pattern=r"^[0-9A-Za-z_-]{1,64}(,[0-9A-Za-z_-]{1,64}){0,199}$",
          description="Only these grid codes (comma-separated, up to 200)."),
]  # fmt: skip


@router.get("/{plan_id}/grids", response_model=FeatureCollection, response_class=GeoJSONResponse)
def plan_grids(plan_id: int, principal: PrincipalDep, codes: Codes = None) -> Any:
    """The plan's grids as the planner's workspace draws them (GeoJSON, lon/lat).

    Each with its households against the district's band (``low``, ``high``, ``status``
    under/in/over), the people on duty once the plan is published (``on_duty``: 0 flags a grid
    nobody would answer for) and what the plan did to it (``change``: added, changed or null)."""
    wanted = codes.split(",") if codes else None
    body = workers.run(_grids_geojson, plan_id, wanted, principal)
    return Response(body, media_type=GeoJSONResponse.media_type)


def _grids_geojson(plan_id: int, codes: list[str] | None, viewer: Principal) -> bytes:
    """The workspace's grids as GeoJSON, written (in a worker process)."""
    return plain_json_bytes(
        feature_collection(plans.plan_grids(plan_id, codes=codes, viewer=viewer))
    )


@router.get(
    "/{plan_id}/grids/{code}/buildings",
    response_model=FeatureCollection,
    response_class=GeoJSONResponse,
)
def plan_buildings(plan_id: int, code: GridCode, principal: PrincipalDep) -> Any:
    """The buildings of one grid of the plan (``code``, ``households``; GeoJSON, lon/lat).

    Those whose inside lies in the grid, as the plan's recounts decide: what
    ``move-buildings`` may move to a neighbouring grid."""
    frame = plans.plan_buildings(plan_id, code, viewer=principal)
    return Response(
        plain_json_bytes(feature_collection(frame)), media_type=GeoJSONResponse.media_type
    )


@router.get("/{plan_id}/roster/{code}", response_model=schemas.RosterFormOut)
def roster_form(plan_id: int, code: GridCode, principal: PrincipalDep) -> Any:
    """Who will be on duty in one grid of the plan: the grid's roster, the people a merge or
    recode of the plan carries to it, the people the plan adds, whom the planner may choose from
    (those carried, then the people on duty in the grids of its community) and the district's
    roles on duty.

    No phone numbers."""
    return plans.roster_form(plan_id, code, viewer=principal)


@router.put("/{plan_id}/roster/{code}", response_model=schemas.RosterFormOut)
def set_roster(
    plan_id: int, code: GridCode, body: schemas.RosterIn, principal: PrincipalDep
) -> Any:
    """Put people on duty in one grid of the plan (a split's new grid has nobody).

    Replaces what the plan had for the grid; the people join the roster when the plan is
    published, in the publish's transaction. People of the plan's district only, in its roles
    on duty; ``new_people`` (name, phone, role) are added to the district first, in the same
    transaction. For a grid a merge or recode carries people to, the entries are the planner's
    choice of whom it gets."""
    entries = [e.model_dump() for e in body.entries]
    people = [p.model_dump() for p in body.new_people]
    return plans.set_roster(
        plan_id, code, entries, new_people=people, author=principal.label, viewer=principal
    )


@router.get("/{plan_id}/suggest", response_model=schemas.SuggestionsOut)
def suggest(plan_id: int, principal: PrincipalDep) -> Any:
    """Suggestions to bring the plan's grids into its district's household band (300–500 by
    default).

    Splits for grids too big, merges for grids too small; nothing is stored."""
    return workers.run_json(schemas.SuggestionsOut, plans.suggestions, plan_id, viewer=principal)


@router.post(
    "/{plan_id}/accept-suggestion", status_code=202, response_model=schemas.JobOut,
    responses=ACCEPTED,
)  # fmt: skip
def accept_suggestion(plan_id: PlanId, body: schemas.AcceptIn, principal: PrincipalDep) -> Any:
    """Apply suggestions (by id; all of them without ``ids``) to the plan as a job, each as an
    edit checked like a hand-made one.

    Answers 202 with the job once the plan is found open and in the caller's area; the job's
    result is an :class:`~api.schemas.AcceptOut`. A suggestion id no longer current fails the
    job (409's message in its ``error``)."""
    return submit_job("accept_suggestions", {"plan_id": plan_id, "ids": body.ids}, principal)


@router.post("/{plan_id}/validate", response_model=schemas.ValidateOut)
def validate(plan_id: int, principal: PrincipalDep) -> Any:
    """Check the whole plan: a clean coverage, codes unique, every grid in its community.

    What publishing would refuse, without publishing."""
    return workers.run_json(schemas.ValidateOut, plans.validate, plan_id, viewer=principal)


@router.get(
    "/{plan_id}/diff",
    response_model=FeatureCollection,
    response_class=GeoJSONResponse,
    responses={200: {"content": {GPKG: {"schema": {"type": "string", "format": "binary"}}}}},
)
def diff(
    plan_id: int,
    background: BackgroundTasks,
    principal: PrincipalDep,
    format: Annotated[Literal["geojson", "gpkg"], Query()] = "geojson",  # noqa: A002
) -> Any:
    """The plan against its base: grids added, changed and removed (GeoJSON or GeoPackage).

    ``format=gpkg`` downloads a GeoPackage that opens in QGIS."""
    if format == "gpkg":
        # under the server's home (geo_grid.scratch), removed once the file has been sent, or
        # at once when the diff is refused (no answer is sent, so no background task runs)
        folder = FilePath(tempfile.mkdtemp(prefix="diff_", dir=scratch.process_dir()))
        try:
            path = workers.run(_diff_gpkg, plan_id, folder / f"plan_{plan_id}_diff.gpkg", principal)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        background.add_task(shutil.rmtree, folder, ignore_errors=True)
        return FileResponse(path, media_type=GPKG, filename=path.name)
    body = workers.run(_diff_geojson, plan_id, principal)
    return Response(body, media_type=GeoJSONResponse.media_type)


def _diff_gpkg(plan_id: int, path: FilePath, viewer: Principal) -> FilePath:
    """The diff written to ``path`` (in a worker process)."""
    frame, _ = plans.diff_plan(plan_id, viewer=viewer)
    return plans.export_diff(frame, path)


def _diff_geojson(plan_id: int, viewer: Principal) -> bytes:
    """The diff as GeoJSON, written (in a worker process)."""
    frame, summary = plans.diff_plan(plan_id, viewer=viewer)
    after, before = plans.diff_layers(frame)
    body = feature_collection(after, summary=summary, before=feature_collection(before))
    return plain_json_bytes(body)


@router.post("/{plan_id}/publish", response_model=schemas.PublishOut)
def publish(plan_id: int, principal: PrincipalDep) -> Any:
    """Publish the plan: validate it and make it the layer's published generation.

    One transaction; a plan started from a generation that is no longer published is a 409."""
    # the whole plan's validation runs in a worker process; this process's locate index then
    # reloads at once (other processes see the new generation within a second)
    answer = workers.run(plans.publish, plan_id, author=principal.label, viewer=principal)
    index.invalidate()
    return answer
