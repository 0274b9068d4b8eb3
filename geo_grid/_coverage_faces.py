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


def widths(geoms: Sequence | NDArray, tolerance: float = 0.005, floor: float = 0.0) -> NDArray:
    """Width of polygons as the diameter of their maximum inscribed circle (metres in, metres out).

    The diameter is the width a planner means by "a 5 m sliver": a strip of width w gives w whatever
    its length, and a gap is narrower than w exactly when a disc of diameter w does not fit, which is
    the definition GEOS uses for coverage gap widths; ``2·area/perimeter`` agrees on strips but
    halves compact shapes. ``tolerance`` bounds the error (an under-estimate by at most it).
    Pieces a disc of diameter ``floor`` does not fit in (a negative buffer empties them) get the
    cheap strip estimate ``2·area/perimeter`` instead: the inscribed-circle search is slow on
    kilometre-long, micrometre-wide reprojection noise.

    >>> import shapely
    >>> [round(float(w), 2) for w in widths([shapely.box(0, 0, 100, 3), shapely.box(0, 0, 10, 10)])]
    [3.0, 10.0]
    """
    arr = np.asarray(list(geoms) if not isinstance(geoms, np.ndarray) else geoms, dtype=object)
    out = np.zeros(len(arr), dtype="float64")
    ok = np.array([g is not None and not g.is_empty for g in arr], dtype=bool)
    if floor > 0 and ok.any():
        idx = np.flatnonzero(ok)
        thin = shapely.is_empty(shapely.buffer(arr[idx], -floor / 2.0, quad_segs=2))
        t = idx[thin]
        perim = shapely.length(arr[t])
        out[t] = np.divide(2.0 * shapely.area(arr[t]), perim, out=np.zeros(len(t)), where=perim > 0)
        ok[t] = False
    if ok.any():
        lines = shapely.maximum_inscribed_circle(arr[ok], tolerance)
        out[ok] = 2.0 * shapely.length(lines)
    return out


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
