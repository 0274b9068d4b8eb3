"""Plans (redrawing grids): request and answer bodies.

Geometries are GeoJSON in lon/lat (EPSG:4490). An edit's answer (:class:`EditOut`) is
:class:`geo_grid.plans.EditResult` as JSON: its fields are taken from that one definition, with
the plan, the edit's place in the plan's log and the changed grids as GeoJSON added.
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import datetime
from typing import Annotated, Any

from geojson_pydantic import LineString, MultiLineString, MultiPolygon, Polygon
from pydantic import BaseModel, Field, SkipValidation, create_model

from api.schemas.body import JsonBody
from geo_grid.plans import EditResult

__all__ = [
    "AcceptIn",
    "AcceptOut",
    "EditOut",
    "Line",
    "MoveIn",
    "Outline",
    "PlanCreate",
    "PlanDetail",
    "PlanEditLog",
    "PlanList",
    "PlanMergeIn",
    "PlanOut",
    "PublishOut",
    "RecodeIn",
    "ReshapeIn",
    "SplitIn",
    "SuggestionsOut",
    "ValidateOut",
]


class PlanCreate(JsonBody):
    layer: str = Field("unified", pattern=r"^[a-z][a-z0-9_]*$")
    note: str | None = Field(None, max_length=2000)


class PlanOut(BaseModel):
    id: int
    layer: str
    district_code: str
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
ItemCode = Annotated[str, Field(min_length=1, max_length=64)]


class SplitIn(JsonBody):
    grid: ItemCode
    line: Line


class PlanMergeIn(JsonBody):
    grids: list[ItemCode] = Field(min_length=2)
    keep: ItemCode | None = None


class ReshapeIn(JsonBody):
    grid: ItemCode
    geometry: Outline


class MoveIn(JsonBody):
    buildings: list[ItemCode] = Field(min_length=1)
    to: ItemCode


class RecodeIn(JsonBody):
    grid: ItemCode
    code: str | None = Field(None, pattern=r"^[0-9A-Za-z_-]{1,64}$")
    name: str | None = None


class AcceptIn(JsonBody):
    ids: list[str] | None = Field(None, description="Suggestion ids; omit to accept all.")


def _result_fields() -> dict[str, Any]:
    """:class:`EditResult`'s fields but its frame (``layer``), each required in the answer."""
    hints = typing.get_type_hints(EditResult)
    return {
        f.name: (hints[f.name], ...) for f in dataclasses.fields(EditResult) if f.name != "layer"
    }


#: One edit's answer: the plan, the edit's ``seq`` in its log (None for a dry run), then
#: :class:`EditResult`'s fields, then the new and changed grids as a FeatureCollection.
EditOut = create_model(
    "EditOut",
    __module__=__name__,
    plan=(int, ...),
    seq=(int | None, ...),
    dry_run=(bool, False),
    **_result_fields(),
    grids=(dict[str, Any], Field(description="The new and changed grids (FeatureCollection).")),
)


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
    problems_zh: list[str] = Field(description="The problems in Chinese, for people.")
    coverage: dict[str, Any]
    out_of_band: int
    unstaffed: list[str] = Field(
        description="Grids that would have nobody on duty once published (publishing warns, "
        "it does not refuse): fill their roster with PUT .../roster/{code}."
    )


class PublishOut(BaseModel):
    plan: int
    layer: str
    district_code: str
    published_generation: int
    generation_id: int
    retired_generation_id: int | None
    cases_regridded: int
    roster_added: int = Field(description="People the plan put on duty, now on the roster.")
    roster_moved: int = Field(
        0, description="Roster rows of merged or recoded grids moved to the code they went to."
    )
    roster_retired: int = Field(
        0,
        description="Roster rows of merged or recoded grids no longer active: not the planner's "
        "choice for the grid they went to, or there twice.",
    )
    unstaffed: list[str] = Field(
        description="Grids of the communities the plan changed, published with nobody on duty."
    )
    grids: int = Field(description="Grids of the published generation.")
