"""The difference between two layers, grid by grid (matched by code)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from geo_grid.crs import resolve_local
from geo_grid.plans._common import STORAGE_CRS, area_m2_of, polygonal_part

__all__ = ["diff_layers"]


def diff_layers(
    before: gpd.GeoDataFrame, after: gpd.GeoDataFrame, *, local_crs: str = "auto",
    tolerance_m2: float = 0.01,
) -> gpd.GeoDataFrame:  # fmt: skip
    """Grids added, removed and changed between two layers, matched by code.

    Columns ``code``, ``change`` (added/removed/changed), ``name``, ``community_code``,
    ``households_before``, ``households_after``, ``area_changed_m2``, geometry (the new outline;
    the old one for a removed grid) and ``geometry_before`` (WKT of the old outline, or None).
    Areas are measured in ``local_crs`` (the district's; ``"auto"``: the layers' zone).

    >>> import geopandas as gpd, shapely
    >>> a = gpd.GeoDataFrame({"code": ["x", "y"], "community_code": ["c", "c"], "households": [1, 2]},
    ...     geometry=[shapely.box(0, 0, 1e-3, 1e-3), shapely.box(1e-3, 0, 2e-3, 1e-3)], crs=4490)
    >>> b = a.iloc[[0]].copy(); b["households"] = [3]
    >>> diff_layers(a, b)[["code", "change"]].values.tolist()
    [['x', 'changed'], ['y', 'removed']]
    """
    local_crs = resolve_local(before if len(before) else after, local_crs)
    a = before.set_index(before["code"].astype(str))
    b = after.set_index(after["code"].astype(str))
    rows = []
    for code in sorted(set(a.index) | set(b.index)):
        ra = a.loc[code] if code in a.index else None
        rb = b.loc[code] if code in b.index else None
        if ra is None or rb is None:
            change = "added" if ra is None else "removed"
            moved = 0.0
        else:
            moved = _moved_m2(ra.geometry, rb.geometry, local_crs)
            same_attrs = all(
                (pd.isna(ra.get(f)) and pd.isna(rb.get(f))) or ra.get(f) == rb.get(f)
                for f in ("name", "households", "community_code")
            )
            if moved <= tolerance_m2 and same_attrs:
                continue
            change = "changed"
        src = rb if rb is not None else ra
        rows.append(
            {
                "code": code,
                "change": change,
                "name": src.get("name"),
                "community_code": src.get("community_code"),
                "households_before": None if ra is None or pd.isna(ra.get("households")) else int(ra["households"]),
                "households_after": None if rb is None or pd.isna(rb.get("households")) else int(rb["households"]),
                "area_changed_m2": round(moved, 2),
                "geometry_before": None if ra is None else ra.geometry.wkt,
                "geometry": src.geometry,
            }
        )  # fmt: skip
    cols = ["code", "change", "name", "community_code", "households_before", "households_after",
            "area_changed_m2", "geometry_before", "geometry"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=cols)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=STORAGE_CRS)


def _moved_m2(before, after, local_crs: str) -> float:
    """Area (m²) that changed grid between two outlines of one code.

    A department layer is stored as received, self-intersections included (finding them is the
    checks' job), and GEOS cannot overlay an invalid polygon (``TopologyException``): an
    unchanged outline moved nothing, and invalid ones are compared by their repaired polygonal
    parts.
    """
    if shapely.equals_exact(before, after, tolerance=0):
        return 0.0
    before, after = (
        g if shapely.is_valid(g) else polygonal_part(shapely.make_valid(g)) for g in (before, after)
    )
    return area_m2_of(shapely.symmetric_difference(before, after), local_crs)
