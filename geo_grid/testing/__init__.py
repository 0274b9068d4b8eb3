"""Shared helpers for tests, benches and doctests: NOT library code (nothing in geo_grid uses it).

They live in the package, not under ``tests/``, because ``bench/`` scripts and doctests use them
too. One module per fixture: :mod:`.addresses` (a small hand-made address library, its grids and
department layers, the national gazetteer of a district, the hand-labelled real addresses and how
a parse is scored) and :mod:`.coverage_layers` (Voronoi grid layers with seeded damage for the
coverage checker's tests and benchmark). Like the library, they hold no place: where a fixture
lies is its argument (a :class:`SamplePlace`, a :class:`MetricFrame`), which the tests and benches
give (a corner of a real district) and the doctests make up.

Examples
--------
>>> library, _, _ = sample_library(made_up_place())
>>> layer = voronoi_layer(20, seed=3, frame=MetricFrame("EPSG:4547", (500_000.0, 3_380_000.0)))
>>> len(layer), sorted(PERTURBATIONS)[:2], len(library) > 0
(20, ['duplicate', 'grow'], True)
"""

from __future__ import annotations

from geo_grid.testing.addresses import (
    PARSED_FIELDS,
    REAL_ADDRESSES,
    SamplePlace,
    district_gazetteer,
    field_scores,
    labelled_addresses,
    made_up_place,
    sample_layers,
    sample_library,
)
from geo_grid.testing.coverage_layers import (
    PERTURBATIONS,
    MetricFrame,
    defect_rows,
    perturb,
    voronoi_cells,
    voronoi_layer,
)

__all__ = [
    "PARSED_FIELDS",
    "PERTURBATIONS",
    "REAL_ADDRESSES",
    "MetricFrame",
    "SamplePlace",
    "defect_rows",
    "district_gazetteer",
    "field_scores",
    "labelled_addresses",
    "made_up_place",
    "perturb",
    "sample_layers",
    "sample_library",
    "voronoi_cells",
    "voronoi_layer",
]
