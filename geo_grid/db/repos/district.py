"""SQL of the districts and their reference data: district profiles, admin areas, buildings, the
standard address library, people and the roster.

Every row of those tables belongs to one district (``district_code``); reads take ``districts``
(a list of codes, None: every district) and writes the ``district`` the rows belong to. Like every
repository, functions take ``session`` and never commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from psycopg2 import sql as psql
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.address import LIBRARY_COMPONENTS, DistrictNames
from geo_grid.db.repos._sql import (
    composed,
    copy_frame,
    identifiers,
    read_table_frame,
    result_frame,
)
from geo_grid.districts import DistrictProfile
from geo_grid.errors import Conflict
from geo_grid.roster import RosterRole

__all__ = [
    "ADDRESS_FIELDS",
    "add_role",
    "admin_names",
    "delete_admin_areas",
    "ensure_roles",
    "people_elsewhere",
    "district_exists",
    "districts_fingerprint",
    "insert_addresses",
    "insert_admin_areas",
    "insert_buildings",
    "insert_roster",
    "read_address_library",
    "read_admin_areas",
    "read_district_outlines",
    "read_districts",
    "read_place_points",
    "read_roles",
    "read_roster",
    "roster_fingerprint",
    "replace_addresses",
    "replace_roster",
    "upsert_district",
]


def _codes(districts: Iterable[str] | None) -> list[str] | None:
    """A ``districts`` argument as a bound array (None: no filter)."""
    return None if districts is None else list(districts)


# ---------------------------------------------------------------------------------- districts
def upsert_district(session: Session, profile: DistrictProfile, outline: Any) -> None:
    """Store a district's profile and outline (EPSG:4490), replacing the one of the same code.

    The bounds are derived by PostgreSQL from the outline (generated columns), and ``updated_at``
    moves on, which is what the profile caches of every process watch.
    """
    band = profile.household_band or (None, None)
    session.execute(
        text(
            """INSERT INTO district (code, name, city, province, local_crs, time_zone,
                   household_band_min, household_band_max, indicator_thresholds, outline)
               VALUES (:code, :name, :city, :province, :crs, :tz, :bmin, :bmax,
                   CAST(:thresholds AS jsonb), ST_Multi(ST_GeomFromWKB(:wkb, 4490)))
               ON CONFLICT (code) DO UPDATE SET name = excluded.name, city = excluded.city,
                   province = excluded.province, local_crs = excluded.local_crs,
                   time_zone = excluded.time_zone,
                   household_band_min = excluded.household_band_min,
                   household_band_max = excluded.household_band_max,
                   indicator_thresholds = excluded.indicator_thresholds,
                   outline = excluded.outline, updated_at = now()"""
        ),
        {
            "code": profile.code, "name": profile.name, "city": profile.names.city,
            "province": profile.names.province, "crs": profile.local_crs,
            "tz": profile.time_zone, "bmin": band[0], "bmax": band[1],
            "thresholds": None if profile.thresholds is None else json.dumps(profile.thresholds),
            "wkb": shapely.to_wkb(outline),
        },
    )  # fmt: skip


_DISTRICT_SELECT = """SELECT code, name, city, province, local_crs, time_zone, household_band_min,
                             household_band_max, indicator_thresholds,
                             min_lon, min_lat, max_lon, max_lat
                      FROM district
                      WHERE CAST(:codes AS text[]) IS NULL OR code = ANY(:codes)
                      ORDER BY code"""


def read_districts(
    session: Session, districts: Iterable[str] | None = None
) -> list[DistrictProfile]:
    """The profiles of the stored districts (of ``districts`` only, when given), by code."""
    rows = session.execute(text(_DISTRICT_SELECT), {"codes": _codes(districts)}).mappings()
    return [_profile(r) for r in rows]


def _profile(row: Any) -> DistrictProfile:
    band = row["household_band_min"], row["household_band_max"]
    return DistrictProfile(
        DistrictNames(row["code"], row["name"], row["city"], row["province"]),
        row["local_crs"],
        (row["min_lon"], row["min_lat"], row["max_lon"], row["max_lat"]),
        time_zone=row["time_zone"],
        household_band=None if band[0] is None else (int(band[0]), int(band[1])),
        thresholds=row["indicator_thresholds"],
    )


def read_district_outlines(
    session: Session, districts: Iterable[str] | None = None
) -> gpd.GeoDataFrame:
    """``code, name, geometry`` of the districts' outlines (EPSG:4490): the locate index's
    district layer and the maps' frame."""
    sql = """SELECT code, name, ST_AsBinary(outline) AS geom FROM district
             WHERE CAST(:codes AS text[]) IS NULL OR code = ANY(:codes) ORDER BY code"""
    return read_table_frame(session, sql, {"codes": _codes(districts)})


