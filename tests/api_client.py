"""The API tests' in-process ``client`` (every module used to copy it), registered by tests/conftest.py.

``client`` calls the app on the demo database as the administrator; a module that calls as someone
else overrides ``client_headers`` (the Open311 tests send their API key, the upload tests a
planner's token). It is not a ``tests/api/conftest.py``: a second module named ``conftest`` clashes
with ``tests/conftest.py`` when ``--doctest-modules`` collects both ("import file mismatch").
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient


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
    from api.main import app
    from geo_grid.services import index

    index.invalidate()
    with TestClient(app, headers=client_headers) as c:
        yield c
    index.invalidate()
