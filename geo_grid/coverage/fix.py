"""``fix_coverage``: a repaired layer that the check finds clean, and a log of every change.

The steps, in order, each a function below: per-feature repairs (:func:`_repair_features`),
duplicate geometries (:func:`_drop_duplicate_geometries`) and codes
(:func:`_recode_duplicates`), parents (:func:`_assign_parents`), faces and their owners
(:func:`_faces`, :func:`_owners`, rules in :mod:`geo_grid.coverage.owners`), leftovers and small
parts, then the log of face moves (:func:`_log_moves`) and the assembled layer
(:func:`_assemble`).
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from geo_grid.coverage.faces import dissolve, node_faces
from geo_grid.coverage.owners import (
    Faces,
    dissolve_small_parts,
    label_faces,
    place_orphans,
    restore_vanished,
)
from geo_grid.coverage.parents import FREE, Parents, parent_index
from geo_grid.coverage.polygons import pieces, widths
from geo_grid.coverage.progress import Progress, progress_reporter
from geo_grid.coverage.validity import repair_polygon, validate_layer
from geo_grid.crs import AUTO, STORAGE_EPSG, local_crs_for, to_local
from geo_grid.errors import BadInput

__all__ = ["fix_coverage"]

#: One line of the change log: code, action, area (m²), detail.
LogLine = tuple[str, str, float, str]


def fix_coverage(
    grids: gpd.GeoDataFrame,
    parent: gpd.GeoDataFrame | None = None,
    *,
    overlap_rule: Literal["longest_border", "larger"] = "longest_border",
    gap_width_m: float = 20.0,
    min_part_m2: float = 100.0,
    snap_tolerance_m: float = 0.001,
    parent_field: str = "community_code",
    local_crs: str = AUTO,
    duplicate_share: float = 0.999,
    progress: Progress = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Repair a layer so that :func:`~geo_grid.coverage.check_coverage` finds nothing; keep codes,
    names, households.

    The repair runs in one metric plane: ``local_crs``, or for ``"auto"`` the Gauss-Krüger zone
    of the layer's central longitude (:func:`geo_grid.crs.gauss_kruger_zone`).

    Order of repairs: empty and non-polygonal grids are dropped; invalid ones become the polygonal
    part of ``make_valid``; a later duplicate geometry is dropped; a later duplicate code gets a
    ``-2``, ``-3`` ... suffix; a grid without a known parent gets the parent it overlaps most.
    Then all boundaries (and parent boundaries) are noded with snap rounding at
    ``snap_tolerance_m`` into faces and every face is given one owner (see
    :mod:`geo_grid.coverage.owners`): overlaps by ``overlap_rule``, gaps and slivers (any width)
    to the neighbour with the longest shared border in the same parent, parts outside a grid's
    parent cut off. Disconnected parts under ``min_part_m2`` then join the neighbour they share
    most border with. Because grids are unions of faces of one noding, neighbours share vertices
    exactly.

    Returns
    -------
    (GeoDataFrame, DataFrame)
        The fixed layer in EPSG:4490 (MultiPolygons, other columns kept, row order kept, dropped
        rows removed) and a change log with columns ``code``, ``action`` (``drop_empty``,
        ``repair_invalid``, ``drop_duplicate_geometry``, ``recode_duplicate``, ``assign_parent``,
        ``drop_outside_parent``, ``clip_to_parent``, ``resolve_overlap``, ``fill_gap``,
        ``dissolve_part``, ``new_grid``), ``area_m2`` and ``detail``.
        Gap pieces narrower than ``gap_width_m`` are logged as slivers in ``detail``.
    """
    local_crs = _checked(grids, parent, overlap_rule, local_crs)
    step = progress_reporter(progress, 5, "fix coverage")
    frame = grids.reset_index(drop=True).copy()
    frame["code"] = frame["code"].astype(str)
    log: list[LogLine] = []
    # 1.-3. per-feature repairs, duplicate geometries, duplicate codes
    geoms = np.asarray(to_local(frame.geometry, local_crs).array, dtype=object)
    keep, work = _repair_features(frame, geoms, log)
    _drop_duplicate_geometries(frame, work, keep, duplicate_share, log)
    frame, work = frame[keep].reset_index(drop=True), work[keep]
    _recode_duplicates(frame, log)
    step("repairs")
    # 4. parents
    parents, pidx = _assign_parents(frame, work, parent, parent_field, local_crs, log)
    step("parents")
    # 5. faces and owners
    faces = _faces(work, parents, pidx, snap_tolerance_m)
    labels = _owners(faces, work, overlap_rule)
    step("faces")
    # 6. leftovers (gaps with no owner reachable) and small parts
    codes = parents.codes if parents is not None else None
    extra_rows = place_orphans(faces, labels, work, codes, parent_field, log)
    all_codes = _codes_for(frame["code"].to_numpy(), extra_rows)
    labels = dissolve_small_parts(
        faces.geoms, labels, len(all_codes), min_part_m2, faces.allowed, all_codes, log
    )
    step("small parts")
    # 7. log face moves and assemble
    _log_moves(faces, labels, codes, all_codes, gap_width_m, log)
    fixed = _assemble(frame, extra_rows, faces, labels, all_codes, work, local_crs, log)
    step("assemble")
    return fixed, _change_log(log)


