"""Grid layers in and out of files: GeoPackage, GeoJSON, Shapefile (plain or zipped) and WKT CSV.

Planners bring layers from QGIS, ArcGIS and Chinese GIS desktops; this module turns any of them into
one shape the rest of the project can trust, and writes our layers back so QGIS and Excel open them
without questions. It does no database work: the import service stores what :func:`read_layer`
returns, the export service writes what the repository hands out.

What :func:`read_layer` guarantees
-----------------------------------
* CRS EPSG:4490 (CGCS2000 lon/lat). The caller's ``crs`` wins over the file's own: AMap data is
  routinely labelled EPSG:4326 while holding GCJ-02 coordinates.
* Columns ``code`` (str, unique, never blank), ``name`` (str or None), ``households`` (int ≥ 0 or
  None), all of object dtype so missing values are ``None``; then every other attribute under its own
  name (an attribute that already used one of those names is kept as ``code_src`` etc.); then
  ``geometry``, always 2-D MultiPolygon (Polygons are promoted).
* Invalid (self-intersecting) polygons are kept by default: they are data for the coverage
  checker. An import asks ``invalid="refuse"`` (the first one is named with GEOS's reason and its
  location) or ``invalid="make_valid"`` (repaired, keeping only the polygonal parts).
* Z and M are dropped, not refused: the store is 2-D and a 3-D grid's footprint is the grid.
* Curved geometries (CurvePolygon, CompoundCurve rings, MultiSurface in a GeoPackage) are
  linearized by GDAL as they are read (pyogrio hands shapely only linear types); curved WKT in a
  CSV is refused with that reason, since shapely cannot parse it.
* Coordinates outside ±180/±90, or a layer that lands outside China only until its axes are
  swapped, are refused; when swapping x and y would fix it the message says
  "looks like lat/lon swapped". With ``within=`` (the import passes :data:`CHINA_EXTENT`) any layer
  outside that box is refused.
* Hostile files are held to :class:`ReadLimits` (size, feature count, zip bombs, path traversal
  and nested archives in zips) before they are parsed, and to its vertex limits (per feature and
  per file) as soon as they are.
* Anything unusable raises :class:`~geo_grid.errors.BadInput` with a one-line message naming the
  file, and where relevant the feature (0-based index in file order, its code, and for CSV the row
  with the header as row 1) and the field; ``BadInput.field`` is the offending field or argument.

How :func:`write_layer` writes
------------------------------
* ``gpkg``: layer ``layer_name`` (replacing a layer of that name, keeping the file's other layers),
  MultiPolygon, SRS EPSG:4490.
* ``geojson``: lon/lat coordinates at full double precision with a ``crs`` member naming EPSG:4490
  (GeoJSON 2008 style). We chose this over strict RFC 7946 so QGIS labels the layer CGCS2000 like
  the GeoPackage; RFC 7946 readers ignore the member and read the same lon/lat numbers, which equal
  WGS84 to centimetres.
* ``shp``: ``.shp/.shx/.dbf/.prj/.cpg`` with UTF-8 text and a ``UTF-8`` ``.cpg``; a path ending in
  ``.zip`` gets the same set zipped. Field names longer than 10 bytes follow
  :data:`geo_grid._io_fields.SHAPEFILE_NAMES` (``community_code`` → ``comm_code``, …, mapped back on
  read) or are cut to 10 bytes (then not restored). Text over 254 bytes is refused, not truncated.
* ``csv``: the attributes then a ``wkt`` column (full precision), UTF-8 with a BOM so Excel shows
  Chinese, plus a sidecar ``.prj`` (EPSG:4490) that :func:`read_layer` honours; without it a CSV
  has no CRS and needs ``crs=``. CSV cells carry no types: on read, ``code``/``name`` stay text and
  another column becomes numeric only when every filled cell is a number without leading zeros.
* Every format is written to a temporary file first and moved into place, so a failure leaves no
  half-written file behind.

Examples
--------
>>> import tempfile, geopandas as gpd
>>> from shapely.geometry import box
>>> grids = gpd.GeoDataFrame({"code": ["320113001001001"], "name": ["尧化一网格"]},
...                          geometry=[box(118.90, 32.10, 118.91, 32.11)], crs=4490)
>>> with tempfile.TemporaryDirectory() as tmp:
...     back = read_layer(write_layer(grids, f"{tmp}/grids.zip"))
>>> back.loc[0, ["code", "name", "households"]].tolist(), back.geom_type[0], back.crs.to_epsg()
(['320113001001001', '尧化一网格', None], 'MultiPolygon', 4490)
"""

from __future__ import annotations

import io as _stdio
import json
import math
import numbers
import os
import re
import shutil
import tempfile
import uuid
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely
from pyproj import CRS

