"""The coverage pages: a district's grids over its streets and communities, and a layer's defects.

:func:`coverage_map` is the page leaders open: the unified grids (names from zoom 15, grid leader
and worker names and open cases in tooltips, phones never) over street and community outlines,
each department layer a toggle. Light: coverages are simplified in metres with their topology
kept and packed as integer deltas (:mod:`geo_grid.maps.encode`), so the 1,063-grid × 5-layer page
stays under 3 MB; a department layer too big to inline is drawn from vector tiles.

:func:`checks_map` draws what :func:`geo_grid.coverage.check_coverage` found in one layer, one
toggle and legend entry per defect kind (:func:`defect_style`).

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> from geo_grid.maps import map_html
>>> grids = gpd.GeoDataFrame(
...     {"code": ["990101001001001"], "name": ["一网格"], "households": [420]},
...     geometry=[box(114.30, 30.60, 114.31, 30.61)], crs=4490)
>>> street = gpd.GeoDataFrame({"name": ["东湖街道"]}, geometry=[box(114.29, 30.59, 114.32, 30.62)],
...     crs=4490)
>>> html = map_html(coverage_map(street, street.iloc[:0], {"unified": grids}))
>>> "全科网格" in html and "cdn" not in html
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

import folium
import geopandas as gpd
import pandas as pd

from geo_grid.crs import normalize_crs
from geo_grid.errors import BadInput
from geo_grid.labels import DEFECT_KIND, label
from geo_grid.layers import UNIFIED
from geo_grid.maps.assets import Plugins
from geo_grid.maps.elements import (
    DataLayer,
    JsLayer,
    Legend,
    MapCall,
    SearchBox,
    ZoomLabels,
    js_literal,
)
from geo_grid.maps.encode import encode_layer
from geo_grid.maps.frames import check_frame, column, layer_name
from geo_grid.maps.page import Page, PageOptions, label_points, open_page
from geo_grid.roster import DUTIES, role_label

__all__ = [
    "DEFECT_STYLES",
    "INLINE_LIMIT",
    "LAYER_STYLES",
    "case_counts",
    "checks_map",
    "coverage_map",
    "defect_style",
    "roster_index",
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


_GRID_FIELDS = ["code", "name", "households"]
_GRID_TOOLTIP = [["code", "编码"], ["households", "户数"]]
_CASES_TOOLTIP = ["cases", "未结案件"]
_CHECK_GRID = {"color": "#37474f", "weight": 0.8, "fillColor": "#cfd8dc", "fillOpacity": 0.25}
_DEFECT_COLUMNS = ("area_m2", "width_m", "ids", "parent")
_DEFECT_POPUP = [
    ["area_m2", "面积 (m²)"],
    ["width_m", "宽度 (m)"],
    ["ids", "涉及网格"],
    ["parent", "上级"],
]


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


def roster_index(roster: pd.DataFrame | None) -> dict[tuple[str | None, str], dict[str, str]]:
    """(layer, grid code) → {role as people read it: names}, for every role on the roster.

    Roles are data per district (楼栋长, 网格指导员, a department's 报到 members …): each is shown
    under its district's name (the ``role_name`` column, :func:`geo_grid.roster.role_label`), in
    the order of its duty (``duty``: workers and leaders first), then by name. Phone numbers never
    leave here.

    >>> roster_index(pd.DataFrame({"name": ["王", "李", "赵", "钱"],
    ...     "role": ["grid_leader", "grid_worker", "grid_guide", "grid_worker"],
    ...     "role_name": [None, "网格员", "网格指导员", "网格员"],
    ...     "duty": ["grid_leader", "grid_worker", "none", "grid_worker"],
    ...     "grid_code": ["g1", "g1", "g1", "g1"], "phone": ["139", "138", "137", "136"]}))
    {(None, 'g1'): {'网格员': '李、钱', '网格长': '王', '网格指导员': '赵'}}
    """
    if roster is None or len(roster) == 0:
        return {}
    for col in ("name", "role", "grid_code"):
        if col not in roster.columns:
            raise BadInput(f"roster: missing column {col}", field="roster")
    layer_col = next((c for c in ("layer", "layer_key") if c in roster.columns), None)
    rows = pd.DataFrame(
        {
            "layer": roster[layer_col] if layer_col else None,
            "code": roster["grid_code"].astype(str),
            "name": roster["name"].astype(str),
            "role": [
                role_label(k, n)
                for k, n in zip(roster["role"], _optional(roster, "role_name"), strict=True)
            ],
            "rank": [_DUTY_RANK.get(d, len(DUTIES)) for d in _optional(roster, "duty")],
        }
    ).sort_values(["rank", "role", "name"], kind="stable")
    index: dict[tuple[str | None, str], dict[str, list[str]]] = {}
    for layer, code, name, role in zip(rows["layer"], rows["code"], rows["name"], rows["role"],
                                       strict=True):  # fmt: skip
        index.setdefault((layer, code), {}).setdefault(role, []).append(name)
    return {k: {r: "、".join(v) for r, v in e.items()} for k, e in index.items()}


#: Roles are listed in the order of their duty (:data:`geo_grid.roster.DUTIES`).
_DUTY_RANK = {duty: i for i, duty in enumerate(DUTIES)}


def _optional(frame: pd.DataFrame, column: str) -> list[Any]:
    """A column's values as plain objects (None for missing), or Nones without the column."""
    if column not in frame.columns:
        return [None] * len(frame)
    return [None if v is None or pd.isna(v) else v for v in frame[column].astype(object)]


def case_counts(open_cases: Any) -> dict[str, int]:
    """Open cases per grid code from a mapping, a Series (index = code) or rows with grid_code.

    >>> case_counts(pd.DataFrame({"grid_code": ["a", "a", "b"]})), case_counts({"c": 2})
    ({'a': 2, 'b': 1}, {'c': 2})
    """
    if open_cases is None:
        return {}
    if isinstance(open_cases, pd.DataFrame):
        if "grid_code" not in open_cases.columns:
            raise BadInput("open_cases: missing column grid_code", field="open_cases")
        return {str(k): int(v) for k, v in open_cases["grid_code"].value_counts().items()}
    if isinstance(open_cases, (pd.Series, Mapping)):
        return {str(k): int(v) for k, v in dict(open_cases).items()}
    raise BadInput("open_cases: expected a mapping, Series or DataFrame", field="open_cases")


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


def _check_layers(grids_by_layer: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    """The layers checked, ``unified`` first (it is required: labels and search need it)."""
    if UNIFIED not in grids_by_layer:
        raise BadInput("grids_by_layer: the 'unified' layer is required", field="grids_by_layer")
    layers = {
        key: check_frame(gdf, f"grids_by_layer[{key!r}]", ("code",))
        for key, gdf in grids_by_layer.items()
    }
    return {UNIFIED: layers[UNIFIED]} | {k: v for k, v in layers.items() if k != UNIFIED}


def _grid_layer(
    page: Page,
    key: str,
    gdf: gpd.GeoDataFrame,
    people: dict[tuple[str | None, str], dict[str, str]],
    cases: dict[str, int],
    simplify_m: float,
    name: str,
) -> DataLayer:
    """One layer's grids with their staff and open cases; the unified layer's with label points.

    Every role on the layer's roster gets a field of its own (``role0``, ``role1`` …), shown
    under the role's name in the grid's tooltip."""
    geoms = page.geoms(gdf, simplify_m)
    codes = [str(c) for c in gdf["code"].tolist()]
    staff = [people.get((key, c)) or people.get((None, c)) or {} for c in codes]
    roles = list(dict.fromkeys(role for s in staff for role in s))
    role_fields = [f"role{i}" for i in range(len(roles))]
    fields = [*_GRID_FIELDS, *role_fields, "cases"]
    columns = [
        codes,
        column(gdf, "name"),
        column(gdf, "households"),
        *[[s.get(role) for s in staff] for role in roles],
        [cases.get(c) for c in codes],
    ]
    tooltip = [*_GRID_TOOLTIP, *map(list, zip(role_fields, roles, strict=True)), _CASES_TOOLTIP]
    if key == UNIFIED:
        fields.append("_lp")
        columns.append(label_points(geoms))
    encoded = encode_layer(geoms, fields, [list(r) for r in zip(*columns, strict=True)])
    style = LAYER_STYLES.get(key, _OTHER_LAYER)
    options = {"style": style, "hover": _HOVER, "title": "name", "tooltip": tooltip}
    return DataLayer(encoded, options, name, show=key == UNIFIED)


def _outline_layers(
    page: Page, streets: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, simplify_m: float
) -> list[DataLayer]:
    """Community and street outlines, simplified no more than their drawn line is wide."""
    out = []
    for gdf, name, style, width in (
        (communities, "社区", _COMMUNITY, 2.0),
        (streets, "街道", _STREET, 4.0),
    ):
        geoms = page.geoms(gdf, min(simplify_m, width) if simplify_m > 0 else 0)
        encoded = encode_layer(geoms, ["name"], [[n] for n in column(gdf, "name")])
        out.append(DataLayer(encoded, {"style": style, "interactive": False}, name))
    return out


def coverage_map(
    streets: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    grids_by_layer: dict[str, gpd.GeoDataFrame],
    *,
    roster: pd.DataFrame | None = None,
    open_cases: Any = None,
    search_url: str | None = "/api/v1/search",
    simplify_m: float = 4.0,
    label_zoom: int = 15,
    tiles_base: str | None = None,
    tiles_query: str = "",
    inline_limit: int = INLINE_LIMIT,
    building_tiles: bool = False,
    layer_names: Mapping[str, str] | None = None,
    **options: Unpack[PageOptions],
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
    search_url
        The search endpoint (``/api/v1/search``: typed hits of streets, communities, roads,
        小区, grids and door plates) called as ``search_url?q=`` (``&crs=`` added when shifted);
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
        ``tiles_query`` is appended to each tile URL (``?district=420102``: the page's district).
    layer_names
        Layer key → Chinese name (the store's); built-in names and then keys otherwise.
    **options
        :class:`~geo_grid.maps.page.PageOptions`: assets, base map and the district (its metric
        CRS, in which ``simplify_m`` is measured, and its bounds).
    """
    streets = check_frame(streets, "streets")
    communities = check_frame(communities, "communities")
    layers = _check_layers(grids_by_layer)
    page = open_page("网格覆盖图", around=layers[UNIFIED], **options)
    people, cases = roster_index(roster), case_counts(open_cases)
    use_tiles = bool(tiles_base) and page.shift is None and page.mercator
    tiles_base = (tiles_base or "").rstrip("/")
    if use_tiles:
        page.add(
            Plugins(page.asset_base, [("leaflet.vectorgrid", "Leaflet.VectorGrid.bundled.min.js")])
        )
    names = {key: layer_name(key, layer_names) for key in layers}
    inline: dict[str, DataLayer] = {}
    for key, gdf in layers.items():
        layer = _grid_layer(page, key, gdf, people, cases, simplify_m, names[key])
        if use_tiles and key != UNIFIED and len(layer.data_js) > inline_limit:
            style = LAYER_STYLES.get(key, _OTHER_LAYER)
            page.add(
                _tile_layer(f"{tiles_base}/{key}", "grids", style, names[key], query=tiles_query)
            )
        else:
            inline[key] = layer
            page.add(layer)
    page.add(*_outline_layers(page, streets, communities, simplify_m))
    if use_tiles and building_tiles:
        page.add(
            _tile_layer(
                f"{tiles_base}/buildings",
                "buildings",
                _BUILDING,
                "楼栋（放大后显示）",
                15,
                query=tiles_query,
            )  # fmt: skip
        )
    page.add(ZoomLabels(inline[UNIFIED], "name", label_zoom))
    if search_url:
        crs_param = None if page.shift is None else normalize_crs(page.tiles_crs)
        page.add(SearchBox(inline[UNIFIED], search_url, UNIFIED, crs_param))
    legend = [("街道", _STREET), ("社区", _COMMUNITY)]
    legend += [(names[k], LAYER_STYLES.get(k, _OTHER_LAYER)) for k in layers]
    return page.finish(Legend("图例", legend))


def _defect_layers(defects: gpd.GeoDataFrame, geoms: Any) -> list[tuple[str, dict, DataLayer]]:
    """One layer per defect label (kinds written differently share one): label, style, layer."""
    kinds = [str(k) for k in defects["kind"].tolist()]
    by_label: dict[str, list[int]] = {}
    for i, kind in enumerate(kinds):
        by_label.setdefault(defect_style(kind)[0], []).append(i)
    columns = {c: column(defects, c) for c in _DEFECT_COLUMNS}
    out = []
    for kind_zh, rows in by_label.items():
        style = defect_style(kinds[rows[0]])[1]
        encoded = encode_layer(
            geoms[rows],
            ["kind", *_DEFECT_COLUMNS],
            [[kind_zh, *(columns[c][i] for c in _DEFECT_COLUMNS)] for i in rows],
        )
        options = {"style": style, "point": {"radius": 6}, "title": "kind", "popup": _DEFECT_POPUP}
        options["pins"] = True
        out.append(
            (
                f"{kind_zh} {len(rows)}",
                style,
                DataLayer(encoded, options, f"{kind_zh} ({len(rows)})"),
            )
        )
    return out


def checks_map(
    grids: gpd.GeoDataFrame,
    defects: gpd.GeoDataFrame,
    *,
    layer: str | None = None,
    simplify_m: float = 0.5,
    layer_names: Mapping[str, str] | None = None,
    recheck: Mapping[str, Any] | None = None,
    **options: Unpack[PageOptions],
) -> folium.Map:
    """The defects of one layer drawn over its grids, one toggle and legend entry per kind.

    ``defects`` has columns ``kind, ids, area_m2, width_m, parent`` and a geometry (polygons, or
    lines/points for invalid edges). Overlaps are red, gaps orange, slivers yellow with a magenta
    edge, nesting errors purple, invalid geometry blue; each has a popup with its kind, area, width,
    ids and parent, and a dot at its centre so metre-wide slivers are visible from afar.
    ``layer_names`` name the layer as the store does and ``district`` gives its metric CRS and
    centre (see :func:`coverage_map`). ``recheck`` (``{"url", "body"}``) adds a 重新检查 button
    that posts the body there (the API's check of a stored layer, a job), shows the job's
    progress and reloads the page once it is done (``js/geo_grid_jobs.js``).
    """
    grids = check_frame(grids, "grids", ("code",))
    defects = check_frame(defects, "defects", ("kind",))
    title = f"{layer_name(layer, layer_names)} 覆盖检查" if layer else "覆盖检查"
    page = open_page(title, around=grids, **options)
    rows = zip(column(grids, "code"), column(grids, "name"), strict=True)
    grid_layer = DataLayer(
        encode_layer(page.geoms(grids, simplify_m), ["code", "name"], [list(r) for r in rows]),
        {"style": _CHECK_GRID, "title": "name", "tooltip": [["code", "编码"]]},
        layer_name(layer, layer_names) if layer else "网格",
    )
    page.add(grid_layer, ZoomLabels(grid_layer, "code", 16))
    legend: list[tuple[str, dict]] = [("网格", _CHECK_GRID)]
    for entry, style, defect_layer in _defect_layers(
        defects, page.geoms(defects, 0, coverage=False)
    ):
        page.add(defect_layer)
        legend.append((entry, style))
    heading = f"{title}：{len(defects)} 处问题" if len(defects) else f"{title}：无问题"
    last = []
    if recheck is not None:
        button = {"label": "重新检查", "title": "重新计算这一图层的覆盖检查", **recheck}
        last = [
            Plugins(page.asset_base, (), ("js/geo_grid_jobs.js",)),
            MapCall("geoGridJobs.button", {"position": "topleft", **button}),
        ]
    return page.finish(Legend(heading, legend), last=last)
