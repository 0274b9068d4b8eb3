"""Access use cases: accounts, API keys, who is calling, and the personal-data read log.

The API and the CLI both come here; the rules themselves (roles, scopes, masking) are in
:mod:`geo_grid.access`. An API key is shown once, at creation, and only its SHA-256 is kept; key
lookups are cached for :data:`KEY_CACHE_SECONDS` so an Open311 client posting hundreds of reports a
minute costs one query a minute, and a revoked key stops working within that time; likewise a
disabled account's tokens stop within :data:`ACTIVE_CACHE_SECONDS`.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError

from geo_grid import access
from geo_grid.access import Principal
from geo_grid.db import access_repo
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput, Conflict, NotFound, Unauthorized
from geo_grid.settings import get_settings

__all__ = [
    "ACTIVE_CACHE_SECONDS",
    "KEY_CACHE_SECONDS",
    "account_disabled",
    "account_disabled_cached",
    "authenticate",
    "create_api_key",
    "create_user",
    "list_api_keys",
    "list_users",
    "personal_reads",
    "principal_for_key",
    "principal_for_user",
    "record_personal_read",
    "set_api_key_active",
    "set_user_active",
]

KEY_CACHE_SECONDS = 60.0
ACTIVE_CACHE_SECONDS = 30.0
_active_cache: dict[str, tuple[float, bool]] = {}
_KEY_PREFIX = "ggk_"
_key_cache: dict[str, tuple[float, Principal | None]] = {}
_key_lock = threading.Lock()
#: A valid Argon2 hash of a random string: login of an unknown user spends the same time as a
#: wrong password, so response times do not tell which usernames exist.
_DUMMY_HASH = access.hash_password(secrets.token_hex(16))


def _scope(scope: str | None) -> tuple[str, str]:
    if not scope:
        return "district", get_settings().district_code
    return access.parse_scope(scope)


def _username(name: str, field: str) -> str:
    name = (name or "").strip()
    ok = 2 <= len(name) <= 64 and all(c.isalnum() or c in "._-@" for c in name)
    if not ok:
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
        if person_id and not access_repo.person_exists(session, person_id):
            raise BadInput(f"person_id: no person {person_id!r} on the roster", field="person_id")
        try:
            with session.begin_nested():
                return access_repo.insert_user(session, row)
        except IntegrityError:
            raise Conflict(f"username: {username!r} exists", field="username") from None


def list_users() -> list[dict[str, Any]]:
    with session_scope() as session:
        return access_repo.list_users(session)


def set_user_active(username: str, active: bool) -> dict[str, Any]:
    """Disable (or re-enable) an account: logins at once, its tokens within
    :data:`ACTIVE_CACHE_SECONDS` in every API process (at once in this one)."""
    with session_scope() as session:
        row = access_repo.set_user_active(session, username, active)
    if row is None:
        raise NotFound(f"username: no account {username!r}", field="username")
    _forget_active(username)
    return row


def _principal(row: dict[str, Any], grids: Iterable[str], kind: str) -> Principal:
    return Principal(
        name=row.get("username") or row["name"], role=row["role"], scope_level=row["scope_level"],
        scope_code=row["scope_code"], grids=tuple(grids), kind=kind,  # type: ignore[arg-type]
    )  # fmt: skip


def authenticate(username: str, password: str) -> Principal:
    """The account's principal; :class:`Unauthorized` (one message for every failure) otherwise.

    ``auth_max_failed_logins`` wrong passwords in a row lock the account for
    ``auth_lock_minutes``: guessing is slowed to a handful of tries a quarter hour per account.
    """
    settings = get_settings()
    locked = False
    with session_scope() as session:
        row = access_repo.get_user(session, username or "")
        stored = row["password_hash"] if row else _DUMMY_HASH
        ok = access.verify_password(stored, password or "")
        if row is not None:
            locked = bool(row["locked"])
            if not locked:  # the count is committed even though the login then fails
                access_repo.record_login(
                    session, row["id"], ok, limit=settings.auth_max_failed_logins,
                    lock_minutes=settings.auth_lock_minutes,
                )  # fmt: skip
        grids = (
            access_repo.roster_grids(session, row["person_id"])
            if row and ok and row["person_id"]
            else []
        )
    if locked:
        raise Unauthorized(
            f"账号已锁定 (account locked for up to {settings.auth_lock_minutes} minutes after "
            f"{settings.auth_max_failed_logins} wrong passwords)"
        )
    if not (row and ok and row["active"]):
        raise Unauthorized(
            "用户名或密码错误，或账号已停用 (username or password wrong, or account disabled)"
        )
    _forget_active(row["username"])
    return _principal(row, grids, "user")


def account_disabled(username: str) -> bool:
    """Whether ``username`` names an account that was disabled (cached
    :data:`ACTIVE_CACHE_SECONDS`): a token outlives nothing but that minute. Names without an
    account (tokens an operator signed with the key) are not this check's business."""
    cached = account_disabled_cached(username)
    if cached is not None:
        return cached
    now = time.monotonic()
    with session_scope() as session:
        row = access_repo.get_user(session, username)
    disabled = bool(row) and not row["active"]
    with _key_lock:
        if len(_active_cache) > 10_000:
            _active_cache.clear()
        _active_cache[username] = (now, disabled)
    return disabled


def account_disabled_cached(username: str) -> bool | None:
    """:func:`account_disabled` from the cache only (None: not known or stale): no I/O, so the
    API asks it on the event loop and goes to a thread only on a miss."""
    with _key_lock:
        hit = _active_cache.get(username)
    if hit and time.monotonic() - hit[0] < ACTIVE_CACHE_SECONDS:
        return hit[1]
    return None


def _forget_active(username: str) -> None:
    with _key_lock:
        _active_cache.pop(username, None)


def principal_for_user(username: str) -> Principal | None:
    """The current principal of an account (None when gone or disabled): re-read at token refresh."""
    with session_scope() as session:
        row = access_repo.get_user(session, username)
        if not row or not row["active"]:
            return None
        grids = access_repo.roster_grids(session, row["person_id"]) if row["person_id"] else []
    return _principal(row, grids, "user")


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(name: str, role: str = "open311_client", *, scope: str | None = None):
    """Make a key for a system; returns ``(key, row)``: the key is shown only this once."""
    name = _username(name, "name")
    access.check_role(role)
    if role == "grid_worker":
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
                stored = access_repo.insert_key(session, row)
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
        row = access_repo.get_key(session, digest)
        if row and row["active"]:
            access_repo.touch_key(session, row["id"])
    principal = _principal(row, (), "api_key") if row and row["active"] else None
    with _key_lock:
        if len(_key_cache) > 10_000:
            _key_cache.clear()
        _key_cache[digest] = (now, principal)
    return principal


def list_api_keys() -> list[dict[str, Any]]:
    with session_scope() as session:
        return access_repo.list_keys(session)


def set_api_key_active(name: str, active: bool) -> dict[str, Any]:
    """Revoke (or restore) a key; this process forgets it at once, others within the cache time."""
    with session_scope() as session:
        row = access_repo.set_key_active(session, name, active)
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
        access_repo.insert_personal_read(
            session, principal=principal.label, role=principal.role, case_ids=ids,
            fields=sorted(set(fields)), purpose=purpose,
        )  # fmt: skip


def personal_reads(
    *, case_id: int | None = None, principal: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    with session_scope() as session:
        return access_repo.list_personal_reads(
            session, case_id=case_id, principal=principal, limit=limit
        )
