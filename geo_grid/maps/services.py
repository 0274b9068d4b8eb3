"""Service stations (驿站) and their 10-minute walking reach: who is within a short walk.

The 15-minute community life circle asks that every household reach a service station in a short
walk; seed 001 asks for the 10-minute circle on the map. Without a station register in the store,
:func:`service_stations` places one per community deterministically: at the household-weighted
centre of the community's buildings, moved to the nearest building (a station occupies a
building, never the middle of a lake). :func:`service_coverage` draws each station's reach and
measures the share of households inside; :func:`services_map` draws it.

Reach is a network-free approximation: 10 minutes at 80 m/min is 800 m of walking; streets are not
straight, so the straight-line radius is that distance divided by a circuity factor (1.25 is a
typical urban value), i.e. a 640 m disc. It errs on the generous side where rivers or rail cut the
street grid, which the page states.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> b = gpd.GeoDataFrame({"households": [10, 30], "community_code": ["c1", "c1"]},
...     geometry=[box(118.900, 32.100, 118.901, 32.101), box(118.930, 32.100, 118.931, 32.101)],
...     crs=4490)
>>> c = gpd.GeoDataFrame({"code": ["c1"], "name": ["一社区"]},
...     geometry=[box(118.89, 32.09, 118.94, 32.11)], crs=4490)
>>> s = service_stations(b, c)
>>> s["name"].tolist(), round(float(s.geometry.x.iloc[0]), 4)  # the bigger building wins the snap
(['一社区驿站'], 118.9305)
>>> cov = service_coverage(s, b, c)
>>> cov.households_covered, cov.households_total, round(cov.share, 2)
(30, 40, 0.75)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Unpack

import folium
import geopandas as gpd
import numpy as np
import shapely

from geo_grid.crs import AUTO, STORAGE_EPSG, resolve_local
from geo_grid.errors import BadInput
from geo_grid.maps.elements import DataLayer, Legend, html_text
from geo_grid.maps.encode import encode_layer
from geo_grid.maps.frames import check_frame, column
from geo_grid.maps.page import Page, PageOptions, open_page

__all__ = [
    "CIRCUITY",
    "HOME_CELL_M",
    "SERVICE_STYLES",
    "WALK_M_PER_MIN",
    "ServiceCoverage",
    "service_coverage",
    "service_stations",
    "services_map",
]

#: Walking speed (m/min) and street circuity (network distance ÷ straight-line distance).
WALK_M_PER_MIN = 80.0
CIRCUITY = 1.25
#: Side (m) of the square cells that mark where uncovered households live.
HOME_CELL_M = 100.0
#: Styles of the services page's layers.
SERVICE_STYLES: dict[str, dict[str, Any]] = {
    "uncovered": {"color": "#e57373", "weight": 0, "fillColor": "#ef9a9a", "fillOpacity": 0.25},
    "homes": {"color": "#b71c1c", "weight": 0.8, "fillColor": "#d32f2f", "fillOpacity": 0.7},
    "reach": {"color": "#1b5e20", "weight": 1, "fillColor": "#43a047", "fillOpacity": 0.45},
    "community": {"color": "#424242", "weight": 1.2, "dashArray": "5 4", "fill": False},
    "station": {"color": "#fff", "weight": 1.5, "fillColor": "#0d47a1", "fillOpacity": 1},
}


def service_stations(
    buildings: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    *,
    local_crs: str = AUTO,
) -> gpd.GeoDataFrame:
    """One station per community with buildings, at its household-weighted centre (snapped).

    ``buildings`` need ``households`` and ``community_code``; ``communities`` need ``code`` and
    ``name`` (``short_name`` used when present). Returns ``code, name, community_code,
    building_code, households`` (the community's) and a point geometry in EPSG:4490.
    """
    buildings = check_frame(buildings, "buildings", ("households", "community_code"))
    communities = check_frame(communities, "communities", ("code", "name"))
    local_crs = resolve_local(buildings, local_crs)
    local = buildings.to_crs(local_crs)
    centres = local.geometry.centroid
    weights = local["households"].fillna(0).clip(lower=0).to_numpy(dtype=float) + 1.0
    names = dict(zip(communities["code"].astype(str), column(communities, "name"), strict=True))
    if "short_name" in communities.columns:
        short = dict(
            zip(communities["code"].astype(str), column(communities, "short_name"), strict=True)
        )
        names = {k: short.get(k) or v for k, v in names.items()}
    all_x, all_y = centres.x.to_numpy(), centres.y.to_numpy()
    building_codes = column(buildings, "code")
    house = local["households"].fillna(0).to_numpy()
    rows, points = [], []
    groups = local.groupby(local["community_code"].astype(str), sort=True).indices
    for code, idx in groups.items():
        if code not in names:
            continue
        xs, ys, w = all_x[idx], all_y[idx], weights[idx]
        cx, cy = np.average(xs, weights=w), np.average(ys, weights=w)
        nearest = idx[int(np.argmin((xs - cx) ** 2 + (ys - cy) ** 2))]
        points.append(centres.iloc[nearest])
        rows.append(
            {
                "code": f"YZ{code}",
                "name": f"{names[code]}驿站",
                "community_code": code,
                "building_code": building_codes[nearest],
                "households": int(house[idx].sum()),
            }
        )
    stations = gpd.GeoDataFrame(rows, geometry=points, crs=local_crs) if rows else None
    if stations is None:
        return gpd.GeoDataFrame(
            {"code": [], "name": [], "community_code": [], "building_code": [], "households": []},
            geometry=[],
            crs=STORAGE_EPSG,
        )
    return stations.to_crs(STORAGE_EPSG)


@dataclass(frozen=True)
class ServiceCoverage:
    """Reach of each station, what is left uncovered and the household figures.

    ``uncovered`` is all land of the area outside every reach (fields and water included);
    ``uncovered_homes`` the places people live outside it: the :data:`HOME_CELL_M` square cells
    holding an inhabited building beyond reach, merged, which is what a planner siting new
    stations looks at (cells, not buffers: a union of non-overlapping squares is fast).
    """

    reach: gpd.GeoDataFrame
    uncovered: shapely.Geometry
    uncovered_homes: shapely.Geometry
    households_total: int
    households_covered: int
    radius_m: float
    minutes: float
    circuity: float = CIRCUITY
    speed_m_per_min: float = WALK_M_PER_MIN

    @property
    def share(self) -> float:
        """Share of households whose building centre lies within some station's reach."""
        return self.households_covered / self.households_total if self.households_total else 0.0


def _home_cells(points: np.ndarray, cell: float) -> shapely.Geometry:
    """The union of the ``cell``-metre squares of a regular grid that hold any of ``points``."""
    if len(points) == 0:
        return shapely.Polygon()
    ij = np.unique(np.floor(shapely.get_coordinates(points) / cell).astype(np.int64), axis=0)
    boxes = shapely.box(
        ij[:, 0] * cell, ij[:, 1] * cell, (ij[:, 0] + 1) * cell, (ij[:, 1] + 1) * cell
    )
    return shapely.coverage_union_all(boxes)


def service_coverage(
    stations: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    area: gpd.GeoDataFrame,
    *,
    minutes: float = 10.0,
    speed_m_per_min: float = WALK_M_PER_MIN,
    circuity: float = CIRCUITY,
    local_crs: str = AUTO,
) -> ServiceCoverage:
    """Each station's walking reach (a disc of ``minutes × speed ÷ circuity``), households inside.

    ``area`` (communities or the district) bounds the reach and defines what is uncovered.
    """
    if minutes <= 0 or speed_m_per_min <= 0 or circuity < 1:
        raise BadInput(
            "minutes and speed must be positive and circuity at least 1", field="minutes"
        )
    stations = check_frame(stations, "stations")
    buildings = check_frame(buildings, "buildings", ("households",))
    area = check_frame(area, "area")
    radius = minutes * speed_m_per_min / circuity
    local_crs = resolve_local(area, local_crs)
    bound = shapely.union_all(area.to_crs(local_crs).geometry.values)
    discs = stations.to_crs(local_crs).geometry.buffer(radius, quad_segs=16)
    reach_geoms = shapely.intersection(discs.values, bound)
    covered = shapely.union_all(reach_geoms) if len(reach_geoms) else shapely.Polygon()
    uncovered = shapely.difference(bound, covered)
    centres = buildings.to_crs(local_crs).geometry.centroid.values
    inside = shapely.contains_xy(covered, shapely.get_x(centres), shapely.get_y(centres))
    households = buildings["households"].fillna(0).to_numpy(dtype=float)
    homes = _home_cells(centres[~inside & (households > 0)], HOME_CELL_M)
    homes = shapely.intersection(shapely.difference(homes, covered), bound)
    reach = gpd.GeoDataFrame(
        stations.drop(columns=stations.geometry.name).reset_index(drop=True),
        geometry=list(reach_geoms),
        crs=local_crs,
    ).to_crs(STORAGE_EPSG)
    both = gpd.GeoSeries([uncovered, homes], crs=local_crs).to_crs(STORAGE_EPSG)
    return ServiceCoverage(
        reach=reach,
        uncovered=both.iloc[0],
        uncovered_homes=both.iloc[1],
        households_total=int(households.sum()),
        households_covered=int(households[inside].sum()),
        radius_m=radius,
        minutes=minutes,
        circuity=circuity,
        speed_m_per_min=speed_m_per_min,
    )


def _service_layers(
    page: Page, stations: gpd.GeoDataFrame, coverage: ServiceCoverage, communities: gpd.GeoDataFrame
) -> list[DataLayer]:
    """Uncovered land and homes, the reach, community outlines and the stations, bottom to top.

    The page opens on the reach and the communities; uncovered land can reach beyond them.
    """
    uncovered = gpd.GeoDataFrame(
        {"name": ["未覆盖区域", "未覆盖住户区"]},
        geometry=[coverage.uncovered, coverage.uncovered_homes],
        crs=STORAGE_EPSG,
    )
    g = page.geoms(uncovered, 4.0, coverage=False, frame=False)
    layers = [
        DataLayer(
            encode_layer(g[i : i + 1], ["name"], [[name]]),
            {"style": SERVICE_STYLES[key], "interactive": False},
            name,
        )
        for i, (name, key) in enumerate((("未覆盖区域", "uncovered"), ("未覆盖住户区", "homes")))
    ]
    reach_rows = zip(
        column(coverage.reach, "name"), column(coverage.reach, "households"), strict=True
    )
    g = page.geoms(coverage.reach, 2.0, coverage=False)
    layers.append(DataLayer(
        encode_layer(g, ["name", "households"], [list(r) for r in reach_rows]),
        {"style": SERVICE_STYLES["reach"], "interactive": False},
        f"{coverage.minutes:g}分钟步行范围",
    ))  # fmt: skip
    g = page.geoms(communities, 2.0)
    layers.append(DataLayer(
        encode_layer(g, ["name"], [[n] for n in column(communities, "name")]),
        {"style": SERVICE_STYLES["community"], "interactive": False},
        "社区",
    ))  # fmt: skip
    rows = zip(column(stations, "name"), column(stations, "households"), strict=True)
    options = {
        "style": SERVICE_STYLES["station"],
        "point": {"radius": 4},
        "title": "name",
        "tooltip": [["households", "社区户数"]],
    }
    g = page.geoms(stations, coverage=False, frame=False)
    layers.append(DataLayer(
        encode_layer(g, ["name", "households"], [list(r) for r in rows]),
        options,
        f"驿站 ({len(stations)})",
    ))  # fmt: skip
    return layers


def services_map(
    stations: gpd.GeoDataFrame,
    coverage: ServiceCoverage,
    communities: gpd.GeoDataFrame,
    **options: Unpack[PageOptions],
) -> folium.Map:
    """Stations, their reach, and the uncovered areas shaded, with the share of households covered.

    ``district`` gives the metric CRS the drawing is simplified in, and the centre.
    """
    stations = check_frame(stations, "stations", ("name",))
    communities = check_frame(communities, "communities", ("name",))
    title = f"{coverage.minutes:g}分钟步行服务圈"
    page = open_page(title, around=communities, **options)
    page.add(*_service_layers(page, stations, coverage, communities))
    legend = Legend(
        title,
        [
            ("驿站", SERVICE_STYLES["station"]),
            (f"步行 {coverage.minutes:g} 分钟可达", SERVICE_STYLES["reach"]),
            ("未覆盖住户区", SERVICE_STYLES["homes"]),
            ("未覆盖区域", SERVICE_STYLES["uncovered"]),
            ("社区", SERVICE_STYLES["community"]),
        ],
    )
    info = (
        f"<h3>{html_text(title)}</h3>驿站 <b>{len(stations)}</b> 个，"
        f"覆盖 <b>{100 * coverage.share:.1f}%</b> 户"
        f"（{coverage.households_covered:,} / {coverage.households_total:,}）<br>"
        f"<small>步行 {coverage.speed_m_per_min:g} 米/分钟，直线半径 {coverage.radius_m:.0f} 米"
        f"（绕行系数 {coverage.circuity:g}）</small>"
    )
    return page.finish(legend, info)
