"""Long work as jobs: their state, progress and result, and how a route starts one (202).

Routes that start long work (``POST /api/v1/merge``, ``/plans/{id}/accept-suggestion``,
``/checks`` of a stored layer, ``/layers/{layer}/fixes``, ``/layers/{layer}/exports``, and
``/geocode/batch`` over ``GEO_GRID_JOB_SYNC_MAX_ADDRESSES`` addresses or with ``Prefer:
respond-async``) check the request, queue a job (:func:`geo_grid.services.jobs.submit`) and
answer :func:`accepted`: 202, the job, ``Location: /api/v1/jobs/{id}``. Workers (threads of this
process, ``GEO_GRID_JOB_WORKERS``, and ``geo-grid worker``) run it; the client polls the
location. A job is read by whoever started it and by administrators (403 for anyone else).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response

from api.auth import PrincipalDep
from api.guard import GuardedRoute
from api.schemas.jobs import JobList, JobOut
from api.serialize import json_bytes, json_response
from geo_grid.access import Principal
from geo_grid.errors import NotFound
from geo_grid.services import jobs
from geo_grid.services.job_kinds import exports_dir

__all__ = ["ACCEPTED", "accepted", "router", "submit"]

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], route_class=GuardedRoute)

JobId = Annotated[int, PathParam(ge=1, le=2**63 - 1, description="The job's id")]

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
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file"}},
)
def job_file(job_id: JobId, principal: PrincipalDep) -> Any:
    """The file an export job wrote (GeoPackage, GeoJSON, zipped shapefile or CSV).

    404 until the job is done, and for jobs that write no file."""
    job = jobs.get(job_id, viewer=principal)
    name = (job.get("result") or {}).get("file") if job["status"] == "done" else None
    path = exports_dir() / f"job_{job_id}" / str(name) if name else None
    if path is None or Path(name).name != name or not path.is_file():
        raise NotFound(f"file: job {job_id} has no file (yet)", field="job")
    return FileResponse(path, media_type="application/octet-stream", filename=name)
