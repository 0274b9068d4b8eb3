"""Whether a raw layer's values and geometries can be grids, each refusal naming the feature.

Codes must be present (and unique for an import), geometries Polygons or MultiPolygons (returned
as 2-D MultiPolygons), household counts whole numbers ≥ 0. The coordinates' CRS is the caller's
or the file's; lon/lat must be in range and not latitude first (:func:`check_axis_order`), and
projected coordinates must land where their CRS is used (:func:`check_lonlat`). Invalid polygons
are kept, refused or repaired as the caller's policy says (:func:`apply_validity`).
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo_grid.crs import normalize_crs
from geo_grid.errors import BadInput
from geo_grid.io.fields import code_text, whole_number
from geo_grid.io.messages import crs_label, one_line, where
from geo_grid.io.source import Source

__all__ = [
    "CHINA_EXTENT",
    "INVALID_POLICIES",
    "apply_validity",
    "check_axis_order",
    "check_lonlat",
    "grid_codes",
    "grid_polygons",
    "household_counts",
    "source_crs",
]

_POLYGON, _MULTIPOLYGON = 3, 6  # shapely geometry type ids


#: lon/lat box around China (with a margin): a grid layer of this project lies inside it.
CHINA_EXTENT: tuple[float, float, float, float] = (73.0, 17.5, 135.5, 54.0)


#: What :func:`read_layer` does with invalid polygons: keep them, refuse, or repair them.
INVALID_POLICIES: tuple[str, ...] = ("keep", "refuse", "make_valid")


def source_crs(frame: gpd.GeoDataFrame, crs: str | int | None, label: str) -> str | CRS:
    """What the coordinates are in: the caller's key (which wins) or the file's CRS."""
    if crs is not None:
        try:
            return normalize_crs(crs)
        except BadInput as exc:
            raise BadInput(f"{label}: {exc.message}", field="crs") from exc
    if frame.crs is None:
        raise BadInput(
            f"{label}: no coordinate system in the file (missing .prj?); pass crs= "
            "(e.g. 'gcj02' for AMap/Tencent data, 'bd09' for Baidu, 4490 for CGCS2000)",
            field="crs",
        )
    return frame.crs


def grid_codes(values: pd.Series, field: str, source: Source, *, unique: bool = True) -> list[str]:
    """Every feature's code as text (see :func:`~geo_grid.io.fields.code_text`); a missing code,
    or with ``unique`` a repeated one, is refused naming the features."""
    codes = [code_text(value) for value in values]
    first: dict[str, int] = {}
    for i, code in enumerate(codes):
        if code is None:
            raise BadInput(
                f"{source.label}: {where(i, None, source)}: field {field!r}: no grid code "
                "(every grid needs one)",
                field=field,
            )
        if code in first and unique:
            raise BadInput(
                f"{source.label}: field {field!r}: duplicate grid code {code!r} at features "
                f"{first[code]} and {i}",
                field=field,
            )
        first[code] = i
    return codes


def grid_polygons(geoms: np.ndarray, codes: list[str], source: Source) -> np.ndarray:
    """2-D MultiPolygons, or BadInput naming the first feature that is not a polygon."""
    for test, what in (
        (shapely.is_missing, "no geometry"),
        (shapely.is_empty, "an empty geometry"),
    ):
        hit = np.flatnonzero(test(geoms))
        if hit.size:
            i = int(hit[0])
            raise BadInput(
                f"{source.label}: {where(i, codes[i], source)}: has {what}",
                field="geometry",
            )
    types = shapely.get_type_id(geoms)
    wrong = np.flatnonzero((types != _POLYGON) & (types != _MULTIPOLYGON))
    if wrong.size:
        i = int(wrong[0])
        raise BadInput(
            f"{source.label}: {where(i, codes[i], source)}: geometry is a "
            f"{geoms[i].geom_type}, grids must be "
            "Polygon or MultiPolygon",
            field="geometry",
        )
    flat = shapely.force_2d(geoms)
    single = np.flatnonzero(types == _POLYGON)
    if single.size:
        flat[single] = shapely.multipolygons(flat[single], indices=np.arange(single.size))
    return flat


def household_counts(values: pd.Series, field: str, codes: list[str], source: Source) -> list:
    """Household counts, whole numbers ≥ 0 or None; anything else is refused naming the feature."""
    out = []
    for i, value in enumerate(values):
        try:
            out.append(whole_number(value))
        except (ValueError, TypeError, OverflowError):
            raise BadInput(
                f"{source.label}: {where(i, codes[i], source)}: field {field!r}: households "
                f"must be a whole number ≥ 0, got {one_line(repr(value))}",
                field=field,
            ) from None
    return out


def check_lonlat(geoms: np.ndarray, src: str | CRS, codes: list[str], source: Source) -> None:
    """Storage coordinates must be lon/lat degrees, and projected input must have come from
    where its CRS is used: otherwise the file's ``crs=`` is wrong and the message asks for it."""
    bounds = shapely.bounds(geoms)
    ok = (
        np.isfinite(bounds).all(axis=1)
        & (bounds[:, 0] >= -180)
        & (bounds[:, 2] <= 180)
        & (bounds[:, 1] >= -90)
        & (bounds[:, 3] <= 90)
    )
    bad = np.flatnonzero(~ok)
    if not bad.size:
        _check_area_of_use(bounds, src, codes, source)
    else:
        i = int(bad[0])
        x, y = bounds[i, 2], bounds[i, 3]
        name = src if isinstance(src, str) else crs_label(src)
        raise BadInput(
            f"{source.label}: {where(i, codes[i], source)}: coordinates up to ({x:.6g}, {y:.6g}) "
            f"are not longitude/latitude degrees when read as {name}; pass the file's real crs= "
            "(e.g. its CGCS2000 Gauss-Krüger zone, EPSG:4534 to EPSG:4554, for metres)",
            field="crs",
        )


