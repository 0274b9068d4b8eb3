"""The case inbox (案件列表) of each role: which boxes it has, what each holds, and the filters.

A grid worker's first box is the open cases of their own grids (their area is their grids, so
"open" is enough); a dispatcher's is what waits for the centre: cases the router could not place
and cases past their deadline; a leader's is the open cases of their area. Every box is further
confined to the caller's area by the services (:func:`geo_grid.access.scope_filter`), whatever
is asked here. Filters (status, category, overdue, period) narrow the box; paging cuts it.

Pure: a box is a name, a Chinese label and the case-list filters it adds
(:data:`geo_grid.db.repos.cases._FILTERS`), as of an instant.

>>> [b.key for b in boxes_for("grid_worker")], default_box("dispatcher")
(['todo', 'all'], 'attention')
>>> box_filters("attention", datetime(2026, 1, 1, tzinfo=UTC))
{'attention_at': datetime.datetime(2026, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)}
>>> check_filters(["handling"], ["E0502"], page=1)
>>> check_filters(["limbo"], [], page=1)
Traceback (most recent call last):
...
geo_grid.errors.BadInput: status: unknown case status 'limbo' (known: received, manual, assessed, dispatched, handling, handled, verified, closed, rated, returned, suspended, rejected)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from geo_grid.cases.catalogue import category
from geo_grid.cases.lifecycle import STATES
from geo_grid.errors import BadInput, NotFound

__all__ = [
    "BOXES",
    "PAGE_SIZE",
    "Box",
    "box_filters",
    "boxes_for",
    "check_box",
    "check_filters",
    "default_box",
]

#: Cases per page of the inbox (a phone shows about this many without much scrolling).
PAGE_SIZE = 20


@dataclass(frozen=True)
class Box:
    """One box of the inbox: its key (``?box=``), what a person reads, and its filters."""

    key: str
    label: str
    filters: Callable[[datetime], dict[str, Any]]


BOXES: dict[str, Box] = {
    box.key: box
    for box in (
        Box("todo", "我的待办", lambda now: {"open": True}),
        Box("attention", "待派遣和超期", lambda now: {"attention_at": now}),
        Box("manual", "待人工派遣", lambda now: {"status": ["manual"]}),
        Box("overdue", "已超期", lambda now: {"overdue_at": now}),
        # not 未办结/已办结: 已办结 is a status (handled, waiting for 核查), still in the open box
        Box("open", "在办", lambda now: {"open": True}),
        Box("done", "已结束", lambda now: {"open": False}),
        Box("all", "全部", lambda now: {}),
    )
}

#: Each role's boxes, its default first. Roles without cases (planner, open311_client) have none.
_ROLE_BOXES: dict[str, tuple[str, ...]] = {
    "grid_worker": ("todo", "all"),
    "dispatcher": ("attention", "manual", "overdue", "open", "all"),
    "admin": ("attention", "manual", "overdue", "open", "all"),
    "leader": ("open", "overdue", "done", "all"),
    "viewer": ("open", "done", "all"),
}


def boxes_for(role: str) -> list[Box]:
    """The boxes of ``role``'s inbox, its default first (none for a role that reads no cases)."""
    return [BOXES[k] for k in _ROLE_BOXES.get(role, ())]


def default_box(role: str) -> str | None:
    """The box a role's inbox opens on."""
    keys = _ROLE_BOXES.get(role, ())
    return keys[0] if keys else None


def box_filters(key: str, now: datetime) -> dict[str, Any]:
    """The case-list filters of box ``key`` as of ``now``."""
    if key not in BOXES:
        raise BadInput(f"box: unknown box {key!r} (known: {', '.join(BOXES)})", field="box")
    return BOXES[key].filters(now if now.tzinfo else now.replace(tzinfo=UTC))


def check_box(role: str, key: str | None) -> str:
    """``key`` (or the role's default) if it is one of ``role``'s boxes; BadInput otherwise."""
    mine = _ROLE_BOXES.get(role, ())
    if key is None:
        if not mine:
            raise BadInput(f"box: role {role} has no case inbox", field="box")
        return mine[0]
    if key not in mine:
        raise BadInput(
            f"box: {key!r} is not a box of a {role}'s inbox (boxes: {', '.join(mine)})",
            field="box",
        )
    return key


def check_filters(statuses: Sequence[str], categories: Sequence[str], *, page: int) -> None:
    """BadInput naming the field for an unknown status or category code, or a page below 1."""
    for status in statuses:
        if status not in STATES:
            raise BadInput(
                f"status: unknown case status {status!r} (known: {', '.join(STATES)})",
                field="status",
            )
    for code in categories:
        try:
            category(code)
        except NotFound as exc:
            raise BadInput(exc.message, field="category") from None
    if page < 1:
        raise BadInput(f"page: pages start at 1, got {page}", field="page")
