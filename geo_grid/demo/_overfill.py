"""Over-fill a few urban grids (> 500 households) on purpose, so balancing has splits to suggest.

A district grows after its grids are drawn: towers go up in a few grids, which then hold more
households than one grid worker can serve. Here the residential buildings of the chosen grids get
more floors until the grid holds 650–880 households (enough for a split into two grids in the
300–500 band). Only floors change (footprints, 小区, units
and the addresses already drawn stay as they are: every existing room still exists), and the
choice draws from its own random stream, so the rest of the district is the same with or without
it. The grids are recorded in the ground truth.

>>> import numpy as np
>>> from geo_grid.demo._buildings import Buildings
>>> b = Buildings(grid_code=["g1"] * 6 + ["g2"], kind=["residential"] * 7,
...               households=[60] * 6 + [400], floors=[6] * 6 + [20], units=[2] * 7,
...               flats=[5] * 6 + [10])
>>> done = overfill(b, ["g1", "g2"], {"g1": "urban", "g2": "urban"}, np.random.default_rng(1),
...                 share=1.0, minimum=1)
>>> [d["code"] for d in done], done[0]["households"] > 500, done[0]["households_before"]
(['g1'], True, 360)
>>> sum(b.households[:6]) == done[0]["households"], max(b.floors[:6]) <= MAX_FLOORS
(True, True)
"""

from __future__ import annotations

import numpy as np

from geo_grid.demo._buildings import Buildings

__all__ = ["OVERFULL_BAND", "overfill"]

#: 650-880 households: over the 500 a grid worker serves, and enough for two in-band grids of
#: 300-500 when the grid is split (under 600 a split would leave two under-full grids).
OVERFULL_BAND = (650, 880)
#: Buildings a grid needs to be over-filled: enough to divide between two grids.
MIN_BUILDINGS = 6
MAX_FLOORS = 45
SHARE = 0.015
MINIMUM = 3


def _raise_floors(b: Buildings, rows: list[int], target: int) -> int | None:
    """Add floors round-robin until the buildings hold ``target`` households; None if they can't."""
    total = sum(b.households[i] for i in rows)
    floors = {i: b.floors[i] for i in rows}
    while total < target:
        grew = False
        for i in rows:
            if total >= target:
                break
            if floors[i] < MAX_FLOORS:
                floors[i] += 1
                total += b.units[i] * b.flats[i]
                grew = True
        if not grew:
            return None
    for i in rows:
        b.floors[i] = floors[i]
        b.households[i] = b.units[i] * floors[i] * b.flats[i]
    return total


def overfill(
    b: Buildings,
    grid_codes: list[str],
    grid_kind: dict[str, str],
    rng: np.random.Generator,
    *,
    share: float = SHARE,
    minimum: int = MINIMUM,
) -> list[dict]:
    """Raise the households of ``share`` of the urban grids (at least ``minimum``) above 500.

    ``grid_kind`` maps a grid code to its community's kind. ``b`` is changed in place; returns
    one record per over-filled grid: code, households before and after.
    """
    rows_of: dict[str, list[int]] = {}
    for i, (code, kind) in enumerate(zip(b.grid_code, b.kind, strict=True)):
        if kind == "residential":
            rows_of.setdefault(code, []).append(i)
    urban = [
        g
        for g in grid_codes
        if grid_kind[g] == "urban" and len(rows_of.get(g, ())) >= MIN_BUILDINGS
    ]
    want = min(len(urban), max(minimum, int(round(share * len(urban)))))
    out: list[dict] = []
    for g in (urban[int(j)] for j in rng.permutation(len(urban))):
        if len(out) == want:
            break
        before = sum(b.households[i] for i in rows_of[g])
        target = int(rng.integers(OVERFULL_BAND[0], OVERFULL_BAND[1] + 1))
        after = _raise_floors(b, rows_of[g], target)
        if after is not None:
            out.append({"code": g, "households_before": int(before), "households": int(after)})
    return sorted(out, key=lambda d: d["code"])
