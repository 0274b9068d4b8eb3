"""SQL of the closed loop: cases, their event log, rules, idempotency keys, escalations, report-ins.

Like every repository (:mod:`geo_grid.db.repos`), every function takes ``session`` keyword-less first and never commits:
the service owns the transaction, so an intake (case + events + idempotency key) or a transition
(versioned UPDATE + event) is all or nothing. ``case`` is an SQL keyword, hence the quotes.
Column names that appear in f-strings come from fixed tuples in this module, never from callers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import pandas as pd
from psycopg2 import sql as psql
from psycopg2.extensions import encodings as _PY_ENCODINGS
from sqlalchemy import text as _sql_text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo_grid.db.repos._sql import copy_frame, identifiers, result_frame
from geo_grid.errors import BadInput, Conflict, NotFound


@lru_cache(maxsize=512)
def text(sql: str):
    """``sqlalchemy.text`` memoized: parsing bind names costs ~20 µs a statement, per call."""
    return _sql_text(sql)


__all__ = [
    "CASE_COLUMNS",
    "EVENT_COLUMNS",
    "UPDATABLE",
    "case_counts_by_district",
    "case_events",
    "PHOTO_COLUMNS",
    "case_photos",
    "claim_idempotency",
    "count_cases",
    "copy_cases",
    "copy_events",
    "due_for_escalation",
    "escalations",
    "find_idempotency",
    "get_case",
    "get_photo",
    "indicator_frame",
    "insert_case",
    "insert_case_orm",
    "insert_cases",
    "insert_escalation",
    "insert_events",
    "insert_idempotency",
    "insert_photo",
    "insert_report_ins",
    "last_actor",
    "last_actors",
    "list_cases",
    "max_case_id",
    "lock_idempotency",
    "next_case_id",
    "open_intake_batch",
    "read_rules",
    "record_report_in",
    "recent_cases_near",
    "report_ins",
    "reset_cases",
    "upsert_rule",
    "delete_rule",
    "update_case",
]

#: Columns written at intake (besides ``geom``, built from lon/lat).
CASE_COLUMNS: tuple[str, ...] = (
    "id", "number", "channel", "reporter_name", "reporter_phone", "address_text", "input_crs",
    "category_code", "category_kind", "description", "photos", "severity", "status", "version",
    "level", "district_code", "grid_code", "grids", "community_code", "street_code",
    "responsible_layer",
    "responsible_grid", "department", "assignee_person_id", "assignee_name", "strategy", "routing",
    "manual_reason", "received_at", "due_at", "stage_due_at", "level_due_at", "dispatched_at",
    "handled_at", "closed_at", "rated_at", "responded_at", "reopened", "extended", "rating",
    "resolved", "satisfied", "duplicate_of", "source_client", "updated_at",
)  # fmt: skip
#: Columns a transition may change.
UPDATABLE: frozenset[str] = frozenset(CASE_COLUMNS) - {
    "id", "number", "channel", "received_at", "version", "category_kind", "source_client",
}  # fmt: skip
_JSON = {"photos", "grids", "routing"}
EVENT_COLUMNS: tuple[str, ...] = (
    "case_id", "action", "from_status", "to_status", "actor", "role", "at", "note", "attachment",
    "data",
)  # fmt: skip
_SELECT = """SELECT c.*, ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat FROM "case" c"""


_BIND_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def _binds(names: Iterable[str]) -> psql.Composed:
    """``:a, :b``: SQLAlchemy bind markers for names from this module's column tuples."""
    marks = []
    for name in names:
        if not _BIND_NAME.fullmatch(name):
            raise ValueError(f"not a bind name: {name!r}")
        marks.append(psql.SQL(":{}").format(psql.SQL(name)))
    return psql.SQL(", ").join(marks)


def _rendered(session_or_cursor: Any, statement: psql.Composable) -> str:
    """A :mod:`psycopg2.sql` composition as text (identifiers quoted by the driver), for the
    memoized :func:`text` or a raw cursor."""
    if isinstance(session_or_cursor, Session):
        return statement.as_string(session_or_cursor.connection().connection.dbapi_connection)
    return statement.as_string(session_or_cursor.connection)


def _params(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: (json.dumps(v, ensure_ascii=False, default=str) if k in _JSON and v is not None else v)
        for k, v in row.items()
    }


