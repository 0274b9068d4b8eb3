"""多网合一: relate department grids to the unified grid, judge their fit, propose one grid.

Four departments (政法综治, 城管, 应急, 生态环境) each drew their own grids. The reform keeps one
unified grid (全科网格) with a known relation to each department's grids:

(a) a **crosswalk**: every unified grid against every department grid it touches, with the share of
    area both ways (an STRtree join, so cost follows neighbours);
(b) a **conformance** report: department grids that split a unified grid (no department grid holds
    ``share_threshold`` of it), department boundaries further than ``deviation_m`` from every unified
    line, unified grids a department layer leaves uncovered, department grids over no unified grid;
(c) a **proposed** unified layer. Algorithm, in the local metric CRS:

    1. community boundaries are always kept (a grid never crosses its community);
    2. a department line is *agreed* where another department's line runs within ``agree_m`` of it;
       of near-coincident agreed lines only the first layer's copy is kept (no sliver between two
       copies), agreed lines along community boundaries are dropped (the community line wins), and
       the ends of agreed lines are extended by ``2·agree_m`` so they reach the line they stopped
       short of (the overshoot is a dangle that polygonize drops);
    3. community lines and agreed lines are noded into faces; each face takes the community it
       lies in and a household estimate spread by area from the base layer's grids;
    4. faces under ``min_grid_m2`` join the neighbour in the same community with the longest shared
       border, smallest first, until none is left;
    5. pieces over ``max_households`` are cut by straight lines across their longer side into
       ``ceil(households / max_households)`` parts of equal area (households are assumed spread
       evenly inside a piece);
    6. everything is noded again and grids are unions of faces, so the result is a valid coverage;
       it is checked with :func:`geo_grid.coverage.check_coverage` against the communities (and
       repaired with ``fix_coverage`` if a numeric sliver slipped through).

Examples
--------
>>> import geopandas as gpd, shapely
>>> x, y = 500_000, 3_380_000   # metres in EPSG:4547 (zone 114°E)
>>> base = gpd.GeoDataFrame({"code": ["U1", "U2"], "households": [100, 100],
...     "community_code": ["C", "C"]}, geometry=[shapely.box(x, y, x + 100, y + 100),
...     shapely.box(x + 100, y, x + 200, y + 100)], crs="EPSG:4547")
>>> dept = gpd.GeoDataFrame({"code": ["D1"]}, geometry=[shapely.box(x, y, x + 200, y + 100)],
...     crs="EPSG:4547")
>>> result = merge_layers(base, {"urban_mgmt": dept}, min_grid_m2=100)
>>> result.crosswalk[["unified_code", "dept_code", "share_of_unified", "share_of_dept"]].values.tolist()
[['U1', 'D1', 1.0, 0.5], ['U2', 'D1', 1.0, 0.5]]
>>> len(result.conformance), result.check.valid
(0, True)
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from geo_grid.coverage import (
    CoverageReport,
    as_multipolygon,
    check_coverage,
    dissolve,
    face_adjacency,
    fix_coverage,
    node_faces,
    polygonal,
    repair_polygon,
    validate_layer,
)
from geo_grid.coverage.edges import components
from geo_grid.coverage.progress import Progress, progress_reporter
from geo_grid.crs import AUTO, STORAGE_EPSG, local_crs_for, to_local
from geo_grid.errors import BadInput

__all__ = ["CONFORMANCE_KINDS", "MergeResult", "merge_layers"]

CONFORMANCE_KINDS: tuple[str, ...] = (
    "splits_unified",
    "line_deviation",
    "orphan_unified",
    "orphan_dept",
)

CROSSWALK_COLUMNS = [
    "unified_code",
    "layer",
    "dept_code",
    "overlap_m2",
    "share_of_unified",
    "share_of_dept",
]
CONFORMANCE_COLUMNS = ["kind", "layer", "codes", "value", "detail"]


@dataclass
class MergeResult:
    """The three products of a merge (see the module docstring) and the proposed layer's check."""

    crosswalk: pd.DataFrame
    conformance: pd.DataFrame
    proposed: gpd.GeoDataFrame
    check: CoverageReport | None = None
    params: dict = field(default_factory=dict)


