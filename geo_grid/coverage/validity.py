"""Input checks of a layer and of each grid: a usable frame, non-empty valid polygons, and the
repair that lets an invalid grid still take part in the overlap and gap checks.

>>> import geopandas as gpd, shapely
>>> validate_layer(gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)]), "grids")
Traceback (most recent call last):
geo_grid.errors.BadInput: grids: missing column 'code'
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.coverage.polygons import polygonal
from geo_grid.coverage.report import defect
from geo_grid.crs import STORAGE_EPSG
from geo_grid.errors import BadInput

__all__ = ["clean_geometries", "repair_polygon", "validate_layer"]

_REASON_POINT = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)")


def validate_layer(frame, name: str) -> None:
    """:class:`BadInput` unless ``frame`` is a GeoDataFrame with a CRS and a ``code`` in every
    row (the message names ``name``, the argument being checked)."""
    if not isinstance(frame, gpd.GeoDataFrame):
        raise BadInput(f"{name}: expected a GeoDataFrame, got {type(frame).__name__}", field=name)
    if "code" not in frame.columns:
        raise BadInput(f"{name}: missing column 'code'", field="code")
    if frame.crs is None:
        raise BadInput(f"{name}: no CRS (expected EPSG:{STORAGE_EPSG})", field="crs")
    if frame["code"].isna().any():
        rows = list(np.flatnonzero(frame["code"].isna().to_numpy())[:5])
        raise BadInput(f"{name}: empty 'code' in rows {rows}", field="code")


def _reason_point(reason: str, geom):
    """The location GEOS names in an ``is_valid_reason`` string, else a point on the geometry."""
    match = _REASON_POINT.search(reason or "")
    if match:
        return shapely.Point(float(match.group(1)), float(match.group(2)))
    return shapely.point_on_surface(geom) if geom is not None else None


def clean_geometries(geoms: NDArray, codes: NDArray) -> tuple[NDArray, list[dict]]:
    """Per-feature checks: empty, non-polygonal, invalid. Returns working polygons (None where
    unusable) and the defects; invalid polygons continue as their repaired polygonal part
    (:func:`repair_polygon`) so that one bad ring does not hide the overlaps around it."""
    defects: list[dict] = []
    work = np.empty(len(geoms), dtype=object)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    polygonal_type = np.isin(shapely.get_type_id(geoms), [3, 6]) & ~empty  # Polygon, MultiPolygon
    valid = np.zeros(len(geoms), dtype=bool)
    valid[polygonal_type] = shapely.is_valid(geoms[polygonal_type])
    for i in np.flatnonzero(empty):
        defects.append(defect("empty", [codes[i]], 0.0, np.nan, None))
    for i in np.flatnonzero(~empty & ~polygonal_type):
        defects.append(
            defect("invalid_geometry", [codes[i]], 0.0, np.nan, shapely.point_on_surface(geoms[i]))
        )
    work[valid] = geoms[valid]
    for i in np.flatnonzero(polygonal_type & ~valid):
        where = _reason_point(shapely.is_valid_reason(geoms[i]), geoms[i])
        defects.append(defect("invalid_geometry", [codes[i]], 0.0, np.nan, where))
        repaired = repair_polygon(geoms[i])
        work[i] = repaired if not repaired.is_empty else None
    return work, defects


def _fill_ring(ring) -> shapely.Geometry:
    """The area a ring encloses whatever its winding: union of the faces of its noded line."""
    noded = shapely.union_all([shapely.LineString(ring.coords)])
    return shapely.union_all(shapely.get_parts(shapely.polygonize(shapely.get_parts(noded))))


def repair_polygon(geom) -> shapely.Geometry:
    """Repair an invalid (multi)polygon as its drawer meant it: each exterior ring filled (a
    bow-tie or a figure-8 keeps both loops) minus each interior ring filled.

    ``make_valid`` reads a self-crossing ring even-odd, which turns a small digitizing loop into
    a hole that the gap check would then report as a sliver; filling rings avoids that. Falls back
    to the polygonal part of ``make_valid`` if the fill is empty.

    >>> import shapely
    >>> bow = shapely.Polygon([(0, 0), (10, 0), (10, 10), (4, 10), (6, 6), (6, 9), (4, 6), (0, 10)])
    >>> bool(bow.is_valid), round(repair_polygon(bow).area, 1)
    (False, 89.7)
    """
    parts = []
    for poly in shapely.get_parts(polygonal(geom) if geom.geom_type != "Polygon" else geom):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        area = _fill_ring(poly.exterior)
        holes = [_fill_ring(r) for r in poly.interiors]
        if holes:
            area = shapely.difference(area, shapely.union_all(holes))
        parts.append(area)
    out = polygonal(shapely.union_all(parts)) if parts else shapely.MultiPolygon()
    if out.is_empty or not out.is_valid:
        out = polygonal(shapely.make_valid(geom, method="structure", keep_collapsed=False))
    return out
