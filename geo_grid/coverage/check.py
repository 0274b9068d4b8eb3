"""``check_coverage``: every defect of a grid layer, as polygons, with work bounded by the damage.

Read as geopandas ``sjoin`` reads: :func:`_checked` (inputs), :func:`_find_defects` (one call per
step, each in its own module), :func:`geo_grid.coverage.report.defect_frame` (the report).
"""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.coverage.gaps import find_gaps, gap_defects
from geo_grid.coverage.layer import Measure, ParentLines, edge_layer
from geo_grid.coverage.nesting import Nesting, nesting_defects
from geo_grid.coverage.overlaps import overlap_candidates, overlap_defects
from geo_grid.coverage.parents import Parents
from geo_grid.coverage.progress import Progress, progress_reporter
from geo_grid.coverage.report import CoverageReport, defect, defect_frame
from geo_grid.coverage.validity import clean_geometries, validate_layer
from geo_grid.crs import AUTO, local_crs_for

__all__ = ["check_coverage"]


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
        Holes narrower than this (see :func:`geo_grid.coverage.polygons.widths`) are
        ``sliver_gap``, wider ones ``gap``. 20 m matches the demo's ground truth (slivers 1-20 m
        wide).
    sliver_width_m : float, optional
        Overrides ``gap_width_m`` for the sliver/gap split only.
    local_crs : str
        The metric CRS of every area and width: a district's own Gauss-Krüger zone (its
        profile's ``local_crs``, one of EPSG:4534 to EPSG:4554), or ``"auto"`` to measure each
        defect in the CGCS2000 3-degree zone of
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

    Notes
    -----
    The grids' and the parents' geometry objects are left prepared (``shapely.prepare``, in
    place: the check's predicates ask each grid several times, and copying the layer to
    prepare the copies would cost more than preparing saves). GEOS's prepared geometries are
    not safe to share between threads (libgeos/geos#825): do not run shapely predicates on the
    same geometry objects in another thread while a check runs. The services read each layer
    afresh per request or job, so they never share them.
    """
    step = progress_reporter(progress, 7, "check coverage")
    measure = _checked(grids, parent, local_crs, noise_area_m2, noise_width_m)
    sliver_w = gap_width_m if sliver_width_m is None else sliver_width_m
    defects, parents = _find_defects(
        grids, parent, parent_field, measure, sliver_w, duplicate_share, step
    )
    frame = defect_frame(defects, grids.crs, parents, measure.names)
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


def _checked(grids, parent, local_crs: str, noise_area: float, noise_width: float) -> Measure:
    """Validate the inputs (:class:`geo_grid.errors.BadInput` naming the bad one); returns how
    the defects will be measured."""
    validate_layer(grids, "grids")
    if parent is not None:
        validate_layer(parent, "parent")
    local_crs_for([], grids.crs, local_crs)  # an unknown or unprojected local_crs fails here
    return Measure(grids.crs, local_crs, noise_area, noise_width)


def _find_defects(grids, parent, parent_field, measure, sliver_w, share, step):
    """Every step of the check in order; returns the defect rows and the parents read."""
    codes = grids["code"].astype(str).to_numpy()
    work, defects = clean_geometries(np.asarray(grids.geometry.array, dtype=object), codes)
    present = np.flatnonzero(~shapely.is_missing(work))
    pgeoms, pcodes = work[present], codes[present]
    step("validity")
    defects += _duplicate_codes(codes, work)
    step("codes")
    layer, edges = edge_layer(pgeoms)
    step("edges")
    near = overlap_candidates(layer, edges)
    defects += overlap_defects(layer, near, pcodes, measure, share)
    step("overlaps")
    parents = Parents.read(parent, grids.crs) if parent is not None else None
    lines = ParentLines.of(parents.geoms, layer) if parents is not None else None
    gaps = find_gaps(layer, lines, near)
    step("gaps")
    defects += gap_defects(gaps, layer, pcodes, parents, measure, sliver_w)
    step("gap widths")
    if parents is not None:
        stated = _stated(grids, parent_field, present)
        nest = Nesting.of(layer, pcodes, stated, parents, lines, near, measure)
        defects += nesting_defects(layer, nest)
    step("parents")
    return defects, parents


def _duplicate_codes(codes: NDArray, work: NDArray) -> list[dict]:
    """One ``duplicate_code`` defect per code used more than once, located at its grids.

    Counted by a ``Counter`` of the codes as Python strings: pandas' ``value_counts`` cost
    1.6 ms for 10,000 codes, this 0.7 (the report sorts the defects afterwards)."""
    counts = Counter(codes.tolist())
    defects = []
    for code in (c for c, k in counts.items() if k > 1):
        members = [g for g in work[codes == code] if g is not None]
        where = shapely.MultiPolygon([p for g in members for p in shapely.get_parts(g)])
        defects.append(defect("duplicate_code", [code], 0.0, np.nan, where if members else None))
    return defects


def _stated(grids: gpd.GeoDataFrame, field: str, present: NDArray) -> NDArray:
    """The parent code each usable grid states in ``field`` (None everywhere without it)."""
    if field in grids.columns:
        return grids[field].to_numpy()[present]
    return np.full(len(present), None, dtype=object)
