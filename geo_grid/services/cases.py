"""Case use cases: intake → routing → assignment, transitions, 吹哨报到, indicators, Open311.

One function per user action, one transaction each. The pure rules live in :mod:`geo_grid.cases`;
this module loads what they need (the locate index and geocoder from
:mod:`geo_grid.services.index`, the effective routing rules, the roster), calls them, and stores the
outcome with its audit events.

Caches, and what invalidates them: the effective rules are re-read when the ``routing_rule`` table's
fingerprint changes (checked at most every :data:`RULES_TTL_S` seconds, and at once after an edit
in this process); the roster map and the intake's geocoder follow the locate index's key (a
publish rebuilds them).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pandas as pd

from geo_grid.cases import escalation as esc
from geo_grid.cases import lifecycle
from geo_grid.cases.catalogue import Category, categories, category
from geo_grid.cases.duplicates import duplicates_among, search_window
from geo_grid.cases.indicators import Thresholds
from geo_grid.cases.indicators import indicators as compute_indicators
from geo_grid.cases.rules import (
    Placement,
    RoutingRule,
    default_rules,
    route,
    rule_from_dict,
    stage_deadline,
    total_sla_hours,
)
from geo_grid.crs import normalize_crs
from geo_grid.db import cases_repo, repo
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput, Conflict, NotFound
from geo_grid.layers import UNIFIED
from geo_grid.settings import get_settings

__all__ = [
    "CHANNELS",
    "RULES_TTL_S",
    "case_view",
    "effective_rules",
    "get_case",
    "history",
    "indicators",
    "intake",
    "intake_async",
    "list_cases",
    "load_demo_cases",
    "manual_queue",
    "open311_client",
    "place",
    "report_in",
    "reset_rule",
    "route_to_point",
    "start_ticker",
    "tick",
    "transition",
    "update_rule",
    "whistle",
]

#: Intake channels with their Chinese labels.
CHANNELS: dict[str, str] = {
    "hotline": "12345热线",
    "app": "APP",
    "wechat": "微信群",
    "patrol": "网格巡查",
    "open311": "Open311",
}
RULES_TTL_S = 2.0

_lock = threading.Lock()
_rules: dict[str, Any] = {"checked": 0.0, "key": None, "rules": None}
_roster: dict[str, Any] = {"key": None, "map": None}
_geocoder_cache: dict[str, Any] = {"locator": None, "geocoder": None}


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise BadInput("now: a timezone-aware datetime is required", field="now")
    return now


# ---------------------------------------------------------------------------------- rules
def _load_rules(session) -> dict[str, RoutingRule]:
    rules = default_rules()
    for row in cases_repo.read_rules(session):
        base = rules.get(row["category_code"])
        if base is None:
            continue
        data = {k: row[k] for k in ("layer", "department", "strategy", "severity", "sla_hours",
                                    "report_in_hours", "whistle_departments")}  # fmt: skip
        rules[base.category_code] = rule_from_dict(base, {**data, "source": "custom"})
    return rules


def _rules_for(session) -> dict[str, RoutingRule]:
    clock = time.monotonic()
    with _lock:
        fresh = _rules["rules"] is not None and clock - _rules["checked"] < RULES_TTL_S
        if fresh:
            return _rules["rules"]
    key = cases_repo.rules_fingerprint(session)
    with _lock:
        if _rules["rules"] is not None and _rules["key"] == key:
            _rules["checked"] = clock
            return _rules["rules"]
    rules = _load_rules(session)
    with _lock:
        _rules.update(checked=clock, key=key, rules=rules)
    return rules


def _forget_rules() -> None:
    with _lock:
        _rules.update(checked=0.0, key=None, rules=None)


def effective_rules() -> list[dict[str, Any]]:
    """Every category with its effective rule (``source``: default or custom)."""
    with session_scope() as session:
        rules = _rules_for(session)
    return [
        {
            **rules[c.code].to_dict(),
            "category": c.to_dict(),
            "total_hours": total_sla_hours(rules[c.code]),
        }
        for c in categories()
    ]


def update_rule(category_code: str, data: Mapping[str, Any], *, actor: str) -> dict[str, Any]:
    """Override one category's rule (validated against the catalogue's default)."""
    cat = category(category_code)
    if "layer" in data and data["layer"] is not None:
        with session_scope() as session:
            known = {r["key"] for r in repo.list_layers(session)}
        if data["layer"] not in known:
            raise BadInput(f"layer: unknown layer {data['layer']!r}", field="layer")
    with session_scope() as session:
        base = _rules_for(session).get(cat.code) or default_rules()[cat.code]
        rule = rule_from_dict(base, data)
        cases_repo.upsert_rule(session, rule.to_dict(), actor)
    _forget_rules()
    return {**rule.to_dict(), "source": "custom"}


def reset_rule(category_code: str) -> dict[str, Any]:
    """Drop a category's override: the catalogue default applies again."""
    cat = category(category_code)
    with session_scope() as session:
        existed = cases_repo.delete_rule(session, cat.code)
    _forget_rules()
    if not existed:
        raise NotFound(f"rule: category {cat.code} has no custom rule", field="category")
    return default_rules()[cat.code].to_dict()


# ---------------------------------------------------------------------------------- placement
def _index():
    from geo_grid.services import index

    return index


#: How long an intake trusts the last locate index before asking the store whether a publish
#: happened (each check is a round trip; a publish is picked up within this many seconds).
LOCATOR_TTL_S = 1.0


def _get_locator():
    return _index().get_locator(max_age_s=LOCATOR_TTL_S)


