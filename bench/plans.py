"""Household balance of the demo district before and after accepting every plan suggestion.

``python bench/plans.py [--seed 20261125] [--pairs 20]``; no database needed (the pure library on
the generated district). Three scenarios:

1. the default band 300–500 for every community: rural grids (90–279 households by design) are
   under-full, suggestions merge neighbours of one community while the total stays in band;
2. a rural band 100–300 (configurable per community kind): what is left out of band;
3. over-full grids made by merging ``--pairs`` pairs of urban neighbours: suggestions split them
   into balanced parts along gaps between buildings.

Suggestions are recomputed and accepted until none is left (each round's edits touch disjoint
grids). Every accepted layer is checked with ``check_coverage`` against the communities.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo_grid import plans  # noqa: E402
from geo_grid.coverage import check_coverage  # noqa: E402


def out_of_band(layer, ctx) -> dict[str, int]:
    status = plans.balance(layer, ctx.communities, ctx.bands)["status"]
    return {"under": int((status == "under").sum()), "over": int((status == "over").sum())}


def accept_all(layer, ctx, rounds: int = 5):
    """Accept suggestions until none is left; returns the layer and how many were applied."""
    applied = 0
    for _ in range(rounds):
        found = plans.suggest(layer, ctx=ctx)
        if not found:
            break
        for s in found:
            layer = plans.apply_edit(layer, s["edit"]["op"], s["edit"]["params"], ctx=ctx).layer
            applied += 1
    return layer, applied


def scenario(name: str, layer, ctx) -> None:
    t0 = time.perf_counter()
    before = out_of_band(layer, ctx)
    after_layer, applied = accept_all(layer, ctx)
    after = out_of_band(after_layer, ctx)
    clean = check_coverage(
        after_layer[["code", "community_code", "geometry"]], ctx.communities[["code", "geometry"]]
    ).valid
    print(
        f"{name}: {len(layer)} grids, out of band before {sum(before.values())} {before}, "
        f"after {sum(after.values())} {after}; {applied} suggestions accepted, "
        f"{len(after_layer)} grids, coverage clean: {clean} ({time.perf_counter() - t0:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--pairs", type=int, default=20)
    args = parser.parse_args()
    from geo_grid.demo import generate_demo

    demo = generate_demo(seed=args.seed)
    unified = demo.grids["unified"].drop(columns=["layer"])

    def ctx(bands: plans.Bands) -> plans.PlanContext:
        return plans.PlanContext(
            communities=demo.communities[["code", "kind", "geometry"]],
            buildings=demo.buildings[["code", "households", "geometry"]],
            addresses=demo.addresses[["address_id", "geometry"]],
            roster=demo.roster[["grid_code", "person_id", "role"]],
            bands=bands,
            reserved_codes=frozenset(unified["code"]),
        )

    scenario("default band 300-500", unified, ctx(plans.Bands()))
    scenario("rural band 100-300", unified, ctx(plans.Bands(by_kind={"rural": (100, 300)})))
    c = ctx(plans.Bands(by_kind={"rural": (100, 300)}))
    merged, n = unified, 0
    urban = set(demo.communities.loc[demo.communities["kind"] == "urban", "code"])
    for comm, group in unified.groupby("community_code"):
        if n >= args.pairs or comm not in urban or len(group) < 2:
            continue
        codes = group["code"].tolist()
        try:
            merged = plans.merge_grids(merged, codes[:2], ctx=c).layer
            n += 1
        except Exception:  # noqa: BLE001, S112 (a pair that is not adjacent is skipped)
            continue
    scenario(f"{n} over-full grids (merged urban pairs), rural 100-300", merged, c)


if __name__ == "__main__":
    main()
