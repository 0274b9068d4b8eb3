"""How long a one-grid split takes to publish, and whether the store's other districts cost it.

``python bench/publish.py [--district 320113] [--runs 3] [--load 10]`` after ``geo-grid db
start`` and ``geo-grid demo load``. ``--load N`` first loads small demos of the districts
shipped in ``data/`` (one unified grid per community, 200 cases each) until the store serves
``N`` districts (``geo-grid demo load --district CODE`` loads any one of China's, full size).
Each run is what a planner does: a plan on the
district's published unified layer (``services.plans.create_plan``), one grid split in two by a
north-south line through its centre (the ``runs`` grids with the most households, one per run),
and ``services.plans.publish`` — validation, the generation switch, the open cases re-gridded,
the plan's roster — timed alone, as one transaction. The store is changed as a planner would
change it: run it on a bench store, not on one people use.

Goal (issue 14): under 1 s with ten districts loaded; publishing writes nothing for another
district's grids, so its time must not grow with them (compare a run with the district alone).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import shapely
from shapely.geometry import mapping

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _store_size() -> tuple[int, int]:
    """(districts, published grids of every layer) in the store."""
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope
    from geo_grid.services import districts

    with session_scope() as session:
        rows = repos.grids.list_layers(session)
    return len(districts.profiles()), sum(int(r["grids"] or 0) for r in rows)


def load_until(n: int, keep: str) -> None:
    """Load small demos of the shipped districts (not ``keep``'s) until ``n`` are stored."""
    from geo_grid.demo import known_districts
    from geo_grid.services import districts
    from geo_grid.services.demo import demo_spec, load_demo

    for code in known_districts():
        stored = districts.profiles()
        if len(stored) >= n:
            return
        if code in stored or code == keep:
            continue
        start = time.perf_counter()
        grids = len(demo_spec(code).communities)  # the fewest: one per community
        load_demo(district=code, n_grids=grids, n_cases=200)
        districts.invalidate()
        print(f"loaded {code} ({grids} grids) in {time.perf_counter() - start:.0f} s")


def one_run(district: str, rank: int) -> dict[str, float]:
    """Plan, split the ``rank``-th fullest grid, publish; seconds of each step."""
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope
    from geo_grid.services import plans

    start = time.perf_counter()
    plan = plans.create_plan("unified", district=district, note="bench: one split")
    created = time.perf_counter() - start
    with session_scope() as session:
        grids = repos.grids.read_grids(session, generation_id=plan["generation_id"])
    grid = grids.sort_values(["households", "code"], ascending=[False, True]).iloc[rank]
    c, (_, miny, _, maxy) = grid.geometry.centroid, grid.geometry.bounds
    line = mapping(shapely.LineString([(c.x, miny - 1e-3), (c.x, maxy + 1e-3)]))
    start = time.perf_counter()
    plans.edit(plan["id"], "split", {"grid": grid["code"], "line": line}, author="bench")
    edited = time.perf_counter() - start
    start = time.perf_counter()
    result = plans.publish(plan["id"], author="bench")
    published = time.perf_counter() - start
    return {"create_s": created, "split_s": edited, "publish_s": published,
            "cases_regridded": result["cases_regridded"], "grid": grid["code"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--district", default="320113")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--load", type=int, default=0, help="districts to have loaded first")
    args = parser.parse_args()
    if args.load:
        load_until(args.load, args.district)
    n_districts, n_grids = _store_size()
    print(f"store: {n_districts} districts, {n_grids:,} published grids (every layer)")
    runs = [one_run(args.district, rank) for rank in range(args.runs)]
    for r in runs:
        print(f"  split {r['grid']}: plan {r['create_s']:.2f} s, split {r['split_s']:.2f} s, "
              f"publish {r['publish_s']:.3f} s ({r['cases_regridded']} cases re-gridded)")  # fmt: skip
    times = [r["publish_s"] for r in runs]
    print(f"publish of a one-grid split in {args.district} with {n_districts} districts loaded: "
          f"median {statistics.median(times):.3f} s, max {max(times):.3f} s (goal < 1 s)")  # fmt: skip


if __name__ == "__main__":
    main()
