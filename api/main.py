"""The FastAPI app: thin routers over geo_grid.services; OpenAPI at /docs and /redoc (served offline)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api import errors, openapi, policy
from api.auth import authorize
from api.deps import refuse_nul
from api.routers import (
    access,
    admin,
    auth,
    cases,
    checks,
    districts,
    docs,
    geocoding,
    grids,
    health,
    layers,
    maps,
    open311,
    plans,
)
from geo_grid.assets import static_path

log = logging.getLogger("geo_grid.api")


def _warm(retry_s: float = 1.0, max_retry_s: float = 30.0) -> None:
    """Build the locate index, the geocoders and each district's coverage page before the first
    user asks.

    Each takes seconds on the demo; built lazily the first dispatcher would wait for all of them.
    While the database is unreachable (started after the API, or restarting) this thread retries
    with a growing pause (``retry_s`` doubling up to ``max_retry_s``), so the server becomes warm
    by itself once the database is back. Any other failure is only logged: the first request
    builds (and reports) it again.
    """
    from geo_grid.services.database import UNREACHABLE, error_line

    pause, logged = retry_s, False
    while True:
        try:
            from geo_grid.services import districts, index, maps

            for code in districts.profiles():
                maps.coverage_page(code)
            index.warm_geocoders()  # last: /health reports warm once they are built
            return
        except UNREACHABLE as exc:
            if not logged:
                log.warning("warm-up waits for the database: %s", error_line(exc))
                logged = True
            time.sleep(pause)
            pause = min(pause * 2, max_retry_s)
        except Exception as exc:  # noqa: BLE001 (warming is best effort)
            log.warning("warm-up skipped: %s", exc)
            return


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    threading.Thread(target=_warm, name="geo-grid-warm", daemon=True).start()
    yield


def create_app() -> FastAPI:
    app = FastAPI(
        title="geo-grid",
        summary="网格化管理: grid store, coverage checks, geocoding, case routing and maps",
        version="0.1.0",
        lifespan=_lifespan,
        # FastAPI's pages load Swagger UI and ReDoc from a CDN: api/routers/docs.py serves ours
        docs_url=None,
        redoc_url=None,
        # every request: no NUL anywhere (PostgreSQL text cannot hold it), then the role table
        # (api/policy.py), before any route body runs
        dependencies=[Depends(refuse_nul), Depends(authorize)],
        responses=errors.ERROR_RESPONSES,
    )
    errors.register(app)  # also answers page routes' 403/404 as Chinese pages (api/pages.py)
    modules = (health, auth, access, districts, layers, grids, admin, maps, geocoding, cases,
               open311, plans, checks, docs)  # fmt: skip
    for module in modules:
        app.include_router(module.router)
    # Leaflet and plugins are fetched at setup (`python -m geo_grid.assets`), never from a CDN
    app.mount("/static", StaticFiles(directory=static_path()), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/map")

    app.state.policy = policy.bind(app)
    openapi.document(app)
    return app


app = create_app()
