"""Case use cases: intake → routing → assignment, transitions, 吹哨报到, indicators, Open311.

One function per user action, one transaction each. The pure rules live in :mod:`geo_grid.cases`;
this package loads what they need (the locate index and geocoder from
:mod:`geo_grid.services.index`, the effective routing rules, the roster), calls them, and stores the
outcome with its audit events.

One module per job: :mod:`.rules` (effective routing rules and their cache), :mod:`.placement`
(locate/geocode a report, the roster map), :mod:`.views` (cases as the API shows them),
:mod:`.reception` (the public intake), :mod:`._writer` (the group-commit writer),
:mod:`.transitions`, :mod:`.escalation` (吹哨报到), :mod:`.reports` (indicators, Open311),
:mod:`.preview` (what intake will do with a typed address), :mod:`.inbox` (each role's case list),
:mod:`.photos` (the photos of the work) and :mod:`.demo`. Each cache, lock and writer thread lives in the one module that owns it: patch a
private name on that module, not on this package.

Caches, and what invalidates them: the effective rules are re-read when the ``routing_rule`` table's
fingerprint changes (checked at most every :data:`RULES_TTL_S` seconds, and at once after an edit
in this process); the roster map and the intake's geocoder follow the locate index's key (a
publish rebuilds them).
"""

from __future__ import annotations

from geo_grid.services.cases._common import CHANNELS
from geo_grid.services.cases.demo import load_demo_cases, plan_demo_cases, store_demo_cases
from geo_grid.services.cases.escalation import report_in, start_ticker, tick, whistle
from geo_grid.services.cases.inbox import inbox
from geo_grid.services.cases.photos import add_photo, photo_file
from geo_grid.services.cases.placement import place
from geo_grid.services.cases.preview import duty_grid, intake_preview
from geo_grid.services.cases.reception import intake, intake_async
from geo_grid.services.cases.reports import indicators, thresholds
from geo_grid.services.cases.reports import open311_create as open311_create
from geo_grid.services.cases.reports import open311_request as open311_request
from geo_grid.services.cases.reports import open311_requests as open311_requests
from geo_grid.services.cases.rules import (
    RULES_TTL_S,
    effective_rule,
    effective_rules,
    reset_rule,
    update_rule,
)
from geo_grid.services.cases.transitions import route_to_point, transition
from geo_grid.services.cases.views import case_view, get_case, history, list_cases, manual_queue

__all__ = [
    "CHANNELS",
    "RULES_TTL_S",
    "add_photo",
    "case_view",
    "duty_grid",
    "effective_rule",
    "effective_rules",
    "get_case",
    "history",
    "inbox",
    "indicators",
    "intake",
    "intake_async",
    "intake_preview",
    "list_cases",
    "load_demo_cases",
    "manual_queue",
    "plan_demo_cases",
    "photo_file",
    "place",
    "report_in",
    "reset_rule",
    "route_to_point",
    "start_ticker",
    "store_demo_cases",
    "thresholds",
    "tick",
    "transition",
    "update_rule",
    "whistle",
]
