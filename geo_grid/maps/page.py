"""One map page from start to finish: open it offline, draw geometries for its tiles, close it.

Every builder of :mod:`geo_grid.maps` does the same three things around what it draws, so they are
written once here:

- :func:`open_page` checks the base-map CRS and opens an empty Leaflet map (:func:`base_map`) whose
  every asset comes from ``asset_base``: no CDN, no jQuery, the project's icon, a metric scale.
  What a page is drawn with besides its data (assets, base map, district) is one set of keyword
  arguments, :class:`PageOptions`, that every builder passes on unchanged;
- :meth:`Page.geoms` prepares a layer's geometries to draw: simplified in metres in the district's
  CRS (topology kept), shifted onto GCJ-02 tiles when the base map needs it, and remembered so the
  view opens on them;
- :meth:`Page.finish` adds the legend, the info box, the layer control, and fits the view.

:func:`map_html` is what the API serves and :func:`write_map` what the CLI writes.

The district's facts a page needs (its metric CRS, and where to open when nothing is drawn) arrive
as one argument, :class:`MapDistrict`, so a service passes its district's profile in one place.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> grids = gpd.GeoDataFrame({"code": ["a"]}, geometry=[box(114.30, 30.60, 114.31, 30.61)],
...     crs=4490)
>>> page = open_page("示例", asset_base="/static", tiles_url=None, tiles_attribution="",
...     tiles_crs="gcj02", district=MapDistrict("EPSG:4547", (114.3, 30.6)))
>>> shifted = page.geoms(grids, 4.0)
>>> round(shifted[0].bounds[0] - 114.30, 3)  # GCJ-02 moves this corner of Wuhan ~520 m east
0.005
>>> html = map_html(page.finish())
>>> "<title>示例</title>" in html and "fitBounds" in html
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict, Unpack

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo_grid.assets import FAVICON, vendor_url
from geo_grid.crs import (
    STORAGE_EPSG,
    local_crs_for,
    normalize_crs,
    transform_geometry,
    wgs84_to_gcj02,
)
from geo_grid.errors import BadInput
from geo_grid.maps.assets import OwnAssets, Plugins, copy_assets
from geo_grid.maps.basemap import BaseMap, vector_layer
from geo_grid.maps.elements import Legend, MapCall, html_text, js_literal
from geo_grid.maps.encode import simplify_coverage
from geo_grid.timefmt import local_zone, zone_name

__all__ = [
    "MapDistrict",
    "Page",
    "PageOptions",
    "base_map",
    "display_geoms",
    "display_transform",
    "fit",
    "focus_html",
    "label_points",
    "map_html",
    "open_page",
    "write_map",
]

#: Moves lon/lat arrays onto the base map's CRS (:func:`geo_grid.crs.wgs84_to_gcj02`).
Shift = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


#: Where a page with no district and nothing drawn opens: the middle of China.
_NOWHERE = (104.0, 35.0)

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class MapDistrict:
    """What a page needs to know of its district: its metric CRS and where to open.

    ``local_crs`` is a projected CRS in metres (the district's CGCS2000 Gauss-Krüger zone):
    simplification tolerances (``simplify_m``) are measured in it. ``centre`` is ``(lon, lat)``
    in storage coordinates. ``bounds`` (min lon, min lat, max lon, max lat: the district's
    outline), when given, is the view the page opens on and keeps; without them the page opens on
    what it draws. Services build it from the district's profile
    (:meth:`of_bounds`); a page drawn without one takes it from its data (:meth:`around`).

    >>> MapDistrict.of_bounds("EPSG:4547", (114.2, 30.5, 114.6, 30.8)).centre
    (114.4, 30.65)
    >>> MapDistrict("EPSG:4326", (114.3, 30.6))
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: district: local_crs 'EPSG:4326' is not a projected CRS in metres
    """

    local_crs: str
    centre: tuple[float, float]
    bounds: BBox | None = None
    #: what the page is of (the district, a leader's street), for the head of its print layout
    name: str | None = None

    def __post_init__(self) -> None:
        try:
            crs = CRS.from_user_input(self.local_crs)
        except CRSError as exc:
            raise BadInput(
                f"district: unknown local_crs {self.local_crs!r}", field="district"
            ) from exc
        if not crs.is_projected or crs.axis_info[0].unit_name != "metre":
            raise BadInput(
                f"district: local_crs {self.local_crs!r} is not a projected CRS in metres",
                field="district",
            )
        lon, lat = (float(v) for v in self.centre)
        if not (
            math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90
        ):
            raise BadInput(f"district: centre {self.centre!r} is not (lon, lat)", field="district")

    @classmethod
    def of_bounds(cls, local_crs: str, bounds: BBox, name: str | None = None) -> MapDistrict:
        """A district (named ``name``) whose pages open on ``bounds`` (its outline's), centred
        in them."""
        minx, miny, maxx, maxy = (float(v) for v in bounds)
        centre = ((minx + maxx) / 2, (miny + maxy) / 2)
        return cls(local_crs, centre, (minx, miny, maxx, maxy), name)

    @classmethod
    def around(cls, frame: gpd.GeoDataFrame | None) -> MapDistrict:
        """For a page drawn without a district: the Gauss-Krüger zone and centre of ``frame``
        (its geometries in EPSG:4490), the page opening on what it draws.

        >>> from shapely import box
        >>> grids = gpd.GeoDataFrame(geometry=[box(114.2, 30.5, 114.4, 30.7)], crs=4490)
        >>> MapDistrict.around(grids)
        MapDistrict(local_crs='EPSG:4547', centre=(114.3, 30.6), bounds=None, name=None)
        """
        geoms = (
            np.asarray(frame.to_crs(STORAGE_EPSG).geometry.array, dtype=object)
            if frame is not None and frame.crs is not None
            else np.asarray([] if frame is None else frame.geometry.array, dtype=object)
        )
        present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        if not len(present):
            return cls(local_crs_for(present), _NOWHERE)
        minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(present))
        centre = (round((minx + maxx) / 2, 6), round((miny + maxy) / 2, 6))
        return cls(local_crs_for(present), centre)


def base_map(
    *,
    title: str,
    asset_base: str,
    tiles_url: str | None,
    tiles_attribution: str,
    centre: tuple[float, float],
    bounds: BBox | None = None,
    base: BaseMap | None = None,
) -> folium.Map:
    """An empty Leaflet map whose every asset comes from ``asset_base`` (no CDN, no jQuery).

    The instance lists replace folium's class-level CDN lists (``add_js_link`` would mutate the
    shared class list, so we assign new lists instead). Every page gets the project's icon and a
    metric-only scale bar (Leaflet's default also shows miles and feet). ``centre`` is
    ``(lon, lat)``; ``bounds`` (a district's outline), when given, is the view the page opens on
    and keeps (:func:`fit` leaves it). ``base`` (:mod:`geo_grid.maps.basemap`) gives its tile
    layers and the projection they need; without it ``tiles_url`` is one XYZ template.
    """
    m = folium.Map(
        crs=base.projection if base is not None else "EPSG3857",
        location=[centre[1], centre[0]],
        zoom_start=12,
        zoom_snap=0.25,
        tiles=None,
        prefer_canvas=True,
        control_scale=False,  # folium's is L.control.scale() with miles: ours below is metric
    )
    m.options["maxZoom"] = 19  # folium gives max_zoom to tiles only; clusters need the map's
    m.default_js = [("leaflet", vendor_url(asset_base, "leaflet", "leaflet.js"))]
    m.default_css = [("leaflet_css", vendor_url(asset_base, "leaflet", "leaflet.css"))]
    m.get_root().title = html_text(title)  # branca writes the title into <title> unescaped
    # the project's icon, served with the other assets (no 404 in the console, no CDN)
    icon = html_text(f"{asset_base.rstrip('/')}/{FAVICON}")
    m.get_root().header.add_child(
        folium.Element(f'<link rel="icon" type="image/svg+xml" href="{icon}">'), name="icon"
    )
    if base is not None:
        for spec in base.tiles:
            folium.TileLayer(
                tiles=spec.url, attr=spec.attribution, name=spec.name, overlay=False,
                control=False, max_zoom=19, max_native_zoom=spec.max_native_zoom,
                subdomains=spec.subdomains, zoom_offset=spec.zoom_offset,
            ).add_to(m)  # fmt: skip
    elif tiles_url:
        folium.TileLayer(
            tiles=tiles_url,
            attr=tiles_attribution or "底图",
            name="底图",
            overlay=False,
            control=False,
            max_zoom=19,
        ).add_to(m)
    m.add_child(OwnAssets(asset_base))
    m.add_child(MapCall("geoGrid.scale"))  # also makes the map the page's (geoGrid.pageMap)
    m.geo_grid_asset_base = asset_base
    m.geo_grid_bounds = bounds
    if bounds is not None:
        # not animated: a zoom animation still running while the layers are added would
        # swallow the first setView a page or a person asks for
        minx, miny, maxx, maxy = bounds
        opening = folium.FitBounds([[miny, minx], [maxy, maxx]], padding=(12, 12))
        opening.options["animate"] = False
        m.add_child(opening)
    return m


def display_transform(tiles_crs: str) -> Shift | None:
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


def display_geoms(
    gdf: gpd.GeoDataFrame,
    simplify_m: float,
    shift: Shift | None,
    local_crs: str,
    *,
    coverage: bool = True,
) -> np.ndarray:
    """Geometries ready to draw: simplified in ``local_crs`` metres, then shifted to the tiles' CRS.

    A ``coverage`` (grids, outlines) is simplified as one, so neighbours still meet; other layers
    (buildings, defects, reach) one geometry at a time, topology kept.
    """
    series = gdf.geometry
    if simplify_m > 0:
        if coverage:
            series = simplify_coverage(series, simplify_m, local_crs)
        else:
            local = series.to_crs(local_crs).simplify(simplify_m, preserve_topology=True)
            series = local.to_crs(series.crs)
    values = np.asarray(series.values, dtype=object)
    if shift is not None:
        present = ~shapely.is_missing(values)
        values = values.copy()
        values[present] = transform_geometry(values[present], shift)
    return values


def label_points(geoms: np.ndarray) -> list[list[float] | None]:
    """Where each geometry's label goes (a point inside it), as ``[lon, lat]`` to 5 decimals."""
    pts = shapely.point_on_surface(geoms)
    out: list[list[float] | None] = []
    for p in pts:
        if p is None or p.is_empty:
            out.append(None)
        else:
            out.append([round(p.x, 5), round(p.y, 5)])
    return out


def fit(m: folium.Map, arrays: Sequence[np.ndarray]) -> None:
    """Open ``m`` on the bounds of every geometry in ``arrays`` (as it is when all are empty),
    unless it opens on its district's bounds (:func:`base_map`)."""
    if getattr(m, "geo_grid_bounds", None) is not None:
        return
    geoms = [g for a in arrays for g in a if g is not None and not g.is_empty]
    if not geoms:
        return
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(geoms, dtype=object))
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(12, 12))


@dataclass
class Page:
    """A page being built: its map, how geometries are drawn on it, what its view must frame."""

    map: folium.Map
    shift: Shift | None
    local_crs: str
    asset_base: str
    tiles_crs: str = "wgs84"
    framed: list[np.ndarray] = field(default_factory=list)
    #: drawn in Web Mercator (the project's vector tiles fit only then)
    mercator: bool = True
    #: the page's title and what it is of: the head of its PNG and print layout
    title: str = ""
    place: str | None = None

    def geoms(
        self,
        gdf: gpd.GeoDataFrame,
        simplify_m: float = 0.0,
        *,
        coverage: bool = True,
        frame: bool = True,
    ) -> np.ndarray:
        """:func:`display_geoms` of ``gdf`` for this page; with ``frame`` the view opens on them."""
        drawn = display_geoms(gdf, simplify_m, self.shift, self.local_crs, coverage=coverage)
        if frame:
            self.framed.append(drawn)
        return drawn

    def add(self, *children: Element) -> None:
        """Add elements to the map in order (the order scripts run and controls stack)."""
        for child in children:
            self.map.add_child(child)

    def finish(
        self,
        legend: Legend | None = None,
        info: str | None = None,
        *,
        last: Sequence[Element] = (),
        control: str = "topright",
        sheet: str | None = None,
    ) -> folium.Map:
        """The page's closing block: legend, info box (``info`` is HTML, its text escaped by the
        caller with :func:`~geo_grid.maps.elements.html_text`), ``last`` elements, the layer
        control at ``control`` (folded into its button on a phone-sized screen, where the boxes
        of the top-right corner move to the bottom-left one: ``geoGrid.compact``), the export
        buttons (with 导出表格, the spreadsheet of what the page shows made by a job started at
        ``sheet``, when given), and the view fitted to the framed geometries."""
        if legend is not None:
            self.map.add_child(legend)
        if info:
            self.map.add_child(MapCall("geoGrid.infoBox", info))
        self.add(*last)
        self.add(*self._exporter(sheet))
        folium.LayerControl(collapsed=False, position=control).add_to(self.map)
        self.map.add_child(MapCall("geoGrid.compact"))  # phones: the control folds, boxes move
        fit(self.map, self.framed)
        return self.map

    def _exporter(self, sheet: str | None) -> tuple[Element, Element]:
        """The export buttons (``js/geo_grid_export.js``, which loads html-to-image from the
        vendor folder beside it when first asked for a PNG): the view as a PNG, its print
        layout headed by the title, what it is of and the time in the district's zone, and the
        page's spreadsheet when it has one (``sheet``: the URL that starts its job, followed by
        ``js/geo_grid_jobs.js``)."""
        options = {
            "title": self.title, "place": self.place, "zone": getattr(local_zone(), "key", "UTC"),
            "zoneName": zone_name(), "sheet": sheet,
        }  # fmt: skip
        scripts = (("js/geo_grid_jobs.js",) if sheet else ()) + ("js/geo_grid_export.js",)
        return (
            Plugins(self.asset_base, (), scripts),
            MapCall("geoGridExport.exporter", options),
        )


class PageOptions(TypedDict, total=False):
    """What a page is drawn with besides its data: every builder of :mod:`geo_grid.maps` takes
    these as keyword arguments and hands them to :func:`open_page` (defaults in brackets).

    ``asset_base``
        URL prefix of ``geo_grid/static`` [``/static``, as under the API; :func:`write_map`
        rewrites it].
    ``tiles_url``, ``tiles_attribution``, ``tiles_crs``
        An optional base-map template [none: a plain background], its attribution [""] and the
        CRS its tiles use [``wgs84``]; ``gcj02`` shifts overlays onto AMap/Tencent tiles.
    ``district``
        The district's metric CRS (simplification tolerances are measured in it), centre and
        bounds (:class:`MapDistrict`) [none: taken from what the page draws].
    ``base``
        The page's base (:mod:`geo_grid.maps.basemap`: 天地图, an XYZ template, or the
        district's own roads and names), in place of the three ``tiles_`` options [none].

    >>> open_page("示例", tiles_crs="gcj02").shift is not None
    True
    >>> open_page("示例", tile_url="https://example.org/{z}/{x}/{y}.png")
    Traceback (most recent call last):
    ...
    TypeError: unexpected keyword argument 'tile_url' (see PageOptions)
    """

    asset_base: str
    tiles_url: str | None
    tiles_attribution: str
    tiles_crs: str
    district: MapDistrict | None
    base: BaseMap | None


_PAGE_DEFAULTS: PageOptions = {
    "asset_base": "/static",
    "tiles_url": None,
    "tiles_attribution": "",
    "tiles_crs": "wgs84",
    "district": None,
    "base": None,
}


def open_page(
    title: str, *, around: gpd.GeoDataFrame | None = None, **options: Unpack[PageOptions]
) -> Page:
    """Check the base map's CRS, then open an empty page titled ``title`` (:func:`base_map`)
    for ``options``' district, or without one for the data ``around``
    (:meth:`MapDistrict.around`). An option :class:`PageOptions` does not name is a TypeError,
    as a misspelt keyword argument is.

    A ``base`` option (:mod:`geo_grid.maps.basemap`) replaces ``tiles_url``,
    ``tiles_attribution`` and ``tiles_crs``: its tiles, or the district's own roads and names
    drawn under every layer."""
    unknown = sorted(set(options) - PageOptions.__optional_keys__)
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r} (see PageOptions)")
    o: PageOptions = {**_PAGE_DEFAULTS, **options}
    base = o["base"]
    tiles_crs = base.crs if base is not None else o["tiles_crs"]
    shift = display_transform(tiles_crs)
    district = o["district"] or MapDistrict.around(around)
    m = base_map(
        title=title,
        asset_base=o["asset_base"],
        tiles_url=o["tiles_url"],
        tiles_attribution=o["tiles_attribution"],
        centre=district.centre,
        bounds=district.bounds,
        base=base,
    )
    page = Page(
        m, shift, district.local_crs, o["asset_base"], tiles_crs,
        mercator=base is None or base.mercator, title=title, place=district.name,
    )  # fmt: skip
    if base is not None and not base.tiles and (base.roads is not None or base.places is not None):
        page.add(vector_layer(
            base, lambda gdf, m: page.geoms(gdf, m, coverage=False, frame=False),
            mercator=page.mercator,
        ))  # fmt: skip
    return page


