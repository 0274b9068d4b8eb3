"""Reshaping a grid to a new outline: its neighbours give up what it takes and take what it gives
up."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import shapely
from shapely.geometry import mapping

from geo_grid.errors import BadInput
from geo_grid.plans._common import (
    area_m2_of,
    border_m,
    geometry_in,
    polygonal_part,
    prepare_layer,
    row_index,
)
from geo_grid.plans.assemble import finish_edit
from geo_grid.plans.context import EditResult, PlanContext

__all__ = ["reshape_grid"]


def reshape_grid(layer: gpd.GeoDataFrame, code: str, geometry, *, ctx: PlanContext) -> EditResult:
    """Give grid ``code`` a new outline; its neighbours in the community adjust around it.

    The new outline is clipped to the grid's community. Neighbours give up what it takes (one taken
    whole disappears and its roster moves to ``code``; crumbs smaller than ``ctx.min_part_m2``
    left of a neighbour go to ``code``), and each piece ``code`` gives up goes to the neighbour
    sharing the longest border with it. A piece with no neighbour to take it is refused.
    """
    layer = prepare_layer(layer)
    new = geometry_in(geometry, "geometry", ("Polygon", "MultiPolygon"), ctx.max_vertices)
    if not new.is_valid:
        new = polygonal_part(shapely.make_valid(new))
    i = row_index(layer, code)
    row = layer.iloc[i]
    community_geom, _ = ctx.community(str(row["community_code"]))
    new = polygonal_part(shapely.intersection(new, community_geom))
    if area_m2_of(new, ctx.local_crs) < ctx.min_part_m2:
        raise BadInput(
            f"geometry: the new outline of {code} hardly overlaps its community", field="geometry"
        )
    same = layer.loc[
        (layer["community_code"] == row["community_code"]) & (layer["code"] != str(code))
    ]
    replace: dict[str, Any] = {}
    renames: dict[str, str] = {}
    grown = new
    for _, n in same.iterrows():
        if not n.geometry.intersects(new):
            continue
        rest = polygonal_part(shapely.difference(n.geometry, new))
        if rest.equals(n.geometry):
            continue
        keep, crumbs = [], []
        for part in shapely.get_parts(rest):
            (keep if area_m2_of(part, ctx.local_crs) >= ctx.min_part_m2 else crumbs).append(part)
        if crumbs:
            grown = shapely.union_all([grown, *crumbs])
        if keep:
            replace[n.code] = shapely.union_all(keep)
        else:
            replace[n.code] = None
            renames[n.code] = str(code)
    # what the grid gives up goes to the neighbour with the longest border
    leftover = polygonal_part(shapely.difference(row.geometry, grown))
    current = {c: g for c, g in zip(same["code"], same.geometry, strict=True)}
    current.update({c: g for c, g in replace.items() if g is not None})
    for c in [c for c, g in replace.items() if g is None]:
        current.pop(c, None)
    warnings = []
    for piece in shapely.get_parts(leftover):
        area = area_m2_of(piece, ctx.local_crs)
        if area < 0.01:
            continue
        best, best_len = None, 0.0
        for c, g in current.items():
            length = border_m(piece, g, ctx.local_crs) if g.intersects(piece) else 0.0
            if length > best_len:
                best, best_len = c, length
        if best is None:
            if area < ctx.min_part_m2:
                grown = shapely.union_all([grown, piece])
                warnings.append(f"kept a {area:.0f} m² piece no neighbour touches")
                continue
            raise BadInput(
                f"geometry: {area:.0f} m² that {code} gives up touch no neighbour in its community",
                field="geometry",
            )
        current[best] = shapely.union_all([current[best], piece])
        replace[best] = current[best]
    replace[str(code)] = grown
    params = {"grid": str(code), "geometry": mapping(new)}
    return finish_edit(
        layer, "reshape", params, replace=replace, renames=renames, ctx=ctx, warnings=warnings
    )
