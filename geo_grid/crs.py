"""Coordinate systems at the edge: GCJ-02 and BD-09 both ways, CGCS2000/WGS84 inside.

AMap, Tencent and WeChat report GCJ-02 ("Mars" coordinates), Baidu reports BD-09; both are offset from
WGS84 by hundreds of metres in Nanjing. The store keeps CGCS2000 (EPSG:4490), which equals WGS84 to
within centimetres here, so converting GCJ-02/BD-09 to WGS84 is converting to storage coordinates.

This is the only implementation of these transforms in the project: the geocoder, the locate engine,
the importer and the maps all call it.

The GCJ-02 forward formula is the published obfuscation algorithm; its inverse has no closed form, so
:func:`gcj02_to_wgs84` inverts it by fixed-point iteration to well under a millimetre.

Examples
--------
>>> lon, lat = wgs84_to_gcj02(121.5272106, 31.1774276)
>>> round(float(lon), 6), round(float(lat), 6)
(121.531542, 31.175304)
>>> back = gcj02_to_wgs84(lon, lat)
>>> round(float(back[0]), 7), round(float(back[1]), 7)
(121.5272106, 31.1774276)
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer

from geo_grid.errors import BadInput

__all__ = [
    "AUTO",
    "CRS_ALIASES",
    "STORAGE_EPSG",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "from_local",
    "gauss_kruger_zone",
    "resolve_local",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "local_crs_for",
    "normalize_crs",
    "to_local",
    "to_storage",
    "points_to_storage",
    "transform_geometry",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

STORAGE_EPSG = 4490
_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0

#: Names users type for the coordinate systems we accept, mapped to one canonical key.
CRS_ALIASES: dict[str, str] = {
    "wgs84": "wgs84",
    "4326": "wgs84",
    "epsg:4326": "wgs84",
    "cgcs2000": "cgcs2000",
    "4490": "cgcs2000",
    "epsg:4490": "cgcs2000",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "amap": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "baidu": "bd09",
}


def normalize_crs(crs: str | int | None) -> str:
    """Return ``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09`` or ``EPSG:n`` for a user-supplied name.

    >>> normalize_crs("GCJ-02"), normalize_crs(4490), normalize_crs("EPSG:3857")
    ('gcj02', 'cgcs2000', 'EPSG:3857')
    """
    if crs is None:
        raise BadInput("crs: no coordinate system given", field="crs")
    text = str(crs).strip().lower()
    if text in CRS_ALIASES:
        return CRS_ALIASES[text]
    code = text.removeprefix("epsg:")
    if code.isdigit():
        try:
            CRS.from_epsg(int(code))
        except Exception as exc:  # pyproj raises CRSError, a plain Exception subclass
            raise BadInput(f"crs: unknown EPSG code {crs!r}", field="crs") from exc
        return f"EPSG:{int(code)}"
    raise BadInput(
        f"crs: unknown coordinate system {crs!r} (use wgs84, cgcs2000, gcj02, bd09 or EPSG:n)",
        field="crs",
    )


def _out_of_china(lon: NDArray, lat: NDArray) -> NDArray:
    """GCJ-02 applies only inside China's bounding box; outside it is the identity."""
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    """The GCJ-02 offset (degrees) at a WGS84 point."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    dlat += common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    dlon += common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(radlat) * np.pi)
    return dlon, dlat


def _arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    return np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """WGS84 → GCJ-02, vectorized over arrays (identity outside China)."""
    lon, lat = _arrays(lon, lat)
    dlon, dlat = _delta(lon, lat)
    outside = _out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """GCJ-02 → WGS84 by fixed-point iteration of the forward formula (error < 1 mm)."""
    lon, lat = _arrays(lon, lat)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(30):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = glon - lon, glat - lat
        wlon, wlat = wlon - elon, wlat - elat
        if np.all(np.abs(elon) < 1e-10) and np.all(np.abs(elat) < 1e-10):
            break
    return wlon, wlat


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """GCJ-02 → BD-09 (Baidu's published closed form)."""
    lon, lat = _arrays(lon, lat)
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """BD-09 → GCJ-02, refined by iteration so the round trip is exact to < 1 mm."""
    lon, lat = _arrays(lon, lat)
    x, y = lon - 0.0065, lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(10):
        blon, blat = gcj02_to_bd09(glon, glat)
        glon, glat = glon - (blon - lon), glat - (blat - lat)
    return glon, glat


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """WGS84 → BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """BD-09 → WGS84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


@lru_cache(maxsize=32)
def _pyproj_to_storage(source: str) -> Transformer:
    return Transformer.from_crs(source, f"EPSG:{STORAGE_EPSG}", always_xy=True)


def points_to_storage(lon: ArrayLike, lat: ArrayLike, crs: str | int) -> tuple[NDArray, NDArray]:
    """Convert coordinates in any accepted CRS to storage lon/lat (CGCS2000 ≈ WGS84).

    >>> x, y = points_to_storage([114.3], [30.6], "wgs84")
    >>> float(x[0]), float(y[0])
    (114.3, 30.6)
    """
    key = normalize_crs(crs)
    lon, lat = _arrays(lon, lat)
    if key in ("wgs84", "cgcs2000"):
        return lon, lat
    if key == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if key == "bd09":
        return bd09_to_wgs84(lon, lat)
    x, y = _pyproj_to_storage(key).transform(lon, lat)
    return np.asarray(x), np.asarray(y)


def transform_geometry(geom, func: Callable[[NDArray, NDArray], tuple[NDArray, NDArray]]):
    """Apply a (lon, lat) → (lon, lat) array function to every vertex of a geometry or array.

    Shared vertices stay shared (the same input gives the same output), so a valid coverage stays
    valid as long as the transform is smooth at the scale of its edges.
    """

    def apply(coords: NDArray) -> NDArray:
        x, y = func(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, apply)


def to_storage(geom, crs: str | int):
    """Convert a geometry (or array of them) from ``crs`` to storage coordinates (EPSG:4490)."""
    key = normalize_crs(crs)
    if key in ("wgs84", "cgcs2000"):
        return geom
    return transform_geometry(geom, lambda x, y: points_to_storage(x, y, key))


#: CGCS2000 3-degree Gauss-Krüger zones with the central meridian in the code ("CM 75E" ..
#: "CM 135E"): EPSG:4534 + (CM - 75) / 3. They cover China from Kashgar to the Wusuli River.
_GK_FIRST_EPSG, _GK_FIRST_CM, _GK_LAST_CM = 4534, 75, 135


def gauss_kruger_zone(lon: float) -> str:
    """The CGCS2000 3-degree Gauss-Krüger zone (EPSG:4534-4554) whose central meridian is nearest
    ``lon`` (degrees east), as ``"EPSG:45xx"``.

    Why: areas and widths measured in a transverse Mercator zone are true to well under 0.1 %
    within 1.5° of its central meridian and drift as the square of the distance from it (about
    1 % at 8° away), so a national layer measured in one zone is wrong far from it. Longitudes
    outside China's zones are clamped to the first or last zone.

    >>> gauss_kruger_zone(114.3), gauss_kruger_zone(87.6), gauss_kruger_zone(112.6)
    ('EPSG:4547', 'EPSG:4538', 'EPSG:4547')
    >>> gauss_kruger_zone(76.0), gauss_kruger_zone(134.4), gauss_kruger_zone(10.0)
    ('EPSG:4534', 'EPSG:4554', 'EPSG:4534')
    """
    if not np.isfinite(lon):
        raise BadInput(f"lon: not a finite longitude ({lon!r})", field="lon")
    return f"EPSG:{int(_zone_epsg(np.asarray([float(lon)]))[0])}"


#: "EPSG:4534" ... "EPSG:4554", by zone number.
_ZONE_NAMES = np.asarray(
    [f"EPSG:{_GK_FIRST_EPSG + k}" for k in range((_GK_LAST_CM - _GK_FIRST_CM) // 3 + 1)],
    dtype=object,
)


def _zone_epsg(lon: NDArray) -> NDArray:
    """EPSG code of the zone of each longitude (finite ones; rounding half to even, like
    ``round``)."""
    cm = np.clip(3 * np.round(lon / 3), _GK_FIRST_CM, _GK_LAST_CM).astype(int)
    return _GK_FIRST_EPSG + (cm - _GK_FIRST_CM) // 3


# --------------------------------------------------------------------------------------------
# local metres: the one way the project measures areas, widths and distances
# --------------------------------------------------------------------------------------------

#: ``local_crs`` value asking for the Gauss-Krüger zone of the data's own longitude.
AUTO = "auto"


@lru_cache(maxsize=64)
def _crs(value) -> CRS:
    return CRS.from_user_input(value)


@lru_cache(maxsize=64)
def _projected(local_crs: str) -> CRS:
    """The metric CRS named by ``local_crs``, or :class:`BadInput` naming the argument."""
    try:
        crs = _crs(local_crs)
    except Exception as exc:  # pyproj raises CRSError, a plain Exception subclass
        raise BadInput(f"local_crs: unknown CRS {local_crs!r}", field="local_crs") from exc
    if not crs.is_projected:
        raise BadInput(
            f"local_crs: {local_crs!r} is not a projected (metric) CRS; pass one or 'auto'",
            field="local_crs",
        )
    return crs


def _transformer(source: CRS, target: CRS) -> Transformer | None:
    """A cached transformer between two CRSes (None when they are the same), cached by the
    CRSes' own text (``srs``): a pyproj CRS hashes its whole WKT, ~10 us a lookup, and a check
    projects its pieces a dozen times."""
    return _transformer_between(source.srs, target.srs)


@lru_cache(maxsize=64)
def _transformer_between(source: str, target: str) -> Transformer | None:
    src, dst = _crs(source), _crs(target)
    if src.equals(dst):
        return None
    return Transformer.from_crs(src, dst, always_xy=True)


def _source_crs(crs) -> CRS:
    return _crs(STORAGE_EPSG if crs is None else crs) if not isinstance(crs, CRS) else crs


def _centre_lon(geoms: NDArray, source: CRS) -> NDArray:
    """Longitude of the centre of each geometry's bounds (NaN for a missing one)."""
    bounds = shapely.bounds(geoms)
    x, y = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
    ok = np.isfinite(x)
    if not source.is_geographic and ok.any():
        x[ok], _ = _transformer(source, _crs(STORAGE_EPSG)).transform(x[ok], y[ok])
    return x


def local_crs_for(geoms, crs=None, local_crs: str = AUTO, *, each: bool = False) -> Any:
    """The metric CRS to measure ``geoms`` (in ``crs``, default EPSG:4490) in.

    ``local_crs`` itself when it names a projected CRS (a district's own Gauss-Krüger zone, as
    its surveying office fixes it); for ``"auto"`` the CGCS2000 zone
    (:func:`gauss_kruger_zone`) of the centre of all of them, or with ``each`` of each one
    (an array, None for a missing geometry), so a national layer is measured near each piece's
    own central meridian. Anything else is :class:`BadInput` naming ``local_crs``.

    >>> import shapely
    >>> pieces = [shapely.box(114.3, 30.6, 114.301, 30.601), shapely.box(87.6, 43.8, 87.601, 43.801)]
    >>> local_crs_for(pieces, 4490, each=True).tolist(), local_crs_for(pieces[:1])
    (['EPSG:4547', 'EPSG:4538'], 'EPSG:4547')
    """
    arr = np.atleast_1d(np.asarray(geoms, dtype=object))
    if local_crs != AUTO:
        _projected(local_crs)
        return np.full(len(arr), str(local_crs), dtype=object) if each else str(local_crs)
    source = _source_crs(crs)
    if not each:
        bounds = shapely.total_bounds(arr) if len(arr) else np.full(4, np.nan)
        if not np.isfinite(bounds).all():
            return gauss_kruger_zone(120.0)
        return local_crs_for([shapely.box(*bounds)], source, AUTO, each=True)[0]
    lon = _centre_lon(arr, source)
    out = np.full(len(arr), None, dtype=object)
    ok = np.isfinite(lon)
    out[ok] = _ZONE_NAMES[_zone_epsg(lon[ok]) - _GK_FIRST_EPSG]
    return out


def to_local(data, local_crs: str = AUTO, *, crs=None, each: bool = False):
    """``data`` in metres, for areas, widths and distances; the geometry stays as it is stored.

    ``data`` is a GeoDataFrame or GeoSeries (projected with ``to_crs``; a missing CRS is read as
    EPSG:4490), an array or list of geometries or one geometry (in ``crs``, default
    EPSG:4490; returned as an object array, or one geometry). The target is
    :func:`local_crs_for`: ``local_crs``, or for ``"auto"`` the zone of the data's centre, or
    with ``each`` (arrays only) each geometry's own zone. This is the project's one projection
    to metres: the coverage check, the fixer, the merge, the plans and :mod:`geo_grid.measure`
    all call it.

    >>> import shapely
    >>> round(float(shapely.area(to_local(shapely.box(114.3, 30.6, 114.31, 30.61)))))
    1063148
    """
    if hasattr(data, "to_crs"):
        if each:
            raise ValueError("each: a GeoDataFrame or GeoSeries has one CRS")
        frame = data if data.crs is not None else data.set_crs(STORAGE_EPSG)
        target = local_crs_for(np.asarray(frame.geometry.array), frame.crs, local_crs)
        return frame if frame.crs.equals(target) else frame.to_crs(target)
    scalar = isinstance(data, shapely.Geometry)
    arr = np.atleast_1d(np.asarray(data, dtype=object))
    source = _source_crs(crs)
    if each:
        targets = local_crs_for(arr, source, local_crs, each=True)
    else:
        targets = np.full(len(arr), local_crs_for(arr, source, local_crs), dtype=object)
    out = arr.copy()
    for name in {t for t in targets if t is not None}:
        idx = np.flatnonzero(targets == name)
        out[idx] = _project(arr[idx], source, _crs(name))
    return out[0] if scalar else out


def from_local(geoms, names, crs=None) -> NDArray:
    """Geometries in metres back in ``crs`` (default EPSG:4490), each from the metric CRS
    ``names[k]`` it was measured in (:func:`local_crs_for`): for the few pieces a check reshapes
    in metres (:meth:`geo_grid.coverage.layer.Measure.read`).

    >>> import shapely
    >>> box = shapely.box(114.3, 30.6, 114.301, 30.601)
    >>> back = from_local(to_local([box], each=True), ["EPSG:4547"])[0]
    >>> round(back.hausdorff_distance(box), 9)
    0.0
    """
    arr = np.atleast_1d(np.asarray(geoms, dtype=object)).copy()
    names = np.asarray(names, dtype=object)
    target = _source_crs(crs)
    for name in {n for n in names if n is not None}:
        idx = np.flatnonzero(names == name)
        arr[idx] = _project(arr[idx], _crs(name), target)
    return arr


def _project(geoms: NDArray, source: CRS, target: CRS) -> NDArray:
    t = _transformer(source, target)
    if t is None:
        return geoms
    return shapely.transform(geoms, t.transform, interleaved=False)  # x and y, no column copy


def resolve_local(frame, local_crs: str = AUTO) -> str:
    """:func:`local_crs_for` of a GeoDataFrame or GeoSeries (its geometries in its own CRS, a
    missing one read as EPSG:4490): the district's ``local_crs``, or its zone for ``"auto"``.

    >>> import geopandas as gpd, shapely
    >>> resolve_local(gpd.GeoSeries([shapely.box(114.2, 30.5, 114.4, 30.7)], crs=4490))
    'EPSG:4547'
    """
    return local_crs_for(np.asarray(frame.geometry.array), frame.crs, local_crs)
