"""Geometry helpers shared by the coverage checks, the fixer and the 多网合一 merge.

Why faces: a layer rebuilt from the faces of its noded linework is a valid coverage by construction.
Every boundary (of grids, parents, cut lines) is noded together once with snap rounding, then
``polygonize`` returns atomic faces that share every vertex with their neighbours; a grid is the
coverage union of the faces assigned to it, so neighbours share vertices exactly and no overlap or
gap can survive. Deciding *which* grid gets a face is then a labelling problem on a planar graph,
which is where the fix rules (longest shared border, larger grid, parent clipping) live.

Examples
--------
>>> import shapely
>>> faces = node_faces([shapely.box(0, 0, 2, 1).boundary, shapely.box(1, 0, 3, 1).boundary], 0.001)
>>> sorted(round(f.area, 3) for f in faces)
[1.0, 1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

__all__ = [
    "as_multipolygon",
    "dissolve",
    "node_faces",
    "polygonal",
    "polygonal_all",
    "progress_reporter",
    "shared_lengths",
    "widths",
]


def polygonal(geom: BaseGeometry | None) -> BaseGeometry | None:
    """The polygonal part of ``geom`` (a MultiPolygon, possibly empty), or None for None.

    Intersections and ``make_valid`` return collections mixing lines, points and polygons; only the
    polygons have area, so only they are grids or defects.

    >>> import shapely
    >>> g = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.LineString([(0, 0), (2, 2)])])
    >>> polygonal(g).wkt
    'MULTIPOLYGON (((1 0, 1 1, 0 1, 0 0, 1 0)))'
    """
    if geom is None:
        return None
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
    flat: list = []
    for p in polys:
        flat.extend(shapely.get_parts(p))
    return shapely.MultiPolygon(flat)


def as_multipolygon(geom: BaseGeometry | None) -> BaseGeometry | None:
    """Promote a Polygon to a MultiPolygon so every stored grid has one geometry type."""
    if geom is None or geom.is_empty:
        return shapely.MultiPolygon() if geom is not None else None
    if geom.geom_type == "MultiPolygon":
        return geom
    return polygonal(geom)


def widths(geoms: Sequence | NDArray) -> NDArray:
    """Width of polygons in metres: the short side of the rectangle with the same area and
    perimeter, ``(P - sqrt(P² - 16·A)) / 4``.

    Why this estimate: it is exact for what planners call slivers and strips (a w × L strip, a
    ring of width w round a shrunk grid, a rectangle), costs two vectorized measures, and errs
    low on compact shapes (a disc reads 0.785 of its diameter, an equilateral triangle 0.68 of its
    inscribed diameter), so a hole is never called wider than it is. The maximum inscribed circle
    (GEOS's notion of gap width) was measured at ~1 ms per piece, which alone took the check of a
    10,000-grid layer to ten times bare GEOS.

    >>> import shapely
    >>> [round(float(w), 2) for w in widths([shapely.box(0, 0, 100, 3), shapely.box(0, 0, 10, 10)])]
    [3.0, 10.0]
    """
    arr = np.asarray(list(geoms) if not isinstance(geoms, np.ndarray) else geoms, dtype=object)
    if len(arr) == 0:
        return np.zeros(0)
    area = np.nan_to_num(shapely.area(arr))
    perim = np.nan_to_num(shapely.length(arr))
    disc = np.sqrt(np.maximum(perim * perim - 16.0 * area, 0.0))
    return (perim - disc) / 4.0


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


def progress_reporter(
    progress: bool | Callable[[str, int, int], object] | None, total: int, desc: str
) -> Callable[[str], None]:
    """Turn the ``progress`` argument into a ``step(stage_name)`` function.

    ``True`` draws a tqdm bar on stderr (the CLI's "progress bar on big layers"); a callable is
    called as ``progress(stage, done, total)`` so the API or a notebook can forward it; None/False
    is silent.
    """
    if not progress:
        return lambda stage: None
    if callable(progress):
        state = {"done": 0}

        def call(stage: str) -> None:
            state["done"] += 1
            progress(stage, state["done"], total)

        return call
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="step", leave=False)

    def tick(stage: str) -> None:
        bar.set_postfix_str(stage)
        bar.update(1)
        if bar.n >= total:
            bar.close()

    return tick


def polygonal_all(geoms: NDArray) -> NDArray:
    """:func:`polygonal` of each geometry of an array, as MultiPolygons; vectorized for the
    common case (an overlay that returned a Polygon or MultiPolygon), per geometry otherwise."""
    arr = np.asarray(geoms, dtype=object)
    out = np.empty(len(arr), dtype=object)
    types = shapely.get_type_id(arr)
    single = types == 3
    if single.any():
        out[single] = shapely.multipolygons(arr[single].reshape(-1, 1))
    multi = types == 6
    out[multi] = arr[multi]
    for k in np.flatnonzero(~single & ~multi):
        out[k] = polygonal(arr[k])
    return out
