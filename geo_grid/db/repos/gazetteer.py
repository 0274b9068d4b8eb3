"""Storage of the national gazetteer: the SQL behind :mod:`geo_grid.services.gazetteer`.

Like the other :mod:`geo_grid.db.repos`, every function takes ``session`` keyword-only and never commits.
The table is replaced whole (TRUNCATE, which PostgreSQL rolls back with the transaction, then
COPY): a load is all or nothing, and readers see the old rows until it commits.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.db.repos._sql import copy_frame

__all__ = [
    "GAZETTEER_COLUMNS",
    "count_gazetteer",
    "read_district_divisions",
    "read_gazetteer",
    "replace_gazetteer",
]

GAZETTEER_COLUMNS = ("code", "name", "level", "parent_code")


def replace_gazetteer(session: Session, frame: pd.DataFrame) -> int:
    """Replace every gazetteer row by ``frame`` (columns :data:`GAZETTEER_COLUMNS`); the count."""
    session.execute(text("TRUNCATE gazetteer"))
    return copy_frame(session, "gazetteer", frame, GAZETTEER_COLUMNS)


def count_gazetteer(session: Session) -> dict[str, int]:
    """Rows per level (empty when the gazetteer was never loaded)."""
    rows = session.execute(text("SELECT level, count(*) FROM gazetteer GROUP BY level"))
    return {level: int(n) for level, n in rows}


def read_gazetteer(session: Session, *, communities_of: Sequence[str] = ()) -> pd.DataFrame:
    """Provinces, cities, districts and streets of the whole country, and the communities of the
    districts ``communities_of`` only (620,000 communities nationally would cost ~400 MiB)."""
    sql = """SELECT code, name, level, parent_code FROM gazetteer
             WHERE level <> 'community'
             UNION ALL
             SELECT c.code, c.name, c.level, c.parent_code
             FROM gazetteer s JOIN gazetteer c ON c.parent_code = s.code
             WHERE s.parent_code = ANY(:districts) AND s.level = 'street'
             ORDER BY code"""
    result = session.execute(text(sql), {"districts": list(communities_of)})
    return pd.DataFrame(result.fetchall(), columns=list(GAZETTEER_COLUMNS))


def read_district_divisions(
    session: Session, district: str, *, nationally: bool = False
) -> pd.DataFrame:
    """One district's division, its province and city, and every street and community under it
    (what onboarding the district needs), by code; empty when the district is unknown.

    ``nationally`` adds every province, city and district of China (~3,500 rows): enough to tell
    an address of another district from one of this district, at a fraction of
    :func:`read_gazetteer`'s cost."""
    sql = """SELECT code, name, level, parent_code FROM gazetteer
             WHERE code = ANY(:above) OR left(code, 6) = :d
                OR (:nationally AND level IN ('province', 'city', 'district'))
             ORDER BY code"""
    above = [district[:2], district[:4], district]
    params = {"above": above, "d": district, "nationally": nationally}
    result = session.execute(text(sql), params)
    return pd.DataFrame(result.fetchall(), columns=list(GAZETTEER_COLUMNS))