def _is_geographic(src: str | CRS) -> bool:
    """Keys (``wgs84``, ``gcj02``, ``bd09``, ``EPSG:4490``…) and geographic CRSs hold lon/lat."""
    if isinstance(src, str):
        return not src.startswith("EPSG:") or CRS.from_user_input(src).is_geographic
    return bool(src.is_geographic)


def _inside(bounds: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    west, south, east, north = box
    return (
        (bounds[:, 0] >= west)
        & (bounds[:, 2] <= east)
        & (bounds[:, 1] >= south)
        & (bounds[:, 3] <= north)
    )


def _swapped(bounds: np.ndarray) -> np.ndarray:
    return bounds[:, [1, 0, 3, 2]]


def check_axis_order(
    geoms: np.ndarray,
    src: str | CRS,
    codes: list[str],
    source: Source,
    within: tuple[float, float, float, float] | None,
) -> None:
    """Refuse lon/lat out of range or latitude-first data, naming the first bad feature.

    Nanjing written latitude first reads as lon 32, lat 118.9: out of range, and swapped it fits.
    Latitude-first data whose swap stays in range (Urumqi: lon 43.8, lat 87.6) is caught because
    the layer lies outside China while its swap lies inside. ``within`` refuses anything else that
    lands outside that box.
    """
    if not _is_geographic(src):
        return
    bounds = shapely.bounds(geoms)
    if not np.isfinite(bounds).all():
        i = int(np.flatnonzero(~np.isfinite(bounds).all(axis=1))[0])
        raise BadInput(
            f"{source.label}: {where(i, codes[i], source)}: coordinates are not finite numbers",
            field="geometry",
        )
    world = (-180.0, -90.0, 180.0, 90.0)
    out = np.flatnonzero(~_inside(bounds, world))
    layer = np.array([[*bounds[:, :2].min(axis=0), *bounds[:, 2:].max(axis=0)]])
    swap_fits = bool(_inside(_swapped(bounds), world).all()) and bool(
        _inside(_swapped(layer), CHINA_EXTENT)[0]
    )
    if out.size:
        if swap_fits:
            i = int(out[0])
            raise BadInput(
                f"{source.label}: {where(i, codes[i], source)}: coordinates "
                f"({bounds[i, 0]:.6g}, {bounds[i, 1]:.6g}) are outside longitude ±180 / latitude "
                "±90, and the layer with x and y exchanged lies in China: looks like lat/lon "
                "swapped (latitude first); swap the columns and import again",
                field="geometry",
            )
        return  # not degrees at all: check_lonlat names the feature and asks for the crs
    if not _inside(layer, CHINA_EXTENT)[0] and swap_fits:
        i = int(np.flatnonzero(~_inside(bounds, CHINA_EXTENT))[0])
        raise BadInput(
            f"{source.label}: {where(i, codes[i], source)}: at ({bounds[i, 0]:.6g}, "
            f"{bounds[i, 1]:.6g}), outside China, but inside it with x and y exchanged: "
            "looks like lat/lon swapped (latitude first); swap the columns and import again",
            field="geometry",
        )
    if within is not None and not _inside(layer, within)[0]:
        i = int(np.flatnonzero(~_inside(bounds, within))[0])
        west, south, east, north = within
        raise BadInput(
            f"{source.label}: {where(i, codes[i], source)}: at ({bounds[i, 0]:.6g}, "
            f"{bounds[i, 1]:.6g}), outside the expected area ({west:g}..{east:g}°E, "
            f"{south:g}..{north:g}°N); wrong crs= or the wrong file?",
            field="geometry",
        )


def apply_validity(geoms: np.ndarray, invalid: str, codes: list[str], source: Source) -> np.ndarray:
    """Apply the ``invalid`` policy: keep, refuse the first invalid polygon, or repair all."""
    if invalid == "keep":
        return geoms
    bad = np.flatnonzero(~shapely.is_valid(geoms))
    if not bad.size:
        return geoms
    if invalid == "refuse":
        i = int(bad[0])
        reason = shapely.is_valid_reason(geoms[i])
        at = re.match(r"^(.*?)\[\s*([-0-9.eE+]+)\s+([-0-9.eE+]+)\s*\]$", reason)
        what = (
            f"{at.group(1)} at ({float(at.group(2)):.7f}, {float(at.group(3)):.7f})"
            if at
            else reason
        )
        more = f" ({bad.size} invalid features in all)" if bad.size > 1 else ""
        raise BadInput(
            f"{source.label}: {where(i, codes[i], source)}: invalid polygon: {what}{more}; "
            "fix it in your GIS or import with make_valid",
            field="geometry",
        )
    fixed = geoms.copy()
    for i in bad:
        repaired = shapely.make_valid(geoms[i], method="structure", keep_collapsed=False)
        parts = shapely.get_parts(repaired)
        polygons = [
            part for part in parts if shapely.get_type_id(part) in (_POLYGON, _MULTIPOLYGON)
        ]
        merged = shapely.union_all(polygons) if polygons else None
        if merged is None or merged.is_empty:
            raise BadInput(
                f"{source.label}: {where(int(i), codes[i], source)}: invalid polygon with no "
                "area left after make_valid",
                field="geometry",
            )
        fixed[i] = merged if merged.geom_type == "MultiPolygon" else shapely.multipolygons([merged])
    return fixed


def _check_area_of_use(bounds: np.ndarray, src: str | CRS, codes: list, source: Source) -> None:
    """Projected coordinates must land where their CRS is defined (with a 1° margin).

    Degrees read as metres (a Gauss-Krüger ``crs=`` on a lon/lat file) still give plausible lon/lat
    numbers, only hundreds of kilometres off; the CRS's area of use catches that. (A wrong
    Gauss-Krüger zone lands inside the wrong zone's area, so that mistake stays invisible here.)
    """
    crs = CRS.from_user_input(src) if isinstance(src, str) and src.startswith("EPSG:") else src
    if not isinstance(crs, CRS) or not crs.is_projected or crs.area_of_use is None:
        return
    west, south, east, north = crs.area_of_use.bounds
    outside = (
        (bounds[:, 0] < west - 1)
        | (bounds[:, 2] > east + 1)
        | (bounds[:, 1] < south - 1)
        | (bounds[:, 3] > north + 1)
    )
    hit = np.flatnonzero(outside)
    if hit.size:
        i = int(hit[0])
        raise BadInput(
            f"{source.label}: {where(i, codes[i], source)}: read as {crs_label(crs)} it lands at "
            f"({bounds[i, 0]:.4f}, {bounds[i, 1]:.4f}), outside where that CRS is used "
            f"({west:g}..{east:g}°E, {south:g}..{north:g}°N); pass the file's real crs=",
            field="crs",
        )
