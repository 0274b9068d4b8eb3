"""A layer file's features as the file holds them: one raw GeoDataFrame per format.

GeoPackage, GeoJSON and shapefiles are read by GDAL through pyogrio (a GeoPackage's layer chosen
by :func:`choose_layer`); a CSV with a WKT column by pandas and shapely, since GDAL would guess its
column types. Nothing here decides what a grid is: :mod:`geo_grid.io.read` does, with the checks of
:mod:`geo_grid.io.validate`. A layer over ``ReadLimits.max_features`` is refused before its
features are parsed, one over its vertex limits as soon as they are.
"""

from __future__ import annotations

import io as _stdio
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from geo_grid.errors import BadInput
from geo_grid.io.fields import restore_shapefile_names
from geo_grid.io.messages import PYOGRIO_ERRORS, one_line, reason, where
from geo_grid.io.source import ReadLimits, Source

__all__ = ["WKT_COLUMNS", "choose_layer", "read_csv", "read_frame", "read_ogr"]

#: Column names accepted as the WKT geometry of a CSV, ignoring case.
WKT_COLUMNS: tuple[str, ...] = ("wkt", "geometry", "geom", "the_geom")


_CURVED_WKT = re.compile(
    r"^\s*(CURVEPOLYGON|COMPOUNDCURVE|CIRCULARSTRING|MULTISURFACE|MULTICURVE)", re.IGNORECASE
)


def choose_layer(source: Source, layer: str | None) -> str | None:
    """The GeoPackage layer to read: the named one, the only spatial one, or ``grids``."""
    if source.fmt != "gpkg":
        return None
    try:
        listed = pyogrio.list_layers(source.path)
    except PYOGRIO_ERRORS as exc:
        raise BadInput(
            f"{source.label}: cannot read the file: {reason(exc, source)}", field="path"
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


def read_ogr(source: Source, layer: str | None) -> gpd.GeoDataFrame:
    """A GeoPackage, GeoJSON or shapefile layer through GDAL, in the settled text encoding;
    a shapefile's shortened field names (``comm_code``) get their full names back."""
    try:
        frame = pyogrio.read_dataframe(source.path, layer=layer, encoding=source.encoding)
    except UnicodeDecodeError as exc:
        raise BadInput(
            f"{source.label}: attribute text is not valid {source.encoding} "
            f"(encoding from {source.encoding_origin}); pass the right encoding=",
            field="encoding",
        ) from exc
    except PYOGRIO_ERRORS as exc:
        raise BadInput(
            f"{source.label}: cannot read the file: {reason(exc, source)}", field="path"
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


def read_csv(source: Source) -> gpd.GeoDataFrame:
    """A CSV with a WKT column: cells typed as :func:`_csv_typed` says, the CRS from a sidecar
    ``.prj`` (None without one); unparsable or curved WKT is refused naming the row."""
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
            f"{label}: cannot read the CSV: {reason(exc, source)}", field="path"
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
                f"{label}: {where(i, None, source)}: field {wkt!r}: curved geometry "
                f"({curved.group(1).upper()}) is not supported in CSV WKT; linearize it first "
                "(QGIS: Segmentize) or send a GeoPackage",
                field=str(wkt),
            )
        raise BadInput(
            f"{label}: {where(i, None, source)}: field {wkt!r}: not valid WKT: "
            f"{one_line(cells[i])[:60]!r}",
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
            f"{source.label}: {where(i, None, source)}: {int(counts[i])} vertices, more than the "
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


def read_frame(source: Source, layer: str | None, limits: ReadLimits) -> gpd.GeoDataFrame:
    """The layer's features as the file holds them, refused if over ``limits.max_features`` or
    its vertex limits."""
    if source.fmt == "csv":
        frame = read_csv(source)
    else:
        chosen = choose_layer(source, layer)
        try:  # counted before the features are parsed: a huge layer is refused unread
            info = pyogrio.read_info(
                source.path, layer=chosen, encoding=source.encoding, force_feature_count=True
            )
        except UnicodeDecodeError:  # field names in another encoding: read_ogr explains it
            info = {"features": -1}
        except PYOGRIO_ERRORS as exc:
            raise BadInput(
                f"{source.label}: cannot read the file: {reason(exc, source)}", field="path"
            ) from exc
        _check_count(int(info["features"]), source, limits)
        frame = read_ogr(source, chosen)
    _check_count(len(frame), source, limits)
    _check_vertices(np.asarray(frame.geometry.values, dtype=object), source, limits)
    return frame
