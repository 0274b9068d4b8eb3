"""The incremental check every edit passes before it is accepted.

A planner edits one corner of a 1,000-grid layer at a time and must hear at once why an edit is
refused, so only the edited grids are checked: they keep the union they had (so no gap or overlap
can appear against the untouched grids), and with their neighbours they pass
:func:`geo_grid.coverage.check_coverage` inside their communities. A refusal raises
:class:`~geo_grid.errors.BadInput` or :class:`~geo_grid.errors.Conflict` naming the reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_grid.coverage import check_coverage
from geo_grid.errors import BadInput, Conflict
from geo_grid.plans.context import PlanContext

__all__ = ["check_edit"]


#: Kinds of coverage defect that the incremental check refuses (gaps are checked by union instead,
#: because a local subset never covers its communities).
_LOCAL_DEFECTS = frozenset(
    {
        "invalid_geometry",
        "empty",
        "duplicate_code",
        "duplicate_geometry",
        "overlap",
        "outside_parent",
        "crosses_parent",
    }
)


def _deg2_to_m2(geom) -> float:
    """Area of a (thin) piece in m², scaled from degrees at its latitude.

    Slivers left by editing in degrees must be measured in degrees: projecting them bends their
    long straight edges by millimetres, which a metric area would count as square metres.
    """
    if geom is None or geom.is_empty:
        return 0.0
    lat = math.radians(shapely.centroid(geom).y)
    return float(geom.area * 111_320.0 * math.cos(lat) * 110_574.0)


def check_edit(
    before: gpd.GeoDataFrame,
    after: gpd.GeoDataFrame,
    touched_before: Sequence[str],
    touched_after: Sequence[str],
    ctx: PlanContext,
) -> None:
    """Refuse an edit that breaks the coverage near it (see the module docstring)."""
    codes = after["code"].to_numpy()
    dup = pd.Series(codes).value_counts()
    dup = dup[dup > 1]
    if len(dup):
        raise Conflict(f"code: grid code {dup.index[0]} would be used twice", field="code")
    sub_a = after.loc[after["code"].isin(touched_after)]
    for _, row in sub_a.iterrows():
        g = row.geometry
        if g is None or g.is_empty or not g.is_valid:
            why = "empty" if g is None or g.is_empty else shapely.is_valid_reason(g)
            raise BadInput(f"geometry: grid {row.code} would be invalid ({why})", field="geometry")
    ub = shapely.union_all(np.asarray(before.loc[before["code"].isin(touched_before)].geometry))
    ua = shapely.union_all(np.asarray(sub_a.geometry.array, dtype=object))
    lost = _deg2_to_m2(shapely.difference(ub, ua))
    gained = _deg2_to_m2(shapely.difference(ua, ub))
    if lost > ctx.union_tolerance_m2:
        raise BadInput(f"geometry: the edit would leave a gap of {lost:.1f} m²", field="geometry")
    if gained > ctx.union_tolerance_m2:
        raise BadInput(
            f"geometry: the edit would overlap untouched grids by {gained:.1f} m²", field="geometry"
        )
    # the changed grids and their neighbours: a clean coverage inside their communities
    tree = shapely.STRtree(np.asarray(after.geometry.array, dtype=object))
    near = np.unique(tree.query(np.asarray(sub_a.geometry.array, dtype=object), "intersects")[1])
    local = after.iloc[near][["code", "community_code", "geometry"]]
    parents = ctx.communities.loc[ctx.communities["code"].isin(local["community_code"])]
    report = check_coverage(local, parents[["code", "geometry"]], local_crs=ctx.local_crs)
    touched = set(touched_after)
    bad = [
        r
        for r in report.defects.itertuples(index=False)
        if r.kind in _LOCAL_DEFECTS and touched.intersection(r.ids)
    ]
    if bad:
        r = bad[0]
        area = "" if pd.isna(r.area_m2) or r.area_m2 == 0 else f" ({r.area_m2:.1f} m²)"
        raise BadInput(
            f"geometry: the edit leaves {r.kind.replace('_', ' ')} at {', '.join(r.ids)}{area}",
            field="geometry",
        )
