"""What a map page is drawn over: the intranet's tile service, or the district's own roads and names.

A district office's intranet usually offers 天地图 (the national platform, or its provincial
government copy) or some XYZ tile server; with none, a page still needs something a dispatcher
recognises. :class:`BaseMap` is either:

- tiles (:func:`tile_base`): a preset of 天地图 (``tianditu:vec`` 矢量, ``tianditu:img`` 影像,
  ``tianditu:ter`` 地形, each with its 注记 annotation layer on top) in either of its tile matrix
  sets — ``w`` (Web Mercator) or ``c`` (CGCS2000 longitude/latitude, drawn on a Leaflet map in
  ``EPSG4326``, 天地图 level = Leaflet zoom + 1) — with its key (``tk``), from its public host or
  the intranet's copy; or any XYZ template (``https://tiles.example/{z}/{x}/{y}.png``);
- the district's own vector base (:func:`vector_base`): the roads drawn from door plates
  (:func:`geo_grid.address.places.road_lines`), and the names of streets, communities, roads,
  小区 and villages where they lie, light enough to sit under every layer, each name appearing
  at the zoom where it helps (streets first, 小区 last).

Examples
--------
>>> base = tile_base("tianditu:vec", key="KEY", projection="webmercator")
>>> [t.name for t in base.tiles], base.projection
(['天地图矢量', '天地图矢量注记'], 'EPSG3857')
>>> base.tiles[0].url.split("?")[0]
'https://t{s}.tianditu.gov.cn/vec_w/wmts'
>>> tile_base("tianditu:img", key="KEY", projection="cgcs2000").tiles[1].zoom_offset
1
>>> tile_base("tianditu:vec")
Traceback (most recent call last):
...
geo_grid.errors.BadInput: tiles_key: 天地图 tiles need a key (tk); set GEO_GRID_TILES_KEY
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.template import Template

from geo_grid.errors import BadInput
from geo_grid.maps.elements import js_literal
from geo_grid.maps.encode import encode_layer

__all__ = [
    "TIANDITU",
    "TIANDITU_HOST",
    "BaseMap",
    "TileSpec",
    "VectorBase",
    "tianditu_url",
    "tile_base",
    "vector_base",
    "vector_layer",
]

#: 天地图's public host; ``{s}`` is one of its eight servers t0…t7.
TIANDITU_HOST = "https://t{s}.tianditu.gov.cn"
#: 天地图 presets: base layer, its annotation layer and their Chinese names.
TIANDITU: dict[str, tuple[str, str, str]] = {
    "vec": ("vec", "cva", "天地图矢量"),
    "img": ("img", "cia", "天地图影像"),
    "ter": ("ter", "cta", "天地图地形"),
}
#: ``tiles_projection`` → 天地图's tile matrix set and the Leaflet CRS that draws it.
_MATRIX = {"webmercator": ("w", "EPSG3857"), "cgcs2000": ("c", "EPSG4326")}
_XYZ = re.compile(r"^https?://\S+$")
#: Styles of the vector base: roads as light lines with a casing, names by kind.
_ROAD = {"color": "#ffffff", "weight": 5, "opacity": 0.95}
_ROAD_CASING = {"color": "#c9c3b8", "weight": 7, "opacity": 0.9}
#: From which zoom each kind of name shows (and until which, for the big areas).
LABEL_ZOOMS: dict[str, tuple[float, float]] = {
    "street": (10, 13.75),
    "community": (13.75, 15.75),
    "village": (14.5, 20),
    "road": (15, 20),
    "xiaoqu": (16, 20),
}


@dataclass(frozen=True)
class TileSpec:
    """One tile layer: a Leaflet URL template and how to ask for its tiles."""

    url: str
    name: str
    attribution: str = ""
    subdomains: str = "abc"
    zoom_offset: int = 0
    max_native_zoom: int = 18


@dataclass(frozen=True)
class BaseMap:
    """A page's base: tile layers (drawn in ``projection``: ``EPSG3857`` or ``EPSG4326``, in
    the datum ``crs``: ``gcj02`` tiles shift every overlay), or with no tiles the district's own
    ``roads`` (name, geometry) and ``places`` (kind, name, geometry: points) in EPSG:4490."""

    tiles: tuple[TileSpec, ...] = ()
    crs: str = "wgs84"
    projection: str = "EPSG3857"
    roads: gpd.GeoDataFrame | None = field(default=None, compare=False)
    places: gpd.GeoDataFrame | None = field(default=None, compare=False)

    @property
    def mercator(self) -> bool:
        """Drawn in Web Mercator: the project's vector tiles (``/tiles/…pbf``) fit it."""
        return self.projection == "EPSG3857"


