"""Addresses and points to grids: geocode (one or a batch), locate, reverse.

The batch route takes either a JSON list of addresses or a CSV upload (multipart, ``file`` and
``column``); :func:`batch_input` turns both into one typed :class:`BatchInput` before the route runs.
Phones in rosters are masked here, as on every other route that shows people.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api import workers
from api.guard import GuardedRoute
from api.openapi import request_body
from api.uploads import UploadDep
from geo_grid.errors import BadInput
from geo_grid.labels import reason_zh
from geo_grid.services import geocoding

router = APIRouter(prefix="/api/v1", tags=["geocoding"], route_class=GuardedRoute)

Lon = Annotated[float, Query(ge=-180, le=180, description="Longitude", examples=[118.9])]
Lat = Annotated[float, Query(ge=-90, le=90, description="Latitude", examples=[32.1])]
Crs = Annotated[
    str, Query(description="wgs84 | cgcs2000 | gcj02 | bd09 (or EPSG:n)", examples=["gcj02"])
]


class CandidateOut(BaseModel):
    confidence: float
    grid_code: str | None
    lon: float
    lat: float
    address_id: int | None
    text: str | None


class GeocodeOut(BaseModel):
    query: str
    status: str = Field(description="matched | ambiguous | unmatched")
    level: str | None = Field(description="门牌 | 楼栋 | 小区 | 道路 | 社区 | 街道")
    confidence: float
    lon: float | None
    lat: float | None
    address_id: int | None
    matched_text: str | None
    grid_code: str | None
    grids: dict[str, str | None]
    community_code: str | None
    street_code: str | None
    alternatives: list[CandidateOut]
    reason: str | None = Field(description="Why not matched, or a note (English, for developers)")
    reason_zh: str | None = Field(description="The reason in Chinese, for people")
    normalized: str


class BatchRow(BaseModel):
    row: int
    query: str | None
    status: str
    grid_code: str | None
    grids: dict[str, str | None]
    match_level: str | None
    confidence: float
    lon: float | None
    lat: float | None
    address_id: int | None
    matched_text: str | None
    reason: str | None


class BatchOut(BaseModel):
    data: list[BatchRow]
    count: int
    matched: int
    ambiguous: int
    unmatched: int


class PersonOut(BaseModel):
    person_id: str
    name: str
    phone: str | None
    role: str


class LocateOut(BaseModel):
    lon: float = Field(description="CGCS2000 (EPSG:4490)")
    lat: float = Field(description="CGCS2000 (EPSG:4490)")
    inside_district: bool
    grid_code: str | None
    grids: dict[str, str | None]
    community_code: str | None
    community_name: str | None
    street_code: str | None
    street_name: str | None
    roster: list[PersonOut]
    generation: dict[str, int] | None


class ReverseOut(BaseModel):
    lon: float = Field(description="CGCS2000 (EPSG:4490)")
    lat: float = Field(description="CGCS2000 (EPSG:4490)")
    address_id: int | None
    full_text: str | None
    distance_m: float | None
    grid_code: str | None
    grids: dict[str, str | None]


@dataclass(frozen=True)
class BatchInput:
    """The addresses of a batch request, whichever way they came."""

    addresses: list[Any]
    field: str


#: a list of addresses; a blank one (null, as a CSV's empty cell) answers ``unmatched``
_ADDRESSES = {
    "type": "array",
    "items": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    "maxItems": geocoding.MAX_BATCH,
}
_BATCH_BODY = request_body(
    {
        "file": {"type": "string", "format": "binary"},
        "column": {"type": "string", "minLength": 1, "description": "the address column"},
    },
    required=("file", "column"),
    json={
        "schema": {
            "anyOf": [
                _ADDRESSES,
                {
                    "type": "object",
                    "properties": {"addresses": _ADDRESSES},
                    "required": ["addresses"],
                    "additionalProperties": False,
                },
            ]
        },
        "example": ["栖霞区尧化街道尧佳路12号", "尧林仙居3栋2单元301室"],
    },
)


async def batch_input(request: Request, form: UploadDep) -> BatchInput:
    """Parse a JSON list (or ``{"addresses": [...]}``) or a multipart CSV upload."""
    if form is not None:
        upload, column = form.file("file"), form.text("column")
        if column is None:
            raise BadInput("column: name the CSV column that holds the address", field="column")
        frame = await run_in_threadpool(
            geocoding.read_address_csv,
            upload.path,
            column,
            label=upload.filename,
            max_rows=geocoding.MAX_BATCH,
        )
        return BatchInput(frame[column].tolist(), "file")
    try:
        body = await request.json()  # parsed off the event loop when large (api.guard)
    except ValueError as exc:
        raise BadInput(f"addresses: the body is not JSON ({exc})", field="addresses") from exc
    if isinstance(body, dict):
        if set(body) != {"addresses"}:
            raise BadInput('addresses: send a JSON list, or {"addresses": [...]} and nothing else',
                           field="addresses")  # fmt: skip
        body = body["addresses"]
    if not isinstance(body, list) or not all(isinstance(a, str | None) for a in body):
        raise BadInput("addresses: expected a JSON list of address strings", field="addresses")
    return BatchInput(body, "addresses")


@router.get("/geocode", response_model=GeocodeOut)
def geocode(
    q: Annotated[str, Query(min_length=1, max_length=500, description="The address text")],
) -> Any:
    """Geocode one Chinese address to a point, its grids and a confidence.

    ``matched`` only when confident; otherwise ``ambiguous`` with the competing candidates or
    ``unmatched`` with the reason (``reason`` in English for developers, ``reason_zh`` for people)."""
    body = geocoding.geocode(q).to_dict()
    return {**body, "reason_zh": reason_zh(body["reason"])}


@router.post("/geocode/batch", response_model=BatchOut, openapi_extra=_BATCH_BODY)
def geocode_batch(batch: Annotated[BatchInput, Depends(batch_input)]) -> Any:
    """Geocode many addresses: a JSON list, or a CSV upload with the column named.

    One row per address in order, with counts of matched, ambiguous and unmatched."""
    # in a worker process (its own geocoder, built on its first batch), answer included: 10,000
    # addresses are seconds of Python that would hold the GIL against every other request
    return workers.run_json(BatchOut, _batch, batch.addresses, batch.field)


def _batch(addresses: list[Any], field: str) -> BatchOut:
    rows = geocoding.geocode_batch(addresses, field=field)
    data = []
    for i, row in enumerate(rows):
        layers = [k for k in row if k.startswith("grid_") and k != "grid_code"]
        grids = {k.removeprefix("grid_"): row.pop(k) for k in layers}
        data.append(BatchRow(row=i, grids=grids, **row))
    counts = {s: sum(r.status == s for r in data) for s in ("matched", "ambiguous", "unmatched")}
    return BatchOut(data=data, count=len(data), **counts)


@router.get("/locate", response_model=LocateOut)
def locate(lon: Lon, lat: Lat, crs: Crs = "wgs84") -> Any:
    """Which grids, community, street and people are responsible at a point.

    Every layer's grid at once, from an in-memory index; the point in WGS84, CGCS2000, GCJ-02 or
    BD-09 (``crs``). Roster phones are masked."""
    r = geocoding.locate(lon, lat, crs)
    body = r.to_dict()
    body["roster"] = [
        {
            "person_id": str(p.person_id),
            "name": p.name,
            "phone": p.phone,  # masked by the service
            "role": p.role,
        }
        for p in r.roster
    ]
    return body


@router.get("/reverse", response_model=ReverseOut)
def reverse(
    lon: Lon,
    lat: Lat,
    crs: Crs = "wgs84",
    max_distance_m: Annotated[float, Query(gt=0, le=5000)] = 200.0,
) -> Any:
    """The nearest door-plate address to a point, and the grids of the point itself.

    Addresses farther than ``max_distance_m`` are not offered."""
    return asdict(geocoding.reverse(lon, lat, crs, max_distance_m))
