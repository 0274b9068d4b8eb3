"""Folium maps of grids that work offline and stay light: coverage, defects, cases, plans.

Leaders and dispatchers would rather look than read. Every builder takes GeoDataFrames in storage
coordinates (EPSG:4490) and returns a :class:`folium.Map`; the API serves ``map_html(m)`` and the
CLI writes a self-contained folder with :func:`write_map`.

Offline: no URL in a page points outside the project. Leaflet comes from ``{asset_base}/vendor``
(fetched at setup by :mod:`geo_grid.assets`), our helpers from ``{asset_base}/js`` and ``/css``;
the only external URL possible is the optional base-map tile template the operator configured.
Pass ``asset_base="/static"`` when the API mounts ``geo_grid/static`` at ``/static``. Base maps
that use GCJ-02 (AMap, Tencent) need overlays shifted the same way: ``tiles_crs="gcj02"`` moves
every overlay vertex through :func:`geo_grid.crs.wgs84_to_gcj02`.

Safe: stored text reaches a page only through :func:`js_literal` (scripts) and :func:`html_text`
(markup), so a grid named ``</script>`` is shown, never run.

Every builder takes the same page options as keyword arguments (:class:`PageOptions`:
``asset_base``, ``tiles_url``, ``tiles_attribution``, ``tiles_crs``, ``district``, a
:class:`MapDistrict`: the metric CRS its simplification tolerances are measured in, and the
bounds a page opens on, and ``base``, a :class:`BaseMap` in place of the three ``tiles_``
options: 天地图, an XYZ template, or the district's own roads and names).

The package, by layer (each module's docstring says more):

- pages: :mod:`~geo_grid.maps.coverage` (:func:`coverage_map`, :func:`checks_map`),
  :mod:`~geo_grid.maps.grid` (:func:`grid_map`), :mod:`~geo_grid.maps.cases` (:func:`cases_map`,
  :func:`indicators_map`, :func:`dispatch_map`), :mod:`~geo_grid.maps.services`
  (:func:`services_map` and the station reach it draws), :mod:`~geo_grid.maps.plan`
  (:func:`plan_map`);
- what every page shares: :mod:`~geo_grid.maps.page` (open a page, draw geometries for its
  tiles, close it, write it), :mod:`~geo_grid.maps.basemap` (what it is drawn over: 天地图, an
  XYZ template, or the district's own roads and names), :mod:`~geo_grid.maps.frames` (check and
  read the inputs),
  :mod:`~geo_grid.maps.elements` (the Leaflet layers and controls, the two escapes),
  :mod:`~geo_grid.maps.encode` (simplify and pack coordinates), :mod:`~geo_grid.maps.assets`
  (what a page loads and copies beside it).

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> from geo_grid.maps import coverage_map, map_html
>>> grids = gpd.GeoDataFrame(
...     {"code": ["990101001001001"], "name": ["</script>一网格"], "households": [420]},
...     geometry=[box(114.30, 30.60, 114.31, 30.61)], crs=4490)
>>> street = gpd.GeoDataFrame({"name": ["东湖街道"]}, geometry=[box(114.29, 30.59, 114.32, 30.62)],
...     crs=4490)
>>> html = map_html(coverage_map(street, street.iloc[:0], {"unified": grids}))
>>> "全科网格" in html and "cdn" not in html and "</script>一网格" not in html
True
"""

from geo_grid.maps.basemap import BaseMap, tile_base, vector_base
from geo_grid.maps.cases import (
    INDICATOR_COLOURS,
    case_classes,
    cases_map,
    dispatch_map,
    indicators_map,
)
from geo_grid.maps.coverage import (
    DEFECT_STYLES,
    INLINE_LIMIT,
    LAYER_STYLES,
    checks_map,
    coverage_map,
    defect_style,
)
from geo_grid.maps.elements import html_text, js_literal
from geo_grid.maps.grid import grid_map
from geo_grid.maps.page import MapDistrict, PageOptions, focus_html, map_html, write_map
from geo_grid.maps.plan import PLAN_STYLES, plan_map
from geo_grid.maps.services import (
    ServiceCoverage,
    service_coverage,
    service_stations,
    services_map,
)

__all__ = [
    "BaseMap",
    "DEFECT_STYLES",
    "INDICATOR_COLOURS",
    "INLINE_LIMIT",
    "LAYER_STYLES",
    "PLAN_STYLES",
    "MapDistrict",
    "PageOptions",
    "ServiceCoverage",
    "case_classes",
    "cases_map",
    "checks_map",
    "coverage_map",
    "defect_style",
    "dispatch_map",
    "focus_html",
    "grid_map",
    "html_text",
    "indicators_map",
    "js_literal",
    "map_html",
    "plan_map",
    "service_coverage",
    "service_stations",
    "services_map",
    "tile_base",
    "vector_base",
    "write_map",
]