from geo_grid._io_fields import (
    CODE_FIELDS,
    HOUSEHOLDS_FIELDS,
    NAME_FIELDS,
    code_text,
    name_text,
    resolve_field,
    restore_shapefile_names,
    shapefile_field_names,
    whole_number,
)
from geo_grid._io_source import EXTENSIONS, ReadLimits, Source, open_source
from geo_grid.crs import STORAGE_EPSG, normalize_crs, to_storage
from geo_grid.errors import BadInput

__all__ = [
    "CHINA_EXTENT",
    "INVALID_POLICIES",
    "SUPPORTED_FORMATS",
    "ReadLimits",
    "describe_layer",
    "read_layer",
    "write_layer",
]

SUPPORTED_FORMATS: tuple[str, ...] = ("gpkg", "geojson", "shp", "csv")

#: Column names accepted as the WKT geometry of a CSV, ignoring case.
WKT_COLUMNS: tuple[str, ...] = ("wkt", "geometry", "geom", "the_geom")

_PYOGRIO_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FieldError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.CRSError,
)
_POLYGON, _MULTIPOLYGON = 3, 6  # shapely geometry type ids

#: lon/lat box around China (with a margin): a grid layer of this project lies inside it.
CHINA_EXTENT: tuple[float, float, float, float] = (73.0, 17.5, 135.5, 54.0)

#: What :func:`read_layer` does with invalid polygons: keep them, refuse, or repair them.
INVALID_POLICIES: tuple[str, ...] = ("keep", "refuse", "make_valid")

_CURVED_WKT = re.compile(
    r"^\s*(CURVEPOLYGON|COMPOUNDCURVE|CIRCULARSTRING|MULTISURFACE|MULTICURVE)", re.IGNORECASE
)


# --------------------------------------------------------------------------------------- reading


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _reason(exc: Exception, source: Source) -> str:
    """A reader's error in one line, naming the file as the user knows it (``source.label``):
    GDAL quotes the path it opened, a temporary copy or extraction the user never saw."""
    text = _one_line(exc)
    if source.label != str(source.path):
        text = text.replace(str(source.path), source.label)
    return text


def _where(index: int, code: str | None, source: Source) -> str:
    """How a message names one feature: index in file order, CSV row, code."""
    parts = [f"CSV row {index + 2}"] if source.fmt == "csv" else []
    if code is not None:
        parts.append(f"code {code!r}")
    return f"feature {index}" + (f" ({', '.join(parts)})" if parts else "")


def _choose_layer(source: Source, layer: str | None) -> str | None:
    """The GeoPackage layer to read: the named one, the only spatial one, or ``grids``."""
    if source.fmt != "gpkg":
        return None
    try:
        listed = pyogrio.list_layers(source.path)
    except _PYOGRIO_ERRORS as exc:
        raise BadInput(
            f"{source.label}: cannot read the file: {_reason(exc, source)}", field="path"
        ) from exc
    names = [str(name) for name, _ in listed]
    spatial = [str(name) for name, geom_type in listed if geom_type is not None]
    if layer is not None:
        if layer not in names:
            raise BadInput(
                f"{source.label}: no layer {layer!r}; layers: {', '.join(names) or '(none)'}",
                field="layer",
            )
        return layer
    if len(spatial) == 1:
        return spatial[0]
    if "grids" in spatial:
        return "grids"
    if not spatial:
        raise BadInput(f"{source.label}: the GeoPackage has no layer with geometry", field="path")
    raise BadInput(
        f"{source.label}: the GeoPackage holds {len(spatial)} layers ({', '.join(spatial)}); "
        "name one with layer=",
        field="layer",
    )


def _read_ogr(source: Source, layer: str | None) -> gpd.GeoDataFrame:
    try:
        frame = pyogrio.read_dataframe(source.path, layer=layer, encoding=source.encoding)
    except UnicodeDecodeError as exc:
        raise BadInput(
            f"{source.label}: attribute text is not valid {source.encoding} "
            f"(encoding from {source.encoding_origin}); pass the right encoding=",
            field="encoding",
        ) from exc
    except _PYOGRIO_ERRORS as exc:
        raise BadInput(
            f"{source.label}: cannot read the file: {_reason(exc, source)}", field="path"
        ) from exc
    if source.fmt == "shp":
        frame = frame.rename(columns=restore_shapefile_names(list(frame.columns)))
    return frame


def _csv_separator(text: str) -> str:
    header = text.split("\n", 1)[0]
    if "," not in header:
        for sep in ("\t", ";"):
            if sep in header:
                return sep
    return ","


#: CSV columns named like this stay text even when every cell is digits: they are codes.
_CODE_NAME_HINTS: tuple[str, ...] = ("code", "编码", "代码", "编号", "bm")