def merge_layers(
    base: gpd.GeoDataFrame,
    department_layers: dict[str, gpd.GeoDataFrame],
    *,
    communities: gpd.GeoDataFrame | None = None,
    share_threshold: float = 0.9,
    deviation_m: float = 10.0,
    agree_m: float | None = None,
    min_grid_m2: float = 20_000.0,
    max_households: int | None = 600,
    snap_tolerance_m: float = 0.001,
    local_crs: str = AUTO,
    progress: Progress = None,
) -> MergeResult:
    """Crosswalk, conformance and a proposed unified layer for ``department_layers``.

    Parameters
    ----------
    base : GeoDataFrame
        The unified (or administrative) grid: ``code``, optional ``households``, ``community_code``.
    department_layers : dict
        Layer key (``politics_law``, ``urban_mgmt``, ...) to that department's grids (``code``).
    communities : GeoDataFrame, optional
        Community polygons (``code``, optional ``name``); default: ``base`` dissolved by
        ``community_code`` (or the whole district as one unit when that column is empty).
    share_threshold : float
        A unified grid is split by a layer when no grid of it holds this share of its area.
    deviation_m : float
        Department boundaries further than this from every unified line are reported.
    agree_m : float, optional
        Tolerance for two departments' lines to agree (default ``deviation_m``).
    min_grid_m2, max_households : float, int
        Size rules for the proposed layer (``max_households=None``: never split).
    local_crs : str
        The metric plane of the merge: the district's Gauss-Krüger zone, or ``"auto"`` for the
        zone of the base layer's central longitude (:func:`geo_grid.crs.gauss_kruger_zone`).
    progress : bool or callable, optional
        Told of each of the three steps as it ends (``crosswalk``, ``conformance``,
        ``proposed``): see :func:`geo_grid.coverage.progress.progress_reporter`.

    Returns
    -------
    MergeResult
        ``crosswalk`` columns: unified_code, layer, dept_code, overlap_m2, share_of_unified,
        share_of_dept. ``conformance`` columns: kind (see :data:`CONFORMANCE_KINDS`), layer, codes
        (list), value (a share or metres), detail. ``proposed``: code, name, households,
        community_code, geometry (EPSG:4490).
    """
    validate_layer(base, "base")
    if not department_layers:
        raise BadInput("department_layers: no layer given", field="department_layers")
    for key, layer in department_layers.items():
        validate_layer(layer, f"department layer {key}")
    if communities is not None:
        validate_layer(communities, "communities")
    agree = deviation_m if agree_m is None else agree_m
    local_crs = local_crs_for(np.asarray(base.geometry.array), base.crs, local_crs)

    ucodes = base["code"].astype(str).to_numpy()
    ugeoms = _polygons(base, local_crs)
    layers = {
        key: (layer["code"].astype(str).to_numpy(), _polygons(layer, local_crs))
        for key, layer in department_layers.items()
    }

    step = progress_reporter(progress, 3, "merge")
    crosswalk = _crosswalk(ucodes, ugeoms, layers)
    step("crosswalk")
    conformance = _conformance(ucodes, ugeoms, layers, crosswalk, share_threshold, deviation_m)
    step("conformance")
    proposed, report = _propose(
        base,
        ugeoms,
        layers,
        communities,
        agree,
        min_grid_m2,
        max_households,
        snap_tolerance_m,
        local_crs,
    )
    step("proposed")
    return MergeResult(
        crosswalk=crosswalk,
        conformance=conformance,
        proposed=proposed,
        check=report,
        params={
            "share_threshold": share_threshold,
            "deviation_m": deviation_m,
            "agree_m": agree,
            "min_grid_m2": min_grid_m2,
            "max_households": max_households,
        },
    )


def _metres(frame: gpd.GeoDataFrame, local_crs: str) -> NDArray:
    """The geometries of ``frame`` in the merge's metric plane, as an array."""
    return np.asarray(to_local(frame.geometry, local_crs).array, dtype=object)


