"""Shared fixtures: a real PostGIS started for the test session, never the demo database.

``GEO_GRID_TEST_DATABASE_URL`` may name an existing empty database instead of starting a cluster.
The demo district is loaded once per session into the test database by ``demo_db``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from scratch_layers import make_scratch_layer, retire_scratch_layers

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[1]
#: The demo district every ``demo_db`` test runs against (Gusu joins it in ``gusu_db``).
QIXIA = "320113"
GUSU = "320508"


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
        # rebuilt for every session, never recovered: no commit waits for the disk
        cluster = LocalCluster(root / "pg", durable=False)
        url = cluster.start()
    old = {
        k: os.environ.get(k)
        for k in ("GEO_GRID_DATABASE_URL", "GEO_GRID_HOME", "GEO_GRID_AUTH_SECRET")
    }
    os.environ["GEO_GRID_DATABASE_URL"] = url
    # one signing key for the session: in-process apps and server subprocesses accept its tokens
    os.environ["GEO_GRID_AUTH_SECRET"] = secrets.token_urlsafe(32)
    # a home of this session's own: test sessions of several checkouts may run side by side
    home = Path(tempfile.mkdtemp(prefix="geo-grid-test-home-"))
    os.environ["GEO_GRID_HOME"] = str(home)
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
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def demo():
    """The generated demo district, in memory (no database), generated once per session."""
    from geo_grid.demo import generate_demo

    return generate_demo()


@pytest.fixture(scope="session")
def gazetteer_db(database_url: str) -> str:
    """The test database with the national gazetteer loaded (once per session, as `make demo`)."""
    from geo_grid.services.gazetteer import load_gazetteer

    load_gazetteer()
    return database_url


@pytest.fixture(scope="session")
def demo_db(gazetteer_db: str, demo) -> str:
    """The test database with the gazetteer and the demo district loaded (once per session)."""
    from geo_grid.services.demo import load_demo

    load_demo(demo=demo)
    return gazetteer_db


#: Unified grids of the session's Gusu demo: one per community, the smallest the generator makes;
#: and its historical cases (Qixia has 20,000).
GUSU_GRIDS, GUSU_CASES = 171, 2000


@pytest.fixture(scope="session")
def gusu():
    """Suzhou Gusu 姑苏区 generated small (one unified grid per community), once per session."""
    from geo_grid.demo import generate_demo

    return generate_demo(GUSU, seed=7, n_grids=GUSU_GRIDS)


@pytest.fixture(scope="session")
def gusu_db(demo_db: str, gusu) -> str:
    """The test database with Gusu loaded next to Qixia (once per session): a two-district store."""
    from geo_grid.services.demo import load_demo

    load_demo(demo=gusu, n_cases=GUSU_CASES)
    return demo_db


@pytest.fixture(scope="session")
def accounts(demo_db):
    """One real account per role (and an Open311 key) with ready ``headers``: see tests/auth.py."""
    from auth import make_accounts

    return make_accounts()


@pytest.fixture
def scratch_layer(demo_db):
    """Factory: a private copy of some unified grids as a layer ``t_plan_<hex>``, published.

    ``scratch_layer("street_code = '320113003'")`` copies the grids matching that SQL condition on
    the ``grid`` table (a fixed literal written by the test, never user input). At teardown its
    generations are retired, so no other test sees it among the published layers; rows are kept
    because plan edit logs are append-only by design.
    """
    made: list[str] = []

    def make(condition: str) -> tuple[str, int]:
        key, gid = make_scratch_layer(condition)
        made.append(key)
        return key, gid

    yield make
    retire_scratch_layers(made)


# ------------------------------------------------------------------ the API tests' client
# (here, not in tests/api/conftest.py: a second module named ``conftest`` clashes with this one
# when ``--doctest-modules`` collects both, "import file mismatch")
@pytest.fixture(scope="module")
def store(demo_db: str) -> Iterator[str]:
    """The demo database as a module finds it, with the process's locate index and geocoders
    forgotten before and after the module (so it neither sees nor leaves another module's
    changes). Page modules define their own ``store``: what their pages need stored first."""
    from geo_grid.services import index

    index.invalidate()
    yield demo_db
    index.invalidate()


@pytest.fixture(scope="module")
def server(store) -> Iterator[str]:
    """The app served in a thread for a browser or an HTTP client: its base URL.

    On the module's own ``store`` (what a module's pages need stored first, a fixture each page
    module defines); a module that needs a server of another kind (its own process, its own
    settings) defines its own ``server``.
    """
    from api_server import serve_in_thread

    from api.main import app

    with serve_in_thread(app) as base:
        yield base


@pytest.fixture(scope="module")
def client_headers(accounts) -> dict[str, str]:
    """The credentials ``client`` sends: the administrator's Bearer token."""
    return accounts["admin"].headers


@pytest.fixture(scope="module")
def client(demo_db, client_headers: dict[str, str]) -> Iterator[TestClient]:
    """One in-process client per module on the demo database, sending ``client_headers``.

    The cached locate index and geocoder are forgotten before and after, so a module neither
    sees nor leaves behind another module's address or grid changes.
    """
    from fastapi.testclient import TestClient

    from api.main import app
    from geo_grid.services import index

    index.invalidate()
    with TestClient(app, headers=client_headers) as c:
        yield c
    index.invalidate()
