"""SQL of the district's reference data: admin areas, buildings, the standard address library,
people and the roster.

Like every repository, functions take ``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import pandas as pd
from psycopg2 import sql as psql
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.address import LIBRARY_COMPONENTS
from geo_grid.db.repos._sql import composed, copy_frame, identifiers, read_table_frame

__all__ = [
    "ADDRESS_FIELDS",
    "admin_names",
    "insert_addresses",
    "insert_admin_areas",
    "insert_buildings",
    "insert_roster",
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


def admin_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """``{code: name}`` of the admin areas among ``codes`` (unknown codes are left out)."""
    rows = session.execute(
        text("SELECT code, name FROM admin_area WHERE code = ANY(:c)"), {"c": list(codes)}
    )
    return dict(rows.all())


# ---------------------------------------------------------------------------------- buildings
BUILDING_COLUMNS = (
    "code", "name", "community_code", "xiaoqu", "households", "floors", "kind", "geom",
)  # fmt: skip


def insert_buildings(session: Session, buildings: gpd.GeoDataFrame) -> int:
    """COPY building footprints (EPSG:4490) with their households, floors and kind."""
    frame = pd.DataFrame({c: buildings[c].to_numpy() for c in BUILDING_COLUMNS[:-1]})
    frame["households"] = buildings["households"].astype(int).to_numpy()
    frame["floors"] = buildings["floors"].astype("Int64").to_numpy()
    frame["geom"] = buildings.geometry.to_numpy()
    return copy_frame(session, "building", frame, BUILDING_COLUMNS)


# ---------------------------------------------------------------------------------- roster

ROSTER_COLUMNS = (
    "person_id", "role", "layer_key", "grid_code", "department", "linked_households",
)  # fmt: skip


def read_roster(
    session: Session, *, layer: str | None = None, codes: Iterable[str] | None = None
) -> pd.DataFrame:
    """Active roster rows joined to people, optionally of one layer and some grid codes (phones
    included: callers decide what to show)."""
    sql = """SELECT p.id AS person_id, p.name, p.phone, r.role, r.layer_key AS layer, r.grid_code,
                    r.department, r.linked_households
             FROM roster r JOIN person p ON p.id = r.person_id
             WHERE r.active AND (CAST(:layer AS text) IS NULL OR r.layer_key = :layer)
               AND (CAST(:codes AS text[]) IS NULL OR r.grid_code = ANY(:codes))
             ORDER BY r.layer_key, r.grid_code, r.role, p.id"""
    params = {"layer": layer, "codes": None if codes is None else list(codes)}
    result = session.execute(text(sql), params)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def insert_roster(session: Session, roster: pd.DataFrame) -> tuple[int, int]:
    """COPY the people (``person_id``, ``name``, ``phone``; once each) and their roles (``role``,
    ``layer``, ``grid_code``, ``department``, ``linked_households``); returns (people, roles)."""
    people = roster.drop_duplicates("person_id")[["person_id", "name", "phone"]]
    n_people = copy_frame(
        session, "person", people.rename(columns={"person_id": "id"}), ("id", "name", "phone")
    )
    roles = roster.rename(columns={"layer": "layer_key"})[list(ROSTER_COLUMNS)].copy()
    roles["linked_households"] = roles["linked_households"].astype("Int64")
    return n_people, copy_frame(session, "roster", roles, ROSTER_COLUMNS)


# ---------------------------------------------------------------------------------- addresses
ADDRESS_FIELDS = (
    "full_text", "local_text", "street_code", "community_code", *LIBRARY_COMPONENTS,
    "building_code",
)  # fmt: skip


def insert_addresses(session: Session, addresses: gpd.GeoDataFrame) -> int:
    """COPY the standard address library (``address_id``, :data:`ADDRESS_FIELDS`, points)."""
    cols = ("id", *ADDRESS_FIELDS, "geom")
    frame = pd.DataFrame({c: addresses[c].to_numpy() for c in ADDRESS_FIELDS})
    frame.insert(0, "id", addresses["address_id"].astype("int64").to_numpy())
    frame["geom"] = addresses.geometry.to_numpy()
    return copy_frame(session, "address", frame, cols)


def read_address_library(session: Session) -> pd.DataFrame:
    """The standard address library with lon/lat (EPSG:4490), ordered by id."""
    sql = psql.SQL(
        "SELECT id AS address_id, {}, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM address ORDER BY id"
    ).format(identifiers(ADDRESS_FIELDS))
    result = session.execute(composed(session, sql))
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
