"""Access over HTTP: every route as every role against api/policy.py, logins, keys, masking of
reporters, the personal-data read log, and area scopes (a grid worker sees their own grids' cases).
"""

from __future__ import annotations

import re
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from api.pages import is_page_path
from api.policy import POLICY, PUBLIC, resolve

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
        "z": "14", "x": "13726", "y": "6560", "photo_id": "0" * 32, "job_id": "999999999",
        "generation": "999999",  # no such generation: a publish answers 404, nothing changes
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
    for key, entry in POLICY.items():
        allowed = resolve(entry)  # the Open311 discovery routes: public by default
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
                expected = 303 if is_page_path(path) else 401  # pages: to the login form
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
    pages = {p["href"]: p["label"] for p in me.pop("pages")}  # what the role may open
    assert me == {"name": acc.username, "kind": "user", "role": "leader", "role_zh": "领导",
                  "scope": "street:320113003", "grids": []}  # fmt: skip
    assert pages["/map/indicators"] == "红绿指标" and pages["/cases"] == "案件列表"
    assert "/cases/new" not in pages  # a leader reads cases and plans, files no case
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


def test_a_remembered_token_still_expires_and_needs_its_key(anon, monkeypatch):
    """A token verified once is remembered (its signature is not checked again): it must still
    expire on time, and stop working when the signing key changes."""
    from api import auth
    from geo_grid.access import Principal
    from geo_grid.settings import get_settings

    token, lifetime = auth.issue_token(Principal("t.remembered", "admin"))
    bearer = {"Authorization": f"Bearer {token}"}
    assert anon.get("/api/v1/layers", headers=bearer).status_code == 200
    assert anon.get("/api/v1/layers", headers=bearer).status_code == 200  # from memory
    later = time.time() + lifetime + 1
    with monkeypatch.context() as m:
        m.setattr(auth.time, "time", lambda: later)
        r = anon.get("/api/v1/layers", headers=bearer)
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"], r.text
    with monkeypatch.context() as m:
        m.setenv("GEO_GRID_AUTH_SECRET", "another-key-" + "x" * 40)
        get_settings.cache_clear()
        r = anon.get("/api/v1/layers", headers=bearer)
    get_settings.cache_clear()
    assert r.status_code == 401 and "not a valid" in r.json()["error"]["message"], r.text
    assert anon.get("/api/v1/layers", headers=bearer).status_code == 200  # the key is back


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


def test_an_admin_cannot_disable_itself_or_the_last_active_admin(anon, accounts):
    """Issue 12 item 7: someone must be left who can enable accounts again."""
    from geo_grid.errors import Conflict
    from geo_grid.services import access

    admin = accounts["admin"]
    me = anon.patch(f"/api/v1/users/{admin.username}", headers=admin.headers,
                    json={"active": False})  # fmt: skip
    assert me.status_code == 409 and me.json()["error"]["field"] == "username", me.text
    assert "your own account" in me.json()["error"]["message"]
    assert anon.get("/auth/me", headers=admin.headers).status_code == 200  # still active
    others = [u["username"] for u in access.list_users()
              if u["role"] == "admin" and u["active"] and u["username"] != admin.username]  # fmt: skip
    for name in others:
        access.set_user_active(name, False)
    try:
        with pytest.raises(Conflict, match="last active administrator"):
            access.set_user_active(admin.username, False)  # the console too
    finally:
        for name in others:
            access.set_user_active(name, True)
    assert anon.get("/auth/me", headers=admin.headers).status_code == 200


