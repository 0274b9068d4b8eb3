"""Case maps: where cases pile up, which grids are red, and the dispatcher's map.

Three pages over the unified grids (EPSG:4490 GeoDataFrames in, :class:`folium.Map` out):

- :func:`cases_map` clusters case points (leaflet.markercluster), offers a heat map (leaflet.heat)
  and shades each grid by its case count (a choropleth with classes computed here, so the page
  only colours by class);
- :func:`indicators_map` colours grids red/yellow/green from
  :func:`geo_grid.cases.indicators.indicators` rows and states the on-time closure rate;
- :func:`dispatch_map` is the dispatcher's map: ``geo_grid/static/js/geo_grid_dispatch.js`` loads
  the queue from the cases API, asks ``/api/v1/locate`` what lies under a click and routes the case
  through the cases API. Nothing about cases is baked into that page: it stays correct while open.

Examples
--------
>>> import geopandas as gpd, pandas as pd
>>> from shapely import box
>>> grids = gpd.GeoDataFrame({"code": ["990101001001001"], "name": ["一网格"]},
...     geometry=[box(114.30, 30.60, 114.31, 30.61)], crs=4490)
>>> cases = pd.DataFrame({"number": ["C1"], "lon": [114.305], "lat": [30.605],
...     "category_code": ["E0101"], "status": ["dispatched"], "grid_code": ["990101001001001"]})
>>> html = cases_map(cases, grids).get_root().render()
>>> "markerClusters" in html and "leaflet.markercluster.js" in html
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_grid.access import mask_text
from geo_grid.cases.indicators import COLOUR_SOURCE, Thresholds, explain
from geo_grid.crs import STORAGE_EPSG
from geo_grid.errors import BadInput
from geo_grid.labels import CASE_STATE, INDICATOR_COLOUR, ROSTER_ROLE, label
from geo_grid.layers import LAYER_NAMES_ZH, UNIFIED
from geo_grid.maps.assets import Plugins
from geo_grid.maps.elements import (
    DataLayer,
    JsLayer,
    Legend,
    MapCall,
    ZoomLabels,
    html_text,
    js_literal,
)
from geo_grid.maps.encode import encode_layer
from geo_grid.maps.frames import check_frame, column, layer_name
from geo_grid.maps.page import Page, PageOptions, label_points, open_page
from geo_grid.timefmt import format_times

__all__ = [
    "INDICATOR_COLOURS",
    "case_classes",
    "cases_map",
    "dispatch_map",
    "indicators_map",
]

_CLOSED = {"closed", "rated", "rejected"}
_WAITING = {"received", "manual", "assessed", "returned"}
_DOT = {"open": "#e53935", "waiting": "#fb8c00", "closed": "#43a047"}
#: Red/yellow/green fills of the 红绿指标 map (None: no due case in the period).
INDICATOR_COLOURS: dict[str | None, dict[str, Any]] = {
    "red": {"color": "#7f0000", "fillColor": "#e53935", "fillOpacity": 0.65},
    "yellow": {"color": "#8d6e00", "fillColor": "#fdd835", "fillOpacity": 0.65},
    "green": {"color": "#1b5e20", "fillColor": "#43a047", "fillOpacity": 0.55},
    None: {"color": "#9e9e9e", "fillColor": "#eeeeee", "fillOpacity": 0.35},
}
_CHORO = ("#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704")
_CLUSTER_VENDOR = (
    ("leaflet.markercluster", "MarkerCluster.css"),
    ("leaflet.markercluster", "MarkerCluster.Default.css"),
    ("leaflet.markercluster", "leaflet.markercluster.js"),
    ("leaflet.heat", "leaflet-heat.js"),
)

_CASE_POPUP = [
    ["category", "类别"],
    ["status", "状态"],
    ["grid_code", "网格"],
    ["address", "地址"],
    ["received", "受理时间"],
]
#: Fills of grids that borrow their community's colour (too few cases of their own): paler.
_BORROWED = {k: {**v, "fillOpacity": 0.3, "dashArray": "4 3"} for k, v in
             INDICATOR_COLOURS.items() if k}  # fmt: skip
_INDICATOR_OPTIONS = {
    "style": {"weight": 0.7},
    "styleField": "style",
    "styles": {
        **{str(k): v for k, v in INDICATOR_COLOURS.items()},
        **{f"{k}~": v for k, v in _BORROWED.items()},
    },
    "hover": {"weight": 3},
    "title": "name",
    "tooltip": [
        ["light", "指标"],
        ["why", "原因"],
        ["ontime", "按期结案率"],
        ["closure", "结案率"],
        ["received", "受理"],
        ["due", "到期"],
        ["overdue", "超期"],
        ["code", "编码"],
    ],
}
_DISPATCH_GRID = {"color": "#2b6cb0", "weight": 0.8, "fillColor": "#63a4e0", "fillOpacity": 0.12}
_DISPATCH_DEPARTMENT = {"weight": 1.4, "fillOpacity": 0.0, "color": "#6a1b9a"}


def case_classes(counts: np.ndarray, n_classes: int = 5) -> tuple[np.ndarray, list[str]]:
    """Class of each grid's case count (0 = no case) and the class labels, breaks from the data.

    Zero is its own class; the others split the non-zero counts at quantiles rounded to integers
    so labels read as whole cases ("3–7 件").

    >>> cls, labels = case_classes(np.array([0, 1, 2, 3, 8, 20]))
    >>> cls.tolist(), labels
    ([0, 1, 2, 3, 4, 4], ['0 件', '1 件', '2 件', '3–7 件', '≥8 件'])
    """
    counts = np.asarray(counts, dtype=int)
    positive = counts[counts > 0]
    if len(positive) == 0:
        return np.zeros(len(counts), dtype=int), ["0 件"]
    qs = np.quantile(positive, np.linspace(0, 1, n_classes)[1:-1])
    breaks = sorted({int(np.ceil(q)) for q in qs} | {int(positive.min())})
    breaks = [b for b in breaks if b <= positive.max()][: n_classes - 1]
    cls = np.where(counts > 0, np.searchsorted(breaks, counts, side="right"), 0)
    labels = ["0 件"]
    for i, lo in enumerate(breaks):
        hi = breaks[i + 1] - 1 if i + 1 < len(breaks) else None
        if hi is None:
            labels.append(f"≥{lo} 件" if lo < positive.max() else f"{lo} 件")
        else:
            labels.append(f"{lo} 件" if hi == lo else f"{lo}–{hi} 件")
    return cls.astype(int), labels


def _case_points(cases: pd.DataFrame, page: Page) -> gpd.GeoDataFrame:
    """Case rows with a point geometry (from ``geometry`` or ``lon``/``lat``) as drawn on
    ``page``, unplaced dropped."""
    if isinstance(cases, gpd.GeoDataFrame):
        frame = check_frame(cases, "cases")
    elif isinstance(cases, pd.DataFrame):
        if not {"lon", "lat"} <= set(cases.columns):
            raise BadInput("cases: expected a geometry or lon/lat columns", field="cases")
        lon = pd.to_numeric(cases["lon"], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(cases["lat"], errors="coerce").to_numpy(dtype=float)
        points = np.where(np.isnan(lon) | np.isnan(lat), None, shapely.points(lon, lat))
        frame = gpd.GeoDataFrame(cases.copy(), geometry=list(points), crs=STORAGE_EPSG)
    else:
        raise BadInput(f"cases: expected a DataFrame, got {type(cases).__name__}", field="cases")
    frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
    frame = frame.reset_index(drop=True)
    drawn = page.geoms(frame, coverage=False, frame=False)
    frame.geometry = gpd.GeoSeries(drawn, crs=STORAGE_EPSG)
    return frame


def _category_names(codes: list[Any]) -> list[str | None]:
    from geo_grid.cases.catalogue import category

    names: dict[Any, str | None] = {}
    for code in set(codes):
        try:
            names[code] = category(str(code)).name_zh if code else None
        except Exception:  # an unknown code is shown as itself  # noqa: BLE001
            names[code] = str(code) if code else None
    return [names[c] for c in codes]


def _category_table() -> dict[str, str]:
    """Category code → Chinese name, so the dispatch page can name what the queue sends."""
    from geo_grid.cases.catalogue import categories

    return {c.code: c.name_zh for c in categories()}


def _status_group(status: Any) -> str:
    s = str(status)
    return "closed" if s in _CLOSED else "waiting" if s in _WAITING else "open"


def _grid_layer(
    page: Page,
    grids: gpd.GeoDataFrame,
    fields: list[str],
    columns: list[list[Any]],
    options: dict[str, Any],
    name: str,
    simplify_m: float,
    *,
    show: bool = True,
    frame: bool = True,
) -> DataLayer:
    """Grids with ``columns`` (one list per field) as one layer; ``frame``: the page opens on it."""
    drawn = page.geoms(grids, simplify_m, frame=frame)
    encoded = encode_layer(drawn, fields, [list(r) for r in zip(*columns, strict=True)])
    return DataLayer(encoded, options, name, show=show)


def _choropleth(
    page: Page, grids: gpd.GeoDataFrame, points: gpd.GeoDataFrame, simplify_m: float
) -> tuple[DataLayer, list[str]]:
    """Grids shaded by their case count in classes (:func:`case_classes`), and the class labels."""
    codes = [str(c) for c in grids["code"].tolist()]
    by_grid = (
        pd.Series(column(points, "grid_code")).dropna().astype(str).value_counts().to_dict()
        if len(points)
        else {}
    )
    counts = np.array([by_grid.get(c, 0) for c in codes], dtype=int)
    cls, labels = case_classes(counts)
    styles = {
        str(i): {"fillColor": _CHORO[i], "fillOpacity": 0.6 if i else 0.15}
        for i in range(len(labels))
    }
    options = {
        "style": {"color": "#8d6e63", "weight": 0.6},
        "styleField": "cls",
        "styles": styles,
        "hover": {"weight": 2.5},
        "title": "name",
        "tooltip": [["code", "编码"], ["cases", "案件数"]],
    }
    columns = [codes, column(grids, "name"), counts.tolist(), [str(c) for c in cls]]
    fields = ["code", "name", "cases", "cls"]
    return _grid_layer(page, grids, fields, columns, options, "网格案件量", simplify_m), labels


def _point_layers(points: gpd.GeoDataFrame) -> list[JsLayer]:
    """The cases as clustered dots coloured by status, and a heat map left off."""
    statuses = column(points, "status")
    received = (
        format_times(points["received_at"])
        if "received_at" in points.columns
        else [None] * len(points)
    )
    rows = zip(
        column(points, "number"),
        _category_names(column(points, "category_code")),
        [label(CASE_STATE, s) for s in statuses],
        [_status_group(s) for s in statuses],
        column(points, "grid_code"),
        [mask_text(a) for a in column(points, "address_text")],
        received,
        strict=True,
    )
    fields = ["number", "category", "status", "group", "grid_code", "address", "received"]
    data_js = js_literal(encode_layer(points.geometry.values, fields, [list(r) for r in rows]))
    options = {"colorField": "group", "colors": _DOT, "title": "number", "popup": _CASE_POPUP}
    # the heat map needs only the points: a second, property-free copy is a few bytes a case
    heat_js = js_literal(encode_layer(points.geometry.values, [], [[] for _ in range(len(points))]))
    return [
        JsLayer(f"geoGrid.markerClusters({data_js}, {js_literal(options)})", "案件点位"),
        JsLayer(f"geoGrid.heatLayer({heat_js}, {{}})", "热力图", show=False),
    ]


def _cases_info(title: str, period: str | None, total: int, points: gpd.GeoDataFrame) -> str:
    """The summary box: how many cases, how many unplaced, how many open (text escaped)."""
    info = f"<h3>{html_text(title)}</h3>{html_text(period) + '<br>' if period else ''}"
    info += f"共 <b>{total}</b> 件"
    unplaced = total - len(points)
    if unplaced:
        info += f"，其中 {unplaced} 件未定位"
    open_n = sum(_status_group(s) != "closed" for s in column(points, "status"))
    return info + f"；未结 <b>{open_n}</b> 件"


def cases_map(
    cases: pd.DataFrame,
    grids: gpd.GeoDataFrame,
    *,
    title: str = "案件分布",
    period: str | None = None,
    simplify_m: float = 4.0,
    **options: Unpack[PageOptions],
) -> folium.Map:
    """Cases as clustered dots, a heat map and a per-grid choropleth of case counts.

    Parameters
    ----------
    cases
        Rows with ``lon, lat`` (EPSG:4490) or a geometry, and ``number, category_code, status,
        grid_code``; optional ``address_text, received_at``. Unplaced cases (no point) are counted
        in the summary but not drawn. Reporter names and phones are never read, and phone and
        ID numbers typed into an address are masked (:func:`geo_grid.access.mask_text`).
    grids
        The unified grids (``code``, ``name``) the counts are shaded on; the page opens on them.
    period
        Text stating the period shown ("2026-10-01 至 2026-11-01"), for the summary box.
    **options
        :class:`~geo_grid.maps.page.PageOptions`: assets, base map and the district (its metric
        CRS, in which ``simplify_m`` is measured, and its bounds).
    """
    grids = check_frame(grids, "grids", ("code",))
    page = open_page(title, around=grids, **options)
    points = _case_points(cases, page)
    page.add(Plugins(page.asset_base, _CLUSTER_VENDOR))
    choropleth, labels = _choropleth(page, grids, points, simplify_m)
    page.add(choropleth, *_point_layers(points))
    legend = [(text, {"color": "#8d6e63", "fillColor": _CHORO[i]}) for i, text in enumerate(labels)]
    legend += [
        ("待派遣", {"color": "#fff", "fillColor": _DOT["waiting"]}),
        ("处置中", {"color": "#fff", "fillColor": _DOT["open"]}),
        ("已结案", {"color": "#fff", "fillColor": _DOT["closed"]}),
    ]
    info = _cases_info(title, period, len(cases), points)
    return page.finish(Legend("每网格案件数 / 案件状态", legend), info)


def _pct(values: list[Any]) -> list[str | None]:
    return [None if v is None or pd.isna(v) else f"{100 * float(v):.0f}%" for v in values]


def _indicator_rows(indicators: pd.DataFrame, codes: list[str]) -> list[dict[str, Any]]:
    """The indicator row of each grid of ``codes`` in order (empty for a grid without one)."""
    table = indicators.drop_duplicates("code")
    by_code = dict(zip(table["code"].astype(str), table.to_dict("records"), strict=True))
    return [by_code.get(code, {}) for code in codes]


def _indicators_info(indicators: pd.DataFrame, counts: dict, borrowed: int,
                     period: str | None, area: str | None) -> str:  # fmt: skip
    """The summary box: the on-time closure rate of due cases and the grids of each colour."""
    table = indicators.drop_duplicates("code")
    due = int(pd.to_numeric(table.get("due", pd.Series(dtype=float)), errors="coerce").sum())
    on_time = pd.to_numeric(table.get("closed_on_time", pd.Series(dtype=float)), errors="coerce")
    rate = f"{100 * on_time.sum() / due:.1f}%" if due else "—"
    info = f"<h3>红绿指标{'：' + html_text(area) if area else ''}</h3>"
    if period:
        info += f"{html_text(period)}<br>"
    info += f"按期结案率 <b>{rate}</b>（到期 {due} 件）<br>"
    info += f"红 {counts['red']} · 黄 {counts['yellow']} · 绿 {counts['green']} 个网格"
    if borrowed:
        info += (
            f"<br><small>其中 {borrowed} 个网格案件过少，沿用所在社区或街道的颜色（浅色）</small>"
        )
    return info


def indicators_map(
    grids: gpd.GeoDataFrame,
    indicators: pd.DataFrame,
    *,
    period: str | None = None,
    thresholds: Thresholds | None = None,
    area: str | None = None,
    simplify_m: float = 4.0,
    sheet: str | None = None,
    **options: Unpack[PageOptions],
) -> folium.Map:
    """红绿指标: grids coloured red/yellow/green by their worst rate, with the on-time rate.

    ``indicators`` are rows of :func:`geo_grid.cases.indicators.indicators` at level ``grid``
    (``code, received, due, closed, closed_on_time, overdue, closure_rate, ontime_rate, colour``;
    with ``reasons``, ``reason_values`` and ``colour_source`` from
    :func:`~geo_grid.cases.indicators.inherit_colours` the tooltip says which rates made a grid
    red or yellow against which ``thresholds``, and a grid that borrows its community's colour is
    drawn paler). Grids without a colour are grey. The summary states the on-time closure rate
    (due cases closed by their deadline ÷ due cases) and how many grids are of each colour;
    ``area`` names what the map shows (a street leader's street); ``sheet`` is the URL that
    starts the job making the same indicators as a spreadsheet (the page's 导出表格 button). ``district`` gives the metric
    CRS ``simplify_m`` is measured in, and the centre.
    """
    grids = check_frame(grids, "grids", ("code",))
    missing = [c for c in ("code", "colour") if c not in indicators.columns]
    if missing:
        raise BadInput(f"indicators: missing column(s) {', '.join(missing)}", field="indicators")
    thresholds = thresholds or Thresholds()
    page = open_page("红绿指标", around=grids, **options)
    codes = [str(c) for c in grids["code"].tolist()]
    rows = _indicator_rows(indicators, codes)
    colours = [r.get("colour") if r.get("colour") in INDICATOR_COLOURS else None for r in rows]
    borrowed = [c is not None and r.get("colour_source") in COLOUR_SOURCE
                for c, r in zip(colours, rows, strict=True)]  # fmt: skip
    fields = ["code", "name", "style", "light", "why", "received", "due", "ontime", "closure",
              "overdue"]  # fmt: skip
    columns = [
        codes, column(grids, "name"),
        [f"{c}~" if b else str(c) for c, b in zip(colours, borrowed, strict=True)],
        [INDICATOR_COLOUR[c] + (f"（沿用{COLOUR_SOURCE[r['colour_source']]}）" if b else "")
         for c, b, r in zip(colours, borrowed, rows, strict=True)],
        [explain(r, thresholds) for r in rows],
        [r.get("received") for r in rows], [r.get("due") for r in rows],
        _pct([r.get("ontime_rate") for r in rows]), _pct([r.get("closure_rate") for r in rows]),
        [r.get("overdue") for r in rows],
    ]  # fmt: skip
    layer = _grid_layer(
        page, grids, fields, columns, _INDICATOR_OPTIONS, "网格红绿指标", simplify_m
    )
    page.add(layer, ZoomLabels(layer, "name", 15))
    counts = {k: sum(c == k for c in colours) for k in INDICATOR_COLOURS}
    legend = [
        (f"{INDICATOR_COLOUR[k]}（{counts[k]} 个网格）", INDICATOR_COLOURS[k])
        for k in INDICATOR_COLOURS
    ]
    if any(borrowed):
        legend.append(("浅色虚线：案件过少，沿用社区或街道颜色",
                       {"color": "#555", "fillColor": "#e0e0e0", "dashArray": "4 3"}))  # fmt: skip
    info = _indicators_info(indicators, counts, sum(borrowed), period, area)
    return page.finish(Legend("红绿指标", legend), info, sheet=sheet)


def dispatch_map(
    grids: gpd.GeoDataFrame,
    department_layers: dict[str, gpd.GeoDataFrame] | None = None,
    *,
    queue_url: str = "/api/v1/cases/manual",
    locate_url: str = "/api/v1/locate",
    route_url: str = "/api/v1/cases/{id}/route-to-point",
    simplify_m: float = 4.0,
    layer_names: Mapping[str, str] | None = None,
    **options: Unpack[PageOptions],
) -> folium.Map:
    """The dispatcher's map: the queue in a side panel, a click shows who is responsible there.

    The page script (``js/geo_grid_dispatch.js``) lists the cases from ``GET queue_url``; the
    dispatcher picks one, clicks the map, the script asks ``GET locate_url?lon=&lat=&crs=`` for
    the grid, its department grids and the people, outlines the grid, and on 确认派遣 posts
    ``{"lon", "lat", "crs"}`` to ``route_url`` (``{id}`` replaced by the case id; the logged-in
    dispatcher is the actor the server records); a case routed leaves the list. Clicks are sent
    in the tiles' CRS (``crs``) so the server converts. ``layer_names`` name the layers as the
    store does (built-in names otherwise); ``district`` gives the metric CRS and centre.
    """
    grids = check_frame(grids, "grids", ("code",))
    page = open_page("案件派遣", around=grids, **options)
    page.add(Plugins(page.asset_base, (), ("js/geo_grid_dispatch.js",)))
    columns = [
        [str(c) for c in grids["code"].tolist()], column(grids, "name"),
        column(grids, "households"), label_points(page.geoms(grids, frame=False)),
    ]  # fmt: skip
    options = {"style": _DISPATCH_GRID, "interactive": False}
    name = layer_name(UNIFIED, layer_names)
    fields = ["code", "name", "households", "_lp"]
    unified = _grid_layer(page, grids, fields, columns, options, name, simplify_m)
    page.add(unified, ZoomLabels(unified, "name", 15))
    for key, gdf in (department_layers or {}).items():
        gdf = check_frame(gdf, f"department_layers[{key!r}]", ("code",))
        columns = [column(gdf, "code"), column(gdf, "name")]
        options = {"style": _DISPATCH_DEPARTMENT, "interactive": False}
        name = layer_name(key, layer_names)
        page.add(_grid_layer(page, gdf, ["code", "name"], columns, options, name, simplify_m,
                             show=False, frame=False))  # fmt: skip
    panel = {
        "queueUrl": queue_url,
        "locateUrl": locate_url,
        "routeUrl": route_url,
        "crs": "wgs84" if page.shift is None else "gcj02",
        "layerNames": {**LAYER_NAMES_ZH, **(layer_names or {})},
        "roleNames": ROSTER_ROLE,
        "categories": _category_table(),
    }
    page.add(MapCall("geoGridDispatch.panel", panel, layers={"grids": unified}))
    return page.finish(control="bottomleft")
