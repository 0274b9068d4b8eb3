"""Engines and sessions built from settings: the one way the rest of the code reaches the database.

A database that cannot be reached surfaces above this package as one domain error,
:class:`~geo_grid.errors.DatabaseUnavailable`, never as a driver class: every engine built here
translates a refused, dropped or timed-out connection in SQLAlchemy's ``handle_error`` hook (which
sees every statement and every connect, including those outside a session), and
:func:`session_scope` and :func:`held_session` translate what reaches them by other ways (the
pool's checkout timeout, a raw-cursor COPY). The API and the CLI then map only domain errors.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import psycopg2
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from geo_grid.db.cluster import LocalCluster
from geo_grid.errors import DatabaseUnavailable
from geo_grid.settings import Settings, get_settings

__all__ = [
    "LOCK_NOT_AVAILABLE",
    "UNREACHABLE",
    "database_url",
    "error_line",
    "get_engine",
    "held_session",
    "is_unreachable",
    "local_cluster",
    "session_scope",
    "stored_tables",
]

#: What "the database is unreachable" looks like to a caller: only the domain error, because this
#: package translates every driver error that means it (see :func:`is_unreachable`). Callers that
#: can wait for the database to come back (the warm-up, the escalation ticker) retry on these.
UNREACHABLE: tuple[type[Exception], ...] = (DatabaseUnavailable,)

#: SQLSTATE of a lock not taken within ``lock_timeout`` (psycopg2 raises it as an
#: OperationalError): the database answered, a caller that set the timeout handles it.
LOCK_NOT_AVAILABLE = "55P03"

#: How psycopg2 words a connection that died under a statement: such an error can surface as a
#: class other than OperationalError (a statement on a socket the server already dropped).
_LOST_CONNECTION = (
    "server closed the connection",
    "connection already closed",
    "terminating connection",
    "could not connect",
    "connection refused",
)


def is_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` means the database cannot be reached (rather than a bad statement).

    No server configured or started (DatabaseUnavailable), the connection refused, dropped or timed
    out (OperationalError, in SQLAlchemy's or psycopg2's class), used after the server closed it
    (InterfaceError), no pooled connection free in time, or any driver error on a connection
    SQLAlchemy found dead or whose message says so.

    >>> is_unreachable(OperationalError("SELECT 1", {}, Exception("could not connect")))
    True
    >>> is_unreachable(DBAPIError("SELECT 1", {}, Exception("lost"), connection_invalidated=True))
    True
    >>> from sqlalchemy.exc import ProgrammingError
    >>> is_unreachable(ProgrammingError("SELECT nope", {}, Exception('column "nope" does not exist')))
    False
    """
    if getattr(getattr(exc, "orig", exc), "pgcode", None) == LOCK_NOT_AVAILABLE:
        return False  # the server is there: a lock was not free within the caller's timeout
    dead = (DatabaseUnavailable, OperationalError, InterfaceError, PoolTimeout)
    if isinstance(exc, dead + (psycopg2.OperationalError, psycopg2.InterfaceError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, DBAPIError | psycopg2.Error):
        said = str(getattr(exc, "orig", None) or exc).lower()
        return any(hint in said for hint in _LOST_CONNECTION)
    return False


def _unavailable(exc: BaseException) -> DatabaseUnavailable:
    """The domain error for an unreachable database; the driver's reason stays its ``__cause__``
    (logged through :func:`error_line`, never shown to an API client)."""
    if isinstance(exc, DatabaseUnavailable):
        return exc
    error = DatabaseUnavailable("database unavailable")
    error.__cause__ = exc
    return error


def _translate(context: ExceptionContext) -> None:
    """``handle_error`` hook of every engine: an unreachable database raises DatabaseUnavailable.

    A failed pre-ping is left alone: the pool replaces the dead pooled connection itself, which is
    how the first request after a PostgreSQL restart works. SQLAlchemy still invalidates the dead
    connection (and the pool) before the new error propagates.
    """
    if context.is_pre_ping:
        return
    exc = context.sqlalchemy_exception or context.original_exception
    if context.is_disconnect or is_unreachable(exc):
        raise _unavailable(exc)


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
    >>> error_line(_unavailable(OperationalError("SELECT 1", {}, Exception("refused"))))
    'refused'
    """
    if isinstance(exc, DatabaseUnavailable) and exc.__cause__ is not None:
        exc = exc.__cause__  # translated here: the driver's reason
    detail = getattr(exc, "orig", None) or getattr(exc, "message", None) or exc
    lines = str(detail).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


#: Seconds libpq waits for a server to accept a connection (libpq's own default is forever): a
#: request or a health check during an outage must fail in seconds, not hang a worker thread.
CONNECT_TIMEOUT_S = 2

#: Server options of every connection: no JIT compilation. PostgreSQL compiles a query whose
#: estimated cost passes ``jit_above_cost``, and small tables that were never analyzed (a
#: district's profile, the layers) are estimated at hundreds of rows, so the layer list's
#: correlated counts were compiled each time: 1.6 s of CPU for a query that runs in 10 ms, paid by
#: every map page (schemathesis: pages over 10 s). This application's queries are short; none
#: gains from JIT.
SERVER_OPTIONS = "-c jit=off"


def _connect_args(url: str) -> dict[str, int | str]:
    """``connect_timeout`` and :data:`SERVER_OPTIONS` unless the URL sets its own (an operator's
    explicit choice wins)."""
    query = make_url(url).query
    args: dict[str, int | str] = {}
    if "connect_timeout" not in query:
        args["connect_timeout"] = CONNECT_TIMEOUT_S
    if "options" not in query:
        args["options"] = SERVER_OPTIONS
    return args


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    # pool_pre_ping: a pooled connection that died with a server restart is replaced on checkout,
    # so the first request after a restart works instead of answering 503 once per pooled slot
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args=_connect_args(url),
        future=True,
    )
    event.listen(engine, "handle_error", _translate)
    return engine


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
    except BaseException as exc:
        session.rollback()
        if isinstance(exc, DatabaseUnavailable) or not is_unreachable(exc):
            raise
        raise _unavailable(exc) from exc  # a pool timeout, a raw-cursor COPY, ...
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
    except (DBAPIError, DatabaseUnavailable):  # the engine's hook translates a dead connection
        return False


#: A held connection that committed within this many seconds is used without a ping. The ping
#: is three round trips (BEGIN, SELECT 1, ROLLBACK); under load the intake writer paid 3-8 ms of
#: its 20-24 ms per batch for them on the city; a connection that just committed is alive. One
#: that died since fails its unit of work, whose caller retries it on a new connection.
HELD_PING_AFTER_S = 1.0


@contextmanager
def held_session() -> Iterator[Session]:
    """A session on this thread's held connection: commit on success, roll back on any error.

    For a long-lived worker thread that writes often (the case intake writer): it skips the pool
    checkout and pre-ping of :func:`session_scope` but pings the held connection itself when it
    has not committed for :data:`HELD_PING_AFTER_S`, so a PostgreSQL restart costs one reconnect,
    not a failed unit of work. A connection that dies within that second fails the unit of work
    in hand (:class:`DatabaseUnavailable`) and is dropped: the caller's retry gets a new one.
    """
    engine, conn = get_engine(), getattr(_held, "connection", None)
    stale = conn is None or _held.engine is not engine or conn.closed or conn.invalidated
    idle = time.monotonic() - getattr(_held, "used_at", 0.0) > HELD_PING_AFTER_S
    if stale or (idle and not _alive(conn)):
        if conn is not None:
            conn.close()
        conn = engine.connect()
        _held.engine, _held.connection = engine, conn
    session = Session(bind=conn, expire_on_commit=False)
    try:
        yield session
        session.commit()
        _held.used_at = time.monotonic()
    except BaseException as exc:
        session.rollback()
        if conn.invalidated:
            conn.close()
            _held.engine = _held.connection = None
        if isinstance(exc, DatabaseUnavailable) or not is_unreachable(exc):
            raise
        raise _unavailable(exc) from exc  # e.g. the raw-cursor batch INSERT on a dropped socket
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
