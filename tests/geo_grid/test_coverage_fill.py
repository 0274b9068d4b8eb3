"""The holes of the clean grids minus the flagged grids in them, walked from segments
(:func:`geo_grid.coverage.fill.fill_holes`), are what an overlay gives: each hole minus the
union of its grids, on damaged layers (grown, shifted, duplicated grids, T-junctions, islands)
and where the walk cannot be trusted (grids meeting at a T-junction inside a hole)."""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_coverage_suspects import X0, Y0, _damaged_voronoi, damage

import geo_grid.coverage.fill as fill_module
from geo_grid.coverage.fill import fill_holes
from geo_grid.coverage.gaps import holes_of
from geo_grid.coverage.layer import edge_layer
from geo_grid.coverage.overlaps import overlap_candidates


def _holes_and_grids(geoms):
    """The layer, the holes of its clean grids' union, and the flagged grids meeting each."""
    layer, edges = edge_layer(np.asarray(geoms, dtype=object))
    clean = layer.geoms[~layer.flagged]
    holes = holes_of(shapely.union_all(clean)) if len(clean) else np.empty(0, dtype=object)
    hj, grid = shapely.STRtree(layer.geoms).query(holes, predicate="intersects")
    keep = layer.flagged[grid]
    order = np.lexsort((grid[keep], hj[keep]))
    return layer, edges, holes, hj[keep][order], grid[keep][order]


def assert_fills_as_overlay(geoms) -> None:
    layer, edges, holes, hj, grid = _holes_and_grids(geoms)
    got = fill_holes(layer, holes, hj, grid, overlap_candidates(layer, edges))
    for h, hole in enumerate(holes):
        inside = layer.geoms[grid[hj == h]]
        want = shapely.difference(hole, shapely.union_all(inside)) if len(inside) else hole
        diff = shapely.symmetric_difference(shapely.make_valid(got[h]), want)
        assert shapely.area(diff) <= 1e-6 * max(shapely.area(hole), 1.0), h
        assert shapely.is_valid(got[h])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(9, 64), hurts=damage)
def test_walked_holes_are_the_overlay_on_damaged_voronoi_layers(seed, n, hurts):
    geoms = _damaged_voronoi(seed, n, hurts)
    assert_fills_as_overlay(geoms[shapely.is_valid(geoms)])


def _block(missing=()):
    """A 5 × 5 block of 10 m squares, without those at ``missing`` (column, row)."""
    return [
        shapely.box(X0 + 10 * i, Y0 + 10 * j, X0 + 10 * i + 10, Y0 + 10 * j + 10)
        for i in range(5)
        for j in range(5)
        if (i, j) not in missing
    ]


def _fill_covers(geoms) -> list[list[int]]:
    """The grids :func:`fill_holes` takes off with an overlay (asserting it gives the overlay's
    answer)."""
    covers = []
    real = fill_module._covers

    def spy(layer, hj, grid):
        covers.append(sorted(grid.tolist()))
        return real(layer, hj, grid)

    with patch.object(fill_module, "_covers", spy):
        assert_fills_as_overlay(geoms)
    return covers


def test_a_grown_grid_over_its_neighbours_is_the_only_overlay():
    """The middle square grown by 2 m over its eight neighbours: they overlap nothing else and
    are walked; only the grown grid is taken off the hole with an overlay."""
    grown = shapely.box(X0 + 18, Y0 + 18, X0 + 32, Y0 + 32)
    geoms = [*_block(missing={(2, 2)}), grown]
    assert _fill_covers(geoms) == [[len(geoms) - 1]]


def test_grids_meeting_at_a_t_junction_in_a_hole_are_unioned():
    """The middle square drawn as two halves, one with a vertex in the middle of the edge it
    shares with the other (a T-junction): a walk would leave a zero-area sliver there, so the
    hole keeps the union of all its grids, and nothing is left of it. (The squares above and
    below draw the halves' ends as one segment, T-junctions too: they are in the hole.)"""
    x, y = X0 + 20, Y0 + 20
    left = shapely.Polygon([(x, y), (x, y + 10), (x + 5, y + 10), (x + 5, y + 5), (x + 5, y)])
    right = shapely.box(x + 5, y, x + 10, y + 10)
    geoms = [*_block(missing={(2, 2)}), left, right]
    above, below = geoms.index(_block()[13]), geoms.index(_block()[11])
    assert _fill_covers(geoms) == [sorted([below, above, len(geoms) - 2, len(geoms) - 1])]


def test_holes_of_take_off_islands_pinched_against_the_hole_once():
    """An island touching its hole's ring at a corner is covered, and a hole of an island is
    one hole, not also part of the hole around the island: the holes partition what is left."""
    frame = shapely.box(0, 0, 10, 10).difference(shapely.box(1, 1, 9, 9))
    notch = shapely.box(1, 1, 2, 2)
    pinched = shapely.box(2, 2, 3, 3)  # touches the notch at (2, 2)
    ring = shapely.box(4, 4, 8, 8).difference(shapely.box(5, 5, 7, 7))  # an island with a hole
    union = shapely.union_all([frame, notch, pinched, ring])
    holes = holes_of(union)
    assert sorted(shapely.area(holes).tolist()) == [4.0, 46.0]
    assert shapely.union_all(holes).area == pytest.approx(
        shapely.box(0, 0, 10, 10).area - union.area
    )
