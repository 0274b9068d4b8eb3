"""Face labelling for :func:`geo_grid.coverage.fix_coverage`.

The fixer nodes every grid and parent boundary into atomic faces (``_coverage_faces.node_faces``)
and then decides one owner per face:

* a face inside exactly one grid (of the face's parent) keeps that grid;
* a face inside several grids is an overlap: it goes to the candidate with which it shares the
  longest border (rule ``longest_border``: a spike pushed into a neighbour goes back, a strip goes
  to the side it mostly touches) or to the largest candidate (rule ``larger``);
* a face inside no grid of its parent is a gap (or a part clipped off a grid that crossed into
  this parent): it goes to the grid of the same parent with the longest shared border;
* a face outside every parent (when parents are given) is dropped: that is clipping to the parent.

Borders are counted against faces that already have an owner, in rounds, so a wide gap fills
from its rim inwards.

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

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid._coverage_faces import shared_lengths

__all__ = ["face_adjacency", "label_faces"]


def face_adjacency(faces: NDArray, which: NDArray) -> dict[int, list[tuple[int, float]]]:
    """Neighbours of the faces ``which`` with the length of each shared border (> 0 only)."""
    adj: dict[int, list[tuple[int, float]]] = defaultdict(list)
    if len(which) == 0:
        return adj
    tree = shapely.STRtree(faces)
    qi, qj = tree.query(faces[which], predicate="intersects")
    a = which[qi]
    keep = a != qj
    a, b = a[keep], qj[keep]
    lengths = shared_lengths(faces, a, b)
    for f, g, length in zip(a, b, lengths, strict=True):
        if length > 0:
            adj[int(f)].append((int(g), float(length)))
    return adj


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
    for f in pending:
        if candidates[f]:
            labels[f] = max(candidates[f], key=lambda g: (grid_area[g], -g))
    return labels, adj