def _geocoder():
    """The geocoder of the current locate index, asked for again only when that index object
    changed (a publish or ``index.invalidate``): ``index.get_geocoder`` checks the store on every
    call, intake trusts :data:`LOCATOR_TTL_S` like the locate API."""
    locator = _get_locator()
    with _lock:
        if _geocoder_cache["locator"] is locator:
            return _geocoder_cache["geocoder"]
    geocoder = _index().get_geocoder()
    with _lock:
        _geocoder_cache.update(locator=locator, geocoder=geocoder)
    return geocoder


def _roster_map(locator) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """``{(layer, grid_code): [person...]}`` for every layer, rebuilt with the locate index."""
    with _lock:
        if _roster["map"] is not None and _roster["key"] == locator.key:
            return _roster["map"]
    with session_scope() as session:
        roster = repo.read_roster(session)
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in roster.itertuples(index=False):
        if rec.role not in ("grid_worker", "grid_leader", "dept_member"):
            continue
        out.setdefault((rec.layer, rec.grid_code), []).append(
            {"person_id": rec.person_id, "name": rec.name, "role": rec.role}
        )
    with _lock:
        _roster.update(key=locator.key, map=out)
    return out


def place(
    *, lon: float | None = None, lat: float | None = None, crs: str = "wgs84",
    address: str | None = None,
) -> Placement:  # fmt: skip
    """Where a report is: its point when given (any CRS), else its geocoded address.

    An ambiguous or unmatched address is *not* placed: the geocoder's reason (and its candidates)
    go with it to the manual queue.
    """
    if lon is not None and lat is not None:
        located = _get_locator().locate(lon, lat, crs)
        return _point_placement(
            (lon, lat, crs), located.lon, located.lat, dict(located.grids),
            located.community_code, located.street_code, located.inside_district,
        )  # fmt: skip
    if address:
        result = _geocoder().geocode(address)
        if result.status != "matched":
            alts = ", ".join(
                f"{a.text or a.grid_code}({a.confidence:.2f})" for a in result.alternatives[:3]
            )
            reason = f"geocoder {result.status}: {result.reason or 'low confidence'}"
            return Placement.unplaced(
                reason + (f"; candidates: {alts}" if alts else ""),
                lon=result.lon, lat=result.lat, source="address",
                confidence=result.confidence, community_code=result.community_code,
                street_code=result.street_code,
            )  # fmt: skip
        grids = dict(result.grids) or {UNIFIED: result.grid_code}
        return Placement(
            True, grids, result.community_code, result.street_code, result.lon, result.lat,
            "address", f"{result.level}: {result.matched_text}", result.confidence,
        )  # fmt: skip
    return Placement.unplaced("the report has neither a point nor an address")


def _point_placement(given, x, y, grids, community_code, street_code, inside) -> Placement:
    """A located point as a :class:`Placement` (``given``: the reported lon, lat, crs)."""
    if not inside and grids.get(UNIFIED) is None:
        lon, lat, crs = given
        return Placement.unplaced(
            f"the point ({lon}, {lat}, {crs}) lies outside the district",
            lon=x, lat=y, source="point",
        )  # fmt: skip
    return Placement(True, grids, community_code, street_code, x, y, "point")


def _place_points(jobs: list[_Job]) -> None:
    """Place the reports that came with a point: one vectorized lookup per CRS for a whole batch
    (``locate_many``), a fraction of a single lookup's cost per point."""
    todo = [job for job in jobs if job.placement is None]
    if not todo:
        return
    locator = _get_locator()
    roster = _roster_map(locator)
    by_crs: dict[str, list[_Job]] = {}
    for job in todo:
        by_crs.setdefault(normalize_crs(job.point[2]), []).append(job)
    for crs, group in by_crs.items():
        found = locator.locate_many([j.point[0] for j in group], [j.point[1] for j in group], crs)
        cols = {k: found[k].tolist() for k in found.columns}
        for n, job in enumerate(group):
            grids = {k: _text(cols[k][n]) for k in locator.layers}
            job.placement = _point_placement(
                job.point, float(cols["lon"][n]), float(cols["lat"][n]), grids,
                _text(cols["community_code"][n]), _text(cols["street_code"][n]),
                bool(cols["inside_district"][n]),
            )  # fmt: skip
            job.roster = roster


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# ---------------------------------------------------------------------------------- views
def _mask(phone: str | None) -> str | None:
    from geo_grid.services.layers import mask_phone

    return mask_phone(phone)