def _clean(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out.pop("geom", None)
    return out


# ---------------------------------------------------------------------------------- cases
def next_case_id(session: Session) -> int:
    """Reserve the next case id (its number is derived from it)."""
    return int(session.execute(text("SELECT nextval('case_id_seq')")).scalar_one())


def insert_case(
    session: Session, row: Mapping[str, Any], events: Sequence[Mapping[str, Any]] = ()
) -> None:
    """Insert one case and its first events in ONE statement (a data-modifying CTE).

    ``row`` holds :data:`CASE_COLUMNS` (missing ones NULL) and ``lon, lat``; one round trip per
    intake matters at hundreds of reports a second.
    """
    cols = [c for c in CASE_COLUMNS if c in row]
    params = _params({c: row[c] for c in cols})
    params["lon"], params["lat"] = row.get("lon"), row.get("lat")
    statement = psql.SQL(
        'INSERT INTO "case" ({}, geom) VALUES ({}, '
        "CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL "
        "ELSE ST_SetSRID(ST_MakePoint(:lon, :lat), 4490) END)"
    ).format(identifiers(cols), _binds(cols))
    if events:
        rows = []
        for i, e in enumerate(events):
            rows.append(psql.SQL("({})").format(_binds(f"e{i}_{c}" for c in EVENT_COLUMNS)))
            for c in EVENT_COLUMNS:
                value = e.get(c)
                if c == "data":
                    value = json.dumps(value or {}, ensure_ascii=False, default=str)
                params[f"e{i}_{c}"] = value
        statement = psql.SQL(
            "WITH new_case AS ({} RETURNING id) INSERT INTO case_event ({}) VALUES {}"
        ).format(statement, identifiers(EVENT_COLUMNS), psql.SQL(", ").join(rows))
    session.execute(text(_rendered(session, statement)), params)


def _cursor(session: Session):
    """A DB-API cursor on the session's own connection (same transaction, no ORM in between)."""
    return session.connection().connection.cursor()


def _values(cur, template: str, rows: Iterable[Sequence[Any]]) -> psql.SQL:
    """``(…), (…)`` rendered by the driver: every value quoted by psycopg2's ``mogrify``, never by
    hand, so the result is SQL text and is wrapped as such."""
    rendered = b", ".join(cur.mogrify(template, row) for row in rows)
    return psql.SQL(rendered.decode(_PY_ENCODINGS[cur.connection.encoding]))


def open_intake_batch(
    session: Session,
    keys: Sequence[tuple[str, str]],
    n_ids: int,
    near: Sequence[tuple[str, Sequence[float], datetime]],
) -> tuple[dict[tuple[str, str], tuple[str, int]], list[int], list[list[dict[str, Any]]]]:
    """Start a batch of intakes in ONE round trip: lock its keys, reserve ids, fetch neighbours.

    ``keys``: ``(client, key)`` pairs, locked for this transaction (advisory locks taken in one
    fixed order, by hash, so two batches sharing keys cannot deadlock) and looked up by a second
    statement, whose snapshot is taken *after* the locks were granted: a key whose first request
    committed meanwhile is seen. ``n_ids``: case ids to reserve. ``near``: ``(category_code, bbox,
    since)`` per report, the duplicate pre-filter of :func:`recent_cases_near`.

    Returns ``({(client, key): (request_hash, case_id)} already used, ids, [recent rows per
    near])``. One round trip matters: the batch's writer thread waits for the GIL after each one.
    """
    cur = _cursor(session)
    near_arrays = [
        list(range(len(near))),
        [q[0] for q in near],
        [q[2] for q in near],
        *([float(q[1][k]) for q in near] for k in range(4)),
    ]
    params = {
        "c": [k[0] for k in keys],
        "k": [k[1] for k in keys],
        "n": n_ids,
        **{f"q{j}": a for j, a in enumerate(near_arrays)},
    }
    lock = (
        """SELECT count(pg_advisory_xact_lock(h)) FROM (
               SELECT hashtextextended(c || chr(31) || k, 311) AS h
               FROM unnest(%(c)s::text[], %(k)s::text[]) AS q(c, k) ORDER BY 1) AS s;
        """
        if keys
        else ""
    )
    cur.execute(
        lock
        + """SELECT
            (SELECT json_agg(json_build_array(i.client, i.key, i.request_hash, i.case_id))
             FROM unnest(%(c)s::text[], %(k)s::text[]) AS q(c, k)
             JOIN idempotency_key i ON i.client = q.c AND i.key = q.k),
            ARRAY(SELECT nextval('case_id_seq') FROM generate_series(1, %(n)s)),
            (SELECT json_agg(json_build_object(
                        'i', q.i, 'case_id', c.id, 'number', c.number,
                        'category_code', c.category_code, 'lon', ST_X(c.geom),
                        'lat', ST_Y(c.geom), 'received_at', extract(epoch FROM c.received_at),
                        'status', c.status))
             FROM unnest(%(q0)s::int[], %(q1)s::text[], %(q2)s::timestamptz[], %(q3)s::float8[],
                         %(q4)s::float8[], %(q5)s::float8[], %(q6)s::float8[])
                  AS q(i, cat, since, minx, miny, maxx, maxy)
             CROSS JOIN LATERAL (
                 SELECT c.id, c.number, c.category_code, c.geom, c.received_at, c.status
                 FROM "case" c
                 WHERE c.geom && ST_MakeEnvelope(q.minx, q.miny, q.maxx, q.maxy, 4490)
                 OFFSET 0) c  -- the box by the GiST index alone (recent_cases_near says why)
             WHERE c.category_code = q.cat AND c.received_at >= q.since)""",
        params,
    )
    used, ids, found = cur.fetchone()
    seen = {(r[0], r[1]): (r[2], int(r[3])) for r in used or ()}
    recent: list[list[dict[str, Any]]] = [[] for _ in near]
    for item in found or ():  # epoch seconds travel as JSON numbers, cheaper than ISO text
        item["received_at"] = datetime.fromtimestamp(item["received_at"], UTC)
        recent[item.pop("i")].append(item)
    return seen, [int(i) for i in ids], recent


def insert_cases(
    session: Session,
    rows: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]] = (),
    keys: Sequence[tuple[str, str, str, int]] = (),
) -> None:
    """Insert many cases, their events and their idempotency keys in ONE round trip.

    ``rows`` hold :data:`CASE_COLUMNS` (missing ones NULL) and ``lon, lat``, each with its id
    already reserved (:func:`open_intake_batch`), so events and keys reference it directly; ``keys``
    are ``(client, key, request_hash, case_id)``. Three multi-row INSERTs sent as one string: what
    a group commit of hundreds of reports a second needs (one statement per report costs a round
    trip and a parse each). The caller holds the keys' locks (:func:`open_intake_batch`).
    """
    if not rows:
        return
    cur = _cursor(session)
    cols = [c for c in CASE_COLUMNS if c in rows[0]]
    json_at = [i for i, c in enumerate(cols) if c in _JSON]
    placeholders = psql.SQL(", ").join([psql.Placeholder()] * len(cols))
    tpl = _rendered(
        cur, psql.SQL("({}, ST_SetSRID(ST_MakePoint(%s, %s), 4490))").format(placeholders)
    )
    case_args = []
    for row in rows:
        args = [row.get(c) for c in cols]
        for i in json_at:
            if args[i] is not None:
                args[i] = json.dumps(args[i], ensure_ascii=False, default=str)
        args += [row.get("lon"), row.get("lat")]
        case_args.append(args)
    parts = [
        psql.SQL('INSERT INTO "case" ({}, geom) VALUES {}').format(
            identifiers(cols), _values(cur, tpl, case_args)
        )
    ]
    if events:
        etpl = _rendered(
            cur,
            psql.SQL("({})").format(psql.SQL(", ").join([psql.Placeholder()] * len(EVENT_COLUMNS))),
        )
        eargs = [
            [e.get(c) for c in EVENT_COLUMNS[:-1]]
            + [json.dumps(e.get("data") or {}, ensure_ascii=False, default=str)]
            for e in events
        ]
        parts.append(
            psql.SQL("INSERT INTO case_event ({}) VALUES {}").format(
                identifiers(EVENT_COLUMNS), _values(cur, etpl, eargs)
            )
        )
    if keys:
        parts.append(
            psql.SQL(
                "INSERT INTO idempotency_key (client, key, request_hash, case_id) VALUES {}"
            ).format(_values(cur, "(%s, %s, %s, %s)", keys))
        )
    cur.execute(psql.SQL("; ").join(parts))


