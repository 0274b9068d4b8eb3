"""Folium maps of grids that work offline and stay light: coverage, defects, one grid.

Leaders and dispatchers would rather look than read. These builders take GeoDataFrames in storage
coordinates (EPSG:4490) and return a :class:`folium.Map`; the API serves ``map_html(m)`` and the
CLI writes a self-contained folder with :func:`write_map`.

Offline: no URL in a page points outside the project. Leaflet comes from ``{asset_base}/vendor``
(fetched at setup by :mod:`geo_grid.assets`), our helpers from ``{asset_base}/js`` and ``/css``;
the only external URL possible is the optional base-map tile template the operator configured.
Pass ``asset_base="/static"`` when the API mounts ``geo_grid/static`` at ``/static``.

Light: coverages are simplified in metres with their topology kept and packed as integer deltas
(:mod:`geo_grid._maps_encode`), so the 1,063-grid × 5-layer coverage page stays under 3 MB.

Base maps that use GCJ-02 (AMap, Tencent) need overlays shifted the same way: ``tiles_crs="gcj02"``
moves every overlay vertex through :func:`geo_grid.crs.wgs84_to_gcj02`.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> grids = gpd.GeoDataFrame(
...     {"code": ["320113001001001"], "name": ["一网格"], "households": [420]},
...     geometry=[box(118.90, 32.10, 118.91, 32.11)], crs=4490)
>>> street = gpd.GeoDataFrame({"name": ["尧化街道"]}, geometry=[box(118.89, 32.09, 118.92, 32.12)],
...     crs=4490)
>>> html = map_html(coverage_map(street, street.iloc[:0], {"unified": grids}))
>>> "全科网格" in html and "cdn" not in html
True
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_grid._maps_cases import cases_map, dispatch_map, indicators_map
from geo_grid._maps_common import (
    case_counts,
    check_frame,
    column,
    display_transform,
    fit,
    label_points,
    layer_name,
    roster_index,
)
from geo_grid._maps_common import (
    geoms as _geoms,
)
from geo_grid._maps_elements import (
    DataLayer,
    JsLayer,
    Legend,
    Plugins,
    SearchBox,
    ZoomLabels,
    base_map,
    js_literal,
)
from geo_grid._maps_encode import encode_layer
from geo_grid._maps_plan import plan_map
from geo_grid._maps_services import (
    ServiceCoverage,
    service_coverage,
    service_stations,
    services_map,
)
from geo_grid.assets import ensure_assets, static_path
from geo_grid.crs import STORAGE_EPSG, normalize_crs
from geo_grid.errors import BadInput
from geo_grid.labels import DEFECT_KIND, label
from geo_grid.layers import UNIFIED

__all__ = [
    "DEFECT_STYLES",
    "LAYER_STYLES",
    "ServiceCoverage",
    "cases_map",
    "checks_map",
    "coverage_map",
    "defect_style",
    "dispatch_map",
    "grid_map",
    "indicators_map",
    "map_html",
    "plan_map",
    "service_coverage",
    "service_stations",
    "services_map",
    "write_map",
]

#: Outline colours of the built-in layers (department layers are drawn unfilled-ish on top).
LAYER_STYLES: dict[str, dict[str, Any]] = {
    UNIFIED: {"color": "#2b6cb0", "weight": 0.8, "fillColor": "#63a4e0", "fillOpacity": 0.15},
    "politics_law": {"color": "#c2185b", "weight": 1.6, "fillOpacity": 0.04},
    "urban_mgmt": {"color": "#2e7d32", "weight": 1.6, "fillOpacity": 0.04},
    "emergency": {"color": "#ef6c00", "weight": 1.6, "fillOpacity": 0.04},
    "ecology": {"color": "#00838f", "weight": 1.6, "fillOpacity": 0.04},
}
_OTHER_LAYER = {"color": "#6a1b9a", "weight": 1.6, "fillOpacity": 0.04}
_STREET = {"color": "#1f1f1f", "weight": 2.6, "fill": False}
_COMMUNITY = {"color": "#555555", "weight": 1.3, "dashArray": "5 4", "fill": False}
_HOVER = {"weight": 3, "fillOpacity": 0.3}
_BUILDING = {"color": "#6d4c41", "weight": 0.6, "fillColor": "#bcaaa4", "fillOpacity": 0.6}
#: Above this many bytes of packed data a layer is served as vector tiles (when tiles are on).
INLINE_LIMIT = 1_500_000

#: Style of each defect kind (:data:`geo_grid.coverage.DEFECT_KINDS`; labels in
#: :data:`geo_grid.labels.DEFECT_KIND`): overlaps red, gaps orange, slivers yellow, nesting purple.
DEFECT_STYLES: dict[str, dict[str, Any]] = {
    "sliver_gap": {"color": "#c2185b", "fillColor": "#ffeb3b", "fillOpacity": 0.8},
    "overlap": {"color": "#d50000", "fillColor": "#ff1744", "fillOpacity": 0.6},
    "gap": {"color": "#e65100", "fillColor": "#ff9800", "fillOpacity": 0.6},
    "duplicate_code": {"color": "#7f0000", "fillColor": "#b71c1c", "fillOpacity": 0.5},
    "duplicate_geometry": {"color": "#7f0000", "fillColor": "#b71c1c", "fillOpacity": 0.5},
    "invalid_geometry": {"color": "#0d47a1", "fillColor": "#2196f3", "fillOpacity": 0.5},
    "empty": {"color": "#0d47a1", "fillColor": "#2196f3", "fillOpacity": 0.5},
    "parent_not_covered": {"color": "#4a148c", "fillColor": "#ce93d8", "fillOpacity": 0.5},
    "outside_parent": {"color": "#6a1b9a", "fillColor": "#ab47bc", "fillOpacity": 0.5},
    "crosses_parent": {"color": "#6a1b9a", "fillColor": "#ba68c8", "fillOpacity": 0.5},
}
_OTHER_DEFECT = {"color": "#424242", "fillColor": "#9e9e9e", "fillOpacity": 0.5}


def defect_style(kind: str) -> tuple[str, dict[str, Any]]:
    """Chinese label and style of a defect kind (an unknown kind: itself, grey).

    Spaces and hyphens count as underscores (``"sliver gap"``), as other tools write them.

    >>> defect_style("sliver gap")[0], defect_style("overlap")[1]["color"]
    ('狭缝', '#d50000')
    >>> defect_style("crosses_parent")[0], defect_style("new_kind")[0]
    ('跨越上级边界', 'new_kind')
    """
    key = str(kind).strip().lower().replace(" ", "_").replace("-", "_")
    return label(DEFECT_KIND, key), {"weight": 2, **DEFECT_STYLES.get(key, _OTHER_DEFECT)}


def _tile_layer(
    url_base: str, layer_name: str, style: dict, name: str, min_zoom: int = 0, query: str = ""
):
    """A vector-tile layer (Leaflet.VectorGrid) left off at opening; popups on click."""
    options = {
        "layerName": layer_name,
        "style": style,
        "minZoom": min_zoom,
        "title": "name",
        "tooltip": [["code", "编码"], ["households", "户数"], ["xiaoqu", "小区"]],
    }
    url = f"{url_base}/{{z}}/{{x}}/{{y}}.pbf{query}"
    call = f"geoGrid.vectorTiles({js_literal(url)}, {js_literal(options)})"
    return JsLayer(call, name, show=False)


# ---------------------------------------------------------------- builders


def coverage_map(
    streets: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    grids_by_layer: dict[str, gpd.GeoDataFrame],
    *,
    roster: pd.DataFrame | None = None,
    open_cases: Any = None,
    asset_base: str = "/static",
    tiles_url: str | None = None,
    tiles_attribution: str = "",
    bounds: tuple[float, float, float, float] | None = None,
    tiles_crs: str = "wgs84",
    search_url: str | None = "/api/v1/geocode",
    simplify_m: float = 4.0,
    label_zoom: int = 15,
    tiles_base: str | None = None,
    tiles_query: str = "",
    inline_limit: int = INLINE_LIMIT,
    building_tiles: bool = False,
    layer_names: Mapping[str, str] | None = None,
) -> folium.Map:
    """The coverage page: unified grids over street and community outlines, department toggles.

    Parameters
    ----------
    streets, communities
        Admin outlines (EPSG:4490) with a ``name`` column (``code`` optional).
    grids_by_layer
        Layer key → grids (EPSG:4490) with ``code`` and optionally ``name`` and ``households``.
        The ``unified`` layer is shown at opening; every other layer is a toggle left off.
    roster
        Rows ``person_id, name, phone, role, layer, grid_code``; ``grid_leader`` and
        ``grid_worker`` names appear in tooltips. Phone numbers are never put on the map.
    open_cases
        Open case count per grid code: a mapping, a Series indexed by code, or case rows with a
        ``grid_code`` column.
    asset_base
        URL prefix of ``geo_grid/static`` (``/static`` under the API; :func:`write_map` rewrites).
    tiles_url, tiles_attribution, tiles_crs
        Optional base-map template (none: a plain background) and the CRS its tiles use;
        ``gcj02`` shifts overlays onto AMap/Tencent tiles.
    search_url
        Address search endpoint called as ``search_url?q=`` (``&crs=`` added when shifted);
        ``None`` leaves the search box out.
    simplify_m
        Coverage simplification tolerance in metres (topology kept).
    label_zoom
        Grid names appear from this zoom level on.
    tiles_base, inline_limit, building_tiles
        With ``tiles_base`` (``/tiles`` under the API), a department layer whose packed data
        would exceed ``inline_limit`` bytes is drawn from vector tiles
        ``{tiles_base}/{key}/{z}/{x}/{y}.pbf`` instead of being inlined, and ``building_tiles``
        adds the buildings as a tile layer from zoom 15. Tiles are Web Mercator of storage
        coordinates, so they are only used when ``tiles_crs`` needs no shift. The unified layer
        is always inline: labels, tooltips and the search box need its features in the page.
        ``tiles_query`` is appended to each tile URL (``?district=320508``: the page's district).
    layer_names
        Layer key → Chinese name (the store's); built-in names and then keys otherwise.
    bounds
        Where the map opens (a district's min lon, min lat, max lon, max lat); None: what it
        draws.
    """
    streets = check_frame(streets, "streets")
    communities = check_frame(communities, "communities")
    if UNIFIED not in grids_by_layer:
        raise BadInput("grids_by_layer: the 'unified' layer is required", field="grids_by_layer")
    layers = {
        key: check_frame(gdf, f"grids_by_layer[{key!r}]", ("code",))
        for key, gdf in grids_by_layer.items()
    }
    shift = display_transform(tiles_crs)
    use_tiles = bool(tiles_base) and shift is None
    if use_tiles or building_tiles:
        tiles_base = (tiles_base or "").rstrip("/")
    people = roster_index(roster)
    cases = case_counts(open_cases)

    m = base_map(
        title="网格覆盖图",
        asset_base=asset_base,
        tiles_url=tiles_url,
        tiles_attribution=tiles_attribution,
        bounds=bounds,
    )
    if use_tiles:
        m.add_child(
            Plugins(asset_base, [("leaflet.vectorgrid", "Leaflet.VectorGrid.bundled.min.js")])
        )
    drawn: list[np.ndarray] = []
    order = [UNIFIED] + [k for k in layers if k != UNIFIED]
    grid_layers: dict[str, DataLayer] = {}
    tooltip = [
        ["code", "编码"],
        ["households", "户数"],
        ["leader", "网格长"],
        ["worker", "网格员"],
        ["cases", "未结案件"],
    ]
    for key in order:
        gdf = layers[key]
        geoms = _geoms(gdf, simplify_m, shift)
        drawn.append(geoms)
        codes = [str(c) for c in gdf["code"].tolist()]
        staff = [people.get((key, c)) or people.get((None, c)) or {} for c in codes]
        fields = ["code", "name", "households", "leader", "worker", "cases"]
        columns = [
            codes,
            column(gdf, "name"),
            column(gdf, "households"),
            [s.get("leader") for s in staff],
            [s.get("worker") for s in staff],
            [cases.get(c) for c in codes],
        ]
        if key == UNIFIED:
            fields.append("_lp")
            columns.append(label_points(geoms))
        encoded = encode_layer(geoms, fields, [list(r) for r in zip(*columns, strict=True)])
        style = LAYER_STYLES.get(key, _OTHER_LAYER)
        options = {"style": style, "hover": _HOVER, "title": "name", "tooltip": tooltip}
        if use_tiles and key != UNIFIED and len(js_literal(encoded)) > inline_limit:
            name = layer_name(key, layer_names)
            m.add_child(_tile_layer(f"{tiles_base}/{key}", "grids", style, name, query=tiles_query))
            continue
        name = layer_name(key, layer_names)
        grid_layers[key] = DataLayer(encoded, options, name, show=key == UNIFIED)
        m.add_child(grid_layers[key])

    for gdf, name, style, width in (
        (communities, "社区", _COMMUNITY, 2.0),
        (streets, "街道", _STREET, 4.0),
    ):
        geoms = _geoms(gdf, min(simplify_m, width) if simplify_m > 0 else 0, shift)
        drawn.append(geoms)
        encoded = encode_layer(geoms, ["name"], [[n] for n in column(gdf, "name")])
        m.add_child(DataLayer(encoded, {"style": style, "interactive": False}, name))

    if use_tiles and building_tiles:
        m.add_child(
            _tile_layer(
                f"{tiles_base}/buildings",
                "buildings",
                _BUILDING,
                "楼栋（放大后显示）",
                15,
                query=tiles_query,
            )  # fmt: skip
        )
    m.add_child(ZoomLabels(grid_layers[UNIFIED], "name", label_zoom))
    if search_url:
        crs_param = None if shift is None else normalize_crs(tiles_crs)
        m.add_child(SearchBox(grid_layers[UNIFIED], search_url, UNIFIED, crs_param))
    legend = [("街道", _STREET), ("社区", _COMMUNITY)]
    legend += [(layer_name(k, layer_names), LAYER_STYLES.get(k, _OTHER_LAYER)) for k in order]
    m.add_child(Legend("图例", legend))
    folium.LayerControl(collapsed=False).add_to(m)
    fit(m, drawn)
    return m


def checks_map(
    grids: gpd.GeoDataFrame,
    defects: gpd.GeoDataFrame,
    *,
    layer: str | None = None,
    asset_base: str = "/static",
    tiles_url: str | None = None,
    tiles_attribution: str = "",
    bounds: tuple[float, float, float, float] | None = None,
    tiles_crs: str = "wgs84",
    simplify_m: float = 0.5,
    layer_names: Mapping[str, str] | None = None,
) -> folium.Map:
    """The defects of one layer drawn over its grids, one toggle and legend entry per kind.

    ``defects`` has columns ``kind, ids, area_m2, width_m, parent`` and a geometry (polygons, or
    lines/points for invalid edges). Overlaps are red, gaps orange, slivers yellow with a magenta
    edge, nesting errors purple, invalid geometry blue; each has a popup with its kind, area, width,
    ids and parent, and a dot at its centre so metre-wide slivers are visible from afar.
    ``layer_names`` name the layer as the store does (see :func:`coverage_map`).
    """
    grids = check_frame(grids, "grids", ("code",))
    defects = check_frame(defects, "defects", ("kind",))
    shift = display_transform(tiles_crs)
    title = f"{layer_name(layer, layer_names)} 覆盖检查" if layer else "覆盖检查"
    m = base_map(
        title=title,
        asset_base=asset_base,
        tiles_url=tiles_url,
        tiles_attribution=tiles_attribution,
        bounds=bounds,
    )

    grid_geoms = _geoms(grids, simplify_m, shift)
    encoded = encode_layer(
        grid_geoms,
        ["code", "name"],
        [list(r) for r in zip(column(grids, "code"), column(grids, "name"), strict=True)],
    )
    grid_style = {"color": "#37474f", "weight": 0.8, "fillColor": "#cfd8dc", "fillOpacity": 0.25}
    grid_layer = DataLayer(
        encoded,
        {"style": grid_style, "title": "name", "tooltip": [["code", "编码"]]},
        layer_name(layer, layer_names) if layer else "网格",
    )
    m.add_child(grid_layer)
    m.add_child(ZoomLabels(grid_layer, "code", 16))

    defect_geoms = _geoms(defects, 0, shift, coverage=False)
    kinds = [str(k) for k in defects["kind"].tolist()]
    popup = [
        ["area_m2", "面积 (m²)"],
        ["width_m", "宽度 (m)"],
        ["ids", "涉及网格"],
        ["parent", "上级"],
    ]
    legend: list[tuple[str, dict]] = [("网格", grid_style)]
    by_label: dict[str, list[int]] = {}
    for i, kind in enumerate(kinds):
        by_label.setdefault(defect_style(kind)[0], []).append(i)
    columns = {c: column(defects, c) for c in ("area_m2", "width_m", "ids", "parent")}
    for kind_zh, rows in by_label.items():
        style = defect_style(kinds[rows[0]])[1]
        encoded = encode_layer(
            defect_geoms[rows],
            ["kind", "area_m2", "width_m", "ids", "parent"],
            [
                [kind_zh, *(columns[c][i] for c in ("area_m2", "width_m", "ids", "parent"))]
                for i in rows
            ],
        )
        options = {"style": style, "point": {"radius": 6}, "title": "kind", "popup": popup}
        options["pins"] = True
        m.add_child(DataLayer(encoded, options, f"{kind_zh} ({len(rows)})"))
        legend.append((f"{kind_zh} {len(rows)}", style))
    m.add_child(Legend(f"{title}：{len(kinds)} 处问题" if kinds else f"{title}：无问题", legend))
    folium.LayerControl(collapsed=False).add_to(m)
    fit(m, [grid_geoms, defect_geoms])
    return m


def _one_grid(grid_row: Any) -> gpd.GeoDataFrame:
    if isinstance(grid_row, gpd.GeoDataFrame):
        frame = grid_row
    elif isinstance(grid_row, pd.Series) and isinstance(grid_row.get("geometry"), shapely.Geometry):
        frame = gpd.GeoDataFrame([grid_row], geometry="geometry", crs=STORAGE_EPSG)
    else:
        raise BadInput("grid_row: expected a GeoDataFrame row with a geometry", field="grid_row")
    if len(frame) != 1:
        raise BadInput(f"grid_row: expected one grid, got {len(frame)}", field="grid_row")
    return check_frame(frame, "grid_row")


def grid_map(
    grid_row: Any,
    buildings: gpd.GeoDataFrame,
    addresses: gpd.GeoDataFrame,
    neighbours: gpd.GeoDataFrame | None = None,
    *,
    asset_base: str = "/static",
    tiles_url: str | None = None,
    tiles_attribution: str = "",
    bounds: tuple[float, float, float, float] | None = None,
    tiles_crs: str = "wgs84",
) -> folium.Map:
    """One grid with its buildings (households in tooltips) and address points, neighbours grey.

    ``grid_row`` is a one-row GeoDataFrame or a row (Series, assumed EPSG:4490) with ``code``,
    ``name`` and ``households``; ``buildings`` may carry ``code, name, xiaoqu, households,
    floors``; ``addresses`` carry ``full_text``.
    """
    grid = _one_grid(grid_row)
    buildings = check_frame(buildings, "buildings")
    addresses = check_frame(addresses, "addresses")
    shift = display_transform(tiles_crs)
    code = column(grid, "code")[0]
    name = column(grid, "name")[0]
    m = base_map(
        title=f"网格 {code or ''} {name or ''}".strip(),
        asset_base=asset_base,
        tiles_url=tiles_url,
        tiles_attribution=tiles_attribution,
        bounds=bounds,
    )
    drawn: list[np.ndarray] = []
    legend: list[tuple[str, dict]] = []
    if neighbours is not None and len(neighbours):
        neighbours = check_frame(neighbours, "neighbours")
        geoms = _geoms(neighbours, 0, shift)
        style = {"color": "#757575", "weight": 1, "fillColor": "#bdbdbd", "fillOpacity": 0.2}
        rows = zip(column(neighbours, "code"), column(neighbours, "name"), strict=True)
        layer = DataLayer(
            encode_layer(geoms, ["code", "name"], [list(r) for r in rows]),
            {"style": style, "title": "name", "tooltip": [["code", "编码"]]},
            "相邻网格",
        )
        m.add_child(layer)
        m.add_child(ZoomLabels(layer, "name", 0))
        legend.append(("相邻网格", style))

    geoms = _geoms(grid, 0, shift)
    drawn.append(geoms)
    style = {"color": "#0d47a1", "weight": 3, "fillColor": "#64b5f6", "fillOpacity": 0.12}
    fields = ["code", "name", "households"]
    grid_rows = [[code, name, column(grid, "households")[0]]]
    m.add_child(
        DataLayer(
            encode_layer(geoms, fields, grid_rows),
            {
                "style": style,
                "title": "name",
                "tooltip": [["code", "编码"], ["households", "户数"]],
            },
            "网格",
        )
    )
    legend.append(("网格", style))

    geoms = _geoms(buildings, 0, shift, coverage=False)
    drawn.append(geoms)
    style = {"color": "#5d4037", "weight": 1, "fillColor": "#bcaaa4", "fillOpacity": 0.7}
    fields = ["code", "name", "xiaoqu", "households", "floors"]
    rows = zip(*(column(buildings, f) for f in fields), strict=True)
    tip = [["xiaoqu", "小区"], ["households", "户数"], ["floors", "层数"], ["code", "编码"]]
    m.add_child(
        DataLayer(
            encode_layer(geoms, fields, [list(r) for r in rows]),
            {"style": style, "hover": {"weight": 2.5}, "title": "name", "tooltip": tip},
            f"楼栋 ({len(buildings)})",
        )
    )
    legend.append(("楼栋", style))

    geoms = _geoms(addresses, 0, shift, coverage=False)
    drawn.append(geoms)
    text_col = next((c for c in ("full_text", "address", "text") if c in addresses.columns), None)
    texts = column(addresses, text_col) if text_col else [None] * len(addresses)
    style = {"color": "#b71c1c", "weight": 1, "fillColor": "#ef5350", "fillOpacity": 0.9}
    m.add_child(
        DataLayer(
            encode_layer(geoms, ["text"], [[t] for t in texts]),
            {"style": style, "point": {"radius": 3}, "title": "text", "tooltip": []},
            f"地址 ({len(addresses)})",
        )
    )
    legend.append(("地址", style))
    m.add_child(Legend(f"{code or ''} {name or ''}".strip(), legend))
    folium.LayerControl(collapsed=False).add_to(m)
    fit(m, drawn)
    return m


# ---------------------------------------------------------------- output


def map_html(m: folium.Map) -> str:
    """The complete HTML page of a map (what the API returns)."""
    return m.get_root().render()


def write_map(m: folium.Map, out_path: str | Path) -> Path:
    """Write ``m`` as an HTML file that works offline from disk, with its assets beside it.

    Leaflet and our script are copied to ``<out_dir>/static/`` and the page refers to them
    relatively, so the folder can be zipped, mailed or opened from a USB stick on a machine with
    no network.
    """
    out_path = Path(out_path)
    out_dir = out_path.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    base = getattr(m, "geo_grid_asset_base", "/static").rstrip("/")
    html = map_html(m)
    for attr in ("src", "href"):
        html = html.replace(f'{attr}="{base}/', f'{attr}="static/')
    target = out_dir / "static"
    vendor = ensure_assets()
    ignore = shutil.ignore_patterns("*.tmp", ".manifest.json")
    shutil.copytree(vendor, target / "vendor", dirs_exist_ok=True, ignore=ignore)
    for sub in ("js", "css", "img"):
        shutil.copytree(static_path() / sub, target / sub, dirs_exist_ok=True)
    out_path.write_text(html, encoding="utf-8")
    return out_path
