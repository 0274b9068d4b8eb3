"""Edits by name: the operations a plan's edit log stores (JSON parameters, geometry as GeoJSON),
the one entry point that replays them, and which edit an undo takes back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd

from geo_grid.errors import BadInput
from geo_grid.plans._common import require_valid, row_index
from geo_grid.plans.context import EditResult, PlanContext
from geo_grid.plans.merging import merge_grids
from geo_grid.plans.moves import move_buildings
from geo_grid.plans.recoding import recode_grid
from geo_grid.plans.reshaping import reshape_grid
from geo_grid.plans.splitting import divide_grid, split_grid

__all__ = ["EDIT_OPS", "UNDO", "apply_edit", "live_edits", "undo_target", "validate_edit"]


#: Edit operations by name, with the parameter names each takes (JSON-ready; geometry as GeoJSON).
EDIT_OPS: dict[str, tuple[str, ...]] = {
    "split": ("grid", "line"),
    "divide": ("grid", "parts"),
    "merge": ("grids", "keep"),
    "reshape": ("grid", "geometry"),
    "move_buildings": ("buildings", "to"),
    "recode": ("grid", "code", "name"),
}


#: The log's operation that takes an edit back (its ``params``: ``{"seq": the edit undone}``).
UNDO = "undo"
#: Edits of the log an undo may take back: the edits by name and a whole file imported.
_UNDOABLE = frozenset({*EDIT_OPS, "import"})


def live_edits(log: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The edits of ``log`` (the plan's edit log in order: ``seq``, ``op``, ``params``) that
    stand: not undone (undos pop edits off a stack in order; an undo names the edit it took
    back), in order.

    >>> log = [{"seq": 1, "op": "split", "params": {}}, {"seq": 2, "op": "merge", "params": {}},
    ...        {"seq": 3, "op": "undo", "params": {"seq": 2}}]
    >>> [e["seq"] for e in live_edits(log)]
    [1]
    """
    stack: list[Mapping[str, Any]] = []
    for entry in log:
        if entry["op"] == UNDO:
            undone = (entry.get("params") or {}).get("seq")
            if stack and stack[-1]["seq"] == undone:
                stack.pop()
        elif entry["op"] in _UNDOABLE:
            stack.append(entry)
    return stack


def undo_target(log: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The edit an undo takes back now: the last edit of the log not undone yet
    (:func:`live_edits`), or None when there is none.

    >>> log = [{"seq": 1, "op": "split", "params": {}}, {"seq": 2, "op": "merge", "params": {}},
    ...        {"seq": 3, "op": "undo", "params": {"seq": 2}}]
    >>> undo_target(log)["seq"]
    1
    >>> undo_target(log + [{"seq": 4, "op": "undo", "params": {"seq": 1}}]) is None
    True
    """
    stack = live_edits(log)
    return stack[-1] if stack else None


def apply_edit(
    layer: gpd.GeoDataFrame, op: str, params: Mapping[str, Any], *, ctx: PlanContext
) -> EditResult:
    """Apply one edit by name with JSON parameters (the form stored in a plan's edit log), once
    :func:`validate_edit` passes.

    >>> apply_edit(None, "explode", {}, ctx=None)
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: op: unknown edit 'explode' (known: split, divide, merge, reshape, move_buildings, recode)
    """
    validate_edit(layer, op, params)
    return _dispatch(layer, op, params, ctx=ctx)


def validate_edit(layer: gpd.GeoDataFrame, op: str, params: Mapping[str, Any]) -> None:
    """Refuse an edit from its name and parameters and the grids it names, before anything
    around it is read: an unknown edit or parameter, a missing one, a grid the layer lacks
    (:class:`NotFound`) or one that is not a valid polygon. A plan's surroundings (buildings,
    addresses, open cases) take seconds to read; an unknown code once cost all of them.

    >>> import geopandas as gpd, shapely
    >>> layer = gpd.GeoDataFrame({"code": ["g1"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4490)
    >>> validate_edit(layer, "recode", {"grid": "g2", "name": "x"})
    Traceback (most recent call last):
    ...
    geo_grid.errors.NotFound: grid: no grid 'g2' in this plan
    """
    if op not in EDIT_OPS:
        raise BadInput(f"op: unknown edit {op!r} (known: {', '.join(EDIT_OPS)})", field="op")
    unknown = set(params) - set(EDIT_OPS[op])
    if unknown:
        raise BadInput(f"{op}: unknown parameter {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    need = {"split": ("grid", "line"), "divide": ("grid", "parts"), "merge": ("grids",),
            "reshape": ("grid", "geometry"), "move_buildings": ("buildings", "to"),
            "recode": ("grid",)}[op]  # fmt: skip
    for key in need:
        if params.get(key) in (None, "", []):
            raise BadInput(f"{key}: required for {op}", field=key)
    named = _named_grids(params)
    for code in named:
        row_index(layer, code)  # NotFound naming it
    require_valid(layer, named)


def _dispatch(
    layer: gpd.GeoDataFrame, op: str, params: Mapping[str, Any], *, ctx: PlanContext
) -> EditResult:
    if op == "split":
        return split_grid(layer, params["grid"], params["line"], ctx=ctx)
    if op == "divide":
        return divide_grid(layer, params["grid"], params["parts"], ctx=ctx)
    if op == "merge":
        return merge_grids(layer, params["grids"], keep=params.get("keep"), ctx=ctx)
    if op == "reshape":
        return reshape_grid(layer, params["grid"], params["geometry"], ctx=ctx)
    if op == "move_buildings":
        return move_buildings(layer, params["buildings"], params["to"], ctx=ctx)
    return recode_grid(
        layer, params["grid"], new_code=params.get("code"), name=params.get("name"), ctx=ctx
    )


def _named_grids(params: Mapping[str, Any]) -> list[str]:
    """The grids an edit names: the ones it cuts, joins, reshapes or recodes, or grows (``to``).
    (A building move's source grids are checked as it finds them.)"""
    named = params.get("grids") or [params.get("grid") or params.get("to")]
    return [c for c in named if isinstance(c, str)]
