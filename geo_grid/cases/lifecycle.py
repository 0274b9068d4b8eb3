"""The closed loop as a state machine: 受理 → 研判 → 派遣 → 处置 → 办结 → 核查 → 结案 → 评价.

A case moves only by named **actions**; each action is legal from a fixed set of states, so nobody
can close a case nobody verified or rate one still open (which **roles** may take each action is
:mod:`geo_grid.cases.duties`). An illegal action raises
:class:`geo_grid.errors.Conflict` carrying ``extra = {"allowed": [...], "status": ...}``, which the
API turns into a 409 listing the actions that *are* possible now.

Side roads: ``return`` (退回: not ours, back to the dispatcher), ``reassign`` (改派), ``suspend`` /
``resume`` (挂起, e.g. waiting for a court or the weather), ``reopen`` (核查不通过: back to handling,
counted by the 返工率), ``reject`` (不予受理: out of scope or a duplicate). Note actions
(``contact`` the reporter — the 响应率 —, ``comment``, ``escalate``) are logged without a move. ``manual`` is the queue of
cases the router could not place; a person dispatches them by pointing at the map.

>>> apply("received", "assess")
'assessed'
>>> allowed_actions("handled")
['comment', 'contact', 'reopen', 'verify']
>>> apply("received", "close")
Traceback (most recent call last):
...
geo_grid.errors.Conflict: action: cannot close a case that is received (allowed: assess, comment, contact, dispatch, reject, to_manual)
"""

from __future__ import annotations

from geo_grid.errors import BadInput, Conflict
from geo_grid.labels import CASE_ACTION, CASE_STATE

__all__ = [
    "ACTIONS",
    "NOTE_ACTIONS",
    "CLOSED_STATES",
    "OPEN_STATES",
    "STATES",
    "STAGE_OF",
    "allowed_actions",
    "apply",
    "is_open",
]

#: Every state with its Chinese label (the words live in :mod:`geo_grid.labels`).
STATES: dict[str, str] = {
    state: CASE_STATE[state]
    for state in (
        "received", "manual", "assessed", "dispatched", "handling", "handled", "verified",
        "closed", "rated", "returned", "suspended", "rejected",
    )
}  # fmt: skip

#: action -> (states it is legal from, resulting state, Chinese label)
ACTIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "assess": (frozenset({"received"}), "assessed", CASE_ACTION["assess"]),
    "to_manual": (frozenset({"received", "assessed"}), "manual", CASE_ACTION["to_manual"]),
    "dispatch": (
        frozenset({"received", "assessed", "manual", "returned"}),
        "dispatched",
        CASE_ACTION["dispatch"],
    ),
    "accept": (frozenset({"dispatched"}), "handling", CASE_ACTION["accept"]),
    "return": (frozenset({"dispatched", "handling"}), "returned", CASE_ACTION["return"]),
    "reassign": (
        frozenset({"dispatched", "handling", "returned"}),
        "dispatched",
        CASE_ACTION["reassign"],
    ),
    "suspend": (frozenset({"dispatched", "handling"}), "suspended", CASE_ACTION["suspend"]),
    "resume": (frozenset({"suspended"}), "handling", CASE_ACTION["resume"]),
    "handle": (frozenset({"handling"}), "handled", CASE_ACTION["handle"]),
    "reopen": (frozenset({"handled", "verified"}), "handling", CASE_ACTION["reopen"]),
    "verify": (frozenset({"handled"}), "verified", CASE_ACTION["verify"]),
    "close": (frozenset({"verified"}), "closed", CASE_ACTION["close"]),
    "rate": (frozenset({"closed"}), "rated", CASE_ACTION["rate"]),
    "reject": (
        frozenset({"received", "assessed", "manual", "returned"}),
        "rejected",
        CASE_ACTION["reject"],
    ),
}

#: Actions that record something without moving the case (legal in every open state).
NOTE_ACTIONS: dict[str, str] = {a: CASE_ACTION[a] for a in ("contact", "comment", "escalate")}

#: Terminal-ish states: the case no longer counts as open (rated cases are closed and rated).
CLOSED_STATES: frozenset[str] = frozenset({"closed", "rated", "rejected"})
OPEN_STATES: frozenset[str] = frozenset(STATES) - CLOSED_STATES

#: The SLA stage a state belongs to (the rules give hours per stage).
STAGE_OF: dict[str, str] = {
    "received": "assess",
    "manual": "dispatch",
    "assessed": "dispatch",
    "returned": "dispatch",
    "dispatched": "handle",
    "handling": "handle",
    "suspended": "handle",
    "handled": "verify",
    "verified": "close",
}


def allowed_actions(status: str) -> list[str]:
    """Actions legal from ``status``, sorted (what the 409 answer lists)."""
    if status not in STATES:
        raise BadInput(f"status: unknown case status {status!r}", field="status")
    moves = [a for a, (sources, _, _) in ACTIONS.items() if status in sources]
    notes = [a for a in NOTE_ACTIONS if status in OPEN_STATES and a != "escalate"]
    return sorted(moves + notes)


def apply(status: str, action: str) -> str:
    """The state after ``action`` from ``status``, or :class:`Conflict` listing the legal ones."""
    if action in NOTE_ACTIONS and status in OPEN_STATES:
        return status
    if action not in ACTIONS and action not in NOTE_ACTIONS:
        raise BadInput(
            f"action: unknown action {action!r} "
            f"(known: {', '.join(sorted([*ACTIONS, *NOTE_ACTIONS]))})",
            field="action",
        )
    sources, target, _ = ACTIONS.get(action, (frozenset(), status, ""))
    if status not in sources:
        allowed = allowed_actions(status)
        err = Conflict(
            f"action: cannot {action} a case that is {status} (allowed: {', '.join(allowed)})",
            field="action",
        )
        err.extra = {"allowed": allowed, "status": status}
        raise err
    return target


def is_open(status: str) -> bool:
    """True while the case still needs someone to act."""
    return status in OPEN_STATES
