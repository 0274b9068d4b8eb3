"""Grid layer files read into the one shape the rest of the project trusts (see :mod:`geo_grid.io`).

:func:`read_layer` goes checks → compute → assemble: the arguments, the file within its
:class:`~geo_grid.io.source.ReadLimits`, which fields are the code, name and household count, and
the coordinates' CRS are checked first; then each feature's values and its geometry in storage
coordinates are computed, each step refusing the first bad feature by name
(:mod:`geo_grid.io.validate`); last the columns are assembled in the promised order.
:func:`describe_layer` only reports what a file holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from geo_grid.crs import STORAGE_EPSG, to_storage
from geo_grid.errors import BadInput
from geo_grid.io.fields import (
    CODE_FIELDS,
    HOUSEHOLDS_FIELDS,
    NAME_FIELDS,
    name_text,
    resolve_field,
)
from geo_grid.io.frames import choose_layer, read_csv, read_frame, read_ogr
from geo_grid.io.messages import crs_label
from geo_grid.io.source import ReadLimits, Source, open_source
from geo_grid.io.validate import (
    INVALID_POLICIES,
    apply_validity,
    check_axis_order,
    check_lonlat,
    grid_codes,
    grid_polygons,
    household_counts,
    source_crs,
)

__all__ = ["describe_layer", "read_layer"]


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
        Attribute names; by default the first of :data:`~geo_grid.io.fields.CODE_FIELDS`,
        :data:`~geo_grid.io.fields.NAME_FIELDS`, :data:`~geo_grid.io.fields.HOUSEHOLDS_FIELDS`
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
        For every problem in the file or the arguments (see :mod:`geo_grid.io`).
    """
    # checks: the arguments, the file within its limits, the fields' roles, the coordinates' CRS
    if invalid not in INVALID_POLICIES:
        raise BadInput(
            f"invalid: must be one of {', '.join(INVALID_POLICIES)}, not {invalid!r}",
            field="invalid",
        )
    limits = ReadLimits() if limits is None else limits
    with open_source(
        path, encoding=encoding, limits=limits, label=label, tmp_dir=tmp_dir
    ) as source:
        frame = read_frame(source, layer, limits)
    label = source.label
    if frame.empty:
        raise BadInput(f"{label}: the layer has no features", field="path")
    roles = _field_roles(frame, label, code_field, name_field, households_field)
    src = source_crs(frame, crs, label)
    # compute: each feature's values, then its geometry in storage coordinates
    codes, geoms, columns = _feature_values(frame, roles, source, unique=unique_codes)
    geoms = _storage_geometries(geoms, src, codes, source, within=within, invalid=invalid)
    # assemble: code, name, households, the file's other attributes, geometry
    return _assemble(frame, roles.used, columns, geoms)


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
        chosen = choose_layer(source, layer)
        frame = read_csv(source) if source.fmt == "csv" else read_ogr(source, chosen)
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
        "crs": crs_label(frame.crs),
        "geometry_types": {str(k): int(v) for k, v in kinds.value_counts(sort=False).items()},
        "bounds": [float(b) for b in present.total_bounds] if len(present) else None,
        "encoding": source.encoding,
        "encoding_origin": source.encoding_origin,
    }


class _Roles(NamedTuple):
    """The file's columns holding the grid code, name and households (the last two optional)."""

    code: str
    name: str | None
    households: str | None

    @property
    def used(self) -> list[str]:
        """The role columns, once each: they are not repeated among the other attributes."""
        return list(dict.fromkeys(c for c in self if c))


def _field_roles(
    frame: gpd.GeoDataFrame,
    label: str,
    code_field: str | None,
    name_field: str | None,
    households_field: str | None,
) -> _Roles:
    """Which column is the code (required), the name and the household count: the caller's
    names, else the usual ones of :mod:`geo_grid.io.fields`."""
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
    return _Roles(code_col, name_col, hh_col)


def _feature_values(
    frame: gpd.GeoDataFrame, roles: _Roles, source: Source, *, unique: bool
) -> tuple[list[str], np.ndarray, dict[str, pd.Series]]:
    """Codes, 2-D MultiPolygons (file coordinates) and the ``code``/``name``/``households``
    columns. Checked in this order, so a file with several faults is named by the first."""
    codes = grid_codes(frame[roles.code], roles.code, source, unique=unique)
    geoms = grid_polygons(np.asarray(frame.geometry.values, dtype=object), codes, source)
    names = [name_text(v) for v in frame[roles.name]] if roles.name else [None] * len(codes)
    households = (
        household_counts(frame[roles.households], roles.households, codes, source)
        if roles.households
        else [None] * len(codes)
    )
    columns = {
        "code": pd.Series(codes, dtype=object),
        "name": pd.Series(names, dtype=object),
        "households": pd.Series(households, dtype=object),
    }
    return codes, geoms, columns


def _storage_geometries(
    geoms: np.ndarray,
    src: str | CRS,
    codes: list[str],
    source: Source,
    *,
    within: tuple[float, float, float, float] | None,
    invalid: str,
) -> np.ndarray:
    """EPSG:4490 geometries: the axis order checked in the file's coordinates, the lon/lat range
    after the transform, then the ``invalid`` policy applied."""
    check_axis_order(geoms, src, codes, source, within)
    geoms = _to_storage(geoms, src)
    check_lonlat(geoms, src, codes, source)
    return apply_validity(geoms, invalid, codes, source)


def _to_storage(geoms: np.ndarray, src: str | CRS) -> np.ndarray:
    if isinstance(src, str):
        return np.asarray(to_storage(geoms, src), dtype=object)
    if src.to_epsg() in (STORAGE_EPSG, 4326):  # treated as equal, as geo_grid.crs does
        return geoms
    return np.asarray(gpd.GeoSeries(geoms, crs=src).to_crs(STORAGE_EPSG).values, dtype=object)


def _assemble(frame: gpd.GeoDataFrame, used: list[str], columns: dict, geoms) -> gpd.GeoDataFrame:
    others = pd.DataFrame(frame.drop(columns=[*used, frame.geometry.name]))
    others = others.rename(columns={c: f"{c}_src" for c in others.columns if c in columns})
    others.index = pd.RangeIndex(len(others))
    data = pd.concat([pd.DataFrame(columns), others], axis=1)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms), crs=f"EPSG:{STORAGE_EPSG}")
