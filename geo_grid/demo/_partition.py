"""Seeded partitions of polygons into compact cells, built so that every level nests exactly.

Why polygonize instead of clipping: two neighbours clipped separately get intersection vertices
that differ in the last bit, which breaks ``coverage_is_valid``. Here every cut is a line, all lines
are noded together once, and ``polygonize`` returns faces that share every vertex with their
neighbours; a cell is the coverage union of its faces, so cells (and unions of cells) form a valid
coverage by construction.

Cell seeds come from a weighted k-means (Lloyd's algorithm on sample points, so non-convex regions
and density are handled without clipping polygons on every iteration); the weights are a household
density, so dense areas get small cells and rivers or hills get big ones.

Examples
--------
>>> import numpy as np, shapely
>>> square = shapely.box(0, 0, 100, 100)
>>> seeds = np.array([[25.0, 50.0], [75.0, 50.0]])
>>> cells = split_region(square, seeds)
>>> [round(c.area) for c in cells]
[5000, 5000]
>>> bool(shapely.coverage_is_valid(np.array(cells)))
True
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

__all__ = [
    "assign_faces",
    "inside",
    "lattice",
    "nearest",
    "split_region",
    "squared_distances",
    "voronoi_cut_lines",
    "weighted_kmeans",
]

#: How far cut lines overshoot the region they cut, so that a last-bit miss still closes a face.
#: The overshoot is a dangle outside the region, which polygonize drops.
OVERSHOOT_M = 1.0


def inside(region, x: NDArray, y: NDArray) -> NDArray:
    """Which points lie inside ``region``: a bounding-box test first, GEOS only for the rest.

    >>> import shapely
    >>> inside(shapely.box(0, 0, 2, 2), np.array([1.0, 3.0, 1.0]), np.array([1.0, 1.0, 2.0]))
    array([ True, False, False])
    """
    minx, miny, maxx, maxy = region.bounds
    near = np.flatnonzero((x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy))
    out = np.zeros(len(x), dtype=bool)
    if len(near):
        shapely.prepare(region)
        out[near] = shapely.contains_xy(region, x[near], y[near])
    return out


def lattice(region, spacing: float, rng: np.random.Generator) -> NDArray:
    """Jittered square lattice of sample points inside ``region`` (an (n, 2) array).

    >>> import numpy as np, shapely
    >>> pts = lattice(shapely.box(0, 0, 100, 100), 10.0, np.random.default_rng(0))
    >>> pts.shape
    (100, 2)
    """
    minx, miny, maxx, maxy = region.bounds
    xs = np.arange(minx + spacing / 2, maxx, spacing)
    ys = np.arange(miny + spacing / 2, maxy, spacing)
    gx, gy = np.meshgrid(xs, ys)
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    xy = xy + rng.uniform(-0.35, 0.35, xy.shape) * spacing
    shapely.prepare(region)
    return xy[shapely.contains_xy(region, xy[:, 0], xy[:, 1])]


def squared_distances(x: NDArray, y: NDArray, sx: NDArray, sy: NDArray) -> NDArray:
    """Squared distances between points (x, y) and seeds (sx, sy), one row per point.

    dx² + dy² in place: the same bits as summing the squared differences over the last axis,
    without numpy's slow reduction over an axis of two.
    """
    dx = np.subtract.outer(x, sx)
    dx *= dx
    dy = np.subtract.outer(y, sy)
    dy *= dy
    dx += dy
    return dx


def nearest(xy: NDArray, seeds: NDArray, chunk: int = 8192) -> NDArray:
    """Index of the nearest seed for every point (brute force in chunks; k is small here).

    >>> nearest(np.array([[0.0, 0.0], [9.0, 9.0]]), np.array([[1.0, 1.0], [10.0, 10.0]]))
    array([0, 1])
    """
    out = np.empty(len(xy), dtype=np.int64)
    sx, sy = seeds[:, 0], seeds[:, 1]
    for start in range(0, len(xy), chunk):
        block = xy[start : start + chunk]
        d2 = squared_distances(block[:, 0], block[:, 1], sx, sy)
        out[start : start + chunk] = d2.argmin(axis=1)
    return out


def weighted_kmeans(
    xy: NDArray, weights: NDArray, k: int, rng: np.random.Generator, iters: int = 10
) -> NDArray:
    """Seeds for ``k`` cells of roughly equal weight, snapped to distinct sample points.

    Snapping keeps each seed inside its region even when the region is not convex, so every seed
    owns at least the face it sits in.

    >>> rng = np.random.default_rng(1)
    >>> xy = rng.uniform(0, 100, (500, 2))
    >>> weighted_kmeans(xy, np.ones(500), 4, rng).shape
    (4, 2)
    """
    n = len(xy)
    if k >= n:
        return xy[:k].copy()
    p = weights / weights.sum()
    seeds = xy[rng.choice(n, size=k, replace=False, p=p if np.count_nonzero(p) >= k else None)]
    for _ in range(iters):
        lab = nearest(xy, seeds)
        mass = np.bincount(lab, weights=weights, minlength=k)
        sx = np.bincount(lab, weights=weights * xy[:, 0], minlength=k)
        sy = np.bincount(lab, weights=weights * xy[:, 1], minlength=k)
        empty = mass <= 0
        mass[empty] = 1.0
        new = np.column_stack([sx / mass, sy / mass])
        if empty.any():  # an empty cell restarts at a random sample point
            new[empty] = xy[rng.choice(n, size=int(empty.sum()), replace=False)]
        seeds = new
    # snap to distinct sample points, heaviest cells first
    taken = np.zeros(n, dtype=bool)
    out = np.empty_like(seeds)
    x, y = xy[:, 0], xy[:, 1]
    for i in range(k):
        dx, dy = x - seeds[i, 0], y - seeds[i, 1]
        d2 = dx * dx + dy * dy
        d2[taken] = np.inf
        j = int(d2.argmin())
        taken[j] = True
        out[i] = xy[j]
    return out


def voronoi_cut_lines(seeds: NDArray, region) -> list:
    """Voronoi edges between ``seeds`` that fall inside ``region`` (with a small overshoot)."""
    if len(seeds) < 2:
        return []
    minx, miny, maxx, maxy = region.bounds
    pad = max(maxx - minx, maxy - miny) + 1000.0
    extent = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    edges = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=extent, only_edges=True)
    cut = shapely.intersection(edges, shapely.buffer(region, OVERSHOOT_M))
    return [g for g in shapely.get_parts(cut) if g.geom_type == "LineString" and not g.is_empty]


def faces_of(lines: list, region=None) -> tuple[NDArray, NDArray]:
    """Node all lines, polygonize, keep faces inside ``region``; return faces and interior points."""
    noded = shapely.union_all(np.array(lines, dtype=object))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.area(faces) > 0]
    pts = shapely.point_on_surface(faces)
    xy = shapely.get_coordinates(pts)
    if region is not None:
        shapely.prepare(region)
        inside = shapely.contains_xy(region, xy[:, 0], xy[:, 1])
        faces, xy = faces[inside], xy[inside]
    return faces, xy


def assign_faces(faces: NDArray, labels: NDArray, n: int) -> list:
    """Coverage union of the faces of each label ``0..n-1`` (faces of a label share vertices)."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n + 1))
    out = []
    for i in range(n):
        part = faces[order[bounds[i] : bounds[i + 1]]]
        if len(part) == 0:
            out.append(shapely.Polygon())
        elif len(part) == 1:
            out.append(part[0])
        else:
            out.append(shapely.coverage_union_all(part))
    return out


def split_region(region, seeds: NDArray) -> list:
    """Split one polygon into the Voronoi cells of ``seeds`` (a valid coverage of ``region``)."""
    lines = [shapely.boundary(region), *voronoi_cut_lines(seeds, region)]
    faces, xy = faces_of(lines, region)
    return assign_faces(faces, nearest(xy, seeds), len(seeds))
