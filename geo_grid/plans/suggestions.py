"""Suggested edits for out-of-band grids: balanced splits of over-full grids along the gaps between
buildings, and merges of under-full neighbours, each ready for
:func:`~geo_grid.plans.edits.apply_edit`."""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping

from geo_grid.crs import to_local
from geo_grid.plans._common import border_m, polygonal_part, prepare_layer, row_index
from geo_grid.plans.balancing import balance
from geo_grid.plans.cells import building_cells, buildings_in
from geo_grid.plans.context import PlanContext
from geo_grid.plans.impact import assign_points

__all__ = ["suggest"]


def _bisect(
    xy: np.ndarray, w: np.ndarray, k: int, low: int, high: int, local: np.ndarray
) -> list[np.ndarray] | None:
    """Recursive bisection of building points into ``k`` groups each within [low, high].

    At each level the points are ordered along an axis (x, y, and the principal axis, in metres)
    and cut where both sides can still reach the band; among the feasible cuts the widest gap
    between consecutive buildings wins, so parts follow open ground and roads.
    """
    idx = np.arange(len(w))
    if k == 1:
        return [idx] if low <= w.sum() <= high else None
    k1, k2 = k // 2, k - k // 2
    centred = local - local.mean(axis=0)
    axes = [np.array([1.0, 0.0]), np.array([0.0, 1.0])]
    if len(w) > 2:
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        axes.insert(0, vt[0])
    best = None
    for axis in axes:
        proj = centred @ axis
        order = np.argsort(proj, kind="stable")
        cum = np.cumsum(w[order])
        total = cum[-1]
        for cut in range(1, len(w)):
            a = cum[cut - 1]
            if not (k1 * low <= a <= k1 * high and k2 * low <= total - a <= k2 * high):
                continue
            gap = proj[order[cut]] - proj[order[cut - 1]]
            balance_err = abs(a / total - k1 / k)
            score = gap - 50.0 * balance_err
            if best is None or score > best[0]:
                best = (score, order[:cut], order[cut:])
    if best is None:
        return None
    _, left, right = best
    a = _bisect(xy[left], w[left], k1, low, high, local[left])
    b = _bisect(xy[right], w[right], k2, low, high, local[right])
    if a is None or b is None:
        return None
    return [left[g] for g in a] + [right[g] for g in b]


def _split_suggestion(
    layer: gpd.GeoDataFrame, row, low: int, high: int, ctx: PlanContext
) -> dict[str, Any] | None:
    inside, frame = buildings_in(row.geometry, ctx)
    if len(inside) < 2:
        return None
    pts, _ = ctx.points("buildings")
    inside = inside[assign_points(pts[inside], layer) == row.code]
    w = frame["households"].fillna(0).to_numpy()[inside].astype(float)
    total = w.sum()
    k = max(2, math.ceil(total / high))
    if total < k * low:
        return None
    xy = shapely.get_coordinates(pts[inside])
    local = shapely.get_coordinates(to_local(pts[inside], ctx.local_crs))
    groups = _bisect(xy, w, k, low, high, local)
    if groups is None:
        return None
    cells = building_cells(row.geometry, list(frame.geometry.to_numpy()[inside]))
    parts = [polygonal_part(shapely.union_all([cells[j] for j in g])) for g in groups]
    parts = _tidy(parts, ctx)
    return {
        "id": f"split:{row.code}",
        "kind": "split",
        "grids": [row.code],
        "reason": f"{int(total)} households > {high}: {k} parts of "
        + ", ".join(str(int(w[g].sum())) for g in groups),
        "households_after": [int(w[g].sum()) for g in groups],
        "edit": {
            "op": "divide",
            "params": {"grid": row.code, "parts": [mapping(p) for p in parts]},
        },
    }