def _polygons(frame: gpd.GeoDataFrame, local_crs: str) -> NDArray:
    """Metric polygons of a layer; invalid ones repaired, empty ones as empty MultiPolygons, so a
    defective department layer can still be related to the unified grid."""
    out = []
    for g in _metres(frame, local_crs):
        if g is None or g.is_empty:
            out.append(shapely.MultiPolygon())
        elif not g.is_valid:
            out.append(repair_polygon(g))
        else:
            out.append(polygonal(g))
    return np.asarray(out, dtype=object)


# --------------------------------------------------------------------------------------------
# (a) crosswalk
# --------------------------------------------------------------------------------------------


def _crosswalk(ucodes: NDArray, ugeoms: NDArray, layers: dict) -> pd.DataFrame:
    rows = []
    uarea = shapely.area(ugeoms)
    for key, (dcodes, dgeoms) in layers.items():
        if len(dgeoms) == 0 or len(ugeoms) == 0:
            continue
        ui, dj = shapely.STRtree(dgeoms).query(ugeoms, predicate="intersects")
        if len(ui) == 0:
            continue
        inter = shapely.area(shapely.intersection(ugeoms[ui], dgeoms[dj]))
        darea = shapely.area(dgeoms)
        keep = inter > 0.01
        for u, d, a in zip(ui[keep], dj[keep], inter[keep], strict=True):
            rows.append(
                (
                    ucodes[u],
                    key,
                    dcodes[d],
                    round(float(a), 3),
                    round(float(a / uarea[u]), 6) if uarea[u] else 0.0,
                    round(float(a / darea[d]), 6) if darea[d] else 0.0,
                )
            )
    frame = pd.DataFrame(rows, columns=CROSSWALK_COLUMNS)
    return frame.sort_values(
        ["unified_code", "layer", "overlap_m2"], ascending=[True, True, False], ignore_index=True
    )


# --------------------------------------------------------------------------------------------
# (b) conformance
# --------------------------------------------------------------------------------------------


def _conformance(
    ucodes: NDArray,
    ugeoms: NDArray,
    layers: dict,
    crosswalk: pd.DataFrame,
    threshold: float,
    deviation_m: float,
) -> pd.DataFrame:
    rows: list[tuple] = []
    by = crosswalk.groupby(["unified_code", "layer"], sort=False)
    covered = by["share_of_unified"].sum()
    best = by["share_of_unified"].max()
    members = by["dept_code"].agg(list).to_dict()
    for key, (dcodes, dgeoms) in layers.items():
        for u in ucodes:
            total = float(covered.get((u, key), 0.0))
            top = float(best.get((u, key), 0.0))
            if total < 1.0 - threshold:
                rows.append(
                    (
                        "orphan_unified",
                        key,
                        [u],
                        round(total, 6),
                        f"{key} covers {total:.0%} of unified grid {u}",
                    )
                )
            elif top < threshold:
                who = members.get((u, key), [])
                rows.append(
                    (
                        "splits_unified",
                        key,
                        [u, *who],
                        round(top, 6),
                        f"unified grid {u} split among {', '.join(who)}; largest share {top:.0%}",
                    )
                )
        in_walk = set(crosswalk.loc[crosswalk.layer == key, "dept_code"])
        for d in dcodes:
            if d not in in_walk:
                rows.append(
                    ("orphan_dept", key, [d], 0.0, f"{key} grid {d} overlaps no unified grid")
                )
        rows.extend(_deviations(key, dcodes, dgeoms, ugeoms, deviation_m))
    frame = pd.DataFrame(rows, columns=CONFORMANCE_COLUMNS)
    order = {k: i for i, k in enumerate(CONFORMANCE_KINDS)}
    frame["_o"] = frame["kind"].map(order)
    return (
        frame.sort_values(["_o", "layer"], kind="stable").drop(columns="_o").reset_index(drop=True)
    )


def _segments(lines, max_len: float) -> NDArray:
    """Lines cut into straight segments no longer than ``max_len`` (an array of LineStrings)."""
    parts = shapely.get_parts(shapely.segmentize(np.atleast_1d(lines), max_len))
    parts = parts[shapely.get_type_id(parts) == 1]  # LineString
    if len(parts) == 0:
        return np.empty(0, dtype=object)
    coords, index = shapely.get_coordinates(parts, return_index=True)
    same = index[1:] == index[:-1]
    starts = coords[:-1][same]
    ends = coords[1:][same]
    return shapely.linestrings(np.stack([starts, ends], axis=1))


