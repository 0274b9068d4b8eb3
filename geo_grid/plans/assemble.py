"""Assembling an edit's answer: the layer after it (the input frame is never modified), settled
against projection artefacts, checked, counted and balanced into an :class:`EditResult`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_grid.crs import to_local
from geo_grid.plans._common import STORAGE_CRS, as_multi, polygonal_part, row_index
from geo_grid.plans.balancing import balance
from geo_grid.plans.checks import check_edit
from geo_grid.plans.context import EditResult, PlanContext
from geo_grid.plans.impact import edit_impact

__all__ = ["finish_edit"]


_SNAP_DEG = 1e-9


def finish_edit(
    layer: gpd.GeoDataFrame,
    op: str,
    params: dict[str, Any],
    *,
    replace: Mapping[str, Any],
    new_rows: Sequence[dict[str, Any]] = (),
    renames: Mapping[str, str] | None = None,
    attrs: Mapping[str, Mapping[str, Any]] | None = None,
    ctx: PlanContext,
    check: bool = True,
    warnings: Sequence[str] = (),
) -> EditResult:
    """Build the layer after an edit (``replace``: code → new geometry or None to remove)."""
    renames = dict(renames or {})
    after = layer.copy()
    removed = [c for c, g in replace.items() if g is None]
    for code, geom in replace.items():
        if geom is not None:
            after.at[row_index(after, code), after.geometry.name] = as_multi(geom)
    for code, values in (attrs or {}).items():
        i = row_index(after, code)
        for k, v in values.items():
            after.at[i, k] = v
    after = after.loc[~after["code"].isin(removed)]
    if new_rows:
        extra = gpd.GeoDataFrame(
            [{**r, "geometry": as_multi(r["geometry"])} for r in new_rows],
            geometry="geometry",
            crs=STORAGE_CRS,
        )
        after = pd.concat([after, extra], ignore_index=True)
    after = gpd.GeoDataFrame(after, geometry=layer.geometry.name, crs=STORAGE_CRS)
    after = after.reset_index(drop=True)
    added = [str(r["code"]) for r in new_rows]
    touched_before = list(dict.fromkeys([*replace, *(attrs or {})]))
    changed = [
        str((attrs or {}).get(c, {}).get("code", c)) for c in touched_before if c not in removed
    ]
    touched_after = list(dict.fromkeys([*changed, *added]))
    _settle(after, touched_after, ctx.local_crs)
    if check:
        check_edit(layer, after, touched_before, touched_after, ctx)
    impact, hh = edit_impact(layer, after, touched_before, touched_after, renames, ctx)
    if ctx.buildings is not None:
        for code, n in hh.items():
            if code in set(touched_after):
                after.at[row_index(after, code), "households"] = n
    impact["balance"] = balance(
        after.loc[after["code"].isin(touched_after)], ctx.communities, ctx.bands
    ).to_dict("records")
    return EditResult(
        layer=after,
        op=op,
        params=params,
        added=added,
        removed=removed,
        changed=changed,
        renames=renames,
        impact=impact,
        warnings=list(warnings),
    )


def _settle(layer: gpd.GeoDataFrame, codes: Sequence[str], local_crs: str) -> None:
    """Snap edited outlines that a projection would make invalid to a 1e-9° (0.1 mm) grid.

    Cutting and Voronoi cells can leave a vertex a hair from an edge: valid in degrees, a
    self-intersection in metres. Only such grids are snapped, so clean neighbours keep their bits.
    """
    rows = np.flatnonzero(layer["code"].isin(codes).to_numpy())
    if not len(rows):
        return
    geoms = np.asarray(layer.geometry.array, dtype=object)[rows]
    local = to_local(geoms, local_crs)
    for k in np.flatnonzero(~shapely.is_valid(local) | ~shapely.is_valid(geoms)):
        snapped = as_multi(polygonal_part(shapely.set_precision(geoms[k], _SNAP_DEG)))
        layer.at[layer.index[rows[k]], layer.geometry.name] = snapped
