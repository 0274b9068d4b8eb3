"""The faces kernel shared by the fixer and the 多网合一 merge: node linework into atomic faces,
find which faces border which, and dissolve labelled faces back into grids.

Why faces: a layer rebuilt from the faces of its noded linework is a valid coverage by construction.
Every boundary (of grids, parents, cut lines) is noded together once with snap rounding, then
``polygonize`` returns atomic faces that share every vertex with their neighbours; a grid is the
coverage union of the faces assigned to it, so neighbours share vertices exactly and no overlap or
gap can survive. Deciding *which* grid gets a face is then a labelling problem on a planar graph:
the fixer's rules are in :mod:`geo_grid.coverage.owners`, the merge's in :mod:`geo_grid.merge`.

Examples
--------
>>> import numpy as np, shapely
>>> faces = node_faces([shapely.box(0, 0, 2, 1).boundary, shapely.box(1, 0, 3, 1).boundary], 0.001)
>>> sorted(round(f.area, 3) for f in faces)
[1.0, 1.0, 1.0]
>>> faces = faces[np.argsort(shapely.get_x(shapely.centroid(faces)))]
>>> dict(face_adjacency(faces, np.array([1])))
{1: [(0, 1.0), (2, 1.0)]}
>>> [g.bounds for g in dissolve(faces, np.array([0, 0, 1]), 2)]
[(0.0, 0.0, 2.0, 1.0), (2.0, 0.0, 3.0, 1.0)]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from geo_grid.coverage.polygons import as_multipolygon

__all__ = ["dissolve", "face_adjacency", "node_faces", "shared_lengths"]


def node_faces(lines: Iterable[BaseGeometry], grid_size: float) -> NDArray:
    """Atomic faces of the arrangement of ``lines`` after snap-rounding them to ``grid_size``.

    ``union_all`` with a grid size nodes all lines with a snap-rounding noder, so vertices closer
    than ``grid_size`` merge and no T-junction or last-bit crossing survives.
    """
    geoms = [g for g in lines if g is not None and not g.is_empty]
    if not geoms:
        return np.empty(0, dtype=object)
    noded = shapely.union_all(np.asarray(geoms, dtype=object), grid_size=grid_size)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    return faces[shapely.area(faces) > 0]


def shared_lengths(
    faces: NDArray, pairs_a: NDArray, pairs_b: NDArray, boundaries: NDArray | None = None
) -> NDArray:
    """Length of the common boundary of faces ``a[k]`` and ``b[k]`` (faces come from one noding,
    so their shared edges are identical and a line-line intersection measures them exactly)."""
    if len(pairs_a) == 0:
        return np.zeros(0)
    bnd = shapely.boundary(faces) if boundaries is None else boundaries
    return shapely.length(shapely.intersection(bnd[pairs_a], bnd[pairs_b]))


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


def dissolve(faces: NDArray, labels: NDArray, n: int) -> NDArray:
    """Union the faces of each label ``0..n-1`` (None where a label has no face).

    Faces from :func:`node_faces` form a valid coverage, so the fast ``coverage_union_all`` is
    exact here; a label whose faces fail it falls back to the overlay union.
    """
    out = np.full(n, None, dtype=object)
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.searchsorted(sorted_labels, np.arange(n), side="left")
    ends = np.searchsorted(sorted_labels, np.arange(n), side="right")
    for k in range(n):
        if starts[k] == ends[k]:
            continue
        group = faces[order[starts[k] : ends[k]]]
        geom = group[0] if len(group) == 1 else shapely.coverage_union_all(group)
        if not geom.is_valid:
            geom = shapely.union_all(group)
        out[k] = as_multipolygon(geom)
    return out
