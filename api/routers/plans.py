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
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import geopandas as gpd
from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import FileResponse, Response
from geojson_pydantic import FeatureCollection, LineString, MultiLineString, MultiPolygon, Polygon
from pydantic import BaseModel, Field, SkipValidation

from api import workers
from api.auth import PrincipalDep
from api.deps import JsonBody
from api.geojson import GeoJSONResponse, feature_collection
from api.guard import GuardedRoute
from api.serialize import plain_json_bytes
from geo_grid import scratch
from geo_grid.access import Principal
from geo_grid.errors import BadInput
from geo_grid.services import index, plans

router = APIRouter(prefix="/api/v1/plans", tags=["plans"], route_class=GuardedRoute)

DryRun = Annotated[bool, Query(description="Compute the impact, store nothing.")]
#: the diff's other format (``format=gpkg``)
GPKG = "application/geopackage+sqlite3"


class PlanCreate(JsonBody):
    layer: str = Field("unified", pattern=r"^[a-z][a-z0-9_]*$")
    note: str | None = Field(None, max_length=2000)


class PlanOut(BaseModel):
    id: int
    layer: str
    status: str
    generation: int
    generation_id: int
    base_generation: int | None = None
    base_generation_id: int | None = None
    author: str | None = None
    note: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    published_at: datetime | None = None
    edits: int = 0
    grids: int | None = None


class PlanEditLog(BaseModel):
    seq: int
    op: str
    params: dict[str, Any]
    impact: dict[str, Any]
    author: str | None = None
    created_at: datetime | None = None


class PlanDetail(PlanOut):
    log: list[PlanEditLog]


class PlanList(BaseModel):
    data: list[PlanOut]
    count: int


#: A GeoJSON geometry documented by its type but not validated here: geojson_pydantic takes
#: seconds per 100,000 vertices, on the event loop. The service parses it with shapely and
#: refuses more than ``GEO_GRID_GEOMETRY_MAX_VERTICES`` vertices, in a worker thread.
Line = Annotated[LineString | MultiLineString, SkipValidation]
Outline = Annotated[Polygon | MultiPolygon, SkipValidation]


#: a grid's or building's code as the plan holds it (never empty: an edit names what it moves)
Code = Annotated[str, Field(min_length=1, max_length=64)]


class SplitIn(JsonBody):
    grid: Code
    line: Line


class MergeIn(JsonBody):
    grids: list[Code] = Field(min_length=2)
    keep: Code | None = None


class ReshapeIn(JsonBody):
    grid: Code
    geometry: Outline


class MoveIn(JsonBody):
    buildings: list[Code] = Field(min_length=1)
    to: Code


class RecodeIn(JsonBody):
    grid: Code
    code: str | None = Field(None, pattern=r"^[0-9A-Za-z_-]{1,64}$")
    name: str | None = None


class AcceptIn(JsonBody):
    ids: list[str] | None = Field(None, description="Suggestion ids; omit to accept all.")


class EditOut(BaseModel):
    plan: int
    seq: int | None
    dry_run: bool = False
    op: str
    params: dict[str, Any]
    added: list[str]
    removed: list[str]
    changed: list[str]
    renames: dict[str, str]
    impact: dict[str, Any]
    warnings: list[str]
    grids: dict[str, Any] = Field(description="The new and changed grids (FeatureCollection).")


class SuggestionsOut(BaseModel):
    plan: int
    out_of_band: int
    under: int
    over: int
    suggestions: list[dict[str, Any]]


class AcceptOut(BaseModel):
    plan: int
    applied: list[dict[str, Any]]
    out_of_band: int


class ValidateOut(BaseModel):
    plan: int
    valid: bool
    grids: int
    problems: list[str]
    coverage: dict[str, Any]
    out_of_band: int


class PublishOut(BaseModel):
    plan: int
    layer: str
    published_generation: int
    generation_id: int
    retired_generation_id: int | None
    cases_regridded: int
    grids: int


def _edit(
    plan_id: int, op: str, params: dict[str, Any], principal: Principal, dry_run: bool
) -> Response:
    """Apply one edit as the caller (author and area), in a worker process, answer included."""
    return workers.run_json(EditOut, _edit_result, plan_id, op, params, principal, dry_run)


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


@router.post("", response_model=PlanOut, status_code=201)
def create_plan(body: PlanCreate, principal: PrincipalDep) -> Any:
    """Start a redrawing plan: a draft copy of a layer's published generation.

    Edits go to the copy; nothing changes for users until the plan is published."""
    return plans.create_plan(body.layer, note=body.note, author=principal.label)


@router.get("", response_model=PlanList)
def list_plans(layer: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]*$")] = None) -> Any:
    """List the redrawing plans, optionally of one layer.

    Each with its state (open, published, abandoned)."""
    rows = plans.list_plans(layer)
    return {"data": rows, "count": len(rows)}


@router.get("/{plan_id}", response_model=PlanDetail)
def get_plan(plan_id: int) -> Any:
    """One plan with its edits, in order.

    Each edit records its parameters, author and impact."""
    return plans.get_plan(plan_id)


@router.post("/{plan_id}/split", response_model=EditOut)
def split(plan_id: int, body: SplitIn, principal: PrincipalDep, dry_run: DryRun = False) -> Any:
    """Split a grid of the plan along a line.

    Checked on the spot (still a clean coverage inside its community) or refused with the reason;
    ``dry_run=true`` shows the result and its impact without storing it."""
    params = {"grid": body.grid, "line": _geojson(body, "line")}
    return _edit(plan_id, "split", params, principal, dry_run)


