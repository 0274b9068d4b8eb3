"""Waiting until sessions queue on a row lock the test holds: how race tests line up two
transactions at a known point instead of hoping the scheduler interleaves them."""

from __future__ import annotations

import time

__all__ = ["wait_for_lock_waiters"]


def wait_for_lock_waiters(n: int, timeout: float = 30.0) -> None:
    """Return once ``n`` sessions of this database wait on a lock; AssertionError after
    ``timeout`` seconds. Each look is its own transaction: pg_stat_activity is a snapshot."""
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope() as s:
            waiting = s.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            ).scalar()
        if waiting >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"expected {n} sessions waiting on a lock within {timeout} s")
