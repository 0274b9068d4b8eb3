"""Engines and sessions built from settings: the one way the rest of the code reaches the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from geo_grid.db.cluster import LocalCluster
from geo_grid.errors import DatabaseUnavailable
from geo_grid.settings import Settings, get_settings

__all__ = ["database_url", "get_engine", "session_scope", "local_cluster"]


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


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, future=True)


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
