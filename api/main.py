"""The FastAPI app: thin routers over geo_grid.services; OpenAPI at /docs."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api import errors
from api.routers import admin, cases, checks, geocoding, grids, health, layers, maps, open311, plans
from geo_grid.assets import static_path


def create_app() -> FastAPI:
    app = FastAPI(
        title="geo-grid",
        summary="网格化管理: grid store, coverage checks, geocoding, case routing and maps",
        version="0.1.0",
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
