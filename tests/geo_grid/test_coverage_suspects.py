"""GEOS's edge pass run on suspects only gives the whole-layer pass's edges, the suspects' open
segments hold them, and the check (which runs no GEOS pass) finds the same defects as with the
whole-layer pass's edges, on damaged layers of every shape the argument of ``geo_grid.coverage.suspects``
must cover: overlaps, gaps, duplicates, T-junctions, grids touching at a point from outside
and from inside, holes pinched against the shell, islands filling a hole, multi-part grids."""

from __future__ import annotations

from unittest.mock import patch

import geopandas as gpd
import numpy as np
import shapely
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from sample_places import QIXIA_FRAME

import geo_grid.coverage.layer as layer_module
from geo_grid.coverage import check_coverage
from geo_grid.coverage.edges import Segments, occurs_once
from geo_grid.coverage.suspects import invalid_edges, suspect_edges, suspects
from geo_grid.testing import PERTURBATIONS, defect_rows, perturb, voronoi_layer

LOCAL = "EPSG:4549"
X0, Y0 = 380_000.0, 3_550_000.0


def _whole(geoms):
    return shapely.coverage_invalid_edges(geoms, gap_width=0.0)


def assert_same_edges(geoms) -> None:
    """Every flagged grid is a suspect or a duplicate, GEOS on the suspects gives the same
    edges (the same lines: a duplicate's are its segments, not merged into runs), and the lines
    :func:`suspect_edges` gives each flagged grid hold its edges."""
    geoms = np.asarray(geoms, dtype=object)
    whole = _whole(geoms)
    flagged = ~shapely.is_empty(whole)
    seg, tree = Segments.of(geoms), shapely.STRtree(geoms)
    suspect = suspects(geoms, seg, tree)
    fast = invalid_edges(geoms, seg, tree, whole_layer=np.inf)  # never the whole layer
    assert np.array_equal(~shapely.is_empty(fast), flagged)
    assert shapely.equals(fast[flagged], whole[flagged]).all()
    assert suspect[flagged & ~_all_twice_drawn(geoms)].all()
    lines = suspect_edges(geoms, seg, tree)  # what the check uses instead of GEOS's edges
    assert not shapely.is_empty(lines[flagged]).any()
    assert shapely.covers(lines[flagged], whole[flagged]).all()
    assert_same_table(geoms)


def assert_same_table(geoms) -> None:
    """``Segments.of(valid=True)`` (one-ring polygons oriented by their signed area, no ring
    copied out) gives the table built from GEOS's rings and ``is_ccw``."""
    slow, fast = Segments.of(geoms), Segments.of(geoms, valid=True)
    for name in ("xy", "ia", "ib", "owner", "key", "back", "ring_owner", "repeated"):
        assert np.array_equal(getattr(slow, name), getattr(fast, name)), name
    keys, counts = np.unique(fast.key, return_counts=True)  # drawn the same way twice or more
    assert np.array_equal(fast.same_side(), np.isin(fast.key, keys[counts > 1]))
    built = ~np.equal(fast.rings, None)
    assert shapely.equals_exact(slow.rings[built], fast.rings[built], 0).all()


def _all_twice_drawn(geoms) -> np.ndarray:
    """Grids each of whose segments another grid draws (either way): a duplicate and its twin,
    decided without GEOS."""
    seg = Segments.of(geoms)
    shared = ~occurs_once(seg.key ^ seg.back)
    return np.bincount(seg.owner[~shared], minlength=len(geoms)) == 0


def _split_edge(geom, k: int):
    """The grid with a vertex added in the middle of its ``k``-th edge (a T-junction: its
    neighbour does not have it)."""
    coords = np.asarray(shapely.get_parts(geom)[0].exterior.coords)
    k %= len(coords) - 1
    mid = (coords[k] + coords[k + 1]) / 2
    return shapely.Polygon(np.insert(coords, k + 1, mid, axis=0))


