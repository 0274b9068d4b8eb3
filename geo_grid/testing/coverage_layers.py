"""Synthetic grid layers for the coverage tests and benchmark: Voronoi cells and seeded damage.

Voronoi cells computed by GEOS in one pass share every vertex with their neighbours, so the
unperturbed layer is a valid coverage; each perturbation then breaks it in one known way (a moved
vertex, a grown or shrunk cell, a removed cell, a duplicated cell, a shifted cell).

Examples
--------
>>> import shapely
>>> layer = voronoi_layer(50, seed=1)
>>> len(layer), bool(shapely.coverage_is_valid(layer.geometry.values))
(50, True)
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

__all__ = [
    "ORIGIN",
    "PERTURBATIONS",
    "defect_rows",
    "perturb",
    "voronoi_cells",
    "voronoi_layer",
]

#: Lower-left corner of synthetic layers in EPSG:4549 metres (eastern Nanjing).
ORIGIN = (380_000.0, 3_550_000.0)

PERTURBATIONS = ("shift_vertex", "grow", "shrink", "remove", "duplicate", "translate")


def voronoi_cells(n: int, seed: int, cell_m: float = 200.0) -> NDArray:
    """``n`` Voronoi cells of jittered points, about ``cell_m`` across, clipped to the points' box
    by GEOS's own ``extend_to`` (so clipped edges stay shared)."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    ij = np.array([(i, j) for i in range(side) for j in range(side)][:n], dtype=float)
    xy = (ij + 0.5 + rng.uniform(-0.35, 0.35, ij.shape)) * cell_m
    xy += np.asarray(ORIGIN)
    box = shapely.box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + side * cell_m, ORIGIN[1] + side * cell_m)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=box))
    # voronoi_polygons returns cells in arbitrary order: order them by their site.
    tree = shapely.STRtree(cells)
    pi, ci = tree.query(shapely.points(xy), predicate="within")
    order = np.empty(n, dtype=int)
    order[pi] = ci
    return cells[order]


def voronoi_layer(
    n: int, seed: int, cell_m: float = 200.0, crs: str = "EPSG:4549"
) -> gpd.GeoDataFrame:
    """A grid layer of ``n`` Voronoi cells with codes ``G0000``..., names and households."""
    cells = voronoi_cells(n, seed, cell_m)
    rng = np.random.default_rng(seed + 1)
    frame = gpd.GeoDataFrame(
        {
            "code": [f"G{i:04d}" for i in range(n)],
            "name": [f"网格{i}" for i in range(n)],
            "households": rng.integers(50, 400, n),
            "community_code": None,
        },
        geometry=[shapely.MultiPolygon([c]) for c in cells],
        crs="EPSG:4549",
    )
    return frame if crs == "EPSG:4549" else frame.to_crs(crs)


def perturb(
    layer: gpd.GeoDataFrame, kind: str, cell: int, amount: float, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Damage one cell of a metric layer in one way; returns a new frame (codes kept).

    ``amount`` is metres: the vertex shift, the buffer distance, the translation.
    """
    out = layer.copy()
    geom = out.geometry.iloc[cell]
    poly = shapely.get_parts(geom)[0]
    if kind == "shift_vertex":
        coords = np.asarray(poly.exterior.coords)
        k = int(rng.integers(0, len(coords) - 1))
        angle = rng.uniform(0, 2 * np.pi)
        coords[k] += amount * np.array([np.cos(angle), np.sin(angle)])
        if k == 0:
            coords[-1] = coords[0]
        new = shapely.Polygon(coords)
    elif kind == "grow":
        new = poly.buffer(amount, join_style="mitre")
    elif kind == "shrink":
        new = poly.buffer(-amount, join_style="mitre")
    elif kind == "translate":
        angle = rng.uniform(0, 2 * np.pi)
        new = shapely.affinity.translate(poly, amount * np.cos(angle), amount * np.sin(angle))
    elif kind == "remove":
        return out.drop(index=out.index[cell]).reset_index(drop=True)
    elif kind == "duplicate":
        twin = out.iloc[[cell]].copy()
        twin["code"] = twin["code"] + "d"
        return gpd.GeoDataFrame(pd.concat([out, twin], ignore_index=True), crs=out.crs)
    else:
        raise ValueError(f"unknown perturbation {kind!r}")
    out.loc[out.index[cell], "geometry"] = shapely.MultiPolygon(
        [p for p in shapely.get_parts(new) if p.geom_type == "Polygon"]
    )
    return out


def defect_rows(report) -> list[tuple]:
    """Each defect of a :class:`~geo_grid.coverage.CoverageReport` as comparable values (kind,
    ids, parent, area to 0.1 m², width to 1 cm), sorted: two checks of one layer compare equal
    when they found the same defects.

    >>> from geo_grid.coverage import check_coverage
    >>> layer = voronoi_layer(16, seed=2)
    >>> defect_rows(check_coverage(layer))
    []
    >>> damaged = perturb(layer, "duplicate", 5, 0.0, np.random.default_rng(2))
    >>> sorted({row[0] for row in defect_rows(check_coverage(damaged))})
    ['duplicate_geometry', 'overlap']
    """
    out = []
    for r in report.defects.itertuples(index=False):
        parent = r.parent if isinstance(r.parent, str) else None
        width = None if np.isnan(r.width_m) else round(float(r.width_m), 2)
        out.append((r.kind, tuple(r.ids), parent, round(float(r.area_m2), 1), width))
    return sorted(out)
