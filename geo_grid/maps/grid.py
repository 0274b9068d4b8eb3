"""One grid's page: its outline, its buildings with households, its address points, neighbours grey.

What a grid worker checks their grid against: which buildings and addresses the store puts inside
it. Unlike the coverage pages nothing is simplified: a grid is small and drawn exactly.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point, box
>>> from geo_grid.maps import map_html
>>> grid = gpd.GeoDataFrame({"code": ["320113001001001"], "name": ["一网格"], "households": [420]},
...     geometry=[box(118.90, 32.10, 118.91, 32.11)], crs=4490)
>>> addresses = gpd.GeoDataFrame({"full_text": ["文苑路1号"]}, geometry=[Point(118.905, 32.105)],
...     crs=4490)
>>> html = map_html(grid_map(grid, grid.iloc[:0], addresses))
>>> "文苑路1号" in html and '["楼栋",' in html  # the address in the data, buildings in the legend
True
"""

from __future__ import annotations

from typing import Any, Unpack

import folium
import geopandas as gpd
import pandas as pd
import shapely

from geo_grid.crs import STORAGE_EPSG
from geo_grid.errors import BadInput
from geo_grid.maps.elements import DataLayer, Legend, ZoomLabels
from geo_grid.maps.encode import encode_layer
from geo_grid.maps.frames import check_frame, column
from geo_grid.maps.page import Page, PageOptions, open_page

__all__ = ["GRID_STYLES", "grid_map"]

#: Styles of the grid page's layers.
GRID_STYLES: dict[str, dict[str, Any]] = {
    "neighbour": {"color": "#757575", "weight": 1, "fillColor": "#bdbdbd", "fillOpacity": 0.2},
    "grid": {"color": "#0d47a1", "weight": 3, "fillColor": "#64b5f6", "fillOpacity": 0.12},
    "building": {"color": "#5d4037", "weight": 1, "fillColor": "#bcaaa4", "fillOpacity": 0.7},
    "address": {"color": "#b71c1c", "weight": 1, "fillColor": "#ef5350", "fillOpacity": 0.9},
}
_BUILDING_FIELDS = ["code", "name", "xiaoqu", "households", "floors"]
_BUILDING_TIP = [["xiaoqu", "小区"], ["households", "户数"], ["floors", "层数"], ["code", "编码"]]
#: Columns an address's text may be in, first found wins.
_ADDRESS_TEXT = ("full_text", "address", "text")


def _one_grid(grid_row: Any) -> gpd.GeoDataFrame:
    """``grid_row`` as a one-row GeoDataFrame (a Series is taken as EPSG:4490), or BadInput."""
    if isinstance(grid_row, gpd.GeoDataFrame):
        frame = grid_row
    elif isinstance(grid_row, pd.Series) and isinstance(grid_row.get("geometry"), shapely.Geometry):
        frame = gpd.GeoDataFrame([grid_row], geometry="geometry", crs=STORAGE_EPSG)
    else:
        raise BadInput("grid_row: expected a GeoDataFrame row with a geometry", field="grid_row")
    if len(frame) != 1:
        raise BadInput(f"grid_row: expected one grid, got {len(frame)}", field="grid_row")
    return check_frame(frame, "grid_row")


def _neighbours(page: Page, neighbours: gpd.GeoDataFrame) -> DataLayer:
    """The grids around, grey and named, outside the view the page opens on."""
    geoms = page.geoms(neighbours, frame=False)
    rows = zip(column(neighbours, "code"), column(neighbours, "name"), strict=True)
    return DataLayer(
        encode_layer(geoms, ["code", "name"], [list(r) for r in rows]),
        {"style": GRID_STYLES["neighbour"], "title": "name", "tooltip": [["code", "编码"]]},
        "相邻网格",
    )


def _contents(
    page: Page, grid: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, addresses: gpd.GeoDataFrame
) -> list[DataLayer]:
    """The grid itself, its buildings and its address points, each a layer."""
    grid_rows = [[column(grid, f)[0] for f in ("code", "name", "households")]]
    building_rows = zip(*(column(buildings, f) for f in _BUILDING_FIELDS), strict=True)
    text_col = next((c for c in _ADDRESS_TEXT if c in addresses.columns), None)
    texts = column(addresses, text_col) if text_col else [None] * len(addresses)
    return [
        DataLayer(
            encode_layer(page.geoms(grid), ["code", "name", "households"], grid_rows),
            {
                "style": GRID_STYLES["grid"],
                "title": "name",
                "tooltip": [["code", "编码"], ["households", "户数"]],
            },
            "网格",
        ),
        DataLayer(
            encode_layer(
                page.geoms(buildings, coverage=False),
                _BUILDING_FIELDS,
                [list(r) for r in building_rows],
            ),
            {
                "style": GRID_STYLES["building"],
                "hover": {"weight": 2.5},
                "title": "name",
                "tooltip": _BUILDING_TIP,
            },
            f"楼栋 ({len(buildings)})",
        ),
        DataLayer(
            encode_layer(page.geoms(addresses, coverage=False), ["text"], [[t] for t in texts]),
            {
                "style": GRID_STYLES["address"],
                "point": {"radius": 3},
                "title": "text",
                "tooltip": [],
            },
            f"地址 ({len(addresses)})",
        ),
    ]


def grid_map(
    grid_row: Any,
    buildings: gpd.GeoDataFrame,
    addresses: gpd.GeoDataFrame,
    neighbours: gpd.GeoDataFrame | None = None,
    **options: Unpack[PageOptions],
) -> folium.Map:
    """One grid with its buildings (households in tooltips) and address points, neighbours grey.

    ``grid_row`` is a one-row GeoDataFrame or a row (Series, assumed EPSG:4490) with ``code``,
    ``name`` and ``households``; ``buildings`` may carry ``code, name, xiaoqu, households,
    floors``; ``addresses`` carry ``full_text``. The page opens on the grid and what it holds.
    """
    grid = _one_grid(grid_row)
    buildings = check_frame(buildings, "buildings")
    addresses = check_frame(addresses, "addresses")
    code, name = column(grid, "code")[0] or "", column(grid, "name")[0] or ""
    page = open_page(f"网格 {code} {name}".strip(), around=grid, **options)
    legend: list[tuple[str, dict]] = []
    if neighbours is not None and len(neighbours):
        layer = _neighbours(page, check_frame(neighbours, "neighbours"))
        page.add(layer, ZoomLabels(layer, "name", 0))
        legend.append(("相邻网格", GRID_STYLES["neighbour"]))
    page.add(*_contents(page, grid, buildings, addresses))
    legend += [(name, GRID_STYLES[key]) for name, key in
               (("网格", "grid"), ("楼栋", "building"), ("地址", "address"))]  # fmt: skip
    return page.finish(Legend(f"{code} {name}".strip(), legend))
