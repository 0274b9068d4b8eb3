"""The demo's case history: six months of seeded cases, stored in one transaction."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from geo_grid.cases import escalation as esc
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.services.cases.rules import _load_rules

__all__ = ["load_demo_cases"]


def load_demo_cases(seed: int = 20261125, *, demo=None, end: datetime | None = None,
                    n: int = 20_000, progress=None) -> dict[str, Any]:  # fmt: skip
    """Replace the stored cases with ~``n`` seeded historical cases over six months (one transaction).

    ``demo`` is the generated district (the demo loader passes it; else it is generated here).
    """
    from geo_grid.demo.cases import generate_cases

    if demo is None:
        from geo_grid.demo import generate_demo

        demo = generate_demo(seed=seed)
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    with session_scope() as session:
        rules = _load_rules(session)
    cases, events, escalations = generate_cases(demo, seed, n=n, end=end, rules=rules)
    with session_scope() as session:
        repos.cases.reset_cases(session)
        repos.cases.copy_cases(session, cases)
        repos.cases.copy_events(session, events)
        for row in escalations.itertuples(index=False):
            step = esc.Escalation(row.from_level, row.to_level, row.reason, row.at,
                                  row.overdue_since, row.level_due_at, (), row.at)  # fmt: skip
            repos.cases.insert_escalation(session, int(row.case_id), step, "system:tick", None)
    say(f"stored {len(cases)} demo cases, {len(events)} events, {len(escalations)} escalations")
    return {"cases": len(cases), "events": len(events), "escalations": len(escalations),
            "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
