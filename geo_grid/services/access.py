"""Access use cases: accounts, API keys, who is calling, and the personal-data read log.

The API and the CLI both come here; the rules themselves (roles, scopes, masking, the login
throttle) are in :mod:`geo_grid.access`. An API key is shown once, at creation, and only its
SHA-256 is kept; key lookups are cached for :data:`KEY_CACHE_SECONDS` so an Open311 client posting
hundreds of reports a minute costs one query a minute, and a revoked key stops working within that
time. Likewise what a token's account is now (active? role, area, roster grids) is re-read at most
every ``auth_recheck_seconds``: a token names an account, the account says what it may do.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import threading
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError

from geo_grid import access
from geo_grid.access import Principal
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput, Conflict, NotFound, TooManyAttempts, Unauthorized
from geo_grid.settings import get_settings

__all__ = [
    "KEY_CACHE_SECONDS",
    "STALE",
    "account_principal",
    "account_principal_cached",
    "authenticate",
    "create_api_key",
    "create_user",
    "list_api_keys",
    "list_users",
    "personal_reads",
    "principal_for_key",
    "record_personal_read",
    "set_api_key_active",
    "set_user_active",
]

KEY_CACHE_SECONDS = 60.0
#: :func:`account_principal_cached`'s answer when it does not know (not cached, or too old)
STALE = object()
_DISABLED = object()
_account_cache: dict[str, tuple[float, object]] = {}
_KEY_PREFIX = "ggk_"
_key_cache: dict[str, tuple[float, Principal | None]] = {}
_key_lock = threading.Lock()
#: A valid Argon2 hash of a random string, made by the same hasher as every account's: login of an
#: unknown user spends the same time as a wrong password, so response times do not tell which
#: usernames exist.
_DUMMY_HASH = access.hash_password(secrets.token_hex(16))


def _scope(scope: str | None) -> tuple[str, str]:
    """``level:code``; none given: the whole store (every district it serves)."""
    if not scope:
        return "all", ""
    return access.parse_scope(scope)


def _username(name: str, field: str) -> str:
    name = (name or "").strip()
    if not re.fullmatch(access.NAME_PATTERN, name):
        raise BadInput(f"{field}: 2–64 letters, digits or . _ - @, got {name!r}", field=field)
    return name


def create_user(
    username: str,
    password: str,
    role: str,
    *,
    scope: str | None = None,
    person_id: str | None = None,
) -> dict[str, Any]:
    """Create an account; a grid worker names the roster person whose grids they work."""
    username = _username(username, "username")
    access.check_role(role)
    level, code = _scope(scope)
    if role == "grid_worker" and not person_id:
        raise BadInput(
            "person_id: a grid worker's account names their roster person", field="person_id"
        )
    row = {
        "username": username, "password_hash": access.hash_password(password), "role": role,
        "scope_level": level, "scope_code": code, "person_id": person_id,
    }  # fmt: skip
    with session_scope() as session:
        if person_id and not repos.access.person_exists(session, person_id):
            raise BadInput(f"person_id: no person {person_id!r} on the roster", field="person_id")
        try:
            with session.begin_nested():
                return repos.access.insert_user(session, row)
        except IntegrityError:
            raise Conflict(f"username: {username!r} exists", field="username") from None


def list_users() -> list[dict[str, Any]]:
    with session_scope() as session:
        return repos.access.list_users(session)


def set_user_active(username: str, active: bool, *, by: Principal | None = None) -> dict[str, Any]:
    """Disable (or re-enable) an account: logins at once, its tokens within
    ``auth_recheck_seconds`` in every API process (at once in this one).

    ``by`` (the API's caller; None: the console) may not disable itself, and nobody may disable
    the last active administrator (409 both): someone must be left who can enable accounts again
    through the API. The active admins are locked while deciding, so two admins disabling each
    other at once cannot leave none.
    """
    with session_scope() as session:
        if not active:
            _may_disable(session, username, by)
        row = repos.access.set_user_active(session, username, active)
    if row is None:
        raise NotFound(f"username: no account {username!r}", field="username")
    _forget_account(username)
    return row


def _may_disable(session, username: str, by: Principal | None) -> None:
    if by is not None and by.kind == "user" and by.name == username:
        raise Conflict(
            f"username: {username!r} is your own account: another administrator disables it",
            field="username",
        )
    admins = repos.access.lock_active_admins(session)
    if admins == [username]:
        raise Conflict(
            f"username: {username!r} is the last active administrator: enable or create "
            "another admin first",
            field="username",
        )


def _principal(row: dict[str, Any], grids: Iterable[str], kind: str) -> Principal:
    return Principal(
        name=row.get("username") or row["name"], role=row["role"], scope_level=row["scope_level"],
        scope_code=row["scope_code"], grids=tuple(grids), kind=kind,  # type: ignore[arg-type]
    )  # fmt: skip


def _login_policy() -> access.LoginPolicy:
    st = get_settings()
    return access.LoginPolicy(
        free_failures=st.auth_login_free_failures, first_delay_s=st.auth_login_first_delay_seconds,
        max_delay_s=st.auth_login_max_delay_seconds, address_budget=st.auth_login_address_budget,
        account_budget=st.auth_login_account_budget,
    )  # fmt: skip


def _login_windows() -> dict[str, float]:
    st = get_settings()
    return {
        "reset_s": st.auth_login_reset_minutes * 60, "window_s": st.auth_login_window_minutes * 60,
        "usual_s": st.auth_login_usual_days * 86400,
    }  # fmt: skip


def authenticate(username: str, password: str, *, address: str = "local") -> Principal:
    """The account's principal; :class:`Unauthorized` (one message for every failure) otherwise.

    Throttled, not locked (:func:`geo_grid.access.login_wait`): wrong passwords are counted per
    (username, client ``address``) with a growing wait, and per address and per username over a
    window. A name is counted whether or not it has an account and a disabled account's right
    password counts as wrong, so an unknown name, a wrong password and a disabled account answer
    alike in every state (the same 401, or the same 429 with the same wait) after the same work.
    """
    name, address = (username or "")[:64], (address or "unknown")[:64]
    policy, windows = _login_policy(), _login_windows()
    with session_scope() as session:
        state = access.LoginState(**repos.access.login_state(session, name, address, **windows))
        wait = access.login_wait(state, policy)
        if wait > 0:  # no password is checked: the transaction ends without writing
            raise TooManyAttempts(
                f"登录失败次数过多，请 {math.ceil(wait)} 秒后再试 (too many failed logins: try "
                f"again in {math.ceil(wait)} s)",
                retry_after=math.ceil(wait), field="username",
            )  # fmt: skip
        row = repos.access.get_user(session, name)
        ok = access.verify_password(row["password_hash"] if row else _DUMMY_HASH, password or "")
        good = bool(row and ok and row["active"] and name == username)
        if good:
            repos.access.login_succeeded(session, name, address)
            grids = repos.access.roster_grids(session, row["person_id"]) if row["person_id"] else []
        else:  # committed, though the login then fails
            delay = access.failure_delay(state.pair_failures + 1, policy)
            repos.access.login_failed(session, name, address, delay_s=delay, **windows)
    if not good:
        raise Unauthorized(
            "用户名或密码错误，或账号已停用 (username or password wrong, or account disabled)"
        )
    _forget_account(row["username"])
    return _principal(row, grids, "user")


def account_principal(username: str) -> Principal | None:
    """What the account ``username`` may do now, re-read at most every ``auth_recheck_seconds``:
    its principal (role, area, roster grids as they are now); :class:`Unauthorized` if it was
    disabled; None if no account has that name (tokens an operator signs with the key for a
    bench keep their own claims)."""
    cached = account_principal_cached(username)
    if cached is not STALE:
        return cached  # type: ignore[return-value]
    now = time.monotonic()
    with session_scope() as session:
        row = repos.access.get_user(session, username)
        grids = (
            repos.access.roster_grids(session, row["person_id"])
            if row and row["active"] and row["person_id"]
            else []
        )
    value: object = None
    if row is not None:
        value = _principal(row, grids, "user") if row["active"] else _DISABLED
    with _key_lock:
        if len(_account_cache) > 10_000:
            _account_cache.clear()
        _account_cache[username] = (now, value)
    return _answer(value)


def account_principal_cached(username: str) -> Principal | None | object:
    """:func:`account_principal` from the cache only (:data:`STALE`: not known or too old): no
    I/O, so the API asks it on the event loop and goes to a thread only on a miss."""
    with _key_lock:
        hit = _account_cache.get(username)
    if hit is None or time.monotonic() - hit[0] >= get_settings().auth_recheck_seconds:
        return STALE
    return _answer(hit[1])


def _answer(value: object) -> Principal | None:
    if value is _DISABLED:
        raise Unauthorized("token: the account is disabled")
    return value  # type: ignore[return-value]


def _forget_account(username: str) -> None:
    with _key_lock:
        _account_cache.pop(username, None)


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(name: str, role: str = "open311_client", *, scope: str | None = None):
    """Make a key for a system; returns ``(key, row)``: the key is shown only this once."""
    name = _username(name, "name")
    access.check_role(role)
    if role not in access.KEY_ROLES:
        raise BadInput("role: a grid worker is a person: give them an account", field="role")
    level, code = _scope(scope)
    key = _KEY_PREFIX + secrets.token_urlsafe(32)
    row = {
        "name": name, "key_hash": _hash_key(key), "prefix": key[:10], "role": role,
        "scope_level": level, "scope_code": code,
    }  # fmt: skip
    with session_scope() as session:
        try:
            with session.begin_nested():
                stored = repos.access.insert_key(session, row)
        except IntegrityError:
            raise Conflict(f"name: an API key named {name!r} exists", field="name") from None
    return key, stored


def principal_for_key(key: str) -> Principal | None:
    """The principal of an active key, or None (cached :data:`KEY_CACHE_SECONDS`)."""
    if not key or len(key) > 200:
        return None
    digest = _hash_key(key)
    now = time.monotonic()
    with _key_lock:
        hit = _key_cache.get(digest)
    if hit and now - hit[0] < KEY_CACHE_SECONDS:
        return hit[1]
    with session_scope() as session:
        row = repos.access.get_key(session, digest)
        if row and row["active"]:
            repos.access.touch_key(session, row["id"])
    principal = _principal(row, (), "api_key") if row and row["active"] else None
    with _key_lock:
        if len(_key_cache) > 10_000:
            _key_cache.clear()
        _key_cache[digest] = (now, principal)
    return principal


def list_api_keys() -> list[dict[str, Any]]:
    with session_scope() as session:
        return repos.access.list_keys(session)


def set_api_key_active(name: str, active: bool) -> dict[str, Any]:
    """Revoke (or restore) a key; this process forgets it at once, others within the cache time."""
    with session_scope() as session:
        row = repos.access.set_key_active(session, name, active)
    if row is None:
        raise NotFound(f"name: no API key {name!r}", field="name")
    with _key_lock:
        _key_cache.clear()
    return row


def record_personal_read(
    session, principal: Principal, case_ids: Iterable[int], fields: Iterable[str], purpose: str
) -> None:
    """Log, in the caller's transaction, that ``principal`` read reporters' personal data."""
    ids = sorted({int(i) for i in case_ids})
    if ids:
        repos.access.insert_personal_read(
            session, principal=principal.label, role=principal.role, case_ids=ids,
            fields=sorted(set(fields)), purpose=purpose,
        )  # fmt: skip


def personal_reads(
    *, case_id: int | None = None, principal: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    with session_scope() as session:
        return repos.access.list_personal_reads(
            session, case_id=case_id, principal=principal, limit=limit
        )
