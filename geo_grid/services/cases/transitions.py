"""Moving a case through its lifecycle, with optimistic locking and an audit event per move."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from geo_grid.access import Principal
from geo_grid.cases import duties, lifecycle
from geo_grid.cases.catalogue import category
from geo_grid.cases.rules import (
    route,
    stage_deadline,
)
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput, Conflict
from geo_grid.services.cases._common import action_time, event_row
from geo_grid.services.cases.placement import get_locator, place, roster_map
from geo_grid.services.cases.rules import rules_for
from geo_grid.services.cases.views import case_view, ensure_in_scope, find_case, handler_of

__all__ = ["route_to_point", "transition"]


def _changes_for(action: str, case: Mapping[str, Any], data: Mapping[str, Any], now: datetime):
    changes: dict[str, Any] = {}
    if action in ("dispatch", "reassign"):
        for key in ("department", "assignee_person_id", "assignee_name", "responsible_layer",
                    "responsible_grid"):  # fmt: skip
            if data.get(key) is not None:
                changes[key] = data[key]
        if action == "reassign" and not (data.get("department") or data.get("assignee_person_id")):
            raise BadInput("reassign: name the new department or assignee_person_id", field="data")
        changes["dispatched_at"] = now
        changes["manual_reason"] = None
    elif action == "to_manual":
        changes["manual_reason"] = data.get("reason") or "sent back to the manual queue"
    elif action == "contact":
        if case.get("responded_at") is None:
            changes["responded_at"] = now
    elif action == "suspend":
        changes["extended"] = True
    elif action == "handle":
        changes["handled_at"] = now
    elif action == "reopen":
        changes["reopened"] = int(case.get("reopened") or 0) + 1
        changes["handled_at"] = None
    elif action == "close":
        changes["closed_at"] = now
    elif action == "rate":
        rating = data.get("rating")
        if not isinstance(rating, int) or not 1 <= rating <= 5:
            raise BadInput("rating: an integer from 1 to 5 is required", field="rating")
        changes.update(
            rating=rating,
            resolved=bool(data.get("resolved", rating >= 3)),
            satisfied=bool(data.get("satisfied", rating >= 4)),
            rated_at=now,
        )
    elif action == "reject":
        reason = data.get("reason")
        if reason not in ("out_of_scope", "duplicate"):
            raise BadInput("reason: reject needs reason out_of_scope or duplicate", field="reason")
        if reason == "duplicate":
            if data.get("duplicate_of") is None:
                raise BadInput(
                    "duplicate_of: the id of the case this one repeats", field="duplicate_of"
                )
            changes["duplicate_of"] = int(data["duplicate_of"])
    return changes


def transition(
    ref: int | str,
    action: str,
    *,
    version: int,
    by: Principal,
    note: str | None = None,
    attachment: str | None = None,
    data: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Move a case by ``action`` if it is still at ``version`` (else 409); log who, when and why.

    ``by`` is the caller: the event records their label and account role, never a name or role
    the client typed. They may act only on cases of their own area and only as
    :mod:`geo_grid.cases.duties` allows their role (403 naming the rule); an illegal action for the
    case's status raises :class:`Conflict` whose ``extra["allowed"]`` lists the legal ones.
    """
    now = action_time(now)
    data = dict(data or {})
    with session_scope() as session:
        case = find_case(session, ref)
        ensure_in_scope(by, case)
        duties.check(by.role, action)
        if case["version"] != version:
            err = Conflict(
                f"version: the case is at version {case['version']}, you sent {version}; "
                "reload and retry",
                field="version",
            )
            err.extra = {"current_version": case["version"],
                         "allowed": lifecycle.allowed_actions(case["status"])}  # fmt: skip
            raise err
        new_status = lifecycle.apply(case["status"], action)
        if action in duties.FOUR_EYES:
            handler = repos.cases.last_actor(session, case["id"], "handle")
            duties.check_four_eyes(action, by.label, handler=handler)
        changes = _changes_for(action, case, data, now)
        if action == "reject" and changes.get("duplicate_of") is not None:
            find_case(session, changes["duplicate_of"])
        rule = rules_for(session)[case["category_code"]]
        changes["status"] = new_status
        if new_status != case["status"]:
            changes["stage_due_at"] = stage_deadline(rule, lifecycle.STAGE_OF.get(new_status), now)
        changes["updated_at"] = now
        new_version = repos.cases.update_case(session, case["id"], version, changes)
        event = event_row(case["id"], action, case["status"], new_status, by.label, by.role, now,
                       note, attachment, data)  # fmt: skip
        repos.cases.insert_events(session, [event])
        stored = repos.cases.get_case(session, case_id=case["id"])
        handler = handler_of(session, case["id"])
    assert stored["version"] == new_version
    return case_view(stored, now=now, viewer=by, handler=handler)


def route_to_point(
    ref: int | str, lon: float, lat: float, crs: str = "wgs84", *, by: Principal,
    version: int | None = None, now: datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Dispatch a manual-queue case by pointing at the map: locate the point, route, dispatch
    (a ``dispatch`` by ``by``: the same role rule as the transition)."""
    now = action_time(now)
    duties.check(by.role, "dispatch")
    with session_scope() as session:
        ensure_in_scope(by, find_case(session, ref))
    placement = place(lon=lon, lat=lat, crs=crs)
    if not placement.placed:
        raise BadInput(f"point: {placement.reason}", field="lon")
    roster = roster_map(get_locator(), placement.district_code)
    with session_scope() as session:
        case = find_case(session, ref)
        rule = rules_for(session)[case["category_code"]]
    decision = route(category(case["category_code"]), rule, placement, roster, turn=case["id"])
    data = {
        "department": decision.department,
        "assignee_person_id": decision.assignee_person_id,
        "assignee_name": decision.assignee_name,
        "responsible_layer": decision.responsible_layer,
        "responsible_grid": decision.responsible_grid,
        "trace": list(decision.trace),
        "point": {"lon": placement.lon, "lat": placement.lat, "crs": crs},
    }
    with session_scope() as session:
        case = find_case(session, ref)
        expected = case["version"] if version is None else version
        if case["version"] != expected:
            raise Conflict(f"version: the case is at version {case['version']}", field="version")
        new_status = lifecycle.apply(case["status"], "dispatch")
        trace = (
            list((case.get("routing") or {}).get("trace", []))
            + ["人工落点派遣:"]
            + list(decision.trace)
        )
        changes = {
            "status": new_status, "grid_code": decision.grid_code, "grids": dict(placement.grids),
            "community_code": placement.community_code, "street_code": placement.street_code,
            "district_code": placement.district_code,
            "responsible_layer": decision.responsible_layer,
            "responsible_grid": decision.responsible_grid, "department": decision.department,
            "assignee_person_id": decision.assignee_person_id,
            "assignee_name": decision.assignee_name, "strategy": decision.strategy,
            "routing": {**(case.get("routing") or {}), "trace": trace},
            "manual_reason": None, "dispatched_at": now, "updated_at": now,
            "stage_due_at": stage_deadline(rule, lifecycle.STAGE_OF.get(new_status), now),
            "lon": placement.lon, "lat": placement.lat,
        }  # fmt: skip
        repos.cases.update_case(session, case["id"], expected, changes)
        event = event_row(case["id"], "dispatch", case["status"], new_status, by.label, by.role,
                       now, decision.trace[-1], None, data)  # fmt: skip
        repos.cases.insert_events(session, [event])
        stored = repos.cases.get_case(session, case_id=case["id"])
        handler = handler_of(session, case["id"])
    return case_view(stored, now=now, viewer=by, handler=handler)