def insert_case_orm(
    session: Session,
    row: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]] = (),
    key: tuple[str, str, str] | None = None,
) -> None:
    """The obvious design, kept as the intake bench's baseline: ORM objects, flushed per case.

    ``key`` is ``(client, key, request_hash)``. Equivalent rows to :func:`insert_cases`; slower
    because every object passes the unit of work (state tracking, one INSERT per event).
    """
    from geoalchemy2 import WKTElement

    from geo_grid.db.models import Case, CaseEvent, IdempotencyKey

    values = {c: row[c] for c in CASE_COLUMNS if c in row}
    if row.get("lon") is not None and row.get("lat") is not None:
        values["geom"] = WKTElement(f"POINT({row['lon']} {row['lat']})", srid=4490)
    session.add(Case(**values))
    session.flush()
    session.add_all(CaseEvent(**{c: e.get(c) for c in EVENT_COLUMNS}) for e in events)
    if key is not None:
        session.add(
            IdempotencyKey(client=key[0], key=key[1], request_hash=key[2], case_id=row["id"])
        )
    try:
        session.flush()
    except IntegrityError as exc:
        if key is not None and "idempotency_key" in str(exc.orig):
            raise Conflict(
                "Idempotency-Key: taken by a concurrent request", field="Idempotency-Key"
            ) from exc
        raise


