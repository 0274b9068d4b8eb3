"""Qixia's outline, streets and communities as the generator needs them (metres, EPSG:4549).

The real inputs are the district outline (GCJ-02, converted to storage coordinates through
:mod:`geo_grid.crs`) and the official list of streets and communities. Where the real places lie
is encoded here as a handful of approximate anchor points per street (WGS84 lon/lat): the
street borders are the Voronoi edges between anchors of different streets, so 八卦洲 (the island in
the Yangtze, which the outline does not separate) becomes the north-west river part, 马群 the
southern lobe by 紫金山, 西岗 the lobe around 仙林湖 and 龙潭 the long eastern arm.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer

from geo_grid.address.gazetteer import DistrictNames
from geo_grid.crs import gcj02_to_wgs84, transform_geometry

__all__ = [
    "DATA_DIR",
    "DISTRICT_CODE",
    "DISTRICT_NAME",
    "Community",
    "communities_by_street",
    "from_local",
    "local_xy",
    "neighbour_outlines",
    "qixia_outline",
    "short_name",
    "to_local",
]

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
DISTRICT_CODE = "320113"
DISTRICT_NAME = "栖霞区"
CITY_CODE = "3201"
#: How the demo district is written (the store builds the same from the gazetteer by code).
DISTRICT_NAMES = DistrictNames(DISTRICT_CODE, DISTRICT_NAME, "南京市", "江苏省")

#: street code -> (name, anchors lon/lat). Borders between streets are Voronoi edges of anchors.
STREET_ANCHORS: dict[str, tuple[str, list[tuple[float, float]]]] = {
    "320113001": ("尧化街道", [(118.850, 32.125), (118.872, 32.118)]),
    "320113002": ("马群街道", [(118.900, 32.045), (118.895, 32.075)]),
    "320113003": ("迈皋桥街道", [(118.790, 32.115), (118.815, 32.105)]),
    "320113004": ("燕子矶街道", [(118.790, 32.145), (118.830, 32.145)]),
    "320113005": ("栖霞街道", [(118.920, 32.150), (118.960, 32.155), (118.990, 32.150)]),
    "320113006": (
        "龙潭街道",
        [(119.050, 32.150), (119.100, 32.200), (119.160, 32.210), (119.210, 32.225)],
    ),
    "320113007": ("仙林街道", [(118.930, 32.100), (118.955, 32.120)]),
    "320113009": ("八卦洲街道", [(118.790, 32.190), (118.830, 32.192), (118.860, 32.198)]),
    "320113010": ("西岗街道", [(118.995, 32.095), (119.025, 32.100)]),
}

#: Dense built-up streets (every community urban, high household density everywhere).
URBAN_STREETS = frozenset({"320113001", "320113002", "320113003", "320113004", "320113007"})

#: Town centres of the mixed streets: (lon, lat, sigma_m) peaks of household density.
TOWN_CENTRES: dict[str, list[tuple[float, float, float]]] = {
    "320113005": [(118.925, 32.140, 1800.0), (118.985, 32.140, 1200.0)],
    "320113006": [(119.040, 32.150, 1800.0), (119.095, 32.195, 1200.0)],
    "320113009": [(118.835, 32.185, 900.0)],
    "320113010": [(118.995, 32.100, 1500.0), (119.020, 32.095, 1000.0)],
}

#: Parks and hills: (name, lon, lat, radius_m). Few households, big cells, no buildings.
PARKS: list[tuple[str, float, float, float]] = [
    ("栖霞山", 118.962, 32.158, 1100.0),
    ("紫金山东麓", 118.880, 32.062, 1200.0),
    ("灵山", 118.985, 32.122, 700.0),
    ("幕府山", 118.800, 32.130, 600.0),
]

#: The south channel (夹江) between 八卦洲 and the south bank, lon/lat polyline.
JIAJIANG: list[tuple[float, float]] = [
    (118.760, 32.166),
    (118.800, 32.166),
    (118.840, 32.170),
    (118.878, 32.176),
]

_TO_LOCAL = Transformer.from_crs("EPSG:4490", "EPSG:4549", always_xy=True)
_FROM_LOCAL = Transformer.from_crs("EPSG:4549", "EPSG:4490", always_xy=True)


def _apply(transformer: Transformer, coords: np.ndarray) -> np.ndarray:
    x, y = transformer.transform(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


def to_local(geom):
    """EPSG:4490 lon/lat → EPSG:4549 metres, vertex by vertex."""
    return shapely.transform(geom, lambda c: _apply(_TO_LOCAL, c))


def from_local(geom):
    """EPSG:4549 metres → EPSG:4490 lon/lat, vertex by vertex (shared vertices stay shared)."""
    return shapely.transform(geom, lambda c: _apply(_FROM_LOCAL, c))


def local_xy(lonlat) -> np.ndarray:
    """(n, 2) lon/lat (4490) → (n, 2) metres (4549)."""
    return _apply(_TO_LOCAL, np.asarray(lonlat, dtype="float64").reshape(-1, 2))


def _read_outlines():
    import geopandas as gpd

    gdf = gpd.read_file(DATA_DIR / "nanjing_districts_gcj02.geojson")
    geoms = transform_geometry(gdf.geometry.values, gcj02_to_wgs84)
    return dict(zip(gdf["code"].astype(str), np.asarray(geoms), strict=True))


@lru_cache(maxsize=1)
def qixia_outline():
    """Qixia's outline in EPSG:4549 metres (one valid Polygon)."""
    geom = to_local(_read_outlines()[DISTRICT_CODE])
    parts = sorted(shapely.get_parts(geom), key=lambda p: -p.area)
    return shapely.make_valid(parts[0]) if len(parts) == 1 else shapely.union_all(parts)


@lru_cache(maxsize=1)
def neighbour_outlines() -> dict[str, object]:
    """The other Nanjing districts in EPSG:4549 (to find the Yangtze border)."""
    return {c: to_local(g) for c, g in _read_outlines().items() if c != DISTRICT_CODE}


@dataclass(frozen=True)
class Community:
    """One real community (居委会) or village (村委会) from the division list."""

    code: str
    name: str
    short_name: str
    street_code: str
    kind: str  # 'urban' | 'rural'


def short_name(name: str) -> str:
    """Everyday short form: '尧新社区居委会' → '尧新社区', '孟北村委会' → '孟北村'.

    >>> short_name("馨合园社区居民委员会"), short_name("石埠桥村村委会"), short_name("孟北村委会")
    ('馨合园社区', '石埠桥村', '孟北村')
    """
    for suffix in ("居民委员会", "居委会", "村民委员会"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    if name.endswith("村村委会"):
        return name[: -len("村委会")]
    if name.endswith("村委会"):
        return name[: -len("委会")]
    return name


@lru_cache(maxsize=1)
def communities_by_street() -> dict[str, list[Community]]:
    """The 129 communities of the 9 real streets (development-zone units 3201134xx skipped)."""
    out: dict[str, list[Community]] = {code: [] for code in sorted(STREET_ANCHORS)}
    with open(DATA_DIR / "qixia_communities.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            street = row["street_code"]
            if row["district_code"] != DISTRICT_CODE or street not in out:
                continue
            name = row["community"]
            kind = "rural" if name.endswith("村委会") else "urban"
            out[street].append(
                Community(row["community_code"], name, short_name(name), street, kind)
            )
    for items in out.values():
        items.sort(key=lambda c: c.code)
    return out


def street_names() -> dict[str, str]:
    """street code → name."""
    return {code: name for code, (name, _) in STREET_ANCHORS.items()}
