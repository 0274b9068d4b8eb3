"""Plans: edits a planner makes to a draft grid layer, each checked and answered with its impact.

A plan is a draft copy of a published layer. The edits here are pure functions on that copy (a
GeoDataFrame in EPSG:4490 with ``code``, ``community_code`` and ``households``): split a grid by a
line, divide it into given parts, merge neighbours, reshape a grid to a new outline (its neighbours
give up what it takes and take what it gives up), move buildings between grids, recode or rename.

Every edit is checked *incrementally*, because a planner edits one corner of a 1,000-grid layer at
a time and must hear at once why an edit is refused: the grids it changed keep the union they had
(so no gap or overlap can appear against the untouched grids), and the changed grids with their
neighbours pass :func:`geo_grid.coverage.check_coverage` inside their communities. A refused edit
raises :class:`~geo_grid.errors.BadInput` (unusable input) or :class:`~geo_grid.errors.Conflict`
(clashes with the layer, e.g. a code taken) naming the reason; nothing is half-applied because the
input frame is never modified.

The impact of an edit counts what changes grid: addresses, buildings (by a point inside each
footprint), households, open cases and roster assignments, per grid before → after. Balance flags
grids whose households fall outside a target band per community kind, and :func:`suggest` proposes
edits (balanced splits of over-full grids along gaps between buildings, merges of under-full
neighbours) that :func:`apply_edit` applies like any other edit.

Geometry is edited in storage degrees, so the vertices an edit does not touch stay bit-identical to
the neighbours'; only measures (areas, border lengths) are taken in the local metric CRS.

One module per job: :mod:`.context` (:class:`PlanContext`, :class:`Bands`, :class:`EditResult`),
:mod:`._common` (reading a layer and an edit's geometry, metric measures), :mod:`.codes` (next
free codes, names of split-off grids), :mod:`.impact` (which grid each point falls in, the
recount), :mod:`.checks` (the incremental check), :mod:`.assemble` (the layer after an edit and
its result), :mod:`.cells` (building cells), the edits :mod:`.splitting` (split, divide),
:mod:`.merging`, :mod:`.reshaping`, :mod:`.moves` (move buildings) and :mod:`.recoding`,
:mod:`.edits` (edits by name: :data:`EDIT_OPS`, :func:`validate_edit`, :func:`apply_edit`, and
:func:`undo_target`, the edit an undo takes back), :mod:`.staffing` (who will be on duty in each grid), :mod:`.balancing`,
:mod:`.suggestions` and :mod:`.diffs`. Private helpers live in the module that owns them: patch a
private name there, not on this package.

Examples
--------
>>> import geopandas as gpd, shapely
>>> grids = gpd.GeoDataFrame(
...     {"code": ["123456001001001"], "community_code": ["123456001001"], "households": [0]},
...     geometry=[shapely.box(114.30, 30.60, 114.31, 30.61)], crs=4490)
>>> ctx = PlanContext(communities=gpd.GeoDataFrame(
...     {"code": ["123456001001"], "kind": ["urban"]},
...     geometry=[shapely.box(114.30, 30.60, 114.31, 30.61)], crs=4490))
>>> line = shapely.LineString([(114.305, 30.59), (114.305, 30.62)])
>>> result = split_grid(grids, "123456001001001", line, ctx=ctx)
>>> sorted(result.layer.code), result.added
(['123456001001001', '123456001001002'], ['123456001001002'])
"""

from __future__ import annotations

from geo_grid.plans.balancing import balance
from geo_grid.plans.codes import next_codes
from geo_grid.plans.context import Bands, EditResult, PlanContext
from geo_grid.plans.diffs import diff_layers
from geo_grid.plans.edits import (
    EDIT_OPS,
    UNDO,
    apply_edit,
    live_edits,
    undo_target,
    validate_edit,
)
from geo_grid.plans.impact import assign_points
from geo_grid.plans.merging import merge_grids
from geo_grid.plans.moves import move_buildings
from geo_grid.plans.recoding import recode_grid
from geo_grid.plans.reshaping import reshape_grid
from geo_grid.plans.splitting import divide_grid, split_grid
from geo_grid.plans.staffing import (
    OFF_DUTY_ROLES,
    PLAN_DUTIES,
    PLAN_ROSTER_ROLES,
    code_moves,
    off_duty_keys,
    on_duty_counts,
    roster_after,
    roster_changes,
    unstaffed,
)
from geo_grid.plans.suggestions import suggest

__all__ = [
    "EDIT_OPS",
    "OFF_DUTY_ROLES",
    "PLAN_DUTIES",
    "PLAN_ROSTER_ROLES",
    "UNDO",
    "Bands",
    "EditResult",
    "PlanContext",
    "apply_edit",
    "balance",
    "code_moves",
    "diff_layers",
    "divide_grid",
    "merge_grids",
    "move_buildings",
    "live_edits",
    "next_codes",
    "off_duty_keys",
    "on_duty_counts",
    "recode_grid",
    "reshape_grid",
    "roster_after",
    "roster_changes",
    "split_grid",
    "suggest",
    "undo_target",
    "unstaffed",
    "assign_points",
    "validate_edit",
]