def _checked(grids, parent, overlap_rule: str, local_crs: str) -> str:
    """Validate the inputs; returns the one metric CRS the fix runs in."""
    if overlap_rule not in ("longest_border", "larger"):
        raise BadInput(
            f"overlap_rule: expected 'longest_border' or 'larger', got {overlap_rule!r}",
            field="overlap_rule",
        )
    validate_layer(grids, "grids")
    if parent is not None:
        validate_layer(parent, "parent")
    return local_crs_for(np.asarray(grids.geometry.array), grids.crs, local_crs)


# -------------------------------------------------------------------------- 1.-4. per grid
def _repair_features(frame, geoms: NDArray, log: list) -> tuple[NDArray, NDArray]:
    """Drop empty and non-polygonal grids, repair invalid ones: (kept mask, working polygons)."""
    keep = np.ones(len(frame), dtype=bool)
    work = np.empty(len(frame), dtype=object)
    for i, g in enumerate(geoms):
        code = frame.at[i, "code"]
        if g is None or g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon"):
            keep[i] = False
            log.append((code, "drop_empty", 0.0, "empty or not a polygon"))
            continue
        if not g.is_valid:
            fixed = repair_polygon(g)
            reason = shapely.is_valid_reason(g)
            if fixed.is_empty:
                keep[i] = False
                log.append((code, "drop_empty", 0.0, f"invalid and empty once repaired: {reason}"))
                continue
            log.append((code, "repair_invalid", float(fixed.area), reason))
            g = fixed
        work[i] = g
    return keep, work


def _drop_duplicate_geometries(frame, work, keep, share: float, log: list) -> None:
    """Drop the later of two grids overlapping by ``share`` of the larger (``keep``, in place)."""
    idx = np.flatnonzero(keep)
    pairs, pair_area = _overlap_pairs(work[idx], 0.0)
    if len(pairs) == 0:
        return
    a_area = shapely.area(work[idx[pairs[:, 0]]])
    b_area = shapely.area(work[idx[pairs[:, 1]]])
    dup = pair_area >= share * np.maximum(a_area, b_area)
    for (i, j), area in zip(pairs[dup], b_area[dup], strict=True):
        first, later = idx[i], idx[j]
        if keep[first] and keep[later]:
            keep[later] = False
            same = f"same geometry as {frame.at[first, 'code']}"
            log.append((frame.at[later, "code"], "drop_duplicate_geometry", float(area), same))


