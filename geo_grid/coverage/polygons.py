"""Polygonal parts and their widths: what every step keeps of an overlay's result and how wide
it is.

Intersections and ``make_valid`` return collections mixing lines, points and polygons; only the
polygons have area, so only they are grids or defects.

>>> import shapely
>>> g = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.LineString([(0, 0), (2, 2)])])
>>> polygonal(g).wkt
'MULTIPOLYGON (((1 0, 1 1, 0 1, 0 0, 1 0)))'
>>> [round(float(w), 2) for w in widths([shapely.box(0, 0, 100, 3), shapely.box(0, 0, 10, 10)])]
[3.0, 10.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

__all__ = ["as_multipolygon", "pieces", "polygonal", "polygonal_all", "widths"]


def polygonal(geom: BaseGeometry | None) -> BaseGeometry | None:
    """The polygonal part of ``geom`` (a MultiPolygon, possibly empty), or None for None."""
    if geom is None:
        return None
    parts = shapely.get_parts(geom)
    polys = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty]
    flat: list = []
    for p in polys:
        flat.extend(shapely.get_parts(p))
    return shapely.MultiPolygon(flat)


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


def as_multipolygon(geom: BaseGeometry | None) -> BaseGeometry | None:
    """Promote a Polygon to a MultiPolygon so every stored grid has one geometry type."""
    if geom is None or geom.is_empty:
        return shapely.MultiPolygon() if geom is not None else None
    if geom.geom_type == "MultiPolygon":
        return geom
    return polygonal(geom)


def pieces(geom) -> NDArray:
    """Polygons of a (multi)polygonal result, as an array."""
    if geom is None or geom.is_empty:
        return np.empty(0, dtype=object)
    return shapely.get_parts(polygonal(geom))


def widths(geoms: Sequence | NDArray) -> NDArray:
    """Width of polygons in metres: the short side of the rectangle with the same area and
    perimeter, ``(P - sqrt(P² - 16·A)) / 4``.

    Why this estimate: it is exact for what planners call slivers and strips (a w × L strip, a
    ring of width w round a shrunk grid, a rectangle), costs two vectorized measures, and errs
    low on compact shapes (a disc reads 0.785 of its diameter, an equilateral triangle 0.68 of its
    inscribed diameter), so a hole is never called wider than it is. The maximum inscribed circle
    (GEOS's notion of gap width) was measured at ~1 ms per piece, which alone took the check of a
    10,000-grid layer to ten times bare GEOS.
    """
    arr = np.asarray(list(geoms) if not isinstance(geoms, np.ndarray) else geoms, dtype=object)
    if len(arr) == 0:
        return np.zeros(0)
    area = np.nan_to_num(shapely.area(arr))
    perim = np.nan_to_num(shapely.length(arr))
    disc = np.sqrt(np.maximum(perim * perim - 16.0 * area, 0.0))
    return (perim - disc) / 4.0
