"""Six months of seeded historical cases for the demo district, so indicators and maps show a picture.

Cases are not spread evenly: each unified grid gets a heavy-tailed weight (a few hotspots — a market,
an old 小区, a construction site — draw most reports) and a category bias (market grids report 占道
经营, riverside grids 河湖, construction grids 施工). Each grid also gets a performance factor, so
some grids close on time and some do not, which is what makes the 红绿指标 differ. Every case goes
through the real router (:func:`geo_grid.cases.rules.route`) and the real state machine, so its
events are legal transitions taken by the roles :mod:`geo_grid.cases.duties` allows (verified by
someone other than the handler); cases still open and overdue at the end are escalated by the real
sweep (:func:`geo_grid.cases.escalation.sweep_case`).

Same demo + same seed + same ``end`` → the same cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import shapely

from geo_grid.cases import escalation as esc
from geo_grid.cases import lifecycle
from geo_grid.cases.catalogue import categories
from geo_grid.cases.duties import SYSTEM
from geo_grid.cases.rules import Placement, RoutingRule, default_rules, route, total_sla_hours
from geo_grid.locate import LocateIndex
from geo_grid.timefmt import to_local

__all__ = ["generate_cases"]

_CHANNELS = (("hotline", 0.35), ("patrol", 0.30), ("app", 0.15), ("wechat", 0.15),
             ("open311", 0.05))  # fmt: skip
_BIASES = {  # a hotspot's kind → category code prefixes it over-reports
    "market": ("E05", "E01"),
    "old_estate": ("E01", "Z01", "Y02", "E06"),
    "construction": ("E03", "S01"),
    "riverside": ("S02", "S01"),
    "road": ("F01", "F02", "E04"),
}
#: The account role that files a report of each channel (the rest arrive through systems).
_RECEIVER = {"hotline": "dispatcher", "patrol": "grid_worker", "open311": "open311_client"}
_DESCRIPTIONS = ("群众反映", "巡查发现", "现场", "多次反映", "附近居民投诉")


def _roster_map(roster: pd.DataFrame) -> dict[tuple[str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    keep = roster[roster["role"].isin(["grid_worker", "grid_leader", "dept_member"])]
    for rec in keep.itertuples(index=False):
        out.setdefault((rec.layer, rec.grid_code), []).append(
            {"person_id": rec.person_id, "name": rec.name, "role": rec.role}
        )
    return out


def generate_cases(
    demo: Any,
    seed: int,
    *,
    n: int = 20_000,
    end: datetime | None = None,
    months: int = 6,
    rules: Mapping[str, RoutingRule] | None = None,
    first_id: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return ``(cases, events, escalations)`` DataFrames ready for the store.

    ``demo`` needs ``code`` (its district), ``addresses`` (address_id, full_text, lon, lat),
    ``grids`` (per layer, code + geometry), ``communities``, ``streets`` and ``roster``. ``end``
    defaults to today 00:00 UTC. Case ids (and the numbers made from them) start at ``first_id``,
    so a second district's cases follow the first's in one store; nothing else depends on it.

    The steps draw from one generator in a fixed order (where, what, when, channel, then each
    case's path), so the same seed gives the same cases.
    """
    rng = np.random.default_rng([seed, 5])
    rules = dict(rules or default_rules())
    end = end or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=30 * months)
    cats = categories()
    spots = _where(demo.addresses, n, rng)
    cat_idx = _what(cats, spots.kinds[spots.grid], rng)
    received, order = _when(start, end, n, rng)
    index = LocateIndex(
        {k: v[["code", "geometry"]] for k, v in demo.grids.items()},
        communities=demo.communities,
        streets=demo.streets,
    )
    located = index.locate_many(spots.lon, spots.lat, "cgcs2000")
    channels = rng.choice([c for c, _ in _CHANNELS], size=n, p=[p for _, p in _CHANNELS])
    history = _History(
        district=demo.code, layers=tuple(demo.grids), cats=cats, rules=rules, spots=spots,
        cat_idx=cat_idx, received=received, located=located.to_dict("records"),
        texts=spots.addresses["full_text"].astype(str).to_numpy()[spots.pick],
        channels=channels, roster=_roster_map(demo.roster), end=end,
    )  # fmt: skip
    return history.run(order, first_id, rng)


