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
from geo_grid.coverage.polygons import polygonal_all, widths
from geo_grid.coverage.suspects import suspect_edges
from geo_grid.crs import from_local, local_crs_for, to_local

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
#: noise floor) must hold for the core to stand for the piece (:meth:`Measure.read`).
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

    def read(self, geoms) -> tuple[NDArray, NDArray, NDArray, NDArray]:
        """Pieces as reported and as measured: ``(pieces, pieces in metres, areas, widths)``,
        widths by :func:`geo_grid.coverage.polygons.widths` with a second reading where that
        estimate alone would call a piece of real area noise.

        Why: the estimate reads a piece's perimeter, so a hair an overlay or a walk leaves on a
        piece (a run of no width along a line two grids draw nearly alike) hides it. A damaged
        test layer's brute overlay gave a 2.9 m² piece 0.68 m wide a 138 m hair (read 0.02 m,
        under the 5 cm floor), and the demo's ecology layer had a 75 m² gap 4.07 m wide with
        two 1.75 km spikes, which the check did not report. Pieces above the area floor and
        below the width floor are read again without what is narrower than the floor (an
        opening: in by half the floor, out again, mitred); where that core keeps
        :data:`_CORE_SHARE` of the area (what went was a hair, length without area), the core
        gives the width and is the piece reported (back in the layer's CRS), so a map does not
        draw kilometres of hair. A strip that only tapers above the floor at one end stays
        noise (the demo's politics_law layer: 34 m² along 1.5 km, 2.3 cm on average). Few
        pieces are read twice (7 of ~2,500 on 10,000 grids with 10 % perturbed); GEOS's maximum
        inscribed circle was tried as the second reading: ~1 ms a piece, 12 at 1 cm tolerance.

        >>> m = Measure("EPSG:4547", "EPSG:4547", 0.01, 0.05)
        >>> core = shapely.box(0, 0, 3.5, 0.7)
        >>> spiked = shapely.Polygon([(0, 0), (3.5, 0), (3.5, 0.7), (0, 0.7), (0, 0.35),
        ...                           (-138, 0.35), (0, 0.3499999)])
        >>> pieces, _, areas, widths_m = m.read([core, spiked])
        >>> [round(float(w), 2) for w in widths_m], [round(p.length, 1) for p in pieces]
        ([0.7, 0.7], [8.4, 8.4])
        """
        geoms = np.asarray(geoms, dtype=object)
        geoms_m = np.asarray(self(geoms), dtype=object)
        area, width = np.nan_to_num(shapely.area(geoms_m)), widths(geoms_m)
        doubt = np.flatnonzero((width < self.noise_width) & (area >= self.noise_area))
        if len(doubt) == 0:
            return geoms, geoms_m, area, width
        half = self.noise_width / 2
        inner = shapely.buffer(geoms_m[doubt], -half, join_style="mitre")
        core = shapely.buffer(inner, half, join_style="mitre")  # a rectangle comes back whole
        hair = shapely.area(core) >= _CORE_SHARE * area[doubt]
        cut, core = doubt[hair], core[hair]
        multi = shapely.get_type_id(geoms[cut]) == 6
        core[multi] = polygonal_all(core[multi])  # the type each step reports
        geoms, geoms_m = geoms.copy(), geoms_m.copy()
        width[cut] = np.maximum(width[cut], widths(core))
        geoms_m[cut] = core
        geoms[cut] = from_local(core, self.names(geoms[cut]), self.crs)
        return geoms, geoms_m, area, width

    def keep(self, areas: NDArray, widths: NDArray) -> NDArray:
        """Pieces above the noise floor in both area and width."""
        return (areas >= self.noise_area) & (widths >= self.noise_width)
