"""Who may move a case, and how: the one table of case actions by role (岗位职责).

The state machine (:mod:`geo_grid.cases.lifecycle`) says which actions a case's status allows; this
table says which **roles** may take each one. The role is the caller's account role (never a name
the client sends), plus ``system``: the router inside intake, which assesses and dispatches on its
own. Separately, :func:`geo_grid.access.case_in_scope` keeps a grid worker to the cases of their own
grids, and verification follows the four-eyes rule: the person who verifies (核查) or sends back
(核查不通过) a case is not the person who handled it.

====================  ===========================================  ===============================
action                roles                                        why
====================  ===========================================  ===============================
assess, to_manual,    dispatcher, admin, system                    the centre (or its router) triages
dispatch
reassign, reject,     dispatcher, admin                            the centre decides who works a
close, rate                                                        case, ends it, records the 回访
accept, return,       grid_worker                                  the handler on the ground
handle
suspend, resume       grid_worker, dispatcher, admin               a pause the handler asks for or
                                                                   the centre grants
verify, reopen        dispatcher, admin, grid_worker (four eyes)   someone other than the handler
contact, comment      grid_worker, dispatcher, admin               whoever works the case
escalate              system                                       the sweep; people use 吹哨
====================  ===========================================  ===============================

``admin`` stands in for the centre (it could make itself a dispatcher account anyway), never for
the handler: a case is handled by a grid worker.

>>> check("grid_worker", "accept")
>>> check("grid_worker", "close")
Traceback (most recent call last):
...
geo_grid.errors.Forbidden: role: grid_worker may not close a case (close: 结案 by the centre; allowed: admin, dispatcher)
>>> check_four_eyes("verify", "user:li", handler="user:li")
Traceback (most recent call last):
...
geo_grid.errors.Forbidden: actor: user:li handled this case and may not verify it (four eyes: 核查 by someone other than the handler)
"""

from __future__ import annotations

from geo_grid.cases.lifecycle import ACTIONS, NOTE_ACTIONS
from geo_grid.errors import Forbidden

__all__ = ["ACTION_ROLES", "FOUR_EYES", "SYSTEM", "check", "check_four_eyes", "permits"]

#: The role of the service's own moves (intake's router, the escalation sweep): no account has it.
SYSTEM = "system"
_CENTRE = frozenset({"dispatcher", "admin"})
_HANDLER = frozenset({"grid_worker"})

#: action -> (roles that may take it, the rule in a few words: what a 403 names)
ACTION_ROLES: dict[str, tuple[frozenset[str], str]] = {
    "assess": (_CENTRE | {SYSTEM}, "研判 by the centre"),
    "to_manual": (_CENTRE | {SYSTEM}, "转人工 by the centre"),
    "dispatch": (_CENTRE | {SYSTEM}, "派遣 by the centre"),
    "reassign": (_CENTRE, "改派 by the centre"),
    "reject": (_CENTRE, "不予受理 by the centre"),
    "close": (_CENTRE, "结案 by the centre"),
    "rate": (_CENTRE, "评价 recorded by the centre's 回访"),
    "accept": (_HANDLER, "签收 by the grid worker of the case's grid"),
    "return": (_HANDLER, "退回 by the grid worker of the case's grid"),
    "handle": (_HANDLER, "办结 by the grid worker of the case's grid"),
    "suspend": (_HANDLER | _CENTRE, "挂起 by the handler or the centre"),
    "resume": (_HANDLER | _CENTRE, "恢复 by the handler or the centre"),
    "verify": (_HANDLER | _CENTRE, "核查 by someone other than the handler"),
    "reopen": (_HANDLER | _CENTRE, "核查不通过 by someone other than the handler"),
    "contact": (_HANDLER | _CENTRE, "联系反映人 by whoever works the case"),
    "comment": (_HANDLER | _CENTRE, "备注 by whoever works the case"),
    "escalate": (frozenset({SYSTEM}), "升级 by the sweep; people use 吹哨 (POST .../whistle)"),
}

#: Verification actions: refused to whoever handled the case.
FOUR_EYES: frozenset[str] = frozenset({"verify", "reopen"})

assert set(ACTION_ROLES) == set(ACTIONS) | set(NOTE_ACTIONS), "every action needs its roles"


def permits(role: str, action: str) -> bool:
    """Whether ``role`` may take ``action`` at all (status and area aside).

    >>> permits("dispatcher", "close"), permits("grid_worker", "close"), permits("x", "nope")
    (True, False, False)
    """
    roles, _ = ACTION_ROLES.get(action, (frozenset(), ""))
    return role in roles


def check(role: str, action: str) -> None:
    """:class:`Forbidden` naming the rule when ``role`` may not take ``action`` (unknown actions
    pass: the state machine refuses them with the list of known ones)."""
    if action not in ACTION_ROLES or permits(role, action):
        return
    roles, rule = ACTION_ROLES[action]
    raise Forbidden(
        f"role: {role} may not {action} a case ({action}: {rule}; "
        f"allowed: {', '.join(sorted(roles - {SYSTEM})) or 'nobody: not a transition'})",
        field="action",
    )


def check_four_eyes(action: str, actor: str, *, handler: str | None) -> None:
    """:class:`Forbidden` when ``actor`` would verify (or send back) a case they handled."""
    if action in FOUR_EYES and handler is not None and actor == handler:
        raise Forbidden(
            f"actor: {actor} handled this case and may not {action} it "
            "(four eyes: 核查 by someone other than the handler)",
            field="action",
        )