def get_case(
    session: Session, *, case_id: int | None = None, number: str | None = None
) -> dict[str, Any]:
    """One case by id or number, with ``lon, lat``; :class:`NotFound` names what was asked."""
    if case_id is not None:
        row = session.execute(text(f"{_SELECT} WHERE c.id = :v"), {"v": case_id}).mappings().first()
    elif number is not None:
        row = (
            session.execute(text(f"{_SELECT} WHERE c.number = :v"), {"v": number})
            .mappings()
            .first()
        )
    else:
        raise BadInput("case: give an id or a number", field="case")
    if row is None:
        raise NotFound(
            f"case: no case {case_id if case_id is not None else number!r}", field="case"
        )
    return _clean(row)


def update_case(
    session: Session, case_id: int, expected_version: int, changes: Mapping[str, Any]
) -> int:
    """Apply ``changes`` if the case is still at ``expected_version``; return the new version.

    Optimistic locking: a concurrent writer that got there first bumped the version, so this
    UPDATE matches no row and the caller gets :class:`Conflict` (HTTP 409) with the current version.
    """
    bad = set(changes) - UPDATABLE - {"lon", "lat"}
    if bad:
        raise BadInput(f"case: cannot change {sorted(bad)}", field=sorted(bad)[0])
    cols = [c for c in changes if c in UPDATABLE]
    sets = [psql.SQL("{} = {}").format(psql.Identifier(c), _binds([c])) for c in cols]
    sets.append(psql.SQL("version = version + 1"))
    params = _params({c: changes[c] for c in cols})
    if "lon" in changes:
        sets.append(psql.SQL("geom = ST_SetSRID(ST_MakePoint(:lon, :lat), 4490)"))
        params["lon"], params["lat"] = changes["lon"], changes["lat"]
    params.update(id=case_id, v=expected_version)
    statement = psql.SQL(
        'UPDATE "case" SET {} WHERE id = :id AND version = :v RETURNING version'
    ).format(psql.SQL(", ").join(sets))
    new = session.execute(text(_rendered(session, statement)), params).scalar()
    if new is None:
        current = session.execute(
            text('SELECT version FROM "case" WHERE id = :id'), {"id": case_id}
        ).scalar()
        if current is None:
            raise NotFound(f"case: no case {case_id}", field="case")
        err = Conflict(
            f"version: the case changed meanwhile (you sent version {expected_version}, "
            f"it is now {current}); reload and retry",
            field="version",
        )
        err.extra = {"current_version": int(current)}
        raise err
    return int(new)


_FILTERS = {
    "status": "c.status = ANY(:status)",
    "category_code": "c.category_code = ANY(:category_code)",
    "grid_code": "c.grid_code = :grid_code",
    "community_code": "c.community_code = :community_code",
    "street_code": "c.street_code = :street_code",
    "department": "c.department = :department",
    "level": "c.level = :level",
    "channel": "c.channel = :channel",
    "received_from": "c.received_at >= :received_from",
    "received_to": "c.received_at < :received_to",
    "updated_from": "c.updated_at >= :updated_from",
    "numbers": "c.number = ANY(:numbers)",
    "overdue_at": "c.due_at < :overdue_at AND c.status NOT IN ('closed', 'rated', 'rejected')",
    # True: still open (someone must act); False: closed, rated or rejected
    "open": "(c.status NOT IN ('closed', 'rated', 'rejected')) = :open",
    # the dispatcher's queue: waiting for a place by hand, or open and past its deadline
    "attention_at": "(c.status = 'manual' OR (c.due_at < :attention_at "
    "AND c.status NOT IN ('closed', 'rated', 'rejected')))",
    "bbox": "c.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4490)",
    # the caller's area (geo_grid.access.scope_filter), ANDed with their own filters above
    "scope_street_code": "c.street_code = :scope_street_code",
    "scope_community_code": "c.community_code = :scope_community_code",
    "scope_grid_codes": "c.grid_code = ANY(:scope_grid_codes)",
    "scope_district_prefix": "starts_with(c.district_code, :scope_district_prefix)",
    # the districts a read is confined to (geo_grid.services.districts.readable)
    "districts": "c.district_code = ANY(:districts)",
}