def focus_html(
    html: str,
    *,
    bounds: Sequence[float],
    name: str,
    codes: Sequence[str] = (),
    place: str | None = None,
) -> str:
    """A page's HTML that opens on ``bounds`` (min lon, min lat, max lon, max lat) and names
    them (a street leader's street, a grid worker's grid) in a box, the grids ``codes``
    outlined: what a viewer of part of a district sees of its page; ``place`` (the area's own
    name) heads its print layout. The one cached page of the district serves every viewer; this
    adds a last script to it.

    >>> html = focus_html("<html><body></body></html>", bounds=[100.9, 30.1, 101.0, 30.2],
    ...     name="所辖范围：示例街道</script>")
    >>> html.count("</script>"), "\\u003c/script\\u003e" in html, html.endswith("</html>")
    (1, True, True)
    """
    args = js_literal({"bounds": [float(v) for v in bounds], "name": str(name),
                       "codes": [str(c) for c in codes], "place": place})  # fmt: skip
    script = f"<script>geoGrid.focus({args});</script>"
    at = html.rfind("</html>")
    return html + script if at < 0 else html[:at] + script + html[at:]


def map_html(m: folium.Map) -> str:
    """The complete HTML page of a map (what the API returns)."""
    return m.get_root().render()


def write_map(m: folium.Map, out_path: str | Path) -> Path:
    """Write ``m`` as an HTML file that works offline from disk, with its assets beside it.

    Leaflet and our script are copied to ``<out_dir>/static/`` (:func:`copy_assets`) and the page
    refers to them relatively, so the folder can be zipped, mailed or opened from a USB stick on a
    machine with no network.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    base = getattr(m, "geo_grid_asset_base", "/static").rstrip("/")
    html = map_html(m)
    for attr in ("src", "href"):
        html = html.replace(f'{attr}="{base}/', f'{attr}="static/')
    copy_assets(out_path.parent / "static")
    out_path.write_text(html, encoding="utf-8")
    return out_path