def districts_fingerprint(session: Session) -> tuple[int, Any]:
    """(count, latest change) of the district table: what profile caches are keyed by."""
    row = session.execute(text("SELECT count(*), max(updated_at) FROM district")).one()
    return int(row[0]), row[1]


def district_exists(session: Session, code: str) -> bool:
    return (
        session.execute(text("SELECT 1 FROM district WHERE code = :c"), {"c": code}).first()
        is not None
    )


# ---------------------------------------------------------------------------------- admin areas
ADMIN_COLUMNS = (
    "code", "name", "short_name", "level", "district_code", "parent_code", "kind", "area_m2",
    "geom",
)  # fmt: skip


def insert_admin_areas(session: Session, areas: gpd.GeoDataFrame, *, district: str) -> int:
    """COPY admin areas of ``district`` (their codes must start with it: a CHECK refuses others)."""
    missing = [None] * len(areas)
    frame = pd.DataFrame(
        {c: areas[c].to_numpy() if c in areas else missing for c in ADMIN_COLUMNS[:-1]}
    )
    frame["district_code"] = district
    frame["geom"] = areas.geometry.to_numpy()
    return copy_frame(session, "admin_area", frame, ADMIN_COLUMNS)


def read_admin_areas(
    session: Session,
    *,
    level: str | None = None,
    parent: str | None = None,
    districts: Iterable[str] | None = None,
    outlined: bool = True,
) -> gpd.GeoDataFrame:
    """Admin areas, optionally of one level, one parent and some districts (None: all).

    ``outlined`` (the default, what every spatial reader wants) leaves out the streets and
    communities known by name and code only (no outline yet); False lists them too, with a
    None geometry."""
    sql = """SELECT code, name, short_name, level, district_code, parent_code, kind, area_m2,
                    ST_AsBinary(geom) AS geom
             FROM admin_area
             WHERE (CAST(:level AS text) IS NULL OR level = :level)
               AND (CAST(:parent AS text) IS NULL OR parent_code = :parent)
               AND (CAST(:codes AS text[]) IS NULL OR district_code = ANY(:codes))
               AND (NOT :outlined OR geom IS NOT NULL)
             ORDER BY code"""
    params = {"level": level or None, "parent": parent or None, "codes": _codes(districts),
              "outlined": outlined}  # fmt: skip
    return read_table_frame(session, sql, params)


def delete_admin_areas(session: Session, *, district: str) -> int:
    """Delete a district's admin areas (before storing them anew); the count."""
    result = session.execute(
        text("DELETE FROM admin_area WHERE district_code = :d"), {"d": district}
    )
    return int(result.rowcount or 0)


def admin_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """``{code: name}`` of the admin areas among ``codes`` (unknown codes are left out)."""
    rows = session.execute(
        text("SELECT code, name FROM admin_area WHERE code = ANY(:c)"), {"c": list(codes)}
    )
    return dict(rows.all())


# ---------------------------------------------------------------------------------- buildings
BUILDING_COLUMNS = (
    "code", "name", "district_code", "community_code", "xiaoqu", "households", "floors", "kind",
    "geom",
)  # fmt: skip


def insert_buildings(session: Session, buildings: gpd.GeoDataFrame, *, district: str) -> int:
    """COPY building footprints (EPSG:4490) of ``district`` with their households, floors, kind."""
    frame = pd.DataFrame(
        {c: buildings[c].to_numpy() for c in BUILDING_COLUMNS[:-1] if c != "district_code"}
    )
    frame["district_code"] = district
    frame["households"] = buildings["households"].astype(int).to_numpy()
    frame["floors"] = buildings["floors"].astype("Int64").to_numpy()
    frame["geom"] = buildings.geometry.to_numpy()
    return copy_frame(session, "building", frame, BUILDING_COLUMNS)


# ---------------------------------------------------------------------------------- roster

ROSTER_COLUMNS = (
    "person_id", "district_code", "role", "layer_key", "grid_code", "department",
    "linked_households",
)  # fmt: skip