def _near(points: NDArray, lines: NDArray, distance: float) -> NDArray:
    """Which points lie within ``distance`` of any of ``lines`` (STRtree, no buffers)."""
    hit = np.zeros(len(points), dtype=bool)
    if len(points) and len(lines):
        pi, _ = shapely.STRtree(lines).query(points, predicate="dwithin", distance=distance)
        hit[pi] = True
    return hit


def _deviations(
    key: str, dcodes: NDArray, dgeoms: NDArray, ugeoms: NDArray, deviation_m: float
) -> list[tuple]:
    """Department grids whose boundary runs more than ``deviation_m`` from every unified line.

    Each department boundary is cut into pieces of at most ``deviation_m``; a piece deviates
    when its midpoint is further than ``deviation_m`` from every unified boundary (nearest-line
    query on an STRtree, so cost follows the lines nearby). The deviating length and the largest
    offset (at piece ends and midpoints, capped at ``max(10·deviation_m, 100)``) are reported
    per department grid.
    """
    rows: list[tuple] = []
    if len(ugeoms) == 0 or len(dgeoms) == 0:
        return rows
    # short segments keep the tree's envelopes tight, so nearest-line queries stay local
    ulines = _segments(shapely.union_all(shapely.boundary(ugeoms)), max(4 * deviation_m, 20.0))
    step = max(deviation_m, 0.5)
    segs, owner = [], []
    for k, geom in enumerate(dgeoms):
        if geom is None or geom.is_empty:
            continue
        pieces = _segments(shapely.boundary(geom), step)
        segs.append(pieces)
        owner.append(np.full(len(pieces), k))
    if not segs:
        return rows
    segs_arr = np.concatenate(segs)
    owner_arr = np.concatenate(owner)
    mids = shapely.line_interpolate_point(segs_arr, 0.5, normalized=True)
    tree = shapely.STRtree(ulines)
    cap = max(10.0 * deviation_m, 100.0)  # offsets are measured up to this, then capped

    def offset(points: NDArray) -> NDArray:
        out = np.full(len(points), cap)
        idx, dist = tree.query_nearest(
            points, max_distance=cap, return_distance=True, all_matches=False
        )
        out[idx[0]] = np.minimum(out[idx[0]], dist)
        return out

    dist = offset(mids)
    at_start = offset(shapely.get_point(segs_arr, 0))
    off = dist > deviation_m
    lengths = shapely.length(segs_arr)
    for k in np.unique(owner_arr[off]):
        mine = off & (owner_arr == k)
        length = float(lengths[mine].sum())
        if length <= deviation_m:
            continue
        worst = float(max(dist[mine].max(), at_start[mine].max()))
        rows.append(
            (
                "line_deviation",
                key,
                [dcodes[k]],
                round(worst, 3),
                f"{length:.0f} m of boundary more than {deviation_m:g} m from any unified "
                f"line (up to {worst:.1f} m)",
            )
        )
    return rows


# --------------------------------------------------------------------------------------------
# (c) proposed unified layer
# --------------------------------------------------------------------------------------------


def _communities(base, ugeoms, communities, local_crs):
    """Community codes, names and metric geometries."""
    if communities is not None:
        codes = communities["code"].astype(str).to_numpy()
        names = (
            communities["name"].astype(str).to_numpy() if "name" in communities.columns else codes
        )
        geoms = np.asarray([polygonal(g) for g in _metres(communities, local_crs)], dtype=object)
        return codes, names, geoms, communities
    labels = (
        base["community_code"]
        if "community_code" in base.columns
        else pd.Series([None] * len(base))
    )
    labels = labels.where(labels.notna(), "district").astype(str).to_numpy()
    codes = np.unique(labels)
    geoms = []
    for c in codes:
        part = ugeoms[labels == c]
        union = shapely.coverage_union_all(part)
        if not union.is_valid:
            union = shapely.union_all(part)
        geoms.append(as_multipolygon(union))
    geoms = np.asarray(geoms, dtype=object)
    frame = gpd.GeoDataFrame({"code": codes}, geometry=list(geoms), crs=local_crs)
    return codes, codes, geoms, frame


