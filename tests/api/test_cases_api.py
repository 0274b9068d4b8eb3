"""Cases over HTTP: 201/200 with Idempotency-Key, 409 listing allowed actions, stale versions,
rules editing, indicators and the sweep endpoint."""

from __future__ import annotations

import time
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest


@pytest.fixture(scope="module")
def point(demo):
    grid = demo.grids["unified"].iloc[11]
    p = grid.geometry.representative_point()
    return grid["code"], p.x, p.y


def _body(point, **kw):
    _, x, y = point
    return {"category_code": "E0502", "channel": "app", "lon": x, "lat": y, "crs": "cgcs2000",
            "description": "早市占道", **kw}  # fmt: skip


def test_post_case_routes_and_get_returns_it_with_events(client, point):
    r = client.post("/api/v1/cases", json=_body(point))
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["grid_code"] == point[0] and case["status"] == "dispatched"
    assert "accept" in case["allowed_actions"]
    got = client.get(f"/api/v1/cases/{case['number']}").json()
    assert got["id"] == case["id"] and [e["action"] for e in got["events"]] == [
        "receive", "assess", "dispatch"]  # fmt: skip
    events = client.get(f"/api/v1/cases/{case['id']}/events").json()
    assert events["count"] == 3
    listed = client.get("/api/v1/cases", params={"grid_code": point[0], "status": "dispatched"})
    assert case["id"] in {c["id"] for c in listed.json()["data"]}


