"""Routing rules and the routing decision: from a placed case to a grid, a department and a person.

A **rule** says, for one category, which layer's department owns it, how many hours each stage of the
closed loop may take (SLA), the severity, and which departments must report in (报到) when the street
blows the whistle. The defaults come from the catalogue; the ``routing_rule`` table overrides them
per category (edited through ``PUT /api/v1/rules/{code}``).

The **decision** follows city-management practice and writes down why, step by step (the trace):

* event 事件 → 先属地后属主: the unified grid's worker takes it on the spot; the owning department
  (its grid in the department layer) is named as the responsible department;
* facility 部件 → 先属主后属地: the owner's grid member takes it; when the owner's layer does not
  cover the point or nobody is on its roster, the territorial grid takes it (属地兜底);
* owner unclear (the rule names no layer) → 属地兜底: the territorial grid, never nobody;
* a case that could not be placed goes to the manual queue with the geocoder's reason, never to a
  guessed grid.

>>> from geo_grid.cases.catalogue import category
>>> rule = default_rule(category("F0102"))
>>> p = Placement(True, {"unified": "U1", "urban_mgmt": "CG1"}, "C1", "S1", 118.9, 32.1, "point")
>>> roster = {("urban_mgmt", "CG1"): [{"person_id": "P9", "name": "王五", "role": "dept_member"}]}
>>> d = route(category("F0102"), rule, p, roster)
>>> d.strategy, d.responsible_layer, d.assignee_person_id, d.department
('owner_first', 'urban_mgmt', 'P9', '市政设施管理处')
>>> route(category("F0102"), rule, Placement.unplaced("no road found"), roster).status
'manual'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from geo_grid.cases.catalogue import Category, categories
from geo_grid.errors import BadInput
from geo_grid.labels import ROSTER_ROLE, label
from geo_grid.layers import LAYER_NAMES_ZH, UNIFIED

__all__ = [
    "SEVERITIES",
    "STAGES",
    "Placement",
    "RoutingDecision",
    "RoutingRule",
    "default_rule",
    "default_rules",
    "route",
    "rule_from_dict",
    "stage_deadline",
    "total_sla_hours",
]

#: SLA stages in loop order (the lifecycle maps each state to one).
STAGES: tuple[str, ...] = ("assess", "dispatch", "handle", "verify", "close")
#: Severity → factor applied to the handling hours (urgent things get less time).
SEVERITIES: dict[str, float] = {"low": 1.5, "normal": 1.0, "high": 0.5, "urgent": 0.25}

_BASE_SLA: dict[str, dict[str, float]] = {
    "event": {"assess": 2, "dispatch": 2, "handle": 48, "verify": 24, "close": 24},
    "facility": {"assess": 2, "dispatch": 4, "handle": 72, "verify": 24, "close": 24},
}
_WHISTLE: dict[str, tuple[str, ...]] = {
    "urban_mgmt": ("城管执法中队", "市场监管所"),
    "politics_law": ("派出所", "司法所"),
    "emergency": ("消防救援站", "安监站"),
    "ecology": ("生态环境分局", "河长办"),
}
#: Who of a grid's people takes a case first, by the duty of their role (:mod:`geo_grid.roster`).
_ROLE_ORDER: dict[str, int] = {"grid_worker": 0, "grid_leader": 1, "dept_member": 0, "police": 2}


@dataclass(frozen=True)
class RoutingRule:
    """Who owns a category and how long each stage may take."""

    category_code: str
    layer: str | None
    department: str | None
    strategy: str  # 'territorial_first' | 'owner_first' | 'territorial_fallback'
    severity: str
    sla_hours: Mapping[str, float]
    report_in_hours: float = 4.0
    whistle_departments: tuple[str, ...] = ()
    source: str = "default"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["sla_hours"] = dict(self.sla_hours)
        out["whistle_departments"] = list(self.whistle_departments)
        return out


def default_rule(cat: Category) -> RoutingRule:
    """The rule the catalogue implies for ``cat`` (before any override from the table)."""
    if cat.layer is None or cat.department is None:
        strategy = "territorial_fallback"
    else:
        strategy = "owner_first" if cat.kind == "facility" else "territorial_first"
    sla = dict(_BASE_SLA[cat.kind])
    sla["handle"] = round(sla["handle"] * SEVERITIES[cat.severity], 2)
    return RoutingRule(
        category_code=cat.code,
        layer=cat.layer,
        department=cat.department,
        strategy=strategy,
        severity=cat.severity,
        sla_hours=sla,
        report_in_hours=2.0 if cat.severity in ("high", "urgent") else 4.0,
        whistle_departments=_WHISTLE.get(cat.layer or "", ("街道综合执法局",)),
    )


def default_rules() -> dict[str, RoutingRule]:
    """``{category_code: rule}`` for the whole catalogue."""
    return {c.code: default_rule(c) for c in categories()}


def rule_from_dict(base: RoutingRule, data: Mapping[str, Any]) -> RoutingRule:
    """``base`` with the fields of ``data`` applied and validated (what an API edit does)."""
    allowed = {
        "layer",
        "department",
        "strategy",
        "severity",
        "sla_hours",
        "report_in_hours",
        "whistle_departments",
    }
    unknown = set(data) - allowed - {"category_code", "source"}
    if unknown:
        raise BadInput(f"rule: unknown fields {sorted(unknown)}", field=sorted(unknown)[0])
    changes = {k: v for k, v in data.items() if k in allowed and v is not None}
    if "strategy" in changes and changes["strategy"] not in (
        "territorial_first",
        "owner_first",
        "territorial_fallback",
    ):
        raise BadInput(f"strategy: unknown strategy {changes['strategy']!r}", field="strategy")
    if "severity" in changes and changes["severity"] not in SEVERITIES:
        raise BadInput(f"severity: must be one of {', '.join(SEVERITIES)}", field="severity")
    if "sla_hours" in changes:
        sla = dict(base.sla_hours)
        for stage, hours in dict(changes["sla_hours"]).items():
            if stage not in STAGES:
                raise BadInput(f"sla_hours: unknown stage {stage!r}", field="sla_hours")
            if not isinstance(hours, int | float) or hours <= 0:
                raise BadInput(f"sla_hours.{stage}: must be > 0 hours", field="sla_hours")
            sla[stage] = float(hours)
        changes["sla_hours"] = sla
    if "report_in_hours" in changes and float(changes["report_in_hours"]) <= 0:
        raise BadInput("report_in_hours: must be > 0", field="report_in_hours")
    if "whistle_departments" in changes:
        changes["whistle_departments"] = tuple(changes["whistle_departments"])
    return replace(base, **changes, source=str(data.get("source", "custom")))


def total_sla_hours(rule: RoutingRule) -> float:
    """Hours from receipt to closure (the 按期结案 deadline)."""
    return float(sum(rule.sla_hours.get(s, 0) for s in STAGES))


def stage_deadline(rule: RoutingRule, stage: str | None, start: datetime) -> datetime | None:
    """When ``stage`` (entered at ``start``) is due, or None for stages without an SLA."""
    if stage is None or stage not in rule.sla_hours:
        return None
    return start + timedelta(hours=float(rule.sla_hours[stage]))


@dataclass(frozen=True)
class Placement:
    """Where a case is, as the geocoder/locator found it (storage CRS)."""

    placed: bool
    grids: Mapping[str, str | None] = field(default_factory=dict)
    community_code: str | None = None
    street_code: str | None = None
    lon: float | None = None
    lat: float | None = None
    source: str = "none"  # 'point' | 'address' | 'none'
    reason: str | None = None
    confidence: float | None = None
    #: the district the place lies in (None: not placed in a served district)
    district_code: str | None = None

    @classmethod
    def unplaced(cls, reason: str, **kw: Any) -> Placement:
        return cls(False, reason=reason, **kw)


@dataclass(frozen=True)
class RoutingDecision:
    """Where a case goes and why (the trace is stored with the case)."""

    status: str  # 'dispatched' | 'manual'
    strategy: str
    level: str  # 'grid' | 'community' | 'street'
    grid_code: str | None
    responsible_layer: str | None
    responsible_grid: str | None
    department: str | None
    assignee_person_id: str | None
    assignee_name: str | None
    assignee_role: str | None
    trace: tuple[str, ...]
    manual_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["trace"] = list(self.trace)
        return out


def _pick(people: Sequence[Mapping[str, Any]], turn: int) -> Mapping[str, Any] | None:
    """The person to assign among a grid's roster: best role first, round-robin among equals."""
    if not people:
        return None
    ranked = sorted(people, key=lambda p: (_rank(p), str(p["person_id"])))
    equals = [p for p in ranked if _rank(p) == _rank(ranked[0])]
    return equals[turn % len(equals)]


