"""Cases for the page and map tests: the demo's case history, and a report in the manual queue.

A helper module (like ``scratch_layers.py``): the modules' ``store`` fixtures call it, each adding
what its own pages need.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DISTRICT", "ensure_demo_cases", "queue_unplaced"]

#: The demo district (``demo_db``'s, Qixia): its queue, whoever else is loaded.
DISTRICT = "320113"


def ensure_demo_cases(demo: Any, *, at_least: int = 100, n: int = 6000) -> None:
    """The demo's generated case history (``n`` cases), unless the store holds ``at_least``
    cases already (another module of this process loaded them)."""
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope
    from geo_grid.services import cases

    with session_scope() as session:
        count, _ = repos.tiles.cases_fingerprint(session)
    if count < at_least:
        cases.load_demo_cases(demo=demo, n=n)


def queue_unplaced(address_text: str, description: str) -> dict[str, Any]:
    """A hotline report of 占道经营 at an address nobody can place: it waits in the demo
    district's manual queue."""
    from geo_grid.services import cases

    queued = cases.intake(
        {"category_code": "E0502", "channel": "hotline", "address_text": address_text,
         "description": description},
        actor="test", district=DISTRICT,
    )  # fmt: skip
    assert queued["status"] == "manual", queued
    return queued