@dataclass(frozen=True)
class _Spots:
    """Where the reports come from: the address each was made at and its grid's traits."""

    addresses: pd.DataFrame
    pick: np.ndarray  # the address of each report (row of ``addresses``)
    grid: np.ndarray  # its grid (index into ``kinds`` and ``perf``)
    kinds: np.ndarray  # each grid's hotspot kind (``_BIASES`` or "plain")
    perf: np.ndarray  # each grid's performance factor (>1: slower than the SLA)
    lon: np.ndarray
    lat: np.ndarray


def _where(addresses: pd.DataFrame, n: int, rng: np.random.Generator) -> _Spots:
    """Heavy-tailed grid weights, hotspot kinds and per-grid performance; a door for each report."""
    addr = addresses.reset_index(drop=True)
    grid_of = addr["grid_code"].astype(str).to_numpy()
    grids = np.unique(grid_of)
    weight = rng.pareto(1.6, len(grids)) + 0.2
    kinds = rng.choice(list(_BIASES) + ["plain"] * 3, size=len(grids))
    perf = np.clip(rng.normal(0.65, 0.25, len(grids)), 0.45, 2.2)  # >1: slower than the SLA
    g_index = {g: i for i, g in enumerate(grids)}
    per_addr = weight[np.searchsorted(grids, grid_of)]
    pick = rng.choice(len(addr), size=n, p=per_addr / per_addr.sum())
    gi = np.array([g_index[g] for g in grid_of[pick]])
    # 12 m of jitter around the door: reports are made from the pavement
    lon = addr["lon"].to_numpy()[pick] + rng.normal(0, 0.00012, n)
    lat = addr["lat"].to_numpy()[pick] + rng.normal(0, 0.0001, n)
    return _Spots(addr, pick, gi, kinds, perf, lon, lat)


