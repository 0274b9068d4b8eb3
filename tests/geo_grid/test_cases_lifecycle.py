"""The closed loop: every path a case can take, and every illegal step refused with the legal ones."""

from __future__ import annotations

import pytest

from geo_grid.cases.lifecycle import (
    ACTIONS,
    CLOSED_STATES,
    NOTE_ACTIONS,
    STATES,
    allowed_actions,
    apply,
    is_open,
)
from geo_grid.errors import BadInput, Conflict

PATHS = {
    "happy path": ["assess", "dispatch", "accept", "handle", "verify", "close", "rate"],
    "manual queue then dispatch": ["to_manual", "dispatch", "accept", "handle", "verify", "close"],
    "returned and redispatched": ["assess", "dispatch", "return", "dispatch", "accept", "handle",
                                  "verify", "close"],
    "reassigned while handling": ["assess", "dispatch", "accept", "reassign", "accept", "handle",
                                  "verify", "close", "rate"],
    "returned then reassigned": ["assess", "dispatch", "return", "reassign", "accept", "handle",
                                 "verify", "close"],
    "suspended and resumed": ["assess", "dispatch", "accept", "suspend", "resume", "handle",
                              "verify", "close"],
    "suspended before acceptance": ["assess", "dispatch", "suspend", "resume", "handle", "verify",
                                    "close"],
    "reopened after verification": ["assess", "dispatch", "accept", "handle", "reopen", "handle",
                                    "verify", "close"],
    "reopened after verified": ["assess", "dispatch", "accept", "handle", "verify", "reopen",
                                "handle", "verify", "close", "rate"],
    "rejected at receipt": ["reject"],
    "rejected after assessment": ["assess", "reject"],
    "rejected from the manual queue": ["to_manual", "reject"],
    "rejected after return": ["assess", "dispatch", "return", "reject"],
    "direct dispatch": ["dispatch", "accept", "handle", "verify", "close"],
}  # fmt: skip
ENDS = {
    "happy path": "rated",
    "reassigned while handling": "rated",
    "reopened after verified": "rated",
    "rejected at receipt": "rejected",
    "rejected after assessment": "rejected",
    "rejected from the manual queue": "rejected",
    "rejected after return": "rejected",
}


@pytest.mark.parametrize("name", sorted(PATHS))
def test_every_lifecycle_path_is_legal_and_ends_where_expected(name):
    status = "received"
    for action in PATHS[name]:
        assert action in allowed_actions(status), (name, status, action)
        status = apply(status, action)
    assert status == ENDS.get(name, "closed")
    assert not is_open(status)


def test_every_action_is_used_by_some_path():
    used = {a for path in PATHS.values() for a in path}
    assert used == set(ACTIONS)


@pytest.mark.parametrize("status", sorted(STATES))
def test_illegal_actions_are_refused_with_the_allowed_ones(status):
    allowed = allowed_actions(status)
    for action in ACTIONS:
        if action in allowed:
            assert apply(status, action) in STATES
            continue
        with pytest.raises(Conflict) as info:
            apply(status, action)
        assert info.value.extra == {"allowed": allowed, "status": status}
        assert action in info.value.message and status in info.value.message


def test_closed_states_allow_nothing_but_rating_a_closed_case():
    assert allowed_actions("rated") == [] and allowed_actions("rejected") == []
    assert allowed_actions("closed") == ["rate"]
    assert {"closed", "rated", "rejected"} == CLOSED_STATES


def test_note_actions_keep_the_state_in_open_states_only():
    assert apply("handling", "contact") == "handling"
    assert apply("manual", "comment") == "manual"
    with pytest.raises(Conflict):
        apply("rated", "comment")
    assert set(NOTE_ACTIONS) >= {"contact", "comment"}


def test_unknown_action_and_status_are_bad_input():
    with pytest.raises(BadInput, match="unknown action 'teleport'"):
        apply("received", "teleport")
    with pytest.raises(BadInput, match="unknown case status"):
        allowed_actions("limbo")


# ------------------------------------------------------------------------------ who may act
#: The roles the table gives each action: written out here, so a change to the table is a
#: deliberate change to this test too.
EXPECTED_ROLES = {
    "assess": {"admin", "dispatcher", "system"},
    "to_manual": {"admin", "dispatcher", "system"},
    "dispatch": {"admin", "dispatcher", "system"},
    "reassign": {"admin", "dispatcher"},
    "reject": {"admin", "dispatcher"},
    "close": {"admin", "dispatcher"},
    "rate": {"admin", "dispatcher"},
    "accept": {"grid_worker"},
    "return": {"grid_worker"},
    "handle": {"grid_worker"},
    "suspend": {"admin", "dispatcher", "grid_worker"},
    "resume": {"admin", "dispatcher", "grid_worker"},
    "verify": {"admin", "dispatcher", "grid_worker"},
    "reopen": {"admin", "dispatcher", "grid_worker"},
    "contact": {"admin", "dispatcher", "grid_worker"},
    "comment": {"admin", "dispatcher", "grid_worker"},
    "escalate": {"system"},
}


@pytest.mark.parametrize("action", sorted(EXPECTED_ROLES))
def test_each_action_is_allowed_to_its_roles_only_and_a_refusal_names_the_rule(action):
    from geo_grid.access import ROLES
    from geo_grid.cases.duties import check, permits
    from geo_grid.errors import Forbidden

    for role in (*ROLES, "system"):
        if role in EXPECTED_ROLES[action]:
            assert permits(role, action)
            check(role, action)
            continue
        assert not permits(role, action), (role, action)
        with pytest.raises(Forbidden) as info:
            check(role, action)
        assert info.value.message.startswith(f"role: {role} may not {action}")
        assert info.value.field == "action"


def test_the_table_covers_every_action_and_no_account_role_is_system():
    from geo_grid.access import ROLES
    from geo_grid.cases.duties import ACTION_ROLES, SYSTEM

    assert set(ACTION_ROLES) == set(ACTIONS) | set(NOTE_ACTIONS) == set(EXPECTED_ROLES)
    assert SYSTEM not in ROLES  # nobody logs in as the router


def test_four_eyes_the_handler_may_not_verify_or_send_back_their_own_work():
    from geo_grid.cases.duties import check_four_eyes
    from geo_grid.errors import Forbidden

    for action in ("verify", "reopen"):
        with pytest.raises(Forbidden, match="four eyes"):
            check_four_eyes(action, "user:wang", handler="user:wang")
        check_four_eyes(action, "user:li", handler="user:wang")
    check_four_eyes("close", "user:wang", handler="user:wang")  # not a verification


def test_the_demo_history_follows_the_role_table(demo):
    """Every generated event is taken by a role the table allows, and verified by someone other
    than the handler (the demo's history is what the indicators and maps show)."""
    from datetime import UTC, datetime

    from geo_grid.cases.duties import FOUR_EYES, permits
    from geo_grid.demo.cases import generate_cases

    _, events, _ = generate_cases(demo, 7, n=600, end=datetime(2026, 6, 1, tzinfo=UTC))
    assert len(events) > 600 * 4
    handler: dict[int, str] = {}
    checked = set()
    for e in events.sort_values(["case_id", "at"], kind="stable").itertuples(index=False):
        if e.action == "receive":
            continue
        assert permits(e.role, e.action), (e.case_id, e.action, e.role)
        if e.action == "handle":
            handler[e.case_id] = e.actor
        if e.action in FOUR_EYES:
            assert e.actor != handler[e.case_id], (e.case_id, e.action, e.actor)
        checked.add(e.action)
    assert {"accept", "handle", "verify", "close", "rate", "reopen"} <= checked