def _hole_with_island(geom):
    """The grid with a hole cut around its centre, and the island filling it exactly."""
    poly = shapely.get_parts(geom)[0]
    c = np.asarray(poly.centroid.coords[0])
    ring = c + np.array([(-20, -20), (20, -20), (20, 20), (-20, 20), (-20, -20)])
    return shapely.Polygon(poly.exterior.coords, [ring[::-1]]), shapely.Polygon(ring)


damage = st.lists(
    st.tuples(
        st.sampled_from((*PERTURBATIONS, "split_edge", "hole_island")),
        st.floats(0.0, 1.0, exclude_max=True),
        st.floats(0.5, 60.0),
    ),
    min_size=0,
    max_size=10,
)


def _damaged_voronoi(seed: int, n: int, hurts) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frame = voronoi_layer(n, seed, QIXIA_FRAME)
    extra = []
    for kind, where, amount in hurts:
        cell = int(where * len(frame))
        geom = frame.geometry.iloc[cell]
        if geom is None or geom.is_empty:  # emptied by an earlier hurt: nothing left to damage
            continue
        if kind == "split_edge":
            frame.loc[frame.index[cell], "geometry"] = _split_edge(
                frame.geometry.iloc[cell], int(amount)
            )
        elif kind == "hole_island":
            holed, island = _hole_with_island(frame.geometry.iloc[cell])
            frame.loc[frame.index[cell], "geometry"] = holed
            extra.append(island)
        else:
            frame = perturb(frame, kind, cell, amount, rng)
    geoms = np.r_[np.asarray(frame.geometry.values, dtype=object), np.asarray(extra, dtype=object)]
    return geoms[~shapely.is_empty(geoms)]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(9, 64), hurts=damage)
# a vertex put in the middle of a shared edge lies half a unit in the last place off it: the
# neighbour's edge and the two halves were taken as meeting only at their ends (found by the
# merged tree's suite)
@example(seed=1, n=48, hurts=[("split_edge", 0.8125, 1.0)])
def test_suspects_give_the_whole_layer_edges_on_damaged_voronoi_layers(seed, n, hurts):
    geoms = _damaged_voronoi(seed, n, hurts)
    assume(bool(shapely.is_valid(geoms).all()))
    assert_same_edges(geoms)


def _lattice(labels: list[int], shifts: list[int], side: int = 6, cell: float = 20.0):
    """Grids made of lattice cells by label (parts meeting at corners, rings around holes pinched
    at a corner, islands), some moved by a fraction of a cell (overlaps, gaps, T-junctions,
    grids touching at a point)."""
    cells = [
        shapely.box(
            X0 + cell * (k % side),
            Y0 + cell * (k // side),
            X0 + cell * (k % side + 1),
            Y0 + cell * (k // side + 1),
        )
        for k in range(side * side)
    ]
    groups: dict[int, list] = {}
    for k, label in enumerate(labels):
        if label >= 0:
            groups.setdefault(label, []).append(cells[k])
    out = []
    for label, members in sorted(groups.items()):
        geom = shapely.union_all(members)
        dx, dy = divmod(shifts[label % len(shifts)], 5)
        out.append(shapely.affinity.translate(geom, (dx - 2) * cell / 4, (dy - 2) * cell / 4))
    return out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    labels=st.lists(st.integers(-1, 9), min_size=36, max_size=36),
    shifts=st.lists(st.sampled_from([12] * 6 + list(range(25))), min_size=10, max_size=10),
)
def test_suspects_give_the_whole_layer_edges_on_pinched_lattice_layers(labels, shifts):
    geoms = _lattice(labels, shifts)
    assume(geoms)
    assert_same_edges(geoms)


def test_each_case_of_the_argument():
    """Hand-made: a grid touching a row from outside at a corner (clean), one poking its corner
    into a neighbour's edge (a T-junction: both flagged), a hole pinched against its shell with
    an island filling it (GEOS flags the shell's edge the island's corner touches, though every
    segment of the island is matched), and a grid lying wholly inside another (no segment of
    either meets another: only the inner one is flagged)."""
    row = [shapely.box(X0 + 10 * i, Y0, X0 + 10 * (i + 1), Y0 + 10) for i in range(4)]
    corner = shapely.box(X0 + 40, Y0 + 10, X0 + 50, Y0 + 20)  # touches the row at one point
    tee = shapely.Polygon([(X0 + 5, Y0 + 10), (X0 + 15, Y0 + 20), (X0 + 5, Y0 + 20)])
    pinched = shapely.Polygon(
        [(X0, Y0 - 30), (X0 + 30, Y0 - 30), (X0 + 30, Y0 - 10), (X0, Y0 - 10)],
        [[(X0 + 10, Y0 - 10), (X0 + 20, Y0 - 20), (X0 + 10, Y0 - 20)]],
    )
    island = shapely.Polygon([(X0 + 10, Y0 - 10), (X0 + 10, Y0 - 20), (X0 + 20, Y0 - 20)])
    inner = shapely.box(X0 + 2, Y0 + 2, X0 + 4, Y0 + 4)
    geoms = np.array([*row, corner, tee, pinched, island, inner], dtype=object)
    assert shapely.is_valid(geoms).all()
    assert_same_edges(geoms)
    flagged = ~shapely.is_empty(_whole(geoms))
    assert flagged.tolist() == [True, False, False, False, False, True, True, False, True]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(16, 49), hurts=damage)