def _where(filters: Mapping[str, Any]) -> tuple[psql.Composed, dict[str, Any]]:
    """The WHERE condition of ``filters`` (keys of ``_FILTERS``; None values ignored), bound."""
    where, params = [psql.SQL("true")], {}
    for key, value in filters.items():
        if value is None:
            continue
        if key not in _FILTERS:
            raise BadInput(f"filter: unknown filter {key!r}", field=key)
        where.append(psql.SQL(_FILTERS[key]))  # a fixed clause of this module, values bound
        if key == "bbox":
            params.update(dict(zip(("minx", "miny", "maxx", "maxy"), value, strict=True)))
        else:
            params[key] = list(value) if isinstance(value, list | tuple | set) else value
    return psql.SQL(" AND ").join(where), params


def list_cases(
    session: Session,
    filters: Mapping[str, Any],
    *,
    limit: int = 100,
    offset: int = 0,
    order: str = "received_desc",
) -> tuple[list[dict[str, Any]], int]:
    """Cases matching ``filters`` (keys of ``_FILTERS``; None values ignored) and the total count."""
    cond, params = _where(filters)
    order_sql = psql.SQL({"received_desc": "c.received_at DESC, c.id DESC",
                          "received_asc": "c.received_at, c.id", "id": "c.id"}[order])  # fmt: skip
    total = count_cases(session, filters)
    page = psql.SQL("{} WHERE {} ORDER BY {} LIMIT :limit OFFSET :offset").format(
        psql.SQL(_SELECT), cond, order_sql
    )
    rows = session.execute(
        text(_rendered(session, page)), {**params, "limit": limit, "offset": offset}
    ).mappings()
    return [_clean(r) for r in rows], int(total)


def count_cases(session: Session, filters: Mapping[str, Any]) -> int:
    """How many cases match ``filters`` (the inbox's tab counts)."""
    cond, params = _where(filters)
    count = psql.SQL('SELECT count(*) FROM "case" c WHERE {}').format(cond)
    return int(session.execute(text(_rendered(session, count)), params).scalar())


def recent_cases_near(
    session: Session, category_code: str, bbox: Sequence[float], since: datetime, exclude: int
) -> list[dict[str, Any]]:
    """Same-category cases in a lon/lat box since a time (the duplicate pre-filter).

    Plain rows, not a DataFrame: almost always empty, and called on every intake. The box is
    scanned by the GiST index alone (``OFFSET 0`` keeps the category and time out of the scan;
    they filter its handful of rows), here and in :func:`open_intake_batch`: left to itself the
    planner ANDed the box with ``case_category_received``, a bitmap of every case of the
    category in 48 hours (11,000 on the city bench: 2.0 against 0.09 ms a box, most of
    PostgreSQL's CPU per report)."""
    result = session.execute(
        text(
            """SELECT id AS case_id, number, category_code, ST_X(geom) AS lon, ST_Y(geom) AS lat,
                      received_at, status
               FROM (SELECT c.id, c.number, c.category_code, c.geom, c.received_at, c.status
                     FROM "case" c
                     WHERE c.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4490)
                     OFFSET 0) c
               WHERE category_code = :cat AND received_at >= :since AND id <> :exclude"""
        ),
        {
            "cat": category_code,
            "since": since,
            "exclude": exclude,
            **dict(zip(("minx", "miny", "maxx", "maxy"), bbox, strict=True)),
        },
    )
    return [dict(r) for r in result.mappings()]


# ---------------------------------------------------------------------------------- events
def insert_events(session: Session, events: Sequence[Mapping[str, Any]]) -> None:
    """Append events (one multi-row statement)."""
    if not events:
        return
    statement = psql.SQL("INSERT INTO case_event ({}) VALUES ({})").format(
        identifiers(EVENT_COLUMNS), _binds(EVENT_COLUMNS)
    )
    session.execute(
        text(_rendered(session, statement)),
        [
            {
                **{c: e.get(c) for c in EVENT_COLUMNS},
                "data": json.dumps(e.get("data") or {}, ensure_ascii=False, default=str),
            }
            for e in events
        ],
    )


def case_events(session: Session, case_id: int) -> list[dict[str, Any]]:
    statement = psql.SQL(
        "SELECT id, {}, recorded_at FROM case_event WHERE case_id = :id ORDER BY at, id"
    ).format(identifiers(EVENT_COLUMNS))
    rows = session.execute(text(_rendered(session, statement)), {"id": case_id})
    return [dict(r) for r in rows.mappings()]