def tianditu_url(layer: str, matrix: str, *, key: str, host: str = TIANDITU_HOST) -> str:
    """天地图's WMTS GetTile request (KVP form) as a Leaflet template.

    >>> tianditu_url("cva", "w", key="K")  # doctest: +NORMALIZE_WHITESPACE
    'https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=cva&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=K'
    """
    return (
        f"{host.rstrip('/')}/{layer}_{matrix}/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        f"&LAYER={layer}&STYLE=default&TILEMATRIXSET={matrix}&FORMAT=tiles"
        f"&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
    )


def tile_base(
    url: str,
    *,
    key: str | None = None,
    projection: str = "webmercator",
    host: str | None = None,
    attribution: str = "",
    crs: str = "wgs84",
    subdomains: str = "abc",
) -> BaseMap:
    """The tile base a setting names: a 天地图 preset (``tianditu:vec|img|ter``) or an XYZ
    template; refused with the setting's name when it cannot work (no key, unknown preset, a
    template without ``{z}``, ``{x}``, ``{y}``, 天地图 said to be GCJ-02)."""
    if url.startswith("tianditu:"):
        return _tianditu(url.removeprefix("tianditu:"), key, projection, host, crs)
    if not _XYZ.match(url) or not all(p in url for p in ("{z}", "{x}", "{y}")):
        raise BadInput(
            f"tiles_url: {url!r} is neither a preset (tianditu:vec, tianditu:img, tianditu:ter) "
            "nor an http(s) XYZ template with {z}, {x} and {y}",
            field="tiles_url",
        )
    if projection != "webmercator":
        raise BadInput("tiles_projection: XYZ templates are Web Mercator", field="tiles_projection")
    spec = TileSpec(url, "底图", attribution or "底图", subdomains=subdomains)
    return BaseMap((spec,), crs=crs)


def _tianditu(preset: str, key: str | None, projection: str, host: str | None, crs: str) -> BaseMap:
    if preset not in TIANDITU:
        raise BadInput(
            f"tiles_url: unknown 天地图 preset {preset!r} (vec, img or ter)", field="tiles_url"
        )
    if not key:
        raise BadInput("tiles_key: 天地图 tiles need a key (tk); set GEO_GRID_TILES_KEY",
                       field="tiles_key")  # fmt: skip
    if projection not in _MATRIX:
        raise BadInput(
            f"tiles_projection: {projection!r} is not webmercator or cgcs2000",
            field="tiles_projection",
        )
    if crs == "gcj02":
        raise BadInput("tiles_crs: 天地图 is CGCS2000, not GCJ-02", field="tiles_crs")
    matrix, leaflet_crs = _MATRIX[projection]
    base, notes, name = TIANDITU[preset]
    offset = 1 if matrix == "c" else 0  # the "c" matrix starts at level 1 (2 × 1 tiles)
    specs = tuple(
        TileSpec(
            tianditu_url(layer, matrix, key=key, host=host or TIANDITU_HOST),
            title, "天地图", subdomains="01234567", zoom_offset=offset, max_native_zoom=18 - offset,
        )
        for layer, title in ((base, name), (notes, f"{name}注记"))
    )  # fmt: skip
    return BaseMap(specs, crs="cgcs2000", projection=leaflet_crs)