def _overlap_pairs(geoms: NDArray, noise_area: float) -> tuple[NDArray, NDArray]:
    """Pairs ``(i, j)`` of grids overlapping by at least ``noise_area``, and the overlap areas.

    Only grids GEOS marks as not edge-matched, and exact duplicates, are intersected."""
    if len(geoms) < 2:
        return np.empty((0, 2), dtype=int), np.zeros(0)
    flagged = ~shapely.is_empty(shapely.coverage_invalid_edges(geoms, gap_width=0.0))
    wkb = shapely.to_wkb(shapely.normalize(geoms))
    first: dict[bytes, int] = {}
    extra = []
    for k, key in enumerate(wkb):
        if key in first:
            extra.append((first[key], k))
        else:
            first.setdefault(key, k)
    src = np.flatnonzero(flagged)
    qi, qj = shapely.STRtree(geoms).query(geoms[src], predicate="intersects")
    a, b = src[qi], qj
    cand = np.column_stack([np.minimum(a, b), np.maximum(a, b)])
    cand = cand[cand[:, 0] != cand[:, 1]]
    if extra:
        cand = np.vstack([cand, np.asarray(extra)])
    if len(cand) == 0:
        return np.empty((0, 2), dtype=int), np.zeros(0)
    cand = np.unique(cand, axis=0)
    areas = shapely.area(shapely.intersection(geoms[cand[:, 0]], geoms[cand[:, 1]]))
    keep = areas >= noise_area
    return cand[keep], areas[keep]


def _recode_duplicates(frame, log: list) -> None:
    """Give the later grids of a duplicated code a ``-2``, ``-3`` ... suffix (in place)."""
    seen: set[str] = set()
    taken = set(frame["code"])
    for i, code in enumerate(frame["code"].tolist()):
        if code in seen:
            k = 2
            while f"{code}-{k}" in taken:
                k += 1
            new = f"{code}-{k}"
            taken.add(new)
            frame.at[i, "code"] = new
            log.append((new, "recode_duplicate", 0.0, f"was {code}"))
        else:
            seen.add(code)


def _assign_parents(frame, work, parent, field: str, local_crs: str, log: list):
    """The parents in the metric plane and each grid's parent index; a grid whose stated parent
    is unknown gets the one it overlaps most (logged, written to ``field``)."""
    if parent is None:
        return None, np.full(len(frame), -1, dtype=int)
    metric = to_local(parent.geometry, local_crs)  # the one projection to metres
    parents = Parents.of(parent["code"].astype(str).to_numpy(), np.asarray(metric.array))
    stated = (
        frame[field].to_numpy()
        if field in frame.columns
        else np.full(len(frame), None, dtype=object)
    )
    pidx = parent_index(work, stated, parents, infer_unknown=True)
    if field not in frame.columns:
        frame[field] = None
    codes = frame["code"].to_numpy()
    for i, p in enumerate(pidx):
        said = stated[i]
        said = None if said is None or pd.isna(said) else str(said)
        if p >= 0 and said != parents.codes[p]:
            frame.at[i, field] = parents.codes[p]
            log.append((codes[i], "assign_parent", 0.0, f"{said} -> {parents.codes[p]}"))
    return parents, pidx


# -------------------------------------------------------------------------- 5. faces
def _faces(work: NDArray, parents: Parents | None, pidx: NDArray, snap: float) -> Faces:
    """Node every grid and parent boundary into faces; find the grids and parent of each."""
    lines = list(shapely.boundary(work))
    if parents is not None:
        lines += list(shapely.boundary(parents.geoms))
    geoms = node_faces(lines, snap)
    rp = shapely.point_on_surface(geoms)
    fi, gj = shapely.STRtree(work).query(rp, predicate="within")
    inside: list[list[int]] = [[] for _ in range(len(geoms))]
    for f, g in zip(fi, gj, strict=True):
        inside[f].append(int(g))
    face_parent = np.full(len(geoms), -1, dtype=int)
    if parents is None:
        return Faces(
            geoms,
            inside,
            face_parent,
            [sorted(c) for c in inside],
            [None] * len(geoms),
            np.zeros(len(geoms), dtype=bool),
        )
    fi2, pj2 = parents.tree.query(rp, predicate="within")
    face_parent[fi2] = pj2
    kids = {p: set(np.flatnonzero(pidx == p).tolist()) for p in range(len(parents.codes))}
    free = set(np.flatnonzero(pidx == FREE).tolist())
    dropped = face_parent < 0
    candidates = [
        [] if p < 0 else sorted(g for g in inside[f] if pidx[g] in (p, FREE))
        for f, p in enumerate(face_parent)
    ]
    allowed = [set() if p < 0 else kids[p] | free for p in face_parent]
    return Faces(geoms, inside, face_parent, candidates, allowed, dropped)