def _extend(line, dist: float):
    """Lengthen both ends of a line string along its end segments."""
    coords = np.asarray(line.coords)
    if len(coords) < 2:
        return line
    for end, nxt in ((0, 1), (-1, -2)):
        vec = coords[end] - coords[nxt]
        norm = float(np.hypot(*vec))
        if norm > 0:
            coords[end] = coords[end] + vec / norm * dist
    return shapely.LineString(coords)


def _agreed_lines(layers: dict, community_lines, agree: float) -> list:
    """Department lines confirmed by another department, one copy each, off community lines.

    Lines are cut into pieces of at most ``agree / 2``; a piece of layer k is agreed when its
    midpoint lies within ``agree`` of another layer's line, and dropped when it lies within
    ``agree`` of a community line or of a line already accepted from an earlier layer.
    """
    keys = list(layers)
    lines = {k: shapely.get_parts(shapely.union_all(shapely.boundary(layers[k][1]))) for k in keys}
    community = shapely.get_parts(community_lines)
    accepted: list = []
    for k in keys:
        others = [lines[m] for m in keys if m != k]
        if not others:
            continue
        segs = _segments(lines[k], max(agree / 2.0, 0.5))
        if len(segs) == 0:
            continue
        mids = shapely.line_interpolate_point(segs, 0.5, normalized=True)
        keep = _near(mids, np.concatenate(others), agree) & ~_near(mids, community, agree)
        if accepted:
            keep &= ~_near(mids, np.asarray(accepted, dtype=object), agree)
        if not keep.any():
            continue
        merged = shapely.line_merge(shapely.MultiLineString(list(segs[keep])))
        accepted.extend(p for p in shapely.get_parts(merged) if p.length > 2 * agree)
    return [_extend(p, 2 * agree) for p in accepted]


def _propose(
    base, ugeoms, layers, communities, agree, min_grid_m2, max_households, snap, local_crs
):
    """Steps 1-6 of the module docstring: the proposed layer and its coverage check."""
    ccodes, cnames, cgeoms, cframe = _communities(base, ugeoms, communities, local_crs)
    cbound = shapely.union_all(shapely.boundary(cgeoms))
    lines = [cbound, *_agreed_lines(layers, cbound, agree)]
    faces, comm = _faces_in(lines, cgeoms, snap)
    hh_base = _households(base)
    labels = _merge_small(faces, comm, min_grid_m2)
    pieces = dissolve(faces, labels, int(labels.max()) + 1 if len(labels) else 0)
    cuts, cut_at = _household_cuts(pieces, _spread(pieces, ugeoms, hh_base), max_households)
    if cuts:
        faces, comm = _faces_in([*lines, *cuts], cgeoms, snap)
        labels = _merge_small(faces, comm, min_grid_m2, _cut_labels(faces, pieces, cut_at))
    grids = dissolve(faces, labels, int(labels.max()) + 1 if len(labels) else 0)
    keep = [k for k, g in enumerate(grids) if g is not None]
    grids = np.asarray([grids[k] for k in keep], dtype=object)
    gcomm = np.asarray([comm[np.flatnonzero(labels == k)[0]] for k in keep], dtype=int)
    hh = _spread(grids, ugeoms, hh_base)
    proposed = _proposed_frame(grids, gcomm, hh, ccodes, cnames, local_crs)
    parent = cframe.to_crs(STORAGE_EPSG)[["code", cframe.geometry.name]]
    report = check_coverage(proposed, parent, local_crs=local_crs)
    if not report.valid:
        proposed, _ = fix_coverage(proposed, parent, local_crs=local_crs)
        report = check_coverage(proposed, parent, local_crs=local_crs)
    return proposed, report


def _households(base: gpd.GeoDataFrame) -> NDArray:
    """Households of each base grid (0 where unknown)."""
    if "households" not in base.columns:
        return np.zeros(len(base))
    return pd.to_numeric(base["households"], errors="coerce").fillna(0).to_numpy(float)


