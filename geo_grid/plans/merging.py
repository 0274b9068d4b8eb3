"""Merging neighbouring grids of one community into one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_grid.errors import BadInput
from geo_grid.plans._common import border_m, prepare_layer, row_index
from geo_grid.plans.assemble import finish_edit
from geo_grid.plans.context import EditResult, PlanContext

__all__ = ["merge_grids"]


def merge_grids(
    layer: gpd.GeoDataFrame, codes: Sequence[str], *, keep: str | None = None, ctx: PlanContext
) -> EditResult:
    """Merge neighbouring grids of one community into one; ``keep`` names the surviving code.

    By default the grid with most households survives; the others' roster moves to it.
    """
    layer = prepare_layer(layer)
    codes = [str(c) for c in dict.fromkeys(codes)]
    if len(codes) < 2:
        raise BadInput("grids: name at least two grids to merge", field="grids")
    rows = [layer.iloc[row_index(layer, c)] for c in codes]
    communities = {str(r["community_code"]) for r in rows}
    if len(communities) > 1:
        raise BadInput(
            f"grids: {', '.join(codes)} lie in different communities ({', '.join(sorted(communities))})",
            field="grids",
        )
    _require_connected([r.geometry for r in rows], codes, ctx)
    if keep is None:
        hh = [0 if pd.isna(r["households"]) else int(r["households"]) for r in rows]
        keep = codes[int(np.argmax(hh))]
    elif str(keep) not in codes:
        raise BadInput(f"keep: {keep!r} is not one of the merged grids", field="keep")
    keep = str(keep)
    merged = shapely.union_all([r.geometry for r in rows])
    replace: dict[str, Any] = {c: None for c in codes if c != keep}
    replace[keep] = merged
    renames = {c: keep for c in codes if c != keep}
    params = {"grids": codes, "keep": keep}
    return finish_edit(layer, "merge", params, replace=replace, renames=renames, ctx=ctx)


def _require_connected(geoms: Sequence, codes: Sequence[str], ctx: PlanContext) -> None:
    n = len(geoms)
    seen, todo = {0}, [0]
    while todo:
        i = todo.pop()
        for j in range(n):
            if j not in seen and border_m(geoms[i], geoms[j], ctx.local_crs) > 0.5:
                seen.add(j)
                todo.append(j)
    if len(seen) < n:
        lone = [codes[j] for j in range(n) if j not in seen]
        raise BadInput(f"grids: {', '.join(lone)} share no border with {codes[0]}", field="grids")
