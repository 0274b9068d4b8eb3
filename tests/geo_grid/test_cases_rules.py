"""Routing policy: 先属地后属主 for events, 先属主后属地 for facilities, 属地兜底, the manual queue."""

from __future__ import annotations

import pytest

from geo_grid.cases.catalogue import CATALOGUE, MAJORS, category
from geo_grid.cases.rules import (
    Placement,
    default_rule,
    default_rules,
    route,
    rule_from_dict,
    stage_deadline,
    total_sla_hours,
)
from geo_grid.errors import BadInput, NotFound

GRIDS = {"unified": "U1", "urban_mgmt": "CG1", "politics_law": "ZF1", "emergency": None}
HERE = Placement(True, GRIDS, "C1", "S1", 118.9, 32.1, "point")
ROSTER = {
    ("unified", "U1"): [
        {"person_id": "P2", "name": "李四", "role": "grid_leader"},
        {"person_id": "P1", "name": "张三", "role": "grid_worker"},
        {"person_id": "P3", "name": "赵六", "role": "grid_worker"},
    ],
    ("urban_mgmt", "CG1"): [{"person_id": "P9", "name": "王五", "role": "dept_member"}],
}


def test_catalogue_has_the_issue_majors_unique_codes_and_both_kinds():
    majors = {c.major_zh for c in CATALOGUE}
    assert {"市容环境", "宣传广告", "施工管理", "突发事件", "街面秩序", "扩展", "矛盾纠纷", "治安隐患",
            "安全隐患", "消防", "污染", "河湖"} <= majors  # fmt: skip
    assert len({c.code for c in CATALOGUE}) == len(CATALOGUE)
    assert {c.kind for c in CATALOGUE} == {"event", "facility"}
    assert all(c.code[:3] in MAJORS for c in CATALOGUE)
    with pytest.raises(NotFound, match="X9999"):
        category("X9999")


def test_event_goes_to_the_territorial_grid_first_and_names_the_owner():
    cat = category("E0502")  # 占道经营
    d = route(cat, default_rule(cat), HERE, ROSTER)
    assert d.status == "dispatched" and d.strategy == "territorial_first"
    assert d.grid_code == "U1" and d.assignee_person_id == "P1"  # the grid worker, not the leader
    assert d.department == "城市管理局" and d.responsible_grid == "CG1"
    assert any("先属地后属主" in line for line in d.trace)


def test_round_robin_spreads_equal_workers():
    cat = category("E0101")
    people = {
        route(cat, default_rule(cat), HERE, ROSTER, turn=t).assignee_person_id for t in range(4)
    }
    assert people == {"P1", "P3"}


def test_facility_goes_to_its_owner_first():
    cat = category("F0101")  # 井盖破损
    d = route(cat, default_rule(cat), HERE, ROSTER)
    assert d.strategy == "owner_first" and d.assignee_person_id == "P9"
    assert d.responsible_layer == "urban_mgmt" and d.responsible_grid == "CG1"
    assert any("先属主后属地" in line for line in d.trace)


def test_facility_whose_owner_layer_does_not_cover_falls_to_the_territory():
    cat = category("F0101")
    placement = Placement(True, {**GRIDS, "urban_mgmt": None}, "C1", "S1", 118.9, 32.1, "point")
    d = route(cat, default_rule(cat), placement, ROSTER)
    assert d.strategy == "territorial_fallback" and d.assignee_person_id == "P1"
    assert any("属地兜底" in line for line in d.trace)


def test_owner_unclear_falls_to_the_territory_never_to_nobody():
    cat = category("E0699")
    rule = default_rule(cat)
    assert rule.strategy == "territorial_fallback" and rule.layer is None
    d = route(cat, rule, HERE, {})  # nobody on the roster either
    assert d.status == "dispatched" and d.level == "community" and d.department == "社区 C1"
    assert any("属地兜底" in line for line in d.trace)


def test_an_unplaced_case_goes_to_the_manual_queue_with_the_geocoder_reason():
    cat = category("E0101")
    d = route(
        cat, default_rule(cat), Placement.unplaced("geocoder ambiguous: 2 candidates"), ROSTER
    )
    assert d.status == "manual" and d.grid_code is None and d.assignee_person_id is None
    assert "geocoder ambiguous" in d.manual_reason


def test_a_point_outside_every_grid_is_not_guessed():
    cat = category("E0101")
    outside = Placement(True, {"unified": None}, None, None, 120.0, 30.0, "point")
    assert route(cat, default_rule(cat), outside, ROSTER).status == "manual"


def test_sla_and_overrides():
    rules = default_rules()
    assert set(rules) == {c.code for c in CATALOGUE}
    urgent, low = rules["E0401"], rules["E0103"]
    assert urgent.sla_hours["handle"] < low.sla_hours["handle"]
    assert total_sla_hours(urgent) == sum(urgent.sla_hours.values())
    edited = rule_from_dict(urgent, {"sla_hours": {"handle": 6}, "department": "市政"})
    assert edited.sla_hours["handle"] == 6 and edited.department == "市政"
    assert edited.sla_hours["assess"] == urgent.sla_hours["assess"] and edited.source == "custom"
    from datetime import UTC, datetime, timedelta

    t = datetime(2026, 1, 1, tzinfo=UTC)
    assert stage_deadline(edited, "handle", t) == t + timedelta(hours=6)
    for bad in ({"sla_hours": {"handle": -1}}, {"sla_hours": {"lunch": 1}}, {"strategy": "x"},
                {"colour": "red"}, {"severity": "apocalyptic"}):  # fmt: skip
        with pytest.raises(BadInput):
            rule_from_dict(urgent, bad)


def test_the_trace_a_person_reads_is_chinese():
    """The trace's last line is the dispatch step's note on the case page: roster roles and
    layers by their Chinese names, never their keys (grid_worker, urban_mgmt)."""
    import re

    cases = [
        (category("E0502"), HERE),  # an event, to the territorial grid worker
        (category("F0101"), HERE),  # a facility, to its owner's grid
        (
            category("F0101"),
            Placement(True, {**GRIDS, "urban_mgmt": None}, "C1", "S1", 118.9, 32.1, "point"),
        ),  # fmt: skip
        (
            category("E0502"),
            Placement(True, {**GRIDS, "urban_mgmt": None}, "C1", "S1", 118.9, 32.1, "point"),
        ),  # fmt: skip
    ]
    for cat, placement in cases:
        trace = route(cat, default_rule(cat), placement, ROSTER).trace
        words = [w for line in trace for w in re.findall(r"[A-Za-z_]{3,}", line)]
        assert words == [], (cat.code, trace)
    assert route(category("E0502"), default_rule(category("E0502")), HERE, ROSTER).trace[-1] == (
        "属地网格 U1: 派给 张三 (网格员)")  # fmt: skip
