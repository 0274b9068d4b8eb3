"""Query models of the spreadsheet exports (``POST /api/v1/exports/...``, jobs) and the media
type of the workbook their job's file is (``GET /api/v1/jobs/{id}/file``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["XLSX", "CaseExportQuery", "IndicatorExportQuery"]

#: The media type of an XLSX workbook.
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class IndicatorExportQuery(BaseModel):
    """Which 红绿指标 to export (the period is ``from``/``to``, both required)."""

    level: Literal["grid", "community", "street", "department"] = Field(
        "grid", description="Units of the report: grid, community, street or department"
    )


class CaseExportQuery(BaseModel):
    """Which cases to export (the period of receipt is ``from``/``to``, both required)."""

    status: list[str] | None = Field(
        None, max_length=20, description="Case states (received, dispatched, closed, ...)"
    )
    category: list[str] | None = Field(
        None, max_length=50, description="Category codes or prefixes (E05, E0502)"
    )
    overdue: bool = Field(False, description="Only cases past their deadline now")