def test_two_admins_disabling_each_other_at_once_leave_one(anon, accounts):
    """The active admins are locked while one is disabled: of two admins disabling each other at
    the same moment, one succeeds and the other gets 409, never both."""
    import threading

    from locks import wait_for_lock_waiters
    from sqlalchemy import text

    from geo_grid.access import Principal
    from geo_grid.db.session import session_scope
    from geo_grid.errors import Conflict
    from geo_grid.services import access

    a, _ = _new_user(anon, accounts, "admin")
    b, _ = _new_user(anon, accounts, "admin")
    others = [u["username"] for u in access.list_users()
              if u["role"] == "admin" and u["active"] and u["username"] not in (a, b)]  # fmt: skip
    for name in others:
        access.set_user_active(name, False)
    results: dict[str, object] = {}

    def disable(actor: str, target: str) -> None:
        try:
            results[actor] = access.set_user_active(target, False, by=Principal(actor, "admin"))
        except Conflict as exc:
            results[actor] = exc

    try:
        with session_scope() as hold:  # both start while the admins' rows are held ...
            hold.execute(text("SELECT id FROM app_user WHERE username IN (:a, :b) FOR UPDATE"),
                         {"a": a, "b": b})  # fmt: skip
            threads = [threading.Thread(target=disable, args=pair) for pair in ((a, b), (b, a))]
            for t in threads:
                t.start()
            wait_for_lock_waiters(2)
        for t in threads:  # ... and run into each other once they are released
            t.join(30)
        active = {u["username"] for u in access.list_users() if u["active"]}
        assert sorted(type(r).__name__ for r in results.values()) == ["Conflict", "dict"]
        assert len({a, b} & active) == 1
    finally:
        for name in (*others, a, b):
            access.set_user_active(name, True)


