"""Who will be on duty in each grid of a plan once it is published.

A split gives its new grid a code nobody is on the roster of; a recode moves a grid to such a code.
Published as it is, the grid would answer every case routed to it with nobody to send. So the
plan's grids are counted against the roster as it will be: the stored roster (by layer and grid
code) plus the people the planner assigns in the plan (:data:`PLAN_ROSTER_ROLES`); a grid with
none is *unstaffed*. 党员中心户 (``party_household``) are households a grid looks after, not people
on duty, as the case pages count them.

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
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["OFF_DUTY_ROLES", "PLAN_ROSTER_ROLES", "on_duty_counts", "unstaffed"]

#: Roster roles that are not people on duty (households a grid looks after).
OFF_DUTY_ROLES = frozenset({"party_household"})
#: The roles a planner may assign in a plan (the roster's on-duty roles).
PLAN_ROSTER_ROLES = ("grid_leader", "grid_worker", "police", "dept_member")


def _on_duty(frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None or not len(frame):
        return pd.DataFrame({"grid_code": [], "person_id": []}, dtype=object)
    rows = frame.loc[~frame["role"].isin(OFF_DUTY_ROLES), ["grid_code", "person_id"]]
    return rows.astype({"grid_code": str, "person_id": str})


def on_duty_counts(
    codes: Sequence[str], roster: pd.DataFrame | None, planned: pd.DataFrame | None = None
) -> pd.Series:
    """People on duty per grid code once the plan is published: the distinct people of the
    stored ``roster`` and the ``planned`` entries (both ``grid_code``, ``person_id``, ``role``)
    whose role is on duty; 0 for a code nobody is on."""
    both = pd.concat([_on_duty(roster), _on_duty(planned)], ignore_index=True)
    counts = both.drop_duplicates().groupby("grid_code")["person_id"].count()
    index = pd.Index([str(c) for c in codes], name="grid_code")
    return counts.reindex(index, fill_value=0).astype(int)


def unstaffed(
    codes: Sequence[str], roster: pd.DataFrame | None, planned: pd.DataFrame | None = None
) -> list[str]:
    """The codes among ``codes`` that will have nobody on duty (see :func:`on_duty_counts`)."""
    counts = on_duty_counts(codes, roster, planned)
    return [str(c) for c in counts.index[counts.to_numpy() == 0]]
