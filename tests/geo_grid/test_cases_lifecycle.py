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
