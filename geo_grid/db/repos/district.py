"""SQL of the district's reference data: admin areas, the roster and the standard address library.

Like every repository, functions take ``session`` and never commit.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from psycopg2 import sql as psql
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.address import LIBRARY_COMPONENTS
from geo_grid.db.repos._sql import composed, copy_frame, identifiers, read_table_frame

__all__ = [
    "ADDRESS_FIELDS",
    "insert_admin_areas",
    "read_address_library",
    "read_admin_areas",
    "read_roster",
]


# ---------------------------------------------------------------------------------- admin areas
ADMIN_COLUMNS = ("code", "name", "short_name", "level", "parent_code", "kind", "area_m2", "geom")


def insert_admin_areas(session: Session, areas: gpd.GeoDataFrame) -> int:
    missing = [None] * len(areas)
    frame = pd.DataFrame(
        {c: areas[c].to_numpy() if c in areas else missing for c in ADMIN_COLUMNS[:-1]}
    )
    frame["geom"] = areas.geometry.to_numpy()
    return copy_frame(session, "admin_area", frame, ADMIN_COLUMNS)


def read_admin_areas(
    session: Session, *, level: str | None = None, parent: str | None = None
) -> gpd.GeoDataFrame:
    sql = """SELECT code, name, short_name, level, parent_code, kind, area_m2,
                    ST_AsBinary(geom) AS geom
             FROM admin_area
             WHERE (CAST(:level AS text) IS NULL OR level = :level)
               AND (CAST(:parent AS text) IS NULL OR parent_code = :parent)
             ORDER BY code"""
    return read_table_frame(session, sql, {"level": level or None, "parent": parent or None})


# ---------------------------------------------------------------------------------- roster
def read_roster(session: Session, *, layer: str | None = None) -> pd.DataFrame:
    """Roster rows joined to people (phones included: callers decide what to show)."""
    sql = """SELECT p.id AS person_id, p.name, p.phone, r.role, r.layer_key AS layer, r.grid_code,
                    r.department, r.linked_households
             FROM roster r JOIN person p ON p.id = r.person_id
             WHERE r.active AND (CAST(:layer AS text) IS NULL OR r.layer_key = :layer)
             ORDER BY r.layer_key, r.grid_code, r.role, p.id"""
    result = session.execute(text(sql), {"layer": layer})
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


# ---------------------------------------------------------------------------------- addresses
ADDRESS_FIELDS = (
    "full_text", "local_text", "street_code", "community_code", *LIBRARY_COMPONENTS,
    "building_code",
)  # fmt: skip


def read_address_library(session: Session) -> pd.DataFrame:
    """The standard address library with lon/lat (EPSG:4490), ordered by id."""
    sql = psql.SQL(
        "SELECT id AS address_id, {}, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM address ORDER BY id"
    ).format(identifiers(ADDRESS_FIELDS))
    result = session.execute(composed(session, sql))
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
