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
from geo_grid.coverage.polygons import widths
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


#: The share of a thin piece's area its core (the piece without what is narrower than the
#: noise floor) must hold for the core's width to be the piece's (:meth:`Measure.widths`).
_CORE_SHARE = 0.9


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

    def widths(self, geoms_m: NDArray) -> NDArray:
        """Widths of pieces in metres (:func:`geo_grid.coverage.polygons.widths`), with a second
        opinion where that estimate alone would call a piece of real area noise.

        Why: the estimate reads a piece's perimeter, so a hair-thin spike an overlay leaves on
        a piece (a collapsed run along a line two layers draw nearly alike) halves it. On a
        damaged test layer a 2.9 m² piece 0.68 m wide came back from GEOS with a 138 m spike
        and read 0.02 m, below the 5 cm floor; another noding of the same overlay had none.
        Pieces above the area floor and below the width floor are read again without what is
        narrower than the floor (a morphological opening: in by half the floor, out again,
        mitred), and where that core holds nearly all their area (:data:`_CORE_SHARE`: what
        was taken off was a hair, length without area) they keep the wider reading. A strip
        that tapers to a little over the floor at one end stays the strip it is (the demo's
        politics_law layer: 34 m² along 1.5 km, 2.3 cm on average, is noise). Few pieces are that thin (7 of ~2,500 on 10,000 grids
        with 10 % perturbed), so the two buffers cost little; GEOS's maximum inscribed circle
        was tried and cost ~1 ms a piece at its default tolerance, ~12 at 1 cm.

        >>> m = Measure("EPSG:4547", "EPSG:4547", 0.01, 0.05)
        >>> core = shapely.box(0, 0, 3.5, 0.7)
        >>> spiked = shapely.Polygon([(0, 0), (3.5, 0), (3.5, 0.7), (0, 0.7), (0, 0.35),
        ...                           (-138, 0.35), (0, 0.3499999)])
        >>> [round(float(w), 2) for w in m.widths(np.array([core, spiked]))]
        [0.7, 0.7]
        """
        geoms_m = np.asarray(geoms_m, dtype=object)
        out = widths(geoms_m)
        doubt = np.flatnonzero(
            (out < self.noise_width) & (np.nan_to_num(shapely.area(geoms_m)) >= self.noise_area)
        )
        if len(doubt) == 0:
            return out
        half = self.noise_width / 2
        inner = shapely.buffer(geoms_m[doubt], -half, join_style="mitre")
        core = shapely.buffer(inner, half, join_style="mitre")  # a rectangle comes back whole
        hair = shapely.area(core) >= _CORE_SHARE * shapely.area(geoms_m[doubt])
        out[doubt[hair]] = np.maximum(out[doubt[hair]], widths(core[hair]))
        return out

    def keep(self, areas: NDArray, widths: NDArray) -> NDArray:
        """Pieces above the noise floor in both area and width."""
        return (areas >= self.noise_area) & (widths >= self.noise_width)
