"""吹哨报到: four escalation levels, their deadlines, the whistle and the report-in (报到).

A case starts at the **grid** level. When its level deadline passes while it is still open (or the
handler blows the whistle 吹哨), it moves up: grid → community → street → district. Each level
gets its own time (``LEVEL_HOURS``) and names the departments that must **report in** (报到) within
the rule's ``report_in_hours``; the report-ins are recorded, late ones are visible.

The sweep is **idempotent**: :func:`sweep_case` moves a case up as many levels as the clock says it
should be and no further, so running it twice at the same instant changes nothing the second time.
The clock is always a parameter (``now``), never read inside, so tests freeze it.

>>> from datetime import datetime, timezone
>>> t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> s = CaseClock(level="grid", level_due_at=t0, status="handling")
>>> steps = sweep_case(s, t0 + timedelta(hours=30))
>>> [(e.from_level, e.to_level) for e in steps]
[('grid', 'community'), ('community', 'street')]
>>> sweep_case(apply_escalations(s, steps), t0 + timedelta(hours=30))
[]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from geo_grid.cases.lifecycle import is_open
from geo_grid.errors import Conflict
from geo_grid.labels import CASE_LEVEL

__all__ = [
    "LEVELS",
    "LEVEL_HOURS",
    "CaseClock",
    "Escalation",
    "apply_escalations",
    "report_in_departments",
    "sweep_case",
    "whistle",
]

#: Levels bottom-up with their Chinese labels.
LEVELS: dict[str, str] = {k: CASE_LEVEL[k] for k in ("grid", "community", "street", "district")}
_ORDER = list(LEVELS)
#: Hours a case may stay at a level after arriving there (the grid level uses the SLA due date).
LEVEL_HOURS: dict[str, float] = {"community": 24.0, "street": 48.0, "district": 72.0}


@dataclass(frozen=True)
class CaseClock:
    """The escalation-relevant state of one case."""

    level: str
    level_due_at: datetime | None
    status: str
    department: str | None = None
    whistle_departments: tuple[str, ...] = ()
    report_in_hours: float = 4.0


@dataclass(frozen=True)
class Escalation:
    """One step up, with the deadline of the new level and who must report in by when."""

    from_level: str
    to_level: str
    reason: str  # 'overdue' | 'whistle'
    at: datetime
    overdue_since: datetime | None
    level_due_at: datetime
    report_departments: tuple[str, ...]
    report_due_at: datetime


def report_in_departments(level: str, clock: CaseClock) -> tuple[str, ...]:
    """Who must report in when a case arrives at ``level`` (吹哨: the street calls, they come)."""
    own = (clock.department,) if clock.department else ()
    if level == "community":
        return own
    if level == "street":
        return tuple(dict.fromkeys(own + clock.whistle_departments))
    if level == "district":
        return tuple(dict.fromkeys(own + clock.whistle_departments + ("区网格化服务管理中心",)))
    return ()


def _step(clock: CaseClock, reason: str, at: datetime, since: datetime | None) -> Escalation:
    nxt = _ORDER[_ORDER.index(clock.level) + 1]
    # an overdue step starts the next level's time at the old deadline, so a late sweep does not
    # hand out fresh time; a whistle starts it now
    start = since if (reason == "overdue" and since is not None) else at
    return Escalation(
        from_level=clock.level,
        to_level=nxt,
        reason=reason,
        at=at,
        overdue_since=since,
        level_due_at=start + timedelta(hours=LEVEL_HOURS[nxt]),
        report_departments=report_in_departments(nxt, clock),
        report_due_at=at + timedelta(hours=clock.report_in_hours),
    )


def apply_escalations(clock: CaseClock, steps: Sequence[Escalation]) -> CaseClock:
    """The clock after ``steps`` (what the store writes back)."""
    for e in steps:
        clock = replace(clock, level=e.to_level, level_due_at=e.level_due_at)
    return clock


def sweep_case(clock: CaseClock, now: datetime) -> list[Escalation]:
    """Escalations due at ``now`` for one case: none if closed, at the top, or not yet overdue."""
    steps: list[Escalation] = []
    while (
        is_open(clock.status)
        and clock.status not in ("suspended", "manual")
        and clock.level != "district"
        and clock.level_due_at is not None
        and now > clock.level_due_at
    ):
        step = _step(clock, "overdue", now, clock.level_due_at)
        steps.append(step)
        clock = apply_escalations(clock, [step])
    return steps


def whistle(clock: CaseClock, now: datetime) -> Escalation:
    """The handler blows the whistle: one level up now, whatever the deadline says."""
    if not is_open(clock.status):
        raise Conflict(f"whistle: the case is {clock.status}, not open", field="status")
    if clock.level == "district":
        raise Conflict("whistle: the case is already at the district level", field="level")
    return _step(clock, "whistle", now, None)
