"""Splitting a grid: by a line drawn across it, or into given parts (how a suggested balanced split
is applied). The piece with most households keeps the code; the others get new codes and names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import mapping

from geo_grid.errors import BadInput
from geo_grid.plans._common import area_m2_of, geometry_in, polygonal_part, prepare_layer, row_index
from geo_grid.plans.assemble import finish_edit
from geo_grid.plans.codes import next_codes, renamed_codes
from geo_grid.plans.context import EditResult, PlanContext

__all__ = ["divide_grid", "split_grid"]


def _split_rows(
    layer: gpd.GeoDataFrame,
    code: str,
    pieces: Sequence,
    ctx: PlanContext,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The piece with most households (else area) keeps ``code``; the others get new codes."""
    i = row_index(layer, code)
    row = layer.iloc[i]
    pts, frame = ctx.points("buildings")
    hh = np.zeros(len(pieces))
    if len(pts):
        w = frame["households"].fillna(0).to_numpy()
        for k, p in enumerate(pieces):
            hh[k] = w[shapely.intersects(p, pts)].sum()
    areas = np.array([area_m2_of(p, ctx.local_crs) for p in pieces])
    small = np.flatnonzero(areas < ctx.min_part_m2)
    if len(small):
        raise BadInput(
            f"line: the split cuts off a piece of {areas[small[0]]:.0f} m² "
            f"(smaller than {ctx.min_part_m2:.0f} m²)",
            field="line",
        )
    keep = int(np.lexsort((-areas, -hh))[0])
    community = str(row["community_code"])
    if ctx.unified_codes:
        codes = next_codes(layer, community, len(pieces) - 1, reserved=ctx.reserved_codes)
    else:
        codes = [f"{code}-{k}" for k in range(2, len(pieces) + 1)]
    rows = []
    others = [k for k in range(len(pieces)) if k != keep]
    for new_code, k in zip(codes, others, strict=True):
        seq = int(new_code[-3:]) if new_code[-3:].isdigit() else k + 1
        rec = {c: row[c] for c in layer.columns if c != layer.geometry.name}
        rec.update(code=new_code, geometry=pieces[k], households=int(hh[k]))
        if "name" in layer.columns:
            rec["name"] = renamed_codes(row.get("name"), seq)
        if "properties" in layer.columns:
            rec["properties"] = {"split_from": code}
        if "id" in rec:
            rec["id"] = None
        rows.append(rec)
    return {code: pieces[keep]}, rows


def split_grid(layer: gpd.GeoDataFrame, code: str, line, *, ctx: PlanContext) -> EditResult:
    """Split grid ``code`` by a line drawn across it (lon/lat LineString or GeoJSON).

    The piece with most households keeps the code (and its roster); each other piece gets the next
    free sequence in the community. A line that does not cross the grid from edge to edge, or that
    cuts off a piece smaller than ``ctx.min_part_m2``, is refused.
    """
    layer = prepare_layer(layer)
    line = geometry_in(line, "line", ("LineString", "MultiLineString"), ctx.max_vertices)
    grid = layer.geometry.iloc[row_index(layer, code)]
    pieces = _split_by_line(grid, line)
    if len(pieces) < 2:
        raise BadInput(f"line: the line does not cross grid {code} from edge to edge", field="line")
    replace, rows = _split_rows(layer, code, pieces, ctx)
    params = {"grid": str(code), "line": mapping(line)}
    return finish_edit(layer, "split", params, replace=replace, new_rows=rows, ctx=ctx)


def _split_by_line(grid, line) -> list:
    """Faces of ``grid`` cut by ``line`` (dangling ends ignored), as polygons."""
    edges = shapely.union_all([grid.boundary, line])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(edges)))
    shapely.prepare(grid)
    faces = [f for f in faces if grid.contains(shapely.point_on_surface(f))]
    pieces = [shapely.intersection(grid, f) for f in faces]
    return [polygonal_part(p) for p in pieces if not polygonal_part(p).is_empty]


def divide_grid(
    layer: gpd.GeoDataFrame, code: str, parts: Sequence, *, ctx: PlanContext
) -> EditResult:
    """Replace grid ``code`` by ``parts`` (polygons that together make it up).

    Parts are clipped to the grid and the last one takes whatever the others leave, so a partition
    drawn to the nearest metre still covers the grid exactly. This is how a suggested balanced
    split is applied.
    """
    layer = prepare_layer(layer)
    if len(parts) < 2:
        raise BadInput("parts: give at least two parts", field="parts")
    geoms = [geometry_in(p, "parts", ("Polygon", "MultiPolygon"), ctx.max_vertices) for p in parts]
    grid = layer.geometry.iloc[row_index(layer, code)]
    pieces, taken = [], shapely.MultiPolygon()
    for g in geoms[:-1]:
        piece = polygonal_part(shapely.difference(shapely.intersection(grid, g), taken))
        pieces.append(piece)
        taken = shapely.union_all([taken, piece])
    pieces.append(polygonal_part(shapely.difference(grid, taken)))
    if any(p.is_empty for p in pieces):
        raise BadInput(f"parts: a part does not overlap grid {code}", field="parts")
    replace, rows = _split_rows(layer, code, pieces, ctx)
    params = {"grid": str(code), "parts": [mapping(p) for p in pieces]}
    return finish_edit(layer, "divide", params, replace=replace, new_rows=rows, ctx=ctx)
