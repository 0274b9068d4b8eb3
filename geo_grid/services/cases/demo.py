"""The demo's case history: six months of seeded cases, stored in one transaction."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from geo_grid.cases import escalation as esc
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.services.cases.rules import load_rules

__all__ = ["load_demo_cases"]


def load_demo_cases(seed: int = 20261125, *, demo=None, end: datetime | None = None,
                    n: int = 20_000, progress=None) -> dict[str, Any]:  # fmt: skip
    """Store ~``n`` seeded historical cases over six months for the demo's district (one
    transaction).

    ``demo`` is the generated district (the demo loader passes it; else Qixia's is generated).
    In a store holding no other district's cases they replace the stored cases, as a reload
    should. Next to other districts' cases they are added after them, once: the case log is
    append-only, so a district that has cases keeps them (``reason`` says so).
    """
    from geo_grid.demo.cases import generate_cases

    if demo is None:
        from geo_grid.demo import generate_demo

        demo = generate_demo(seed=seed)
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    with session_scope() as session:
        rules = load_rules(session)
        counts = repos.cases.case_counts_by_district(session)
        last_id = repos.cases.max_case_id(session)
    others = sum(v for k, v in counts.items() if k != demo.code)
    if others and counts.get(demo.code):
        say(f"{demo.code}: kept its {counts[demo.code]} stored cases (the case log is append-only)")
        return {"cases": 0, "events": 0, "escalations": 0, "seconds": 0.0,
                "reason": "cases kept"}  # fmt: skip
    first_id = 1 if not others else last_id + 1
    cases, events, escalations = generate_cases(
        demo, seed, n=n, end=end, rules=rules, first_id=first_id
    )
    with session_scope() as session:
        if not others:
            repos.cases.reset_cases(session)
        repos.cases.copy_cases(session, cases)
        repos.cases.copy_events(session, events)
        for row in escalations.itertuples(index=False):
            step = esc.Escalation(row.from_level, row.to_level, row.reason, row.at,
                                  row.overdue_since, row.level_due_at, (), row.at)  # fmt: skip
            repos.cases.insert_escalation(session, int(row.case_id), step, "system:tick", None)
    say(f"{demo.code}: stored {len(cases)} demo cases, {len(events)} events, "
        f"{len(escalations)} escalations")  # fmt: skip
    return {"cases": len(cases), "events": len(events), "escalations": len(escalations),
            "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
