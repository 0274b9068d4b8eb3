"""Helpers shared by the map builders: validate frames, prepare geometries, tidy cell values.

Kept apart so each page module (:mod:`geo_grid.maps`, :mod:`geo_grid._maps_cases`,
:mod:`geo_grid._maps_services`, :mod:`geo_grid._maps_plan`) validates and draws the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_grid._maps_encode import simplify_coverage
from geo_grid.crs import (
    STORAGE_EPSG,
    normalize_crs,
    to_local,
    transform_geometry,
    wgs84_to_gcj02,
)
from geo_grid.errors import BadInput
from geo_grid.layers import LAYER_NAMES_ZH

__all__ = [
    "check_frame",
    "column",
    "display_transform",
    "fit",
    "geoms",
    "label_points",
    "layer_name",
    "roster_index",
    "case_counts",
    "value",
]


def check_frame(gdf: Any, arg: str, columns: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    """A GeoDataFrame in EPSG:4490 (converted if in another CRS), or BadInput naming ``arg``."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise BadInput(f"{arg}: expected a GeoDataFrame, got {type(gdf).__name__}", field=arg)
    if gdf.crs is None:
        raise BadInput(f"{arg}: GeoDataFrame has no CRS (expected EPSG:{STORAGE_EPSG})", field=arg)
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise BadInput(f"{arg}: missing column(s) {', '.join(missing)}", field=arg)
    if gdf.crs.to_epsg() != STORAGE_EPSG:
        gdf = gdf.to_crs(STORAGE_EPSG)
    return gdf


def display_transform(tiles_crs: str):
    """The function moving storage lon/lat to the tiles' CRS, or None when they agree."""
    key = normalize_crs(tiles_crs)
    if key in ("wgs84", "cgcs2000"):
        return None
    if key == "gcj02":
        return wgs84_to_gcj02
    # Baidu (BD-09) tiles also use their own Mercator tiling, so shifting overlays is not enough.
    raise BadInput(
        f"tiles_crs: unsupported {tiles_crs!r} (use wgs84, cgcs2000 or gcj02)", field="tiles_crs"
    )


def geoms(gdf: gpd.GeoDataFrame, simplify_m: float, shift, coverage: bool = True) -> np.ndarray:
    """Geometries ready to draw: simplified (topology kept), then shifted to the tiles' CRS."""
    series = gdf.geometry
    if simplify_m > 0:
        if coverage:
            series = simplify_coverage(series, simplify_m)
        else:
            local = to_local(series).simplify(simplify_m, preserve_topology=True)
            series = local.to_crs(series.crs)
    values = np.asarray(series.values, dtype=object)
    if shift is not None:
        present = ~shapely.is_missing(values)
        values = values.copy()
        values[present] = transform_geometry(values[present], shift)
    return values


def value(v: Any) -> Any:
    """A JSON-friendly cell: NaN/None → None, numpy scalars → Python, floats to 1 decimal."""
    if v is None:
        return None
    if isinstance(v, (list, tuple, np.ndarray)):
        return [value(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        if math.isnan(v):
            return None
        return int(v) if v.is_integer() else round(v, 1)
    return v if isinstance(v, (int, str, bool)) else str(v)


def column(gdf: gpd.GeoDataFrame, name: str) -> list[Any]:
    if name not in gdf.columns:
        return [None] * len(gdf)
    return [value(v) for v in gdf[name].tolist()]


def label_points(geoms: np.ndarray) -> list[list[float] | None]:
    pts = shapely.point_on_surface(geoms)
    out: list[list[float] | None] = []
    for p in pts:
        if p is None or p.is_empty:
            out.append(None)
        else:
            out.append([round(p.x, 5), round(p.y, 5)])
    return out


def roster_index(roster: pd.DataFrame | None) -> dict[tuple[str | None, str], dict[str, str]]:
    """(layer, grid code) → {'leader': names, 'worker': names}; phone numbers never leave here."""
    if roster is None or len(roster) == 0:
        return {}
    for col in ("name", "role", "grid_code"):
        if col not in roster.columns:
            raise BadInput(f"roster: missing column {col}", field="roster")
    layer_col = next((c for c in ("layer", "layer_key") if c in roster.columns), None)
    roles = {"grid_leader": "leader", "grid_worker": "worker"}
    index: dict[tuple[str | None, str], dict[str, list[str]]] = {}
    for row in roster.itertuples(index=False):
        slot = roles.get(str(row.role))
        if slot is None:
            continue
        layer = getattr(row, layer_col) if layer_col else None
        entry = index.setdefault((layer, str(row.grid_code)), {"leader": [], "worker": []})
        entry[slot].append(str(row.name))
    return {k: {s: "、".join(v) for s, v in e.items()} for k, e in index.items()}


def case_counts(open_cases: Any) -> dict[str, int]:
    """Open cases per grid code from a mapping, a Series (index = code) or rows with grid_code."""
    if open_cases is None:
        return {}
    if isinstance(open_cases, pd.DataFrame):
        if "grid_code" not in open_cases.columns:
            raise BadInput("open_cases: missing column grid_code", field="open_cases")
        return {str(k): int(v) for k, v in open_cases["grid_code"].value_counts().items()}
    if isinstance(open_cases, (pd.Series, Mapping)):
        return {str(k): int(v) for k, v in dict(open_cases).items()}
    raise BadInput("open_cases: expected a mapping, Series or DataFrame", field="open_cases")


def fit(m: folium.Map, arrays: list[np.ndarray]) -> None:
    """Open the map on what it draws, unless it opens on given bounds (a district's)."""
    if getattr(m, "geo_grid_bounds", None) is not None:
        return
    geoms = [g for a in arrays for g in a if g is not None and not g.is_empty]
    if not geoms:
        return
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(geoms, dtype=object))
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(12, 12))


def layer_name(key: str, names: Mapping[str, str] | None = None) -> str:
    """A layer's Chinese name: from ``names`` (the store's ``layer.name_zh``: layers added as rows
    have theirs), else the built-in one, else the key.

    >>> layer_name("urban_mgmt"), layer_name("health", {"health": "卫健网格"}), layer_name("x")
    ('城管网格', '卫健网格', 'x')
    """
    return (names or {}).get(key) or LAYER_NAMES_ZH.get(key, key)