def vector_base(roads: gpd.GeoDataFrame, places: pd.DataFrame | gpd.GeoDataFrame) -> BaseMap:
    """The district's own base: ``roads`` (``name``, line geometry) and ``places`` (``kind``
    of :data:`LABEL_ZOOMS`, ``name``, and a point geometry or ``lon, lat``), EPSG:4490."""
    if not isinstance(places, gpd.GeoDataFrame):
        places = gpd.GeoDataFrame(
            places.drop(columns=["lon", "lat"]),
            geometry=gpd.points_from_xy(places["lon"], places["lat"]), crs=4490,
        )  # fmt: skip
    unknown = set(places["kind"]) - set(LABEL_ZOOMS)
    if unknown:
        raise BadInput(f"places: unknown kind(s) {sorted(unknown)}", field="places")
    return BaseMap(roads=roads, places=places)


def _road_label(line: Any, mercator: bool) -> tuple[list[float] | None, float]:
    """Where a road's name goes (the middle of its line, ``[lon, lat]``) and at what angle (in
    degrees on screen, kept upright)."""
    if line is None or line.is_empty or line.length == 0:
        return None, 0.0
    a = shapely.line_interpolate_point(line, 0.45, normalized=True)
    b = shapely.line_interpolate_point(line, 0.55, normalized=True)
    stretch = 1 / math.cos(math.radians(a.y)) if mercator else 1.0
    angle = math.degrees(math.atan2((b.y - a.y) * stretch, b.x - a.x))
    angle = angle - 180 if angle > 90 else angle + 180 if angle <= -90 else angle
    mid = shapely.line_interpolate_point(line, 0.5, normalized=True)
    return [round(mid.x, 5), round(mid.y, 5)], round(-angle, 1)


class VectorBase(folium.map.Layer):
    """The vector base as a toggle ("道路与地名") in its own panes under the overlays."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = geoGrid.vectorBase({{ this._parent.get_name() }},
    {{ this.roads_js }}, {{ this.places_js }}, {{ this.options_js }});
{% endmacro %}
"""
    )

    def __init__(self, roads: dict, places: dict, options: dict) -> None:
        super().__init__(name="道路与地名", overlay=True, control=True, show=True)
        self._name = "GeoGridVectorBase"
        self.roads_js = js_literal(roads)
        self.places_js = js_literal(places)
        self.options_js = js_literal(options)


def vector_layer(
    base: BaseMap, draw: Any, *, mercator: bool = True, simplify_m: float = 3.0
) -> VectorBase:
    """The :class:`VectorBase` of ``base`` drawn through ``draw(frame, simplify_m)`` (a page's
    geometry preparation: simplified in metres, shifted onto its tiles)."""
    roads = base.roads if base.roads is not None else gpd.GeoDataFrame(
        {"name": []}, geometry=[], crs=4490)  # fmt: skip
    lines = draw(roads, simplify_m) if len(roads) else np.array([], dtype=object)
    labels = [_road_label(g, mercator) for g in lines]
    road_data = encode_layer(
        lines, ["name", "_lp", "_a"],
        [[n, lp, a] for n, (lp, a) in zip(roads["name"].astype(str), labels, strict=True)],
    )  # fmt: skip
    places = base.places if base.places is not None else gpd.GeoDataFrame(
        {"kind": [], "name": []}, geometry=[], crs=4490)  # fmt: skip
    points = draw(places, 0.0) if len(places) else np.array([], dtype=object)
    place_data = encode_layer(
        points, ["kind", "name"],
        [[k, str(n)] for k, n in zip(places["kind"], places["name"], strict=True)],
    )  # fmt: skip
    options = {"road": _ROAD, "casing": _ROAD_CASING, "zooms": LABEL_ZOOMS}
    return VectorBase(road_data, place_data, options)
