"""Access over HTTP: every route as every role against api/policy.py, logins, keys, masking of
reporters, the personal-data read log, and area scopes (a grid worker sees their own grids' cases).
"""

from __future__ import annotations

import re
import time

import jwt
import pytest
from fastapi.testclient import TestClient

from api.policy import POLICY, PUBLIC

ROLES = ("admin", "planner", "dispatcher", "grid_worker", "leader", "viewer", "open311_client")


@pytest.fixture(scope="module")
def app(demo_db):
    from api.main import app
    from geo_grid.services import index

    index.invalidate()
    return app


@pytest.fixture(scope="module")
def anon(app):
    with TestClient(app) as c:
        yield c


def _grid_point(code: str) -> tuple[float, float]:
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    with session_scope() as s:
        x, y = s.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(g.geom) p FROM grid g "
                "JOIN generation n ON n.id = g.generation_id WHERE n.layer_key = 'unified' "
                "AND n.status = 'published' AND g.code = :c) q"
            ),
            {"c": code},
        ).one()
    return x, y


@pytest.fixture(scope="module")
def cases(anon, accounts):
    """Two reported cases with reporters: one in the grid worker's grid, one elsewhere."""
    mine = accounts["grid_worker"].grids[0]
    x, y = _grid_point(mine)
    other = _grid_point_far_from(mine)
    made = {}
    for key, (lon, lat) in {"mine": (x, y), "other": other}.items():
        r = anon.post(
            "/api/v1/cases",
            headers=accounts["dispatcher"].headers,
            json={"category_code": "E0502", "channel": "hotline", "lon": lon, "lat": lat,
                  "crs": "cgcs2000", "description": f"access test {key}",
                  "reporter_name": "张三丰", "reporter_phone": "13912345678"},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        made[key] = r.json()
    assert made["mine"]["grid_code"] == mine
    assert made["other"]["grid_code"] != mine
    return made


def _grid_point_far_from(code: str) -> tuple[float, float]:
    """A point in a grid of another street than ``code``'s (and so not the leader's street)."""
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    with session_scope() as s:
        other = s.execute(
            text(
                "SELECT g.code FROM grid g JOIN generation n ON n.id = g.generation_id "
                "WHERE n.layer_key = 'unified' AND n.status = 'published' "
                "AND g.street_code NOT IN (:s, '320113003') ORDER BY g.code LIMIT 1"
            ),
            {"s": code[:9]},
        ).scalar_one()
    return _grid_point(other)


# ------------------------------------------------------------------------------ the role table
def _example_path(path: str, case_id: int, grid: str) -> str:
    values = {
        "layer": "unified", "code": grid, "ref": str(case_id), "plan_id": "999999",
        "fmt": "json", "request_id": str(case_id), "username": "nobody", "name": "nobody",
        "z": "14", "x": "13726", "y": "6560",
    }  # fmt: skip
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def _refused_by_policy(response) -> bool:
    """403 from the role table (not an area refusal, which names the case: ``field`` = ref)."""
    if response.status_code != 403:
        return False
    body = response.json()
    err = body["error"] if isinstance(body, dict) else {"message": body[0]["description"]}
    return err["message"].startswith("role:")


def test_every_route_as_every_role_follows_the_policy_table(anon, accounts, cases):
    """The table is the truth: allowed roles get past it, others get 403, nobody gets 401."""
    case_id, grid = cases["mine"]["id"], cases["mine"]["grid_code"]
    checked = 0
    for key, allowed in POLICY.items():
        method, path = key.split(" ", 1)
        url = _example_path(path, case_id, grid)
        # writes get a body their validation refuses: the role check runs first, nothing changes
        body = {"json": {"__probe__": 1}} if method in ("POST", "PUT", "PATCH") else {}
        if path in ("/auth/token", "/login") or path.startswith("/open311/"):
            body = {"data": {"__probe__": "1"}} if method == "POST" else {}
        for role in (None, *ROLES):
            headers = accounts[role].headers if role else {}
            r = anon.request(method, url, headers=headers, follow_redirects=False, **body)
            checked += 1
            if allowed is PUBLIC:
                assert r.status_code not in (401, 403), (key, role, r.status_code, r.text[:200])
            elif role is None:
                expected = 303 if path.startswith("/map") else 401
                assert r.status_code == expected, (key, r.status_code, r.text[:200])
            elif role in allowed:
                assert r.status_code < 500, (key, role, r.status_code, r.text[:300])
                assert r.status_code != 401 and not _refused_by_policy(r), (key, role, r.text)
            else:
                assert _refused_by_policy(r), (key, role, r.status_code, r.text[:200])
    assert checked == len(POLICY) * (len(ROLES) + 1)


def test_the_table_covers_every_route_and_the_app_refuses_a_gap():
    from fastapi import FastAPI

    from api import policy
    from api.guard import GuardedRoute

    loose = FastAPI()
    loose.router.route_class = GuardedRoute

    @loose.get("/undeclared")
    def undeclared() -> dict:
        return {}

    with pytest.raises(RuntimeError, match="no roles declared for GET /undeclared"):
        policy.bind(loose)


def test_the_app_refuses_a_route_that_would_read_its_body_before_the_role_table():
    """A route not built by GuardedRoute would have FastAPI read its body before any check."""
    from fastapi import FastAPI

    from api import policy

    plain = FastAPI()

    @plain.get("/health")  # declared in the table, but not guarded
    def health() -> dict:
        return {}

    with pytest.raises(RuntimeError, match="route_class=api.guard.GuardedRoute"):
        policy.bind(plain)


# ------------------------------------------------------------------------------ logging in
def test_password_login_gives_a_token_that_names_the_caller(anon, accounts):
    acc = accounts["leader"]
    r = anon.post("/auth/token", data={"username": acc.username, "password": acc.password})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = anon.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {"name": acc.username, "kind": "user", "role": "leader", "role_zh": "领导",
                  "scope": "street:320113003", "grids": []}  # fmt: skip
    bad = anon.post("/auth/token", data={"username": acc.username, "password": "nope-nope"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
    unknown = anon.post("/auth/token", data={"username": "ghost", "password": "nope-nope"})
    assert unknown.status_code == 401 and unknown.json() == bad.json()  # no user enumeration


def test_forged_expired_and_unsigned_tokens_are_refused(anon, accounts):
    from api.auth import _secret

    now = int(time.time())
    claims = {"sub": "x", "role": "admin", "scope_level": "district", "scope_code": "320113"}
    forged = jwt.encode(
        {**claims, "exp": now + 60}, "not-the-secret-but-long-enough-for-hs256", algorithm="HS256"
    )
    expired = jwt.encode({**claims, "exp": now - 1}, _secret(), algorithm="HS256")
    unsigned = jwt.encode({**claims, "exp": now + 60}, None, algorithm="none")
    for token, words in ((forged, "not a valid"), (expired, "expired"), (unsigned, "not a valid")):
        r = anon.get("/api/v1/layers", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and words in r.json()["error"]["message"], r.text
    r = anon.get("/api/v1/layers", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401 and "Bearer" in r.json()["error"]["message"]


def test_a_disabled_account_cannot_log_in(anon, accounts):
    admin = accounts["admin"].headers
    r = anon.post("/api/v1/users", headers=admin,
                  json={"username": "t.leaver", "password": "long-enough-1", "role": "viewer"})  # fmt: skip
    assert r.status_code in (201, 409), r.text
    ok = anon.post("/auth/token", data={"username": "t.leaver", "password": "long-enough-1"})
    assert ok.status_code == 200
    token = {"Authorization": f"Bearer {ok.json()['access_token']}"}
    assert anon.get("/auth/me", headers=token).status_code == 200
    assert anon.patch("/api/v1/users/t.leaver", headers=admin, json={"active": False}).json()[
        "active"] is False  # fmt: skip
    r = anon.post("/auth/token", data={"username": "t.leaver", "password": "long-enough-1"})
    assert r.status_code == 401
    # the token issued before is refused too (at once here; within 30 s in other processes)
    r = anon.get("/auth/me", headers=token)
    assert r.status_code == 401 and "disabled" in r.json()["error"]["message"]


def test_wrong_passwords_lock_the_account_for_a_while(anon, accounts):
    from sqlalchemy import text

    from geo_grid.db.session import session_scope
    from geo_grid.settings import get_settings

    limit = get_settings().auth_max_failed_logins
    anon.post("/api/v1/users", headers=accounts["admin"].headers,
              json={"username": "t.lock", "password": "long-enough-1", "role": "viewer"})  # fmt: skip
    good = {"username": "t.lock", "password": "long-enough-1"}
    bad = {"username": "t.lock", "password": "guess-guess"}
    for _ in range(limit - 1):
        assert anon.post("/auth/token", data=bad).status_code == 401
    assert anon.post("/auth/token", data=good).status_code == 200  # a success clears the count
    for _ in range(limit):
        assert anon.post("/auth/token", data=bad).status_code == 401
    r = anon.post("/auth/token", data=good)
    assert r.status_code == 401 and "locked" in r.json()["error"]["message"]
    other = accounts["viewer"]
    assert anon.post("/auth/token", data={"username": other.username,
                                          "password": other.password}).status_code == 200  # fmt: skip
    with session_scope() as s:  # the lock time passes
        s.execute(text("UPDATE app_user SET locked_until = now() - interval '1 second' "
                       "WHERE username = 't.lock'"))  # fmt: skip
    assert anon.post("/auth/token", data=good).status_code == 200


def test_account_input_is_checked_with_the_field_named(anon, accounts):
    admin = accounts["admin"].headers
    cases = [
        ({"username": "t.x", "password": "long-enough-1", "role": "mayor"}, 422, "role"),
        ({"username": "t.x", "password": "long-enough-1", "role": "leader",
          "scope": "street:1"}, 422, "scope"),
        ({"username": "t.x", "password": "long-enough-1", "role": "grid_worker"}, 422,
         "person_id"),
        ({"username": "t.admin", "password": "long-enough-1", "role": "viewer"}, 409, "username"),
        ({"username": "a b", "password": "long-enough-1", "role": "viewer"}, 422, "username"),
    ]  # fmt: skip
    for body, status, field in cases:
        r = anon.post("/api/v1/users", headers=admin, json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"]["field"] == field, (body, r.text)


def test_api_keys_work_until_revoked(anon, accounts):
    admin = accounts["admin"].headers
    r = anon.post("/api/v1/api-keys", headers=admin, json={"name": "t.bridge", "role": "viewer"})
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    assert key.startswith("ggk_") and r.json()["prefix"] == key[:10]
    listed = anon.get("/api/v1/api-keys", headers=admin).json()["data"]
    assert all("key" not in k and "key_hash" not in k for k in listed)
    assert anon.get("/api/v1/layers", headers={"X-API-Key": key}).status_code == 200
    assert anon.delete("/api/v1/api-keys/t.bridge", headers=admin).json()["active"] is False
    r = anon.get("/api/v1/layers", headers={"X-API-Key": key})
    assert r.status_code == 401 and "api_key" in r.json()["error"]["message"]


def test_the_session_cookie_needs_the_page_header_to_write(anon, accounts):
    acc = accounts["dispatcher"]
    with TestClient(anon.app) as browser:
        r = browser.post("/login", data={"username": acc.username, "password": acc.password},
                         follow_redirects=False)  # fmt: skip
        assert r.status_code == 303 and r.headers["location"] == "/map"
        assert "httponly" in r.headers["set-cookie"].lower()
        assert "samesite=strict" in r.headers["set-cookie"].lower()
        assert browser.get("/api/v1/cases/manual").status_code == 200
        forged = browser.post("/api/v1/cases", json={"category_code": "E0502"})
        assert forged.status_code == 403 and "x-requested-with" in forged.text
        page = browser.post("/api/v1/cases", json={"__probe__": 1},
                            headers={"X-Requested-With": "geo-grid"})  # fmt: skip
        assert page.status_code == 422
        nowhere = browser.post("/login", follow_redirects=False, data={
            "username": acc.username, "password": acc.password, "next": "//evil.example/x"})  # fmt: skip
        assert nowhere.headers["location"] == "/map"
        assert browser.post("/logout", follow_redirects=False).status_code == 303
        assert browser.get("/api/v1/cases/manual").status_code == 401


# ------------------------------------------------------------------------------ personal data
def _reads(case_id: int) -> list[dict]:
    from geo_grid.services import access

    return access.personal_reads(case_id=case_id)


def test_reporters_are_masked_for_viewers_leaders_and_open311(anon, accounts, cases):
    case = cases["other"]
    before = len(_reads(case["id"]))
    got = anon.get(f"/api/v1/cases/{case['id']}", headers=accounts["viewer"].headers).json()
    assert (got["reporter_name"], got["reporter_phone"]) == ("张**", "139****5678"), got
    for role in ("viewer", "leader"):
        listed = anon.get("/api/v1/cases", headers=accounts[role].headers,
                          params={"limit": 1000, "channel": "hotline"}).json()  # fmt: skip
        assert listed["count"] > 0
        assert all(c["reporter_phone"] is None or "****" in c["reporter_phone"]
                   for c in listed["data"])  # fmt: skip
    o311 = anon.get(f"/open311/v2/requests/{case['number']}.json",
                    headers=accounts["open311_client"].headers)  # fmt: skip
    assert o311.status_code == 200, o311.text
    assert "13912345678" not in o311.text and "张三丰" not in o311.text
    assert len(_reads(case["id"])) == before  # masked reads are not personal-data reads


def test_dispatchers_read_reporters_and_every_read_is_logged(anon, accounts, cases):
    case = cases["other"]
    before = len(_reads(case["id"]))
    got = anon.get(f"/api/v1/cases/{case['number']}", headers=accounts["dispatcher"].headers)
    assert (got.json()["reporter_name"], got.json()["reporter_phone"]) == ("张三丰", "13912345678")
    listed = anon.get("/api/v1/cases", headers=accounts["dispatcher"].headers,
                      params={"limit": 1000, "channel": "hotline"}).json()["data"]  # fmt: skip
    assert case["id"] in {c["id"] for c in listed}
    reads = _reads(case["id"])
    assert len(reads) == before + 2
    assert {r["principal"] for r in reads[:2]} == {f"user:{accounts['dispatcher'].username}"}
    assert reads[0]["fields"] == ["reporter_name", "reporter_phone"]
    audit = anon.get("/api/v1/audit/personal-data", headers=accounts["admin"].headers,
                     params={"case_id": case["id"]}).json()  # fmt: skip
    assert audit["count"] == len(reads) and audit["data"][0]["purpose"] == "GET cases list"


def test_the_read_log_cannot_be_rewritten(demo_db):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from geo_grid.db.session import session_scope

    with pytest.raises(DBAPIError, match="append-only"), session_scope() as s:
        s.execute(text("DELETE FROM personal_data_read"))


# ------------------------------------------------------------------------------ areas
def test_a_grid_worker_sees_and_moves_only_the_cases_of_their_grids(anon, accounts, cases):
    worker = accounts["grid_worker"]
    listed = anon.get("/api/v1/cases", headers=worker.headers, params={"limit": 1000}).json()
    assert listed["count"] >= 1
    assert {c["grid_code"] for c in listed["data"]} <= set(worker.grids)
    assert cases["mine"]["id"] in {c["id"] for c in listed["data"]}
    mine = anon.get(f"/api/v1/cases/{cases['mine']['id']}", headers=worker.headers).json()
    assert mine["reporter_phone"] == "13912345678"  # their own grid's reporter: to call back
    other = anon.get(f"/api/v1/cases/{cases['other']['id']}", headers=worker.headers)
    assert other.status_code == 403 and other.json()["error"]["field"] == "ref"
    move = anon.post(f"/api/v1/cases/{cases['other']['id']}/transitions", headers=worker.headers,
                     json={"action": "accept", "version": cases["other"]["version"]})  # fmt: skip
    assert move.status_code == 403
    ok = anon.post(f"/api/v1/cases/{cases['mine']['id']}/transitions", headers=worker.headers,
                   json={"action": "accept", "version": mine["version"]})  # fmt: skip
    assert ok.status_code == 200, ok.text
    events = anon.get(f"/api/v1/cases/{cases['mine']['id']}/events", headers=worker.headers)
    assert events.json()["data"][-1]["actor"] == f"user:{worker.username}"


def test_a_street_leader_sees_only_their_street(anon, accounts, cases):
    leader = accounts["leader"].headers
    listed = anon.get("/api/v1/cases", headers=leader, params={"limit": 1000}).json()
    assert {c["street_code"] for c in listed["data"]} <= {"320113003"}
    elsewhere = anon.get("/api/v1/cases", headers=leader,
                         params={"street_code": cases["other"]["street_code"]}).json()  # fmt: skip
    assert elsewhere["count"] == 0
    assert anon.get(f"/api/v1/cases/{cases['other']['id']}", headers=leader).status_code == 403


def test_the_cases_map_shows_a_grid_worker_only_their_grids(anon, accounts, cases):
    mine, other = cases["mine"]["number"], cases["other"]["number"]
    worker = anon.get("/map/cases", headers=accounts["grid_worker"].headers)
    assert worker.status_code == 200
    assert mine in worker.text and other not in worker.text
    # the page draws only their grids (and opens on them)
    assert accounts["grid_worker"].grids[0] in worker.text
    assert cases["other"]["grid_code"] not in worker.text
    everyone = anon.get("/map/cases", headers=accounts["dispatcher"].headers).text
    assert mine in everyone and other in everyone
    assert "13912345678" not in everyone and "张三丰" not in everyone


def test_a_street_planner_redraws_only_their_street(anon, accounts):
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    admin = accounts["admin"].headers
    r = anon.post("/api/v1/users", headers=admin, json={
        "username": "t.street.planner", "password": "long-enough-1", "role": "planner",
        "scope": "street:320113003"})  # fmt: skip
    assert r.status_code in (201, 409), r.text
    token = anon.post("/auth/token", data={"username": "t.street.planner",
                                           "password": "long-enough-1"}).json()["access_token"]  # fmt: skip
    planner = {"Authorization": f"Bearer {token}"}
    with session_scope() as s:
        inside, outside = (
            s.execute(
                text(
                    "SELECT min(g.code) FROM grid g JOIN generation n ON n.id = g.generation_id "
                    "WHERE n.layer_key = 'unified' AND n.status = 'published' AND "
                    "(g.street_code = '320113003') = :inside"
                ),
                {"inside": flag},
            ).scalar_one()
            for flag in (True, False)
        )
    plan = anon.post("/api/v1/plans", headers=planner, json={"note": "street planner"}).json()
    assert plan["author"] == "user:t.street.planner"
    url = f"/api/v1/plans/{plan['id']}/recode?dry_run=true"
    ok = anon.post(url, headers=planner, json={"grid": inside, "code": inside, "name": "新名"})
    assert ok.status_code == 200, ok.text
    refused = anon.post(url, headers=planner, json={"grid": outside, "code": outside, "name": "x"})
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "grid", refused.text
    assert "outside your street 320113003" in refused.json()["error"]["message"]