def _what(cats: list, kind_of: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each report's category (index into ``cats``): the base mix plus its grid's bias."""
    codes = np.array([c.code for c in cats])
    base = np.array([3.0 if c.kind == "event" else 1.5 for c in cats])
    cat_idx = np.empty(len(kind_of), dtype=int)
    for kind, prefixes in list(_BIASES.items()) + [("plain", ())]:
        rows = np.flatnonzero(kind_of == kind)
        if not len(rows):
            continue
        w = base.copy()
        for p in prefixes:
            w[np.char.startswith(codes, p)] *= 6
        cat_idx[rows] = rng.choice(len(cats), size=len(rows), p=w / w.sum())
    return cat_idx


def _when(
    start: datetime, end: datetime, n: int, rng: np.random.Generator
) -> tuple[list[datetime], np.ndarray]:
    """When each report came in (uniform days, daytime hours) and their order, oldest first."""
    day = rng.integers(0, (end - start).days, n)
    hour = rng.choice(24, size=n, p=_hour_weights())
    received = [start + timedelta(days=int(d), hours=int(h), minutes=int(m))
                for d, h, m in zip(day, hour, rng.integers(0, 60, n), strict=True)]  # fmt: skip
    return received, np.argsort(np.array([r.timestamp() for r in received]), kind="stable")


@dataclass(frozen=True)
class _History:
    """The drawn reports, ready to be routed and followed through the loop one by one.

    What each report reads is in plain lists (``located``: one dict per report; ``texts``: the
    address each was made at): a pandas row or cell per report cost ~1 ms, most of the work.
    """

    district: str
    layers: tuple[str, ...]
    cats: list
    rules: Mapping[str, RoutingRule]
    spots: _Spots
    cat_idx: np.ndarray
    received: list[datetime]
    located: list[dict[str, Any]]
    texts: np.ndarray
    channels: np.ndarray
    roster: dict[tuple[str, str], list[dict[str, Any]]]
    end: datetime

    def run(
        self, order: np.ndarray, first_id: int, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Every report in ``order``, ids from ``first_id``: routed, simulated, assembled."""
        case_rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        escalations: list[dict[str, Any]] = []
        for case_id, i in enumerate(order, start=first_id):
            row, evs, escs = self.case(case_id, i, case_id - first_id + 1, rng)
            case_rows.append(row)
            events += evs
            escalations += escs
        cases = pd.DataFrame(case_rows)
        cases["geom"] = [
            None if x is None else shapely.Point(x, y)
            for x, y in zip(cases["lon"], cases["lat"], strict=True)
        ]
        return cases, pd.DataFrame(events), pd.DataFrame(escalations)

    def case(self, case_id: int, i: int, turn: int, rng: np.random.Generator):
        """Report ``i`` as case ``case_id``: placed (or, now and then, not), routed, simulated."""
        cat = self.cats[self.cat_idx[i]]
        rule = self.rules[cat.code]
        loc = self.located[i]
        placement = Placement(
            True, {k: loc[k] for k in self.layers}, loc["community_code"],
            loc["street_code"], float(loc["lon"]), float(loc["lat"]), "point",
        )  # fmt: skip
        unplaced = rng.random() < 0.015
        if unplaced:
            placement = Placement.unplaced(
                "geocoder unmatched: 地址不详（演示数据）", source="address"
            )
        decision = route(cat, rule, placement, self.roster, turn=turn)
        perf = float(self.spots.perf[self.spots.grid[i]])
        row, evs, escs = _simulate(case_id, cat, rule, decision, placement, self.received[i],
                                   self.end, perf, str(self.channels[i]), rng)  # fmt: skip
        row["address_text"] = str(self.texts[i])
        row["district_code"] = self.district  # filed with this district (placed or not)
        if unplaced:
            row["lon"], row["lat"] = None, None
        return row, evs, escs


def _hour_weights() -> np.ndarray:
    w = np.array([1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 10, 10, 12, 12, 11, 10, 9, 8, 6, 4, 2, 1],
                 dtype=float)  # fmt: skip
    return w / w.sum()


# ------------------------------------------------------------------------ one case's path
class _StillOpen(Exception):  # noqa: N818 (a signal, not an error)
    """The case's next step falls after ``end``: it stays open there (and, once its handler
    has accepted it, the sweep may have escalated it)."""

    def __init__(self, escalate: bool) -> None:
        super().__init__()
        self.escalate = escalate


@dataclass
class _Path:
    """One case on its way through the loop: its row, its events and where it stands."""

    case_id: int
    end: datetime
    rng: np.random.Generator
    row: dict[str, Any] = field(default_factory=dict)
    status: str = "received"
    events: list[dict[str, Any]] = field(default_factory=list)

    def step(self, action, t, who, role, note=None, data=None) -> None:
        """Take ``action`` at ``t`` through the real state machine and log it."""
        new = lifecycle.apply(self.status, action)
        self.events.append({"case_id": self.case_id, "action": action,
                            "from_status": self.status, "to_status": new, "actor": who,
                            "role": role, "at": t, "note": note, "attachment": None,
                            "data": data or {}})  # fmt: skip
        self.status = new

    def until(self, t: datetime, *, escalate: bool) -> None:
        """Go on only if ``t`` is not after ``end``."""
        if t > self.end:
            raise _StillOpen(escalate)


def _simulate(case_id, cat, rule, decision, placement, at, end, perf, channel, rng):
    """One case's path through the loop, as far as ``end`` lets it go: received, dispatched
    (by the router or a dispatcher, or rejected), accepted, worked, verified, closed, rated."""
    path = _Path(case_id, end, rng)
    path.events.append(_receipt(case_id, cat, decision, at, channel, rng))
    path.row = _case_row(case_id, cat, rule, decision, placement, at, channel)
    handler = decision.assignee_name or (decision.department or "社区")
    try:
        t = _dispatch(path, cat, decision, at)
        if t is None:  # rejected at assessment
            return path.row, path.events, []
        t = _accept(path, handler, t, perf)
        t = _work(path, rule, handler, t, perf)
        return _close(path, t, perf)
    except _StillOpen as still:
        row = _finish(path.row, path.status, end, rng)
        return row, path.events, _escalate(row, path.status, end) if still.escalate else []


def _receipt(case_id, cat, decision, at, channel, rng) -> dict[str, Any]:
    """The ``receive`` event: who took the report in, through which channel."""
    actor = {"hotline": "12345坐席", "patrol": decision.assignee_name or "网格员"}.get(
        channel, channel
    )
    return {"case_id": case_id, "action": "receive", "from_status": None,
            "to_status": "received", "actor": actor, "role": _RECEIVER.get(channel, SYSTEM),
            "at": at,
            "note": f"{rng.choice(_DESCRIPTIONS)}: {cat.name_zh}", "attachment": None,
            "data": {"channel": channel}}  # fmt: skip


def _case_row(case_id, cat, rule, decision, placement, at, channel) -> dict[str, Any]:
    """The case as filed and routed, before anything happens to it."""
    due = at + timedelta(hours=total_sla_hours(rule))
    return {
        "id": case_id, "number": f"{to_local(at):%Y%m%d}{case_id:08d}", "channel": channel,
        "reporter_name": None if channel == "patrol" else "市民", "reporter_phone": None,
        "input_crs": "wgs84", "category_code": cat.code, "category_kind": cat.kind,
        "description": f"{cat.name_zh}", "photos": [], "severity": rule.severity,
        "version": 1, "level": decision.level, "grid_code": decision.grid_code,
        "grids": {k: v for k, v in placement.grids.items()},
        "community_code": placement.community_code, "street_code": placement.street_code,
        "responsible_layer": decision.responsible_layer,
        "responsible_grid": decision.responsible_grid, "department": decision.department,
        "assignee_person_id": decision.assignee_person_id,
        "assignee_name": decision.assignee_name, "strategy": decision.strategy,
        "routing": {"trace": list(decision.trace), "placement": {"source": placement.source}},
        "manual_reason": decision.manual_reason, "received_at": at, "due_at": due,
        "level_due_at": due, "reopened": 0, "extended": False, "source_client": "demo",
        "lon": placement.lon, "lat": placement.lat,
    }  # fmt: skip


def _dispatch(path: _Path, cat, decision, at: datetime) -> datetime | None:
    """The manual queue and a dispatcher's placing, a rejection (None), or the router's own
    dispatch: the time the case was dispatched. A rejection that would come after ``end`` never
    happened: the case goes on as dispatched at that time (and so stays open)."""
    rng, t = path.rng, at
    if decision.status == "manual":
        path.step("to_manual", t, "system:router", SYSTEM, decision.manual_reason)
        t += timedelta(hours=float(rng.uniform(1, 20)))
        path.until(t, escalate=False)
        path.step("dispatch", t, "调度员", "dispatcher", "人工落点派遣")
    elif rng.random() < 0.03:
        t += timedelta(minutes=float(rng.uniform(10, 90)))
        if t <= path.end:
            reason = "duplicate" if rng.random() < 0.6 else "out_of_scope"
            path.step("reject", t, "研判员", "dispatcher", reason)
            path.row["updated_at"] = t
            path.row["status"] = path.status
            return None
    else:
        path.step("assess", t, "system:router", SYSTEM, cat.code)
        path.step("dispatch", t, "system:router", SYSTEM, decision.trace[-1])
    path.row["dispatched_at"] = t
    return t


def _accept(path: _Path, handler: str, t: datetime, perf: float) -> datetime:
    """The handler accepts the case and, some time later, contacts the reporter."""
    rng = path.rng
    t_contact = t + timedelta(hours=float(rng.gamma(1.5, 0.25 * perf)))
    t += timedelta(hours=float(rng.uniform(0.2, 3)))
    path.until(t, escalate=False)
    path.step("accept", t, handler, "grid_worker")
    if t_contact <= path.end:
        path.row["responded_at"] = t_contact
        path.events.append({"case_id": path.case_id, "action": "contact",
                            "from_status": path.status, "to_status": path.status,
                            "actor": handler, "role": "grid_worker", "at": t_contact,
                            "note": "已联系反映人", "attachment": None, "data": {}})  # fmt: skip
    return t


def _work(path: _Path, rule, handler: str, t: datetime, perf: float) -> datetime:
    """Handling (now and then suspended), then verification, which sometimes sends it back."""
    rng = path.rng
    work = rule.sla_hours["handle"] * float(rng.lognormal(np.log(0.55 * perf), 0.55))
    if rng.random() < 0.02 * perf:
        s_at = t + timedelta(hours=work / 3)
        if s_at <= path.end:
            path.step("suspend", s_at, handler, "grid_worker", "等待条件")
            path.row["extended"] = True
            t = s_at + timedelta(hours=float(rng.uniform(12, 96)))
            path.until(t, escalate=True)
            path.step("resume", t, handler, "grid_worker")
    t += timedelta(hours=work)
    path.until(t, escalate=True)
    path.step("handle", t, handler, "grid_worker", "已处置")
    path.row["handled_at"] = t
    t += timedelta(hours=float(rng.uniform(1, rule.sla_hours["verify"] * perf)))
    path.until(t, escalate=True)
    if rng.random() < 0.02 * perf:
        path.step("reopen", t, "核查员", "dispatcher", "核查不通过")
        path.row["reopened"] = 1
        t += timedelta(hours=float(rng.uniform(4, 24)))
        path.until(t, escalate=True)
        path.step("handle", t, handler, "grid_worker", "返工完成")
        path.row["handled_at"] = t
        t += timedelta(hours=float(rng.uniform(1, 8)))
        path.until(t, escalate=True)
    return t


def _close(path: _Path, t: datetime, perf: float):
    """Verified, closed (escalated first when it closed late) and, most often, rated."""
    rng, row = path.rng, path.row
    path.step("verify", t, "核查员", "dispatcher", "核查通过")
    t += timedelta(hours=float(rng.uniform(0.5, 6)))
    path.until(t, escalate=True)
    path.step("close", t, "网格化中心", "dispatcher")
    row["closed_at"] = t
    escs = _escalate(row, "handling", t) if t > row["due_at"] else []
    if rng.random() < 0.7:
        t += timedelta(hours=float(rng.uniform(1, 48)))
        if t <= path.end:
            rating = int(rng.choice([5, 4, 3, 2, 1], p=[0.78, 0.18, 0.02, 0.01, 0.01]))
            if perf > 1.4 and rating > 2:
                rating -= 1
            path.step("rate", t, "12345回访", "dispatcher", "市民评价", {"rating": rating})
            row.update(rating=rating, resolved=rating >= 3, satisfied=rating >= 4, rated_at=t)
    row["status"] = path.status
    row["updated_at"] = min(t, path.end)
    return row, path.events, escs


def _finish(row, status, end, rng):
    row["status"] = status
    row["updated_at"] = end - timedelta(minutes=float(rng.uniform(1, 600)))
    row["updated_at"] = max(row["updated_at"], row["received_at"])
    return row


def _escalate(row, status, now):
    """Escalate an overdue case with the real sweep; updates ``row`` and returns the records."""
    clock = esc.CaseClock(row["level"], row["level_due_at"], status, row.get("department"))
    steps = esc.sweep_case(clock, now)
    if not steps:
        return []
    row["level"] = steps[-1].to_level
    row["level_due_at"] = steps[-1].level_due_at
    return [
        {
            "case_id": row["id"],
            "from_level": s.from_level,
            "to_level": s.to_level,
            "reason": s.reason,
            "at": s.overdue_since,
            "overdue_since": s.overdue_since,
            "level_due_at": s.level_due_at,
        }  # fmt: skip
        for s in steps
    ]
