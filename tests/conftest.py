"""Shared fixtures: a real PostGIS started for the test session, never the demo database.

``GEO_GRID_TEST_DATABASE_URL`` may name an existing empty database instead of starting a cluster.
The demo district is loaded once per session into the test database by ``demo_db``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _reset_caches() -> None:
    from geo_grid.db import session as db_session
    from geo_grid.settings import get_settings

    get_settings.cache_clear()
    db_session._engine_for.cache_clear()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """Start a private PostGIS cluster for this test session (or use the given URL), migrated."""
    from geo_grid.db import migrate
    from geo_grid.db.cluster import LocalCluster
    from geo_grid.db.session import get_engine

    given = os.environ.get("GEO_GRID_TEST_DATABASE_URL")
    cluster = None
    if given:
        url = given
    else:
        root = Path(tempfile.mkdtemp(prefix="geo-grid-test-"))
        cluster = LocalCluster(root / "pg")
        url = cluster.start()
    old = {k: os.environ.get(k) for k in ("GEO_GRID_DATABASE_URL", "GEO_GRID_HOME")}
    os.environ["GEO_GRID_DATABASE_URL"] = url
    os.environ["GEO_GRID_HOME"] = str(Path(tempfile.gettempdir()) / "geo-grid-test-home")
    _reset_caches()
    migrate.upgrade(get_engine(url))
    try:
        yield url
    finally:
        from geo_grid.db.session import get_engine as _ge

        _ge(url).dispose()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _reset_caches()
        if cluster is not None:
            cluster.destroy()


@pytest.fixture(scope="session")
def demo():
    """The generated demo district, in memory (no database), generated once per session."""
    from geo_grid.demo import generate_demo

    return generate_demo()


@pytest.fixture(scope="session")
def demo_db(database_url: str, demo) -> str:
    """The test database with the demo district loaded (once per session)."""
    from geo_grid.services.demo import load_demo

    load_demo(demo=demo)
    return database_url
