"""Who will be on duty in each grid of a plan once it is published, and what the publish writes.

A split gives its new grid a code nobody is on the roster of: published as it is, the grid would
answer every case routed to it with nobody to send, so the planner puts people on it in the plan.
A merge and a recode move codes instead: the people of a merged grid go to the grid that survives
the merge, and a recoded grid's people to its new code (the edits' ``renames``, kept in the plan's
log: :func:`code_moves`). :func:`roster_after` is the roster as it will be, grid by grid:

- the grid's own people (the stored roster of its code, when the plan kept the code);
- the people *carried* in from the codes the plan moved to it, unless the planner chose in the
  plan whom the grid gets from them (``chosen``: the planner's entries are then the choice);
- the people the planner put on duty in the plan (``planned``, following later moves too).

A grid with nobody on duty is *unstaffed*. Duties, not role keys, decide who is on duty (roles are
each district's data, :mod:`geo_grid.roster`): 党员中心户 are households a grid looks after, and
roles with the duty ``none`` (楼栋长 …) are listed, never on duty. :func:`roster_changes` turns the
roster as it will be into what the publish writes: rows moved to a new code, rows retired, rows
added.

Examples
--------
>>> import pandas as pd
>>> roster = pd.DataFrame({"grid_code": ["a", "a", "b"], "person_id": ["p1", "p2", "p3"],
...                        "role": ["grid_leader", "grid_worker", "party_household"]})
>>> planned = pd.DataFrame({"grid_code": ["c"], "person_id": ["p2"], "role": ["grid_worker"]})
>>> on_duty_counts(["a", "b", "c", "d"], roster, planned).to_dict()
{'a': 2, 'b': 0, 'c': 1, 'd': 0}
>>> unstaffed(["a", "b", "c", "d"], roster, planned)
['b', 'd']

Grid ``a`` merged into ``e``, ``e`` recoded to ``f``: ``a``'s people end in ``f``.

>>> log = [{"seq": 1, "op": "merge", "impact": {"renames": {"a": "e"}}},
...        {"seq": 2, "op": "recode", "impact": {"renames": {"e": "f"}}}]
>>> code_moves(log)
{'a': 'f', 'e': 'f'}
>>> after = roster_after(roster, None, code_moves(log))
>>> after[["grid_code", "person_id", "source", "from_code"]].values.tolist()
[['b', 'p3', 'own', 'b'], ['f', 'p1', 'carried', 'a'], ['f', 'p2', 'carried', 'a']]
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from geo_grid.plans.edits import live_edits

__all__ = [
    "OFF_DUTY_ROLES",
    "PLAN_DUTIES",
    "PLAN_ROSTER_ROLES",
    "code_moves",
    "off_duty_keys",
    "on_duty_counts",
    "roster_after",
    "roster_changes",
    "unstaffed",
]

#: Roster roles that are not people on duty when a district's roles are not at hand (the
#: default roles' keys; a district's own roles are judged by their duty: :func:`off_duty_keys`).
OFF_DUTY_ROLES = frozenset({"party_household"})
#: The duties of the roles a planner may put on duty in a plan.
PLAN_DUTIES = ("grid_leader", "grid_worker", "police", "dept_member")
#: The default roles a planner may assign (their keys are their duties).
PLAN_ROSTER_ROLES = PLAN_DUTIES
#: Where a grid's person comes from in :func:`roster_after`, in the order one row is kept.
SOURCES = ("own", "carried", "planned")

_COLUMNS = ["grid_code", "person_id", "role", "source", "from_code"]


def code_moves(log: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Where each code the plan moved ends: the ``renames`` (old code → new code) of the edits
    of ``log`` (the plan's log in order: ``seq``, ``op``, ``params``, ``impact``) not undone,
    composed in order. A code moved back where it was is not moved (what the plan put on the
    code in between follows it back).

    >>> code_moves([{"seq": 1, "op": "recode", "impact": {"renames": {"a": "b"}}},
    ...             {"seq": 2, "op": "recode", "impact": {"renames": {"b": "a"}}}])
    {'b': 'a'}
    >>> code_moves([{"seq": 1, "op": "recode", "impact": {"renames": {"a": "b"}}},
    ...             {"seq": 2, "op": "undo", "params": {"seq": 1}}])
    {}
    """
    moves: dict[str, str] = {}
    for edit in live_edits(log):
        renames = {
            str(k): str(v) for k, v in ((edit.get("impact") or {}).get("renames") or {}).items()
        }
        if not renames:
            continue
        moves = {old: renames.get(new, new) for old, new in moves.items()}
        for old, new in renames.items():
            moves.setdefault(old, new)
    return {old: new for old, new in moves.items() if old != new}


