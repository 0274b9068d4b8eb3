"""Helpers every repository shares: COPY of a frame, quoted identifiers, WKB frames, bbox binds.

Private to :mod:`geo_grid.db.repos`: the one way this package bulk-loads (COPY with hex EWKB, an
order of magnitude faster than INSERTs for the 100,000-address library), puts names that cannot
be bound into SQL (quoted by the driver, never pasted as text) and turns a SELECT with a WKB
``geom`` column into a GeoDataFrame.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg2
import shapely
from psycopg2 import sql as psql
from sqlalchemy import Result, TextClause, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from geo_grid.db.models.store import SRID

__all__ = [
    "bbox_params",
    "composed",
    "copy_frame",
    "identifiers",
    "read_table_frame",
    "result_frame",
]


def _ewkb(geoms: Sequence | np.ndarray) -> np.ndarray:
    arr = shapely.set_srid(np.asarray(geoms, dtype=object), SRID)
    return shapely.to_wkb(arr, hex=True, include_srid=True)


def _utc_text(values: pd.Series) -> pd.Series:
    """Aware timestamps as ISO text in UTC (NaT: None), in one numpy call: ``to_csv`` formats
    each one in Python, 7 s for a district's 190,000 case events on a busy machine.

    >>> _utc_text(pd.Series(pd.to_datetime(["2026-06-01 08:00+08:00", None], utc=True))).tolist()
    ['2026-06-01T00:00:00.000000+00:00', None]
    """
    utc = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    text = np.char.add(np.datetime_as_string(utc, unit="us"), "+00:00").astype(object)
    text[np.isnat(utc)] = None
    return pd.Series(text, index=values.index, dtype=object)


def copy_frame(session: Session, table: str, frame: pd.DataFrame, columns: Sequence[str]) -> int:
    """COPY ``frame[columns]`` into ``table``; a ``geom`` column must hold shapely geometries.

    Runs on the session's own connection, inside its transaction.
    """
    if frame.empty:
        return 0
    out = frame.loc[:, list(columns)].copy()
    if "geom" in out.columns:
        out["geom"] = _ewkb(out["geom"].to_numpy())
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = _utc_text(out[col])
        elif out[col].dtype == object:
            out[col] = out[col].map(lambda v: None if v is None or v is pd.NA else v)
    buf = io.StringIO()
    out.to_csv(buf, index=False, header=False, na_rep="\\N")
    buf.seek(0)
    raw = session.connection().connection.dbapi_connection
    statement = (
        psql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, NULL '\\N')")
        .format(psql.Identifier(table), identifiers(columns))
        .as_string(raw)
    )
    with raw.cursor() as cur:
        try:
            cur.copy_expert(statement, buf)
        except psycopg2.Error as exc:  # surface as SQLAlchemy's classes, like any other statement
            raise DBAPIError.instance(statement, None, exc, psycopg2.Error) from exc
    return len(out)


def identifiers(names: Iterable[str]) -> psql.Composed:
    """``"a", "b", "c"``: column or table names quoted by the driver, for lists that vary."""
    return psql.SQL(", ").join(psql.Identifier(name) for name in names)


def composed(session: Session, statement: psql.Composable) -> TextClause:
    """A :mod:`psycopg2.sql` composition as a SQLAlchemy statement (values still bound ``:name``).

    The one way this package puts names that cannot be bound (column lists, fixed clauses chosen
    from a table in code) into SQL: identifiers are quoted by the driver, never pasted as text.
    """
    return text(statement.as_string(session.connection().connection.dbapi_connection))


def result_frame(result: Result, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows of a SELECT as a DataFrame (``columns``: the result's own names by default).

    Made of plain tuples: pandas probes each SQLAlchemy ``Row`` it is given for the attributes
    of a dataclass or a named tuple, and a ``Row`` answers each probe with a raised and caught
    error, 1 µs after 1 µs: ten times the cost of the rows themselves (1.5 s of CPU for the
    demo's 100,000 addresses, paid by every geocoder build; 0.2 s for a page of 20,000 cases).
    """
    names = list(result.keys()) if columns is None else list(columns)
    return pd.DataFrame([tuple(row) for row in result], columns=names)


def read_table_frame(
    session: Session, sql: str, params: dict[str, Any] | None = None
) -> gpd.GeoDataFrame:
    """Run a SELECT whose ``geom`` column is WKB (``ST_AsBinary``); return a GeoDataFrame in 4490."""
    frame = result_frame(session.execute(text(sql), params or {}))
    wkb = [bytes(g) if g is not None else None for g in frame.pop("geom")]
    geoms = shapely.from_wkb(np.asarray(wkb, dtype=object)) if wkb else []
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=SRID, index=frame.index))


def bbox_params(bbox: Sequence[float] | None) -> dict[str, float | None]:
    """``minx, miny, maxx, maxy`` parameters of a lon/lat box, all None without one."""
    values = (None,) * 4 if bbox is None else tuple(float(v) for v in bbox)
    return dict(zip(("minx", "miny", "maxx", "maxy"), values, strict=True))
