"""The fixer's rules: which grid owns each face of the noded layer.

:func:`geo_grid.coverage.fix_coverage` nodes every grid and parent boundary into atomic faces
(:func:`geo_grid.coverage.faces.node_faces`) and then decides one owner per face:

* a face inside exactly one grid (of the face's parent) keeps that grid;
* a face inside several grids is an overlap: it goes to the candidate with which it shares the
  longest border (rule ``longest_border``: a spike pushed into a neighbour goes back, a strip goes
  to the side it mostly touches) or to the largest candidate (rule ``larger``);
* a face inside no grid of its parent is a gap (or a part clipped off a grid that crossed into
  this parent): it goes to the grid of the same parent with the longest shared border;
* a face outside every parent (when parents are given) is dropped: that is clipping to the parent.

Borders are counted against faces that already have an owner, in rounds, so a wide gap fills
from its rim inwards. Gap faces no border reaches go to the nearest allowed grid
(:func:`place_orphans`), and small disconnected parts join their longest neighbour
(:func:`dissolve_small_parts`).

Examples
--------
>>> import numpy as np, shapely
>>> faces = np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(2, 0, 3, 1)])
>>> cands = [[0], [], [1]]
>>> labels, _ = label_faces(faces, cands, [None, None, None], np.array([1.0, 1.0]), "larger")
>>> labels.tolist()   # the middle gap goes to grid 0 (tie on border length, first wins)
[0, 0, 1]
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.coverage.faces import dissolve, face_adjacency

__all__ = [
    "Faces",
    "dissolve_small_parts",
    "label_faces",
    "place_orphans",
    "restore_vanished",
]


def label_faces(
    faces: NDArray,
    candidates: list[list[int]],
    allowed: list[set[int] | None],
    grid_area: NDArray,
    overlap_rule: str,
) -> tuple[NDArray, dict[int, list[tuple[int, float]]]]:
    """Owner grid of every face (-1 where none could be found).

    ``candidates[f]`` lists the grids whose interior holds face ``f`` (already restricted to the
    face's parent); ``allowed[f]`` the grids that may receive it when it is a gap (None: any).
    """
    n = len(faces)
    labels = np.full(n, -1, dtype=int)
    pending: list[int] = []
    for f, cands in enumerate(candidates):
        if len(cands) == 1:
            labels[f] = cands[0]
        elif len(cands) > 1 and overlap_rule == "larger":
            labels[f] = max(cands, key=lambda g: (grid_area[g], -g))
        else:
            pending.append(f)
    adj = face_adjacency(faces, np.asarray(pending, dtype=int))
    pending = _grow(labels, pending, adj, candidates, allowed, grid_area)
    for f in pending:
        if candidates[f]:
            labels[f] = max(candidates[f], key=lambda g: (grid_area[g], -g))
    return labels, adj


def _grow(labels, pending, adj, candidates, allowed, grid_area) -> list[int]:
    """Give pending faces, round by round, to the owner they share the longest border with;
    returns the faces no owned face reaches."""
    while pending:
        still: list[int] = []
        for f in pending:
            pool = set(candidates[f]) if candidates[f] else allowed[f]
            score: dict[int, float] = defaultdict(float)
            for g, length in adj.get(f, []):
                owner = labels[g]
                if owner >= 0 and (pool is None or owner in pool):
                    score[owner] += length
            if score:
                labels[f] = max(score, key=lambda g: (round(score[g], 6), grid_area[g], -g))
            else:
                still.append(f)
        if len(still) == len(pending):
            break
        pending = still
    return pending


def restore_vanished(labels: NDArray, candidates: list[list[int]], n: int) -> None:
    """A grid swallowed whole by an overlap (nested in a bigger one) takes back its own faces."""
    has = np.zeros(n, dtype=bool)
    has[labels[labels >= 0]] = True
    for f, cands in enumerate(candidates):
        for g in cands:
            if not has[g] and len(cands) > 1:
                labels[f] = g


@dataclass
class Faces:
    """The atomic faces of the noded layer and what holds each one."""

    geoms: NDArray  # the faces
    inside: list[list[int]]  # grids whose interior holds each face
    parent: NDArray  # parent index of each face (-1: outside every parent, or no parents)
    candidates: list[list[int]]  # the grids of ``inside`` that may keep it (same parent)
    allowed: list[set[int] | None]  # grids that may receive it as a gap (None: any)
    dropped: NDArray  # outside every parent: clipped off


def place_orphans(
    faces: Faces,
    labels: NDArray,
    work: NDArray,
    parent_codes: NDArray | None,
    parent_field: str,
    log: list,
) -> list[dict]:
    """Gap faces no border reaches: give them to the nearest allowed grid, or to a new grid when
    their parent has no grid at all (``labels`` is updated in place). Returns the new grids'
    rows."""
    rows: list[dict] = []
    new_for_parent: dict[int, int] = {}
    for f in np.flatnonzero((labels < 0) & ~faces.dropped):
        pool = faces.allowed[f]
        pool_idx = np.arange(len(work)) if pool is None else np.asarray(sorted(pool), dtype=int)
        if len(pool_idx):
            d = shapely.distance(work[pool_idx], faces.geoms[f])
            labels[f] = int(pool_idx[int(np.argmin(d))])
            continue
        p = int(faces.parent[f])
        if p not in new_for_parent:
            code = f"{parent_codes[p]}-fill"
            new_for_parent[p] = len(work) + len(rows)
            rows.append({"code": code, "households": 0, parent_field: parent_codes[p]})
            log.append((code, "new_grid", 0.0, f"parent {parent_codes[p]} had no grid"))
        labels[f] = new_for_parent[p]
    return rows


def dissolve_small_parts(
    faces: NDArray,
    labels: NDArray,
    n_grids: int,
    min_part_m2: float,
    allowed: list[set[int] | None],
    codes: NDArray,
    log: list,
) -> NDArray:
    """Move disconnected parts smaller than ``min_part_m2`` (never a grid's largest part) into the
    neighbour they share the longest border with."""
    if min_part_m2 <= 0:
        return labels
    moved = _small_parts(faces, labels, n_grids, min_part_m2)
    if not moved:
        return labels
    adj = face_adjacency(faces, np.unique(np.concatenate([m for _, m, _ in moved])))
    for k, members, area in moved:
        to = _best_neighbour(k, members, labels, adj, allowed)
        if to is not None:
            labels[members] = to
            log.append((codes[k], "dissolve_part", area, f"to {codes[to]}"))
    return labels


def _small_parts(faces, labels, n_grids, min_part_m2) -> list[tuple[int, NDArray, float]]:
    """``(grid, its faces in the part, part area)`` of each part under ``min_part_m2`` that is
    not its grid's largest."""
    geoms = dissolve(faces, labels, n_grids)
    multi = [k for k, g in enumerate(geoms) if g is not None and shapely.get_num_geometries(g) > 1]
    if not multi:
        return []
    rp = shapely.point_on_surface(faces)
    moved = []
    for k in multi:
        parts = shapely.get_parts(geoms[k])
        areas = shapely.area(parts)
        mine = np.flatnonzero(labels == k)
        for part_i in np.argsort(areas)[:-1]:
            if areas[part_i] >= min_part_m2:
                continue
            members = mine[shapely.within(rp[mine], parts[part_i])]
            moved.append((k, members, float(areas[part_i])))
    return moved


def _best_neighbour(k, members, labels, adj, allowed) -> int | None:
    """The allowed grid other than ``k`` sharing the longest border with faces ``members``."""
    member_set = set(members.tolist())
    score: dict[int, float] = {}
    pool = allowed[int(members[0])] if len(members) else None
    for f in members:
        for g, length in adj.get(int(f), []):
            owner = int(labels[g])
            if g in member_set or owner < 0 or owner == k:
                continue
            if pool is not None and owner not in pool:
                continue
            score[owner] = score.get(owner, 0.0) + length
    if not score:
        return None
    return max(score, key=lambda g: (round(score[g], 6), -g))
