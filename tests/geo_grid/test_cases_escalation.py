"""吹哨报到 timing with a frozen clock: levels, deadlines, whistle, report-ins, idempotent sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from geo_grid.cases.escalation import (
    LEVEL_HOURS,
    CaseClock,
    apply_escalations,
    sweep_case,
    whistle,
)
from geo_grid.errors import Conflict

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
H = timedelta(hours=1)


def clock(**kw) -> CaseClock:
    base = dict(level="grid", level_due_at=T0, status="handling", department="城市管理局",
                whistle_departments=("城管执法中队", "市场监管所"), report_in_hours=2.0)  # fmt: skip
    return CaseClock(**{**base, **kw})


def test_nothing_happens_before_or_at_the_deadline():
    assert sweep_case(clock(), T0 - H) == []
    assert sweep_case(clock(), T0) == []


def test_one_minute_late_goes_to_the_community_with_its_own_deadline():
    now = T0 + timedelta(minutes=1)
    (step,) = sweep_case(clock(), now)
    assert (step.from_level, step.to_level, step.reason) == ("grid", "community", "overdue")
    assert step.overdue_since == T0
    assert step.level_due_at == T0 + LEVEL_HOURS["community"] * H
    assert step.report_departments == ("城市管理局",)
    assert step.report_due_at == now + 2 * H


@pytest.mark.parametrize(
    ("hours_late", "level"),
    [(0.5, "community"), (24, "community"), (24.5, "street"), (72, "street"), (72.5, "district"),
     (1000, "district")],
)  # fmt: skip
def test_a_late_sweep_lands_on_the_level_the_clock_says(hours_late, level):
    now = T0 + hours_late * H
    final = apply_escalations(clock(), sweep_case(clock(), now))
    assert final.level == level


def test_the_sweep_is_idempotent_at_the_same_instant_and_moves_on_later():
    now = T0 + 30 * H
    first = apply_escalations(clock(), sweep_case(clock(), now))
    assert sweep_case(first, now) == []
    assert first.level == "street"
    street = T0 + 24 * H + 48 * H
    assert first.level_due_at == street
    later = sweep_case(first, street + H)
    assert [(s.from_level, s.to_level) for s in later] == [("street", "district")]
    # the street call brings the whistle departments; the district adds the centre
    assert set(later[0].report_departments) == {
        "城市管理局",
        "城管执法中队",
        "市场监管所",
        "区网格化服务管理中心",
    }


@pytest.mark.parametrize("status", ["closed", "rated", "rejected", "suspended", "manual"])
def test_closed_suspended_and_unplaced_cases_are_not_escalated(status):
    assert sweep_case(clock(status=status), T0 + 500 * H) == []


def test_whistle_escalates_now_with_fresh_time_and_report_ins():
    now = T0 - 10 * H  # not overdue at all
    step = whistle(clock(level="community"), now)
    assert (step.to_level, step.reason) == ("street", "whistle")
    assert step.level_due_at == now + LEVEL_HOURS["street"] * H
    assert "城管执法中队" in step.report_departments
    with pytest.raises(Conflict):
        whistle(clock(level="district"), now)
    with pytest.raises(Conflict):
        whistle(clock(status="closed"), now)
