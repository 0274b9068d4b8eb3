"""The effective routing rules: the catalogue's defaults overlaid by the stored overrides.

The rules are re-read when the ``routing_rule`` table's fingerprint changes (checked at most every
:data:`RULES_TTL_S` seconds, and at once after an edit in this process).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from geo_grid.cases.catalogue import categories, category
from geo_grid.cases.rules import (
    RoutingRule,
    default_rules,
    rule_from_dict,
    total_sla_hours,
)
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput, NotFound
from geo_grid.services.cases._common import cache_lock

__all__ = [
    "RULES_TTL_S",
    "effective_rule",
    "effective_rules",
    "load_rules",
    "reset_rule",
    "rules_for",
    "update_rule",
]

RULES_TTL_S = 2.0


_rules: dict[str, Any] = {"checked": 0.0, "key": None, "rules": None}


def load_rules(session) -> dict[str, RoutingRule]:
    rules = default_rules()
    for row in repos.cases.read_rules(session):
        base = rules.get(row["category_code"])
        if base is None:
            continue
        data = {k: row[k] for k in ("layer", "department", "strategy", "severity", "sla_hours",
                                    "report_in_hours", "whistle_departments")}  # fmt: skip
        rules[base.category_code] = rule_from_dict(base, {**data, "source": "custom"})
    return rules


def rules_for(session) -> dict[str, RoutingRule]:
    clock = time.monotonic()
    with cache_lock:
        fresh = _rules["rules"] is not None and clock - _rules["checked"] < RULES_TTL_S
        if fresh:
            return _rules["rules"]
    key = repos.cases.rules_fingerprint(session)
    with cache_lock:
        if _rules["rules"] is not None and _rules["key"] == key:
            _rules["checked"] = clock
            return _rules["rules"]
    rules = load_rules(session)
    with cache_lock:
        _rules.update(checked=clock, key=key, rules=rules)
    return rules


def _forget_rules() -> None:
    with cache_lock:
        _rules.update(checked=0.0, key=None, rules=None)


def effective_rules() -> list[dict[str, Any]]:
    """Every category with its effective rule (``source``: default or custom)."""
    with session_scope() as session:
        rules = rules_for(session)
    return [
        {
            **rules[c.code].to_dict(),
            "category": c.to_dict(),
            "total_hours": total_sla_hours(rules[c.code]),
        }
        for c in categories()
    ]


def effective_rule(category_code: str) -> dict[str, Any]:
    """One category's effective rule, as :func:`effective_rules` gives it; an unknown code is
    :class:`NotFound` naming it."""
    cat = category(category_code)
    return next(r for r in effective_rules() if r["category_code"] == cat.code)


def update_rule(category_code: str, data: Mapping[str, Any], *, actor: str) -> dict[str, Any]:
    """Override one category's rule (validated against the catalogue's default)."""
    cat = category(category_code)
    if "layer" in data and data["layer"] is not None:
        with session_scope() as session:
            known = {r["key"] for r in repos.grids.list_layers(session)}
        if data["layer"] not in known:
            raise BadInput(f"layer: unknown layer {data['layer']!r}", field="layer")
    with session_scope() as session:
        base = rules_for(session).get(cat.code) or default_rules()[cat.code]
        rule = rule_from_dict(base, data)
        repos.cases.upsert_rule(session, rule.to_dict(), actor)
    _forget_rules()
    return {**rule.to_dict(), "source": "custom"}


def reset_rule(category_code: str) -> dict[str, Any]:
    """Drop a category's override: the catalogue default applies again."""
    cat = category(category_code)
    with session_scope() as session:
        existed = repos.cases.delete_rule(session, cat.code)
    _forget_rules()
    if not existed:
        raise NotFound(f"rule: category {cat.code} has no custom rule", field="category")
    return default_rules()[cat.code].to_dict()
