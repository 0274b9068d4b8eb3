"""Polygonal parts and their widths: what every step keeps of an overlay's result and how wide
it is, and a difference checked for GEOS's silent failures.

Intersections and ``make_valid`` return collections mixing lines, points and polygons; only the
polygons have area, so only they are grids or defects.

>>> import shapely
>>> g = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.LineString([(0, 0), (2, 2)])])
>>> polygonal(g).wkt
'MULTIPOLYGON (((1 0, 1 1, 0 1, 0 0, 1 0)))'
>>> [round(float(w), 2) for w in widths([shapely.box(0, 0, 100, 3), shapely.box(0, 0, 10, 10)])]
[3.0, 10.0]
>>> resolution([shapely.box(114.3, 30.6, 114.31, 30.61)]), resolution([shapely.box(0, 0, 4e6, 1)])
(1e-10, 1e-06)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from geo_grid.coverage.edges import components

__all__ = [
    "as_multipolygon",
    "checked_difference",
    "meeting_groups",
    "meeting_unions",
    "meeting_others",
    "pieces",
    "polygonal",
    "polygonal_all",
    "resolution",
    "union_of",
    "widths",
]


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


def union_of(geoms: NDArray):
    """The union of valid polygons: a lone one as it is (``union_all`` of one polygon re-nodes
    it to give back the same area), several by ``union_all``."""
    return geoms[0] if len(geoms) == 1 else shapely.union_all(geoms)


def pieces(geom) -> NDArray:
    """Polygons of a (multi)polygonal result, as an array."""
    if geom is None or geom.is_empty:
        return np.empty(0, dtype=object)
    return shapely.get_parts(polygonal(geom))


def meeting_others(
    tree: shapely.STRtree, geoms: NDArray, shapes: NDArray, owners: NDArray
) -> tuple[NDArray, NDArray]:
    """``(k, grid)`` pairs where ``shapes[k]`` (drawn from grid ``owners[k]``) intersects a grid
    other than its own: the tree by envelope, each shape's own grid left out (it always meets
    its envelope), then ``intersects`` with the grids prepared. The tree's predicate query
    tested each shape against its own grid too: edges 18.5 -> 16.7 ms and points 7.7 -> 6.9 ms
    CPU on 10,000 grids with 10 % perturbed, the same pairs.

    Why the grids are prepared, not the shapes: a grid is met by several shapes, and the grids
    stay prepared for every later predicate of the check with a grid first (``touches`` of the
    overlap candidates, ``contains_properly`` of nested grids): preparing the layer costs ~1 ms,
    and the edges' ``intersects`` went 14.6 -> 10.1 ms; the whole check 1,422 -> 1,369 M
    instructions (callgrind, with the other changes of that commit), defects byte-identical.

    >>> grids = np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
    >>> k, g = meeting_others(shapely.STRtree(grids), grids,
    ...                       np.array([shapely.Point(1, 0.5), shapely.Point(0.5, 0.5)]),
    ...                       np.array([0, 0]))
    >>> k.tolist(), g.tolist()
    ([0], [1])
    """
    k, grid = tree.query(shapes)
    other = owners[k] != grid
    k, grid = k[other], grid[other]
    shapely.prepare(geoms)
    hit = shapely.intersects(geoms[grid], shapes[k])
    return k[hit], grid[hit]


def meeting_groups(geoms: NDArray, runs: NDArray | None = None) -> NDArray:
    """Component label of each geometry (its group's first member), two joined where they
    intersect (touching counts), only within one value of ``runs`` when given: envelope pairs
    from one STRtree query, each pair once, then the prepared geometries' ``intersects`` (the
    tree's predicate query prepares each geometry anew). The gap pieces to merge and the grids
    of a hole to union together are grouped so.

    >>> boxes = np.array([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(5, 5, 6, 6)])
    >>> meeting_groups(boxes).tolist(), meeting_groups(boxes, np.array([0, 1, 1])).tolist()
    ([0, 0, 2], [0, 1, 2])
    """
    a, b = shapely.STRtree(geoms).query(geoms)
    keep = a < b if runs is None else (a < b) & (runs[a] == runs[b])
    a, b = a[keep], b[keep]
    shapely.prepare(geoms)
    hit = shapely.intersects(geoms[a], geoms[b])
    return components(len(geoms), a[hit], b[hit])


def meeting_unions(geoms: NDArray, runs: NDArray | None = None) -> tuple[NDArray, NDArray, NDArray]:
    """The groups of :func:`meeting_groups` unioned: each group's first member (in order), its
    size and its union (a lone member as it is). The members of a group are taken from one
    stable sort of the labels, not a pass over all geometries per group.

    >>> boxes = np.array([shapely.box(0, 0, 1, 1), shapely.box(5, 5, 6, 6), shapely.box(1, 0, 2, 1)])
    >>> heads, size, unions = meeting_unions(boxes)
    >>> heads.tolist(), size.tolist(), [u.area for u in unions]
    ([0, 1], [2, 1], [2.0, 1.0])
    """
    label = meeting_groups(geoms, runs)
    order = np.argsort(label, kind="stable")  # each group's members in their order
    heads = np.flatnonzero(label == np.arange(len(label)))
    start = np.searchsorted(label[order], heads)
    size = np.diff(np.r_[start, len(label)])
    unions = geoms[heads].copy()
    for k in np.flatnonzero(size > 1):
        unions[k] = shapely.union_all(geoms[order[start[k] : start[k] + size[k]]])
    return heads, size, unions


def widths(geoms: Sequence | NDArray) -> NDArray:
    """Width of polygons in their own units (metres where a check measures): the short side of
    the rectangle with the same area and perimeter, ``(P - sqrt(P² - 16·A)) / 4``.

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


def resolution(geoms: Sequence | NDArray) -> float:
    """The finest length worth telling apart in ``geoms``' coordinates: 1e-12 of their largest
    coordinate, as a power of ten (1e-10 degrees, ~11 µm, for EPSG:4490 in China; 1e-6 m in a
    Gauss-Krüger zone). That is thousands of float steps (~1e-14 degrees there), so rounding
    to it is exact arithmetic's business, and far below any width a check reports (5 cm)."""
    bounds = shapely.total_bounds(np.asarray(geoms, dtype=object))
    largest = float(np.nanmax(np.abs(bounds))) if np.isfinite(bounds).any() else 1.0
    return float(10.0 ** (np.floor(np.log10(max(largest, 1.0))) - 12))


def checked_difference(geoms: NDArray, covers: NDArray) -> NDArray:
    """``shapely.difference(geoms, covers)`` element-wise, each result checked and, where GEOS got
    it wrong, redone with snap rounding at :func:`resolution`.

    Why: GEOS's floating-point overlay can label a face on the wrong side when the two inputs'
    lines nearly coincide, and then returns a wrong result without raising, so its own fallback
    to snapping never runs (locationtech/jts#798, #1000; shapely/shapely#1871). On Nanjing's
    politics_law layer a sliver hole of the grids' union (0.0006 m² along 180 m, 1e-10 degrees
    wide) whose sides run through a community's boundary vertex made ``community - grids`` the
    whole community (1.36 km², covered by the grids). A wrong face is a piece of the result lying inside the
    cover, so each piece wider than :func:`resolution` is tested at one inner point
    (``point_on_surface``) with GEOS's robust point-in-polygon predicate; pieces thinner than that
    are float noise of a correct result and are not tested. Snap rounding nodes every line on one
    grid, the robust overlay GEOS itself falls back to after a failure it sees; it is kept for
    the few results found wrong, as it moves every vertex of the result onto its grid.
    """
    geoms = np.asarray(geoms, dtype=object)
    covers = np.asarray(covers, dtype=object)
    out = shapely.difference(geoms, covers)
    for k in _inside_out(out, covers):
        out[k] = shapely.difference(
            geoms[k], covers[k], grid_size=resolution([geoms[k], covers[k]])
        )
    return out


def _inside_out(results: NDArray, covers: NDArray) -> NDArray:
    """Indices of the results with a piece wider than :func:`resolution` whose inner point lies
    in the interior of its cover (a correct difference has none)."""
    parts, owner = shapely.get_parts(results, return_index=True)
    polygon = shapely.get_type_id(parts) == 3
    parts, owner = parts[polygon], owner[polygon]
    if len(parts) == 0:
        return owner
    wide = widths(parts) > resolution(parts)
    parts, owner = parts[wide], owner[wide]
    if len(parts) == 0:
        return owner
    shapely.prepare(covers)
    inside = shapely.contains_properly(covers[owner], shapely.point_on_surface(parts))
    return np.unique(owner[inside])
