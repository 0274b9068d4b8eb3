"""Cases in the store: routing from the demo's noisy addresses, the audit log the database protects,
optimistic locking under concurrency, idempotent intake, the sweep with a frozen clock, indicators.

Every test creates its own cases (at instants of its own, far from the others') and never assumes
an empty table.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from geo_grid.access import Principal
from geo_grid.address import arabic_to_chinese
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput, Conflict, Forbidden
from geo_grid.services import cases

CENTRE = Principal("调度员", "dispatcher")
VERIFIER = Principal("核查员", "dispatcher")


def _worker(case, name: str = "网格员甲") -> Principal:
    """A grid worker on the roster for the case's grid (who may accept and handle it)."""
    return Principal(name, "grid_worker", "community", case["grid_code"][:12], (case["grid_code"],))


@pytest.fixture(scope="module")
def inside(demo):
    """Representative points of a few unified grids, with their codes."""
    grids = demo.grids["unified"].iloc[::97]
    pts = grids.geometry.representative_point()
    return list(zip(grids["code"], pts.x, pts.y, strict=True))


def _report(lon, lat, code="E0502", **kw):
    return {"category_code": code, "channel": "hotline", "lon": lon, "lat": lat,
            "crs": "cgcs2000", "description": "占道经营", "reporter_phone": "13912345678", **kw}  # fmt: skip


def test_intake_by_point_routes_to_the_grid_and_logs_three_events(store, inside):
    code, x, y = inside[0]
    case = cases.intake(_report(x, y))
    assert case["status"] == "dispatched" and case["grid_code"] == code
    assert case["assignee_person_id"] and case["strategy"] == "territorial_first"
    assert case["reporter_phone"] == "139****5678"
    assert case["routing"]["trace"] and case["version"] == 1
    events = cases.history(case["id"])
    assert [e["action"] for e in events] == ["receive", "assess", "dispatch"]


def _noisy(text: str, rng: np.random.Generator) -> str:
    kind = rng.integers(0, 4)
    if kind == 0:  # Chinese numerals
        import re

        return re.sub(
            r"(\d+)(号|栋|单元|组)", lambda m: arabic_to_chinese(m.group(1)) + m.group(2), text
        )
    if kind == 1:
        return text.replace("栋", "幢") + "门口"
    if kind == 2:
        return "南京市栖霞区" + text + " 有人占道经营 联系电话13800001111"
    return text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})


def test_noisy_demo_addresses_route_to_the_right_grid_or_to_the_manual_queue(store, demo):
    rng = np.random.default_rng(5)
    lib = demo.addresses
    sample = lib.iloc[rng.choice(len(lib), 80, replace=False)]
    placed = right = 0
    for row in sample.itertuples():
        p = cases.place(address=_noisy(row.local_text, rng))
        if p.placed:
            placed += 1
            right += p.grids["unified"] == row.grid_code
        else:
            assert p.reason  # the geocoder's reason goes with it
    assert placed >= 0.85 * len(sample)
    assert right >= 0.97 * placed
    # and one full intake by address text lands on the true grid
    row = sample.iloc[0]
    case = cases.intake({"category_code": "E0101", "channel": "wechat",
                         "address_text": row["full_text"] + "垃圾满溢"})  # fmt: skip
    assert case["grid_code"] == row["grid_code"]


def test_an_address_that_cannot_be_placed_goes_to_the_manual_queue_then_to_a_point(store, inside):
    case = cases.intake(
        {"category_code": "E0101", "channel": "hotline", "address_text": "月球路1号"},
        district="320113",  # filed with the demo district (the store may serve others)
    )
    assert case["status"] == "manual" and case["grid_code"] is None
    assert "geocoder" in case["manual_reason"]
    assert case["id"] in {r["id"] for r in cases.manual_queue(1000)}
    code, x, y = inside[1]
    routed = cases.route_to_point(case["number"], x, y, "cgcs2000", by=CENTRE)
    assert routed["status"] == "dispatched" and routed["grid_code"] == code
    assert routed["manual_reason"] is None
    assert case["id"] not in {r["id"] for r in cases.manual_queue(1000)}
    assert [e["action"] for e in cases.history(case["id"])][-1] == "dispatch"


