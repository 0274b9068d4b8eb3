"""What the case use cases share: the intake channels, the clock argument, the audit event row,
and the one lock that guards the package's caches (the rules in :mod:`.rules`, the roster and the
geocoder in :mod:`.placement`), kept here so that each of those caches still has a single owner.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from geo_grid.db.case_models import CASE_CHANNELS
from geo_grid.errors import BadInput
from geo_grid.labels import CASE_CHANNEL

__all__ = ["CHANNELS"]

#: Intake channels with their Chinese labels.
CHANNELS: dict[str, str] = {k: CASE_CHANNEL[k] for k in CASE_CHANNELS}

#: Guards the rules cache (:mod:`.rules`) and the roster and geocoder caches (:mod:`.placement`).
_lock = threading.Lock()


def _now(now: datetime | None) -> datetime:
    """The instant an action happens: now, or the caller's (a frozen clock in tests, a backfill),
    which must carry its offset so that deadlines are never computed in the wrong zone.

    >>> _now(datetime(2026, 1, 5, 9, tzinfo=UTC)).isoformat()
    '2026-01-05T09:00:00+00:00'
    >>> _now(datetime(2026, 1, 5, 9))
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: now: a timezone-aware datetime is required
    """
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise BadInput("now: a timezone-aware datetime is required", field="now")
    return now


def _event(case_id, action, frm, to, actor, role, at, note=None, attachment=None, data=None):
    return {
        "case_id": case_id, "action": action, "from_status": frm, "to_status": to,
        "actor": actor, "role": role, "at": at, "note": note, "attachment": attachment,
        "data": data or {},
    }  # fmt: skip
