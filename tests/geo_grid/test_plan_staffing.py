"""Who is on duty once a plan is published: the roster follows merges and recodes.

On tiny hand-built layers run through the real edits (:func:`geo_grid.plans.merge_grids`,
:func:`~geo_grid.plans.recode_grid`), their ``renames`` kept in a log as the service keeps them:
a merged grid's people go to the grid kept, a recoded grid's to its new code, chains compose, an
undone edit moves nobody, the planner's choice replaces what a merge carries, and the publish's
writes (moved, retired, added) give exactly that roster.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from geo_grid import plans

COMM = "320113001001"
X0, Y0, D = 118.90, 32.10, 0.002


def _layer() -> gpd.GeoDataFrame:
    """Three grids in a row (001 | 002 | 003) of one community."""
    geoms = [shapely.box(X0 + i * D, Y0, X0 + (i + 1) * D, Y0 + D) for i in range(3)]
    return gpd.GeoDataFrame(
        {"code": [f"{COMM}00{i + 1}" for i in range(3)], "name": ["一", "二", "三"],
         "community_code": COMM, "households": [100, 120, 140]},
        geometry=geoms, crs=4490,
    )  # fmt: skip


def _ctx() -> plans.PlanContext:
    comm = gpd.GeoDataFrame(
        {"code": [COMM], "kind": ["urban"]},
        geometry=[shapely.box(X0, Y0, X0 + 3 * D, Y0 + D)],
        crs=4490,
    )
    return plans.PlanContext(communities=comm)


def _roster() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5],
            "grid_code": [f"{COMM}001", f"{COMM}002", f"{COMM}002", f"{COMM}003", f"{COMM}002"],
            "person_id": ["p1", "p2", "p1", "p3", "h1"],
            "role": ["grid_worker", "grid_worker", "grid_worker", "grid_leader", "party_household"],
        }
    )


def _log(*results: plans.EditResult) -> list[dict]:
    """The plan's log as the service writes it: each edit's renames kept with its impact."""
    return [
        {"seq": i + 1, "op": r.op, "params": r.params, "impact": {"renames": r.renames}}
        for i, r in enumerate(results)
    ]


def _people(after: pd.DataFrame, code: str) -> set[tuple[str, str]]:
    rows = after.loc[after["grid_code"] == code]
    return set(zip(rows["person_id"], rows["role"], strict=True))


def test_a_merged_grids_people_go_to_the_grid_kept_and_a_recode_moves_them_on():
    layer, ctx = _layer(), _ctx()
    merged = plans.merge_grids(layer, [f"{COMM}001", f"{COMM}002"], keep=f"{COMM}001", ctx=ctx)
    recoded = plans.recode_grid(merged.layer, f"{COMM}001", new_code=f"{COMM}050", ctx=ctx)
    moves = plans.code_moves(_log(merged, recoded))
    assert moves == {f"{COMM}001": f"{COMM}050", f"{COMM}002": f"{COMM}050"}
    after = plans.roster_after(_roster(), None, moves)
    assert _people(after, f"{COMM}050") == {
        ("p1", "grid_worker"),
        ("p2", "grid_worker"),
        ("h1", "party_household"),
    }  # p1 of both grids once
    assert _people(after, f"{COMM}001") == set() and _people(after, f"{COMM}002") == set()
    codes = recoded.layer["code"].tolist()
    counts = plans.on_duty_counts(codes, after)
    assert counts[f"{COMM}050"] == 2 and counts[f"{COMM}003"] == 1  # 党员中心户 not on duty
    assert plans.unstaffed(codes, after) == []
    # the stored roster as it was (no moves) leaves the recoded grid with nobody
    assert plans.unstaffed(codes, plans.roster_after(_roster(), None, {})) == [f"{COMM}050"]


def test_an_undone_merge_moves_nobody():
    layer, ctx = _layer(), _ctx()
    merged = plans.merge_grids(layer, [f"{COMM}002", f"{COMM}003"], keep=f"{COMM}003", ctx=ctx)
    log = [*_log(merged), {"seq": 2, "op": plans.UNDO, "params": {"seq": 1}, "impact": {}}]
    assert plans.code_moves(log) == {}


def test_the_planners_choice_replaces_what_a_merge_carries():
    moves = {f"{COMM}002": f"{COMM}001"}
    planned = pd.DataFrame(
        {"grid_code": [f"{COMM}001"], "person_id": ["p2"], "role": ["grid_leader"]}
    )
    chosen = plans.roster_after(_roster(), planned, moves, chosen={f"{COMM}001"})
    assert _people(chosen, f"{COMM}001") == {("p1", "grid_worker"), ("p2", "grid_leader")}
    carried = plans.roster_after(_roster(), planned, moves)
    assert _people(carried, f"{COMM}001") == {
        ("p1", "grid_worker"), ("p2", "grid_worker"), ("p2", "grid_leader"),
        ("h1", "party_household"),
    }  # fmt: skip


def test_the_publishs_writes_give_the_roster_as_it_will_be():
    roster = _roster()
    moves = {f"{COMM}002": f"{COMM}001", f"{COMM}003": f"{COMM}050"}
    planned = pd.DataFrame(
        {"grid_code": [f"{COMM}050", f"{COMM}001"], "person_id": ["p9", "p1"],
         "role": ["grid_worker", "grid_worker"]}
    )  # fmt: skip
    codes = {f"{COMM}001", f"{COMM}050"}
    moved, retired, added = plans.roster_changes(roster, planned, moves, (), codes)
    # row 3 (p1 of 002) would land on p1's own row of 001: retired, not a second row
    assert moved == {2: f"{COMM}001", 4: f"{COMM}050", 5: f"{COMM}001"} and retired == [3]
    assert added.to_dict("records") == [
        {"grid_code": f"{COMM}050", "person_id": "p9", "role": "grid_worker"}
    ]  # p1 planned on 001 is there already
    written = roster.loc[~roster["id"].isin(retired)].copy()
    written["grid_code"] = [moved.get(i, c) for i, c in zip(written["id"], written["grid_code"],
                                                             strict=True)]  # fmt: skip
    written = pd.concat([written, added], ignore_index=True)
    expected = plans.roster_after(roster, planned, moves)
    key = ["grid_code", "person_id", "role"]
    assert sorted(map(tuple, written[key].to_numpy())) == sorted(
        map(tuple, expected[key].to_numpy())
    )


def test_a_move_to_a_code_the_draft_lacks_leaves_the_row():
    moved, retired, added = plans.roster_changes(
        _roster(), None, {f"{COMM}003": f"{COMM}099"}, (), {f"{COMM}001", f"{COMM}002"}
    )
    assert moved == {} and retired == [] and added.empty


def test_a_layer_nobody_is_on_the_roster_of_publishes_its_plans_people():
    """A department layer (or a copy) with no roster yet: the plan's people are added, nothing
    moved (an empty roster lost its row ids: KeyError 'id' in the publish before the fix)."""
    empty = _roster().iloc[:0]
    planned = pd.DataFrame({"grid_code": ["a"], "person_id": ["p9"], "role": ["grid_worker"]})
    moved, retired, added = plans.roster_changes(empty, planned, {"b": "a"}, (), {"a"})
    assert (
        moved == {}
        and retired == []
        and added.to_dict("records")
        == [{"grid_code": "a", "person_id": "p9", "role": "grid_worker"}]
    )


def test_roles_off_duty_are_judged_by_duty():
    from geo_grid.roster import DEFAULT_ROLES, RosterRole

    roles = [*DEFAULT_ROLES, RosterRole("zhuanzhi", "专职网格员", "grid_worker")]
    off = plans.off_duty_keys(roles)
    assert "zhuanzhi" not in off and {"building_leader", "party_household"} <= off
    roster = pd.DataFrame(
        {
            "grid_code": ["a", "b"],
            "person_id": ["p1", "p2"],
            "role": ["building_leader", "zhuanzhi"],
        }
    )
    assert plans.on_duty_counts(["a", "b"], roster, off_duty=off).to_dict() == {"a": 0, "b": 1}
