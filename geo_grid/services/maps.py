"""Map pages built from the store. Cached per set of published generations: a publish invalidates."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import text

from geo_grid.db import repo
from geo_grid.db.session import session_scope
from geo_grid.settings import get_settings

__all__ = ["coverage_page", "published_key"]

_cache: dict[tuple, str] = {}
_lock = threading.Lock()


def published_key(session) -> tuple:
    """Identity of what the maps show: the published generation of every layer."""
    return tuple(
        session.execute(
            text(
                "SELECT layer_key, id FROM generation WHERE status = 'published' ORDER BY layer_key"
            )
        ).all()
    )


def _load_coverage_inputs(session) -> dict[str, Any]:
    streets = repo.read_admin_areas(session, level="street")
    communities = repo.read_admin_areas(session, level="community")
    grids_by_layer = {}
    for row in repo.list_layers(session):
        if row["generation_id"] is None:
            continue
        grids_by_layer[row["key"]] = repo.read_grids(session, generation_id=row["generation_id"])
    roster = repo.read_roster(session, layer="unified")
    return {
        "streets": streets,
        "communities": communities,
        "grids_by_layer": grids_by_layer,
        "roster": roster,
    }


def coverage_page(asset_base: str = "/static") -> str:
    """The coverage map's HTML, rebuilt only when a layer's published generation changed."""
    from geo_grid.maps import coverage_map, map_html

    settings = get_settings()
    with session_scope() as session:
        key = ("coverage", asset_base, published_key(session))
        with _lock:
            if key in _cache:
                return _cache[key]
        inputs = _load_coverage_inputs(session)
    m = coverage_map(
        inputs["streets"],
        inputs["communities"],
        inputs["grids_by_layer"],
        roster=inputs["roster"],
        asset_base=asset_base,
        tiles_url=settings.tiles_url,
        tiles_attribution=settings.tiles_attribution,
        tiles_crs=settings.tiles_crs,
    )
    html = map_html(m)
    with _lock:
        _cache.clear()
        _cache[key] = html
    return html
