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
    "lock_active_admins",
    "login_failed",
    "login_state",
    "login_succeeded",
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
            text("SELECT password_hash, " + _USER_COLUMNS + " FROM app_user WHERE username = :u"),
            {"u": username},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def login_state(
    session: Session, username: str, address: str, *, reset_s: float, window_s: float,
    usual_s: float,
) -> dict[str, Any]:  # fmt: skip
    """The throttle's counters for ``username`` from ``address`` (the pair's row is made if new and
    locked until the transaction ends, so concurrent tries of one pair queue up and each sees the
    last one's count): keys as :class:`geo_grid.access.LoginState`."""
    params = {"u": username, "a": address, "r": reset_s, "w": window_s, "k": usual_s}
    pair = (
        session.execute(  # an upsert, so the row is locked even if it existed (no FOR UPDATE gap)
            text(
                "INSERT INTO login_failure (username, address) VALUES (:u, :a) "
                "ON CONFLICT (username, address) DO UPDATE SET failures = login_failure.failures "
                "RETURNING CASE WHEN last_failure_at < now() - make_interval(secs => :r) THEN 0 "
                "ELSE failures END AS pair_failures, "
                "greatest(0, extract(epoch FROM blocked_until - now()))::float AS pair_wait_s, "
                "coalesce(last_success_at > now() - make_interval(secs => :k), false) AS usual"
            ),
            params,
        )
        .mappings()
        .one()
    )
    state = dict(pair)
    budgets = session.execute(
        text(
            "SELECT kind, failures, extract(epoch FROM window_start "
            "+ make_interval(secs => :w) - now())::float AS wait_s FROM login_budget "
            "WHERE window_start > now() - make_interval(secs => :w) "
            "AND ((kind = 'address' AND key = :a) OR (kind = 'account' AND key = :u))"
        ),
        params,
    )
    for kind, failures, wait_s in budgets:
        state[f"{kind}_failures"], state[f"{kind}_wait_s"] = int(failures), float(wait_s)
    return state


def login_failed(
    session: Session, username: str, address: str, *, delay_s: float, reset_s: float,
    window_s: float, usual_s: float,
) -> None:  # fmt: skip
    """Count a wrong password for the pair (its next try waits ``delay_s``) and in both budgets;
    forget pairs and windows nobody needs any more."""
    params = {"u": username, "a": address, "d": delay_s, "r": reset_s, "w": window_s,
              "k": usual_s}  # fmt: skip
    session.execute(
        text(
            "UPDATE login_failure SET failures = CASE WHEN last_failure_at < now() "
            "- make_interval(secs => :r) THEN 1 ELSE failures + 1 END, last_failure_at = now(), "
            "blocked_until = now() + make_interval(secs => :d) "
            "WHERE username = :u AND address = :a"
        ),
        params,
    )
    session.execute(
        text(
            "INSERT INTO login_budget (kind, key, window_start, failures) "
            "VALUES ('address', :a, now(), 1), ('account', :u, now(), 1) "
            "ON CONFLICT (kind, key) DO UPDATE SET "
            "failures = CASE WHEN login_budget.window_start <= now() - make_interval(secs => :w) "
            "THEN 1 ELSE login_budget.failures + 1 END, "
            "window_start = CASE WHEN login_budget.window_start <= now() "
            "- make_interval(secs => :w) THEN now() ELSE login_budget.window_start END"
        ),
        params,
    )
    # rows another login holds are skipped (SKIP LOCKED): waiting on them could deadlock
    session.execute(
        text(
            "DELETE FROM login_failure WHERE (username, address) IN (SELECT username, address "
            "FROM login_failure WHERE last_failure_at < now() - make_interval(secs => :r) "
            "AND coalesce(blocked_until, '-infinity') < now() "
            "AND coalesce(last_success_at, '-infinity') < now() - make_interval(secs => :k) "
            "FOR UPDATE SKIP LOCKED)"
        ),
        params,
    )
    session.execute(
        text(
            "DELETE FROM login_budget WHERE (kind, key) IN (SELECT kind, key FROM login_budget "
            "WHERE window_start < now() - make_interval(secs => :w) FOR UPDATE SKIP LOCKED)"
        ),
        params,
    )


def login_succeeded(session: Session, username: str, address: str) -> None:
    """A good login: the pair starts over, and the address becomes one the owner uses."""
    session.execute(
        text(
            "UPDATE login_failure SET failures = 0, blocked_until = NULL, "
            "last_success_at = now() WHERE username = :u AND address = :a"
        ),
        {"u": username, "a": address},
    )


def list_users(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(text("SELECT " + _USER_COLUMNS + " FROM app_user ORDER BY username"))
    return [dict(r) for r in rows.mappings()]


def lock_active_admins(session: Session) -> list[str]:
    """The usernames of the active administrators, their rows locked until the transaction ends:
    two admins disabling each other at once queue up here, and the second sees the first's
    change, so the last active admin cannot be disabled by a race."""
    rows = session.execute(
        text("SELECT username FROM app_user WHERE role = 'admin' AND active ORDER BY id FOR UPDATE")
    )
    return [r[0] for r in rows]


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
