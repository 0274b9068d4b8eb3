"""Moving buildings into a neighbouring grid, redrawing the border along the gaps around them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from geo_grid.errors import BadInput, NotFound
from geo_grid.plans._common import (
    area_m2_of,
    polygonal_part,
    prepare_layer,
    require_valid,
    row_index,
)
from geo_grid.plans.assemble import finish_edit
from geo_grid.plans.cells import building_cells, buildings_in
from geo_grid.plans.context import EditResult, PlanContext
from geo_grid.plans.impact import assign_points

__all__ = ["move_buildings"]


def move_buildings(
    layer: gpd.GeoDataFrame, buildings: Sequence[str], to: str, *, ctx: PlanContext
) -> EditResult:
    """Move buildings (by code) into neighbouring grid ``to``, redrawing along the gaps around them.

    Each source grid is partitioned into building cells (:func:`building_cells`); the cells of
    the moved buildings join ``to``. Refused when a building is unknown, already in ``to``, in
    another community, or when the cells would not touch ``to``.
    """
    layer = prepare_layer(layer)
    if ctx.buildings is None:
        raise BadInput("buildings: no building footprints to move", field="buildings")
    wanted = [str(b) for b in dict.fromkeys(buildings)]
    if not wanted:
        raise BadInput("buildings: name at least one building", field="buildings")
    bcodes = ctx.buildings["code"].astype(str).to_numpy()
    missing = [b for b in wanted if b not in set(bcodes)]
    if missing:
        raise NotFound(f"buildings: unknown building {missing[0]!r}", field="buildings")
    target = layer.iloc[row_index(layer, to)]
    pts, _ = ctx.points("buildings")
    idx = np.array([int(np.flatnonzero(bcodes == b)[0]) for b in wanted])
    src = assign_points(pts[idx], layer)
    replace: dict[str, Any] = {}
    renames: dict[str, str] = {}
    grown = target.geometry
    for source in dict.fromkeys(src):
        if source is None:
            raise BadInput("buildings: a building lies outside every grid", field="buildings")
        if source == str(to):
            raise BadInput(f"buildings: already in grid {to}", field="buildings")
        require_valid(layer, [source])
        srow = layer.iloc[row_index(layer, source)]
        if srow["community_code"] != target["community_code"]:
            raise BadInput(
                f"buildings: grid {source} is in another community than {to}", field="buildings"
            )
        inside, frame = buildings_in(srow.geometry, ctx)
        inside = inside[assign_points(pts[inside], layer) == source]
        cells = building_cells(srow.geometry, list(frame.geometry.to_numpy()[inside]))
        moving = set(idx[src == source].tolist())
        chosen = [c for k, c in zip(inside, cells, strict=True) if int(k) in moving]
        region = polygonal_part(shapely.union_all(chosen))
        rest = polygonal_part(shapely.difference(srow.geometry, region))
        if area_m2_of(rest, ctx.local_crs) < ctx.min_part_m2:
            replace[source] = None
            renames[source] = str(to)
            region = srow.geometry
        else:
            replace[source] = rest
        grown = shapely.union_all([grown, region])
    if len(shapely.get_parts(polygonal_part(grown))) > len(shapely.get_parts(target.geometry)):
        raise BadInput(
            f"buildings: the moved buildings' area would not touch grid {to}", field="buildings"
        )
    replace[str(to)] = grown
    params = {"buildings": wanted, "to": str(to)}
    return finish_edit(layer, "move_buildings", params, replace=replace, renames=renames, ctx=ctx)
