"""Every value of every domain enum has a Chinese label, reasons read in Chinese, Beijing time.

Each label table of :mod:`geo_grid.labels` is compared with the enum it labels where that enum is
defined (the coverage module, the case state machine, the database's check constraints...), so a
new defect kind or case state without a label fails here, not on a page in front of a leader.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from geo_grid import labels
from geo_grid.errors import BadInput
from geo_grid.periods import check_period, parse_instant
from geo_grid.settings import get_settings
from geo_grid.timefmt import (
    assume_local,
    format_date,
    format_period,
    format_time,
    local_zone,
    zone_suffix,
)

ROOT = Path(__file__).resolve().parents[2]
#: Proper names that stay as they are in Chinese text
KEPT = {"APP", "Open311"}
ENGLISH = re.compile(r"[A-Za-z][A-Za-z0-9]+")


def _check_values(sql: str) -> set[str]:
    """The values of a ``col in ('a', 'b')`` check constraint."""
    return set(re.findall(r"'([^']+)'", sql))


def _table_constraint(model, name: str) -> set[str]:
    for arg in model.__table_args__:
        if getattr(arg, "name", None) == name:
            return _check_values(str(arg.sqltext))
    raise AssertionError(f"no constraint {name}")


@functools.cache
def _enums() -> dict[str, tuple[dict, set]]:
    """Label table → (the table, the values it must label), each from where the enum lives."""
    from geo_grid import access, address, plans
    from geo_grid.address.places import PLACE_KINDS
    from geo_grid.cases import duties, escalation, lifecycle, rules
    from geo_grid.cases.indicators import RATES
    from geo_grid.coverage import DEFECT_KINDS
    from geo_grid.db import models
    from geo_grid.maps import INDICATOR_COLOURS
    from geo_grid.roster import DEFAULT_ROLES
    from geo_grid.services.job_kinds import KINDS

    return {
        "DEFECT_KIND": (labels.DEFECT_KIND, set(DEFECT_KINDS)),
        "CASE_STATE": (labels.CASE_STATE, set(models.CASE_STATUSES) | set(lifecycle.STATES)),
        "CASE_ACTION": (
            labels.CASE_ACTION,
            set(lifecycle.ACTIONS)
            | set(lifecycle.NOTE_ACTIONS)
            | set(duties.ACTION_ROLES)
            | {"receive", "replan"},  # replan: a publish records a case's new grid (db.repos.plans)
        ),
        "CASE_LEVEL": (labels.CASE_LEVEL, set(escalation.LEVELS)),
        "PHOTO_PHASE": (labels.PHOTO_PHASE, set(duties.PHOTO_STATES)),
        "CASE_CHANNEL": (labels.CASE_CHANNEL, set(models.CASE_CHANNELS)),
        "SYSTEM_ACTOR": (labels.SYSTEM_ACTOR, _system_actors()),
        "CASE_SEVERITY": (labels.CASE_SEVERITY, set(rules.SEVERITIES)),
        "ROUTING_STRATEGY": (labels.ROUTING_STRATEGY, _strategies()),
        "PLAN_STATE": (labels.PLAN_STATE, set(models.PLAN_STATUSES)),
        "PLAN_CHANGE": (labels.PLAN_CHANGE, _plan_changes()),
        "PLAN_OP": (labels.PLAN_OP, set(plans.EDIT_OPS) | {plans.UNDO, "import", "publish"}),
        "BAND_STATUS": (labels.BAND_STATUS, _band_statuses()),
        "GENERATION_STATE": (
            labels.GENERATION_STATE,
            _table_constraint(models.Generation, "generation_status_values"),
        ),
        "GEOCODE_STATUS": (labels.GEOCODE_STATUS, {"matched", "ambiguous", "unmatched"}),
        "GEOCODE_LEVEL": (labels.GEOCODE_LEVEL, set(address.LEVELS)),
        "ROLE": (labels.ROLE, set(access.ROLES)),
        "ACTOR_ROLE": (
            labels.ACTOR_ROLE,
            set(access.ROLES) | set().union(*(roles for roles, _ in duties.ACTION_ROLES.values())),
        ),
        "ROSTER_ROLE": (
            labels.ROSTER_ROLE,
            {role.key for role in DEFAULT_ROLES},  # roles are rows since 0012: the seeded ones
        ),
        "SCOPE_LEVEL": (labels.SCOPE_LEVEL, set(access.SCOPE_LEVELS)),
        "INDICATOR_COLOUR": (labels.INDICATOR_COLOUR, set(INDICATOR_COLOURS)),
        "INDICATOR_RATE": (labels.INDICATOR_RATE, set(RATES)),
        "PLACE_KIND": (labels.PLACE_KIND, set(PLACE_KINDS)),
        "JOB_KIND": (labels.JOB_KIND, set(KINDS)),
        "JOB_STATUS": (
            labels.JOB_STATUS,
            set(models.JOB_STATUSES) | _table_constraint(models.Job, "job_status_values"),
        ),
        "JOB_STAGE": (labels.JOB_STAGE, _job_stages()),
    }


#: Where long work names the steps it reports (``step("edges")``, ``tell("accept", …)``,
#: ``label_of("geocode")``): each name is a job's message, so each needs its Chinese.
_STAGE_SOURCES = ("coverage/check.py", "coverage/fix.py", "merge.py", "services/checks.py",
                  "services/plans.py", "services/job_kinds.py", "services/exports.py")  # fmt: skip


def _job_stages() -> set[str]:
    root = Path(labels.__file__).parent
    found = set()
    for name in _STAGE_SOURCES:
        for node in ast.walk(ast.parse((root / name).read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("step", "tell", "label_of") and node.args
                    and isinstance(node.args[0], ast.Constant)):  # fmt: skip
                found.add(node.args[0].value)
    return found


def _strategies() -> set[str]:
    """The strategies a routing rule accepts (probing the validator, which names no constant)."""
    from geo_grid.cases import rules
    from geo_grid.cases.catalogue import categories

    base = rules.default_rule(categories()[0])
    accepted = set()
    for value in (*labels.ROUTING_STRATEGY, "owner_only", "nearest"):
        with contextlib.suppress(BadInput):
            accepted.add(rules.rule_from_dict(base, {"strategy": value}).strategy)
    assert accepted >= {rules.default_rule(c).strategy for c in categories()}
    return accepted


def _system_actors() -> set[str]:
    """The names of the ``system:<name>`` actors the library writes into a case's history."""
    found = set()
    for path in (ROOT / "geo_grid").rglob("*.py"):
        found |= set(re.findall(r"[\"']system:(\w+)[\"']", path.read_text(encoding="utf-8")))
    return found