def _household_cuts(pieces: NDArray, piece_hh: NDArray, max_households: int | None):
    """Cut lines for the pieces over ``max_households`` (step 5), and per cut piece whether its
    cuts are vertical and where they lie."""
    cuts: list = []
    cut_at: dict[int, tuple[bool, list[float]]] = {}
    if not max_households:
        return cuts, cut_at
    for k, (geom, hh) in enumerate(zip(pieces, piece_hh, strict=True)):
        if geom is not None and hh > max_households:
            new, vertical, where = _cut_lines(geom, math.ceil(hh / max_households))
            cuts.extend(new)
            cut_at[k] = (vertical, where)
    return cuts, cut_at


def _cut_labels(faces: NDArray, pieces: NDArray, cut_at: dict) -> NDArray:
    """Labels of the faces noded with the cuts: the piece they lie in and, in a cut piece, the
    slot between cuts; then connected parts."""
    rp = shapely.point_on_surface(faces)
    alive = np.flatnonzero([g is not None for g in pieces])
    fi, pj = shapely.STRtree(pieces[alive]).query(rp, predicate="within")
    owner = np.full(len(faces), -1, dtype=int)
    owner[fi] = alive[pj]
    slot = np.zeros(len(faces), dtype=int)
    for f in np.flatnonzero(np.isin(owner, list(cut_at))):
        vertical, where = cut_at[int(owner[f])]
        coord = rp[f].x if vertical else rp[f].y
        slot[f] = int(np.searchsorted(where, coord))
    return _components(faces, owner * 1000 + slot)


def _proposed_frame(grids, gcomm, hh, ccodes, cnames, local_crs) -> gpd.GeoDataFrame:
    """The proposed grids in EPSG:4490, coded community code + running number, ordered
    north-west to south-east within each community."""
    cent = shapely.centroid(grids)
    order = np.lexsort((shapely.get_x(cent), -shapely.get_y(cent), gcomm))
    rows, geoms = [], []
    counter: dict[int, int] = {}
    for k in order:
        c = int(gcomm[k])
        counter[c] = counter.get(c, 0) + 1
        rows.append(
            {
                "code": f"{ccodes[c]}-{counter[c]:03d}",
                "name": f"{cnames[c]}第{counter[c]}网格",
                "households": int(round(hh[k])),
                "community_code": ccodes[c],
            }
        )
        geoms.append(grids[k])
    return gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["code", "name", "households", "community_code"]),
        geometry=gpd.GeoSeries(geoms, crs=local_crs).to_crs(STORAGE_EPSG).values,
        crs=STORAGE_EPSG,
    )


def _faces_in(lines, cgeoms, snap) -> tuple[NDArray, NDArray]:
    """Faces of the noded lines that lie in a community, with that community's index."""
    faces = node_faces(lines, snap)
    rp = shapely.point_on_surface(faces)
    fi, cj = shapely.STRtree(cgeoms).query(rp, predicate="within")
    comm = np.full(len(faces), -1, dtype=int)
    comm[fi] = cj
    inside = comm >= 0
    return faces[inside], comm[inside]