def _owners(faces: Faces, work: NDArray, overlap_rule: str) -> NDArray:
    """One owner grid per face (-1: none yet; dropped faces stay -1)."""
    grid_area = shapely.area(work)
    labels, _ = label_faces(faces.geoms, faces.candidates, faces.allowed, grid_area, overlap_rule)
    labels[faces.dropped] = -1
    restore_vanished(labels, faces.candidates, len(work))
    return labels


def _codes_for(codes: NDArray, extra_rows: list[dict]) -> NDArray:
    """Codes of the original grids followed by those of grids created for unreachable gaps."""
    return np.concatenate([codes, np.asarray([r["code"] for r in extra_rows], dtype=object)])


# -------------------------------------------------------------------------- 7. log, assemble
def _log_moves(faces: Faces, labels, parent_codes, codes, gap_width_m: float, log: list) -> None:
    """Log overlap resolutions, clipping and gap filling, one line per grid and cause."""
    farea = shapely.area(faces.geoms)
    gap_width = _gap_widths(faces)
    for f in range(len(faces.geoms)):
        owner = int(labels[f])
        for g in faces.inside[f]:
            if g == owner:
                continue
            if faces.dropped[f]:
                log.append((codes[g], "clip_to_parent", farea[f], "outside every parent"))
            elif g not in faces.candidates[f]:
                where = f"outside its parent, inside {parent_codes[faces.parent[f]]}"
                log.append((codes[g], "clip_to_parent", farea[f], where))
            elif owner >= 0:
                given = f"overlap given to {codes[owner]}"
                log.append((codes[g], "resolve_overlap", farea[f], given))
        if not faces.candidates[f] and not faces.dropped[f] and owner >= 0:
            w = gap_width.get(f, 0.0)
            kind = "sliver_gap" if w < gap_width_m else "gap"
            log.append((codes[owner], "fill_gap", farea[f], f"{kind} {w:.1f} m wide"))


def _gap_widths(faces: Faces) -> dict[int, float]:
    """Width of the gap piece (touching gap faces merged) each gap face belongs to."""
    gap_faces = np.flatnonzero(
        [not c and not d for c, d in zip(faces.candidates, faces.dropped, strict=True)]
    )
    out: dict[int, float] = {}
    if len(gap_faces) == 0:
        return out
    merged = pieces(shapely.coverage_union_all(faces.geoms[gap_faces]))
    pw = widths(merged)
    rp = shapely.point_on_surface(faces.geoms[gap_faces])
    fi, pj = shapely.STRtree(merged).query(rp, predicate="within")
    for f, p in zip(fi, pj, strict=True):
        out[int(gap_faces[f])] = float(pw[p])
    return out


def _assemble(frame, extra_rows, faces: Faces, labels, codes, work, local_crs, log):
    """The fixed layer in EPSG:4490: each grid the union of its faces, new grids appended,
    grids left without a face dropped (and logged)."""
    geoms_out = dissolve(faces.geoms, labels, len(codes))
    if extra_rows:
        frame = pd.concat([frame, pd.DataFrame(extra_rows)], ignore_index=True)
    grid_area = shapely.area(work)
    for k in np.flatnonzero([g is None for g in geoms_out]):
        area = float(grid_area[k]) if k < len(grid_area) else 0.0
        detail = "no part of the grid lies in its parent"
        log.append((codes[k], "drop_outside_parent", area, detail))
    alive = np.array([g is not None for g in geoms_out], dtype=bool)
    frame = frame.loc[alive].reset_index(drop=True)
    out_geoms = gpd.GeoSeries([g for g in geoms_out if g is not None], crs=local_crs).to_crs(
        STORAGE_EPSG
    )
    return gpd.GeoDataFrame(
        frame.drop(columns=frame.geometry.name, errors="ignore"),
        geometry=out_geoms.values,
        crs=STORAGE_EPSG,
    )


def _change_log(log: list[LogLine]) -> pd.DataFrame:
    """The log as a frame, one row per code, action and detail (areas summed, to mm²)."""
    changes = pd.DataFrame(log, columns=["code", "action", "area_m2", "detail"])
    if len(changes):
        changes = (
            changes.groupby(["code", "action", "detail"], sort=False, as_index=False)[
                "area_m2"
            ].sum()
        )[["code", "action", "area_m2", "detail"]]
        changes["area_m2"] = changes["area_m2"].round(3)
    return changes