def _band_statuses() -> set[str]:
    """Every ``status`` :func:`geo_grid.plans.balance` gives, from grids under, in and over."""
    import geopandas as gpd

    from geo_grid.plans import balance

    grids = gpd.GeoDataFrame({"code": ["a", "b", "c"], "community_code": ["x"] * 3,
                              "households": [10, 400, 900]})  # fmt: skip
    found = set(balance(grids, gpd.GeoDataFrame({"code": ["x"], "kind": ["urban"]}))["status"])
    assert len(found) == 3
    return found


def _plan_changes() -> set[str]:
    """Every ``change`` :func:`geo_grid.plans.diff_layers` reports, from a diff with all three."""
    import geopandas as gpd
    from shapely import box

    from geo_grid.plans import diff_layers

    def frame(codes, boxes):
        return gpd.GeoDataFrame({"code": codes, "name": codes}, geometry=boxes, crs=4490)

    a = frame(["1", "2"], [box(118.9, 32.1, 118.91, 32.11), box(118.91, 32.1, 118.92, 32.11)])
    b = frame(["1", "3"], [box(118.9, 32.1, 118.905, 32.11), box(118.91, 32.1, 118.92, 32.11)])
    return set(diff_layers(a, b)["change"])


@pytest.mark.parametrize("name", sorted(n for n in labels.__all__ if n.isupper()))
def test_every_enum_value_has_a_chinese_label(name):
    table, values = _enums()[name]
    assert values, name
    assert set(table) == values, (name, set(table) ^ values)
    for value, text in table.items():
        assert re.search(r"[\u4e00-\u9fff]", text) or text in KEPT, (name, value, text)
        assert not [w for w in ENGLISH.findall(text) if w not in KEPT], (name, value, text)


