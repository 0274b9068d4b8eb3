"""The working arrays one check shares between its steps, built once from the grids' segments.

``shapely.coverage_invalid_edges`` flags every grid whose edges do not match its neighbours'.
The check finds the same grids from segment keys alone (:mod:`geo_grid.coverage.suspects`: a
grid they cannot prove clean is flagged, with its open segments standing for GEOS's edges).
Every later step (overlaps, gaps, nesting) works from what is flagged and from the grids'
boundary segments (:class:`geo_grid.coverage.edges.Segments`), not from all pairs or all grids.

>>> import numpy as np, shapely
>>> grids = np.array([shapely.box(0, 0, 2, 1), shapely.box(1, 0, 3, 1), shapely.box(3, 0, 4, 1)])
>>> layer, edges = edge_layer(grids)
>>> layer.flagged.tolist(), len(layer.seg)
([True, True, False], 12)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.coverage.edges import Segments
from geo_grid.coverage.suspects import suspect_edges
from geo_grid.crs import local_crs_for, to_local

__all__ = ["Layer", "Measure", "ParentLines", "edge_layer"]


@dataclass
class Layer:
    """The working arrays of one check: grids (valid polygons, in the layer's CRS), the flagged
    mask (every grid GEOS's edge check flags, and possibly a few it would not), their boundary
    segments and an STRtree over the grids."""

    geoms: NDArray
    flagged: NDArray
    seg: Segments
    tree: shapely.STRtree


def edge_layer(geoms: NDArray) -> tuple[Layer, NDArray]:
    """The arrays the other steps share, and the lines along which each grid may be invalid
    (:func:`geo_grid.coverage.suspects.suspect_edges`: GEOS's invalid edges are among them;
    empty for a grid proven clean). No GEOS pass: a flagged grid is one segment keys cannot
    prove clean, which every grid GEOS flags is (``tests/geo_grid/test_coverage_suspects.py``);
    the check finds the same defects with GEOS's edges (the same test file)."""
    seg, tree = Segments.of(geoms, valid=True), shapely.STRtree(geoms)  # grids are valid here
    edges = suspect_edges(geoms, seg, tree)
    flagged = ~shapely.is_empty(edges) if len(geoms) else np.zeros(0, dtype=bool)
    return Layer(geoms, flagged, seg, tree), edges


@dataclass
class ParentLines:
    """Parents (layer CRS), their boundary segments, and which segments no grid draws the same
    way (``loose``: where a grid may cross the boundary or leave the parent open)."""

    geoms: NDArray
    seg: Segments
    loose: NDArray

    @classmethod
    def of(cls, geoms: NDArray, layer: Layer) -> ParentLines:
        seg = Segments.of(geoms)
        return cls(geoms, seg, ~seg.found_in(layer.seg))


@dataclass(frozen=True)
class Measure:
    """How defects are measured: in metres (:func:`geo_grid.crs.to_local`, each piece in its
    own zone for ``"auto"``), with a noise floor below which a piece is not reported.

    The whole-layer GEOS passes run in the layer's own CRS (a projection maps shared vertices to
    shared vertices, so they find the same defects); only the few defect pieces are projected.
    """

    crs: Any  # the layer's CRS
    local_crs: str
    noise_area: float
    noise_width: float

    def __call__(self, geoms):
        """``geoms`` (one geometry or an array) in metres."""
        return to_local(geoms, self.local_crs, crs=self.crs, each=True)

    def names(self, geoms) -> NDArray:
        """The metric CRS each geometry is measured in."""
        return local_crs_for(geoms, self.crs, self.local_crs, each=True)

    def keep(self, areas: NDArray, widths: NDArray) -> NDArray:
        """Pieces above the noise floor in both area and width."""
        return (areas >= self.noise_area) & (widths >= self.noise_width)
