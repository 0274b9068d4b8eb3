"""The grids a gap report names as its neighbours (:func:`geo_grid.coverage.borders.bordering`):
a border drawn on the same line as the gap's but between other vertices is proven long without
the buffer test; a grid meeting the gap at a corner, or running along it for less than 4·tol,
is not named."""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
import shapely

import geo_grid.coverage.borders as borders_module
from geo_grid.coverage.borders import bordering
from geo_grid.coverage.layer import Measure, edge_layer

MEASURE = Measure("EPSG:4547", "EPSG:4547", 0.01, 0.05)  # a metric layer: measured as it is


def _named(grids, gap) -> tuple[list[int], list]:
    """The grids named for ``gap``, and the pairs left to the buffer test."""
    layer, _ = edge_layer(np.asarray(grids, dtype=object))
    tested = []
    real = borders_module._long_borders

    def spy(metric, layer_, pairs, tol, measure):
        tested.extend(pairs.tolist())
        return real(metric, layer_, pairs, tol, measure)

    with patch.object(borders_module, "_long_borders", spy):
        named = bordering(np.array([gap], dtype=object), layer, 0.05, MEASURE)
    return named[0], tested


def test_a_border_between_other_vertices_needs_no_buffer():
    """The gap's sides lie on its neighbours' edges between other vertices (x = 10 from y = 2
    to 8 on an edge from 0 to 10); its bottom meets a grid at a corner only."""
    gap = shapely.box(10, 2, 11, 8)
    left, right = shapely.box(0, 0, 10, 10), shapely.box(11, 0, 21, 10)
    corner = shapely.box(11, -5, 12, 2)  # meets the gap at (11, 2) only
    named, tested = _named([left, right, corner], gap)
    assert named == [0, 1]
    assert [0, 0] not in tested and [0, 1] not in tested  # proven by the lines they share


def test_a_short_shared_stretch_is_left_to_the_buffer_test():
    """A grid whose edge runs along the gap for 0.02 m (~0.12 m of it within tol of the gap,
    round the gap's corner: under 4·tol = 0.2 m) is measured with the buffer and not named; one
    running along it for 0.3 m is named without the buffer."""
    gap = shapely.box(10, 2, 11, 8)
    short = shapely.box(9, 7.98, 10, 9)  # its edge x = 10 runs along the gap from 7.98 to 8
    long_ = shapely.box(9, 1, 10, 2.3)  # from 2 to 2.3
    named, tested = _named([short, long_], gap)
    assert named == [1]
    assert tested == [[0, 0]]


def test_the_tree_finds_the_same_rows_as_the_product():
    """A gap's loose segments meet its candidate grids by a product filtered in numpy, or, past
    ``_MAX_COMBINATIONS`` (a national layer's sea), by the layer's tree: the same rows, in the
    same order, for the gaps of a damaged layer (removed and shrunk grids leave gaps with loose
    edges), and the same report."""
    from geo_grid.coverage import check_coverage
    from geo_grid.testing import PERTURBATIONS, MetricFrame, perturb, voronoi_layer

    rng = np.random.default_rng(5)
    layer = voronoi_layer(300, 5, MetricFrame("EPSG:4549", (380_000.0, 3_550_000.0)))
    for _ in range(40):
        kind = PERTURBATIONS[int(rng.integers(len(PERTURBATIONS)))]
        layer = perturb(layer, kind, int(rng.integers(len(layer))), rng.uniform(1, 20), rng)
    asked = []
    real = borders_module._segments_near

    def spy(*args):
        asked.append(args)
        return real(*args)

    with patch.object(borders_module, "_segments_near", spy):
        by_product = check_coverage(layer).defects
    with patch.object(borders_module, "_MAX_COMBINATIONS", 0):
        by_tree = check_coverage(layer).defects
        rows = [real(*args) for args in asked]
    expected = [real(*args) for args in asked]
    assert sum(len(k) for k, _ in expected) > 50
    for (k1, s1), (k2, s2) in zip(expected, rows, strict=True):
        assert np.array_equal(k1, k2) and np.array_equal(s1, s2)
    columns = ["kind", "ids", "area_m2", "width_m"]
    assert by_product[columns].equals(by_tree[columns])