def _csv_typed(column: pd.Series) -> pd.Series:
    """Blank cells → None; a column of plain numbers (no leading zeros) → numbers, unless its
    name says it holds codes (``community_code``, ``社区编码``), which stay text."""
    text = column.str.strip()
    filled = text[text != ""]
    name = str(column.name).casefold()
    if not filled.empty and not any(hint in name for hint in _CODE_NAME_HINTS):
        if filled.str.fullmatch(r"[+-]?(?:0|[1-9][0-9]*)").all():
            try:
                return pd.to_numeric(text.where(text != "", None)).astype("Int64")
            except (ValueError, OverflowError, TypeError):
                pass
        number = r"[+-]?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
        if filled.str.fullmatch(number).all():
            return pd.to_numeric(text.where(text != "", None)).astype("float64")
    return pd.Series(
        [value if value.strip() else None for value in column], index=column.index, dtype=object
    )


def _read_csv(source: Source) -> gpd.GeoDataFrame:
    label = source.label
    try:
        text = source.path.read_bytes().decode(source.encoding)
    except UnicodeDecodeError as exc:
        raise BadInput(
            f"{label}: text is not valid {source.encoding} (encoding from "
            f"{source.encoding_origin}); pass the right encoding=",
            field="encoding",
        ) from exc
    try:
        table = pd.read_csv(
            _stdio.StringIO(text), sep=_csv_separator(text), dtype=str, keep_default_na=False
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise BadInput(
            f"{label}: cannot read the CSV: {_reason(exc, source)}", field="path"
        ) from exc
    by_fold = {str(c).casefold(): c for c in reversed(table.columns)}
    wkt = next((by_fold[name] for name in WKT_COLUMNS if name in by_fold), None)
    if wkt is None:
        raise BadInput(
            f"{label}: no WKT geometry column (expected one of wkt, WKT, geometry, geom); "
            f"columns: {', '.join(map(str, table.columns)) or '(none)'}",
            field="wkt",
        )
    cells = table[wkt].to_numpy(dtype=object)
    blank = np.array([not cell.strip() for cell in cells], dtype=bool)
    curved = np.array([bool(_CURVED_WKT.match(cell)) for cell in cells], dtype=bool)
    # GEOS raises (not ignores) on curve types, so those cells are kept from it and named below
    geoms = shapely.from_wkt(np.where(blank | curved, None, cells), on_invalid="ignore")
    unparsed = np.flatnonzero(~blank & shapely.is_missing(geoms))
    if unparsed.size:
        i = int(unparsed[0])
        curved = _CURVED_WKT.match(cells[i])
        if curved:
            raise BadInput(
                f"{label}: {_where(i, None, source)}: field {wkt!r}: curved geometry "
                f"({curved.group(1).upper()}) is not supported in CSV WKT; linearize it first "
                "(QGIS: Segmentize) or send a GeoPackage",
                field=str(wkt),
            )
        raise BadInput(
            f"{label}: {_where(i, None, source)}: field {wkt!r}: not valid WKT: "
            f"{_one_line(cells[i])[:60]!r}",
            field=str(wkt),
        )
    attributes = table.drop(columns=[wkt]).apply(_csv_typed)
    file_crs = None
    if source.prj is not None:
        try:
            file_crs = CRS.from_user_input(source.prj.read_text(errors="replace"))
        except Exception as exc:  # pyproj's CRSError is a plain Exception subclass
            raise BadInput(
                f"{label}: unreadable .prj next to the CSV ({exc})", field="crs"
            ) from exc
    return gpd.GeoDataFrame(attributes, geometry=gpd.GeoSeries(geoms), crs=file_crs)


def _check_count(count: int, source: Source, limits: ReadLimits) -> None:
    if count > limits.max_features:
        raise BadInput(
            f"{source.label}: the layer has {count} features, more than the "
            f"{limits.max_features} allowed in one import; split it",
            field="path",
        )


def _check_vertices(geoms: np.ndarray, source: Source, limits: ReadLimits) -> None:
    """Refuse a feature or a file with more vertices than ``limits`` allow, before any geometry
    work: validity checks, reprojection and storing all grow with the vertices, and one
    million-vertex polygon kept every later read of its layer busy for seconds."""
    counts = shapely.get_num_coordinates(geoms)
    over = np.flatnonzero(counts > limits.max_feature_vertices)
    if over.size:
        i = int(over[0])
        raise BadInput(
            f"{source.label}: {_where(i, None, source)}: {int(counts[i])} vertices, more than the "
            f"{limits.max_feature_vertices} allowed per feature; simplify it (QGIS: Simplify)",
            field="geometry",
        )
    total = int(counts.sum())
    if total > limits.max_vertices:
        raise BadInput(
            f"{source.label}: the layer has {total} vertices, more than the "
            f"{limits.max_vertices} allowed in one file; simplify or split it",
            field="path",
        )


def _read_frame(source: Source, layer: str | None, limits: ReadLimits) -> gpd.GeoDataFrame:
    if source.fmt == "csv":
        frame = _read_csv(source)
    else:
        chosen = _choose_layer(source, layer)
        try:  # counted before the features are parsed: a huge layer is refused unread
            info = pyogrio.read_info(
                source.path, layer=chosen, encoding=source.encoding, force_feature_count=True
            )
        except UnicodeDecodeError:  # field names in another encoding: _read_ogr explains it
            info = {"features": -1}
        except _PYOGRIO_ERRORS as exc:
            raise BadInput(
                f"{source.label}: cannot read the file: {_reason(exc, source)}", field="path"
            ) from exc
        _check_count(int(info["features"]), source, limits)
        frame = _read_ogr(source, chosen)
    _check_count(len(frame), source, limits)
    _check_vertices(np.asarray(frame.geometry.values, dtype=object), source, limits)
    return frame


def _crs_label(crs: CRS | None) -> str | None:
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def _source_crs(frame: gpd.GeoDataFrame, crs: str | int | None, label: str) -> str | CRS:
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


def _codes(values: pd.Series, field: str, source: Source, *, unique: bool = True) -> list[str]:
    codes = [code_text(value) for value in values]
    first: dict[str, int] = {}
    for i, code in enumerate(codes):
        if code is None:
            raise BadInput(
                f"{source.label}: {_where(i, None, source)}: field {field!r}: no grid code "
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


def _polygons(geoms: np.ndarray, codes: list[str], source: Source) -> np.ndarray:
    """2-D MultiPolygons, or BadInput naming the first feature that is not a polygon."""
    for test, what in (
        (shapely.is_missing, "no geometry"),
        (shapely.is_empty, "an empty geometry"),
    ):
        hit = np.flatnonzero(test(geoms))
        if hit.size:
            i = int(hit[0])
            raise BadInput(
                f"{source.label}: {_where(i, codes[i], source)}: has {what}",
                field="geometry",
            )
    types = shapely.get_type_id(geoms)
    wrong = np.flatnonzero((types != _POLYGON) & (types != _MULTIPOLYGON))
    if wrong.size:
        i = int(wrong[0])
        raise BadInput(
            f"{source.label}: {_where(i, codes[i], source)}: geometry is a "
            f"{geoms[i].geom_type}, grids must be "
            "Polygon or MultiPolygon",
            field="geometry",
        )
    flat = shapely.force_2d(geoms)
    single = np.flatnonzero(types == _POLYGON)
    if single.size:
        flat[single] = shapely.multipolygons(flat[single], indices=np.arange(single.size))
    return flat


def _households(values: pd.Series, field: str, codes: list[str], source: Source) -> list:
    out = []
    for i, value in enumerate(values):
        try:
            out.append(whole_number(value))
        except (ValueError, TypeError, OverflowError):
            raise BadInput(
                f"{source.label}: {_where(i, codes[i], source)}: field {field!r}: households "
                f"must be a whole number ≥ 0, got {_one_line(repr(value))}",
                field=field,
            ) from None
    return out


def _to_storage(geoms: np.ndarray, src: str | CRS) -> np.ndarray:
    if isinstance(src, str):
        return np.asarray(to_storage(geoms, src), dtype=object)
    if src.to_epsg() in (STORAGE_EPSG, 4326):  # treated as equal, as geo_grid.crs does
        return geoms
    return np.asarray(gpd.GeoSeries(geoms, crs=src).to_crs(STORAGE_EPSG).values, dtype=object)


def _check_lonlat(geoms: np.ndarray, src: str | CRS, codes: list[str], source: Source) -> None:
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
        name = src if isinstance(src, str) else _crs_label(src)
        raise BadInput(
            f"{source.label}: {_where(i, codes[i], source)}: coordinates up to ({x:.6g}, {y:.6g}) "
            f"are not longitude/latitude degrees when read as {name}; pass the file's real crs= "
            "(e.g. 'EPSG:4549' for Nanjing metres)",
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


def _check_axis_order(
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
            f"{source.label}: {_where(i, codes[i], source)}: coordinates are not finite numbers",
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
                f"{source.label}: {_where(i, codes[i], source)}: coordinates "
                f"({bounds[i, 0]:.6g}, {bounds[i, 1]:.6g}) are outside longitude ±180 / latitude "
                "±90, and the layer with x and y exchanged lies in China: looks like lat/lon "
                "swapped (latitude first); swap the columns and import again",
                field="geometry",
            )
        return  # not degrees at all: _check_lonlat names the feature and asks for the crs
    if not _inside(layer, CHINA_EXTENT)[0] and swap_fits:
        i = int(np.flatnonzero(~_inside(bounds, CHINA_EXTENT))[0])
        raise BadInput(
            f"{source.label}: {_where(i, codes[i], source)}: at ({bounds[i, 0]:.6g}, "
            f"{bounds[i, 1]:.6g}), outside China, but inside it with x and y exchanged: "
            "looks like lat/lon swapped (latitude first); swap the columns and import again",
            field="geometry",
        )
    if within is not None and not _inside(layer, within)[0]:
        i = int(np.flatnonzero(~_inside(bounds, within))[0])
        west, south, east, north = within
        raise BadInput(
            f"{source.label}: {_where(i, codes[i], source)}: at ({bounds[i, 0]:.6g}, "
            f"{bounds[i, 1]:.6g}), outside the expected area ({west:g}..{east:g}°E, "
            f"{south:g}..{north:g}°N); wrong crs= or the wrong file?",
            field="geometry",
        )


def _validity(geoms: np.ndarray, invalid: str, codes: list[str], source: Source) -> np.ndarray:
    """Apply the ``invalid`` policy: keep, refuse the first invalid polygon, or repair all."""
    if invalid == "keep":
        return geoms
    bad = np.flatnonzero(~shapely.is_valid(geoms))
    if not bad.size:
        return geoms
    if invalid == "refuse":
        i = int(bad[0])
        reason = shapely.is_valid_reason(geoms[i])
        where = re.match(r"^(.*?)\[\s*([-0-9.eE+]+)\s+([-0-9.eE+]+)\s*\]$", reason)
        what = (
            f"{where.group(1)} at ({float(where.group(2)):.7f}, {float(where.group(3)):.7f})"
            if where
            else reason
        )
        more = f" ({bad.size} invalid features in all)" if bad.size > 1 else ""
        raise BadInput(
            f"{source.label}: {_where(i, codes[i], source)}: invalid polygon: {what}{more}; "
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
                f"{source.label}: {_where(int(i), codes[i], source)}: invalid polygon with no "
                "area left after make_valid",
                field="geometry",
            )
        fixed[i] = merged if merged.geom_type == "MultiPolygon" else shapely.multipolygons([merged])
    return fixed


def _check_area_of_use(bounds: np.ndarray, src: str | CRS, codes: list, source: Source) -> None:
    """Projected coordinates must land where their CRS is defined (with a 1° margin).

    Degrees read as metres (``crs='EPSG:4549'`` on a lon/lat file) still give plausible lon/lat
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
            f"{source.label}: {_where(i, codes[i], source)}: read as {_crs_label(crs)} it lands at "
            f"({bounds[i, 0]:.4f}, {bounds[i, 1]:.4f}), outside where that CRS is used "
            f"({west:g}..{east:g}°E, {south:g}..{north:g}°N); pass the file's real crs=",
            field="crs",
        )


def _assemble(frame: gpd.GeoDataFrame, used: list[str], columns: dict, geoms) -> gpd.GeoDataFrame:
    others = pd.DataFrame(frame.drop(columns=[*used, frame.geometry.name]))
    others = others.rename(columns={c: f"{c}_src" for c in others.columns if c in columns})
    others.index = pd.RangeIndex(len(others))
    data = pd.concat([pd.DataFrame(columns), others], axis=1)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms), crs=f"EPSG:{STORAGE_EPSG}")


def read_layer(
    path: str | Path,
    *,
    crs: str | int | None = None,
    encoding: str | None = None,
    code_field: str | None = None,
    name_field: str | None = None,
    households_field: str | None = None,
    layer: str | None = None,
    unique_codes: bool = True,
    invalid: str = "keep",
    within: tuple[float, float, float, float] | None = None,
    limits: ReadLimits | None = None,
    label: str | None = None,
    tmp_dir: Path | None = None,
) -> gpd.GeoDataFrame:
    """Read a grid layer file into EPSG:4490 MultiPolygons with ``code``/``name``/``households``.

    Parameters
    ----------
    path
        ``.gpkg``, ``.geojson``/``.json``, ``.shp``, ``.zip`` holding exactly one shapefile (at any
        folder depth), or ``.csv`` with a ``wkt``/``geometry``/``geom`` column.
    crs
        The coordinates' real system (anything :func:`geo_grid.crs.normalize_crs` accepts); wins
        over the file's own CRS, and is required when the file has none.
    encoding
        Text encoding of a shapefile ``.dbf`` or a CSV. Default: the shapefile's ``.cpg``; without
        one (or for CSV) UTF-8 if the bytes are valid UTF-8, else GBK (read as GB18030).
        GeoPackage and GeoJSON are UTF-8 by definition and ignore it.
    code_field, name_field, households_field
        Attribute names; by default the first of :data:`~geo_grid._io_fields.CODE_FIELDS`,
        :data:`~geo_grid._io_fields.NAME_FIELDS`, :data:`~geo_grid._io_fields.HOUSEHOLDS_FIELDS`
        present (ignoring case). A code field is required; name and households may be absent.
    layer
        GeoPackage layer; default the only spatial layer, else one called ``grids``.
    unique_codes
        Refuse duplicate codes (the default, for imports). The coverage checker reads with False
        so that a duplicated code is reported as a defect instead of stopping the read.
    invalid
        Invalid polygons: ``keep`` (default, for the coverage checker), ``refuse`` (named with
        GEOS's reason and location) or ``make_valid`` (repaired, polygonal parts kept).
    within
        lon/lat box (west, south, east, north) the layer must lie in, e.g. :data:`CHINA_EXTENT`.
    limits
        :class:`ReadLimits` for size, features, vertices and zips; default ``ReadLimits()``.
    label
        How messages name the file (default: ``path``); an upload passes the client's file name.
    tmp_dir
        Where an unpacked zip or a repaired ``.dbf`` is kept while reading (default: the
        system's temporary folder; the server passes its own, :mod:`geo_grid.scratch`).

    Raises
    ------
    BadInput
        For every problem in the file or the arguments (see the module docstring).
    """
    if invalid not in INVALID_POLICIES:
        raise BadInput(
            f"invalid: must be one of {', '.join(INVALID_POLICIES)}, not {invalid!r}",
            field="invalid",
        )
    limits = ReadLimits() if limits is None else limits
    with open_source(
        path, encoding=encoding, limits=limits, label=label, tmp_dir=tmp_dir
    ) as source:
        frame = _read_frame(source, layer, limits)
    label = source.label
    if frame.empty:
        raise BadInput(f"{label}: the layer has no features", field="path")
    fields = [str(c) for c in frame.columns if c != frame.geometry.name]
    code_col = resolve_field(
        fields, code_field, CODE_FIELDS, param="code_field", label=label, required=True
    )
    name_col = resolve_field(
        fields, name_field, NAME_FIELDS, param="name_field", label=label, required=False
    )
    hh_col = resolve_field(
        fields,
        households_field,
        HOUSEHOLDS_FIELDS,
        param="households_field",
        label=label,
        required=False,
    )
    src = _source_crs(frame, crs, label)

    codes = _codes(frame[code_col], code_col, source, unique=unique_codes)
    geoms = _polygons(np.asarray(frame.geometry.values, dtype=object), codes, source)
    names = [name_text(v) for v in frame[name_col]] if name_col else [None] * len(codes)
    households = (
        _households(frame[hh_col], hh_col, codes, source) if hh_col else [None] * len(codes)
    )
    _check_axis_order(geoms, src, codes, source, within)
    geoms = _to_storage(geoms, src)
    _check_lonlat(geoms, src, codes, source)
    geoms = _validity(geoms, invalid, codes, source)

    columns = {
        "code": pd.Series(codes, dtype=object),
        "name": pd.Series(names, dtype=object),
        "households": pd.Series(households, dtype=object),
    }
    used = list(dict.fromkeys(c for c in (code_col, name_col, hh_col) if c))
    return _assemble(frame, used, columns, geoms)


def describe_layer(
    path: str | Path, *, encoding: str | None = None, layer: str | None = None
) -> dict:
    """What a layer file holds, for error messages and previews; checks nothing about grids.

    Returns a dict with ``path``, ``format``, ``layer`` (GeoPackage), ``feature_count``,
    ``fields`` (names in file order), ``field_types`` (name → pandas dtype), ``crs``
    (``EPSG:n``, a CRS name, or None), ``geometry_types`` (type name → count, ``None`` for
    features without geometry), ``bounds`` (in the file's CRS, or None), ``encoding`` and
    ``encoding_origin`` (shapefile/CSV text: ``argument``, ``.cpg`` or ``detected``).
    Unreadable files raise :class:`BadInput` as in :func:`read_layer`.
    """
    with open_source(path, encoding=encoding, limits=ReadLimits(max_features=2**62)) as source:
        chosen = _choose_layer(source, layer)
        frame = _read_csv(source) if source.fmt == "csv" else _read_ogr(source, chosen)
    geoms = frame.geometry
    kinds = geoms.geom_type.astype(object).where(geoms.notna(), "None")
    present = geoms[~(geoms.isna() | geoms.is_empty)]
    return {
        "path": source.label,
        "format": source.fmt,
        "layer": chosen,
        "feature_count": len(frame),
        "fields": [str(c) for c in frame.columns if c != geoms.name],
        "field_types": {str(c): str(frame[c].dtype) for c in frame.columns if c != geoms.name},
        "crs": _crs_label(frame.crs),
        "geometry_types": {str(k): int(v) for k, v in kinds.value_counts(sort=False).items()},
        "bounds": [float(b) for b in present.total_bounds] if len(present) else None,
        "encoding": source.encoding,
        "encoding_origin": source.encoding_origin,
    }


# --------------------------------------------------------------------------------------- writing


def _write_format(target: Path, fmt: str | None, label: str) -> str:
    if fmt is not None:
        kind = fmt.strip().lower().lstrip(".")
        kind = {"json": "geojson", "zip": "shp", "shapefile": "shp"}.get(kind, kind)
        if kind not in SUPPORTED_FORMATS:
            raise BadInput(
                f"{label}: unknown format {fmt!r} (use {', '.join(SUPPORTED_FORMATS)})",
                field="fmt",
            )
    else:
        kind = EXTENSIONS.get(target.suffix.lower())
        if kind is None:
            raise BadInput(
                f"{label}: cannot tell the format from {target.suffix or '(no extension)'!r}; "
                f"pass fmt= ({', '.join(SUPPORTED_FORMATS)})",
                field="fmt",
            )
    if kind == "shp" and target.suffix.lower() not in (".shp", ".zip"):
        raise BadInput(f"{label}: a shapefile path must end in .shp or .zip", field="path")
    return kind


def _is_null(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _writable(column: pd.Series) -> pd.Series:
    """An object column as one type GDAL can store: Int64, float, or text (JSON for dicts/lists)."""
    if column.dtype != object:
        return column
    values = [v for v in column if not _is_null(v)]
    if values and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        return column.astype("Int64")
    if values and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
        return column.astype("float64")

    def text(v: object) -> str | None:
        if _is_null(v):
            return None
        if isinstance(v, dict | list | tuple):
            return json.dumps(v, ensure_ascii=False, default=str)
        return v if isinstance(v, str) else str(v)

    return pd.Series([text(v) for v in column], index=column.index, dtype=object)


def _has_geometry(gdf: gpd.GeoDataFrame) -> bool:
    try:
        gdf.geometry  # noqa: B018 - raises AttributeError when no active geometry column is set
    except AttributeError:
        return False
    return True


def _prepared(gdf: gpd.GeoDataFrame, label: str) -> gpd.GeoDataFrame:
    """Validate and convert to what every writer stores: EPSG:4490 MultiPolygons, plain columns."""
    if not isinstance(gdf, gpd.GeoDataFrame) or not _has_geometry(gdf):
        raise BadInput(f"{label}: need a GeoDataFrame with a geometry column", field="gdf")
    if gdf.empty:
        raise BadInput(f"{label}: nothing to write: the layer has no features", field="gdf")
    if gdf.crs is None:
        raise BadInput(f"{label}: the layer to write has no CRS; set it first", field="gdf")
    frame = gdf.reset_index(drop=True)
    if frame.crs.to_epsg() == 4326:
        frame = frame.set_crs(STORAGE_EPSG, allow_override=True)
    elif frame.crs.to_epsg() != STORAGE_EPSG:
        frame = frame.to_crs(STORAGE_EPSG)
    codes = (
        [code_text(v) for v in frame["code"]] if "code" in frame.columns else [None] * len(frame)
    )
    source = Source(label, "write", Path(label))
    geoms = _polygons(np.asarray(frame.geometry.values, dtype=object), codes, source)
    attributes = frame.drop(columns=[frame.geometry.name]).apply(_writable)
    if "code" in attributes.columns:
        attributes["code"] = pd.Series(codes, dtype=object)
    return gpd.GeoDataFrame(attributes, geometry=gpd.GeoSeries(geoms), crs=f"EPSG:{STORAGE_EPSG}")


def _scratch(target: Path) -> Path:
    """A hidden sibling with the same extension (GDAL picks options by it)."""
    return target.with_name(f".{target.stem}.{uuid.uuid4().hex[:8]}.tmp{target.suffix}")


def _replace(write, target: Path) -> Path:
    """Run ``write(scratch_path)`` and move the result onto ``target``; clean up on failure."""
    scratch = _scratch(target)
    try:
        write(scratch)
        os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)
    return target


def _pyogrio_write(frame: gpd.GeoDataFrame, path: Path, label: str, **kwargs) -> None:
    try:
        pyogrio.write_dataframe(frame, path, geometry_type="MultiPolygon", **kwargs)
    except _PYOGRIO_ERRORS as exc:
        raise BadInput(f"{label}: cannot write the file: {_one_line(exc)}", field="path") from exc


def _write_gpkg(frame: gpd.GeoDataFrame, target: Path, layer_name: str, label: str) -> Path:
    def write(scratch: Path) -> None:
        if target.exists():
            shutil.copyfile(target, scratch)
        _pyogrio_write(frame, scratch, label, driver="GPKG", layer=layer_name)

    return _replace(write, target)


def _write_geojson(frame: gpd.GeoDataFrame, target: Path, layer_name: str, label: str) -> Path:
    return _replace(
        lambda scratch: _pyogrio_write(frame, scratch, label, driver="GeoJSON", layer=layer_name),
        target,
    )


def _shapefile_ready(frame: gpd.GeoDataFrame, label: str) -> gpd.GeoDataFrame:
    """Rename to ≤ 10-byte fields and refuse text a dBASE field would truncate."""
    attributes = [c for c in frame.columns if c != frame.geometry.name]
    codes = frame["code"].tolist() if "code" in frame.columns else [None] * len(frame)
    for column in attributes:
        if frame[column].dtype != object and not pd.api.types.is_string_dtype(frame[column]):
            continue
        for i, value in enumerate(frame[column]):
            if isinstance(value, str) and len(value.encode("utf-8")) > 254:
                where = f"feature {i}" + (f" (code {codes[i]!r})" if codes[i] else "")
                raise BadInput(
                    f"{label}: {where}: field {column!r}: text longer than 254 bytes does not "
                    "fit a shapefile; write gpkg instead",
                    field=str(column),
                )
    return frame.rename(columns=shapefile_field_names([str(c) for c in attributes]))


_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".shp.xml")


def _write_shapefile_set(frame: gpd.GeoDataFrame, folder: Path, stem: str, label: str) -> list:
    _pyogrio_write(frame, folder / f"{stem}.shp", label, driver="ESRI Shapefile", encoding="UTF-8")
    return sorted(p for p in folder.iterdir() if p.name.startswith(f"{stem}."))


def _write_shp(frame: gpd.GeoDataFrame, target: Path, layer_name: str, label: str) -> Path:
    frame = _shapefile_ready(frame, label)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".geo_grid_io_") as tmp:
        if target.suffix.lower() == ".zip":
            stem = target.name[: -len(".zip")]
            stem = stem[: -len(".shp")] if stem.lower().endswith(".shp") else stem
            parts = _write_shapefile_set(frame, Path(tmp), stem, label)

            def write(scratch: Path) -> None:
                with zipfile.ZipFile(scratch, "w", zipfile.ZIP_DEFLATED) as archive:
                    for part in parts:
                        archive.write(part, arcname=part.name)

            return _replace(write, target)
        stem = target.stem
        parts = _write_shapefile_set(frame, Path(tmp), stem, label)
        for ext in _SHAPEFILE_PARTS:
            for old in (target.with_name(stem + ext), target.with_name(stem + ext.upper())):
                old.unlink(missing_ok=True)
        for part in parts:
            shutil.move(part, target.with_name(part.name))
    return target


def _write_csv(frame: gpd.GeoDataFrame, target: Path, layer_name: str, label: str) -> Path:
    if "wkt" in {str(c).casefold() for c in frame.columns}:
        raise BadInput(
            f"{label}: the layer already has a 'wkt' column; rename it before writing CSV",
            field="wkt",
        )
    table = pd.DataFrame(frame.drop(columns=[frame.geometry.name]))
    table["wkt"] = shapely.to_wkt(
        np.asarray(frame.geometry.values, dtype=object), rounding_precision=-1
    )

    def write(scratch: Path) -> None:
        table.to_csv(scratch, index=False, encoding="utf-8-sig")

    _replace(write, target)
    prj = target.with_suffix(".prj")
    _replace(lambda s: s.write_text(CRS.from_epsg(STORAGE_EPSG).to_wkt("WKT1_ESRI")), prj)
    return target


_WRITERS = {"gpkg": _write_gpkg, "geojson": _write_geojson, "shp": _write_shp, "csv": _write_csv}


def write_layer(
    gdf: gpd.GeoDataFrame,
    path: str | Path,
    *,
    fmt: str | None = None,
    layer_name: str = "grids",
) -> Path:
    """Write a grid layer as ``gpkg``, ``geojson``, ``shp`` (``.shp`` set or ``.zip``) or ``csv``.

    The format comes from ``fmt`` or the extension (``.gpkg``, ``.geojson``/``.json``, ``.shp``,
    ``.zip``, ``.csv``). ``layer_name`` names the GeoPackage layer and the GeoJSON ``name``; a
    shapefile's layer is its file name. Geometries are converted to EPSG:4490 MultiPolygons;
    null, empty or non-polygon geometries, an empty layer or a missing CRS raise
    :class:`BadInput`. Existing files are replaced (a GeoPackage keeps its other layers).
    Returns the path written (the ``.shp`` or ``.zip`` for shapefiles).
    """
    target = Path(path)
    label = str(path)
    kind = _write_format(target, fmt, label)
    if not isinstance(layer_name, str) or not layer_name.strip():
        raise BadInput(f"{label}: layer_name must be a non-empty name", field="layer_name")
    frame = _prepared(gdf, label)
    target.parent.mkdir(parents=True, exist_ok=True)
    return _WRITERS[kind](frame, target, layer_name, label)
