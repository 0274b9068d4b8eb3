"""吹哨报到: escalate a case by hand or by the sweep, and record the departments reporting in."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from geo_grid.access import Principal
from geo_grid.cases import escalation as esc
from geo_grid.cases.rules import (
    RoutingRule,
)
from geo_grid.db import repos
from geo_grid.db.session import UNREACHABLE, error_line, session_scope
from geo_grid.errors import Conflict
from geo_grid.services.cases._common import action_time, event_row
from geo_grid.services.cases.rules import rules_for
from geo_grid.services.cases.views import case_view, ensure_in_scope, find_case, handler_of

__all__ = ["report_in", "start_ticker", "tick", "whistle"]


def _clock(case: Mapping[str, Any], rule: RoutingRule) -> esc.CaseClock:
    return esc.CaseClock(
        level=case["level"],
        level_due_at=case["level_due_at"],
        status=case["status"],
        department=case.get("department") or rule.department,
        whistle_departments=tuple(rule.whistle_departments),
        report_in_hours=rule.report_in_hours,
    )


def _store_steps(session, case, steps, actor, role, note, now) -> int:
    stored = 0
    for step in steps:
        eid = repos.cases.insert_escalation(session, case["id"], step, actor, note)
        if eid is None:
            continue
        stored += 1
        repos.cases.insert_report_ins(
            session, eid, case["id"], step.report_departments, step.report_due_at
        )
    if steps:
        last = steps[-1]
        repos.cases.update_case(
            session, case["id"], case["version"],
            {"level": last.to_level, "level_due_at": last.level_due_at, "updated_at": now},
        )  # fmt: skip
        repos.cases.insert_events(
            session,
            [
                event_row(case["id"], "escalate", case["status"], case["status"], actor, role, now,
                       note or f"{esc.LEVELS[s.from_level]} → {esc.LEVELS[s.to_level]} ({s.reason})",
                       None, {"from": s.from_level, "to": s.to_level, "reason": s.reason,
                              "report_in": list(s.report_departments)})
                for s in steps
            ],
        )  # fmt: skip
    return stored


def whistle(
    ref: int | str, *, by: Principal, note: str | None = None, version: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """吹哨: escalate one level now; the named departments must report in within N hours. The
    event names ``by`` (the caller's label and account role), a case of their area only."""
    now = action_time(now)
    with session_scope() as session:
        case = find_case(session, ref)
        ensure_in_scope(by, case)
        if version is not None and version != case["version"]:
            raise Conflict(f"version: the case is at version {case['version']}", field="version")
        rule = rules_for(session)[case["category_code"]]
        step = esc.whistle(_clock(case, rule), now)
        _store_steps(session, case, [step], by.label, by.role, note or "吹哨", now)
        stored = repos.cases.get_case(session, case_id=case["id"])
        view = case_view(stored, now=now, viewer=by, handler=handler_of(session, case["id"]))
        view["report_ins"] = repos.cases.report_ins(session, case["id"])
    return view


def report_in(
    ref: int | str, department: str, *, actor: str, note: str | None = None,
    now: datetime | None = None, viewer: Principal | None = None,
) -> dict[str, Any]:  # fmt: skip
    """报到: a department says it has arrived; on time when before its due time."""
    now = action_time(now)
    with session_scope() as session:
        case = find_case(session, ref)
        ensure_in_scope(viewer, case)
        row = repos.cases.record_report_in(session, case["id"], department, now, actor, note)
        repos.cases.insert_events(
            session,
            [
                event_row(
                    case["id"],
                    "comment",
                    case["status"],
                    case["status"],
                    actor,
                    "department",
                    now,
                    f"{department} 报到",
                    None,
                    {"report_in": row["id"]},
                )
            ],  # fmt: skip
        )
    return {**row, "on_time": row["reported_at"] <= row["due_at"]}


def tick(now: datetime | None = None, *, limit: int | None = None) -> dict[str, Any]:
    """The escalation sweep: move every overdue open case up as far as the clock says. Idempotent.

    Also safe to run in parallel: rows are claimed with SKIP LOCKED and a case reaches each level
    once (a unique key), so two sweeps never double-escalate.
    """
    now = action_time(now)
    moved = steps_total = report_total = 0
    with session_scope() as session:
        rules = rules_for(session)
        for case in repos.cases.due_for_escalation(session, now, limit=limit):
            rule = rules[case["category_code"]]
            steps = esc.sweep_case(_clock(case, rule), now)
            if not steps:
                continue
            steps_total += _store_steps(session, case, steps, "system:tick", "system", None, now)
            report_total += sum(len(s.report_departments) for s in steps)
            moved += 1
    return {"at": now.isoformat(), "cases": moved, "escalations": steps_total,
            "report_ins": report_total}  # fmt: skip


def start_ticker(interval_s: float) -> Callable[[], None]:
    """Run :func:`tick` every ``interval_s`` seconds in a daemon thread; returns a stop function.

    A failed sweep never kills the timer: the next one retries (the sweep is idempotent and
    catches up on whatever fell due meanwhile). A database outage is logged once when it starts
    and once when it ends, not with a traceback every interval; any other failure is a bug and
    is logged in full each time.
    """
    import logging

    log = logging.getLogger("geo_grid.cases")
    stop = threading.Event()

    def loop() -> None:
        down = False
        while not stop.wait(interval_s):
            try:
                tick()
            except UNREACHABLE as exc:
                if not down:
                    log.warning(
                        "escalation sweep: database unreachable, retrying: %s", error_line(exc)
                    )
                down = True
                continue
            except Exception:  # noqa: BLE001 (a failed sweep must not kill the timer)
                log.exception("escalation sweep failed")
                continue
            if down:
                log.warning("escalation sweep: database reachable again, sweeps resumed")
            down = False

    thread = threading.Thread(target=loop, name="geo-grid-cases-tick", daemon=True)
    thread.start()
    return stop.set
