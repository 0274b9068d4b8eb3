"""``GET /health``'s answer."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["Health"]


class Health(BaseModel):
    status: str  # "ok" | "degraded" (the database is unreachable: HTTP 503)
    database: str  # "reachable" | "unreachable"
    postgis: str | None
    schema_revision: str | None
    grids: dict[str, int]  # per layer, every district's together
    districts: dict[str, dict[str, int]] = {}  # per district and layer
    warm: bool  # the locate index and geocoders are built, and every worker process has started
    error: str | None = None  # why the database is unreachable (first line of the driver error)
