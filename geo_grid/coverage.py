"""Coverage checks and fixes: prove a layer covers its district "纵向到底、横向到边".

A grid layer is clean when every grid is a valid, non-empty polygon with a unique code, no two grids
overlap, the union has no holes (inside the district or inside a parent community), and every grid
lies inside its parent community, which its own grids cover completely. GEOS's CoverageValidator
only says *which edges* are wrong; :func:`check_coverage` returns the defect polygons with their
area, width, grid codes and parent, and :func:`fix_coverage` returns a repaired layer plus a log.

How the check stays near bare GEOS: ``shapely.coverage_invalid_edges`` (one GEOS pass) marks
every grid whose edges do not match its neighbours, and everything after it works on what that
pass found, not on all pairs or all grids:

* overlaps: only pairs where an invalid edge enters the other grid, where two grids draw a segment
  the same way, or where a flagged grid holds another are intersected;
* gaps: the clean grids' union comes from their free segments (:mod:`._coverage_edges`, hashed
  keys, no overlay); a hole of it is a gap as it is, or loses the few flagged grids inside it
  (:mod:`._coverage_gaps`);
* nesting: a parent whose boundary the grids draw segment for segment proves its clean grids
  inside or outside by one interior point each; only suspects are overlaid
  (:mod:`._coverage_nesting`).

Nothing is ever compared all-against-all. Areas and widths are measured in ``local_crs``: the
district's Gauss-Krüger zone, or by default (``"auto"``) the zone of each defect's own central
longitude (:mod:`._coverage_metric`), named in the report's ``crs`` column.

Widths are the short side of the rectangle with the same area and perimeter (see
``_coverage_faces.widths``): exact for strips, slivers and rings, low on compact shapes. Pieces smaller than ``noise_area_m2`` *or* narrower than
``noise_width_m`` (5 cm) are floating-point or coordinate-rounding noise and are never reported.

Examples
--------
>>> import geopandas as gpd, shapely
>>> x0, y0 = 380_000, 3_550_000   # metres in EPSG:4549, in Nanjing
>>> grids = gpd.GeoDataFrame(
...     {"code": ["A", "B"]},
...     geometry=[shapely.box(x0, y0, x0 + 110, y0 + 100), shapely.box(x0 + 100, y0, x0 + 200, y0 + 100)],
...     crs="EPSG:4549")
>>> report = check_coverage(grids)
>>> report.valid, report.summary()["overlap"]
(False, 1)
>>> row = report.defects.iloc[0]
>>> row.kind, row.ids, round(row.area_m2), round(row.width_m)
('overlap', ['A', 'B'], 1000, 10)
>>> fixed, log = fix_coverage(grids)
>>> check_coverage(fixed).valid, sorted(fixed.code)
(True, ['A', 'B'])
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from geo_grid._coverage_edges import Segments
from geo_grid._coverage_faces import (
    dissolve,
    node_faces,
    polygonal,
    polygonal_all,
    progress_reporter,
    widths,
)
from geo_grid._coverage_fix import face_adjacency, label_faces
from geo_grid._coverage_gaps import Layer, Overlaps, ParentLines, find_gaps, pieces
from geo_grid._coverage_metric import AUTO, Metric, resolve_local_crs
from geo_grid._coverage_nesting import Nesting, nesting_defects
from geo_grid.crs import STORAGE_EPSG
from geo_grid.errors import BadInput

__all__ = [
    "DEFECT_KINDS",
    "CoverageReport",
    "check_coverage",
    "fix_coverage",
    "repair_polygon",
    "sort_defects",
]

DEFECT_KINDS: tuple[str, ...] = (
    "invalid_geometry",
    "empty",
    "duplicate_code",
    "duplicate_geometry",
    "overlap",
    "gap",
    "sliver_gap",
    "outside_parent",
    "crosses_parent",
    "parent_not_covered",
)

#: Columns of :attr:`CoverageReport.defects`, in order.
DEFECT_COLUMNS: tuple[str, ...] = ("kind", "ids", "area_m2", "width_m", "parent", "geometry")

Progress = bool | Callable[[str, int, int], object] | None

_REASON_POINT = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)")


@dataclass
class CoverageReport:
    """The defects of one layer (EPSG:4490 geometries, metric measures) and the layer's size.

    ``defects`` has one row per defect with columns ``kind`` (one of :data:`DEFECT_KINDS`), ``ids``
    (list of grid codes involved), ``area_m2``, ``width_m`` (NaN where a width means nothing, e.g.
    a duplicated code), ``parent`` (parent code or None) and ``geometry``: the overlap, gap or
    outside part as a polygon, the location of an invalid ring as a point, the grid itself for a
    duplicate or an empty grid (None); after them ``crs``, the metric CRS the defect's area and
    width were measured in (None where nothing was measured). ``params["metric_crs"]`` lists
    the CRSes used.
    """

    defects: gpd.GeoDataFrame
    features: int
    params: dict = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """True when no defect of any kind was found."""
        return len(self.defects) == 0

    def summary(self) -> dict:
        """``{"features": n, "valid": bool, "<kind>": count, ...}`` with every kind present."""
        counts = self.defects["kind"].value_counts() if len(self.defects) else {}
        out: dict = {"features": int(self.features), "valid": self.valid}
        for kind in DEFECT_KINDS:
            out[kind] = int(counts.get(kind, 0)) if len(self.defects) else 0
        return out

    def to_json(self) -> dict:
        """A JSON-ready dict: ``{"summary": ..., "defects": [{kind, ids, area_m2, width_m, parent,
        geometry (GeoJSON mapping or None)}]}``; NaN becomes None."""
        rows = []
        for row in self.defects.itertuples(index=False):
            geom = row.geometry
            rows.append(
                {
                    "kind": row.kind,
                    "ids": [str(i) for i in row.ids],
                    "area_m2": _num(row.area_m2),
                    "width_m": _num(row.width_m),
                    "parent": None if row.parent is None or pd.isna(row.parent) else row.parent,
                    "geometry": None
                    if geom is None or geom.is_empty
                    else shapely.geometry.mapping(geom),
                }
            )
        return {"summary": self.summary(), "defects": rows}


def _num(value) -> float | None:
    if value is None or pd.isna(value):
        return None
    return round(float(value), 3)


# --------------------------------------------------------------------------------------------
# validation and projection
# --------------------------------------------------------------------------------------------


def _validate_layer(frame, name: str) -> None:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise BadInput(f"{name}: expected a GeoDataFrame, got {type(frame).__name__}", field=name)
    if "code" not in frame.columns:
        raise BadInput(f"{name}: missing column 'code'", field="code")
    if frame.crs is None:
        raise BadInput(f"{name}: no CRS (expected EPSG:{STORAGE_EPSG})", field="crs")
    if frame["code"].isna().any():
        rows = list(np.flatnonzero(frame["code"].isna().to_numpy())[:5])
        raise BadInput(f"{name}: empty 'code' in rows {rows}", field="code")


def _local(frame: gpd.GeoDataFrame, local_crs: str) -> NDArray:
    """Geometries of ``frame`` in the metric CRS as a numpy object array."""
    series = frame.geometry
    if series.crs is not None and not series.crs.equals(local_crs):
        series = series.to_crs(local_crs)
    return np.asarray(series.array, dtype=object)


def _source(frame: gpd.GeoDataFrame, crs) -> NDArray:
    """Geometries of ``frame`` in ``crs`` (the grids' CRS) as a numpy object array."""
    series = frame.geometry
    if series.crs is not None and not series.crs.equals(crs):
        series = series.to_crs(crs)
    return np.asarray(series.array, dtype=object)


def _reason_point(reason: str, geom):
    """The location GEOS names in an ``is_valid_reason`` string, else a point on the geometry."""
    match = _REASON_POINT.search(reason or "")
    if match:
        return shapely.Point(float(match.group(1)), float(match.group(2)))
    return shapely.point_on_surface(geom) if geom is not None else None


def _clean_geometries(geoms: NDArray, codes: NDArray) -> tuple[NDArray, list[dict]]:
    """Per-feature checks: empty, non-polygonal, invalid. Returns working polygons (None where
    unusable) and the defects; invalid polygons continue as their ``make_valid`` polygonal part
    so that one bad ring does not hide the overlaps around it."""
    defects: list[dict] = []
    work = np.empty(len(geoms), dtype=object)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    polygonal_type = np.isin(shapely.get_type_id(geoms), [3, 6]) & ~empty  # Polygon, MultiPolygon
    valid = np.zeros(len(geoms), dtype=bool)
    valid[polygonal_type] = shapely.is_valid(geoms[polygonal_type])
    for i in np.flatnonzero(empty):
        defects.append(_defect("empty", [codes[i]], 0.0, np.nan, None))
    for i in np.flatnonzero(~empty & ~polygonal_type):
        defects.append(
            _defect("invalid_geometry", [codes[i]], 0.0, np.nan, shapely.point_on_surface(geoms[i]))
        )
    work[valid] = geoms[valid]
    for i in np.flatnonzero(polygonal_type & ~valid):
        where = _reason_point(shapely.is_valid_reason(geoms[i]), geoms[i])
        defects.append(_defect("invalid_geometry", [codes[i]], 0.0, np.nan, where))
        repaired = repair_polygon(geoms[i])
        work[i] = repaired if not repaired.is_empty else None
    return work, defects


def _fill_ring(ring) -> shapely.Geometry:
    """The area a ring encloses whatever its winding: union of the faces of its noded line."""
    noded = shapely.union_all([shapely.LineString(ring.coords)])
    return shapely.union_all(shapely.get_parts(shapely.polygonize(shapely.get_parts(noded))))


def repair_polygon(geom) -> shapely.Geometry:
    """Repair an invalid (multi)polygon as its drawer meant it: each exterior ring filled (a
    bow-tie or a figure-8 keeps both loops) minus each interior ring filled.

    ``make_valid`` reads a self-crossing ring even-odd, which turns a small digitizing loop into
    a hole that the gap check would then report as a sliver; filling rings avoids that. Falls back
    to the polygonal part of ``make_valid`` if the fill is empty.

    >>> import shapely
    >>> bow = shapely.Polygon([(0, 0), (10, 0), (10, 10), (4, 10), (6, 6), (6, 9), (4, 6), (0, 10)])
    >>> bool(bow.is_valid), round(repair_polygon(bow).area, 1)
    (False, 89.7)
    """
    parts = []
    for poly in shapely.get_parts(polygonal(geom) if geom.geom_type != "Polygon" else geom):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        area = _fill_ring(poly.exterior)
        holes = [_fill_ring(r) for r in poly.interiors]
        if holes:
            area = shapely.difference(area, shapely.union_all(holes))
        parts.append(area)
    out = polygonal(shapely.union_all(parts)) if parts else shapely.MultiPolygon()
    if out.is_empty or not out.is_valid:
        out = polygonal(shapely.make_valid(geom, method="structure", keep_collapsed=False))
    return out


def _defect(kind: str, ids: list, area: float, width: float, geom, parent=None) -> dict:
    return {
        "kind": kind,
        "ids": [str(i) for i in ids],
        "area_m2": float(area),
        "width_m": float(width),
        "parent": parent,
        "geometry": geom,
    }


# --------------------------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------------------------


def _keep(areas: NDArray, wids: NDArray, noise_area: float, noise_width: float) -> NDArray:
    return (areas >= noise_area) & (wids >= noise_width)


_pieces = pieces


def _bordering(pieces: NDArray, layer: Layer, tol: float, metric) -> list[list[int]]:
    """For each piece, the grid indices sharing more than a point of border with it (``tol``
    metres: border within ``tol`` of the piece, longer than ``4·tol``).

    Borders a grid draws with its own vertices (all of a hole of the clean grids) are found by
    segment keys; only grids within ``tol`` of some other border segment, and flagged grids
    (which may run along a border another grid draws exactly), are measured with a buffer."""
    out: list[list[int]] = [[] for _ in range(len(pieces))]
    if len(pieces) == 0:
        return out
    seg = Segments.of(pieces)
    exact, matched = _shared_exactly(pieces, seg, layer, metric)
    for (p, g), length in exact.items():
        if length > 4 * tol:
            out[p].append(g)
    loose = seg.lines(~matched)
    reach = tol * _units_per_metre(pieces, metric) * 2
    si, gi = layer.tree.query(loose, predicate="dwithin", distance=reach)
    pi, gj = layer.tree.query(pieces, predicate="dwithin", distance=reach)
    damaged = layer.flagged[gj]  # may run along a border another grid draws exactly
    pairs = np.unique(
        np.vstack(
            [np.column_stack([seg.owner[~matched][si], gi]), np.column_stack([pi, gj])[damaged]]
        ),
        axis=0,
    )
    known = {(p, g) for (p, g), length in exact.items() if length > 4 * tol}
    pairs = pairs[[(int(p), int(g)) not in known for p, g in pairs]] if known else pairs
    if len(pairs):
        grown = shapely.buffer(metric(pieces[pairs[:, 0]]), tol, quad_segs=2)
        near = shapely.boundary(metric(layer.geoms[pairs[:, 1]]))
        long = shapely.length(shapely.intersection(near, grown)) > 4 * tol
        for p, g in pairs[long]:
            out[p].append(int(g))
    return [sorted(set(nb)) for nb in out]


def _units_per_metre(geoms: NDArray, metric) -> float:
    """How many layer-CRS units make a metre around ``geoms`` (1 for a metric layer)."""
    sample = geoms[: min(len(geoms), 50)]
    src, met = shapely.length(sample), shapely.length(metric(sample))
    ok = met > 0
    return float(np.max(src[ok] / met[ok])) if ok.any() else 1.0


def _shared_exactly(pieces: NDArray, seg: Segments, layer: Layer, metric) -> tuple[dict, NDArray]:
    """``{(piece, grid): metric length}`` of borders a grid draws segment for segment (the
    reverse way: it lies on the other side), and which piece segments are so drawn."""
    near = np.unique(layer.tree.query(pieces, predicate="intersects")[1])
    hits = pd.DataFrame({"key": seg.back, "s": np.arange(len(seg))}).merge(
        layer.seg.of_owners(near).frame(), on="key"
    )
    matched = np.zeros(len(seg), dtype=bool)
    matched[hits["s"].to_numpy()] = True
    if len(hits) == 0:
        return {}, matched
    s = hits["s"].to_numpy()
    hits["piece"] = seg.owner[s]
    hits["length"] = shapely.length(metric(seg.lines(s)))
    sums = hits.groupby(["piece", "grid"])["length"].sum()
    return {(int(p), int(g)): float(v) for (p, g), v in sums.items()}, matched


#: ``_parent_index`` value of a grid that names no parent (not nesting-checked).
FREE = -2


def _parent_index(
    work: NDArray,
    stated: NDArray,
    parent_codes: NDArray,
    parent_geoms: NDArray,
    parent_tree: shapely.STRtree,
    *,
    infer_unknown: bool = False,
) -> NDArray:
    """Index of each grid's parent from its stated code.

    A grid with no stated parent (None) is :data:`FREE`: coarse department layers (城管, 应急,
    生态) are drawn per street or across communities and are only checked for gaps and overlaps.
    A stated code that is not among the parents gives -1 (reported ``outside_parent``), or, with
    ``infer_unknown`` (the fixer), the parent the grid overlaps most.
    """
    lookup = pd.Series(np.arange(len(parent_codes)), index=pd.Index(parent_codes, dtype=object))
    lookup = lookup[~lookup.index.duplicated(keep="last")]
    named = pd.Series(stated, dtype=object)
    free = named.isna().to_numpy()
    found = named.astype(str).map(lookup).to_numpy(dtype=float)
    out = np.where(free, FREE, np.where(np.isnan(found), -1, np.nan_to_num(found))).astype(int)
    missing = shapely.is_missing(np.asarray(work, dtype=object))
    unknown = list(np.flatnonzero((out == -1) & ~missing))
    if unknown and infer_unknown:
        idx = np.asarray(unknown)
        gi, pj = parent_tree.query(work[idx], predicate="intersects")
        if len(gi):
            areas = shapely.area(shapely.intersection(work[idx][gi], parent_geoms[pj]))
            best: dict[int, tuple[float, int]] = {}
            for g, p, a in zip(gi, pj, areas, strict=True):
                if a > best.get(g, (0.0, -1))[0]:
                    best[g] = (a, p)
            for g, (_, p) in best.items():
                out[idx[g]] = p
    return out


def _parent_array(geoms) -> np.ndarray:
    """Parents as polygonal geometries for an STRtree; a missing one becomes an empty polygon."""
    return np.asarray(
        [polygonal(g) if g is not None else shapely.MultiPolygon() for g in geoms], dtype=object
    )


@dataclass
class _Parents:
    """The parent layer of a check, in the grids' CRS."""

    codes: NDArray
    geoms: NDArray
    tree: shapely.STRtree


@dataclass
class _Noise:
    area: float
    width: float


def _read_parents(parent: gpd.GeoDataFrame, crs) -> _Parents:
    geoms = _parent_array(_source(parent, crs))
    return _Parents(parent["code"].astype(str).to_numpy(), geoms, shapely.STRtree(geoms))


def _duplicate_codes(codes: NDArray, work: NDArray) -> list[dict]:
    """One ``duplicate_code`` defect per code used more than once, located at its grids."""
    counts = pd.Series(codes).value_counts()
    defects = []
    for code in counts.index[counts.to_numpy() > 1]:
        members = [g for g in work[codes == code] if g is not None]
        where = shapely.MultiPolygon([p for g in members for p in shapely.get_parts(g)])
        defects.append(_defect("duplicate_code", [code], 0.0, np.nan, where if members else None))
    return defects


def _edge_layer(geoms: NDArray) -> tuple[Layer, NDArray]:
    """GEOS's edge check (the one whole-layer pass) and the arrays the other steps share."""
    edges = shapely.coverage_invalid_edges(geoms, gap_width=0.0) if len(geoms) else geoms
    flagged = ~shapely.is_empty(edges) if len(geoms) else np.zeros(0, dtype=bool)
    layer = Layer(geoms, flagged, Segments.of(geoms), shapely.STRtree(geoms))
    return layer, edges


def _overlap_candidates(layer: Layer, edges: NDArray) -> NDArray:
    """Pairs ``(i, j)``, i < j, that may overlap, found from the damage alone:

    * an invalid edge of one meets the other, and their interiors meet (each invalid edge is
      looked up in the STRtree; ``touches`` on the pair then drops neighbours that only share
      boundary);
    * both draw a segment the same way, i.e. lie on the same side of it (duplicates, and copies
      whose other edges still match their neighbours, which GEOS then does not flag);
    * a flagged grid holds the other wholly inside, edges apart.

    No flagged grid is intersected with all its neighbours."""
    src = np.flatnonzero(layer.flagged)
    qi, qj = layer.tree.query(edges[src], predicate="intersects")
    met = np.unique(_ordered(src[qi], qj), axis=0)
    met = met[met[:, 0] != met[:, 1]]
    inner = ~shapely.touches(layer.geoms[met[:, 0]], layer.geoms[met[:, 1]])
    found = [met[inner], _same_side(layer.seg), _nested(layer, src)]
    cand = np.vstack(found)
    return np.unique(cand, axis=0) if len(cand) else np.empty((0, 2), dtype=int)


def _ordered(a: NDArray, b: NDArray) -> NDArray:
    return np.column_stack([np.minimum(a, b), np.maximum(a, b)]).astype(int).reshape(-1, 2)


def _same_side(seg: Segments) -> NDArray:
    """Pairs of grids drawing one segment in the same direction (both on its right)."""
    frame = seg.subset(seg.same_side()).frame().drop_duplicates()
    if len(frame) == 0:
        return np.empty((0, 2), dtype=int)
    pairs = frame.merge(frame, on="key")
    pairs = pairs[pairs["grid_x"] < pairs["grid_y"]]
    return _ordered(pairs["grid_x"].to_numpy(), pairs["grid_y"].to_numpy())


def _nested(layer: Layer, src: NDArray) -> NDArray:
    """Pairs where a flagged grid holds another wholly inside, edges apart."""
    qi, qj = layer.tree.query(layer.geoms[src], predicate="contains_properly")
    a, b = src[qi], qj
    return _ordered(a[a != b], b[a != b])


def _overlaps(
    layer: Layer, edges: NDArray, codes: NDArray, metric, noise: _Noise, share: float
) -> tuple[list[dict], NDArray, Overlaps]:
    """``overlap`` and ``duplicate_geometry`` defects, the pairs that overlap, and every
    candidate pair with its overlap area in the layer's CRS (the gap step's area bound)."""
    pairs = _overlap_candidates(layer, edges)
    if len(pairs) == 0:
        return [], pairs, Overlaps(pairs, np.zeros(0))
    g = layer.geoms
    inter = polygonal_all(shapely.intersection(g[pairs[:, 0]], g[pairs[:, 1]]))
    candidates = Overlaps(pairs, shapely.area(inter))
    inter_m = metric(inter)
    ia = shapely.area(inter_m)
    iw = widths(inter_m)
    keep = _keep(ia, iw, noise.area, noise.width)
    pairs, inter, ia, iw = pairs[keep], inter[keep], ia[keep], iw[keep]
    defects = [
        _defect("overlap", [codes[i], codes[j]], a, w, piece)
        for (i, j), piece, a, w in zip(pairs, inter, ia, iw, strict=True)
    ]
    defects += _duplicates(layer, pairs, inter, ia, codes, metric, share)
    return defects, pairs, candidates


def _duplicates(layer, pairs, inter, ia, codes, metric, share) -> list[dict]:
    """Pairs overlapping by at least ``share`` of the larger grid (measured only for pairs whose
    share in the layer's own CRS is close: a projection changes area ratios very little)."""
    g = layer.geoms
    rough = shapely.area(inter) / np.maximum(
        shapely.area(g[pairs[:, 0]]), shapely.area(g[pairs[:, 1]])
    )
    near = np.flatnonzero(rough >= share - 0.01)
    if len(near) == 0:
        return []
    a_m = shapely.area(metric(g[pairs[near, 0]]))
    b_m = shapely.area(metric(g[pairs[near, 1]]))
    dup = ia[near] >= share * np.maximum(a_m, b_m)
    return [
        _defect("duplicate_geometry", [codes[i], codes[j]], area, np.nan, g[j])
        for (i, j), area in zip(pairs[near][dup], b_m[dup], strict=True)
    ]


def _gap_defects(
    gaps: NDArray,
    layer: Layer,
    codes: NDArray,
    parents: _Parents | None,
    metric,
    sliver_w: float,
    noise: _Noise,
) -> list[dict]:
    """``gap`` / ``sliver_gap`` defects: measured, noise dropped, neighbours and parent named."""
    if len(gaps) == 0:
        return []
    gaps_m = metric(gaps)
    ga, gw = shapely.area(gaps_m), widths(gaps_m)
    keep = _keep(ga, gw, noise.area, noise.width)
    gaps, ga, gw = gaps[keep], ga[keep], gw[keep]
    owner = _gap_parents(gaps, parents) if parents else np.full(len(gaps), -1, dtype=int)
    tol = max(noise.width, 1e-3)
    neighbours = _bordering(gaps, layer, tol, metric)
    out = []
    for g, area, width, nb, p in zip(gaps, ga, gw, neighbours, owner, strict=True):
        kind = "sliver_gap" if width < sliver_w else "gap"
        pcode = parents.codes[p] if p >= 0 else None
        out.append(_defect(kind, sorted(codes[nb]), area, width, g, pcode))
    return out


def check_coverage(
    grids: gpd.GeoDataFrame,
    parent: gpd.GeoDataFrame | None = None,
    *,
    gap_width_m: float = 20.0,
    sliver_width_m: float | None = None,
    parent_field: str = "community_code",
    local_crs: str = AUTO,
    noise_area_m2: float = 0.01,
    noise_width_m: float = 0.05,
    duplicate_share: float = 0.999,
    progress: Progress = None,
) -> CoverageReport:
    """Find every defect of a grid layer: validity, codes, overlaps, gaps and parent nesting.

    Parameters
    ----------
    grids : GeoDataFrame
        Columns ``code`` (required), optionally ``community_code`` (see ``parent_field``); any CRS
        (storage is EPSG:4490).
    parent : GeoDataFrame, optional
        Parent units (communities) with a ``code``. With parents, gaps are the uncovered parts of
        their union plus the holes of the grids' union, each assigned to the parent it lies in,
        and nesting is checked (``outside_parent``, ``crosses_parent``, ``parent_not_covered``).
        Without, gaps are only the holes of the grids' union (its exterior is the district edge).
    gap_width_m : float
        Holes narrower than this (see ``_coverage_faces.widths``) are ``sliver_gap``, wider ones
        ``gap``. 20 m matches the demo's ground truth (slivers 1-20 m wide).
    sliver_width_m : float, optional
        Overrides ``gap_width_m`` for the sliver/gap split only.
    local_crs : str
        The metric CRS of every area and width: a district's own Gauss-Krüger zone (e.g.
        ``"EPSG:4549"``), or ``"auto"`` to measure each defect in the CGCS2000 3-degree zone of
        its own central longitude (:func:`geo_grid.crs.gauss_kruger_zone`), right for a layer of
        any extent. The CRS of each defect is in the report (column ``crs``, ``params``).
    noise_area_m2, noise_width_m : float
        Pieces below either are noise and are not reported: float noise from reprojection, and
        the centimetre steps of coordinates rounded to 7 decimal degrees (GeoJSON files), which
        leave strips ~1-2 cm wide along every line two layers draw separately.
    duplicate_share : float
        Two grids whose overlap is at least this share of the larger are duplicates.
    progress : bool or callable
        ``True`` for a tqdm bar, or ``f(stage, done, total)``.

    Returns
    -------
    CoverageReport
        A duplicated geometry is reported both as ``duplicate_geometry`` and as the ``overlap`` it
        is, so overlap areas stay the true overlapped area. Unmatched vertices along a shared edge
        (T-junctions) that leave no overlap or gap wider than the noise are not defects.
    """
    step = progress_reporter(progress, 7, "check coverage")
    _validate_layer(grids, "grids")
    if parent is not None:
        _validate_layer(parent, "parent")
    metric = Metric(grids.crs, local_crs)
    noise = _Noise(noise_area_m2, noise_width_m)
    sliver_w = gap_width_m if sliver_width_m is None else sliver_width_m
    codes = grids["code"].astype(str).to_numpy()
    work, defects = _clean_geometries(np.asarray(grids.geometry.array, dtype=object), codes)
    present = np.flatnonzero(~shapely.is_missing(work))
    pgeoms, pcodes = work[present], codes[present]
    step("validity")
    defects += _duplicate_codes(codes, work)
    step("codes")
    layer, edges = _edge_layer(pgeoms)
    step("edges")
    found, pairs, candidates = _overlaps(layer, edges, pcodes, metric, noise, duplicate_share)
    defects += found
    step("overlaps")
    parents = _read_parents(parent, grids.crs) if parent is not None else None
    lines = ParentLines.of(parents.geoms, layer) if parents is not None else None
    gaps = find_gaps(layer, lines, candidates)
    step("gaps")
    defects += _gap_defects(gaps, layer, pcodes, parents, metric, sliver_w, noise)
    step("gap widths")
    if parents is not None:
        defects += _check_nesting(
            layer, grids, present, pcodes, parents, lines, pairs, metric, noise, parent_field
        )
    step("parents")
    frame = _frame(defects, grids.crs, parents, metric)
    return CoverageReport(
        defects=frame,
        features=len(grids),
        params={
            "gap_width_m": gap_width_m,
            "sliver_width_m": sliver_w,
            "local_crs": local_crs,
            "metric_crs": sorted({c for c in frame["crs"] if c}),
        },
    )


def _check_nesting(
    layer, grids, present, pcodes, parents: _Parents, lines, pairs, metric, noise, field
):
    """The nesting defects of the grids that name a parent in ``field``."""
    stated = (
        grids[field].to_numpy()[present]
        if field in grids.columns
        else np.full(len(present), None, dtype=object)
    )
    pidx = _parent_index(layer.geoms, stated, parents.codes, parents.geoms, parents.tree)
    nest = Nesting(
        codes=pcodes,
        stated=stated,
        pidx=pidx,
        parent_codes=parents.codes,
        parent_geoms=parents.geoms,
        parent_tree=parents.tree,
        parent_lines=lines,
        partners=np.unique(pairs).astype(int),
        metric=metric,
        noise_area=noise.area,
        noise_width=noise.width,
    )
    return nesting_defects(layer, nest)


def _gap_parents(gaps: NDArray, parents: _Parents) -> NDArray:
    """The parent holding most of each gap (-1: none). A gap is not cut at parent lines: a strip
    lost between two grids of neighbouring communities is one defect, as a planner sees it."""
    owner = np.full(len(gaps), -1, dtype=int)
    if len(gaps) == 0:
        return owner
    gi, pj = parents.tree.query(gaps, predicate="intersects")
    if len(gi) == 0:
        return owner
    count = np.bincount(gi, minlength=len(gaps))
    single = count[gi] == 1
    owner[gi[single]] = pj[single]
    many = ~single
    areas = shapely.area(shapely.intersection(gaps[gi[many]], parents.geoms[pj[many]]))
    best = np.zeros(len(gaps))
    for g, p, a in zip(gi[many], pj[many], areas, strict=True):
        if a > best[g]:
            best[g], owner[g] = a, p
    return owner


#: Kinds whose geometry was measured (their ``crs`` column names where).
_MEASURED = (
    "overlap",
    "duplicate_geometry",
    "gap",
    "sliver_gap",
    "outside_parent",
    "crosses_parent",
    "parent_not_covered",
)


def _frame(defects: list[dict], src_crs, parents: _Parents | None, metric) -> gpd.GeoDataFrame:
    """Assemble defects, give area defects without a parent the parent they lie in, name the
    metric CRS of each measured defect, reproject."""
    if not defects:
        return gpd.GeoDataFrame(
            {c: pd.Series(dtype=object) for c in (*DEFECT_COLUMNS[:-1], "crs")},
            geometry=gpd.GeoSeries([], crs=STORAGE_EPSG),
        ).astype({"area_m2": "float64", "width_m": "float64"})[[*DEFECT_COLUMNS, "crs"]]
    frame = pd.DataFrame(defects)
    if parents is not None:
        _locate_parents(frame, defects, parents)
    geoms = frame["geometry"].to_numpy()
    measured = frame["kind"].isin(_MEASURED).to_numpy() & ~shapely.is_missing(geoms)
    frame["crs"] = None
    frame.loc[measured, "crs"] = metric.names(geoms[measured])
    frame = sort_defects(frame)
    geometry = gpd.GeoSeries(frame["geometry"].to_numpy(), crs=src_crs).to_crs(STORAGE_EPSG)
    out = gpd.GeoDataFrame(frame.drop(columns=["geometry"]), geometry=geometry.values)
    return out[[*DEFECT_COLUMNS, "crs"]]


def sort_defects(frame: pd.DataFrame) -> pd.DataFrame:
    """Defects in report order: by kind (as :data:`DEFECT_KINDS`), grid codes, larger first."""
    keys = pd.DataFrame(
        {
            "_order": frame["kind"].map({k: i for i, k in enumerate(DEFECT_KINDS)}).to_numpy(),
            "_ids": frame["ids"].map(lambda ids: ",".join(ids)).to_numpy(),
            "_area": frame["area_m2"].to_numpy(),
        }
    )
    order = keys.sort_values(["_order", "_ids", "_area"], ascending=[True, True, False]).index
    return frame.iloc[order.to_numpy()].reset_index(drop=True)


def _locate_parents(frame: pd.DataFrame, defects: list[dict], parents: _Parents) -> None:
    """Give overlaps, duplicates and invalid rings the parent their location lies in."""
    kinds = frame["kind"].isin(["overlap", "duplicate_geometry", "invalid_geometry"]).to_numpy()
    geoms = frame["geometry"].to_numpy()
    need = np.flatnonzero(kinds & frame["parent"].isna().to_numpy() & ~shapely.is_missing(geoms))
    if len(need) == 0:
        return
    gi, pj = parents.tree.query(shapely.point_on_surface(geoms[need]), predicate="within")
    column = frame["parent"].to_numpy(dtype=object).copy()
    column[need[gi]] = parents.codes[pj]
    frame["parent"] = column


# --------------------------------------------------------------------------------------------
# fix
# --------------------------------------------------------------------------------------------


def _overlap_pairs(geoms: NDArray, noise_area: float) -> tuple[NDArray, NDArray]:
    """Pairs ``(i, j)`` of grids overlapping by at least ``noise_area``, and the overlap areas.

    Only grids GEOS marks as not edge-matched, and exact duplicates, are intersected."""
    if len(geoms) < 2:
        return np.empty((0, 2), dtype=int), np.zeros(0)
    flagged = ~shapely.is_empty(shapely.coverage_invalid_edges(geoms, gap_width=0.0))
    wkb = shapely.to_wkb(shapely.normalize(geoms))
    first: dict[bytes, int] = {}
    extra = []
    for k, key in enumerate(wkb):
        if key in first:
            extra.append((first[key], k))
        else:
            first.setdefault(key, k)
    src = np.flatnonzero(flagged)
    qi, qj = shapely.STRtree(geoms).query(geoms[src], predicate="intersects")
    a, b = src[qi], qj
    cand = np.column_stack([np.minimum(a, b), np.maximum(a, b)])
    cand = cand[cand[:, 0] != cand[:, 1]]
    if extra:
        cand = np.vstack([cand, np.asarray(extra)])
    if len(cand) == 0:
        return np.empty((0, 2), dtype=int), np.zeros(0)
    cand = np.unique(cand, axis=0)
    areas = shapely.area(shapely.intersection(geoms[cand[:, 0]], geoms[cand[:, 1]]))
    keep = areas >= noise_area
    return cand[keep], areas[keep]


def fix_coverage(
    grids: gpd.GeoDataFrame,
    parent: gpd.GeoDataFrame | None = None,
    *,
    overlap_rule: Literal["longest_border", "larger"] = "longest_border",
    gap_width_m: float = 20.0,
    min_part_m2: float = 100.0,
    snap_tolerance_m: float = 0.001,
    parent_field: str = "community_code",
    local_crs: str = AUTO,
    duplicate_share: float = 0.999,
    progress: Progress = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Repair a layer so that :func:`check_coverage` finds nothing; keep codes, names, households.

    The repair runs in one metric plane: ``local_crs``, or for ``"auto"`` the Gauss-Krüger zone
    of the layer's central longitude (:func:`geo_grid.crs.gauss_kruger_zone`).

    Order of repairs: empty and non-polygonal grids are dropped; invalid ones become the polygonal
    part of ``make_valid``; a later duplicate geometry is dropped; a later duplicate code gets a
    ``-2``, ``-3`` ... suffix; a grid without a known parent gets the parent it overlaps most.
    Then all boundaries (and parent boundaries) are noded with snap rounding at
    ``snap_tolerance_m`` into faces and every face is given one owner (see ``_coverage_fix``):
    overlaps by ``overlap_rule``, gaps and slivers (any width) to the neighbour with the longest
    shared border in the same parent, parts outside a grid's parent cut off. Disconnected parts
    under ``min_part_m2`` then join the neighbour they share most border with. Because grids are
    unions of faces of one noding, neighbours share vertices exactly.

    Returns
    -------
    (GeoDataFrame, DataFrame)
        The fixed layer in EPSG:4490 (MultiPolygons, other columns kept, row order kept, dropped
        rows removed) and a change log with columns ``code``, ``action`` (``drop_empty``,
        ``repair_invalid``, ``drop_duplicate_geometry``, ``recode_duplicate``, ``assign_parent``,
        ``drop_outside_parent``, ``clip_to_parent``, ``resolve_overlap``, ``fill_gap``,
        ``dissolve_part``, ``new_grid``), ``area_m2`` and ``detail``.
        Gap pieces narrower than ``gap_width_m`` are logged as slivers in ``detail``.
    """
    if overlap_rule not in ("longest_border", "larger"):
        raise BadInput(
            f"overlap_rule: expected 'longest_border' or 'larger', got {overlap_rule!r}",
            field="overlap_rule",
        )
    _validate_layer(grids, "grids")
    if parent is not None:
        _validate_layer(parent, "parent")
    local_crs = resolve_local_crs(np.asarray(grids.geometry.array), grids.crs, local_crs)
    step = progress_reporter(progress, 5, "fix coverage")
    frame = grids.reset_index(drop=True).copy()
    frame["code"] = frame["code"].astype(str)
    geoms = _local(frame, local_crs)
    log: list[tuple[str, str, float, str]] = []

    # 1. per-feature repairs
    keep = np.ones(len(frame), dtype=bool)
    work = np.empty(len(frame), dtype=object)
    for i, g in enumerate(geoms):
        code = frame.at[i, "code"]
        if g is None or g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon"):
            keep[i] = False
            log.append((code, "drop_empty", 0.0, "empty or not a polygon"))
            continue
        if not g.is_valid:
            fixed = repair_polygon(g)
            if fixed.is_empty:
                keep[i] = False
                log.append(
                    (
                        code,
                        "drop_empty",
                        0.0,
                        f"invalid and empty once repaired: {shapely.is_valid_reason(g)}",
                    )
                )
                continue
            log.append((code, "repair_invalid", float(fixed.area), shapely.is_valid_reason(g)))
            g = fixed
        work[i] = g
    # 2. duplicate geometries (exact or near) - drop the later one
    idx = np.flatnonzero(keep)
    pairs, pair_area = _overlap_pairs(work[idx], 0.0)
    if len(pairs):
        a_area = shapely.area(work[idx[pairs[:, 0]]])
        b_area = shapely.area(work[idx[pairs[:, 1]]])
        dup = pair_area >= duplicate_share * np.maximum(a_area, b_area)
        for (i, j), area in zip(pairs[dup], b_area[dup], strict=True):
            first, later = idx[i], idx[j]
            if keep[first] and keep[later]:
                keep[later] = False
                log.append(
                    (
                        frame.at[later, "code"],
                        "drop_duplicate_geometry",
                        float(area),
                        f"same geometry as {frame.at[first, 'code']}",
                    )
                )
    frame, work = frame[keep].reset_index(drop=True), work[keep]
    # 3. duplicate codes - recode the later ones
    seen: set[str] = set()
    taken = set(frame["code"])
    for i, code in enumerate(frame["code"].tolist()):
        if code in seen:
            k = 2
            while f"{code}-{k}" in taken:
                k += 1
            new = f"{code}-{k}"
            taken.add(new)
            frame.at[i, "code"] = new
            log.append((new, "recode_duplicate", 0.0, f"was {code}"))
        else:
            seen.add(code)
    codes = frame["code"].to_numpy()
    step("repairs")

    # 4. parents
    parent_codes = parent_geoms = None
    pidx = np.full(len(frame), -1, dtype=int)
    if parent is not None:
        parent_codes = parent["code"].astype(str).to_numpy()
        parent_geoms = _parent_array(_local(parent, local_crs))
        parent_tree = shapely.STRtree(parent_geoms)
        stated = (
            frame[parent_field].to_numpy()
            if parent_field in frame.columns
            else np.full(len(frame), None, dtype=object)
        )
        pidx = _parent_index(
            work, stated, parent_codes, parent_geoms, parent_tree, infer_unknown=True
        )
        if parent_field not in frame.columns:
            frame[parent_field] = None
        for i, p in enumerate(pidx):
            said = stated[i]
            said = None if said is None or pd.isna(said) else str(said)
            if p >= 0 and said != parent_codes[p]:
                frame.at[i, parent_field] = parent_codes[p]
                log.append((codes[i], "assign_parent", 0.0, f"{said} -> {parent_codes[p]}"))
    step("parents")

    # 5. faces and owners
    lines = list(shapely.boundary(work))
    if parent_geoms is not None:
        lines += list(shapely.boundary(parent_geoms))
    faces = node_faces(lines, snap_tolerance_m)
    rp = shapely.point_on_surface(faces)
    fi, gj = shapely.STRtree(work).query(rp, predicate="within")
    inside: list[list[int]] = [[] for _ in range(len(faces))]
    for f, g in zip(fi, gj, strict=True):
        inside[f].append(int(g))
    face_parent = np.full(len(faces), -1, dtype=int)
    if parent_geoms is not None:
        fi2, pj2 = parent_tree.query(rp, predicate="within")
        face_parent[fi2] = pj2
    candidates: list[list[int]] = []
    allowed: list[set[int] | None] = []
    kids: dict[int, set[int]] = {}
    for p in range(len(parent_codes) if parent_codes is not None else 0):
        kids[p] = set(np.flatnonzero(pidx == p).tolist())
    free = set(np.flatnonzero(pidx == FREE).tolist())
    dropped = np.zeros(len(faces), dtype=bool)
    for f in range(len(faces)):
        if parent_geoms is None:
            candidates.append(sorted(inside[f]))
            allowed.append(None)
            continue
        p = face_parent[f]
        if p < 0:
            dropped[f] = True
            candidates.append([])
            allowed.append(set())
            continue
        candidates.append(sorted(g for g in inside[f] if pidx[g] in (p, FREE)))
        allowed.append(kids[p] | free)
    grid_area = shapely.area(work)
    labels, adj = label_faces(faces, candidates, allowed, grid_area, overlap_rule)
    labels[dropped] = -1
    _restore_vanished(labels, candidates, len(work))
    step("faces")

    # 6. leftovers (gaps with no owner reachable) and small parts
    farea = shapely.area(faces)
    extra_rows: list[dict] = []
    orphan = np.flatnonzero((labels < 0) & ~dropped)
    if len(orphan):
        labels, extra_rows = _place_orphans(
            faces, labels, orphan, face_parent, allowed, work, parent_codes, parent_field, log
        )
    n_grids = len(work) + len(extra_rows)
    labels = _dissolve_small_parts(
        faces, labels, n_grids, min_part_m2, allowed, codes_for(codes, extra_rows), log
    )
    step("small parts")

    # 7. log face moves and assemble
    all_codes = codes_for(codes, extra_rows)
    _log_moves(
        faces,
        farea,
        labels,
        inside,
        candidates,
        dropped,
        face_parent,
        parent_codes,
        all_codes,
        gap_width_m,
        log,
    )
    geoms_out = dissolve(faces, labels, n_grids)
    if extra_rows:
        frame = pd.concat([frame, pd.DataFrame(extra_rows)], ignore_index=True)
    lost = [k for k in range(n_grids) if geoms_out[k] is None]
    for k in lost:
        log.append(
            (
                all_codes[k],
                "drop_outside_parent",
                float(grid_area[k]) if k < len(grid_area) else 0.0,
                "no part of the grid lies in its parent",
            )
        )
    alive = np.array([g is not None for g in geoms_out], dtype=bool)
    frame = frame.loc[alive].reset_index(drop=True)
    out_geoms = gpd.GeoSeries([g for g in geoms_out if g is not None], crs=local_crs).to_crs(
        STORAGE_EPSG
    )
    fixed = gpd.GeoDataFrame(
        frame.drop(columns=frame.geometry.name, errors="ignore"),
        geometry=out_geoms.values,
        crs=STORAGE_EPSG,
    )
    changes = pd.DataFrame(log, columns=["code", "action", "area_m2", "detail"])
    if len(changes):
        changes = (
            changes.groupby(["code", "action", "detail"], sort=False, as_index=False)[
                "area_m2"
            ].sum()
        )[["code", "action", "area_m2", "detail"]]
        changes["area_m2"] = changes["area_m2"].round(3)
    step("assemble")
    return fixed, changes


def codes_for(codes: NDArray, extra_rows: list[dict]) -> NDArray:
    """Codes of the original grids followed by those of grids created for unreachable gaps."""
    return np.concatenate([codes, np.asarray([r["code"] for r in extra_rows], dtype=object)])


def _restore_vanished(labels: NDArray, candidates: list[list[int]], n: int) -> None:
    """A grid swallowed whole by an overlap (nested in a bigger one) takes back its own faces."""
    has = np.zeros(n, dtype=bool)
    has[labels[labels >= 0]] = True
    for f, cands in enumerate(candidates):
        for g in cands:
            if not has[g] and len(cands) > 1:
                labels[f] = g
    return None


def _place_orphans(
    faces, labels, orphan, face_parent, allowed, work, parent_codes, parent_field, log
):
    """Gap faces no border reaches: give them to the nearest allowed grid, or to a new grid when
    their parent has no grid at all."""
    extra_rows: list[dict] = []
    new_for_parent: dict[int, int] = {}
    for f in orphan:
        pool = allowed[f]
        pool_idx = np.arange(len(work)) if pool is None else np.asarray(sorted(pool), dtype=int)
        if len(pool_idx):
            d = shapely.distance(work[pool_idx], faces[f])
            labels[f] = int(pool_idx[int(np.argmin(d))])
            continue
        p = int(face_parent[f])
        if p not in new_for_parent:
            code = f"{parent_codes[p]}-fill"
            new_for_parent[p] = len(work) + len(extra_rows)
            extra_rows.append({"code": code, "households": 0, parent_field: parent_codes[p]})
            log.append((code, "new_grid", 0.0, f"parent {parent_codes[p]} had no grid"))
        labels[f] = new_for_parent[p]
    return labels, extra_rows


def _dissolve_small_parts(faces, labels, n_grids, min_part_m2, allowed, codes, log):
    """Move disconnected parts smaller than ``min_part_m2`` (never a grid's largest part) into the
    neighbour they share the longest border with."""
    if min_part_m2 <= 0:
        return labels
    geoms = dissolve(faces, labels, n_grids)
    multi = [k for k, g in enumerate(geoms) if g is not None and shapely.get_num_geometries(g) > 1]
    if not multi:
        return labels
    rp = shapely.point_on_surface(faces)
    moved = []
    for k in multi:
        parts = shapely.get_parts(geoms[k])
        areas = shapely.area(parts)
        mine = np.flatnonzero(labels == k)
        for part_i in np.argsort(areas)[:-1]:
            if areas[part_i] >= min_part_m2:
                continue
            members = mine[shapely.within(rp[mine], parts[part_i])]
            moved.append((k, members, float(areas[part_i])))
    if not moved:
        return labels
    which = np.unique(np.concatenate([m for _, m, _ in moved]))
    adj = face_adjacency(faces, which)
    for k, members, area in moved:
        member_set = set(members.tolist())
        score: dict[int, float] = {}
        pool = allowed[int(members[0])] if len(members) else None
        for f in members:
            for g, length in adj.get(int(f), []):
                owner = int(labels[g])
                if g in member_set or owner < 0 or owner == k:
                    continue
                if pool is not None and owner not in pool:
                    continue
                score[owner] = score.get(owner, 0.0) + length
        if score:
            to = max(score, key=lambda g: (round(score[g], 6), -g))
            labels[members] = to
            log.append((codes[k], "dissolve_part", area, f"to {codes[to]}"))
    return labels


def _log_moves(
    faces,
    farea,
    labels,
    inside,
    candidates,
    dropped,
    face_parent,
    parent_codes,
    codes,
    gap_width_m,
    log,
):
    """Log overlap resolutions, clipping and gap filling, one line per grid and cause."""
    gap_faces = np.flatnonzero([not c and not d for c, d in zip(candidates, dropped, strict=True)])
    gap_width: dict[int, float] = {}
    if len(gap_faces):
        pieces = _pieces(shapely.coverage_union_all(faces[gap_faces]))
        pw = widths(pieces)
        rp = shapely.point_on_surface(faces[gap_faces])
        fi, pj = shapely.STRtree(pieces).query(rp, predicate="within")
        for f, p in zip(fi, pj, strict=True):
            gap_width[int(gap_faces[f])] = float(pw[p])
    for f in range(len(faces)):
        owner = int(labels[f])
        for g in inside[f]:
            if g == owner:
                continue
            if dropped[f]:
                log.append((codes[g], "clip_to_parent", farea[f], "outside every parent"))
            elif g not in candidates[f]:
                log.append(
                    (
                        codes[g],
                        "clip_to_parent",
                        farea[f],
                        f"outside its parent, inside {parent_codes[face_parent[f]]}",
                    )
                )
            elif owner >= 0:
                log.append(
                    (codes[g], "resolve_overlap", farea[f], f"overlap given to {codes[owner]}")
                )
        if not candidates[f] and not dropped[f] and owner >= 0:
            w = gap_width.get(f, 0.0)
            kind = "sliver_gap" if w < gap_width_m else "gap"
            log.append((codes[owner], "fill_gap", farea[f], f"{kind} {w:.1f} m wide"))
