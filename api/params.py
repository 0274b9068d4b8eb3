"""Path and query parameters shared by several routes, each declared once.

Each is an ``Annotated`` type a route names as its parameter's type, so its pattern, bounds and
description are the same wherever it appears (FastAPI's own way of reusing a parameter). Those
that need more than a declaration (a bounding box, a period, a district) are dependencies in
:mod:`api.deps`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

__all__ = [
    "CaseRef",
    "Category",
    "Code",
    "Crs",
    "DryRun",
    "GridCode",
    "Lat",
    "LayerKey",
    "Lon",
    "PhotoId",
    "PlanId",
]

#: A layer key in a path: ``unified``, ``politics_law`` ... (layers are rows, so any such key).
LayerKey = Annotated[
    str, Path(description="Layer key, e.g. unified, politics_law", pattern=r"^[a-z][a-z0-9_]*$")
]
#: A case in a path, by its id or its number.
#: A grid's code in a path.
GridCode = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,64}$", description="Grid code")]
CaseRef = Annotated[
    str, Path(pattern=r"^[0-9A-Za-z_-]{1,64}$", description="Case id or case number")
]
#: A photo of a case's work in a path.
PhotoId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The photo's id")]

#: A code or name filter: any text but control characters (PostgreSQL cannot hold NUL)
Code = Annotated[str | None, Query(pattern=r"^[^\x00-\x1f\x7f]{1,64}$")]
#: A case category code or prefix (E05, E0502)
Category = Annotated[
    str | None,
    Query(max_length=8, pattern="^[A-Z][0-9A-Z]*$", description="Category code or prefix"),
]
#: An edit's ``?dry_run=true``: the impact without storing anything.
DryRun = Annotated[bool, Query(description="Compute the impact, store nothing.")]
PlanId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The plan's id")]

#: A point's coordinates in a query, in the CRS ``crs`` names.
Lon = Annotated[float, Query(ge=-180, le=180, description="Longitude", examples=[120.62])]
Lat = Annotated[float, Query(ge=-90, le=90, description="Latitude", examples=[31.31])]
Crs = Annotated[
    str, Query(description="wgs84 | cgcs2000 | gcj02 | bd09 (or EPSG:n)", examples=["gcj02"])
]