def _merge_small(
    faces: NDArray, comm: NDArray, min_area: float, labels: NDArray | None = None
) -> NDArray:
    """Piece label per face after merging pieces (initially ``labels``, default one per face)
    under ``min_area`` into their neighbour in the same community with the longest shared
    border, smallest first."""
    n = len(faces)
    labels = np.arange(n) if labels is None else np.asarray(labels).copy()
    if n == 0:
        return labels
    face_area = shapely.area(faces)
    area: dict[int, float] = {}
    members: dict[int, list[int]] = {}
    for f, lab in enumerate(labels.tolist()):
        area[lab] = area.get(lab, 0.0) + float(face_area[f])
        members.setdefault(lab, []).append(f)
    adj = face_adjacency(faces, np.arange(n))
    border: dict[int, dict[int, float]] = {k: {} for k in area}
    for f, nbs in adj.items():
        for g, length in nbs:
            a, b = int(labels[f]), int(labels[g])
            if a != b and comm[f] == comm[g]:
                border[a][b] = border[a].get(b, 0.0) + length
    heap = [(a, k) for k, a in area.items()]
    heapq.heapify(heap)
    while True:
        while heap and (heap[0][1] not in area or area[heap[0][1]] != heap[0][0]):
            heapq.heappop(heap)
        if not heap or heap[0][0] >= min_area:
            break
        _, k = heapq.heappop(heap)
        if not border[k]:
            continue
        to = max(border[k], key=lambda p: (round(border[k][p], 6), area[p], -p))
        for f in members[k]:
            labels[f] = to
        members[to].extend(members.pop(k))
        area[to] += area.pop(k)
        heapq.heappush(heap, (area[to], to))
        for p, length in border.pop(k).items():
            border[p].pop(k, None)
            if p == to:
                continue
            border[to][p] = border[to].get(p, 0.0) + length
            border[p][to] = border[p].get(to, 0.0) + length
    _, labels = np.unique(labels, return_inverse=True)
    return labels


def _spread(geoms: NDArray, ugeoms: NDArray, households: NDArray) -> NDArray:
    """Households per geometry, each base grid's households spread over it by area."""
    out = np.zeros(len(geoms))
    alive = np.flatnonzero([g is not None for g in geoms])
    if len(alive) == 0 or len(ugeoms) == 0:
        return out
    gi, uj = shapely.STRtree(ugeoms).query(geoms[alive], predicate="intersects")
    inter = shapely.area(shapely.intersection(geoms[alive][gi], ugeoms[uj]))
    uarea = shapely.area(ugeoms)
    share = np.divide(inter, uarea[uj], out=np.zeros_like(inter), where=uarea[uj] > 0)
    np.add.at(out, alive[gi], share * households[uj])
    return out


def _cut_lines(geom, parts: int) -> tuple[list, bool, list[float]]:
    """Straight cuts across the longer side of ``geom`` into ``parts`` pieces of equal area:
    the cut segments, whether they are vertical, and their positions along the cut axis."""
    minx, miny, maxx, maxy = geom.bounds
    vertical = (maxx - minx) >= (maxy - miny)
    total = geom.area
    lines: list = []
    where: list[float] = []
    lo_edge, hi_edge = (minx, maxx) if vertical else (miny, maxy)
    for i in range(1, parts):
        target = total * i / parts
        lo, hi = lo_edge, hi_edge
        for _ in range(40):
            mid = (lo + hi) / 2
            half = (
                shapely.box(minx - 1, miny - 1, mid, maxy + 1)
                if vertical
                else shapely.box(minx - 1, miny - 1, maxx + 1, mid)
            )
            if shapely.intersection(geom, half).area < target:
                lo = mid
            else:
                hi = mid
        c = (lo + hi) / 2
        where.append(c)
        cut = (
            shapely.LineString([(c, miny - 1), (c, maxy + 1)])
            if vertical
            else shapely.LineString([(minx - 1, c), (maxx + 1, c)])
        )
        inside = shapely.intersection(cut, geom)
        lines.extend(
            _extend(p, 1.0)
            for p in shapely.get_parts(shapely.line_merge(inside))
            if p.geom_type == "LineString"
        )
    return lines, vertical, where


def _components(faces: NDArray, owner: NDArray) -> NDArray:
    """Label faces by connected component among faces with the same key in ``owner`` (faces
    sharing a border; a negative key joins nothing), numbered in the order of each component's
    first face.

    >>> faces = shapely.box(np.arange(4), 0, np.arange(4) + 1, 1)  # four squares in a row
    >>> _components(faces, np.array([7, 7, 5, 7])).tolist()
    [0, 0, 1, 2]
    """
    n = len(faces)
    pairs = [(f, g) for f, nbs in face_adjacency(faces, np.arange(n)).items() for g, _ in nbs]
    a, b = np.asarray(pairs, dtype=np.int64).reshape(-1, 2).T
    same = (owner[a] == owner[b]) & (owner[a] >= 0)
    _, labels = np.unique(components(n, a[same], b[same]), return_inverse=True)
    return labels.ravel()
