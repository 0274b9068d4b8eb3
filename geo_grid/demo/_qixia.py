"""Qixia 栖霞区's hand-tuned terrain: the demo district of ``make demo``.

Where the real places lie is encoded as a handful of approximate anchor points per street (WGS84
lon/lat): the street borders are the Voronoi edges between anchors of different streets, so 八卦洲
(the island in the Yangtze, which the outline does not separate) becomes the north-west river part,
马群 the southern lobe by 紫金山, 西岗 the lobe around 仙林湖 and 龙潭 the long eastern arm. The
Yangtze is the border with the north-bank districts 六合 and 浦口; the south channel 夹江 runs between
八卦洲 and the south bank. Counts are fixed (1,063 grids, 100,000 addresses) so the demo stays the
one the documentation and the ground truth describe.
"""

from __future__ import annotations

import numpy as np
import shapely

from geo_grid.demo._frame import LocalFrame
from geo_grid.demo._terrain import Terrain, local_outline
from geo_grid.demo.spec import DistrictSpec

__all__ = ["CODE", "terrain"]

CODE = "320113"
N_GRIDS = 1063
N_ADDRESSES = 100_000
LATTICE_M = 70.0
ECOLOGY_INLAND = 34

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

#: The districts across the Yangtze (六合, 浦口): the river is the border with them.
NORTH_BANK = ("320116", "320111")


def terrain(spec: DistrictSpec, frame: LocalFrame) -> Terrain:
    """River, channel, parks, land, street anchors and density peaks of Qixia."""
    from geo_grid.demo.districts import district_outlines

    if sorted(spec.street_names) != sorted(STREET_ANCHORS):
        raise ValueError(f"Qixia's hand-placed streets do not match the spec's {spec.street_names}")
    outline = local_outline(spec, frame)
    nb = district_outlines("nanjing_districts_gcj02.geojson")
    north_bank = shapely.union_all([frame.to_local(nb[c]) for c in NORTH_BANK])
    river_line = shapely.intersection(outline.boundary, shapely.buffer(north_bank, 250.0))
    channel = shapely.LineString(frame.local_xy(JIAJIANG))
    water = shapely.intersection(
        outline, shapely.union(shapely.buffer(river_line, 900.0), shapely.buffer(channel, 220.0))
    )
    parks = []
    for name, lon, lat, radius in PARKS:
        centre = frame.local_xy([(lon, lat)])[0]
        parks.append((name, shapely.intersection(outline, shapely.Point(centre).buffer(radius))))
    land = shapely.difference(outline, shapely.union_all([water] + [g for _, g in parks]))
    anchors, anchor_street = [], []
    for code, (_, pts) in sorted(STREET_ANCHORS.items()):
        for xy in frame.local_xy(pts):
            anchors.append(xy)
            anchor_street.append(code)
    centres = {}
    for code, peaks in TOWN_CENTRES.items():
        centres[code] = []
        for lon, lat, sigma in peaks:
            x, y = frame.local_xy([(lon, lat)])[0]
            centres[code].append((x, y, sigma))
    return Terrain(
        outline=outline,
        river_line=river_line,
        water=water,
        parks=parks,
        land=land,
        anchors=np.array(anchors),
        anchor_street=anchor_street,
        urban_streets=URBAN_STREETS,
        town_centres=centres,
        n_grids=N_GRIDS,
        n_addresses=N_ADDRESSES,
        lattice_m=LATTICE_M,
        ecology_inland=ECOLOGY_INLAND,
        river_name="长江",
        plain_seed=True,
        street_codes=sorted(STREET_ANCHORS),
    )
