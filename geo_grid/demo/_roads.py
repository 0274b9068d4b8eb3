"""A synthetic road network: a loose lattice of main roads over the land, denser branch roads in
the built-up areas. Roads stop at the Yangtze; each connected piece gets its own unique name.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.demo._names import NamePool

__all__ = ["build_roads"]


def _family(
    bounds, spacing: float, angle: float, rng: np.random.Generator, wiggle: float
) -> list[shapely.LineString]:
    """Parallel, gently wandering lines at ``angle`` covering ``bounds``."""
    minx, miny, maxx, maxy = bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half = np.hypot(maxx - minx, maxy - miny) / 2 + spacing
    d = np.array([np.cos(angle), np.sin(angle)])
    n = np.array([-d[1], d[0]])
    s = np.arange(-half, half + 1, 400.0)
    out = []
    for off in np.arange(-half, half, spacing) + rng.uniform(0, spacing):
        walk = np.cumsum(rng.normal(0, wiggle, len(s)))
        walk = np.convolve(walk - walk.mean(), np.ones(5) / 5, mode="same")
        local = off + rng.uniform(-0.2, 0.2) * spacing + walk
        pts = np.array([cx, cy]) + s[:, None] * d + local[:, None] * n
        out.append(shapely.LineString(pts))
    return out


def _pieces(lines, area, min_len: float) -> list:
    cut = shapely.intersection(np.array(lines, dtype=object), area)
    parts = shapely.get_parts(shapely.line_merge(shapely.union_all(cut)))
    parts = [p for p in shapely.get_parts(parts) if p.geom_type == "LineString"]
    return [p for p in parts if p.length >= min_len]


def build_roads(
    land, urban_area, rng: np.random.Generator, pool: NamePool
) -> tuple[list[str], list[str], NDArray]:
    """Main and branch roads as (names, kinds, LineStrings) in EPSG:4549.

    ``land`` is the outline minus the river; ``urban_area`` where branch roads are drawn.
    """
    bounds = land.bounds
    main: list = []
    for angle, spacing in ((0.18, 2300.0), (0.18 + np.pi / 2, 2600.0)):
        main += _family(bounds, spacing, angle, rng, wiggle=35.0)
    branch: list = []
    for angle, spacing in ((0.25, 650.0), (0.25 + np.pi / 2, 700.0)):
        branch += _family(bounds, spacing, angle, rng, wiggle=20.0)
    main_parts = _pieces(main, land, 600.0)
    # branch roads stop short of main roads so a junction stays a node of the main road
    branch_area = shapely.difference(urban_area, shapely.buffer(shapely.union_all(main_parts), 1.0))
    branch_parts = _pieces(branch, branch_area, 250.0)
    # reconnect branch ends to the main roads they were cut back from (1 m gaps)
    main_union = shapely.union_all(main_parts)
    fixed = []
    for line in branch_parts:
        coords = np.asarray(line.coords)
        for end in (0, -1):
            p = shapely.Point(coords[end])
            if shapely.distance(p, main_union) < 1.5:
                near = shapely.get_coordinates(shapely.shortest_line(p, main_union))[1]
                coords[end] = near
        fixed.append(shapely.LineString(coords))
    geoms = main_parts + fixed
    kinds = ["main"] * len(main_parts) + ["branch"] * len(fixed)
    order = sorted(
        range(len(geoms)),
        key=lambda i: (kinds[i] != "main", round(-geoms[i].length, 3), geoms[i].wkb_hex),
    )
    geoms = [geoms[i] for i in order]
    kinds = [kinds[i] for i in order]
    names = [pool.road(k) for k in kinds]
    return names, kinds, np.array(geoms, dtype=object)
