"""The FastAPI app: thin routers over geo_grid.services; OpenAPI at /docs."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api import errors
from api.routers import admin, cases, checks, geocoding, grids, health, layers, maps, open311, plans
from geo_grid.assets import static_path

log = logging.getLogger("geo_grid.api")


def _warm() -> None:
    """Build the locate index, the geocoder and the coverage page before the first user asks.

    Each takes seconds on the demo; built lazily the first dispatcher would wait for all of them.
    Failures are only logged: the first request builds (and reports) them again.
    """
    try:
        from geo_grid.services import index, maps

        maps.coverage_page()
        index.get_geocoder()  # last: /health reports warm once this is built
    except Exception as exc:  # noqa: BLE001 (warming is best effort)
        log.warning("warm-up skipped: %s", exc)


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
    )
    errors.register(app)
    for module in (health, layers, grids, admin, maps, geocoding, cases, open311, plans, checks):
        app.include_router(module.router)
    # Leaflet and plugins are fetched at setup (`python -m geo_grid.assets`), never from a CDN
    app.mount("/static", StaticFiles(directory=static_path()), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/map")

    return app


app = create_app()
