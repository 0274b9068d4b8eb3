"""SQL of accounts, API keys and the personal-data read log (the only SQL for access control)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = [
    "get_key",
    "first_on_roster",
    "get_user",
    "insert_key",
    "insert_personal_read",
    "insert_user",
    "list_keys",
    "list_personal_reads",
    "list_users",
    "record_login",
    "person_exists",
    "roster_grids",
    "set_key_active",
    "set_user_active",
    "touch_key",
]

_USER_COLUMNS = "id, username, role, scope_level, scope_code, person_id, active, created_at"
_KEY_COLUMNS = "id, name, prefix, role, scope_level, scope_code, active, created_at, last_used_at"


def insert_user(session: Session, row: dict[str, Any]) -> dict[str, Any]:
    return dict(
        session.execute(
            text(
                "INSERT INTO app_user (username, password_hash, role, scope_level, scope_code, "
                "person_id) VALUES (:username, :password_hash, :role, :scope_level, :scope_code, "
                ":person_id) RETURNING " + _USER_COLUMNS
            ),
            row,
        )
        .mappings()
        .one()
    )


def get_user(session: Session, username: str) -> dict[str, Any] | None:
    """One account with its password hash (for login), or None."""
    row = (
        session.execute(
            text(
                "SELECT password_hash, locked_until > now() AS locked, "
                + _USER_COLUMNS
                + " FROM app_user WHERE username = :u"
            ),
            {"u": username},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def record_login(session: Session, user_id: int, ok: bool, *, limit: int, lock_minutes: int):
    """Count a wrong password (locking the account at ``limit``) or clear the count on success."""
    if ok:
        session.execute(
            text("UPDATE app_user SET failed_logins = 0, locked_until = NULL WHERE id = :i"),
            {"i": user_id},
        )
        return
    session.execute(
        text(
            "UPDATE app_user SET failed_logins = CASE WHEN failed_logins + 1 >= :n THEN 0 "
            "ELSE failed_logins + 1 END, locked_until = CASE WHEN failed_logins + 1 >= :n "
            "THEN now() + make_interval(mins => :m) ELSE locked_until END WHERE id = :i"
        ),
        {"i": user_id, "n": limit, "m": lock_minutes},
    )


def list_users(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(text("SELECT " + _USER_COLUMNS + " FROM app_user ORDER BY username"))
    return [dict(r) for r in rows.mappings()]


def set_user_active(session: Session, username: str, active: bool) -> dict[str, Any] | None:
    row = (
        session.execute(
            text("UPDATE app_user SET active = :a WHERE username = :u RETURNING " + _USER_COLUMNS),
            {"a": active, "u": username},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def person_exists(session: Session, person_id: str) -> bool:
    return bool(
        session.execute(text("SELECT 1 FROM person WHERE id = :p"), {"p": person_id}).first()
    )


def first_on_roster(session: Session, role: str, layer: str = "unified") -> str:
    """The roster person holding ``role`` in the lowest grid code of ``layer`` (the demo's
    grid-worker account is tied to them)."""
    return session.execute(
        text(
            "SELECT person_id FROM roster WHERE layer_key = :l AND role = :r AND active "
            "ORDER BY grid_code, person_id LIMIT 1"
        ),
        {"l": layer, "r": role},
    ).scalar_one()


def roster_grids(session: Session, person_id: str, layer: str = "unified") -> list[str]:
    """The grid codes a person is actively on the roster for in ``layer``."""
    rows = session.execute(
        text(
            "SELECT DISTINCT grid_code FROM roster WHERE person_id = :p AND layer_key = :l "
            "AND active ORDER BY grid_code"
        ),
        {"p": person_id, "l": layer},
    )
    return [r[0] for r in rows]


def insert_key(session: Session, row: dict[str, Any]) -> dict[str, Any]:
    return dict(
        session.execute(
            text(
                "INSERT INTO api_key (name, key_hash, prefix, role, scope_level, scope_code) "
                "VALUES (:name, :key_hash, :prefix, :role, :scope_level, :scope_code) "
                "RETURNING " + _KEY_COLUMNS
            ),
            row,
        )
        .mappings()
        .one()
    )


def get_key(session: Session, key_hash: str) -> dict[str, Any] | None:
    row = (
        session.execute(
            text("SELECT " + _KEY_COLUMNS + " FROM api_key WHERE key_hash = :h"), {"h": key_hash}
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def touch_key(session: Session, key_id: int) -> None:
    """Record the key's use (at most once a minute, so a busy client does not write per request)."""
    session.execute(
        text(
            "UPDATE api_key SET last_used_at = now() WHERE id = :i AND "
            "(last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"
        ),
        {"i": key_id},
    )


def list_keys(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(text("SELECT " + _KEY_COLUMNS + " FROM api_key ORDER BY name"))
    return [dict(r) for r in rows.mappings()]


def set_key_active(session: Session, name: str, active: bool) -> dict[str, Any] | None:
    row = (
        session.execute(
            text("UPDATE api_key SET active = :a WHERE name = :n RETURNING " + _KEY_COLUMNS),
            {"a": active, "n": name},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def insert_personal_read(
    session: Session,
    *,
    principal: str,
    role: str,
    case_ids: Sequence[int],
    fields: Sequence[str],
    purpose: str,
) -> None:
    session.execute(
        text(
            "INSERT INTO personal_data_read (principal, role, case_ids, fields, purpose) "
            "VALUES (:p, :r, :c, :f, :u)"
        ),
        {"p": principal, "r": role, "c": list(case_ids), "f": list(fields), "u": purpose},
    )


def list_personal_reads(
    session: Session, *, case_id: int | None = None, principal: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            "SELECT id, at, principal, role, case_ids, fields, purpose FROM personal_data_read "
            "WHERE (CAST(:c AS bigint) IS NULL OR case_ids @> ARRAY[CAST(:c AS bigint)]) "
            "AND (CAST(:p AS text) IS NULL OR principal = :p) ORDER BY id DESC LIMIT :l"
        ),
        {"c": case_id, "p": principal, "l": limit},
    )
    return [dict(r) for r in rows.mappings()]