def test_the_audit_log_refuses_update_and_delete_even_raw(store, inside):
    case = cases.intake(_report(*inside[2][1:]))
    for sql in ("UPDATE case_event SET note = 'edited' WHERE case_id = :id",
                "DELETE FROM case_event WHERE case_id = :id"):  # fmt: skip
        with pytest.raises(DBAPIError, match="append-only"), session_scope() as s:
            s.execute(text(sql), {"id": case["id"]})
    assert len(cases.history(case["id"])) == 3


def test_transitions_log_actor_role_note_and_check_the_version(store, inside):
    case = cases.intake(_report(*inside[3][1:], code="F0101"))
    worker = _worker(case)
    steps = [("accept", worker), ("contact", worker), ("handle", worker), ("reopen", VERIFIER),
             ("handle", worker), ("verify", VERIFIER), ("close", CENTRE)]  # fmt: skip
    version = case["version"]
    for action, by in steps:
        case = cases.transition(case["id"], action, version=version, by=by,
                                note=f"{action} note", attachment="photo.jpg")  # fmt: skip
        assert case["version"] == version + 1
        version = case["version"]
    case = cases.transition(case["id"], "rate", version=version, by=CENTRE, data={"rating": 4})
    assert case["status"] == "rated" and case["reopened"] == 1 and case["satisfied"]
    assert case["responded_at"] is not None and case["closed_at"] is not None
    log = cases.history(case["id"])
    assert [e["action"] for e in log][3:] == [a for a, _ in steps] + ["rate"]
    assert log[3]["actor"] == "user:网格员甲" and log[3]["role"] == "grid_worker"
    assert (log[6]["actor"], log[6]["role"]) == ("user:核查员", "dispatcher")
    assert log[3]["note"] == "accept note" and log[3]["attachment"] == "photo.jpg"
    with pytest.raises(Conflict) as info:
        cases.transition(case["id"], "close", version=case["version"], by=CENTRE)
    assert info.value.extra["allowed"] == []
    with pytest.raises(Conflict, match="version"):
        cases.transition(case["id"], "comment", version=1, by=CENTRE)


def test_each_step_is_taken_by_its_role_and_verified_by_another_person(store, inside):
    """The role table and the four-eyes rule, enforced in the store's transaction."""
    case = cases.intake(_report(*inside[3][1:], code="F0101"))
    worker, colleague = _worker(case), _worker(case, "网格员乙")
    version = case["version"]
    for action, wrong in (("accept", CENTRE), ("handle", CENTRE)):
        with pytest.raises(Forbidden, match=f"role: dispatcher may not {action}"):
            cases.transition(case["id"], action, version=version, by=wrong)
        version = cases.transition(case["id"], action, version=version, by=worker)["version"]
    for action in ("close", "reassign", "reject"):
        with pytest.raises(Forbidden, match=f"role: grid_worker may not {action}"):
            cases.transition(case["id"], action, version=version, by=worker)
    for action in ("verify", "reopen"):
        with pytest.raises(Forbidden, match="four eyes"):
            cases.transition(case["id"], action, version=version, by=worker)
    assert cases.get_case(case["id"])["version"] == version  # nothing moved, nothing logged
    assert [e["action"] for e in cases.history(case["id"])][-1] == "handle"
    verified = cases.transition(case["id"], "verify", version=version, by=colleague)
    assert verified["status"] == "verified"
    assert cases.history(case["id"])[-1]["actor"] == "user:网格员乙"


