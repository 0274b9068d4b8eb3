"""The impact of an edit: which grid each address, building, open case and roster entry falls in
before and after, counted per grid, with the totals that changed grid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_grid.plans.context import PlanContext

__all__ = ["assign_points", "edit_impact"]


def assign_points(points: np.ndarray, layer: gpd.GeoDataFrame) -> np.ndarray:
    """The code of the grid containing each point (None outside every grid).

    A point on a shared edge goes to the grid first in ``code`` order, so a recount is stable.

    >>> import geopandas as gpd, shapely
    >>> layer = gpd.GeoDataFrame({"code": ["A", "B"]},
    ...     geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    >>> assign_points(shapely.points([(0.5, 0.5), (1.5, 0.5), (5, 5)]), layer).tolist()
    ['A', 'B', None]
    """
    out = np.full(len(points), None, dtype=object)
    if len(points) == 0 or len(layer) == 0:
        return out
    order = np.argsort(layer["code"].astype(str).to_numpy(), kind="stable")
    geoms = np.asarray(layer.geometry.array, dtype=object)[order]
    codes = layer["code"].astype(str).to_numpy()[order]
    tree = shapely.STRtree(geoms)
    pi, gi = tree.query(points, predicate="intersects")
    if len(pi):
        first = pd.DataFrame({"p": pi, "g": gi}).groupby("p")["g"].min()
        out[first.index.to_numpy()] = codes[first.to_numpy()]
    return out


_ENTITIES = ("addresses", "buildings", "open_cases")


def _counts(codes: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float]:
    frame = pd.DataFrame({"c": codes, "w": 1 if weights is None else weights})
    frame = frame.loc[frame["c"].notna()]
    return frame.groupby("c")["w"].sum().to_dict()


def edit_impact(
    before: gpd.GeoDataFrame,
    after: gpd.GeoDataFrame,
    codes_before: Sequence[str],
    codes_after: Sequence[str],
    renames: Mapping[str, str],
    ctx: PlanContext,
) -> tuple[dict[str, Any], dict[str, int]]:
    """Per grid before → after and totals moved; also returns households of the after grids."""
    sub_b = before.loc[before["code"].isin(codes_before)]
    sub_a = after.loc[after["code"].isin(codes_after)]
    region = shapely.union_all(np.asarray(sub_b.geometry.array, dtype=object))
    region = shapely.union_all([region, *np.asarray(sub_a.geometry.array, dtype=object)])
    per: dict[str, dict[str, dict[str, int]]] = {
        c: {"before": {}, "after": {}} for c in dict.fromkeys([*codes_before, *codes_after])
    }
    moved: dict[str, int] = {}
    households_after: dict[str, int] = {}
    for what, key in (
        ("addresses", "addresses"),
        ("buildings", "buildings"),
        ("cases", "open_cases"),
    ):
        pts, frame = ctx.points(what)
        if len(pts) == 0:
            moved[key] = 0
            if what == "buildings":
                moved["households"] = 0
            continue
        shapely.prepare(region)
        inside = np.flatnonzero(shapely.intersects(region, pts)) if not region.is_empty else []
        p = pts[inside]
        cb, ca = assign_points(p, sub_b), assign_points(p, sub_a)
        moved[key] = int(np.sum(cb != ca))
        for side, codes in (("before", cb), ("after", ca)):
            for code, n in _counts(codes).items():
                per[code][side][key] = int(n)
        if what == "buildings":
            hh = frame["households"].fillna(0).astype(int).to_numpy()[inside]
            moved["households"] = int(hh[cb != ca].sum())
            for side, codes in (("before", cb), ("after", ca)):
                for code, n in _counts(codes, hh).items():
                    per[code][side]["households"] = int(n)
            households_after = {c: int(n) for c, n in _counts(ca, hh).items()}
            for c in codes_after:
                households_after.setdefault(c, 0)
    roster_moved = 0
    if ctx.roster is not None and len(ctx.roster):
        r = ctx.roster.loc[ctx.roster["grid_code"].astype(str).isin(list(per))]
        for code, n in r["grid_code"].astype(str).value_counts().items():
            per[code]["before"]["roster"] = int(n)
            target = renames.get(code, code)
            if target in per and target in set(codes_after):
                per[target]["after"]["roster"] = per[target]["after"].get("roster", 0) + int(n)
            if target != code:
                roster_moved += int(n)
    moved["roster"] = roster_moved
    fields = ("addresses", "buildings", "households", "open_cases", "roster")
    grids = []
    for code, sides in per.items():
        grids.append(
            {
                "code": code,
                "before": {f: sides["before"].get(f, 0) for f in fields}
                if code in set(codes_before)
                else None,
                "after": {f: sides["after"].get(f, 0) for f in fields}
                if code in set(codes_after)
                else None,
            }
        )
    return {"moved": moved, "grids": grids}, households_after
