"""What the case use cases share: the intake channels, the clock argument, the audit event row,
a report on its way to the store (:class:`Job`: built by :mod:`.reception`, placed by
:mod:`.placement`, stored by :mod:`._writer`), and the one lock that guards the package's caches (the rules in :mod:`.rules`, the roster and the
geocoder in :mod:`.placement`), kept here so that each of those caches still has a single owner.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from geo_grid.cases.catalogue import Category
from geo_grid.cases.rules import Placement
from geo_grid.db.models.cases import CASE_CHANNELS
from geo_grid.errors import BadInput
from geo_grid.labels import CASE_CHANNEL

__all__ = ["CHANNELS", "Job", "action_time", "cache_lock", "event_row"]

#: Intake channels with their Chinese labels.
CHANNELS: dict[str, str] = {k: CASE_CHANNEL[k] for k in CASE_CHANNELS}

#: Guards the rules cache (:mod:`.rules`) and the roster and geocoder caches (:mod:`.placement`).
cache_lock = threading.Lock()


def action_time(now: datetime | None) -> datetime:
    """The instant an action happens: now, or the caller's (a frozen clock in tests, a backfill),
    which must carry its offset so that deadlines are never computed in the wrong zone.

    >>> action_time(datetime(2026, 1, 5, 9, tzinfo=UTC)).isoformat()
    '2026-01-05T09:00:00+00:00'
    >>> action_time(datetime(2026, 1, 5, 9))
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: now: a timezone-aware datetime is required
    """
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise BadInput("now: a timezone-aware datetime is required", field="now")
    return now


def event_row(case_id, action, frm, to, actor, role, at, note=None, attachment=None, data=None):
    return {
        "case_id": case_id, "action": action, "from_status": frm, "to_status": to,
        "actor": actor, "role": role, "at": at, "note": note, "attachment": attachment,
        "data": data or {},
    }  # fmt: skip


@dataclass(slots=True)
class Job:
    """A validated report on its way to the store (placed by the writer when it has a point)."""

    payload: Mapping[str, Any]
    cat: Category
    channel: str
    placement: Placement | None
    roster: Mapping[tuple[str, str], list[dict[str, Any]]]
    actor: str
    role: str
    client: str
    key: str | None
    request_hash: str | None
    now: datetime
    point: tuple[float, float, str] | None = None
    #: the filer's own district, the case's when the report cannot be placed
    district: str | None = None
    future: Future = field(default_factory=Future)