def _frame(rows: pd.DataFrame | None, extra: Sequence[str] = ()) -> pd.DataFrame:
    """``rows`` (``grid_code``, ``person_id``, ``role`` and ``extra``) as strings; none: empty."""
    columns = ["grid_code", "person_id", "role", *extra]
    if rows is None or not len(rows):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return rows[columns].astype({"grid_code": str, "person_id": str, "role": str})


def roster_after(
    roster: pd.DataFrame | None,
    planned: pd.DataFrame | None,
    moves: Mapping[str, str] | None = None,
    chosen: Collection[str] = (),
) -> pd.DataFrame:
    """The roster as it will be once the plan is published: one row per grid, person and role
    (``grid_code``, ``person_id``, ``role``, ``source``: own, carried or planned, ``from_code``:
    the code the row is stored under now), sorted by grid, person and role.

    ``roster`` is the stored roster (``grid_code``, ``person_id``, ``role``; more columns, such
    as the row's ``id``, are kept), ``planned`` the plan's entries, ``moves`` :func:`code_moves`
    and ``chosen`` the grids whose roster the planner set in the plan: carried people do not go
    to those (the planner's entries say whom they get). A row twice (a person of both merged
    grids) is kept once, its own row first.

    >>> roster = pd.DataFrame({"grid_code": ["a", "b"], "person_id": ["p1", "p2"],
    ...                        "role": ["grid_worker", "grid_worker"]})
    >>> planned = pd.DataFrame({"grid_code": ["a"], "person_id": ["p9"], "role": ["grid_leader"]})
    >>> roster_after(roster, planned, {"b": "a"}, chosen={"a"})["person_id"].tolist()
    ['p1', 'p9']
    >>> roster_after(roster, planned, {"b": "a"})["person_id"].tolist()
    ['p1', 'p2', 'p9']
    """
    moves = dict(moves or {})
    # an empty roster keeps its columns (a publish reads the rows' ids from what comes back)
    stored = _frame(None) if roster is None else roster.copy()
    stored = stored.astype({"grid_code": str, "person_id": str, "role": str})
    stored["from_code"] = stored["grid_code"]
    stored["grid_code"] = stored["from_code"].map(lambda c: moves.get(c, c))
    stored["source"] = ["own" if a == b else "carried"
                        for a, b in zip(stored["grid_code"], stored["from_code"], strict=True)]  # fmt: skip
    skip = (stored["source"] == "carried") & stored["grid_code"].isin(set(chosen))
    stored = stored.loc[~skip]
    plan = _frame(planned)
    plan = plan.assign(from_code=plan["grid_code"], source="planned")
    plan["grid_code"] = plan["from_code"].map(lambda c: moves.get(c, c))
    both = pd.concat([stored, plan], ignore_index=True)
    both["_order"] = both["source"].map(SOURCES.index)
    both = both.sort_values(["grid_code", "person_id", "role", "_order"], kind="stable")
    both = both.drop_duplicates(["grid_code", "person_id", "role"]).drop(columns="_order")
    columns = _COLUMNS + [c for c in both.columns if c not in _COLUMNS]
    return both[columns].reset_index(drop=True)


def off_duty_keys(roles: Iterable[Any]) -> frozenset[str]:
    """The keys of the roles (:class:`geo_grid.roster.RosterRole`) whose people are not on duty
    in a plan's sense: their duty is not one of :data:`PLAN_DUTIES`.

    >>> from geo_grid.roster import DEFAULT_ROLES
    >>> sorted(off_duty_keys(DEFAULT_ROLES))
    ['building_leader', 'micro_grid_leader', 'party_household', 'party_secretary']
    """
    return frozenset(r.key for r in roles if r.duty not in PLAN_DUTIES)


