"""Credentials for the tests: real accounts in the test database and their Bearer headers.

:func:`make_accounts` creates one account per role (a grid worker tied to a real roster person, a
leader scoped to one street) and one Open311 API key, through the same service an administrator
uses, then logs each in through :func:`geo_grid.services.access.authenticate`. :func:`token_headers`
mints a token for a principal without an account, for servers on databases with no accounts (the
fault tests' private clusters): the signing secret comes from ``GEO_GRID_AUTH_SECRET``, which
``tests/conftest.py`` sets for the session so server subprocesses share it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

__all__ = ["Account", "login_client", "make_accounts", "session_cookies", "token_headers"]

DISTRICT = "320113"
LEADER_STREET = "320113003"


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    role: str
    headers: dict[str, str]
    grids: tuple[str, ...] = ()
    scope: str = f"district:{DISTRICT}"


def token_headers(
    role: str = "admin", *, scope: tuple[str, str] = ("district", DISTRICT), name: str = "tester"
) -> dict[str, str]:
    """``Authorization`` header of a freshly minted token (no account needed)."""
    from api.auth import issue_token
    from geo_grid.access import Principal

    token, _ = issue_token(Principal(name, role, scope[0], scope[1]))
    return {"Authorization": f"Bearer {token}"}


def _grid_worker_person() -> str:
    """A person on the unified roster as 网格员 of exactly one grid, chosen deterministically."""
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    with session_scope() as s:
        return s.execute(
            text(
                "SELECT person_id FROM roster WHERE layer_key = 'unified' AND role = 'grid_worker' "
                "AND active GROUP BY person_id HAVING count(DISTINCT grid_code) = 1 "
                "ORDER BY person_id LIMIT 1"
            )
        ).scalar_one()


def make_accounts() -> dict[str, Account]:
    """One account per person role plus ``open311_client`` (an API key); idempotent."""
    from api.auth import issue_token
    from geo_grid.errors import Conflict
    from geo_grid.services import access

    # the demo district's accounts: Qixia answers them as it did alone, whoever else is loaded
    district = {"scope": f"district:{DISTRICT}"}
    specs = {
        "admin": district,
        "planner": district,
        "dispatcher": district,
        "grid_worker": {**district, "person_id": _grid_worker_person()},
        "leader": {"scope": f"street:{LEADER_STREET}"},
        "viewer": district,
    }
    out: dict[str, Account] = {}
    for role, extra in specs.items():
        username, password = f"t.{role}", f"pw-{role}-correct-horse"
        with contextlib.suppress(Conflict):
            access.create_user(username, password, role, **extra)
        principal = access.authenticate(username, password)
        token, _ = issue_token(principal)
        out[role] = Account(
            username, password, role, {"Authorization": f"Bearer {token}"}, principal.grids,
            f"{principal.scope_level}:{principal.scope_code}",
        )  # fmt: skip
    name = "t.open311"
    for row in access.list_api_keys():
        if row["name"] == name:
            access.set_api_key_active(name, False)
            name = f"t.open311.{len(access.list_api_keys())}"
    key, _ = access.create_api_key(name, "open311_client", scope=f"district:{DISTRICT}")
    out["open311_client"] = Account(name, key, "open311_client", {"X-API-Key": key})
    return out


def login_client(server: str, account: Account):
    """An ``httpx.Client`` logged in through the login form, as a person's browser is (cookie)."""
    import httpx

    client = httpx.Client(base_url=server, timeout=60)
    r = client.post("/login", data={"username": account.username, "password": account.password,
                                    "next": "/map"})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/map", r.text[:300]
    assert "geo_grid_session" in client.cookies
    return client


def session_cookies(server: str, account: Account) -> list[dict]:
    """Playwright cookies of a fresh logged-in session of ``account``."""
    client = login_client(server, account)
    value = client.cookies["geo_grid_session"]
    client.close()
    return [{"name": "geo_grid_session", "value": value, "url": server}]