def test_concurrent_transitions_one_wins_one_gets_409(store, inside):
    case = cases.intake(_report(*inside[4][1:]))
    worker = _worker(case)
    barrier = threading.Barrier(2)
    results: list[object] = []

    def act(action: str) -> None:
        barrier.wait()
        try:
            results.append(cases.transition(case["id"], action, version=case["version"], by=worker))
        except Conflict as exc:
            results.append(exc)

    threads = [threading.Thread(target=act, args=(a,)) for a in ("accept", "return")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wins = [r for r in results if isinstance(r, dict)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 1
    assert "version" in losses[0].message
    assert cases.get_case(case["id"])["version"] == case["version"] + 1


def test_idempotency_key_returns_the_first_case(store, inside):
    body = _report(*inside[5][1:], description="idempotent")
    key = f"key-{datetime.now(UTC).timestamp()}"
    first = cases.intake(body, idempotency_key=key)
    again = cases.intake(body, idempotency_key=key)
    assert again["id"] == first["id"] and again["replayed"] and not first["replayed"]
    with session_scope() as s:
        n = s.execute(text("""SELECT count(*) FROM "case" WHERE number = :n"""),
                      {"n": first["number"]}).scalar()  # fmt: skip
    assert n == 1
    with pytest.raises(Conflict, match="Idempotency-Key"):
        cases.intake({**body, "description": "changed"}, idempotency_key=key)


def test_concurrent_posts_with_one_key_create_one_case(store, inside):
    body = _report(*inside[6][1:])
    key = f"race-{datetime.now(UTC).timestamp()}"
    barrier = threading.Barrier(4)
    ids: list[int] = []

    def post() -> None:
        barrier.wait()
        ids.append(cases.intake(body, idempotency_key=key)["id"])

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 4 and len(set(ids)) == 1


def test_duplicate_suggestion_within_50_m_and_48_h(store, inside):
    _, x, y = inside[7]
    t0 = datetime(2021, 4, 1, 8, tzinfo=UTC)
    first = cases.intake(_report(x, y, code="E0104"), now=t0)
    near = cases.intake(_report(x + 0.0002, y, code="E0104"), now=t0 + timedelta(hours=3))
    other = cases.intake(_report(x, y, code="E0105"), now=t0 + timedelta(hours=3))
    late = cases.intake(_report(x, y, code="E0104"), now=t0 + timedelta(hours=60))
    assert [d["case_id"] for d in near["routing"]["duplicates"]] == [first["id"]]
    assert "duplicates" not in other["routing"]
    assert "duplicates" not in late["routing"]  # 57 h and 60 h ago: too old


def test_sweep_with_a_frozen_clock_whistle_and_report_in(store, inside):
    t0 = datetime(2020, 1, 6, 9, tzinfo=UTC)
    case = cases.intake(_report(*inside[8][1:]), now=t0)
    due = case["due_at"]
    assert cases.tick(due - timedelta(minutes=1)) is not None
    assert cases.get_case(case["id"])["level"] == "grid"
    cases.tick(due + timedelta(minutes=1))
    after = cases.get_case(case["id"])
    assert after["level"] == "community"
    assert [e["to_level"] for e in after["escalations"]] == ["community"]
    again = cases.tick(due + timedelta(minutes=1))
    assert again["escalations"] == 0
    assert cases.get_case(case["id"])["version"] == after["version"]
    cases.tick(due + timedelta(hours=25))  # community has 24 h
    street = cases.get_case(case["id"])
    assert street["level"] == "street"
    departments = {r["department"] for r in street["report_ins"]}
    assert {"城市管理局", "城管执法中队"} <= departments
    done = cases.report_in(case["id"], "城管执法中队", actor="中队长",
                           now=due + timedelta(hours=26))  # fmt: skip
    assert done["on_time"]
    late = cases.report_in(case["id"], "市场监管所", actor="所长", now=due + timedelta(hours=40))
    assert not late["on_time"]
    blown = cases.whistle(case["id"], by=CENTRE, now=due + timedelta(hours=41))
    assert blown["level"] == "district"
    with pytest.raises(Conflict):
        cases.whistle(case["id"], by=CENTRE, now=due + timedelta(hours=42))
    log = [e["action"] for e in cases.history(case["id"])]
    assert log.count("escalate") == 3


def test_rule_overrides_change_routing_and_can_be_reset(store, inside):
    _, x, y = inside[9]
    cases.update_rule("E0103", {"strategy": "owner_first", "sla_hours": {"handle": 5}}, actor="t")
    try:
        case = cases.intake(_report(x, y, code="E0103"))
        rule = next(r for r in cases.effective_rules() if r["category_code"] == "E0103")
        assert rule["source"] == "custom" and rule["sla_hours"]["handle"] == 5
        assert case["strategy"] in ("owner_first", "territorial_fallback")
        assert any("先属主后属地" in line for line in case["routing"]["trace"])
    finally:
        cases.reset_rule("E0103")
    rule = next(r for r in cases.effective_rules() if r["category_code"] == "E0103")
    assert rule["source"] == "default"
    with pytest.raises(BadInput):
        cases.update_rule("E0103", {"layer": "no_such_layer"}, actor="t")


def test_indicators_over_a_private_period(store, inside):
    t0 = datetime(2019, 2, 1, 9, tzinfo=UTC)
    code, x, y = inside[10]
    made = [
        cases.intake(_report(x, y, code="E0101"), now=t0 + timedelta(hours=i)) for i in range(3)
    ]
    for c in made[:2]:
        v = c["version"]
        for action, by in (("accept", _worker(c)), ("handle", _worker(c)), ("verify", CENTRE),
                           ("close", CENTRE)):  # fmt: skip
            c = cases.transition(c["id"], action, version=v, by=by, now=t0 + timedelta(hours=5))
            v = c["version"]
    rows = cases.indicators(
        "grid", datetime(2019, 1, 1, tzinfo=UTC), datetime(2019, 4, 1, tzinfo=UTC)
    )
    row = next(r for r in rows if r["code"] == code)
    assert (row["received"], row["due"], row["closed"], row["closed_on_time"]) == (3, 3, 2, 2)
    assert row["closure_rate"] == round(2 / 3, 4) and row["overdue"] == 1


def test_load_demo_cases_small(store, demo):
    """In a copy of the store: the load replaces every case, and later modules of this process
    (the street leader's 红绿指标 page) read the demo's last 30 days of cases."""
    from db_copy import copied_database

    from geo_grid.db import repos

    with copied_database(store, "small_cases"):
        with session_scope() as s:  # an empty case log (other districts' too): the load replaces it
            repos.cases.reset_cases(s)
        result = cases.load_demo_cases(demo=demo, n=400, end=datetime(2026, 6, 1, tzinfo=UTC))
        with session_scope() as s:
            n = s.execute(text('SELECT count(*) FROM "case"')).scalar()
            bad = s.execute(
                text("""SELECT count(*) FROM "case" c WHERE c.status <> (
                            SELECT to_status FROM case_event e WHERE e.case_id = c.id
                            AND e.action NOT IN ('contact', 'comment', 'escalate')
                            ORDER BY at DESC, id DESC LIMIT 1)""")
            ).scalar()
        rows = cases.indicators(
            "street", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
        )
    assert result["cases"] == 400 and result["events"] > 400 * 5
    assert n == 400 and bad == 0
    assert rows and {r["colour"] for r in rows} <= {"green", "yellow", "red", None}


def test_group_commit_isolates_a_failing_report_and_answers_after_commit(store, inside):
    """Concurrent intakes share transactions; one report the database refuses fails alone."""
    x, y = inside[9][1:]
    n = 24
    barrier = threading.Barrier(n)
    results: dict[int, object] = {}
    marker = f"batch-{datetime.now(UTC).timestamp()}"

    def post(i: int) -> None:
        body = _report(x + 1e-5 * i, y, description=f"{marker} {i}")
        if i == 7:
            body["reporter_phone"] = "1" * 200  # longer than the column: refused by PostgreSQL
        barrier.wait()
        try:
            results[i] = cases.intake(body)["id"]
        except Exception as exc:  # noqa: BLE001 (the test inspects what the caller got)
            results[i] = exc

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = {i for i, r in results.items() if isinstance(r, Exception)}
    assert failed == {7}
    ids = {r for i, r in results.items() if i != 7}
    assert len(ids) == n - 1
    with session_scope() as s:
        stored = s.execute(
            text('SELECT count(*) FROM "case" WHERE description LIKE :m'), {"m": f"{marker} %"}
        ).scalar()
    assert stored == n - 1  # every answered report is in the database, the refused one is not


def test_a_case_number_starts_with_the_day_it_was_received_in_beijing(store, inside):
    """20:00 UTC on 9 March is 04:00 on the 10th in Nanjing: the number says the 10th."""
    _, x, y = inside[1]
    late = datetime(2025, 3, 9, 20, 0, tzinfo=UTC)  # an instant no other test of the file uses
    case = cases.intake(_report(x, y), now=late, group_commit=False)
    assert case["number"].startswith("20250310"), case["number"]
    assert case["number"].endswith(f"{case['id']:08d}")


def test_the_first_reports_after_a_publish_read_the_roster_once(store, inside, monkeypatch):
    """Whom a report is routed to comes from the roster, read again after each start or publish.
    The first reports all found it missing and each read the whole roster (on the city, 11 reads
    of 70,000 rows held the first batches for 8 s): now one reads it and the others wait."""
    from geo_grid.db import repos
    from geo_grid.services.cases import placement

    reads: list[int] = []
    real = repos.district.read_roster

    def counted(session, **kw):
        reads.append(1)
        threading.Event().wait(0.2)  # a read long enough for every caller to arrive meanwhile
        return real(session, **kw)

    monkeypatch.setattr(repos.district, "read_roster", counted)
    monkeypatch.setitem(placement._roster, "key", None)  # as after a publish
    locator = placement.get_locator()
    code = inside[0][0]
    district = code[:6]
    barrier = threading.Barrier(8)
    found: list[dict] = []

    def ask() -> None:
        barrier.wait()
        found.append(placement.roster_map(locator, district))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reads) == 1
    assert len(found) == 8 and all(f is found[0] for f in found)
    assert any(people for (layer, _), people in found[0].items())  # the on-duty roster itself
    placement.warm_roster()  # current already: the warm-up reads nothing more
    assert len(reads) == 1


def test_a_report_whose_held_connection_died_is_stored_on_a_new_one(store, inside, monkeypatch):
    """The intake writer pings its held connection only after a second without a commit (the
    ping's three round trips were a quarter of a batch's time under load). A connection that dies
    within that second fails the batch on its first statement: the lone report is stored on a
    new connection, and the caller never sees the outage."""
    from geo_grid.db import repos

    real = repos.cases.open_intake_batch
    killed: list[int] = []

    def dies_once(session, *args, **kwargs):
        if not killed:  # the backend ends under the writer's feet, as in a PostgreSQL restart
            killed.append(session.execute(text("SELECT pg_backend_pid()")).scalar())
            session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return real(session, *args, **kwargs)

    _, x, y = inside[2]
    cases.intake(_report(x, y))  # the writer's connection has just committed: no ping next
    monkeypatch.setattr(repos.cases, "open_intake_batch", dies_once)
    case = cases.intake(_report(x, y, description="连接断开后重试"))
    assert killed and case["status"] == "dispatched"
    with session_scope() as s:
        stored = s.execute(text('SELECT description FROM "case" WHERE id = :i'), {"i": case["id"]})
        assert stored.scalar() == "连接断开后重试"