def _tidy(parts: list, ctx: PlanContext) -> list:
    """Hand detached crumbs of a part to the part sharing the longest border with them.

    A part made of pieces that touch at a point is valid in degrees but may self-intersect once
    projected, so only each part's largest piece stays with it.
    """
    parts = list(parts)
    for i in range(len(parts)):
        pieces = list(shapely.get_parts(parts[i]))
        if len(pieces) < 2:
            continue
        areas = shapely.area(np.asarray(pieces, dtype=object))
        main = int(np.argmax(areas))
        for j, piece in enumerate(pieces):
            if j == main:
                continue
            lengths = [
                border_m(piece, parts[o], ctx.local_crs) if o != i else -1.0
                for o in range(len(parts))
            ]
            o = int(np.argmax(lengths))
            if lengths[o] <= 0:  # touches the others at points only: the nearest takes it
                dist = [
                    shapely.distance(piece, q) if k != i else np.inf for k, q in enumerate(parts)
                ]
                o = int(np.argmin(dist))
            parts[o] = polygonal_part(shapely.union_all([parts[o], piece]))
            parts[i] = polygonal_part(shapely.difference(parts[i], piece))
    return parts


def _merge_suggestions(
    layer: gpd.GeoDataFrame, status: pd.DataFrame, ctx: PlanContext, used: set[str]
) -> list[dict[str, Any]]:
    """Greedy: from the emptiest under-full grid, add neighbours until the group is in band."""
    out = []
    hh = dict(zip(layer["code"], layer["households"].fillna(0).astype(int), strict=True))
    geoms = dict(zip(layer["code"], layer.geometry, strict=True))
    comm = dict(zip(layer["code"], layer["community_code"], strict=True))
    tree = shapely.STRtree(np.asarray(layer.geometry.array, dtype=object))
    codes = layer["code"].to_numpy()
    under = status.loc[status["status"] == "under"].sort_values(["households", "code"])
    for _, s in under.iterrows():
        if s.code in used:
            continue
        low, high = int(s.low), int(s.high)
        group, total = [s.code], hh[s.code]
        while total < low:
            cands = set()
            for g in group:
                for j in tree.query(geoms[g], "intersects"):
                    c = codes[j]
                    if c not in group and c not in used and comm[c] == comm[s.code]:
                        cands.add(c)
            options = []
            for c in sorted(cands):
                new_total = total + hh[c]
                if new_total > high:
                    continue
                border = max(border_m(geoms[c], geoms[g], ctx.local_crs) for g in group)
                if border <= 0.5:
                    continue
                reach = 0 if new_total >= low else 1
                options.append((reach, abs(new_total - (low + high) / 2), -border, c))
            if not options:
                break
            c = min(options)[3]
            group.append(c)
            total += hh[c]
        if total < low or len(group) < 2:
            continue
        used.update(group)
        out.append(
            {
                "id": "merge:" + "+".join(sorted(group)),
                "kind": "merge",
                "grids": sorted(group),
                "reason": f"{hh[s.code]} households < {low}: merged {total}",
                "households_after": [int(total)],
                "edit": {"op": "merge", "params": {"grids": sorted(group)}},
            }
        )
    return out


def suggest(layer: gpd.GeoDataFrame, *, ctx: PlanContext) -> list[dict[str, Any]]:
    """Edits that bring out-of-band grids into their band where the buildings allow it.

    Over-full grids are divided into balanced parts by recursive bisection of their buildings
    (cells follow the gaps between buildings); under-full grids are merged with neighbours of the
    same community while the total stays in band. Each suggestion carries an ``edit`` (``op`` and
    ``params``) for :func:`apply_edit`; suggestions touch disjoint grids, so all can be accepted.
    """
    layer = prepare_layer(layer)
    status = balance(layer, ctx.communities, ctx.bands)
    out: list[dict[str, Any]] = []
    used: set[str] = set()
    over = status.loc[status["status"] == "over"].sort_values("households", ascending=False)
    for _, s in over.iterrows():
        row = layer.iloc[row_index(layer, s.code)]
        found = _split_suggestion(layer, row, int(s.low), int(s.high), ctx)
        if found is not None:
            out.append(found)
            used.add(s.code)
    out += _merge_suggestions(layer, status, ctx, used)
    return out