def _on_duty(frame: pd.DataFrame | None, off_duty: Collection[str]) -> pd.DataFrame:
    rows = _frame(frame)
    rows = rows.loc[~rows["role"].isin(set(off_duty)), ["grid_code", "person_id"]]
    return rows


def on_duty_counts(
    codes: Sequence[str],
    roster: pd.DataFrame | None,
    planned: pd.DataFrame | None = None,
    *,
    off_duty: Collection[str] = OFF_DUTY_ROLES,
) -> pd.Series:
    """People on duty per grid code once the plan is published: the distinct people of the
    ``roster`` (as it will be: :func:`roster_after`, or as stored when the plan moves no code)
    and the ``planned`` entries (both ``grid_code``, ``person_id``, ``role``) whose role is not
    ``off_duty``; 0 for a code nobody is on."""
    both = pd.concat([_on_duty(roster, off_duty), _on_duty(planned, off_duty)], ignore_index=True)
    counts = both.drop_duplicates().groupby("grid_code")["person_id"].count()
    index = pd.Index([str(c) for c in codes], name="grid_code")
    return counts.reindex(index, fill_value=0).astype(int)


def unstaffed(
    codes: Sequence[str],
    roster: pd.DataFrame | None,
    planned: pd.DataFrame | None = None,
    *,
    off_duty: Collection[str] = OFF_DUTY_ROLES,
) -> list[str]:
    """The codes among ``codes`` that will have nobody on duty (see :func:`on_duty_counts`)."""
    counts = on_duty_counts(codes, roster, planned, off_duty=off_duty)
    return [str(c) for c in counts.index[counts.to_numpy() == 0]]


def roster_changes(
    roster: pd.DataFrame,
    planned: pd.DataFrame | None,
    moves: Mapping[str, str],
    chosen: Collection[str],
    codes: Collection[str],
) -> tuple[dict[int, str], list[int], pd.DataFrame]:
    """What the publish writes so the stored roster becomes :func:`roster_after` for the grids
    ``codes`` of the published draft: ``(moved, retired, added)``.

    ``roster`` is the stored roster with each row's ``id``. ``moved`` maps the id of a row
    carried to another code to that code; ``retired`` are the ids of rows carried to a grid whose
    people the planner chose, or carried onto a row the grid already has (kept, not active:
    nothing of the roster is deleted); ``added`` are the planned rows not stored yet
    (``grid_code``, ``person_id``, ``role``). A row whose code moves to a code the draft does not
    hold stays as it is.

    >>> roster = pd.DataFrame({"id": [1, 2, 3], "grid_code": ["a", "b", "b"],
    ...     "person_id": ["p1", "p1", "p2"], "role": ["grid_worker"] * 3})
    >>> moved, retired, added = roster_changes(roster, None, {"b": "a"}, (), {"a"})
    >>> moved, retired, len(added)
    ({3: 'a'}, [2], 0)
    >>> planned = pd.DataFrame({"grid_code": ["a"], "person_id": ["p3"], "role": ["grid_leader"]})
    >>> moved, retired, added = roster_changes(roster, planned, {"b": "a"}, {"a"}, {"a"})
    >>> moved, retired, added.values.tolist()
    ({}, [2, 3], [['a', 'p3', 'grid_leader']])
    """
    codes = {str(c) for c in codes}
    stored = _frame(roster, ("id",))
    reachable = {old: new for old, new in moves.items() if new in codes}
    after = roster_after(stored, planned, reachable, chosen)
    kept = after.loc[after["source"] != "planned"]
    carried = kept.loc[kept["source"] == "carried"]
    moved = {int(i): str(c) for i, c in zip(carried["id"], carried["grid_code"], strict=True)}
    leaving = stored.loc[stored["grid_code"].isin(set(reachable)), "id"]
    retired = sorted(int(i) for i in leaving if int(i) not in moved)
    added = after.loc[(after["source"] == "planned") & after["grid_code"].isin(codes),
                      ["grid_code", "person_id", "role"]].reset_index(drop=True)  # fmt: skip
    return moved, retired, added