def case_view(row: Mapping[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """A stored case as the API shows it (phone masked, labels and allowed actions added)."""
    now = _now(now)
    try:
        cat: Category | None = category(row["category_code"])
    except NotFound:
        cat = None
    status = row["status"]
    due = row.get("due_at")
    out = {k: row.get(k) for k in cases_repo.CASE_COLUMNS if k != "reporter_phone"}
    out.update(
        lon=row.get("lon"),
        lat=row.get("lat"),
        reporter_phone=_mask(row.get("reporter_phone")),
        status_zh=lifecycle.STATES.get(status, status),
        level_zh=esc.LEVELS.get(row.get("level") or "grid"),
        channel_zh=CHANNELS.get(row.get("channel"), row.get("channel")),
        category_name=cat.name_zh if cat else None,
        category_major=cat.major_zh if cat else None,
        allowed_actions=lifecycle.allowed_actions(status),
        overdue=bool(
            due is not None and (row.get("closed_at") or now) > due and status != "rejected"
        ),
    )
    return out


def _find(session, ref: int | str) -> dict[str, Any]:
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit() and len(ref) < 12):
        return cases_repo.get_case(session, case_id=int(ref))
    return cases_repo.get_case(session, number=str(ref))


def get_case(ref: int | str, *, events: bool = True) -> dict[str, Any]:
    """One case by id or number, with its event log, escalations and report-ins."""
    with session_scope() as session:
        row = _find(session, ref)
        view = case_view(row)
        if events:
            view["events"] = cases_repo.case_events(session, row["id"])
            view["escalations"] = cases_repo.escalations(session, row["id"])
            view["report_ins"] = cases_repo.report_ins(session, row["id"])
    return view


def history(ref: int | str) -> list[dict[str, Any]]:
    """The append-only event log of one case."""
    with session_scope() as session:
        row = _find(session, ref)
        return cases_repo.case_events(session, row["id"])


def list_cases(
    filters: Mapping[str, Any] | None = None, *, limit: int = 100, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Cases matching the filters (see :data:`geo_grid.db.cases_repo._FILTERS`), newest first."""
    if not 1 <= limit <= 1000:
        raise BadInput("limit: must be between 1 and 1000", field="limit")
    with session_scope() as session:
        rows, total = cases_repo.list_cases(session, filters or {}, limit=limit, offset=offset)
    now = _now(None)
    return [case_view(r, now=now) for r in rows], total


def manual_queue(limit: int = 200) -> list[dict[str, Any]]:
    """Cases the router could not place, oldest first, for the dispatch map."""
    with session_scope() as session:
        return cases_repo.manual_queue(session, limit=limit)


# ---------------------------------------------------------------------------------- intake
def _request_hash(payload: Mapping[str, Any]) -> str:
    canon = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canon.encode()).hexdigest()


def _event(case_id, action, frm, to, actor, role, at, note=None, attachment=None, data=None):
    return {
        "case_id": case_id, "action": action, "from_status": frm, "to_status": to,
        "actor": actor, "role": role, "at": at, "note": note, "attachment": attachment,
        "data": data or {},
    }  # fmt: skip


def _validate_intake(payload: Mapping[str, Any]) -> tuple[Category, str]:
    cat = category(str(payload.get("category_code") or ""))
    channel = payload.get("channel") or "app"
    if channel not in CHANNELS:
        raise BadInput(
            f"channel: must be one of {', '.join(CHANNELS)}, not {channel!r}", field="channel"
        )
    lon, lat = payload.get("lon"), payload.get("lat")
    if (lon is None) != (lat is None):
        raise BadInput("lon/lat: give both or neither", field="lat")
    if lon is None and not (payload.get("address_text") or "").strip():
        raise BadInput(
            "address_text: an address or a point (lon, lat) is required", field="address_text"
        )
    severity = payload.get("severity")
    if severity is not None and severity not in ("low", "normal", "high", "urgent"):
        raise BadInput(f"severity: unknown severity {severity!r}", field="severity")
    return cat, channel


def intake(
    payload: Mapping[str, Any],
    *,
    actor: str = "intake",
    role: str = "operator",
    client: str = "api",
    idempotency_key: str | None = None,
    now: datetime | None = None,
    group_commit: bool = True,
) -> dict[str, Any]:
    """Receive a report, place it, route it and store it with its first events, atomically.

    ``payload``: ``category_code, channel, description, address_text, lon, lat, crs,
    reporter_name, reporter_phone, photos, severity``. With ``idempotency_key`` a repeated request
    (same client, same key, same body) returns the case the first one created, flagged
    ``replayed``; the same key with a different body is a :class:`Conflict`.

    The report is placed in the calling thread, then stored by this process's intake writer
    together with the reports that arrived meanwhile, in one transaction (a group commit: one
    fsync for many reports); this returns only after that transaction committed, so an answered
    report is a durable one. ``group_commit=False`` stores it alone through ORM objects, the
    obvious design kept as the bench's baseline.
    """
    job = _prepare(payload, actor, role, client, idempotency_key, now)
    for _ in range(3):
        row = _submit(job).result() if group_commit else _store_alone_orm(job)
        if row is not _REPLAY:
            return _answer(job, row)
        seen = _replay(client, idempotency_key, job.request_hash, job.now)
        if seen is not None:
            return seen
        # the request that held the key failed and rolled back: the key is free again
    raise _key_in_use()


async def intake_async(
    payload: Mapping[str, Any],
    *,
    actor: str = "intake",
    role: str = "operator",
    client: str = "api",
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """:func:`intake` for an event loop: waits for its group commit without holding a thread.

    A report with a point is placed by the writer (a batch at a time); one with only an address
    is geocoded here, in the loop (pure CPU, under a millisecond) once the geocoder is built, in a
    worker thread while it is (re)built after a start or a publish: the loop never stalls.
    """
    args = (payload, actor, role, client, idempotency_key, now)
    warm = payload.get("lon") is not None or _geocoder_warm()
    job = _prepare(*args) if warm else await asyncio.to_thread(_prepare, *args)
    for _ in range(3):
        row = await asyncio.wrap_future(_submit(job))
        if row is not _REPLAY:
            return _answer(job, row)
        seen = await asyncio.to_thread(_replay, client, idempotency_key, job.request_hash, job.now)
        if seen is not None:
            return seen
    raise _key_in_use()


def _key_in_use() -> Conflict:
    return Conflict(
        "Idempotency-Key: the key is in use by a failing request", field="Idempotency-Key"
    )


def _geocoder_warm() -> bool:
    """True when geocoding a report needs no build: index, roster and geocoder are current."""
    locator = _get_locator()
    return _roster["key"] == locator.key and _geocoder_cache["locator"] is locator


def _prepare(payload, actor, role, client, idempotency_key, now) -> _Job:
    """Validate and place a report (no transaction): what the writer needs to store it."""
    now = _now(now)
    cat, channel = _validate_intake(payload)
    request_hash = _request_hash(payload) if idempotency_key else None
    job = _Job(payload, cat, channel, None, {}, actor, role, client, idempotency_key,
               request_hash, now)  # fmt: skip
    lon, lat = payload.get("lon"), payload.get("lat")
    if lon is not None:  # placed by the writer, a batch at a time (_place_points)
        crs = payload.get("crs") or "wgs84"
        normalize_crs(crs)  # an unknown CRS is this request's BadInput, not the batch's
        try:
            lon, lat = float(lon), float(lat)
        except (TypeError, ValueError):
            lon = lat = math.nan
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise BadInput(f"lon/lat: not a finite point ({lon!r}, {lat!r})", field="lon")
        job.point = (lon, lat, crs)
        return job
    job.placement = place(address=(payload.get("address_text") or "").strip() or None)
    if job.placement.placed:
        job.roster = _roster_map(_get_locator())
    return job


def _answer(job: _Job, row: dict[str, Any]) -> dict[str, Any]:
    row.pop("lon", None), row.pop("lat", None)
    point = {"lon": job.placement.lon, "lat": job.placement.lat}
    return {**case_view({**row, **point}, now=job.now), "replayed": False}


# ---------------------------------------------------------------------------------- group commit
#: Most reports one intake transaction stores (a batch is whatever arrived during the last commit).
INTAKE_BATCH_MAX = 256
#: Writer threads per process, each with its own connection. Measured on 2 cores with 50 clients:
#: one writer costs 2.9-3.2 ms of server CPU per case, two 3.3-3.5 ms (smaller batches, more
#: contention for the GIL) for no gain in throughput, hence one.
INTAKE_WRITERS = 1

_REPLAY: Any = object()  # outcome: the key was used already; the caller answers with that case


@dataclass(slots=True)
class _Job:
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
    future: Future = field(default_factory=Future)


#: The intake writers of this process: a queue and the threads that drain it. Nothing to
#: invalidate (they hold no data); restarted when missing or after a fork (the pid changed).
_writer: dict[str, Any] = {"pid": None, "queue": None, "threads": []}
_writer_lock = threading.Lock()


def _submit(job: _Job) -> Future:
    """Queue a placed report for the writers: a future of its stored row (or :data:`_REPLAY`),
    set once its batch committed."""
    with _writer_lock:
        if _writer["pid"] != os.getpid():
            _writer.update(pid=os.getpid(), queue=queue.SimpleQueue(), threads=[])
        jobs = _writer["queue"]
        alive = [t for t in _writer["threads"] if t.is_alive()]
        while len(alive) < INTAKE_WRITERS:
            thread = threading.Thread(
                target=_write_loop, args=(jobs,), name="geo-grid-intake", daemon=True
            )
            thread.start()
            alive.append(thread)
        _writer["threads"] = alive
    job.future = Future()  # a fresh one per submission: a replay retry submits the job again
    jobs.put(job)
    return job.future


def _write_loop(jobs: queue.SimpleQueue) -> None:
    """Store whatever waits, in one transaction, forever: batches grow with the load by themselves
    (while one commits, the next gathers), so a lone report waits for no timer."""
    while True:
        batch = [jobs.get()]
        while len(batch) < INTAKE_BATCH_MAX:
            try:
                batch.append(jobs.get_nowait())
            except queue.Empty:
                break
        # a request cancelled while queued (its task was cancelled) is not stored: nobody waits
        # for it, and no answer promised it; from here on its future can no longer be cancelled
        batch = [job for job in batch if job.future.set_running_or_notify_cancel()]
        if batch:
            _write_batch(batch)


def _write_batch(batch: list[_Job]) -> None:
    """Store a batch and answer each waiting request (futures already marked running)."""
    try:
        outcomes = _store_batch(batch)
    except Exception as exc:  # noqa: BLE001 (handed to the waiting requests)
        if len(batch) == 1:
            batch[0].future.set_exception(exc)
            return
        for job in batch:  # one bad report must not fail the others: store each alone
            _write_batch([job])
        return
    for job, outcome in zip(batch, outcomes, strict=True):
        job.future.set_result(outcome)


def _store_batch(batch: list[_Job]) -> list[Any]:
    """One transaction for a batch: keys locked and checked, ids, neighbours (one round trip),
    routing and duplicate hints (pure), then every INSERT (one round trip) and the commit."""
    outcomes: list[Any] = [None] * len(batch)
    claimed: dict[tuple[str, str], int] = {}
    for i, job in enumerate(batch):
        if job.key is not None:
            if (job.client, job.key) in claimed:
                outcomes[i] = _REPLAY  # the same key twice in one batch: the first one creates
            else:
                claimed[(job.client, job.key)] = i
    _place_points(batch)
    near = [i for i, job in enumerate(batch) if job.placement.lon is not None]
    asks = [_near(batch[i]) for i in near]
    with _writer_session() as session:
        seen, ids, recent = cases_repo.open_intake_batch(session, list(claimed), len(batch), asks)
        for pair in seen:
            outcomes[claimed.pop(pair)] = _REPLAY
        neighbours = dict(zip(near, recent, strict=True))
        rules = _rules_for(session)
        rows, events, keys = [], [], []
        for i, case_id in zip(range(len(batch)), ids, strict=True):
            if outcomes[i] is _REPLAY:
                continue  # its reserved id stays unused (ids may have gaps, numbers are unique)
            job = batch[i]
            row, evs = _build_case(job, rules, case_id)
            _flag_duplicates(job, row, neighbours.get(i))
            rows.append(row)
            events.extend(evs)
            if job.key is not None:
                keys.append((job.client, job.key, job.request_hash, case_id))
            outcomes[i] = row
        cases_repo.insert_cases(session, rows, events, keys)
    return outcomes


#: Each writer thread's own connection, kept across batches (no pool checkout and ping per
#: batch), replaced when the engine changes (settings) or the connection broke.
_held = threading.local()


@contextmanager
def _writer_session():
    """A session on the writer's held connection: commit on success, roll back on error."""
    from sqlalchemy.orm import Session

    from geo_grid.db.session import get_engine

    engine, conn = get_engine(), getattr(_held, "connection", None)
    if conn is None or _held.engine is not engine or conn.closed or conn.invalidated:
        if conn is not None:
            conn.close()
        conn = engine.connect()
        _held.engine, _held.connection = engine, conn
    session = Session(bind=conn, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        if conn.invalidated:
            conn.close()
            _held.engine = _held.connection = None
        raise
    finally:
        session.close()


def _build_case(job: _Job, rules: Mapping[str, RoutingRule], case_id: int):
    rule = rules[job.cat.code]
    decision = route(job.cat, rule, job.placement, job.roster, turn=case_id)
    return _new_case(case_id, job.payload, job.cat, job.channel, rule, job.placement, decision,
                     job.actor, job.role, job.client, job.now)  # fmt: skip


def _near(job: _Job) -> tuple[str, tuple[float, ...], datetime]:
    box, since = search_window(job.placement.lon, job.placement.lat, job.now)
    return job.cat.code, box, since


def _flag_duplicates(job: _Job, row: dict[str, Any], recent: list[dict[str, Any]] | None) -> None:
    """Note same-category reports within 50 m and 48 h in the new case's routing (a hint)."""
    if not recent:
        return
    dups = duplicates_among(job.cat.code, job.placement.lon, job.placement.lat, job.now, recent)
    if dups:
        row["routing"]["duplicates"] = [
            {"case_id": int(d["case_id"]), "number": d["number"], "distance_m": d["distance_m"]}
            for d in dups[:5]
        ]


def _store_alone_orm(job: _Job) -> Any:
    """The baseline: one ORM transaction per report (key looked up, then objects flushed)."""
    _place_points([job])
    try:
        with session_scope() as session:
            if job.key is not None and cases_repo.find_idempotency(session, job.client, job.key):
                return _REPLAY
            case_id = cases_repo.next_case_id(session)
            row, events = _build_case(job, _rules_for(session), case_id)
            if job.placement.lon is not None:
                cat, box, since = _near(job)
                _flag_duplicates(
                    job, row, cases_repo.recent_cases_near(session, cat, box, since, case_id)
                )
            key = (job.client, job.key, job.request_hash) if job.key is not None else None
            cases_repo.insert_case_orm(session, row, events, key)
    except Conflict as exc:
        if exc.field == "Idempotency-Key":
            return _REPLAY  # a concurrent request with this key won
        raise
    return row


def _replay(client: str, key: str, request_hash: str, now: datetime) -> dict[str, Any] | None:
    """The case a key already created (flagged ``replayed``), None if unused, 409 if reused."""
    with session_scope() as session:
        seen = cases_repo.find_idempotency(session, client, key)
        if seen is None:
            return None
        if seen[0] != request_hash:
            raise Conflict(
                "Idempotency-Key: this key was already used with a different request",
                field="Idempotency-Key",
            )
        view = case_view(cases_repo.get_case(session, case_id=seen[1]), now=now)
    return {**view, "replayed": True}


def _new_case(case_id, payload, cat, channel, rule, placement, decision, actor, role, client, now):
    severity = payload.get("severity") or rule.severity
    due = now + timedelta(hours=total_sla_hours(rule))
    status = "received"
    events = [_event(case_id, "receive", None, "received", actor, role, now,
                     payload.get("description"), None, {"channel": channel})]  # fmt: skip
    if decision.status == "manual":
        status = lifecycle.apply(status, "to_manual")
        events.append(_event(case_id, "to_manual", "received", status, "system:router", "system",
                             now, decision.manual_reason, None, {"trace": list(decision.trace)}))  # fmt: skip
    else:
        status = lifecycle.apply(status, "assess")
        events.append(_event(case_id, "assess", "received", status, "system:router", "system", now,
                             f"{cat.code} {cat.name_zh}, {severity}"))  # fmt: skip
        nxt = lifecycle.apply(status, "dispatch")
        events.append(_event(case_id, "dispatch", status, nxt, "system:router", "system", now,
                             decision.trace[-1], None, decision.to_dict()))  # fmt: skip
        status = nxt
    row = {
        "id": case_id,
        "number": f"{now:%Y%m%d}{case_id:08d}",
        "channel": channel,
        "reporter_name": payload.get("reporter_name"),
        "reporter_phone": payload.get("reporter_phone"),
        "address_text": payload.get("address_text"),
        "input_crs": payload.get("crs") or ("wgs84" if payload.get("lon") is not None else None),
        "category_code": cat.code,
        "category_kind": cat.kind,
        "description": payload.get("description"),
        "photos": list(payload.get("photos") or []),
        "severity": severity,
        "status": status,
        "version": 1,
        "level": "grid" if decision.level == "grid" else decision.level,
        "grid_code": decision.grid_code,
        "grids": dict(placement.grids),
        "community_code": placement.community_code,
        "street_code": placement.street_code,
        "responsible_layer": decision.responsible_layer,
        "responsible_grid": decision.responsible_grid,
        "department": decision.department,
        "assignee_person_id": decision.assignee_person_id,
        "assignee_name": decision.assignee_name,
        "strategy": decision.strategy,
        "routing": {
            "trace": list(decision.trace),
            "placement": {
                "source": placement.source,
                "confidence": placement.confidence,
                "detail": placement.reason,
            },
        },  # fmt: skip
        "manual_reason": decision.manual_reason,
        "received_at": now,
        "due_at": due,
        "stage_due_at": stage_deadline(rule, lifecycle.STAGE_OF.get(status), now),
        "level_due_at": due,
        "dispatched_at": now if status == "dispatched" else None,
        "source_client": client,
        "updated_at": now,
        "lon": placement.lon,
        "lat": placement.lat,
    }
    return row, events


# ---------------------------------------------------------------------------------- transitions
def _changes_for(action: str, case: Mapping[str, Any], data: Mapping[str, Any], now: datetime):
    changes: dict[str, Any] = {}
    if action in ("dispatch", "reassign"):
        for key in ("department", "assignee_person_id", "assignee_name", "responsible_layer",
                    "responsible_grid"):  # fmt: skip
            if data.get(key) is not None:
                changes[key] = data[key]
        if action == "reassign" and not (data.get("department") or data.get("assignee_person_id")):
            raise BadInput("reassign: name the new department or assignee_person_id", field="data")
        changes["dispatched_at"] = now
        changes["manual_reason"] = None
    elif action == "to_manual":
        changes["manual_reason"] = data.get("reason") or "sent back to the manual queue"
    elif action == "contact":
        if case.get("responded_at") is None:
            changes["responded_at"] = now
    elif action == "suspend":
        changes["extended"] = True
    elif action == "handle":
        changes["handled_at"] = now
    elif action == "reopen":
        changes["reopened"] = int(case.get("reopened") or 0) + 1
        changes["handled_at"] = None
    elif action == "close":
        changes["closed_at"] = now
    elif action == "rate":
        rating = data.get("rating")
        if not isinstance(rating, int) or not 1 <= rating <= 5:
            raise BadInput("rating: an integer from 1 to 5 is required", field="rating")
        changes.update(
            rating=rating,
            resolved=bool(data.get("resolved", rating >= 3)),
            satisfied=bool(data.get("satisfied", rating >= 4)),
            rated_at=now,
        )
    elif action == "reject":
        reason = data.get("reason")
        if reason not in ("out_of_scope", "duplicate"):
            raise BadInput("reason: reject needs reason out_of_scope or duplicate", field="reason")
        if reason == "duplicate":
            if data.get("duplicate_of") is None:
                raise BadInput(
                    "duplicate_of: the id of the case this one repeats", field="duplicate_of"
                )
            changes["duplicate_of"] = int(data["duplicate_of"])
    return changes


def transition(
    ref: int | str,
    action: str,
    *,
    version: int,
    actor: str,
    role: str | None = None,
    note: str | None = None,
    attachment: str | None = None,
    data: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Move a case by ``action`` if it is still at ``version`` (else 409); log who, when and why.

    An illegal action raises :class:`Conflict` whose ``extra["allowed"]`` lists the legal ones.
    """
    now = _now(now)
    data = dict(data or {})
    if not actor:
        raise BadInput("actor: who is acting is required", field="actor")
    with session_scope() as session:
        case = _find(session, ref)
        if case["version"] != version:
            err = Conflict(
                f"version: the case is at version {case['version']}, you sent {version}; "
                "reload and retry",
                field="version",
            )
            err.extra = {"current_version": case["version"],
                         "allowed": lifecycle.allowed_actions(case["status"])}  # fmt: skip
            raise err
        new_status = lifecycle.apply(case["status"], action)
        changes = _changes_for(action, case, data, now)
        if action == "reject" and changes.get("duplicate_of") is not None:
            _find(session, changes["duplicate_of"])
        rule = _rules_for(session)[case["category_code"]]
        changes["status"] = new_status
        if new_status != case["status"]:
            changes["stage_due_at"] = stage_deadline(rule, lifecycle.STAGE_OF.get(new_status), now)
        changes["updated_at"] = now
        new_version = cases_repo.update_case(session, case["id"], version, changes)
        cases_repo.insert_events(
            session,
            [
                _event(
                    case["id"],
                    action,
                    case["status"],
                    new_status,
                    actor,
                    role,
                    now,
                    note,
                    attachment,
                    data,
                )
            ],  # fmt: skip
        )
        stored = cases_repo.get_case(session, case_id=case["id"])
    assert stored["version"] == new_version
    return case_view(stored, now=now)


def route_to_point(
    ref: int | str, lon: float, lat: float, crs: str = "wgs84", *, actor: str,
    version: int | None = None, now: datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Dispatch a manual-queue case by pointing at the map: locate the point, route, dispatch."""
    now = _now(now)
    placement = place(lon=lon, lat=lat, crs=crs)
    if not placement.placed:
        raise BadInput(f"point: {placement.reason}", field="lon")
    locator = _get_locator()
    roster = _roster_map(locator)
    with session_scope() as session:
        case = _find(session, ref)
        rule = _rules_for(session)[case["category_code"]]
    decision = route(category(case["category_code"]), rule, placement, roster, turn=case["id"])
    data = {
        "department": decision.department,
        "assignee_person_id": decision.assignee_person_id,
        "assignee_name": decision.assignee_name,
        "responsible_layer": decision.responsible_layer,
        "responsible_grid": decision.responsible_grid,
        "trace": list(decision.trace),
        "point": {"lon": placement.lon, "lat": placement.lat, "crs": crs},
    }
    with session_scope() as session:
        case = _find(session, ref)
        expected = case["version"] if version is None else version
        if case["version"] != expected:
            raise Conflict(f"version: the case is at version {case['version']}", field="version")
        new_status = lifecycle.apply(case["status"], "dispatch")
        trace = (
            list((case.get("routing") or {}).get("trace", []))
            + ["人工落点派遣:"]
            + list(decision.trace)
        )
        changes = {
            "status": new_status, "grid_code": decision.grid_code, "grids": dict(placement.grids),
            "community_code": placement.community_code, "street_code": placement.street_code,
            "responsible_layer": decision.responsible_layer,
            "responsible_grid": decision.responsible_grid, "department": decision.department,
            "assignee_person_id": decision.assignee_person_id,
            "assignee_name": decision.assignee_name, "strategy": decision.strategy,
            "routing": {**(case.get("routing") or {}), "trace": trace},
            "manual_reason": None, "dispatched_at": now, "updated_at": now,
            "stage_due_at": stage_deadline(rule, lifecycle.STAGE_OF.get(new_status), now),
            "lon": placement.lon, "lat": placement.lat,
        }  # fmt: skip
        cases_repo.update_case(session, case["id"], expected, changes)
        cases_repo.insert_events(
            session,
            [
                _event(
                    case["id"],
                    "dispatch",
                    case["status"],
                    new_status,
                    actor,
                    "dispatcher",
                    now,
                    decision.trace[-1],
                    None,
                    data,
                )
            ],  # fmt: skip
        )
        stored = cases_repo.get_case(session, case_id=case["id"])
    return case_view(stored, now=now)


# ---------------------------------------------------------------------------------- 吹哨报到
def _clock(case: Mapping[str, Any], rule: RoutingRule) -> esc.CaseClock:
    return esc.CaseClock(
        level=case["level"],
        level_due_at=case["level_due_at"],
        status=case["status"],
        department=case.get("department") or rule.department,
        whistle_departments=tuple(rule.whistle_departments),
        report_in_hours=rule.report_in_hours,
    )


def _store_steps(session, case, steps, actor, role, note, now) -> int:
    stored = 0
    for step in steps:
        eid = cases_repo.insert_escalation(session, case["id"], step, actor, note)
        if eid is None:
            continue
        stored += 1
        cases_repo.insert_report_ins(
            session, eid, case["id"], step.report_departments, step.report_due_at
        )
    if steps:
        last = steps[-1]
        cases_repo.update_case(
            session, case["id"], case["version"],
            {"level": last.to_level, "level_due_at": last.level_due_at, "updated_at": now},
        )  # fmt: skip
        cases_repo.insert_events(
            session,
            [
                _event(case["id"], "escalate", case["status"], case["status"], actor, role, now,
                       note or f"{esc.LEVELS[s.from_level]} → {esc.LEVELS[s.to_level]} ({s.reason})",
                       None, {"from": s.from_level, "to": s.to_level, "reason": s.reason,
                              "report_in": list(s.report_departments)})
                for s in steps
            ],
        )  # fmt: skip
    return stored


def whistle(
    ref: int | str, *, actor: str, role: str = "handler", note: str | None = None,
    version: int | None = None, now: datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """吹哨: escalate one level now; the named departments must report in within N hours."""
    now = _now(now)
    with session_scope() as session:
        case = _find(session, ref)
        if version is not None and version != case["version"]:
            raise Conflict(f"version: the case is at version {case['version']}", field="version")
        rule = _rules_for(session)[case["category_code"]]
        step = esc.whistle(_clock(case, rule), now)
        _store_steps(session, case, [step], actor, role, note or "吹哨", now)
        stored = cases_repo.get_case(session, case_id=case["id"])
        view = case_view(stored, now=now)
        view["report_ins"] = cases_repo.report_ins(session, case["id"])
    return view


def report_in(
    ref: int | str, department: str, *, actor: str, note: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """报到: a department says it has arrived; on time when before its due time."""
    now = _now(now)
    with session_scope() as session:
        case = _find(session, ref)
        row = cases_repo.record_report_in(session, case["id"], department, now, actor, note)
        cases_repo.insert_events(
            session,
            [
                _event(
                    case["id"],
                    "comment",
                    case["status"],
                    case["status"],
                    actor,
                    "department",
                    now,
                    f"{department} 报到",
                    None,
                    {"report_in": row["id"]},
                )
            ],  # fmt: skip
        )
    return {**row, "on_time": row["reported_at"] <= row["due_at"]}


def tick(now: datetime | None = None, *, limit: int | None = None) -> dict[str, Any]:
    """The escalation sweep: move every overdue open case up as far as the clock says. Idempotent.

    Also safe to run in parallel: rows are claimed with SKIP LOCKED and a case reaches each level
    once (a unique key), so two sweeps never double-escalate.
    """
    now = _now(now)
    moved = steps_total = report_total = 0
    with session_scope() as session:
        rules = _rules_for(session)
        for case in cases_repo.due_for_escalation(session, now, limit=limit):
            rule = rules[case["category_code"]]
            steps = esc.sweep_case(_clock(case, rule), now)
            if not steps:
                continue
            steps_total += _store_steps(session, case, steps, "system:tick", "system", None, now)
            report_total += sum(len(s.report_departments) for s in steps)
            moved += 1
    return {"at": now.isoformat(), "cases": moved, "escalations": steps_total,
            "report_ins": report_total}  # fmt: skip


def start_ticker(interval_s: float) -> Callable[[], None]:
    """Run :func:`tick` every ``interval_s`` seconds in a daemon thread; returns a stop function."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval_s):
            try:
                tick()
            except Exception:  # noqa: BLE001 (a failed sweep must not kill the timer)
                import logging

                logging.getLogger("geo_grid.cases").exception("escalation sweep failed")

    thread = threading.Thread(target=loop, name="geo-grid-cases-tick", daemon=True)
    thread.start()
    return stop.set


# ---------------------------------------------------------------------------------- indicators
def _thresholds() -> Thresholds:
    raw = get_settings().case_indicator_thresholds
    if not raw:
        return Thresholds()
    try:
        config = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"GEO_GRID_CASE_INDICATOR_THRESHOLDS: not JSON ({exc})", field="thresholds"
        ) from exc
    return Thresholds.from_config(config)


_DISTRICT_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def _local(value: datetime) -> datetime:
    """A date without an offset is the district's local time (UTC+8), as a leader means it."""
    return value.replace(tzinfo=_DISTRICT_TZ) if value.tzinfo is None else value


def indicators(level: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """红绿指标 per unit of ``level`` (grid, community, street, department) over ``[start, end)``."""
    start, end = _local(start), _local(end)
    thresholds = _thresholds()
    with session_scope() as session:
        frame = cases_repo.indicator_frame(session, start, end)
    if frame.empty:
        return []
    table = compute_indicators(frame, level, pd.Timestamp(start), pd.Timestamp(end), thresholds)
    table = table.astype(object).where(table.notna(), None)
    return table.to_dict("records")


# ---------------------------------------------------------------------------------- open311
def open311_client(api_key: str) -> str:
    """The client a key belongs to; :class:`BadInput` on field ``api_key`` when unknown."""
    with session_scope() as session:
        client = cases_repo.api_key_client(session, api_key)
    if client is None:
        raise BadInput("api_key: invalid or inactive api_key", field="api_key")
    return client


# ---------------------------------------------------------------------------------- demo
def load_demo_cases(seed: int = 20261125, *, demo=None, end: datetime | None = None,
                    n: int = 20_000, progress=None) -> dict[str, Any]:  # fmt: skip
    """Replace the stored cases with ~``n`` seeded historical cases over six months (one transaction).

    ``demo`` is the generated district (the demo loader passes it; else it is generated here).
    """
    from geo_grid.demo.cases import generate_cases

    if demo is None:
        from geo_grid.demo import generate_demo

        demo = generate_demo(seed)
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    with session_scope() as session:
        rules = _load_rules(session)
    cases, events, escalations = generate_cases(demo, seed, n=n, end=end, rules=rules)
    with session_scope() as session:
        cases_repo.reset_cases(session)
        cases_repo.copy_cases(session, cases)
        cases_repo.copy_events(session, events)
        for row in escalations.itertuples(index=False):
            step = esc.Escalation(row.from_level, row.to_level, row.reason, row.at,
                                  row.overdue_since, row.level_due_at, (), row.at)  # fmt: skip
            cases_repo.insert_escalation(session, int(row.case_id), step, "system:tick", None)
    say(f"stored {len(cases)} demo cases, {len(events)} events, {len(escalations)} escalations")
    return {"cases": len(cases), "events": len(events), "escalations": len(escalations),
            "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip


def open311_create(form: Mapping[str, Any], *, now: datetime | None = None) -> list[dict[str, Any]]:
    """``POST requests``: validate the form and the key, take the case in, answer the spec's list."""
    from geo_grid.cases import open311

    req = open311.parse_request(form)
    client = open311_client(req.api_key)
    attrs = req.attributes
    payload = {
        "category_code": req.service_code,
        "channel": "open311",
        "description": req.description,
        "address_text": req.address_string,
        "lon": req.long,
        "lat": req.lat,
        "crs": "wgs84",
        "reporter_name": req.name,
        "reporter_phone": req.phone,
        "photos": [req.media_url] if req.media_url else [],
        "severity": attrs.get("severity") or None,
    }
    if attrs.get("landmark"):
        payload["description"] = f"{req.description or ''} (附近: {attrs['landmark']})".strip()
    case = intake(payload, actor=f"open311:{client}", role="open311", client=client, now=now)
    return open311.post_response(case)


_OPEN311_STATUS = {
    "open": sorted(lifecycle.OPEN_STATES),
    "closed": sorted(lifecycle.CLOSED_STATES),
}


def open311_requests(
    *,
    ids: list[str] | None = None,
    service_codes: list[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    status: list[str] | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """``GET requests``: by ids, or by codes/status over a window (default the last 90 days)."""
    from geo_grid.cases import open311

    filters: dict[str, Any] = {}
    if ids:
        filters["numbers"] = ids
    else:
        now = _now(now)
        end = end or now
        start = start or end - timedelta(days=90)
        if start >= end:
            raise BadInput("start_date: must be before end_date", field="start_date")
        filters.update(received_from=start, received_to=end)
        if service_codes:
            filters["category_code"] = service_codes
        if status:
            bad = [s for s in status if s not in _OPEN311_STATUS]
            if bad:
                raise BadInput(f"status: must be open or closed, not {bad[0]!r}", field="status")
            filters["status"] = sorted({x for s in status for x in _OPEN311_STATUS[s]})
    rows, _ = list_cases(filters, limit=1000)
    return [open311.service_request(r) for r in rows]