def test_a_token_follows_the_accounts_role_and_area_within_the_recheck_time(
    app, anon, accounts, cases, setting
):
    """A role or area changed in the database reaches tokens already issued within
    ``auth_recheck_seconds``, not at their expiry (issue 12 item 10)."""
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    setting("auth_recheck_seconds", 0.5)
    name, password = _new_user(anon, accounts, "dispatcher")
    token = anon.post("/auth/token", data={"username": name, "password": password}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert anon.get("/auth/me", headers=headers).json()["role"] == "dispatcher"
    with session_scope() as s:
        s.execute(text("UPDATE app_user SET role = 'viewer', scope_level = 'street', "
                       "scope_code = '320113003' WHERE username = :u"), {"u": name})  # fmt: skip
    time.sleep(0.6)
    me = anon.get("/auth/me", headers=headers).json()
    assert (me["role"], me["scope"]) == ("viewer", "street:320113003")
    r = anon.post(f"/api/v1/cases/{cases['mine']['id']}/transitions", headers=headers,
                  json={"action": "comment", "version": 1})  # fmt: skip
    assert _refused_by_policy(r), r.text
    other = anon.get(f"/api/v1/cases/{cases['other']['id']}", headers=headers)
    assert other.status_code == 403  # the new area, too


# ------------------------------------------------------------------------------ the login throttle
@pytest.fixture
def setting(monkeypatch):
    """Change a setting for one test (``setting("auth_login_address_budget", 4)``)."""
    from geo_grid.settings import get_settings

    def change(name: str, value) -> None:
        monkeypatch.setenv(f"GEO_GRID_{name.upper()}", str(value))
        get_settings.cache_clear()

    yield change
    monkeypatch.undo()
    get_settings.cache_clear()


def _at(app, address: str) -> TestClient:
    """A client connecting from ``address`` (the throttle counts per client address)."""
    return TestClient(app, client=(address, 40000))


def _address() -> str:
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


def _new_user(anon, accounts, role: str = "viewer") -> tuple[str, str]:
    name, password = f"t.{uuid.uuid4().hex[:10]}", "long-enough-1"
    r = anon.post("/api/v1/users", headers=accounts["admin"].headers,
                  json={"username": name, "password": password, "role": role})  # fmt: skip
    assert r.status_code == 201, r.text
    return name, password


def _pass_time(name: str) -> None:
    """The wait of every pair of ``name`` is over (as if the Retry-After seconds had passed)."""
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    with session_scope() as s:
        s.execute(text("UPDATE login_failure SET blocked_until = now() - interval '1 second' "
                       "WHERE username = :u"), {"u": name})  # fmt: skip


def _answer(r) -> tuple:
    return r.status_code, r.json(), r.headers.get("retry-after")


def test_an_attacker_elsewhere_is_slowed_down_and_the_owner_still_logs_in(
    app, anon, accounts, setting
):
    """Wrong passwords from one address make that address wait longer and longer for that name
    (the first wait, doubled at each further failure), without a password being checked while
    it waits; the owner at their own address is not affected (issue 12 item 9)."""
    from geo_grid.settings import get_settings

    setting("auth_login_first_delay_seconds", 100)  # far longer than a login takes here
    setting("auth_login_max_delay_seconds", 1000)
    free = get_settings().auth_login_free_failures
    name, password = _new_user(anon, accounts)
    attacker, owner = _at(app, _address()), _at(app, _address())
    bad = {"username": name, "password": "guess-guess"}
    for _ in range(free):
        assert attacker.post("/auth/token", data=bad).status_code == 401
    waits = []
    for _ in range(5):
        r = attacker.post("/auth/token", data=bad)
        assert r.status_code == 401  # a guess was checked, and now the pair waits
        blocked = attacker.post("/auth/token", data={"username": name, "password": password})
        assert blocked.status_code == 429, blocked.text  # even the right password: not checked
        assert blocked.json()["error"]["field"] == "username"
        waits.append(int(blocked.headers["retry-after"]))
        ok = owner.post("/auth/token", data={"username": name, "password": password})
        assert ok.status_code == 200, ok.text  # the owner, at their own address, gets in
        _pass_time(name)
    for wait, delay in zip(waits, (100, 200, 400, 800, 1000), strict=True):  # capped at the max
        assert delay - 30 < wait <= delay, waits
    r = attacker.post("/auth/token", data={"username": name, "password": password})
    assert r.status_code == 200  # once the wait is over, the right password works there too


def test_unknown_and_existing_names_answer_alike_in_every_state(app, anon, accounts, setting):
    """Same status, body and wait, step by step, for an account's wrong password, an unknown
    name, and a disabled account given its right password; and about the same time (issue 12
    item 8). A wait counts down with the clock, so two answers a second apart may differ by that
    second: the test compares the level of the wait (1000 s, then 2000 s), not the clock."""
    from geo_grid.settings import get_settings

    setting("auth_login_first_delay_seconds", 1000)
    setting("auth_login_max_delay_seconds", 5000)
    free = get_settings().auth_login_free_failures
    real, _ = _new_user(anon, accounts)
    gone, gone_password = _new_user(anon, accounts)
    anon.patch(f"/api/v1/users/{gone}", headers=accounts["admin"].headers, json={"active": False})
    ghost = f"t.ghost.{uuid.uuid4().hex[:8]}"
    tries = {real: "guess-guess", ghost: "guess-guess", gone: gone_password}
    clients = {n: _at(app, _address()) for n in tries}
    timings: dict[str, list[float]] = {n: [] for n in tries}
    seen = []
    for step in range(free + 4):
        answers = {}
        for n, pw in tries.items():
            t0 = time.perf_counter()
            r = clients[n].post("/auth/token", data={"username": n, "password": pw})
            timings[n].append(time.perf_counter() - t0)
            wait = r.headers.get("retry-after")
            level = None if wait is None else -(-int(wait) // 1000) * 1000  # 1000 s, 2000 s
            message = re.sub(r"\d+", "N", r.json()["error"]["message"])
            answers[n] = (r.status_code, message, r.json()["error"]["field"], level)
        assert answers[real] == answers[ghost] == answers[gone], (step, answers)
        seen.append(answers[real][::3])
        if answers[real][0] == 429:  # the wait passes, for all three alike
            for n in tries:
                _pass_time(n)
    assert seen == [(401, None)] * (free + 1) + [(429, 1000), (401, None), (429, 2000)]
    medians = {n: sorted(t[:free])[free // 2] for n, t in timings.items()}  # passwords checked
    assert max(medians.values()) < 2 * min(medians.values()), medians


def test_one_address_trying_many_names_waits_for_every_name(app, anon, accounts, setting):
    """Credential stuffing: past its budget of failures across names, an address waits for any
    name, even with a right password; other addresses are not affected."""
    setting("auth_login_address_budget", 6)
    name, password = _new_user(anon, accounts)
    stuffer, owner = _at(app, _address()), _at(app, _address())
    for _ in range(6):
        ghost = f"t.ghost.{uuid.uuid4().hex[:8]}"
        r = stuffer.post("/auth/token", data={"username": ghost, "password": "guess-guess"})
        assert r.status_code == 401
    r = stuffer.post("/auth/token", data={"username": name, "password": password})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 3000  # the hour's window
    assert (
        owner.post("/auth/token", data={"username": name, "password": password}).status_code == 200
    )


def test_a_name_guessed_from_many_addresses_still_lets_its_owner_in(app, anon, accounts, setting):
    """Past a name's budget of failures across addresses, only the addresses its owner logged in
    from lately may still try it: a crowd of guessers cannot lock the owner out."""
    setting("auth_login_account_budget", 5)
    name, password = _new_user(anon, accounts)
    good = {"username": name, "password": password}
    owner = _at(app, _address())
    assert owner.post("/auth/token", data=good).status_code == 200  # their usual address
    for _ in range(5):
        guess = _at(app, _address()).post("/auth/token", data={**good, "password": "guess-1"})
        assert guess.status_code == 401
    newcomer = _at(app, _address()).post("/auth/token", data=good)
    assert newcomer.status_code == 429, newcomer.text
    assert owner.post("/auth/token", data=good).status_code == 200


def test_the_login_page_is_throttled_alike(app, anon, accounts, setting):
    from geo_grid.settings import get_settings

    setting("auth_login_first_delay_seconds", 100)
    name, password = _new_user(anon, accounts)
    browser = _at(app, _address())
    for _ in range(get_settings().auth_login_free_failures + 1):
        r = browser.post("/login", data={"username": name, "password": "guess-guess"},
                         follow_redirects=False)  # fmt: skip
        assert r.status_code == 401 and "用户名或密码错误" in r.text
    r = browser.post("/login", data={"username": name, "password": password},
                     follow_redirects=False)  # fmt: skip
    assert r.status_code == 429 and 70 < int(r.headers["retry-after"]) <= 100
    assert "秒后再试" in r.text


def test_the_client_address_is_the_peer_unless_a_trusted_proxy_forwards(setting):
    from starlette.requests import Request

    from api.auth import client_address

    def request(peer: str, forwarded: str | None = None) -> Request:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return Request({"type": "http", "client": (peer, 1), "headers": headers})

    spoof = "198.51.100.1, 203.0.113.9"
    assert client_address(request("192.0.2.7", spoof)) == "192.0.2.7"  # no proxy trusted
    setting("auth_trusted_proxies", "10.0.0.0/8, 192.0.2.1")
    assert client_address(request("192.0.2.7", spoof)) == "192.0.2.7"  # not a trusted peer
    # behind the trusted proxies: the nearest hop they did not add; the client's own prefix is
    # whatever it typed, so it is never believed
    assert client_address(request("10.1.2.3", spoof)) == "203.0.113.9"
    assert client_address(request("10.1.2.3", "198.51.100.1, 203.0.113.9, 192.0.2.1")) == (
        "203.0.113.9"
    )
    assert client_address(request("10.1.2.3")) == "10.1.2.3"


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


def _case_in(anon, accounts, grid: str) -> dict:
    x, y = _grid_point(grid)
    r = anon.post("/api/v1/cases", headers=accounts["dispatcher"].headers,
                  json={"category_code": "E0502", "channel": "hotline", "lon": x, "lat": y,
                        "crs": "cgcs2000", "description": "role test"})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def test_the_case_log_takes_actor_and_role_from_the_credentials(anon, accounts):
    """A grid worker cannot claim another role: the body's ``role`` is refused, and the log
    records the account's own role (issue 12 item 10)."""
    worker = accounts["grid_worker"]
    case = _case_in(anon, accounts, worker.grids[0])
    url = f"/api/v1/cases/{case['id']}/transitions"
    claim = anon.post(url, headers=worker.headers,
                      json={"action": "accept", "version": case["version"], "role": "dispatcher"})  # fmt: skip
    assert claim.status_code == 422 and claim.json()["error"]["field"] == "role", claim.text
    ok = anon.post(url, headers=worker.headers, json={"action": "accept", "version": 1})
    assert ok.status_code == 200, ok.text
    last = anon.get(f"/api/v1/cases/{case['id']}/events", headers=worker.headers).json()["data"][-1]
    assert (last["action"], last["actor"], last["role"]) == (
        "accept", f"user:{worker.username}", "grid_worker")  # fmt: skip
    whistle = anon.post(f"/api/v1/cases/{case['id']}/whistle", headers=accounts["leader"].headers,
                        json={"role": "dispatcher"})  # fmt: skip
    assert whistle.status_code == 422 and whistle.json()["error"]["field"] == "role"


def test_each_case_action_is_allowed_to_its_roles_and_verified_by_another(anon, accounts):
    """The role table over HTTP: 403 naming the rule, nothing stored; four eyes on 核查."""
    worker, dispatcher = accounts["grid_worker"], accounts["dispatcher"]
    case = _case_in(anon, accounts, worker.grids[0])
    url = f"/api/v1/cases/{case['id']}/transitions"

    def act(who, action: str, version: int):
        return anon.post(url, headers=who.headers, json={"action": action, "version": version})

    r = act(dispatcher, "accept", 1)
    assert r.status_code == 403 and r.json()["error"]["field"] == "action", r.text
    assert "may not accept" in r.json()["error"]["message"] and "grid_worker" in r.text
    assert act(worker, "accept", 1).status_code == 200
    assert act(worker, "handle", 2).status_code == 200
    for action in ("close", "reassign", "reject"):
        r = act(worker, action, 3)
        assert r.status_code == 403 and f"may not {action}" in r.json()["error"]["message"]
    own = act(worker, "verify", 3)
    assert own.status_code == 403 and "four eyes" in own.json()["error"]["message"], own.text
    events = anon.get(f"/api/v1/cases/{case['id']}/events", headers=dispatcher.headers).json()
    assert [e["action"] for e in events["data"]][-1] == "handle"  # the refusals left no trace
    verified = act(dispatcher, "verify", 3)
    assert verified.status_code == 200 and verified.json()["status"] == "verified"
    assert act(worker, "close", 4).status_code == 403
    closed = act(dispatcher, "close", 4)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


def test_open311_intake_is_logged_as_the_key(anon, accounts):
    """The log names an Open311 client as the API does: ``key:NAME``, role open311_client."""
    from geo_grid.services import cases

    client = accounts["open311_client"]
    x, y = _grid_point(accounts["grid_worker"].grids[0])
    r = anon.post("/open311/v2/requests.json", headers=client.headers,
                  data={"service_code": "E0101", "lat": str(y), "long": str(x),
                        "description": "open311 log test"})  # fmt: skip
    assert r.status_code == 200, r.text
    first = cases.history(r.json()[0]["service_request_id"])[0]
    assert (first["action"], first["actor"], first["role"]) == (
        "receive", f"key:{client.username}", "open311_client")  # fmt: skip


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


# ------------------------------------------------------------------------------ Open311 reads
def _case_areas(numbers) -> dict[str, tuple[str | None, str | None]]:
    """number → (street_code, grid_code) of stored cases."""
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    with session_scope() as s:
        rows = s.execute(
            text('SELECT number, street_code, grid_code FROM "case" WHERE number = ANY(:n)'),
            {"n": list(numbers)},
        )
        return {str(n): (st, g) for n, st, g in rows}


def _open311_ids(response) -> list[str]:
    if response.headers["content-type"].startswith("text/xml"):
        root = ET.fromstring(response.content)
        return [e.text for e in root.findall("request/service_request_id")]
    return [x["service_request_id"] for x in response.json()]


def test_open311_reads_are_confined_to_the_callers_area(anon, accounts, cases):
    """A street leader and a grid worker read through Open311 only what /api/v1/cases shows
    them; a case elsewhere answers 403 naming it (JSON and XML); a planner may not list cases."""
    mine, other = cases["mine"], cases["other"]
    both = {"service_request_id": f"{mine['number']},{other['number']}"}
    in_area = {
        "leader": lambda street, grid: street == "320113003",
        "grid_worker": lambda street, grid: grid in accounts["grid_worker"].grids,
    }
    # the widest period GEO_GRID_MAX_PERIOD_DAYS allows, ending now
    since = (datetime.now(UTC) - timedelta(days=365)).isoformat()
    for role, inside in in_area.items():
        headers = accounts[role].headers
        for fmt in ("json", "xml"):
            listed = anon.get(f"/open311/v2/requests.{fmt}", headers=headers,
                              params={"start_date": since})  # fmt: skip
            assert listed.status_code == 200, listed.text
            ids = _open311_ids(listed)
            assert ids, (role, fmt)
            assert all(inside(*area) for area in _case_areas(ids).values()), (role, fmt)
            picked = _open311_ids(anon.get(f"/open311/v2/requests.{fmt}", headers=headers,
                                           params=both))  # fmt: skip
            assert other["number"] not in picked, (role, fmt)
            one = anon.get(f"/open311/v2/requests/{other['number']}.{fmt}", headers=headers)
            assert one.status_code == 403, (role, fmt, one.text)
            if fmt == "json":
                (err,) = one.json()
                assert err["code"] == 403 and err["description"].startswith(
                    f"case: {other['number']} lies outside")  # fmt: skip
            else:
                assert ET.fromstring(one.content).find("error/code").text == "403"
    worker = accounts["grid_worker"].headers
    own = anon.get(f"/open311/v2/requests/{mine['number']}.json", headers=worker)
    assert own.status_code == 200 and own.json()[0]["service_request_id"] == mine["number"]
    planner = accounts["planner"].headers
    for url in ("/open311/v2/requests.json", f"/open311/v2/requests/{mine['number']}.json"):
        r = anon.get(url, headers=planner)
        assert _refused_by_policy(r), (url, r.status_code, r.text)


# ------------------------------------------------------------------------------ free text
RAW_ADDRESS = "尧佳路12号 座机025-84561234"
RAW_DESCRIPTION = "楼道堆物，电话139 8765 4321，身份证320102199001011234"


@pytest.fixture(scope="module")
def noted(anon, accounts):
    """A hotline case in the grid worker's grid whose address and description carry a
    landline, a mobile and an ID number (no reporter: only the free text is personal)."""
    x, y = _grid_point(accounts["grid_worker"].grids[0])
    r = anon.post("/api/v1/cases", headers=accounts["dispatcher"].headers, json={
        "category_code": "E0502", "channel": "hotline", "lon": x, "lat": y, "crs": "cgcs2000",
        "address_text": RAW_ADDRESS, "description": RAW_DESCRIPTION})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def test_numbers_in_free_text_are_masked_for_who_may_not_see_the_reporter(anon, accounts, noted):
    masked_description = "楼道堆物，电话139 **** 4321，身份证3201**********1234"
    masked_address = "尧佳路12号 座机025-****1234"
    before = len(_reads(noted["id"]))
    viewer = accounts["viewer"].headers
    got = anon.get(f"/api/v1/cases/{noted['id']}", headers=viewer).json()
    assert (got["description"], got["address_text"]) == (masked_description, masked_address)
    assert got["events"][0]["note"] == masked_description  # the receive event keeps the text
    events = anon.get(f"/api/v1/cases/{noted['id']}/events", headers=viewer).json()["data"]
    assert events[0]["note"] == masked_description
    listed = anon.get("/api/v1/cases", headers=viewer,
                      params={"channel": "hotline", "limit": 1000}).json()["data"]  # fmt: skip
    (row,) = [c for c in listed if c["id"] == noted["id"]]
    assert (row["description"], row["address_text"]) == (masked_description, masked_address)
    # Open311 answers carry no personal data, whoever asks
    for role in ("open311_client", "admin"):
        for fmt in ("json", "xml"):
            r = anon.get(f"/open311/v2/requests/{noted['number']}.{fmt}",
                         headers=accounts[role].headers)  # fmt: skip
            assert r.status_code == 200 and "****" in r.text, (role, fmt)
            assert not any(s in r.text for s in ("8765 4321", "84561234", "1990010112")), r.text
    page = anon.get("/map/cases", headers=accounts["dispatcher"].headers).text
    assert noted["number"] in page and "84561234" not in page
    assert len(_reads(noted["id"])) == before  # masked reads are not personal-data reads


def test_who_may_see_the_reporter_reads_the_numbers_and_the_read_is_logged(anon, accounts, noted):
    worker = accounts["grid_worker"]
    got = anon.get(f"/api/v1/cases/{noted['id']}", headers=worker.headers).json()
    assert (got["description"], got["address_text"]) == (RAW_DESCRIPTION, RAW_ADDRESS)
    assert got["events"][0]["note"] == RAW_DESCRIPTION
    (read, *_) = _reads(noted["id"])
    assert read["principal"] == f"user:{worker.username}"
    assert read["fields"] == ["address_text", "description", "note"]
    dispatcher = accounts["dispatcher"]
    events = anon.get(f"/api/v1/cases/{noted['id']}/events", headers=dispatcher.headers).json()
    assert events["data"][0]["note"] == RAW_DESCRIPTION
    (read, *_) = _reads(noted["id"])
    assert (read["principal"], read["fields"]) == (f"user:{dispatcher.username}", ["note"])
    assert read["purpose"] == f"GET case {noted['number']} events"


def test_the_manual_queue_is_scoped_and_its_unmasked_reads_are_logged(anon, accounts):
    admin, dispatcher = accounts["admin"].headers, accounts["dispatcher"].headers
    r = anon.post("/api/v1/cases", headers=dispatcher, json={
        "category_code": "E0101", "channel": "hotline",
        "address_text": "火星大道99号 电话13811112222"})  # fmt: skip
    case = r.json()
    assert case["status"] == "manual" and case["address_text"] == "火星大道99号 电话138****2222"
    every = {"limit": 1000}
    queue = anon.get("/api/v1/cases/manual", headers=dispatcher, params=every).json()["data"]
    (row,) = [c for c in queue if c["id"] == case["id"]]
    assert row["address_text"] == "火星大道99号 电话13811112222" and "reporter_phone" not in row
    (read, *_) = _reads(case["id"])
    assert (read["fields"], read["purpose"]) == (["address_text"], "GET manual queue")
    # a dispatcher of one street sees only the unplaced cases the geocoder put in their street
    made = anon.post("/api/v1/users", headers=admin, json={
        "username": "t.street.dispatcher", "password": "long-enough-1", "role": "dispatcher",
        "scope": "street:320113003"})  # fmt: skip
    assert made.status_code in (201, 409), made.text
    token = anon.post("/auth/token", data={"username": "t.street.dispatcher",
                                           "password": "long-enough-1"}).json()["access_token"]  # fmt: skip
    street = {"Authorization": f"Bearer {token}"}
    mine = anon.get("/api/v1/cases/manual", headers=street, params=every).json()["data"]
    assert case["id"] not in {c["id"] for c in mine}
    assert {st for st, _ in _case_areas(c["number"] for c in mine).values()} <= {"320113003"}
