"""Long work as jobs: their state, progress and result, and how a route starts one (202).

Routes that start long work (``POST /api/v1/merge``, ``/plans/{id}/accept-suggestion``,
``/checks`` of a stored layer, ``/layers/{layer}/fixes``, ``/layers/{layer}/exports``,
``/exports/cases.xlsx`` and ``/exports/indicators.xlsx``, and ``/geocode/batch`` over ``GEO_GRID_JOB_SYNC_MAX_ADDRESSES`` addresses or with ``Prefer:
respond-async``) check the request, queue a job (:func:`geo_grid.services.jobs.submit`) and
answer :func:`accepted`: 202, the job, ``Location: /api/v1/jobs/{id}``. Workers (threads of this
process, ``GEO_GRID_JOB_WORKERS``, and ``geo-grid worker``) run it; the client polls the
location. A job is read by whoever started it and by administrators (403 for anyone else).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response

from api.auth import PrincipalDep
from api.guard import GuardedRoute
from api.schemas.exports import XLSX
from api.schemas.jobs import JobList, JobOut
from api.serialize import json_bytes, json_response
from geo_grid.access import Principal
from geo_grid.errors import NotFound
from geo_grid.services import jobs
from geo_grid.services.job_kinds import exports_dir

__all__ = ["ACCEPTED", "accepted", "router", "submit"]

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], route_class=GuardedRoute)

JobId = Annotated[int, PathParam(ge=1, le=2**63 - 1, description="The job's id")]

#: Media types of the files jobs write, by suffix (others: application/octet-stream).
_MEDIA = {".xlsx": XLSX}
#: A file name every client reads as it is (the ASCII fallback of a Chinese name).
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")

#: How a route that starts a job documents its 202 answer (``responses=ACCEPTED``).
ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": JobOut,
        "description": "Accepted: the work runs as a job; poll the Location (/api/v1/jobs/{id})",
        "headers": {"Location": {"description": "/api/v1/jobs/{id}", "schema": {"type": "string"}}},
    }
}


def accepted(job: dict[str, Any]) -> Response:
    """A submitted job as the answer: 202, the job, and where to follow it."""
    response = json_response(json_bytes(JobOut, job), status_code=202)
    response.headers["Location"] = f"/api/v1/jobs/{job['id']}"
    return response


def submit(kind: str, params: dict[str, Any], principal: Principal) -> Response:
    """Queue a job of ``kind`` (its arguments checked now: 4xx when bad) and answer 202."""
    return accepted(jobs.submit(kind, params, principal=principal))


@router.get("", response_model=JobList)
def list_jobs(
    principal: PrincipalDep,
    status: Annotated[Literal["queued", "running", "done", "failed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Any:
    """The caller's jobs, newest first (without parameters and results).

    ``status`` filters; ``count`` is how many there are in all."""
    rows, total = jobs.list_for(principal, status=status, limit=limit, offset=offset)
    return {"data": rows, "count": total}


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: JobId, principal: PrincipalDep) -> Any:
    """One job: its status, progress (0..1) and message, and its result or error.

    Readable by the user who started it and by administrators."""
    return jobs.get(job_id, viewer=principal)


@router.get(
    "/{job_id}/file",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/octet-stream": {}, XLSX: {}}, "description": "The file"}
    },
)
def job_file(job_id: JobId, principal: PrincipalDep) -> Any:
    """The file an export job wrote (GeoPackage, GeoJSON, zipped shapefile or CSV; an XLSX
    workbook of a spreadsheet export, under its Chinese name with an ASCII fallback).

    404 until the job is done, and for jobs that write no file."""
    job = jobs.get(job_id, viewer=principal)
    result = (job.get("result") or {}) if job["status"] == "done" else {}
    name = result.get("file")
    path = exports_dir() / f"job_{job_id}" / str(name) if name else None
    if path is None or Path(name).name != name or not path.is_file():
        raise NotFound(f"file: job {job_id} has no file (yet)", field="job")
    media = _MEDIA.get(path.suffix.lower(), "application/octet-stream")
    disposition = _disposition(name, result.get("ascii_file"), f"job_{job_id}{path.suffix}")
    return FileResponse(path, media_type=media, headers={"Content-Disposition": disposition})


def _disposition(name: str, fallback: Any, default: str) -> str:
    """``attachment`` naming the file: as it is when plain ASCII, else UTF-8 (``filename*``)
    with an ASCII ``filename`` for old clients (the job's own, or ``default``)."""
    if _PLAIN_NAME.match(name):
        return f'attachment; filename="{name}"'
    plain = next((n for n in (fallback, default) if isinstance(n, str) and _PLAIN_NAME.match(n)),
                 "download")  # fmt: skip
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}"