@router.post("/{plan_id}/merge", response_model=EditOut)
def merge(plan_id: int, body: MergeIn, principal: PrincipalDep, dry_run: DryRun = False) -> Any:
    """Merge grids of the plan into one (``keep`` names the code that stays).

    Neighbouring grids of one community only; ``dry_run=true`` stores nothing."""
    params: dict[str, Any] = {"grids": body.grids}
    if body.keep:
        params["keep"] = body.keep
    return _edit(plan_id, "merge", params, principal, dry_run)


@router.post("/{plan_id}/reshape", response_model=EditOut)
def reshape(plan_id: int, body: ReshapeIn, principal: PrincipalDep, dry_run: DryRun = False) -> Any:
    """Give a grid of the plan a new outline; its neighbours give or take the difference.

    Checked on the spot; ``dry_run=true`` stores nothing."""
    params = {"grid": body.grid, "geometry": _geojson(body, "geometry")}
    return _edit(plan_id, "reshape", params, principal, dry_run)


@router.post("/{plan_id}/move-buildings", response_model=EditOut)
def move_buildings(
    plan_id: int, body: MoveIn, principal: PrincipalDep, dry_run: DryRun = False
) -> Any:
    """Move buildings (and their households and addresses) into a neighbouring grid of the plan.

    The border is redrawn along the gaps around them; ``dry_run=true`` stores nothing."""
    params = {"buildings": body.buildings, "to": body.to}
    return _edit(plan_id, "move_buildings", params, principal, dry_run)


@router.post("/{plan_id}/recode", response_model=EditOut)
def recode(plan_id: int, body: RecodeIn, principal: PrincipalDep, dry_run: DryRun = False) -> Any:
    """Give a grid of the plan a new code and/or name.

    The roster follows the code; a code already taken is refused; ``dry_run=true`` stores nothing."""
    params = {"grid": body.grid, "code": body.code, "name": body.name}
    return _edit(plan_id, "recode", params, principal, dry_run)


@router.get("/{plan_id}/suggest", response_model=SuggestionsOut)
def suggest(plan_id: int) -> Any:
    """Suggestions to bring the plan's grids into the household band (300–500 by default).

    Splits for grids too big, merges for grids too small; nothing is stored."""
    return workers.run_json(SuggestionsOut, plans.suggestions, plan_id)


@router.post("/{plan_id}/accept-suggestion", response_model=AcceptOut)
def accept_suggestion(plan_id: int, body: AcceptIn, principal: PrincipalDep) -> Any:
    """Apply suggestions (by id) to the plan, each as an edit.

    Each is checked like a hand-made edit."""
    return workers.run_json(
        AcceptOut,
        plans.accept_suggestions,
        plan_id,
        body.ids,
        author=principal.label,
        viewer=principal,
    )


@router.post("/{plan_id}/validate", response_model=ValidateOut)
def validate(plan_id: int) -> Any:
    """Check the whole plan: a clean coverage, codes unique, every grid in its community.

    What publishing would refuse, without publishing."""
    return workers.run_json(ValidateOut, plans.validate, plan_id)


@router.get(
    "/{plan_id}/diff",
    response_model=FeatureCollection,
    response_class=GeoJSONResponse,
    responses={200: {"content": {GPKG: {"schema": {"type": "string", "format": "binary"}}}}},
)
def diff(
    plan_id: int,
    background: BackgroundTasks,
    format: Annotated[Literal["geojson", "gpkg"], Query()] = "geojson",  # noqa: A002
) -> Any:
    """The plan against its base: grids added, changed and removed (GeoJSON or GeoPackage).

    ``format=gpkg`` downloads a GeoPackage that opens in QGIS."""
    if format == "gpkg":
        # under the server's home (geo_grid.scratch), removed once the file has been sent
        folder = Path(tempfile.mkdtemp(prefix="diff_", dir=scratch.process_dir()))
        background.add_task(shutil.rmtree, folder, ignore_errors=True)
        path = workers.run(_diff_gpkg, plan_id, folder / f"plan_{plan_id}_diff.gpkg")
        return FileResponse(path, media_type=GPKG, filename=path.name)
    body = workers.run(_diff_geojson, plan_id)
    return Response(body, media_type=GeoJSONResponse.media_type)


def _diff_gpkg(plan_id: int, path: Path) -> Path:
    """The diff written to ``path`` (in a worker process)."""
    frame, _ = plans.diff_plan(plan_id)
    return plans.export_diff(frame, path)


def _diff_geojson(plan_id: int) -> bytes:
    """The diff as GeoJSON, written (in a worker process)."""
    frame, summary = plans.diff_plan(plan_id)
    before = frame.loc[frame["geometry_before"].notna(), ["code", "change", "geometry_before"]]
    before = gpd.GeoDataFrame(
        before[["code", "change"]],
        geometry=gpd.GeoSeries.from_wkt(before["geometry_before"], crs=4490),
    )
    body = feature_collection(
        frame.drop(columns=["geometry_before"]),
        summary=summary,
        before=feature_collection(before),
    )
    return plain_json_bytes(body)


@router.post("/{plan_id}/publish", response_model=PublishOut)
def publish(plan_id: int, principal: PrincipalDep) -> Any:
    """Publish the plan: validate it and make it the layer's published generation.

    One transaction; a plan started from a generation that is no longer published is a 409."""
    # the whole plan's validation runs in a worker process; this process's locate index then
    # reloads at once (other processes see the new generation within a second)
    answer = workers.run(plans.publish, plan_id, author=principal.label, viewer=principal)
    index.invalidate()
    return answer
