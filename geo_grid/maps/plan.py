"""A redrawing plan's page: the grids before and after, and draw tools to change the plan.

:func:`plan_map` draws the plan's diff (the grids it changes, as they are and as proposed) over the
unified grids nearby, and adds Leaflet.draw (``leaflet-draw``, served by the project) so a person
can draw a split line or a new boundary. ``geo_grid/static/js/geo_grid_plan.js`` sends the drawn
shape to the plan's API with ``?dry_run=true`` first, draws the impact the server computed (grids
changed, households moved) and only on 接受 sends it for real; nothing is computed in the page.
Its 全部采纳建议 button accepts every household-band suggestion as a job, showing the job's
progress (``js/geo_grid_jobs.js``) until the page reloads.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> before = gpd.GeoDataFrame({"code": ["320113001001001"], "name": ["一网格"]},
...     geometry=[box(118.90, 32.10, 118.91, 32.11)], crs=4490)
>>> after = gpd.GeoDataFrame({"code": ["320113001001001", "320113001001002"], "name": ["一", "二"]},
...     geometry=[box(118.90, 32.10, 118.905, 32.11), box(118.905, 32.10, 118.91, 32.11)], crs=4490)
>>> html = plan_map(7, before, after).get_root().render()
>>> "leaflet.draw.js" in html and "geoGridPlan.editor" in html
True
"""

from __future__ import annotations

from typing import Any, Unpack

import folium
import geopandas as gpd
from branca.element import Element

from geo_grid.maps.assets import Plugins
from geo_grid.maps.elements import DataLayer, Legend, MapCall, ZoomLabels, html_text
from geo_grid.maps.encode import encode_layer
from geo_grid.maps.frames import check_frame, column
from geo_grid.maps.page import Page, PageOptions, open_page

__all__ = ["PLAN_STYLES", "plan_map"]

#: Styles of the grids as they are (before) and as the plan proposes (after), and the context.
PLAN_STYLES: dict[str, dict[str, Any]] = {
    "context": {"color": "#9e9e9e", "weight": 0.8, "fillColor": "#eeeeee", "fillOpacity": 0.2},
    "before": {"color": "#c62828", "weight": 2.5, "dashArray": "6 4", "fillOpacity": 0.0},
    "after": {"color": "#1565c0", "weight": 2.5, "fillColor": "#64b5f6", "fillOpacity": 0.3},
}


def _layer(
    page: Page,
    gdf: gpd.GeoDataFrame,
    name: str,
    style: dict[str, Any],
    *,
    tooltip: bool = True,
    frame: bool = True,
) -> DataLayer:
    """Grids drawn exactly with code, name and households (tooltips, or none and not clickable)."""
    fields = ["code", "name", "households"]
    rows = zip(*(column(gdf, f) for f in fields), strict=True)
    g = page.geoms(gdf, coverage=False, frame=frame)
    opts: dict[str, Any] = {"style": style}
    if tooltip:
        opts.update(title="name", tooltip=[["code", "编码"], ["households", "户数"]])
    else:
        opts["interactive"] = False
    return DataLayer(encode_layer(g, fields, [list(r) for r in rows]), opts, name)


def _editor(
    asset_base: str, plan_id: int | str, api_base: str, layers: dict[str, DataLayer]
) -> list[Element]:
    """Leaflet.draw (its buttons and hints in Chinese) and the page's editor over ``layers``."""
    plugins = Plugins(
        asset_base,
        (("leaflet-draw", "leaflet.draw.css"), ("leaflet-draw", "leaflet.draw.js")),
        ("js/geo_grid_draw_zh.js", "js/geo_grid_jobs.js", "js/geo_grid_plan.js"),
    )
    options = {"planId": plan_id, "apiBase": api_base.rstrip("/")}
    return [plugins, MapCall("geoGridPlan.editor", options, layers=layers)]


def plan_map(
    plan_id: int | str,
    before: gpd.GeoDataFrame,
    after: gpd.GeoDataFrame,
    context: gpd.GeoDataFrame | None = None,
    *,
    title: str | None = None,
    note: str | None = None,
    api_base: str = "/api/v1/plans",
    editable: bool = True,
    workspace_url: str | None = None,
    **options: Unpack[PageOptions],
) -> folium.Map:
    """The plan's grids before (red dashes) and after (blue), neighbours grey, with draw tools.

    ``before`` are the published grids the plan touches, ``after`` the plan's proposed grids (both
    ``code``, ``name``, optionally ``households``); ``context`` the unchanged grids around. With
    ``editable`` (and tiles that need no shift) the draw toolbar offers a line (split) and a polygon
    (new boundary); the script posts ``{"grid", "line"}`` to ``{api_base}/{plan_id}/split`` or
    ``{"grid", "geometry"}`` to ``{api_base}/{plan_id}/reshape`` with ``?dry_run=true``, draws the
    answer, and re-sends without ``dry_run`` when the person accepts. The plan's ``note`` (what
    the planner wrote about it) is shown in a box with the title. The page opens on the grids the
    plan changes (on the context while it changes none); ``district`` gives its centre.
    ``workspace_url`` (the plan's workspace, ``/plans/{id}``) is linked from the info box.
    """
    before = check_frame(before, "before", ("code",))
    after = check_frame(after, "after", ("code",))
    title = title or f"调整方案 {plan_id}"
    page = open_page(title, around=after if len(after) else before, **options)
    around: dict[str, DataLayer] = {}
    legend = [("现状网格", PLAN_STYLES["before"]), ("方案网格", PLAN_STYLES["after"])]
    if context is not None and len(context):
        context = check_frame(context, "context", ("code",))
        unchanged = not len(before) and not len(after)  # nothing changed yet: show the plan's grids
        layer = _layer(page, context, "周边网格", PLAN_STYLES["context"], frame=unchanged)
        page.add(layer, ZoomLabels(layer, "name", 15))
        around["context"] = layer
        legend.append(("周边网格", PLAN_STYLES["context"]))
    after_layer = _layer(page, after, f"方案网格 ({len(after)})", PLAN_STYLES["after"])
    page.add(after_layer, ZoomLabels(after_layer, "name", 0))
    before_name = f"现状网格 ({len(before)})"
    page.add(_layer(page, before, before_name, PLAN_STYLES["before"], tooltip=False))
    parts = [f"<b>方案说明</b><br>{html_text(note)}"] if note else []
    if workspace_url:
        parts.append(f'<a href="{html_text(workspace_url)}">到方案工作台编辑、检查和发布</a>')
    info = "<br>".join(parts) or None
    layers = {"after": after_layer, **around}
    # edits are sent in storage lon/lat: never from shifted tiles
    editor = editable and page.shift is None
    last = _editor(page.asset_base, plan_id, api_base, layers) if editor else []
    return page.finish(Legend(title, legend), info, last=last)