def test_the_domain_uses_the_labels_not_copies():
    """The state machine, escalation, access and case views read their words from labels.py."""
    from geo_grid import access
    from geo_grid.cases import escalation, lifecycle
    from geo_grid.maps import DEFECT_STYLES, defect_style
    from geo_grid.services.cases import CHANNELS

    assert lifecycle.STATES == labels.CASE_STATE
    assert {a: lifecycle.ACTIONS[a][2] for a in lifecycle.ACTIONS} == {
        a: labels.CASE_ACTION[a] for a in lifecycle.ACTIONS
    }
    assert escalation.LEVELS == labels.CASE_LEVEL
    assert set(DEFECT_STYLES) == set(labels.DEFECT_KIND)  # every kind its own colour on the map
    assert {k: defect_style(k)[0] for k in DEFECT_STYLES} == labels.DEFECT_KIND
    assert access.ROLE_ZH == labels.ROLE
    assert CHANNELS == labels.CASE_CHANNEL


def test_an_unknown_value_is_shown_as_itself():
    assert labels.label(labels.DEFECT_KIND, "self_touching") == "self_touching"
    assert labels.label(labels.PLAN_STATE, None) == ""
    assert labels.label(labels.INDICATOR_COLOUR, None) == "案件过少，不评"


# ------------------------------------------------------------------------------ reasons
REASON_SOURCES = (
    "geo_grid/address/geocode.py",
    "geo_grid/services/cases/placement.py",
    "geo_grid/cases/rules.py",
    "geo_grid/services/cases/transitions.py",
)


def _texts(node: ast.expr) -> list[str]:
    """Every string in an expression: literals, and f-strings with each placeholder as ``12``
    (``a if b else c``, ``x or "..."`` and ``x + "; ..."`` give each of their pieces; names in
    comparisons and calls are not texts)."""
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value if isinstance(v, ast.Constant) else "12" for v in node.values)]
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) else []
    if isinstance(node, ast.Compare | ast.Call):  # status == "matched", data.get("reason")
        return []
    return [t for child in ast.iter_child_nodes(node) for t in _texts(child)]


def _target_name(target: ast.expr) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
        return str(target.slice.value)
    return None


def _reasons(path: Path) -> set[str]:
    """Every text a module gives as a reason: ``reason=...``, ``reason = ...``, ``h.reason = ...``,
    the 4th argument of the geocoder's ``_Hit`` and the argument of ``Placement.unplaced``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        values: list[ast.expr] = []
        if isinstance(node, ast.Call):
            values += [k.value for k in node.keywords if k.arg in ("reason", "manual_reason")]
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name == "_Hit" and len(node.args) >= 4:
                values.append(node.args[3])
            if name == "unplaced" and node.args:
                values.append(node.args[0])
        elif isinstance(node, ast.Assign) and {"reason", "manual_reason"} & {
            _target_name(t) for t in node.targets
        }:
            values.append(node.value)
        found |= {t for v in values for t in _texts(v) if ENGLISH.search(t)}
    return found


def test_every_reason_the_geocoder_and_router_give_reads_in_chinese():
    reasons = set().union(*(_reasons(ROOT / p) for p in REASON_SOURCES))
    assert len(reasons) >= 15, sorted(reasons)  # the scan found them (not an empty loop)
    for reason in sorted(reasons):
        translated = labels.reason_zh(reason)
        assert not ENGLISH.search(translated), (reason, translated)


def test_reasons_keep_names_and_figures():
    text = "geocoder unmatched: fuzzy name 尧佳路 (0.62); door 88 not in library: road segment"
    assert labels.reason_zh(text) == (
        "地址未匹配：名称近似 尧佳路（相似度 0.62）；地址库中没有 88 号门牌，按路段估计"
    )
    assert labels.reason_zh("the point (118.9, 32.1, wgs84) lies outside the district") == (
        "坐标（118.9, 32.1, wgs84）不在本辖区内"
    )


# ------------------------------------------------------------------------------ Beijing time
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2026, 12, 6, 10, 37, tzinfo=UTC),
        datetime(2026, 6, 30, 16, 0, tzinfo=UTC),  # crosses midnight in Beijing
        datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_times_read_in_beijing_time(instant):
    """Checked against the tz database's Asia/Shanghai, not against our own fixed offset."""
    local = instant.astimezone(SHANGHAI)
    assert format_time(instant) == f"{local:%Y-%m-%d %H:%M} (北京时间)"
    assert (
        format_time(instant.isoformat(), seconds=True, suffix=False) == f"{local:%Y-%m-%d %H:%M:%S}"
    )
    assert format_date(instant) == f"{local:%Y-%m-%d}"
    assert format_time(None) == ""


