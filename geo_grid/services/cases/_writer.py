"""The intake writer: placed reports stored in group commits (one transaction, one fsync, for
whatever arrived during the last commit), and the one-ORM-transaction-per-report baseline.

The writer threads and their queue live here and only here; each thread writes through its own
held connection (:func:`geo_grid.db.session.held_session`, pinged after a second without a commit).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any

from geo_grid.cases import lifecycle
from geo_grid.cases.duplicates import duplicates_among, search_window
from geo_grid.cases.rules import (
    RoutingRule,
    route,
    stage_deadline,
    total_sla_hours,
)
from geo_grid.db import repos
from geo_grid.db.session import held_session, session_scope
from geo_grid.errors import Conflict, DatabaseUnavailable
from geo_grid.labels import CASE_SEVERITY, label
from geo_grid.services.cases._common import Job, event_row
from geo_grid.services.cases.placement import place_points
from geo_grid.services.cases.rules import rules_for
from geo_grid.timefmt import to_local

__all__ = ["INTAKE_BATCH_MAX", "INTAKE_WRITERS", "REPLAY", "store_alone_orm", "submit"]

#: Most reports one intake transaction stores (a batch is whatever arrived during the last commit).
INTAKE_BATCH_MAX = 256


#: Writer threads per process, each with its own connection. Measured on 2 cores with 50 clients:
#: one writer costs 2.9-3.2 ms of server CPU per case, two 3.3-3.5 ms (smaller batches, more
#: contention for the GIL) for no gain in throughput, hence one.
INTAKE_WRITERS = 1


REPLAY: Any = object()  # outcome: the key was used already; the caller answers with that case


#: The intake writers of this process: a queue and the threads that drain it. Nothing to
#: invalidate (they hold no data); restarted when missing or after a fork (the pid changed).
_writer: dict[str, Any] = {"pid": None, "queue": None, "threads": []}


_writer_lock = threading.Lock()


def submit(job: Job) -> Future:
    """Queue a placed report for the writers: a future of its stored row (or :data:`REPLAY`),
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


def _write_batch(batch: list[Job], retry: bool = True) -> None:
    """Store a batch and answer each waiting request (futures already marked running).

    A batch that fails is stored again report by report, so that one bad report fails alone; a
    report that fails alone because the database went away is tried once more, on the new
    connection :func:`held_session` then opens (a held connection is not pinged while busy)."""
    try:
        outcomes = _store_batch(batch)
    except Exception as exc:  # noqa: BLE001 (handed to the waiting requests)
        if len(batch) == 1:
            if retry and isinstance(exc, DatabaseUnavailable):
                _write_batch(batch, retry=False)  # on a new connection: the held one died
                return
            batch[0].future.set_exception(exc)
            return
        for job in batch:  # one bad report must not fail the others: store each alone
            _write_batch([job])
        return
    for job, outcome in zip(batch, outcomes, strict=True):
        job.future.set_result(outcome)


def _store_batch(batch: list[Job]) -> list[Any]:
    """One transaction for a batch: keys locked and checked, ids, neighbours (one round trip),
    routing and duplicate hints (pure), then every INSERT (one round trip) and the commit."""
    outcomes: list[Any] = [None] * len(batch)
    claimed: dict[tuple[str, str], int] = {}
    for i, job in enumerate(batch):
        if job.key is not None:
            if (job.client, job.key) in claimed:
                outcomes[i] = REPLAY  # the same key twice in one batch: the first one creates
            else:
                claimed[(job.client, job.key)] = i
    place_points(batch)
    near = [i for i, job in enumerate(batch) if job.placement.lon is not None]
    asks = [_near(batch[i]) for i in near]
    with held_session() as session:
        seen, ids, recent = repos.cases.open_intake_batch(session, list(claimed), len(batch), asks)
        for pair in seen:
            outcomes[claimed.pop(pair)] = REPLAY
        neighbours = dict(zip(near, recent, strict=True))
        rules = rules_for(session)
        rows, events, keys = [], [], []
        for i, case_id in zip(range(len(batch)), ids, strict=True):
            if outcomes[i] is REPLAY:
                continue  # its reserved id stays unused (ids may have gaps, numbers are unique)
            job = batch[i]
            row, evs = _build_case(job, rules, case_id)
            _flag_duplicates(job, row, neighbours.get(i))
            rows.append(row)
            events.extend(evs)
            if job.key is not None:
                keys.append((job.client, job.key, job.request_hash, case_id))
            outcomes[i] = row
        repos.cases.insert_cases(session, rows, events, keys)
    return outcomes