def test_the_check_finds_the_same_defects_as_with_the_whole_layer_pass(seed, n, hurts):
    """check_coverage from segment keys alone (:func:`suspect_edges`) and with the whole-layer
    GEOS pass's edges (the check before the suspects work) reports the same defects."""
    geoms = _damaged_voronoi(seed, n, hurts)
    assume(bool(shapely.is_valid(geoms).all()))
    frame = gpd.GeoDataFrame(
        {"code": [f"G{i}" for i in range(len(geoms))]}, geometry=geoms, crs=LOCAL
    )
    fast = defect_rows(check_coverage(frame))
    with patch.object(layer_module, "suspect_edges", lambda g, _s, _t: _whole(g)):
        assert fast == defect_rows(check_coverage(frame))


def test_the_segment_table_of_valid_polygons_needs_no_ring_copies():
    """Rings either way round, a hole, a hole touching the shell at its first point, parts
    meeting at a point, a one-part MultiPolygon, a repeated point, slivers too flat for the
    signed area's sign to be trusted in floating point, a polygon too big for the numpy path,
    empty and missing geometries."""
    box = shapely.box(X0, Y0, X0 + 10, Y0 + 10)
    shell = [(X0, Y0), (X0 + 10, Y0), (X0 + 10, Y0 + 10), (X0, Y0 + 10)]
    geoms = [
        box,
        shapely.Polygon(shell),  # anti-clockwise
        shapely.Polygon(shell[::-1]),  # clockwise
        shapely.Polygon(shell, [[(X0 + 2, Y0 + 2), (X0 + 4, Y0 + 2), (X0 + 4, Y0 + 4)]]),
        shapely.Polygon(shell, [[(X0, Y0), (X0 + 4, Y0 + 2), (X0 + 2, Y0 + 4)]]),
        shapely.MultiPolygon([box, shapely.box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20)]),
        shapely.MultiPolygon([box]),
        shapely.Polygon([(X0, Y0), (X0 + 10, Y0), (X0 + 10, Y0), (X0 + 10, Y0 + 10)]),
        shapely.Polygon([(X0, Y0), (X0 + 5, Y0 + 1e-9), (X0 + 10, Y0)]),
        shapely.Polygon([(X0, Y0), (X0 + 5, Y0 - 1e-9), (X0 + 10, Y0)]),
        shapely.Polygon([(0, 0), (5, 1e-14), (10, 0)]),
        shapely.Polygon([(0, 0), (5, -1e-14), (10, 0)]),
        shapely.Point(X0, Y0 - 50).buffer(20),  # 65 coordinates: GEOS's rings
        shapely.Polygon(),
        shapely.MultiPolygon(),
        None,
    ]
    assert all(g is None or g.is_valid for g in geoms)
    assert_same_table(np.array(geoms, dtype=object))
    assert_same_table(np.array(geoms[:3], dtype=object))
    assert_same_table(np.empty(0, dtype=object))
