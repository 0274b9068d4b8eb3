"""SQL for the map pages: Mapbox vector tiles from PostGIS and the small reads the pages need.

Vector tiles are built by PostGIS itself (``ST_AsMVT``): the tile envelope (``ST_TileEnvelope``,
Web Mercator) is transformed to storage CGCS2000 (EPSG:4490) once to use the spatial index, each
geometry is transformed 4490 → 3857 and clipped/quantized by ``ST_AsMVTGeom`` (4096 units a tile,
64 units of buffer so strokes do not show seams). Only published generations are served; the
caller passes the generation id (the cache key).

Like every repository (:mod:`geo_grid.db.repos`), functions take ``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.db.repos._sql import read_table_frame, result_frame
from geo_grid.errors import BadInput

__all__ = [
    "BUILDINGS",
    "EXTENT",
    "addresses_in",
    "buildings_in",
    "building_tile",
    "buildings_households",
    "case_points",
    "cases_fingerprint",
    "grid_tile",
    "latest_case_time",
    "open_case_counts",
]

EXTENT = 4096
_BUFFER = 64
#: The tile layer name of buildings (grid layers are served under their layer key).
BUILDINGS = "buildings"


def _check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= 22:
        raise BadInput(f"z: zoom {z} out of range 0–22", field="z")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise BadInput(f"x/y: tile {x}/{y} does not exist at zoom {z}", field="x")


_GRID_TILE = text(
    """
    WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS m),
    q AS (
      SELECT ST_AsMVTGeom(ST_Transform(g.geom, 3857), env.m, :extent, :buffer, true) AS geom,
             g.code, g.name, g.households
      FROM grid g, env
      WHERE g.generation_id = ANY(:gids) AND g.geom && ST_Transform(env.m, 4490)
    )
    SELECT ST_AsMVT(q.*, 'grids', :extent, 'geom') FROM q WHERE q.geom IS NOT NULL
    """
)

_BUILDING_TILE = text(
    """
    WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS m),
    q AS (
      SELECT ST_AsMVTGeom(ST_Transform(b.geom, 3857), env.m, :extent, :buffer, true) AS geom,
             b.code, b.name, b.xiaoqu, b.households, b.floors
      FROM building b, env
      WHERE b.geom && ST_Transform(env.m, 4490)
        AND (CAST(:districts AS text[]) IS NULL OR b.district_code = ANY(:districts))
    )
    SELECT ST_AsMVT(q.*, 'buildings', :extent, 'geom') FROM q WHERE q.geom IS NOT NULL
    """
)


def grid_tile(session: Session, *, generation_ids: Sequence[int], z: int, x: int, y: int) -> bytes:
    """One MVT tile (layer ``grids``: code, name, households) of some generations' grids (one
    layer's published generation in each district shown)."""
    _check_tile(z, x, y)
    params = {"z": z, "x": x, "y": y, "gids": list(generation_ids), "extent": EXTENT,
              "buffer": _BUFFER}  # fmt: skip
    return bytes(session.execute(_GRID_TILE, params).scalar() or b"")


def building_tile(
    session: Session, *, z: int, x: int, y: int, districts: Sequence[str] | None = None
) -> bytes:
    """One MVT tile (layer ``buildings``: code, name, xiaoqu, households, floors) of the
    buildings of ``districts`` (None: all)."""
    _check_tile(z, x, y)
    params = {"z": z, "x": x, "y": y, "extent": EXTENT, "buffer": _BUFFER,
              "districts": _list(districts)}  # fmt: skip
    return bytes(session.execute(_BUILDING_TILE, params).scalar() or b"")


def _list(districts: Sequence[str] | None) -> list[str] | None:
    return None if districts is None else list(districts)


def buildings_in(session: Session, *, generation_id: int, code: str) -> gpd.GeoDataFrame:
    """Buildings whose centre lies in the grid ``code`` of a generation."""
    sql = """SELECT b.code, b.name, b.xiaoqu, b.households, b.floors, ST_AsBinary(b.geom) AS geom
             FROM building b JOIN grid g ON g.generation_id = :gid AND g.code = :code
             WHERE b.geom && g.geom AND ST_Contains(g.geom, ST_PointOnSurface(b.geom))
             ORDER BY b.code"""
    return read_table_frame(session, sql, {"gid": generation_id, "code": code})