def _build_case(job: Job, rules: Mapping[str, RoutingRule], case_id: int):
    rule = rules[job.cat.code]
    decision = route(job.cat, rule, job.placement, job.roster, turn=case_id)
    row, events = _new_case(case_id, job.payload, job.cat, job.channel, rule, job.placement,
                            decision, job.actor, job.role, job.client, job.now)  # fmt: skip
    row["district_code"] = job.placement.district_code or job.district
    return row, events


def _near(job: Job) -> tuple[str, tuple[float, ...], datetime]:
    box, since = search_window(job.placement.lon, job.placement.lat, job.now)
    return job.cat.code, box, since


def _flag_duplicates(job: Job, row: dict[str, Any], recent: list[dict[str, Any]] | None) -> None:
    """Note same-category reports within 50 m and 48 h in the new case's routing (a hint)."""
    if not recent:
        return
    dups = duplicates_among(job.cat.code, job.placement.lon, job.placement.lat, job.now, recent)
    if dups:
        row["routing"]["duplicates"] = [
            {"case_id": int(d["case_id"]), "number": d["number"], "distance_m": d["distance_m"]}
            for d in dups[:5]
        ]


def store_alone_orm(job: Job) -> Any:
    """The baseline: one ORM transaction per report (key looked up, then objects flushed)."""
    place_points([job])
    try:
        with session_scope() as session:
            if job.key is not None and repos.cases.find_idempotency(session, job.client, job.key):
                return REPLAY
            case_id = repos.cases.next_case_id(session)
            row, events = _build_case(job, rules_for(session), case_id)
            if job.placement.lon is not None:
                cat, box, since = _near(job)
                _flag_duplicates(
                    job, row, repos.cases.recent_cases_near(session, cat, box, since, case_id)
                )
            key = (job.client, job.key, job.request_hash) if job.key is not None else None
            repos.cases.insert_case_orm(session, row, events, key)
    except Conflict as exc:
        if exc.field == "Idempotency-Key":
            return REPLAY  # a concurrent request with this key won
        raise
    return row


def _new_case(case_id, payload, cat, channel, rule, placement, decision, actor, role, client, now):
    severity = payload.get("severity") or rule.severity
    due = now + timedelta(hours=total_sla_hours(rule))
    status = "received"
    events = [event_row(case_id, "receive", None, "received", actor, role, now,
                     payload.get("description"), None, {"channel": channel})]  # fmt: skip
    if decision.status == "manual":
        status = lifecycle.apply(status, "to_manual")
        events.append(event_row(case_id, "to_manual", "received", status, "system:router", "system",
                             now, decision.manual_reason, None, {"trace": list(decision.trace)}))  # fmt: skip
    else:
        status = lifecycle.apply(status, "assess")
        events.append(event_row(case_id, "assess", "received", status, "system:router", "system", now,
                             f"{cat.code} {cat.name_zh}，{label(CASE_SEVERITY, severity)}"))  # fmt: skip
        nxt = lifecycle.apply(status, "dispatch")
        events.append(event_row(case_id, "dispatch", status, nxt, "system:router", "system", now,
                             decision.trace[-1], None, decision.to_dict()))  # fmt: skip
        status = nxt
    row = {
        "id": case_id,
        "number": f"{to_local(now):%Y%m%d}{case_id:08d}",  # the day it was received, 北京时间
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
