"""Grid layers written so QGIS, ArcGIS and Excel open them without questions.

:func:`write_layer` converts the layer to EPSG:4490 MultiPolygons with plain columns, then one
writer per format stores it (see :mod:`geo_grid.io` for what each format holds). Every file is
written to a hidden sibling first and moved into place, so a failure leaves no half-written file
and an existing file stays as it was.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import shutil
import tempfile
import uuid
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from geo_grid.crs import STORAGE_EPSG
from geo_grid.errors import BadInput
from geo_grid.io.fields import code_text, shapefile_field_names
from geo_grid.io.messages import PYOGRIO_ERRORS, one_line
from geo_grid.io.source import EXTENSIONS, SUPPORTED_FORMATS, Source
from geo_grid.io.validate import grid_polygons

__all__ = ["write_layer"]


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
    geoms = grid_polygons(np.asarray(frame.geometry.values, dtype=object), codes, source)
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
    except PYOGRIO_ERRORS as exc:
        raise BadInput(f"{label}: cannot write the file: {one_line(exc)}", field="path") from exc


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