def last_actor(session: Session, case_id: int, action: str) -> str | None:
    """Who last took ``action`` on the case (the handler, for the four-eyes check), or None."""
    return session.execute(
        text(
            "SELECT actor FROM case_event WHERE case_id = :id AND action = :a "
            "ORDER BY at DESC, id DESC LIMIT 1"
        ),
        {"id": case_id, "a": action},
    ).scalar()


def last_actors(session: Session, case_ids: Sequence[int], action: str) -> dict[int, str]:
    """:func:`last_actor` of many cases at once (a list's four-eyes check): case id -> actor."""
    if not case_ids:
        return {}
    rows = session.execute(
        text(
            "SELECT DISTINCT ON (case_id) case_id, actor FROM case_event "
            "WHERE case_id = ANY(:ids) AND action = :a ORDER BY case_id, at DESC, id DESC"
        ),
        {"ids": list(case_ids), "a": action},
    )
    return {int(r[0]): r[1] for r in rows}


# ---------------------------------------------------------------------------------- photos
PHOTO_COLUMNS = ("id", "case_id", "phase", "content_type", "size_bytes", "width", "height",
                 "sha256", "path", "uploaded_by", "role", "uploaded_at")  # fmt: skip


def insert_photo(session: Session, photo: Mapping[str, Any]) -> None:
    """Record a stored photo of a case's work (``PHOTO_COLUMNS``)."""
    statement = psql.SQL("INSERT INTO case_photo ({}) VALUES ({})").format(
        identifiers(PHOTO_COLUMNS), _binds(PHOTO_COLUMNS)
    )
    session.execute(text(_rendered(session, statement)), {c: photo[c] for c in PHOTO_COLUMNS})


def _photo_select(session: Session, condition: str):
    """``SELECT <PHOTO_COLUMNS> FROM case_photo WHERE <condition>`` (a fixed condition)."""
    statement = psql.SQL("SELECT {} FROM case_photo WHERE {}").format(
        identifiers(PHOTO_COLUMNS), psql.SQL(condition)
    )
    return text(_rendered(session, statement))


def case_photos(session: Session, case_id: int) -> list[dict[str, Any]]:
    """The photos of a case, oldest first."""
    query = _photo_select(session, "case_id = :id ORDER BY uploaded_at, id")
    return [dict(r) for r in session.execute(query, {"id": case_id}).mappings()]


def get_photo(session: Session, case_id: int, photo_id: str) -> dict[str, Any]:
    """One photo of a case; :class:`NotFound` when the case has no such photo."""
    query = _photo_select(session, "case_id = :case AND id = :id")
    row = session.execute(query, {"case": case_id, "id": photo_id}).mappings().first()
    if row is None:
        raise NotFound(f"photo: case {case_id} has no photo {photo_id!r}", field="photo_id")
    return dict(row)