def read_roster(
    session: Session,
    *,
    layer: str | None = None,
    codes: Iterable[str] | None = None,
    districts: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Active roster rows joined to people, optionally of one layer, some grid codes and some
    districts (phones included: callers decide what to show). Department grid codes are unique
    within their district only: the ``district`` column tells them apart."""
    sql = """SELECT p.id AS person_id, p.name, p.phone, r.role, r.layer_key AS layer, r.grid_code,
                    r.department, r.linked_households, r.district_code AS district,
                    rr.duty, rr.name_zh AS role_name
             FROM roster r JOIN person p ON p.id = r.person_id
             JOIN roster_role rr ON rr.district_code = r.district_code AND rr.key = r.role
             WHERE r.active AND (CAST(:layer AS text) IS NULL OR r.layer_key = :layer)
               AND (CAST(:codes AS text[]) IS NULL OR r.grid_code = ANY(:codes))
               AND (CAST(:districts AS text[]) IS NULL OR r.district_code = ANY(:districts))
             ORDER BY r.layer_key, r.grid_code, r.role, p.id"""
    params = {
        "layer": layer, "codes": None if codes is None else list(codes),
        "districts": _codes(districts),
    }  # fmt: skip
    result = session.execute(text(sql), params)
    return result_frame(result)


def roster_fingerprint(session: Session, district: str) -> tuple[int, int, int]:
    """(active entries, largest id, sum of active ids) of a district's roster: what a page that
    shows the roster is cached by. A roster import replaces rows (new ids), a publish or an
    edit adds or deactivates them: each changes it."""
    row = session.execute(
        text(
            "SELECT count(*) FILTER (WHERE active), coalesce(max(id), 0), "
            "coalesce(sum(id) FILTER (WHERE active), 0) FROM roster WHERE district_code = :d"
        ),
        {"d": district},
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def roster_assignments(
    session: Session, *, layer: str, district: str, codes: Iterable[str] | None = None
) -> pd.DataFrame:
    """Who is on the active roster of which grid (``id`` of the row, ``grid_code``,
    ``person_id``, ``role``) of one layer in one district, optionally some grid codes only:
    :func:`read_roster` without the people's names and phones, for counting a whole layer's
    people on duty quickly, and what a plan's publish moves or retires by row."""
    result = session.execute(
        text(
            """SELECT id, grid_code, person_id, role FROM roster
               WHERE active AND layer_key = :layer AND district_code = :district
                 AND (CAST(:codes AS text[]) IS NULL OR grid_code = ANY(:codes))
               ORDER BY grid_code, role, person_id, id"""
        ),
        {"layer": layer, "district": district, "codes": None if codes is None else list(codes)},
    )
    return pd.DataFrame(result.fetchall(), columns=["id", "grid_code", "person_id", "role"])


def insert_roster(session: Session, roster: pd.DataFrame, *, district: str) -> tuple[int, int]:
    """COPY the people of ``district`` (``person_id``, ``name``, ``phone``; once each) and their
    roles (``role``, ``layer``, ``grid_code``, ``department``, ``linked_households``); returns
    (people, roles)."""
    people = roster.drop_duplicates("person_id")[["person_id", "name", "phone"]].copy()
    people["district_code"] = district
    n_people = copy_frame(
        session, "person", people.rename(columns={"person_id": "id"}),
        ("id", "name", "phone", "district_code"),
    )  # fmt: skip
    roles = roster.rename(columns={"layer": "layer_key"}).copy()
    roles["district_code"] = district
    roles = roles[list(ROSTER_COLUMNS)]
    roles["linked_households"] = roles["linked_households"].astype("Int64")
    return n_people, copy_frame(session, "roster", roles, ROSTER_COLUMNS)


def people_elsewhere(session: Session, ids: Iterable[str], *, district: str) -> list[str]:
    """The ids among ``ids`` that are people of another district (a person id is store-wide)."""
    rows = session.execute(
        text("SELECT id FROM person WHERE id = ANY(:ids) AND district_code <> :d ORDER BY id"),
        {"ids": list(ids), "d": district},
    )
    return [r[0] for r in rows]


def replace_roster(
    session: Session, roster: pd.DataFrame, *, district: str, layers: Iterable[str]
) -> tuple[int, int]:
    """Replace the roster of ``layers`` in ``district`` by ``roster`` (:data:`geo_grid.roster.
    ROSTER_COLUMNS`): its rows of those layers are deleted, its people updated or added (people
    of the district no longer on any roster are kept: accounts may name them); (people, roles)."""
    session.execute(
        text("DELETE FROM roster WHERE district_code = :d AND layer_key = ANY(:layers)"),
        {"d": district, "layers": list(layers)},
    )
    people = roster.drop_duplicates("person_id")[["person_id", "name", "phone"]]
    session.execute(
        text(
            """INSERT INTO person (id, name, phone, district_code) VALUES (:id, :name, :phone, :d)
               ON CONFLICT (id) DO UPDATE SET name = excluded.name, phone = excluded.phone"""
        ),
        [
            {"id": r.person_id, "name": r.name, "phone": r.phone, "d": district}
            for r in people.itertuples(index=False)
        ],
    )
    roles = roster.rename(columns={"layer": "layer_key"}).copy()
    roles["district_code"] = district
    roles["linked_households"] = roles["linked_households"].astype("Int64")
    return len(people), copy_frame(session, "roster", roles, ROSTER_COLUMNS)


# ---------------------------------------------------------------------------------- roles
_ROLE_INSERT = """INSERT INTO roster_role (district_code, key, name_zh, duty, department)
                  VALUES (:d, :key, :name_zh, :duty, :department)"""


def ensure_roles(session: Session, roles: Iterable[RosterRole], *, district: str) -> None:
    """Give ``district`` the roles it lacks (the defaults when a district is stored)."""
    params = [{"d": district, **r.to_dict()} for r in roles]
    session.execute(text(_ROLE_INSERT + " ON CONFLICT DO NOTHING"), params)


def add_role(session: Session, role: RosterRole, *, district: str) -> None:
    """Add one role to ``district``; :class:`Conflict` when its key or name is taken."""
    taken = session.execute(
        text(
            "SELECT key, name_zh FROM roster_role WHERE district_code = :d "
            "AND (key = :k OR name_zh = :n)"
        ),
        {"d": district, "k": role.key, "n": role.name_zh},
    ).first()
    if taken is not None:
        field = "key" if taken[0] == role.key else "name_zh"
        raise Conflict(
            f"{field}: district {district} has a role {taken[0]} ({taken[1]}) already",
            field=field,
        )
    session.execute(text(_ROLE_INSERT), {"d": district, **role.to_dict()})


def read_roles(session: Session, *, district: str) -> list[RosterRole]:
    """A district's roster roles, in the order of their duties, then key."""
    rows = session.execute(
        text(
            """SELECT key, name_zh, duty, department FROM roster_role WHERE district_code = :d
               ORDER BY array_position(ARRAY['grid_worker', 'grid_leader', 'dept_member',
                        'police', 'party_household', 'none'], duty), created_at, key"""
        ),
        {"d": district},
    ).mappings()
    return [RosterRole(**r) for r in rows]


# ---------------------------------------------------------------------------------- addresses
ADDRESS_FIELDS = (
    "full_text", "local_text", "street_code", "community_code", *LIBRARY_COMPONENTS,
    "building_code",
)  # fmt: skip


def insert_addresses(session: Session, addresses: gpd.GeoDataFrame, *, district: str) -> int:
    """COPY the standard address library of ``district`` (``address_id``,
    :data:`ADDRESS_FIELDS`, points). Ids are the caller's, unique across the store."""
    cols = ("id", "district_code", *ADDRESS_FIELDS, "geom")
    frame = pd.DataFrame({c: addresses[c].to_numpy() for c in ADDRESS_FIELDS})
    frame.insert(0, "district_code", district)
    frame.insert(0, "id", addresses["address_id"].astype("int64").to_numpy())
    frame["geom"] = addresses.geometry.to_numpy()
    return copy_frame(session, "address", frame, cols)


def replace_addresses(session: Session, addresses: gpd.GeoDataFrame, *, district: str) -> int:
    """Replace the standard address library of ``district`` by ``addresses`` (as
    :func:`insert_addresses` takes them); the other districts' are not touched."""
    session.execute(text("DELETE FROM address WHERE district_code = :d"), {"d": district})
    return insert_addresses(session, addresses, district=district)


def read_address_library(session: Session, *, district: str | None = None) -> pd.DataFrame:
    """The standard address library (of one district, when given) with lon/lat (EPSG:4490),
    ordered by id."""
    sql = psql.SQL(
        "SELECT id AS address_id, {}, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM address "
        "WHERE CAST(:d AS text) IS NULL OR district_code = :d ORDER BY id"
    ).format(identifiers(ADDRESS_FIELDS))
    result = session.execute(composed(session, sql), {"d": district})
    return result_frame(result)


def read_place_points(session: Session, *, district: str) -> pd.DataFrame:
    """The named points of ``district``'s address library: one row per address that names a
    road (with its door number), a 小区 or a village (``kind``, ``name``, ``door_no``,
    ``community_code``, ``street_code``, ``lon``, ``lat`` in EPSG:4490); what the map's search
    finds and its base map draws roads from."""
    sql = """SELECT kind, name, door_no, community_code, street_code, lon, lat FROM (
               SELECT 'road' AS kind, road AS name, door_no, community_code, street_code,
                      ST_X(geom) AS lon, ST_Y(geom) AS lat, id
               FROM address WHERE district_code = :d AND road IS NOT NULL
               UNION ALL
               SELECT 'xiaoqu', xiaoqu, NULL, community_code, street_code, ST_X(geom),
                      ST_Y(geom), id
               FROM address WHERE district_code = :d AND xiaoqu IS NOT NULL
               UNION ALL
               SELECT 'village', village, NULL, community_code, street_code, ST_X(geom),
                      ST_Y(geom), id
               FROM address WHERE district_code = :d AND village IS NOT NULL
             ) AS named ORDER BY kind, name, id"""
    result = session.execute(text(sql), {"d": district})
    columns = list(result.keys())
    # plain tuples: a DataFrame of 100,000 Row objects takes pandas seconds longer to build
    return pd.DataFrame.from_records([tuple(r) for r in result.fetchall()], columns=columns)
