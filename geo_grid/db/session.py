"""Engines and sessions built from settings: the one way the rest of the code reaches the database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from geo_grid.db.cluster import LocalCluster
from geo_grid.errors import DatabaseUnavailable
from geo_grid.settings import Settings, get_settings

__all__ = [
    "UNREACHABLE",
    "database_url",
    "error_line",
    "get_engine",
    "held_session",
    "local_cluster",
    "session_scope",
    "stored_tables",
]

#: What "the database is unreachable" looks like to a caller: no server configured or started,
#: the connection refused, dropped or timed out (OperationalError), used after the server closed
#: it (InterfaceError), or no pooled connection free in time. Callers that can wait for the
#: database to come back (the warm-up, the escalation ticker) retry on these and on nothing else.
UNREACHABLE: tuple[type[Exception], ...] = (
    DatabaseUnavailable,
    OperationalError,
    InterfaceError,
    PoolTimeout,
)


def local_cluster(settings: Settings | None = None) -> LocalCluster:
    """The private cluster under ``<home>/pg``."""
    settings = settings or get_settings()
    return LocalCluster(settings.cluster_dir)


def database_url(settings: Settings | None = None) -> str:
    """``GEO_GRID_DATABASE_URL`` when set, else the running local cluster's socket URL."""
    settings = settings or get_settings()
    if settings.database_url:
        url = settings.database_url
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg2://" + url.split("://", 1)[1]
        return url
    cluster = local_cluster(settings)
    if not cluster.running():
        raise DatabaseUnavailable(
            "the local database is not running: run `geo-grid db start` "
            "(or set GEO_GRID_DATABASE_URL)"
        )
    return cluster.url


def error_line(exc: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's SQL echo and background link.

    Logs and ``/health`` say why the database is unreachable in one line, e.g. ``connection to
    server on socket "/tmp/pg/.s.PGSQL.5432" failed: No such file or directory``.

    >>> error_line(OperationalError("SELECT 1", {}, Exception("refused\\nIs it running?")))
    'refused'
    """
    detail = getattr(exc, "orig", None) or getattr(exc, "message", None) or exc
    lines = str(detail).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


#: Seconds libpq waits for a server to accept a connection (libpq's own default is forever): a
#: request or a health check during an outage must fail in seconds, not hang a worker thread.
CONNECT_TIMEOUT_S = 2


def _connect_args(url: str) -> dict[str, int]:
    """``connect_timeout`` unless the URL sets its own (an operator's explicit choice wins)."""
    return (
        {} if "connect_timeout" in make_url(url).query else {"connect_timeout": CONNECT_TIMEOUT_S}
    )


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    # pool_pre_ping: a pooled connection that died with a server restart is replaced on checkout,
    # so the first request after a restart works instead of answering 503 once per pooled slot
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args=_connect_args(url),
        future=True,
    )


def get_engine(url: str | None = None) -> Engine:
    """A pooled engine per URL (cached: invalidated only by process exit or ``dispose``)."""
    return _engine_for(url or database_url())


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error, always close."""
    factory = sessionmaker(bind=engine or get_engine(), expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


#: Each thread's own held connection (:func:`held_session`), kept across units of work (no pool
#: checkout each time), replaced when the engine changes (settings) or the connection broke.
_held = threading.local()


def _alive(conn) -> bool:
    """One round trip, before anything is written: after a PostgreSQL restart the next unit of
    work then runs on a new connection instead of failing on the dead one."""
    try:
        conn.exec_driver_sql("SELECT 1")
        conn.rollback()
        return True
    except DBAPIError:
        return False


@contextmanager
def held_session() -> Iterator[Session]:
    """A session on this thread's held connection: commit on success, roll back on any error.

    For a long-lived worker thread that writes often (the case intake writer): it skips the pool
    checkout and pre-ping of :func:`session_scope` but pings the held connection itself, so a
    PostgreSQL restart costs one reconnect, not a failed unit of work.
    """
    engine, conn = get_engine(), getattr(_held, "connection", None)
    stale = conn is None or _held.engine is not engine or conn.closed or conn.invalidated
    if stale or not _alive(conn):
        if conn is not None:
            conn.close()
        conn = engine.connect()
        _held.engine, _held.connection = engine, conn
    session = Session(bind=conn, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        if conn.invalidated:
            conn.close()
            _held.engine = _held.connection = None
        raise
    finally:
        session.close()


def stored_tables(engine: Engine | None = None) -> list[str]:
    """``schema.table`` of every table the database holds besides those extensions own.

    Empty for a freshly created database, even one with PostGIS installed (its
    ``spatial_ref_sys`` belongs to the extension): what ``geo-grid db restore`` asks before it
    writes, so a restore never overwrites a store by accident.
    """
    sql = text(
        """SELECT n.nspname || '.' || c.relname
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'p')
             AND n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname NOT LIKE 'pg\\_toast%'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d
                             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                               AND d.deptype = 'e')
           ORDER BY 1"""
    )
    with (engine or get_engine()).connect() as conn:
        return list(conn.execute(sql).scalars())
