"""Open311 GeoReport v2: the spec's error item and the filters of ``GET requests``."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

__all__ = ["Open311Error", "RequestFilters"]


class Open311Error(BaseModel):
    code: int
    description: str


@dataclass(frozen=True)
class RequestFilters:
    """``GET requests``' comma-delimited lists, split and checked (None: not asked for)."""

    ids: list[str] | None = None
    service_codes: list[str] | None = None
    status: list[str] | None = None
