"""HTML map pages (Folium), served with every asset from this server: they work offline."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from geo_grid.services import maps

router = APIRouter(tags=["maps"])


@router.get("/map", response_class=HTMLResponse)
def coverage_map() -> HTMLResponse:
    """Unified grids over street and community outlines; department layers as toggles."""
    return HTMLResponse(maps.coverage_page(asset_base="/static"))
