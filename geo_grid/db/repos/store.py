"""SQL of the store as a whole: the ``meta`` key/value facts (e.g. which demo seed is loaded), the
PostGIS version for ``/health``, and clearing one district before the demo is loaded again.

Like every repository, functions take ``session`` and never commit.
"""

from __future__ import annotations

from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from geo_grid.db.repos.grids import counts_by_layer
from geo_grid.errors import DatabaseUnavailable

__all__ = [
    "clear_district",
    "get_meta",
    "health_facts",
    "meta_with_prefix",
    "postgis_version",
    "set_meta",
]


def get_meta(session: Session, key: str) -> str | None:
    return session.execute(text("SELECT value FROM meta WHERE key = :k"), {"k": key}).scalar()


def set_meta(session: Session, key: str, value: str) -> None:
    session.execute(
        text(
            "INSERT INTO meta (key, value) VALUES (:k, :v) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()"
        ),
        {"k": key, "v": value},
    )


def meta_with_prefix(session: Session, prefix: str) -> dict[str, str]:
    """``{key: value}`` of the ``meta`` rows whose key starts with ``prefix``."""
    rows = session.execute(
        text("SELECT key, value FROM meta WHERE starts_with(key, :p) ORDER BY key"), {"p": prefix}
    )
    return dict(rows.all())


def postgis_version(session: Session) -> str | None:
    """The PostGIS library version the server runs (``/health`` reports it)."""
    return session.execute(text("SELECT postgis_lib_version()")).scalar()


def health_facts(session: Session) -> dict[str, Any]:
    """PostGIS version, schema revision and grid counts per district and published layer
    (``/health``).

    Any database error on the way means the store cannot serve (e.g. it was never migrated):
    :class:`DatabaseUnavailable`, with the driver's error as its cause (the reason logged).
    """
    try:
        return {
            "postgis": postgis_version(session),
            "schema": MigrationContext.configure(session.connection()).get_current_revision(),
            "districts": counts_by_layer(session),
        }
    except DBAPIError as exc:
        raise DatabaseUnavailable("database unavailable") from exc


#: What :func:`clear_district` empties, children before parents (cases, plans, checks and
#: accounts are not the district's reference data and are kept).
_DISTRICT_DELETES = (
    "DELETE FROM roster WHERE district_code = :d",
    "DELETE FROM person WHERE district_code = :d",
    "DELETE FROM address WHERE district_code = :d",
    "DELETE FROM building WHERE district_code = :d",
    "DELETE FROM grid WHERE district_code = :d",
    "DELETE FROM generation WHERE district_code = :d",
    "DELETE FROM admin_area WHERE district_code = :d",
)


def clear_district(session: Session, district: str) -> None:
    """Delete one district's people, roster, addresses, buildings, grids, generations and admin
    areas (``geo-grid demo load --force`` replaces a loaded demo in the same transaction); the
    other districts' rows are not touched."""
    for statement in _DISTRICT_DELETES:
        session.execute(text(statement), {"d": district})
