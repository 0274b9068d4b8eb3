"""Bodies of the job routes and of the requests that start long work (answered 202).

A route that starts long work answers ``202 Accepted`` with the job (:class:`JobOut`) and a
``Location: /api/v1/jobs/{id}`` header; ``GET`` on it shows ``status`` (queued, running, done,
failed), ``progress`` (0..1) with a Chinese ``message``, and when done the ``result`` (what the
route answered before it became a job: a merge's ``MergeOut``, an accept-all's ``AcceptOut``, a
check's ``CheckOut``, a batch geocode's ``BatchOut``) or when failed the ``error``
(``{message, field}``, as an error answer has).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["ExportIn", "FixIn", "JobError", "JobList", "JobOut", "JobSummary"]


class JobError(BaseModel):
    message: str
    field: str | None = None
    type: str | None = Field(None, description="the error's kind, e.g. BadInput, Conflict")


class JobSummary(BaseModel):
    """A job as lists show it (without its parameters and result)."""

    id: int
    kind: str = Field(
        description="merge | accept_suggestions | check_layer | fix_layer | geocode_batch | "
        "export_layer"
    )
    title: str = Field(description="the kind in Chinese, e.g. 多网合一")
    status: Literal["queued", "running", "done", "failed"]
    progress: float = Field(ge=0, le=1)
    message: str | None = Field(None, description="what is being done now (Chinese)")
    error: JobError | None = None
    created_by: str
    district_code: str | None = None
    attempts: int = Field(description="workers that took it (more than 1: one of them died)")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None


class JobOut(JobSummary):
    """A job with its parameters and, once done, its result."""

    params: dict[str, Any]
    result: dict[str, Any] | None = None


class JobList(BaseModel):
    data: list[JobSummary]
    count: int = Field(description="jobs of the caller in all (``data`` is one page)")


class FixIn(BaseModel):
    """Fix a stored layer's generation into a new draft generation (a job)."""

    generation: int | None = Field(None, ge=1, description="Default: the published generation.")
    gap_width_m: float = Field(20.0, gt=0)
    overlap_rule: Literal["longest_border", "larger"] = "longest_border"


class ExportIn(BaseModel):
    """Write a stored layer's generation to a file (a job); fetch it at ``/api/v1/jobs/{id}/file``."""

    generation: int | None = Field(None, ge=1, description="Default: the published generation.")
    format: Literal["gpkg", "geojson", "shp", "csv"] = "gpkg"
