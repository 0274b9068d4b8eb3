"""Building cells: a grid cut into one piece per building along the gaps between buildings, which
is how buildings are moved between grids and how a balanced split is drawn."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import shapely

from geo_grid.plans._common import polygonal_part
from geo_grid.plans.context import PlanContext

__all__ = ["building_cells", "buildings_in"]


_SEGMENT_DEG = 3e-5  # ~3 m: spacing of the points sampled on building outlines


def building_cells(grid, footprints: Sequence) -> list:
    """One cell per footprint: the part of ``grid`` nearer to it than to any other footprint.

    Points sampled every ~3 m along each outline seed a Voronoi diagram; a footprint's cell is the
    union of its points' cells, clipped to the grid. Cells therefore follow the gaps between
    buildings and together cover the grid exactly (the last cell takes the remainder).
    """
    if len(footprints) == 1:
        return [grid]
    coords, labels = [], []
    for k, fp in enumerate(footprints):
        ring = shapely.segmentize(shapely.get_exterior_ring(_largest(fp)), _SEGMENT_DEG)
        xy = shapely.get_coordinates(ring)[:-1]
        coords.append(xy)
        labels.append(np.full(len(xy), k))
    xy = np.vstack(coords)
    lab = np.concatenate(labels)
    _, first = np.unique(np.round(xy, 9), axis=0, return_index=True)
    first = np.sort(first)
    xy, lab = xy[first], lab[first]
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(xy), extend_to=shapely.buffer(grid.envelope, 1e-3), ordered=True
        )
    )
    out, taken = [], shapely.MultiPolygon()
    for k in range(len(footprints)):
        mine = cells[lab == k]
        cell = shapely.coverage_union_all(mine) if len(mine) else shapely.MultiPolygon()
        if k < len(footprints) - 1:
            piece = polygonal_part(shapely.difference(shapely.intersection(grid, cell), taken))
            taken = shapely.union_all([taken, piece])
        else:
            piece = polygonal_part(shapely.difference(grid, taken))
        out.append(piece)
    return out


def _largest(geom):
    parts = shapely.get_parts(geom)
    return parts[int(np.argmax(shapely.area(parts)))]


def buildings_in(grid, ctx: PlanContext) -> tuple[np.ndarray, pd.DataFrame]:
    pts, frame = ctx.points("buildings")
    if len(pts) == 0:
        return np.empty(0, dtype=int), frame
    return np.flatnonzero(shapely.intersects(grid, pts)), frame