def _rank(person: Mapping[str, Any]) -> int:
    """A person's place in the queue: by their role's duty (a district's own role, 专职网格员,
    acts as the duty it was given), the role itself for rosters that carry no duty."""
    return _ROLE_ORDER.get(person.get("duty") or person.get("role"), 9)


def _role_label(person: Mapping[str, Any]) -> str:
    """The role as a person reads it: the district's own name for it, else the built-in label."""
    return person.get("role_name") or label(ROSTER_ROLE, person.get("role"))


def route(
    cat: Category,
    rule: RoutingRule,
    placement: Placement,
    roster: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]],
    *,
    turn: int = 0,
) -> RoutingDecision:
    """Decide grid, department and person for one case; see the module docstring for the policy.

    ``roster`` maps ``(layer, grid_code)`` to people (``person_id, name, role`` and optionally
    ``duty`` and ``role_name``, :mod:`geo_grid.roster`); ``turn`` spreads
    cases over equally ranked people (e.g. the case sequence number).
    """
    trace: list[str] = []
    if placement.source == "address":
        trace.append(f"地址匹配 (置信度 {placement.confidence}): {placement.reason or '匹配成功'}")
    elif placement.source == "point":
        trace.append("按上报坐标落点")
    if not placement.placed:
        reason = placement.reason or "no address and no point"
        trace.append(f"无法定位: {reason} → 人工派遣队列")
        return RoutingDecision(
            "manual", rule.strategy, "grid", None, None, None, None, None, None, None,
            tuple(trace), manual_reason=reason,
        )  # fmt: skip
    unified = placement.grids.get(UNIFIED)
    if unified is None:
        reason = "the point lies outside every unified grid (辖区外或网格未覆盖)"
        trace.append(f"{reason} → 人工派遣队列")
        return RoutingDecision(
            "manual", rule.strategy, "grid", None, None, None, None, None, None, None,
            tuple(trace), manual_reason=reason,
        )  # fmt: skip
    trace.append(
        f"全科网格 {unified} (社区 {placement.community_code}, 街道 {placement.street_code})"
    )
    owner_grid = placement.grids.get(rule.layer) if rule.layer else None
    strategy = rule.strategy
    if strategy != "territorial_fallback" and (rule.layer is None or rule.department is None):
        strategy = "territorial_fallback"

    if strategy == "owner_first":
        trace.append(
            f"部件类 {cat.name_zh}: 先属主后属地, 属主 {rule.department} ({_layer(rule.layer)})"
        )
        if owner_grid is None:
            trace.append(f"{_layer(rule.layer)}图层未覆盖该点 → 属地兜底")
        else:
            person = _pick(roster.get((rule.layer, owner_grid), ()), turn)
            if person is not None:
                trace.append(
                    f"属主网格 {owner_grid}: 派给 {person['name']} ({_role_label(person)})"
                )
                return _decision(strategy, unified, rule.layer, owner_grid, rule.department,
                                 person, trace)  # fmt: skip
            trace.append(f"属主网格 {owner_grid} 无在岗人员 → 属地兜底")
        strategy = "territorial_fallback"
    elif strategy == "territorial_first":
        trace.append(
            f"事件类 {cat.name_zh}: 先属地后属主, 属主部门 {rule.department}"
            + (f" (网格 {owner_grid})" if owner_grid else f" ({_layer(rule.layer)}图层未覆盖该点)")
        )
    else:
        trace.append(f"{cat.name_zh}: 属主不明 → 属地兜底")

    person = _pick(roster.get((UNIFIED, unified), ()), turn)
    department = rule.department if strategy == "territorial_first" else None
    if person is not None:
        trace.append(f"属地网格 {unified}: 派给 {person['name']} ({_role_label(person)})")
        return _decision(
            strategy, unified, rule.layer if strategy == "territorial_first" else UNIFIED,
            owner_grid if strategy == "territorial_first" else unified,
            department, person, trace,
        )  # fmt: skip
    community = placement.community_code
    level = "community" if community else "street"
    trace.append(
        f"网格 {unified} 无在岗人员 → 上移至{'社区 ' + community if community else '街道'}"
    )
    return RoutingDecision(
        "dispatched", strategy, level, unified, UNIFIED, unified,
        department or (f"社区 {community}" if community else f"街道 {placement.street_code}"),
        None, None, None, tuple(trace),
    )  # fmt: skip


def _layer(key: str | None) -> str:
    """A layer as the trace names it: its Chinese name (the key of a layer without one)."""
    return LAYER_NAMES_ZH.get(key, key) if key else ""


def _decision(strategy, unified, layer, grid, department, person, trace) -> RoutingDecision:
    return RoutingDecision(
        status="dispatched",
        strategy=strategy,
        level="grid",
        grid_code=unified,
        responsible_layer=layer,
        responsible_grid=grid,
        department=department,
        assignee_person_id=str(person["person_id"]),
        assignee_name=str(person["name"]),
        assignee_role=person.get("role"),
        trace=tuple(trace),
    )
