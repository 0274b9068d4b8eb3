"""Cases over HTTP: 201/200 with Idempotency-Key, 409 listing allowed actions, stale versions,
rules editing, indicators and the sweep endpoint."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client(demo_db, accounts):
    from api.main import app
    from geo_grid.services import index

    index.invalidate()
    with TestClient(app, headers=accounts["admin"].headers) as c:
        yield c
    index.invalidate()


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


def test_indicators_and_tick(client, point):
    r = client.get("/api/v1/indicators",
                   params={"level": "grid", "from": "2000-01-01", "to": "2100-01-01"})  # fmt: skip
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