# ---------------------------------------------------------------------------------- idempotency
def lock_idempotency(session: Session, client: str, key: str) -> None:
    """Serialize requests carrying the same key (a transaction-scoped advisory lock)."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 311))"), {"k": f"{client}\x1f{key}"}
    )


def find_idempotency(session: Session, client: str, key: str) -> tuple[str, int] | None:
    row = session.execute(
        text("SELECT request_hash, case_id FROM idempotency_key WHERE client = :c AND key = :k"),
        {"c": client, "k": key},
    ).first()
    return (row[0], int(row[1])) if row else None


def claim_idempotency(
    session: Session, client: str, key: str, request_hash: str, case_id: int
) -> bool:
    """Record the key for ``case_id``; False when another request holds it (it waits for that
    request's transaction, so the loser sees the winner's committed row)."""
    return (
        session.execute(
            text(
                "INSERT INTO idempotency_key (client, key, request_hash, case_id) "
                "VALUES (:c, :k, :h, :id) ON CONFLICT DO NOTHING RETURNING case_id"
            ),
            {"c": client, "k": key, "h": request_hash, "id": case_id},
        ).scalar()
        is not None
    )


def insert_idempotency(
    session: Session, client: str, key: str, request_hash: str, case_id: int
) -> None:
    session.execute(
        text(
            "INSERT INTO idempotency_key (client, key, request_hash, case_id) "
            "VALUES (:c, :k, :h, :id)"
        ),
        {"c": client, "k": key, "h": request_hash, "id": case_id},
    )


# ---------------------------------------------------------------------------------- rules
_RULE_COLS = (
    "category_code", "layer", "department", "strategy", "severity", "sla_hours",
    "report_in_hours", "whistle_departments", "updated_by", "updated_at",
)  # fmt: skip


def read_rules(session: Session) -> list[dict[str, Any]]:
    """Stored rule overrides (the defaults live in :mod:`geo_grid.cases.rules`)."""
    statement = psql.SQL("SELECT {} FROM routing_rule ORDER BY category_code").format(
        identifiers(_RULE_COLS)
    )
    rows = session.execute(text(_rendered(session, statement)))
    return [dict(r) for r in rows.mappings()]


def upsert_rule(session: Session, rule: Mapping[str, Any], actor: str) -> None:
    params = {c: rule.get(c) for c in _RULE_COLS[:-2]}
    params["sla_hours"] = json.dumps(dict(params["sla_hours"]))
    params["whistle_departments"] = json.dumps(list(params["whistle_departments"] or []))
    params["updated_by"] = actor
    session.execute(
        text(
            """INSERT INTO routing_rule (category_code, layer, department, strategy, severity,
                   sla_hours, report_in_hours, whistle_departments, updated_by)
               VALUES (:category_code, :layer, :department, :strategy, :severity,
                   CAST(:sla_hours AS jsonb), :report_in_hours,
                   CAST(:whistle_departments AS jsonb), :updated_by)
               ON CONFLICT (category_code) DO UPDATE SET layer = excluded.layer,
                   department = excluded.department, strategy = excluded.strategy,
                   severity = excluded.severity, sla_hours = excluded.sla_hours,
                   report_in_hours = excluded.report_in_hours,
                   whistle_departments = excluded.whistle_departments,
                   updated_by = excluded.updated_by, updated_at = now()"""
        ),
        params,
    )


def delete_rule(session: Session, category_code: str) -> bool:
    """Drop an override (the default applies again); True when one existed."""
    result = session.execute(
        text("DELETE FROM routing_rule WHERE category_code = :c"), {"c": category_code}
    )
    return bool(result.rowcount)


def rules_fingerprint(session: Session) -> tuple:
    """Changes whenever an override is written or removed (the rules cache key)."""
    return tuple(session.execute(text("SELECT count(*), max(updated_at) FROM routing_rule")).one())


# ---------------------------------------------------------------------------------- escalation
def due_for_escalation(session: Session, now: datetime, *, limit: int | None = None) -> list[dict]:
    """Open cases whose level deadline has passed, locked (SKIP LOCKED: parallel sweeps share)."""
    rows = session.execute(
        text(
            """SELECT id, version, status, level, level_due_at, department, category_code
               FROM "case"
               WHERE status NOT IN ('closed', 'rated', 'rejected', 'suspended', 'manual')
                 AND level <> 'district' AND level_due_at < :now
               ORDER BY level_due_at, id
               LIMIT :limit
               FOR UPDATE SKIP LOCKED"""
        ),
        {"now": now, "limit": limit},
    )
    return [dict(r) for r in rows.mappings()]


def insert_escalation(session: Session, case_id: int, step: Any, actor: str, note: str | None):
    """Record a step; None when the case already reached that level (idempotent sweep)."""
    return session.execute(
        text(
            """INSERT INTO escalation (case_id, from_level, to_level, reason, at, overdue_since,
                                      level_due_at, actor, note)
               VALUES (:case_id, :f, :t, :r, :at, :since, :due, :actor, :note)
               ON CONFLICT ON CONSTRAINT escalation_once_per_level DO NOTHING
               RETURNING id"""
        ),
        {
            "case_id": case_id,
            "f": step.from_level,
            "t": step.to_level,
            "r": step.reason,
            "at": step.at,
            "since": step.overdue_since,
            "due": step.level_due_at,
            "actor": actor,
            "note": note,
        },
    ).scalar()


def insert_report_ins(
    session: Session, escalation_id: int, case_id: int, departments: Iterable[str], due_at: datetime
) -> int:
    rows = [
        {"e": escalation_id, "c": case_id, "d": d, "due": due_at}
        for d in dict.fromkeys(departments)
    ]
    if not rows:
        return 0
    session.execute(
        text(
            "INSERT INTO report_in (escalation_id, case_id, department, due_at) "
            "VALUES (:e, :c, :d, :due) ON CONFLICT DO NOTHING"
        ),
        rows,
    )
    return len(rows)


def record_report_in(
    session: Session, case_id: int, department: str, at: datetime, actor: str, note: str | None
) -> dict[str, Any]:
    """Mark the oldest pending report-in of ``department`` for the case as done."""
    row = (
        session.execute(
            text(
                """UPDATE report_in SET reported_at = :at, actor = :actor, note = :note
                   WHERE id = (SELECT id FROM report_in
                               WHERE case_id = :c AND department = :d AND reported_at IS NULL
                               ORDER BY due_at, id LIMIT 1 FOR UPDATE)
                   RETURNING id, escalation_id, department, due_at, reported_at"""
            ),
            {"c": case_id, "d": department, "at": at, "actor": actor, "note": note},
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(
            f"department: {department!r} has no pending report-in for case {case_id}",
            field="department",
        )
    return dict(row)


def escalations(session: Session, case_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        text("SELECT * FROM escalation WHERE case_id = :c ORDER BY at, id"), {"c": case_id}
    )
    return [dict(r) for r in rows.mappings()]


def report_ins(session: Session, case_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        text("SELECT * FROM report_in WHERE case_id = :c ORDER BY due_at, id"), {"c": case_id}
    )
    return [dict(r) for r in rows.mappings()]


# ---------------------------------------------------------------------------------- indicators
def indicator_frame(
    session: Session, start: datetime, end: datetime, districts: Sequence[str] | None = None
) -> pd.DataFrame:
    """Cases of ``districts`` (None: all, with a district) that can count in ``[start, end)``:
    received, due or rated inside it."""
    result = session.execute(
        text(
            """SELECT id, district_code, grid_code, community_code, street_code, department,
                      status, received_at, due_at, closed_at, responded_at, rated_at, reopened,
                      extended, resolved, satisfied
               FROM "case"
               WHERE ((received_at >= :s AND received_at < :e)
                  OR (due_at >= :s AND due_at < :e)
                  OR (rated_at >= :s AND rated_at < :e))
                 AND district_code IS NOT NULL
                 AND (CAST(:d AS text[]) IS NULL OR district_code = ANY(:d))"""
        ),
        {"s": start, "e": end, "d": None if districts is None else list(districts)},
    )
    return result_frame(result)


# ---------------------------------------------------------------------------------- bulk (demo)
def copy_cases(session: Session, frame: pd.DataFrame) -> int:
    """COPY a frame of cases (:data:`CASE_COLUMNS` present in it, plus ``geom``)."""
    cols = [c for c in CASE_COLUMNS if c in frame.columns] + ["geom"]
    out = frame.copy()
    for c in _JSON & set(out.columns):
        out[c] = [json.dumps(v, ensure_ascii=False, default=str) for v in out[c]]
    for c in ("id", "version", "reopened", "rating", "duplicate_of"):
        if c in out.columns:
            out[c] = out[c].astype("Int64")
    for c in ("extended", "resolved", "satisfied"):
        if c in out.columns:
            out[c] = out[c].astype("boolean")
    n = copy_frame(session, "case", out, cols)
    session.execute(
        # never lowered: districts loaded at once commit in any order, and a later commit's
        # max(id) may be below an earlier one's
        text(
            "SELECT setval('case_id_seq', greatest((SELECT coalesce(max(id), 1) FROM \"case\"), "
            "(SELECT last_value FROM case_id_seq)))"
        )
    )
    return n


#: The columns an escalation is copied with (the demo's history: every step by the sweep).
ESCALATION_COLUMNS = ("case_id", "from_level", "to_level", "reason", "at", "overdue_since",
                      "level_due_at", "actor", "note")  # fmt: skip


def copy_escalations(session: Session, frame: pd.DataFrame, actor: str = "system:tick") -> int:
    """COPY escalation steps (``case_id, from_level, to_level, reason, at, overdue_since,
    level_due_at``) taken by ``actor``, with no note."""
    out = frame.assign(actor=actor, note=None)
    return copy_frame(session, "escalation", out, ESCALATION_COLUMNS)


def copy_events(session: Session, frame: pd.DataFrame) -> int:
    out = frame.copy()
    out["data"] = [json.dumps(v, ensure_ascii=False, default=str) if v else "{}"
                   for v in out["data"]]  # fmt: skip
    return copy_frame(session, "case_event", out, EVENT_COLUMNS)


def case_counts_by_district(session: Session) -> dict[str | None, int]:
    """``{district_code: cases}`` (None: cases filed with no district)."""
    rows = session.execute(text('SELECT district_code, count(*) FROM "case" GROUP BY 1'))
    return {d: int(n) for d, n in rows}


def max_case_id(session: Session) -> int:
    """The largest case id stored (0 without cases)."""
    return int(session.execute(text('SELECT coalesce(max(id), 0) FROM "case"')).scalar_one())


def reset_cases(session: Session) -> None:
    """Empty every case table (TRUNCATE: the audit log's trigger guards rows, not a reset)."""
    session.execute(
        text(
            "TRUNCATE report_in, escalation, idempotency_key, case_event, case_photo, "
            '"case" RESTART IDENTITY'
        )
    )
