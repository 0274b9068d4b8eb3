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
