"""Addresses and points to grids: geocode (one or a batch), locate, reverse.

The batch route takes either a JSON list of addresses or a CSV upload (multipart, ``file`` and
``column``); :func:`batch_input` turns both into one typed :class:`api.schemas.BatchInput`
before the route runs. Phones in rosters are masked here, as on every other route that shows people.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from api import schemas
from api.auth import PrincipalDep
from api.deps import ReadableDistricts
from api.guard import GuardedRoute
from api.openapi import request_body
from api.params import Crs, Lat, Lon
from api.routers.jobs import ACCEPTED
from api.routers.jobs import submit as submit_job
from api.serialize import json_bytes, json_response
from api.uploads import UploadDep
from geo_grid.errors import BadInput
from geo_grid.labels import reason_zh
from geo_grid.services import geocoding
from geo_grid.settings import get_settings

router = APIRouter(prefix="/api/v1", tags=["geocoding"], route_class=GuardedRoute)

#: a list of addresses; a blank one (null, as a CSV's empty cell) answers ``unmatched``
_ADDRESSES = {
    "type": "array",
    "items": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    "maxItems": geocoding.MAX_BATCH,
}
#: A batch answered in the request (at most ``GEO_GRID_JOB_SYNC_MAX_ADDRESSES``) is geocoded by
#: the server's own geocoders, built during its warm-up, one batch at a time. A worker process
#: would hold a copy of every district's geocoder for it: ~1.6 KB an address, 2 GB for a city's
#: 1.2 million, per process; built on its first batch, that batch waited 35-40 s. One batch of
#: 1,000 is a fraction of a second of Python; one at a time, the GIL is never all theirs.
_SMALL_BATCH = threading.Lock()

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
        "example": ["某区某街道和平路12号", "某市和平路12号3栋2单元301室"],
    },
)


async def batch_input(request: Request, form: UploadDep) -> schemas.BatchInput:
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
        return schemas.BatchInput(frame[column].tolist(), "file")
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
    return schemas.BatchInput(body, "addresses")


@router.get("/geocode", response_model=schemas.GeocodeOut)
def geocode(
    q: Annotated[str, Query(min_length=1, max_length=500, description="The address text")],
    districts: ReadableDistricts,
) -> Any:
    """Geocode one Chinese address to a point, its grids and a confidence.

    In the districts of the caller's area (or ``district``): the address's admin prefix picks
    among them. ``matched`` only when confident; otherwise ``ambiguous`` with the competing
    candidates or ``unmatched`` with the reason (``reason`` in English for developers,
    ``reason_zh`` for people)."""
    body = geocoding.geocode(q, districts=districts).to_dict()
    return {**body, "reason_zh": reason_zh(body["reason"])}


def _asks_async(request: Request) -> bool:
    """``Prefer: respond-async`` (RFC 7240) among the request's preferences."""
    prefs = ",".join(request.headers.getlist("prefer")).lower()
    return "respond-async" in {p.split(";")[0].strip() for p in prefs.split(",")}


@router.post(
    "/geocode/batch", response_model=schemas.BatchOut, openapi_extra=_BATCH_BODY,
    responses=ACCEPTED,
)  # fmt: skip
def geocode_batch(
    request: Request,
    batch: Annotated[schemas.BatchInput, Depends(batch_input)],
    districts: ReadableDistricts,
    principal: PrincipalDep,
) -> Any:
    """Geocode many addresses: a JSON list, or a CSV upload with the column named.

    One row per address in order, with counts of matched, ambiguous and unmatched. Up to
    ``GEO_GRID_JOB_SYNC_MAX_ADDRESSES`` addresses (1,000) are answered in the request (200); a
    larger batch, or one sent with ``Prefer: respond-async``, becomes a job: 202 with the job,
    whose result is this answer once done."""
    small = len(batch.addresses) <= get_settings().job_sync_max_addresses
    if small and not _asks_async(request):
        with _SMALL_BATCH:
            answer = geocoding.batch_answer(batch.addresses, field=batch.field,
                                            districts=list(districts))  # fmt: skip
        return json_response(json_bytes(schemas.BatchOut, answer))
    params = {"addresses": batch.addresses, "field": batch.field, "districts": list(districts)}
    return submit_job("geocode_batch", params, principal)


@router.get("/locate", response_model=schemas.LocateOut)
def locate(lon: Lon, lat: Lat, districts: ReadableDistricts, crs: Crs = "wgs84") -> Any:
    """Which grids, community, street and people are responsible at a point.

    The district the point lies in and every layer's grid there at once, from an in-memory index; the point in WGS84, CGCS2000, GCJ-02 or
    BD-09 (``crs``). A point outside the caller's districts answers ``inside_district`` false
    with no grid. Roster phones are masked."""
    r = geocoding.locate(lon, lat, crs, districts=districts)
    body = r.to_dict()
    body["roster"] = [
        {
            "person_id": str(p.person_id),
            "name": p.name,
            "phone": p.phone,  # masked by the service
            "role": p.role,
            "role_zh": p.role_zh,
            "duty": p.duty,
        }
        for p in r.roster
    ]
    return body


@router.get("/reverse", response_model=schemas.ReverseOut)
def reverse(
    lon: Lon,
    lat: Lat,
    districts: ReadableDistricts,
    crs: Crs = "wgs84",
    max_distance_m: Annotated[float, Query(gt=0, le=5000)] = 200.0,
) -> Any:
    """The nearest door-plate address to a point, and the grids of the point itself.

    Addresses farther than ``max_distance_m`` are not offered."""
    return asdict(geocoding.reverse(lon, lat, crs, max_distance_m, districts=districts))
