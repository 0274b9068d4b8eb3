"""What the plan modules share: the storage CRS, reading a layer and an edit's geometry, and the
geometry chores (polygonal parts, metric areas and border lengths) that edits, suggestions and the
diff all need.

Geometry stays in storage degrees; only measures are taken in the local metric CRS, so the
vertices an edit does not touch stay bit-identical to the neighbours'.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from geo_grid.crs import to_local
from geo_grid.errors import BadInput, NotFound

__all__ = [
    "STORAGE_CRS",
    "area_m2_of",
    "as_multi",
    "border_m",
    "geometry_in",
    "polygonal_part",
    "prepare_layer",
    "require_valid",
    "row_index",
]


STORAGE_CRS = "EPSG:4490"


_CRUMB_DEG2 = 1e-12


def prepare_layer(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    for col in ("code", "community_code"):
        if col not in layer.columns:
            raise BadInput(f"layer: missing column {col!r}", field=col)
    if layer.crs is None:
        raise BadInput(f"layer: no CRS (expected {STORAGE_CRS})", field="crs")
    out = layer.to_crs(STORAGE_CRS) if not layer.crs.equals(STORAGE_CRS) else layer.copy()
    out = out.reset_index(drop=True)
    out["code"] = out["code"].astype(str)
    if "households" not in out.columns:
        out["households"] = pd.array([pd.NA] * len(out), dtype="Int64")
    return out


def row_index(layer: gpd.GeoDataFrame, code: str) -> int:
    hits = np.flatnonzero(layer["code"].to_numpy() == str(code))
    if len(hits) == 0:
        raise NotFound(f"grid: no grid {code!r} in this plan", field="grid")
    return int(hits[0])


def require_valid(layer: gpd.GeoDataFrame, codes) -> None:
    """Refuse an edit of grids whose outline is not a valid polygon, naming the first and GEOS's
    reason.

    A department layer is stored as received, self-intersections included (finding them is the
    checks' job); GEOS cannot cut, join or snap such an outline (a ``TopologyException``, which
    answered 500), and a plan must not store a guess at what it meant.

    >>> import geopandas as gpd, shapely
    >>> bowtie = shapely.Polygon([(0, 0), (1e-3, 1e-3), (1e-3, 0), (0, 1e-3)])
    >>> layer = gpd.GeoDataFrame({"code": ["g1"]}, geometry=[bowtie], crs=4490)
    >>> require_valid(layer, ["g1"])
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: grid: grid g1 is not a valid polygon (Self-intersection[0.0005 0.0005]): repair the layer first (geo-grid fix --layer L --as-draft, or import it with --invalid make_valid)
    """
    for code in dict.fromkeys(str(c) for c in codes):
        geom = layer.geometry.iloc[row_index(layer, code)]
        if not shapely.is_valid(geom):
            raise BadInput(
                f"grid: grid {code} is not a valid polygon ({shapely.is_valid_reason(geom)}): "
                "repair the layer first (geo-grid fix --layer L --as-draft, or import it with "
                "--invalid make_valid)",
                field="grid",
            )


def as_multi(geom) -> shapely.MultiPolygon:
    polys = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    if not polys:
        polys = [
            q
            for p in shapely.get_parts(geom)
            for q in shapely.get_parts(p)
            if q.geom_type == "Polygon" and not q.is_empty
        ]
    if (
        len(polys) > 1
    ):  # float crumbs of a union (1e-12 deg² ≈ 0.01 m²) would not survive projection
        polys = [p for p in polys if p.area >= _CRUMB_DEG2] or polys
    return shapely.MultiPolygon(polys)


def polygonal_part(geom):
    if geom is None or geom.is_empty:
        return shapely.MultiPolygon()
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.MultiPolygon()


def area_m2_of(geom, local_crs: str) -> float:
    """Area of one storage geometry in square metres (0 for none)."""
    if geom is None or geom.is_empty:
        return 0.0
    return float(shapely.area(to_local(geom, local_crs)))


def border_m(a, b, local_crs: str) -> float:
    """Length of the shared boundary of two polygons in metres."""
    shared = shapely.intersection(a.boundary, b.boundary)
    lines = [
        g
        for g in shapely.get_parts(shared)
        if g.geom_type in ("LineString", "LinearRing") and not g.is_empty
    ]
    if not lines:
        return 0.0
    return float(shapely.length(to_local(shapely.MultiLineString(lines), local_crs)))


def geometry_in(value, name: str, kinds: tuple[str, ...], max_vertices: int | None = None):
    """A shapely geometry from a shapely object, GeoJSON mapping or WKT; type-checked, and
    refused when it has more than ``max_vertices`` vertices (before any geometry work)."""
    try:
        if isinstance(value, shapely.Geometry):
            geom = value
        elif isinstance(value, Mapping):
            geom = shape(value.get("geometry", value) if value.get("type") == "Feature" else value)
        elif isinstance(value, str):
            geom = shapely.from_wkt(value)
        else:
            raise TypeError(type(value).__name__)
    except Exception as exc:  # noqa: BLE001 (any parse failure is bad input)
        raise BadInput(f"{name}: not a geometry ({exc})", field=name) from exc
    if geom is None or geom.is_empty or geom.geom_type not in kinds:
        got = "empty" if geom is None or geom.is_empty else geom.geom_type
        raise BadInput(f"{name}: expected {' or '.join(kinds)}, got {got}", field=name)
    vertices = int(shapely.get_num_coordinates(geom))
    if max_vertices is not None and vertices > max_vertices:
        raise BadInput(
            f"{name}: {vertices} vertices, more than the {max_vertices} allowed per geometry; "
            "simplify it",
            field=name,
        )
    lon, lat = shapely.get_coordinates(geom).T
    if not (np.all(np.abs(lon) <= 180) and np.all(np.abs(lat) <= 90)):
        raise BadInput(f"{name}: coordinates must be lon/lat (EPSG:4490)", field=name)
    return geom
