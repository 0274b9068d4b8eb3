"""The demo's case history: six months of seeded cases, stored in one transaction.

A district's cases are planned (:func:`plan_demo_cases`: where their ids start, whether the
stored cases are replaced), generated (:func:`geo_grid.demo.cases.generate_cases`, anywhere: a
city's loader does it in the process that generated the district) and stored
(:func:`store_demo_cases`, in the caller's transaction: the demo loader's, with the district's
other rows). :func:`load_demo_cases` does all three for one district on its own.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.services.cases.rules import load_rules

__all__ = ["DemoCasePlan", "load_demo_cases", "plan_demo_cases", "store_demo_cases"]


@dataclass(frozen=True)
class DemoCasePlan:
    """Where each district's demo cases start (``first_ids[code]``; None: the district keeps its
    stored cases), whether every stored case is replaced first (``reset``), and the routing rules
    they are routed by."""

    first_ids: dict[str, int | None]
    reset: bool
    rules: dict[str, Any]


def plan_demo_cases(codes: Sequence[str], n: int) -> DemoCasePlan:
    """Plan ``n`` cases for each of ``codes``, as if they were loaded one after the other.

    In a store holding no other district's cases they replace the stored cases, as a reload
    should (``reset``). Next to other districts' cases they are added after them, once: the case
    log is append-only, so a district that has cases keeps them. Ids are handed out in the order
    of ``codes``, ``n`` a district, so districts generated at once in several processes never
    share one.
    """
    with session_scope() as session:
        rules = load_rules(session)
        counts = repos.cases.case_counts_by_district(session)
        last_id = repos.cases.max_case_id(session)
    reset = not any(v for k, v in counts.items() if k not in codes)
    if reset:
        counts, last_id = {}, 0
    first_ids: dict[str, int | None] = {}
    for code in codes:
        others = any(v for k, v in counts.items() if k != code)
        if others and counts.get(code):
            first_ids[code] = None
            continue
        first_ids[code] = last_id + 1
        last_id += n
        counts[code] = n
    return DemoCasePlan(first_ids, reset, rules)


def store_demo_cases(
    session: Session, cases: pd.DataFrame, events: pd.DataFrame, escalations: pd.DataFrame
) -> None:
    """COPY generated cases, their events and escalations, in the caller's transaction."""
    repos.cases.copy_cases(session, cases)
    repos.cases.copy_events(session, events)
    repos.cases.copy_escalations(session, escalations)


def load_demo_cases(seed: int = 20261125, *, demo=None, end: datetime | None = None,
                    n: int = 20_000, progress=None) -> dict[str, Any]:  # fmt: skip
    """Store ~``n`` seeded historical cases over six months for the demo's district (one
    transaction; see :func:`plan_demo_cases` for when they replace or join the stored ones).

    ``demo`` is the generated district (else Qixia's is generated).
    """
    from geo_grid.demo.cases import generate_cases

    if demo is None:
        from geo_grid.demo import generate_demo

        demo = generate_demo(seed=seed)
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    plan = plan_demo_cases([demo.code], n)
    first_id = plan.first_ids[demo.code]
    if first_id is None:
        with session_scope() as session:
            kept = repos.cases.case_counts_by_district(session).get(demo.code, 0)
        say(f"{demo.code}: kept its {kept} stored cases (the case log is append-only)")
        return {"cases": 0, "events": 0, "escalations": 0, "seconds": 0.0,
                "reason": "cases kept"}  # fmt: skip
    cases, events, escalations = generate_cases(
        demo, seed, n=n, end=end, rules=plan.rules, first_id=first_id
    )
    with session_scope() as session:
        if plan.reset:
            repos.cases.reset_cases(session)
        store_demo_cases(session, cases, events, escalations)
    say(f"{demo.code}: stored {len(cases)} demo cases, {len(events)} events, "
        f"{len(escalations)} escalations")  # fmt: skip
    return {"cases": len(cases), "events": len(events), "escalations": len(escalations),
            "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
