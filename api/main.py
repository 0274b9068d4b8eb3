"""The FastAPI app: thin routers over geo_grid.services; OpenAPI at /docs."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

import geo_grid
from api import errors
from api.routers import admin, geocoding, grids, health, layers, maps

STATIC = Path(geo_grid.__file__).parent / "static"


def create_app() -> FastAPI:
    app = FastAPI(
        title="geo-grid",
        summary="网格化管理: grid store, coverage checks, geocoding, case routing and maps",
        version="0.1.0",
    )
    errors.register(app)
    for module in (health, layers, grids, admin, maps, geocoding):
        app.include_router(module.router)
    STATIC.mkdir(parents=True, exist_ok=True)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/map")

    return app


app = create_app()
