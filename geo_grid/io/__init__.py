"""Grid layers in and out of files: GeoPackage, GeoJSON, Shapefile (plain or zipped) and WKT CSV.

Planners bring layers from QGIS, ArcGIS and Chinese GIS desktops; this package turns any of them
into one shape the rest of the project can trust, and writes our layers back so QGIS and Excel open
them without questions. It does no database work: the import service stores what
:func:`read_layer` returns, the export service writes what the repository hands out.

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
  :data:`geo_grid.io.fields.SHAPEFILE_NAMES` (``community_code`` → ``comm_code``, …, mapped back on
  read) or are cut to 10 bytes (then not restored). Text over 254 bytes is refused, not truncated.
* ``csv``: the attributes then a ``wkt`` column (full precision), UTF-8 with a BOM so Excel shows
  Chinese, plus a sidecar ``.prj`` (EPSG:4490) that :func:`read_layer` honours; without it a CSV
  has no CRS and needs ``crs=``. CSV cells carry no types: on read, ``code``/``name`` stay text and
  another column becomes numeric only when every filled cell is a number without leading zeros.
* Every format is written to a temporary file first and moved into place, so a failure leaves no
  half-written file behind.

One module per job: :mod:`.source` (a path checked against :class:`ReadLimits` and turned into a
readable :class:`~geo_grid.io.source.Source`), :mod:`.archive` (a zipped shapefile unpacked
safely), :mod:`.encoding` (a ``.dbf``'s or a CSV's text encoding), :mod:`.frames` (a file's
features as a raw frame, per format), :mod:`.fields` (which attribute is the code, name and
household count, and their values), :mod:`.validate` (the checks on values, geometries and
coordinates), :mod:`.read` (:func:`read_layer`, :func:`describe_layer`), :mod:`.write`
(:func:`write_layer`) and :mod:`.messages` (how errors name the file and the feature). Private
helpers live in the module that owns them: patch a private name there, not on this package.

Examples
--------
>>> import tempfile, geopandas as gpd
>>> from shapely.geometry import box
>>> grids = gpd.GeoDataFrame({"code": ["123456001001001"], "name": ["一网格"]},
...                          geometry=[box(114.30, 30.60, 114.31, 30.61)], crs=4490)
>>> with tempfile.TemporaryDirectory() as tmp:
...     back = read_layer(write_layer(grids, f"{tmp}/grids.zip"))
>>> back.loc[0, ["code", "name", "households"]].tolist(), back.geom_type[0], back.crs.to_epsg()
(['123456001001001', '一网格', None], 'MultiPolygon', 4490)
"""

from __future__ import annotations

from geo_grid.io.fields import CODE_FIELDS, HOUSEHOLDS_FIELDS, NAME_FIELDS, SHAPEFILE_NAMES
from geo_grid.io.frames import WKT_COLUMNS
from geo_grid.io.read import describe_layer, read_layer
from geo_grid.io.source import SUPPORTED_FORMATS, ReadLimits
from geo_grid.io.validate import CHINA_EXTENT, INVALID_POLICIES
from geo_grid.io.write import write_layer

__all__ = [
    "CHINA_EXTENT",
    "CODE_FIELDS",
    "HOUSEHOLDS_FIELDS",
    "INVALID_POLICIES",
    "NAME_FIELDS",
    "SHAPEFILE_NAMES",
    "SUPPORTED_FORMATS",
    "WKT_COLUMNS",
    "ReadLimits",
    "describe_layer",
    "read_layer",
    "write_layer",
]
