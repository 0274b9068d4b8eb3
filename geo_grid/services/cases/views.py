"""Cases as the API shows them: one case, its history, a filtered list, the manual queue.

A case's reporter (name, phone) is personal data, and so are the phone and ID numbers people type
into its free text (address, description, the notes of its events: 电话139…). :func:`case_view`
always masks them (:func:`geo_grid.access.mask_text`); the readers whose work needs them
(:data:`geo_grid.access.PERSONAL_READERS`, in their own area) get them back from :func:`get_case`,
:func:`history`, :func:`list_cases` and :func:`manual_queue`, and every such read is written to
``personal_data_read`` (which fields, which cases) in the same transaction as the read. Every read
is confined to the viewer's area. ``viewer=None`` is the library's own call (demo, tests, CLI
internals): masked, no scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from geo_grid import access
from geo_grid.access import Principal
from geo_grid.cases import duties, lifecycle
from geo_grid.cases import escalation as esc
from geo_grid.cases.catalogue import Category, category
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput, Forbidden, NotFound
from geo_grid.labels import PHOTO_PHASE, label, reason_zh
from geo_grid.services.access import record_personal_read
from geo_grid.services.cases._common import CHANNELS, action_time

__all__ = [
    "case_view",
    "ensure_in_scope",
    "find_case",
    "get_case",
    "handler_of",
    "history",
    "list_cases",
    "manual_queue",
]

_PERSONAL = ("reporter_name", "reporter_phone")
#: What people typed about the case: phone and ID numbers in it are masked like the reporter.
_FREE_TEXT = ("address_text", "description")
#: The manual queue's columns (the dispatch map's list): no reporter.
_QUEUE = ("id", "number", "channel", "address_text", "category_code", "description",
          "manual_reason", "received_at", "lon", "lat")  # fmt: skip


def case_view(
    row: Mapping[str, Any],
    *,
    now: datetime | None = None,
    viewer: Principal | None = None,
    handler: str | None = None,
) -> dict[str, Any]:
    """A stored case as the API shows it (reporter and the numbers in its free text masked,
    labels added) with what ``viewer`` may do to it now (:func:`geo_grid.cases.duties.actions_for`:
    ``allowed_actions``, and ``photo_phases``); ``handler`` is who last handled it (four eyes).
    Without a viewer (the library's own call): every action the status allows."""
    now = action_time(now)
    try:
        cat: Category | None = category(row["category_code"])
    except NotFound:
        cat = None
    status = row["status"]
    due = row.get("due_at")
    out = {k: row.get(k) for k in repos.cases.CASE_COLUMNS}
    out.update(
        lon=row.get("lon"),
        lat=row.get("lat"),
        reporter_name=access.mask_name(row.get("reporter_name")),
        reporter_phone=access.mask_phone(row.get("reporter_phone")),
        **{k: access.mask_text(row.get(k)) for k in _FREE_TEXT},
        status_zh=lifecycle.STATES.get(status, status),
        manual_reason_zh=reason_zh(row.get("manual_reason")),
        level_zh=esc.LEVELS.get(row.get("level") or "grid"),
        channel_zh=CHANNELS.get(row.get("channel"), row.get("channel")),
        category_name=cat.name_zh if cat else None,
        category_major=cat.major_zh if cat else None,
        **_may(viewer, row, handler),
        overdue=bool(
            due is not None and (row.get("closed_at") or now) > due and status != "rejected"
        ),
    )
    return out


def _may(
    viewer: Principal | None, row: Mapping[str, Any], handler: str | None
) -> dict[str, list[str]]:
    """``allowed_actions`` and ``photo_phases`` of ``row`` for ``viewer`` (the one rule:
    :mod:`geo_grid.cases.duties`)."""
    status = row["status"]
    if viewer is None:
        return {"allowed_actions": lifecycle.allowed_actions(status), "photo_phases": []}
    mine = access.case_in_scope(viewer, row)
    return {
        "allowed_actions": duties.actions_for(
            viewer.role, status, in_scope=mine, actor=viewer.label, handler=handler
        ),
        "photo_phases": duties.photo_phases(viewer.role, status, in_scope=mine),
    }


def handler_of(session, case_id: int) -> str | None:
    """Who last handled a case (办结): the person the four-eyes rule keeps from verifying it."""
    return repos.cases.last_actor(session, case_id, "handle")


def _masked_notes(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events, escalations or report-ins with the numbers in their free-text ``note`` masked."""
    return [{**r, "note": access.mask_text(r.get("note"))} for r in records]


def find_case(session, ref: int | str) -> dict[str, Any]:
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit() and len(ref) < 12):
        return repos.cases.get_case(session, case_id=int(ref))
    return repos.cases.get_case(session, number=str(ref))


def ensure_in_scope(viewer: Principal | None, case: Mapping[str, Any]) -> None:
    """:class:`Forbidden` when ``case`` lies outside the caller's area (a grid worker's grids)."""
    if viewer is not None and not access.case_in_scope(viewer, case):
        where = "your grids" if viewer.role == "grid_worker" else (
            f"your {viewer.scope_level} {viewer.scope_code}"
        )  # fmt: skip
        raise Forbidden(f"case: {case['number']} lies outside {where}", field="ref")


def _hidden(
    row: Mapping[str, Any], view: Mapping[str, Any], records: Mapping[str, list[dict]]
) -> list[str]:  # fmt: skip
    """What masking hid from ``view`` (a case answer with its ``records``): the reporter (when
    the answer has one) and the fields whose free text holds phone or ID numbers."""
    fields = [k for k in _PERSONAL if k in view] if any(row.get(k) for k in _PERSONAL) else []
    fields += [k for k in _FREE_TEXT if k in view and access.has_personal_numbers(row.get(k))]
    notes = (r.get("note") for items in records.values() for r in items)
    if any(access.has_personal_numbers(n) for n in notes):
        fields.append("note")
    return fields


def _disclose(
    session, viewer: Principal | None, rows: list[Mapping[str, Any]], views: list[dict[str, Any]],
    purpose: str, records: list[Mapping[str, list[dict]]] | None = None,
) -> None:  # fmt: skip
    """Give readers who may see them what masking hid (the reporter's name and phone, numbers
    in free text and in the ``records``' notes) and log, per set of fields, that they read it."""
    if viewer is None:
        return
    reads: dict[tuple[str, ...], list[int]] = {}
    for i, (row, view) in enumerate(zip(rows, views, strict=True)):
        if not access.sees_personal_data(viewer, row):
            continue
        attached = records[i] if records else {}
        fields = _hidden(row, view, attached)
        view.update({k: row.get(k) for k in fields if k in row})
        view.update(attached)
        if fields:
            reads.setdefault(tuple(fields), []).append(row["id"])
    for fields, ids in reads.items():
        record_personal_read(session, viewer, ids, fields, purpose)


def get_case(
    ref: int | str, *, events: bool = True, viewer: Principal | None = None
) -> dict[str, Any]:
    """One case by id or number, with its event log, escalations and report-ins."""
    with session_scope() as session:
        row = find_case(session, ref)
        ensure_in_scope(viewer, row)
        view = case_view(row, viewer=viewer, handler=handler_of(session, row["id"]))
        view["work_photos"] = [photo_view(p) for p in repos.cases.case_photos(session, row["id"])]
        records: dict[str, list[dict]] = {}
        if events:
            records = {
                "events": repos.cases.case_events(session, row["id"]),
                "escalations": repos.cases.escalations(session, row["id"]),
                "report_ins": repos.cases.report_ins(session, row["id"]),
            }
            view.update({k: _masked_notes(v) for k, v in records.items()})
        _disclose(session, viewer, [row], [view], f"GET case {row['number']}", [records])
    return view


def history(ref: int | str, *, viewer: Principal | None = None) -> list[dict[str, Any]]:
    """The append-only event log of one case (notes masked as the case's free text is)."""
    with session_scope() as session:
        row = find_case(session, ref)
        ensure_in_scope(viewer, row)
        events = repos.cases.case_events(session, row["id"])
        view = {"events": _masked_notes(events)}
        purpose = f"GET case {row['number']} events"
        _disclose(session, viewer, [row], [view], purpose, [{"events": events}])
    return view["events"]


def list_cases(
    filters: Mapping[str, Any] | None = None,
    *,
    limit: int = 100,
    offset: int = 0,
    viewer: Principal | None = None,
    masked: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """Cases matching the filters (see :data:`geo_grid.db.repos.cases._FILTERS`), newest first.

    A ``viewer`` sees only the cases of their area, whatever the filters ask. ``masked``: masked
    for every viewer, nothing disclosed (Open311, whose answers never carry personal data).
    """
    if not 1 <= limit <= 1000:
        raise BadInput("limit: must be between 1 and 1000", field="limit")
    wanted = {**(filters or {}), **(access.scope_filter(viewer) if viewer else {})}
    now = action_time(None)
    with session_scope() as session:
        rows, total = repos.cases.list_cases(session, wanted, limit=limit, offset=offset)
        handlers = _handlers(session, viewer, rows)
        views = [case_view(r, now=now, viewer=viewer, handler=handlers.get(r["id"])) for r in rows]
        if not masked:
            _disclose(session, viewer, rows, views, "GET cases list")
    return views, total


def _handlers(session, viewer: Principal | None, rows: list[Mapping[str, Any]]) -> dict[int, str]:
    """The handlers of the listed cases a four-eyes action is open on (none without a viewer)."""
    if viewer is None:
        return {}
    waiting = [
        r["id"] for r in rows if set(lifecycle.allowed_actions(r["status"])) & duties.FOUR_EYES
    ]
    return repos.cases.last_actors(session, waiting, "handle")


def photo_view(photo: Mapping[str, Any]) -> dict[str, Any]:
    """A stored photo as the API shows it: what it is, who added it when, and where to fetch it
    (the file's place on disk is not shown)."""
    out = {k: photo[k] for k in repos.cases.PHOTO_COLUMNS if k != "path"}
    out["phase_zh"] = label(PHOTO_PHASE, photo["phase"])
    out["url"] = f"/api/v1/cases/{photo['case_id']}/photos/{photo['id']}"
    return out


def manual_queue(limit: int = 200, *, viewer: Principal | None = None) -> list[dict[str, Any]]:
    """Cases the router could not place, oldest first, for the dispatch map: no reporter; the
    numbers in their text masked unless the viewer may read them (logged), confined to the
    viewer's area like every case list."""
    if not 1 <= limit <= 1000:
        raise BadInput("limit: must be between 1 and 1000", field="limit")
    wanted = {"status": ["manual"], **(access.scope_filter(viewer) if viewer else {})}
    with session_scope() as session:
        rows, _ = repos.cases.list_cases(session, wanted, limit=limit, order="received_asc")
        views = [
            {k: access.mask_text(r.get(k)) if k in _FREE_TEXT else r.get(k) for k in _QUEUE}
            for r in rows
        ]
        _disclose(session, viewer, rows, views, "GET manual queue")
    return views
