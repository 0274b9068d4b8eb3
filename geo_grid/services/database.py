"""Database use cases: start the store, migrate it, report its health, dump and restore it."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from geo_grid.db import migrate, repos
from geo_grid.db.cluster import find_pg_bindir
from geo_grid.db.session import (
    UNREACHABLE,
    database_url,
    error_line,
    get_engine,
    local_cluster,
    session_scope,
    stored_tables,
)
from geo_grid.errors import BadInput, DatabaseUnavailable
from geo_grid.settings import Settings, get_settings

#: re-exported for the API and the CLI: what "the database is unreachable" looks like, and its
#: one-line reason (see :mod:`geo_grid.db.session`)
__all__ = [
    "UNREACHABLE",
    "dump",
    "error_line",
    "health",
    "migrate_to_head",
    "rebuild_indexes",
    "restore",
    "start",
    "status",
    "stop",
    "url",
]


def start(settings: Settings | None = None) -> str:
    """Start the local cluster (unless a URL is configured), migrate to head, return the URL."""
    settings = settings or get_settings()
    url = settings.database_url and database_url(settings)
    if not url:
        url = local_cluster(settings).start()
    migrate.upgrade(get_engine(url))
    rebuild_indexes()  # what a bulk load killed midway set aside (repos.bulk)
    return url


def _each_table(fn: Callable[[Any, str], Any], tables: Sequence[str], threads: int) -> float:
    """``fn(session, table)`` for every table, each in its own transaction, ``threads`` tables
    at a time (PostgreSQL builds each index on one core); the seconds it all took."""
    from concurrent.futures import ThreadPoolExecutor

    def one(table: str) -> None:
        with session_scope() as session:
            fn(session, table)

    started = time.perf_counter()
    with ThreadPoolExecutor(max(1, threads)) as pool:
        list(pool.map(one, tables))
    return time.perf_counter() - started


def rebuild_indexes(analyze: Sequence[str] = (), *, threads: int = 2) -> dict[str, float]:
    """Build the indexes a bulk load set aside (:mod:`geo_grid.db.repos.bulk`), each table in its
    own transaction, then refresh the statistics of ``analyze``; ``{"indexes": s, "analyze": s}``.

    Run by a load when it ends (however it ends) and by :func:`start`, for a load that was killed.
    """
    with session_scope() as session:
        deferred = repos.bulk.deferred_tables(session)
    first = [t for t in analyze if t in deferred]  # the caller's order: its largest first
    tables = first + [t for t in deferred if t not in first]
    out = {"indexes": _each_table(repos.bulk.rebuild, tables, threads)}
    if analyze:
        out["analyze"] = _each_table(lambda s, t: repos.bulk.analyze(s, [t]), analyze, threads)
    return out


def stop(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    if settings.database_url:
        raise BadInput(
            "GEO_GRID_DATABASE_URL is set: geo-grid does not stop servers it did not start"
        )
    local_cluster(settings).stop()


def status(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or get_settings()
    if settings.database_url:
        return {"mode": "external", "url": database_url(settings)}
    cluster = local_cluster(settings)
    info: dict[str, Any] = {
        "mode": "local",
        "path": str(cluster.root),
        "running": cluster.running(),
    }
    if info["running"]:
        info["url"] = cluster.url
        info["port"] = cluster.port
    return info


def health() -> dict[str, Any]:
    """Database reachable, PostGIS version, schema revision and grid counts per published layer
    (``grids``: every district's together; ``districts``: each one's).

    :class:`DatabaseUnavailable` when the store cannot answer (``error_line`` says why).
    """
    with session_scope() as session:
        facts = repos.store.health_facts(session)
    totals: dict[str, int] = {}
    for counts in facts["districts"].values():
        for layer, n in counts.items():
            totals[layer] = totals.get(layer, 0) + n
    return {"status": "ok", "database": "reachable", "grids": totals, **facts}


def url() -> str:
    """The SQLAlchemy URL of the store (the configured one, or the running local cluster's)."""
    return database_url()


def migrate_to_head() -> str | None:
    """Apply the Alembic migrations to the store; returns the schema revision reached."""
    engine = get_engine()
    migrate.upgrade(engine)
    return migrate.current(engine)


def _pg_tool(name: str) -> str:
    try:
        return str(find_pg_bindir() / name)
    except DatabaseUnavailable:
        return name  # a client-only install has pg_dump on the PATH


def _libpq_url() -> str:
    return database_url().replace("postgresql+psycopg2://", "postgresql://")


def dump(path: Path) -> Path:
    """``pg_dump -Fc`` of the whole store (schema, grids, history) to ``path``."""
    proc = subprocess.run(
        [_pg_tool("pg_dump"), "-Fc", "-f", str(path), "-d", _libpq_url()],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise DatabaseUnavailable(f"pg_dump failed: {proc.stderr.strip()[-300:]}")
    return path


def restore(path: Path, *, force: bool = False) -> None:
    """Restore a dump made by :func:`dump`, replacing what is stored (one transaction).

    Into an empty database only, unless ``force``: a restore never overwrites a store by accident.
    """
    if not Path(path).is_file():
        raise BadInput(f"{path}: no such dump file", field="path")
    if not force:
        tables = stored_tables()
        if tables:
            shown = ", ".join(tables[:3]) + (", ..." if len(tables) > 3 else "")
            raise BadInput(
                f"database: not empty ({len(tables)} tables: {shown}); restore into an empty "
                "database or pass --force to replace its contents",
                field="database",
            )
    proc = subprocess.run(
        [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "-d",
            _libpq_url(),
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise BadInput(f"{path}: pg_restore failed: {proc.stderr.strip()[-300:]}", field="path")