def test_idempotency_key_header(client, point):
    key = str(uuid.uuid4())
    body = _body(point, description="idem")
    first = client.post("/api/v1/cases", json=body, headers={"Idempotency-Key": key})
    second = client.post("/api/v1/cases", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201 and second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == second.json()["id"]
    clash = client.post("/api/v1/cases", json={**body, "description": "x"},
                        headers={"Idempotency-Key": key})  # fmt: skip
    assert clash.status_code == 409


def test_illegal_transition_is_409_with_the_allowed_actions(client, point):
    case = client.post("/api/v1/cases", json=_body(point)).json()
    r = client.post(f"/api/v1/cases/{case['id']}/transitions",
                    json={"action": "close", "version": case["version"]})  # fmt: skip
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["allowed"] == case["allowed_actions"] and "accept" in err["allowed"]
    assert err["field"] == "action"


@pytest.fixture(scope="module")
def worker_point(demo, accounts):
    """A point in the test grid worker's own grid (they accept and handle its cases)."""
    grids = demo.grids["unified"]
    grid = grids[grids["code"] == accounts["grid_worker"].grids[0]].iloc[0]
    p = grid.geometry.representative_point()
    return grid["code"], p.x, p.y


def test_transitions_with_versions_and_a_stale_version(client, worker_point, accounts):
    worker = accounts["grid_worker"].headers
    case = client.post("/api/v1/cases", json=_body(worker_point)).json()
    url = f"/api/v1/cases/{case['id']}/transitions"
    ok = client.post(url, headers=worker,
                     json={"action": "accept", "version": 1, "note": "到场", "attachment": "a.jpg"})  # fmt: skip
    assert ok.status_code == 200 and ok.json()["version"] == 2, ok.text
    stale = client.post(url, headers=worker, json={"action": "handle", "version": 1})
    assert stale.status_code == 409 and stale.json()["error"]["current_version"] == 2
    bad = client.post(url, json={"action": "rate", "version": 2, "data": {}})
    assert bad.status_code == 409
    missing = client.post(url, json={"action": "accept"})
    assert missing.status_code == 422
    assert client.get("/api/v1/cases/999999999").status_code == 404


def test_whistle_and_report_in(client, point):
    case = client.post("/api/v1/cases", json=_body(point)).json()
    r = client.post(f"/api/v1/cases/{case['id']}/whistle", json={})
    assert r.status_code == 200 and r.json()["level"] == "community"
    done = client.post(f"/api/v1/cases/{case['id']}/report-ins",
                       json={"department": "城市管理局"})  # fmt: skip
    assert done.status_code == 200 and done.json()["on_time"] is True
    again = client.post(f"/api/v1/cases/{case['id']}/report-ins",
                        json={"department": "城市管理局"})  # fmt: skip
    assert again.status_code == 404


def test_manual_queue_and_route_to_point(client, point):
    body = {"category_code": "E0101", "channel": "hotline", "address_text": "火星大道99号"}
    case = client.post("/api/v1/cases", json=body).json()
    assert case["status"] == "manual"
    queue = client.get("/api/v1/cases/manual").json()
    assert case["id"] in {c["id"] for c in queue["data"]}
    code, x, y = point
    r = client.post(f"/api/v1/cases/{case['id']}/route-to-point",
                    json={"lon": x, "lat": y, "crs": "cgcs2000"})  # fmt: skip
    assert r.status_code == 200 and r.json()["grid_code"] == code


def test_rules_read_edit_reset(client):
    rules = client.get("/api/v1/rules").json()
    assert rules["count"] >= 30
    r = client.put("/api/v1/rules/S0201", json={"sla_hours": {"handle": 12}})
    assert r.status_code == 200 and r.json()["sla_hours"]["handle"] == 12
    assert client.get("/api/v1/rules/S0201").json()["source"] == "custom"
    assert client.put("/api/v1/rules/S0201", json={"sla_hours": {"nap": 1}}).status_code == 422
    assert client.delete("/api/v1/rules/S0201").json()["source"] == "default"
    assert client.get("/api/v1/rules/S0201").json()["source"] == "default"
    assert client.get("/api/v1/rules/NOPE").status_code == 404


def _last_year() -> dict[str, str]:
    """A period holding every demo case (six months up to today) and the ones posted here."""
    today = date.today()
    return {"from": str(today - timedelta(days=300)), "to": str(today + timedelta(days=2))}


def test_indicators_and_tick(client, point):
    r = client.get("/api/v1/indicators", params={"level": "grid", **_last_year()})
    assert r.status_code == 200
    rows = r.json()["data"]
    assert point[0] in {row["code"] for row in rows}
    assert client.get("/api/v1/indicators", params={"level": "moon", "from": "2020-01-01",
                                                    "to": "2021-01-01"}).status_code == 422  # fmt: skip
    tick = client.post("/api/v1/cases/tick", json={"now": "2001-01-01T00:00:00+08:00"})
    assert tick.status_code == 200 and set(tick.json()) == {
        "at",
        "cases",
        "escalations",
        "report_ins",
    }


#: Every route that takes a period (or an instant), and how it names the field: a UTC offset
#: Python accepts but PostgreSQL cannot hold once answered 500 in plain text on each of them.
OFFSET = "2026-06-01T00:00:00+16:00"
PERIOD_ROUTES = [
    ("GET", "/api/v1/indicators", {"from": OFFSET, "to": "2026-07-01"}, "from"),
    ("GET", "/api/v1/indicators", {"from": "2026-06-01", "to": "2026-07-01T00:00:00-16:30"}, "to"),
    ("GET", "/api/v1/cases", {"from": OFFSET}, "from"),
    ("GET", "/api/v1/cases", {"to": OFFSET}, "to"),
    ("GET", "/map/cases", {"from": OFFSET}, "from"),
    ("GET", "/map/indicators", {"to": OFFSET}, "to"),
    ("GET", "/open311/v2/requests.json", {"start_date": OFFSET}, "start_date"),
    ("GET", "/open311/v2/requests.xml", {"end_date": OFFSET}, "end_date"),
    ("POST", "/api/v1/cases/tick", {"now": OFFSET}, "now"),
]


def _refusal(r, field: str) -> str:
    """The message of a 4xx naming ``field``: the API's JSON, or Open311's list (JSON or XML)."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if r.headers["content-type"].startswith("text/xml"):
        assert r.status_code == 400 and "<errors><error><code>400</code>" in r.text
        return r.text
    body = r.json()
    if isinstance(body, list):  # GeoReport v2
        assert r.status_code == 400 and body[0]["code"] == 400
        return body[0]["description"]
    assert r.status_code == 422 and body["error"]["field"] == field, body
    return body["error"]["message"]


@pytest.mark.parametrize(("method", "path", "params", "field"), PERIOD_ROUTES)
def test_utc_offsets_postgresql_cannot_hold_are_refused_naming_the_field(
    client, method, path, params, field
):
    kwargs = {"json": params} if method == "POST" else {"params": params}
    message = _refusal(client.request(method, path, **kwargs), field)
    assert message.count(f"{field}: UTC offset") == 1 and "out of range" in message
    # the same instant at an offset PostgreSQL holds is answered
    fine = {k: v.replace("+16:00", "+15:59").replace("-16:30", "-15:59") for k, v in params.items()}
    kwargs = {"json": fine} if method == "POST" else {"params": fine}
    assert client.request(method, path, **kwargs).status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/indicators", {"from": "2020-01-01", "to": "2026-01-01"}, "from"),
        ("/api/v1/cases", {"from": "2020-01-01", "to": "2026-01-01"}, "from"),
        ("/map/cases", {"from": "1970-01-01"}, "from"),  # to: the latest case
        ("/map/indicators", {"from": "2000-01-01", "to": "2026-01-01"}, "from"),
        ("/open311/v2/requests.json", {"start_date": "1970-01-01T00:00:00Z"}, "start_date"),
    ],
)
def test_periods_longer_than_the_setting_are_refused_at_once(client, path, params, field):
    t0 = time.perf_counter()
    message = _refusal(client.get(path, params=params), field)
    assert time.perf_counter() - t0 < 3.0  # refused before the work (14-18 s before the cap)
    assert "more than the 366 allowed" in message and "GEO_GRID_MAX_PERIOD_DAYS" in message
    assert message.startswith(f"{field}: ")


def test_the_period_limit_is_a_setting(client, monkeypatch):
    from geo_grid.settings import get_settings

    week = {"from": "2026-06-01", "to": "2026-06-09"}
    assert client.get("/api/v1/indicators", params=week).status_code == 200
    monkeypatch.setenv("GEO_GRID_MAX_PERIOD_DAYS", "7")
    get_settings.cache_clear()
    try:
        r = client.get("/api/v1/indicators", params=week)
        assert r.status_code == 422 and "more than the 7 allowed" in r.json()["error"]["message"]
    finally:
        monkeypatch.delenv("GEO_GRID_MAX_PERIOD_DAYS")
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("params", "field", "says"),
    [
        ({"from": "-2"}, "from", "not an ISO 8601 date or time: '-2'"),  # once: 1969-12-31
        ({"from": "20260101"}, None, None),  # ISO 8601 basic format: 2026-01-01, not 1970
        ({"from": "2026-07-01", "to": "2026-06-01"}, "from", "from: must be before to"),
        ({"from": "2026-06-01", "to": "2026-06-01"}, "from", "from: must be before to"),
    ],
)
def test_period_text_is_iso_8601_and_ordered(client, params, field, says):
    r = client.get("/api/v1/cases", params={**params, "limit": 1})
    if field is None:
        assert r.status_code == 200, r.text
        return
    assert r.status_code == 422 and r.json()["error"]["field"] == field
    assert says in r.json()["error"]["message"]


def test_a_time_without_offset_is_beijing_time(client, point):
    """``from=2026-06-01`` means midnight in the district, not in UTC (eight hours apart)."""
    case = client.post("/api/v1/cases", json=_body(point, description="时区")).json()
    received = datetime.fromisoformat(case["received_at"]).astimezone(timezone(timedelta(hours=8)))
    local = received.replace(tzinfo=None)
    after = (local + timedelta(seconds=1)).isoformat(timespec="seconds")
    before = (local - timedelta(seconds=1)).isoformat(timespec="seconds")
    grid = {"grid_code": point[0], "limit": 1000}

    def ids(**period) -> set[int]:
        rows = client.get("/api/v1/cases", params={**grid, **period}).json()["data"]
        return {c["id"] for c in rows}

    assert case["id"] in ids(**{"from": before, "to": after})
    assert case["id"] not in ids(**{"from": after})
