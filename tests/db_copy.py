"""A private copy of the test database for a module whose requests change what others read.

A helper module like :mod:`scratch_layers`: the schemathesis fuzz (which creates cases, changes
routing rules, publishes plans) and the planner's journey (which publishes the demo district's
unified layer) each run against a copy made with ``CREATE DATABASE … TEMPLATE``, so the rest of
the session never sees what they did.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

__all__ = ["copied_database", "reset_caches"]


def reset_caches() -> None:
    """Settings and engines are cached per URL: forget them after switching the database."""
    from geo_grid.db import session as db_session
    from geo_grid.services import index, maps
    from geo_grid.services.cases import rules
    from geo_grid.settings import get_settings

    get_settings.cache_clear()
    db_session._engine_for.cache_clear()
    index.invalidate()
    rules._forget_rules()
    maps.forget_pages()


@contextlib.contextmanager
def copied_database(source_url: str, prefix: str = "copy") -> Iterator[str]:
    """A copy of ``source_url``'s database that the process uses while the block runs.

    Postgres copies a database only while nobody else is connected to it, so the session's pooled
    connections are closed first and any connection still held (the case-intake writers keep one
    each) is ended; the app reconnects to whichever URL is current (pool pre-ping, writer ping).
    """
    from sqlalchemy import create_engine, make_url, text

    from geo_grid.db.session import get_engine

    source = make_url(source_url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    get_engine(source_url).dispose()
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": source.database},
        )
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"'))
    copy_url = source.set(database=name).render_as_string(hide_password=False)
    os.environ["GEO_GRID_DATABASE_URL"] = copy_url
    reset_caches()
    try:
        yield copy_url
    finally:
        get_engine(copy_url).dispose()
        os.environ["GEO_GRID_DATABASE_URL"] = source_url
        reset_caches()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