def addresses_in(
    session: Session, *, generation_id: int, code: str, limit: int = 5000
) -> gpd.GeoDataFrame:
    """Door-plate addresses (rooms left out: they share their building's point) in a grid."""
    sql = """SELECT a.id, a.full_text, ST_AsBinary(a.geom) AS geom
             FROM address a JOIN grid g ON g.generation_id = :gid AND g.code = :code
             WHERE a.geom && g.geom AND ST_Contains(g.geom, a.geom) AND a.room IS NULL
             ORDER BY a.id LIMIT :limit"""
    return read_table_frame(session, sql, {"gid": generation_id, "code": code, "limit": limit})


_OPEN = "status NOT IN ('closed', 'rated', 'rejected')"


_IN_DISTRICTS = "(CAST(:districts AS text[]) IS NULL OR district_code = ANY(:districts))"


def open_case_counts(session: Session, districts: Sequence[str] | None = None) -> dict[str, int]:
    """Open cases per unified grid code (in ``districts``; None: all)."""
    rows = session.execute(
        text(
            f'SELECT grid_code, count(*) FROM "case" WHERE {_OPEN} AND grid_code IS NOT NULL '  # noqa: S608
            f"AND {_IN_DISTRICTS} GROUP BY grid_code"
        ),
        {"districts": _list(districts)},
    )
    return {str(code): int(n) for code, n in rows}


def cases_fingerprint(session: Session, districts: Sequence[str] | None = None) -> tuple[int, Any]:
    """(count, latest update) of the cases (of ``districts``): what case pages are cached by."""
    row = session.execute(
        text(f'SELECT count(*), max(updated_at) FROM "case" WHERE {_IN_DISTRICTS}'),  # noqa: S608
        {"districts": _list(districts)},
    ).one()
    return int(row[0]), row[1]


def case_points(
    session: Session,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    category: str | None = None,
    area: Mapping[str, Any] | None = None,
    districts: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Cases received in ``[start, end)`` (optionally of one category or its prefix) of
    ``districts`` (None: all) for the map.

    ``area`` confines them to a viewer's street, community or grids
    (:func:`geo_grid.access.scope_filter`). Reporter names and phones are not selected: a map
    never shows them.
    """
    area = dict(area or {})
    sql = """SELECT id, number, category_code, status, grid_code, address_text, received_at,
                    ST_X(geom) AS lon, ST_Y(geom) AS lat
             FROM "case"
             WHERE (CAST(:start AS timestamptz) IS NULL OR received_at >= :start)
               AND (CAST(:end AS timestamptz) IS NULL OR received_at < :end)
               AND (CAST(:cat AS text) IS NULL OR category_code LIKE :cat || '%')
               AND (CAST(:street AS text) IS NULL OR street_code = :street)
               AND (CAST(:community AS text) IS NULL OR community_code = :community)
               AND (CAST(:grids AS text[]) IS NULL OR grid_code = ANY(:grids))
               AND (CAST(:prefix AS text) IS NULL OR starts_with(district_code, :prefix))
               AND (CAST(:districts AS text[]) IS NULL OR district_code = ANY(:districts))
             ORDER BY received_at, id"""
    grids = area.get("scope_grid_codes")
    params = {
        "start": start, "end": end, "cat": category, "street": area.get("scope_street_code"),
        "community": area.get("scope_community_code"),
        "grids": list(grids) if grids is not None else None,
        "prefix": area.get("scope_district_prefix"), "districts": _list(districts),
    }  # fmt: skip
    result = session.execute(text(sql), params)
    return result_frame(result)


def latest_case_time(session: Session, districts: Sequence[str] | None = None) -> datetime | None:
    """When the latest case (of ``districts``) was received (None without cases): where case pages
    end by default."""
    return session.execute(
        text(f'SELECT max(received_at) FROM "case" WHERE {_IN_DISTRICTS}'),  # noqa: S608
        {"districts": _list(districts)},
    ).scalar()


def buildings_households(
    session: Session, districts: Sequence[str] | None = None
) -> gpd.GeoDataFrame:
    """Every building's centre (of ``districts``) with its community and households (the
    service-station inputs)."""
    sql = f"""SELECT code, community_code, households, ST_AsBinary(ST_Centroid(geom)) AS geom
              FROM building WHERE {_IN_DISTRICTS} ORDER BY code"""  # noqa: S608
    return read_table_frame(session, sql, {"districts": _list(districts)})
