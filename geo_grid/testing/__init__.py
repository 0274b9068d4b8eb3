"""Shared helpers for tests, benches and doctests: NOT library code (nothing in geo_grid uses it).

They live in the package, not under ``tests/``, because ``bench/`` scripts and doctests use them
too. One module per fixture: :mod:`.addresses` (a small hand-made address library, its grids and
department layers, the national gazetteer of a district, the hand-labelled real addresses and how
a parse is scored) and :mod:`.coverage_layers` (Voronoi grid layers with seeded damage for the
coverage checker's tests and benchmark).

Examples
--------
>>> library, _, _ = sample_library()
>>> layer = voronoi_layer(20, seed=3)
>>> len(layer), sorted(PERTURBATIONS)[:2], len(library) > 0
(20, ['duplicate', 'grow'], True)
"""

from __future__ import annotations

from geo_grid.testing.addresses import (
    PARSED_FIELDS,
    REAL_ADDRESSES,
    district_gazetteer,
    field_scores,
    labelled_addresses,
    sample_district,
    sample_layers,
    sample_library,
)
from geo_grid.testing.coverage_layers import (
    ORIGIN,
    PERTURBATIONS,
    defect_rows,
    perturb,
    voronoi_cells,
    voronoi_layer,
)

__all__ = [
    "ORIGIN",
    "PARSED_FIELDS",
    "PERTURBATIONS",
    "REAL_ADDRESSES",
    "defect_rows",
    "district_gazetteer",
    "field_scores",
    "labelled_addresses",
    "perturb",
    "sample_district",
    "sample_layers",
    "sample_library",
    "voronoi_cells",
    "voronoi_layer",
]