def test_typed_times_without_offset_are_beijing_time():
    assert assume_local(datetime(2026, 6, 1)) == datetime(2026, 6, 1, tzinfo=SHANGHAI)
    utc = datetime(2026, 6, 1, tzinfo=UTC)
    assert assume_local(utc) is utc
    assert parse_instant("2026-06-01", "from") == datetime(2026, 5, 31, 16, tzinfo=UTC)
    assert parse_instant("2026-06-01T08:00+00:00", "to").utcoffset() == timedelta(0)
    with pytest.raises(BadInput) as err:
        parse_instant("昨天", "from")
    assert err.value.field == "from"
    assert local_zone().utcoffset(datetime(2026, 6, 1)) == timedelta(hours=8)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("0001-01-01T00:00:00+14:00", "from"),  # year 0 in UTC
        ("0001-01-01T00:00:00", "from"),  # Beijing midnight of year 1: year 0 in UTC
        ("9999-12-31T20:00:00+00:00", "to"),  # year 10000 in Beijing time
    ],
)
def test_instants_nobody_can_be_shown_are_refused_naming_the_field(text, field):
    """A page shows a period in Beijing time and the store compares in UTC: an instant outside
    years 1 to 9999 in either is a 422 naming the field, not an OverflowError (500)."""
    with pytest.raises(BadInput) as err:
        parse_instant(text, field)
    assert err.value.field == field and "years 1 to 9999" in err.value.message


def test_the_time_zone_setting_is_the_one_zone(monkeypatch):
    """GEO_GRID_TIME_ZONE moves both what people type and what they read, and names itself."""
    monkeypatch.setenv("GEO_GRID_TIME_ZONE", "Asia/Urumqi")  # UTC+6, no daylight saving
    get_settings.cache_clear()
    try:
        instant = datetime(2026, 12, 6, 10, 37, tzinfo=UTC)
        assert format_time(instant) == "2026-12-06 16:37 (Asia/Urumqi)"
        assert parse_instant("2026-06-01", "from") == datetime(2026, 5, 31, 18, tzinfo=UTC)
        period = check_period(parse_instant("2026-11-01", "from"), parse_instant("2026-12-01", "to"),
                              max_days=366)  # fmt: skip
        assert format_period(period.start, period.end) == "2026-11-01 至 2026-11-30 (Asia/Urumqi)"
    finally:
        monkeypatch.delenv("GEO_GRID_TIME_ZONE")
        get_settings.cache_clear()
    assert zone_suffix() == "(北京时间)"


def test_an_unknown_time_zone_is_refused_when_the_settings_are_read(monkeypatch):
    from pydantic import ValidationError

    monkeypatch.setenv("GEO_GRID_TIME_ZONE", "Asia/Peking")
    get_settings.cache_clear()
    try:
        with pytest.raises(ValidationError, match="time_zone"):
            get_settings()
    finally:
        monkeypatch.delenv("GEO_GRID_TIME_ZONE")
        get_settings.cache_clear()


def test_a_period_names_its_beijing_days():
    start = datetime(2026, 10, 31, 16, tzinfo=UTC)  # 2026-11-01 00:00 in Beijing
    end = datetime(2026, 11, 30, 16, tzinfo=UTC)  # exclusive: the period ends on 11-30
    assert format_period(start, end) == "2026-11-01 至 2026-11-30 (北京时间)"


def test_only_one_beijing_zone_in_the_library():
    """No module keeps its own copy of UTC+8: the setting GEO_GRID_TIME_ZONE is the one, and
    geo_grid/timefmt.py the one reader (settings.py turns the name into a zone). Nor does any
    module fall back on the host's zone (``datetime.now()``, ``.astimezone()`` without a zone),
    a second "local time" that is UTC on most servers."""
    copy = re.compile(
        r"timedelta\(hours=8\)|[\"']Asia/Shanghai[\"']|ZoneInfo\(|\.zone\b"
        r"|datetime\.now\(\)|\.astimezone\(\)"
    )
    copies = [
        path.relative_to(ROOT).as_posix()
        for tree in ("geo_grid", "api")
        for path in (ROOT / tree).rglob("*.py")
        if path.name not in ("settings.py", "timefmt.py")
        and copy.search(path.read_text(encoding="utf-8"))
    ]
    assert copies == []
    settings = (ROOT / "geo_grid" / "settings.py").read_text(encoding="utf-8")
    assert len(re.findall(r"[\"']Asia/Shanghai[\"']", settings)) == 1
