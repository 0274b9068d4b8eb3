"""The builders' inputs: GeoDataFrames checked once, their cells read as JSON values, layers named.

Every page builder validates what it is given the same way (:func:`check_frame`: a GeoDataFrame
with a CRS and the columns the page reads, brought to storage coordinates) and reads columns the
same way (:func:`column`: a missing column is all ``None``, NaN is ``None``, numbers are tidied),
so a bad argument gets the same :class:`~geo_grid.errors.BadInput` naming it on every page.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> frame = gpd.GeoDataFrame({"code": ["a"], "households": [12.0]}, geometry=[box(0, 0, 1, 1)],
...     crs=4490)
>>> column(check_frame(frame, "grids", ("code",)), "households"), column(frame, "name")
([12], [None])
>>> check_frame(frame.drop(columns="code"), "grids", ("code",))
Traceback (most recent call last):
...
geo_grid.errors.BadInput: grids: missing column(s) code
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np

from geo_grid.crs import STORAGE_EPSG
from geo_grid.errors import BadInput
from geo_grid.layers import LAYER_NAMES_ZH

__all__ = ["check_frame", "column", "layer_name", "value"]


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


def value(v: Any) -> Any:
    """A JSON-friendly cell: NaN/None → None, numpy scalars → Python, floats to 1 decimal.

    >>> value(np.float64(2.0)), value(3.14159), value(float("nan")), value([np.int64(1), None])
    (2, 3.1, None, [1, None])
    """
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
    """The cells of column ``name`` as :func:`value` makes them; ``None`` each when it is absent."""
    if name not in gdf.columns:
        return [None] * len(gdf)
    return [value(v) for v in gdf[name].tolist()]


def layer_name(key: str, names: Mapping[str, str] | None = None) -> str:
    """A layer's Chinese name: from ``names`` (the store's ``layer.name_zh``: layers added as rows
    have theirs), else the built-in one, else the key.

    >>> layer_name("urban_mgmt"), layer_name("health", {"health": "卫健网格"}), layer_name("x")
    ('城管网格', '卫健网格', 'x')
    """
    return (names or {}).get(key) or LAYER_NAMES_ZH.get(key, key)
