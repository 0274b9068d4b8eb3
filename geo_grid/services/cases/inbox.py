"""The case inbox of one caller: their boxes with counts, and one page of the chosen box.

The boxes and filters are :mod:`geo_grid.cases.inbox`'s; the caller's area is added to every
query here (:func:`geo_grid.access.scope_filter`), so a count never tells of cases the caller may
not see. The rows are masked for everyone (an inbox shows no reporter, and the numbers in an
address stay starred), so reading an inbox reads no personal data and logs none; opening a case
does (:func:`geo_grid.services.cases.views.get_case`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from geo_grid import access
from geo_grid.access import Principal
from geo_grid.cases import inbox as boxes
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.services.cases._common import action_time
from geo_grid.services.cases.views import list_cases

__all__ = ["inbox"]


def inbox(
    viewer: Principal,
    *,
    box: str | None = None,
    statuses: Sequence[str] = (),
    categories: Sequence[str] = (),
    overdue: bool = False,
    period: tuple[datetime | None, datetime | None] = (None, None),
    page: int = 1,
    size: int = boxes.PAGE_SIZE,
    now: datetime | None = None,
    grid: str | None = None,
) -> dict[str, Any]:
    """``viewer``'s inbox: ``boxes`` (key, label, count in the viewer's area), the chosen
    ``box`` (the role's default when None), and page ``page`` of its cases narrowed by the
    filters (``period``: received from, to), with ``total`` and ``pages``. ``grid`` (a unified
    grid's code: a map's 案件 link) narrows the boxes, their counts and the rows to its cases."""
    key = boxes.check_box(viewer.role, box)
    boxes.check_filters(statuses, categories, page=page)
    now = action_time(now)
    area = access.scope_filter(viewer)
    if grid:
        area = {**area, "grid_code": grid}
    with session_scope() as session:
        counts = {
            b.key: repos.cases.count_cases(session, {**b.filters(now), **area})
            for b in boxes.boxes_for(viewer.role)
        }
    wanted = _narrowed(boxes.box_filters(key, now), statuses, categories, overdue, period, now)
    if grid:
        wanted["grid_code"] = grid
    rows, total = list_cases(
        wanted, limit=size, offset=(page - 1) * size, viewer=viewer, masked=True
    )
    return {
        "box": key,
        "boxes": [
            {"key": b.key, "label": b.label, "count": counts[b.key]}
            for b in boxes.boxes_for(viewer.role)
        ],
        "rows": rows,
        "total": total,
        "page": page,
        "pages": max(1, math.ceil(total / size)),
        "size": size,
    }


def _narrowed(
    base: Mapping[str, Any], statuses: Sequence[str], categories: Sequence[str], overdue: bool,
    period: tuple[datetime | None, datetime | None], now: datetime,
) -> dict[str, Any]:  # fmt: skip
    """A box's filters narrowed by the person's (a status filter within the box's statuses)."""
    wanted = dict(base)
    if statuses:
        inside = [s for s in statuses if s in base["status"]] if "status" in base else statuses
        wanted["status"] = list(inside) or ["__none__"]
    if categories:
        wanted["category_code"] = list(categories)
    if overdue:
        wanted["overdue_at"] = now
    wanted["received_from"], wanted["received_to"] = period
    return wanted
