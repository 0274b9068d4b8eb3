"""Make map layers light: simplify coverages with their topology kept, then pack them compactly.

The coverage page carries 1,063 grids × 5 layers; as plain GeoJSON with full-precision coordinates
it would weigh tens of megabytes. Two steps bring it under 3 MB:

1. :func:`simplify_coverage` runs GEOS ``coverage_simplify`` in metres (the district's local CRS,
   a CGCS2000 Gauss-Krüger zone), which moves every shared edge once, so neighbours still meet
   without slivers or overlaps on screen.
2. :func:`encode_layer` quantizes coordinates to 1e-6 degrees (~0.1 m) and writes each vertex as
   an integer step from the previous one, packed 5 bits a character (:func:`pack_ints`), rings
   stored open, properties as rows under one header.
   ``geo_grid/static/js/geo_grid_map.js`` (``geoGrid.decode``) turns it back into GeoJSON.

Examples
--------
>>> from shapely import box
>>> enc = encode_layer([box(0, 0, 1, 1)], ["code"], [["a"]])
>>> enc["g"]
[['P', ['_c`|@??_c`|@~b`|@??~b`|@']]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo_grid.crs import resolve_local

__all__ = ["SCALE", "Cursor", "encode_geometry", "encode_layer", "pack_ints", "simplify_coverage"]

#: Coordinates are stored as integers of this many units per degree (6 decimals, ~0.1 m).
SCALE = 1_000_000


def simplify_coverage(geoms: gpd.GeoSeries, tolerance_m: float, local_crs: str) -> gpd.GeoSeries:
    """Simplify a polygon coverage by ``tolerance_m`` metres, keeping shared edges shared.

    ``local_crs`` is the district's metric CRS, where ``tolerance_m`` is measured.

    A layer with defects (overlaps, invalid rings) is not a valid coverage; GEOS may then refuse or
    return invalid parts, so those fall back to per-polygon simplification, which is what a drawing
    of a broken layer needs anyway.

    >>> from shapely import box
    >>> s = gpd.GeoSeries([box(114.3, 30.6, 114.31, 30.61)], crs=4490)
    >>> simplify_coverage(s, 4.0, "EPSG:4547").iloc[0].equals_exact(s.iloc[0], 1e-9)
    True
    """
    if tolerance_m <= 0 or len(geoms) == 0:
        return geoms
    local_crs = resolve_local(geoms, local_crs)
    local = geoms.to_crs(local_crs)
    values = np.asarray(local.values, dtype=object)
    present = ~(shapely.is_missing(values) | shapely.is_empty(values))
    out = values.copy()
    try:
        simplified = shapely.coverage_simplify(values[present], tolerance_m)
        if not shapely.is_valid(simplified).all():
            raise ValueError("coverage_simplify returned invalid geometry")
    except Exception:  # GEOS raises GEOSException (or we do) on a broken coverage: fall back
        simplified = shapely.simplify(values[present], tolerance_m, preserve_topology=True)
    out[present] = simplified
    return gpd.GeoSeries(out, index=geoms.index, crs=local_crs).to_crs(geoms.crs)


class Cursor:
    """The running position the delta encoding steps from (shared by a whole layer)."""

    def __init__(self) -> None:
        self.x = 0
        self.y = 0

    def run(self, coords: np.ndarray, ring: bool) -> str:
        q = np.rint(np.asarray(coords)[:, :2] * SCALE).astype(np.int64)
        if len(q) > 1:
            keep = np.ones(len(q), dtype=bool)
            keep[1:] = np.any(q[1:] != q[:-1], axis=1)
            q = q[keep]
        if ring and len(q) > 1 and (q[0] == q[-1]).all():
            q = q[:-1]
        if len(q) == 0:
            return ""
        steps = np.diff(q, axis=0, prepend=[[self.x, self.y]])
        self.x, self.y = int(q[-1, 0]), int(q[-1, 1])
        return pack_ints(steps.ravel())


def pack_ints(values: np.ndarray) -> str:
    """Signed integers as printable ASCII, 5 bits a character (Google's polyline scheme).

    Small steps take 1–2 characters instead of 4–5 as JSON numbers, and need no separators.

    >>> pack_ints(np.array([0, 1, -1, 16, 100000]))
    '?A@_@_ibE'
    """
    return _pack(values)[0]


def _pack(values: np.ndarray) -> tuple[str, np.ndarray]:
    """:func:`pack_ints` and the characters each value took (to cut the text per geometry)."""
    v = np.asarray(values, dtype=np.int64)
    z = np.where(v < 0, ~(v << 1), v << 1)
    shifts = 5 * np.arange(8, dtype=np.int64)
    chunks = (z[:, None] >> shifts[None, :]) & 31
    count = 1 + ((z[:, None] >> shifts[None, 1:]) > 0).sum(axis=1)
    used = np.arange(8)[None, :] < count[:, None]
    more = np.arange(8)[None, :] < (count - 1)[:, None]
    chars = chunks + 63 + 32 * more
    return chars[used].astype(np.uint8).tobytes().decode("ascii"), count


def _points(points: np.ndarray, cur: Cursor) -> list[list]:
    """``["T", steps]`` of each point, as :func:`encode_geometry` writes them one by one, in one pass:
    a map of 20,000 cases took seconds of CPU point by point (schemathesis: over 10 s)."""
    q = np.rint(shapely.get_coordinates(points) * SCALE).astype(np.int64)
    steps = np.diff(q, axis=0, prepend=[[cur.x, cur.y]])
    cur.x, cur.y = int(q[-1, 0]), int(q[-1, 1])
    text, count = _pack(steps.ravel())
    ends = np.cumsum(count.reshape(-1, 2).sum(axis=1)).tolist()
    return [["T", text[start:end]] for start, end in zip([0, *ends[:-1]], ends, strict=True)]


def _polygon(poly: shapely.Polygon, cur: Cursor) -> list[str]:
    rings = [poly.exterior, *poly.interiors]
    return [cur.run(np.asarray(r.coords), ring=True) for r in rings]


def encode_geometry(geom: BaseGeometry, cur: Cursor) -> list:
    """One geometry as the page decodes it (``["P", rings]``, ``["M", …]``, ``["L", …]``,
    ``["T", steps]``), stepping from ``cur``: what :func:`encode_layer` does for each feature."""
    kind = geom.geom_type
    if kind == "Polygon":
        return ["P", _polygon(geom, cur)]
    if kind == "MultiPolygon":
        return ["M", [_polygon(p, cur) for p in geom.geoms]]
    if kind in ("LineString", "LinearRing"):
        return ["L", cur.run(np.asarray(geom.coords), ring=False)]
    if kind == "MultiLineString":
        return ["N", [cur.run(np.asarray(g.coords), ring=False) for g in geom.geoms]]
    if kind == "Point":
        return ["T", cur.run(np.asarray(geom.coords), ring=False)]
    if kind == "MultiPoint":
        return ["U", cur.run(shapely.get_coordinates(geom), ring=False)]
    if kind == "GeometryCollection":
        return ["G", [encode_geometry(g, cur) for g in geom.geoms if not g.is_empty]]
    raise ValueError(f"cannot draw geometry type {kind!r}")


def encode_layer(
    geoms: Sequence[BaseGeometry | None], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> dict[str, Any]:
    """Pack geometries (lon/lat) and their property rows into the compact layer object.

    Missing or empty geometries are dropped with their rows. Values must be JSON-serialisable.
    """
    if len(geoms) != len(rows):
        raise ValueError(f"{len(geoms)} geometries but {len(rows)} property rows")
    given = np.asarray(geoms, dtype=object)
    kept = np.flatnonzero(~(shapely.is_missing(given) | shapely.is_empty(given))).tolist()
    drawn = given[kept]
    cur = Cursor()
    if len(drawn) and (shapely.get_type_id(drawn) == shapely.GeometryType.POINT).all():
        out_g = _points(drawn, cur)
    else:
        out_g = [encode_geometry(geom, cur) for geom in drawn]
    return {"s": SCALE, "f": list(fields), "p": [list(rows[i]) for i in kept], "g": out_g}
