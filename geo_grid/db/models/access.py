"""Models of accounts, API keys and the personal-data read log.

Mirrors migrations ``0006_access`` and ``0008_login_throttle``. Passwords and keys are never
stored: an account keeps an Argon2 hash, an API key its SHA-256 (keys are long random strings, so a fast hash is enough and lets the
lookup be an index probe). ``personal_data_read`` is append-only (a trigger refuses UPDATE and
DELETE): it answers "who read this reporter's phone, when, through which endpoint".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from geo_grid.db.models.store import Base, now_default

__all__ = ["ApiKey", "AppUser", "LoginBudget", "LoginFailure", "PersonalDataRead"]

_ROLE_CHECK = (
    "role in ('admin', 'planner', 'dispatcher', 'grid_worker', 'leader', 'viewer', "
    "'open311_client')"
)
_SCOPE_CHECK = "scope_level in ('all', 'province', 'city', 'district', 'street', 'community')"
#: a scope's code is the division code of its level (a city account: ``city:4201``)
_SCOPE_CODES = (
    "(scope_level = 'all' AND scope_code = '') OR "
    "(scope_level = 'province' AND scope_code ~ '^[0-9]{2}$') OR "
    "(scope_level = 'city' AND scope_code ~ '^[0-9]{4}$') OR "
    "(scope_level = 'district' AND scope_code ~ '^[0-9]{6}$') OR "
    "(scope_level = 'street' AND scope_code ~ '^[0-9]{9}$') OR "
    "(scope_level = 'community' AND scope_code ~ '^[0-9]{12}$')"
)


class AppUser(Base):
    """A person's account: a role and the area it is confined to."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(32))
    scope_level: Mapped[str] = mapped_column(String(16), server_default=text("'district'"))
    scope_code: Mapped[str] = mapped_column(String(12))
    #: grid workers: the roster person whose grids they see
    person_id: Mapped[str | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime | None] = now_default()
    __table_args__ = (
        CheckConstraint(_ROLE_CHECK, name="app_user_role_values"),
        CheckConstraint(_SCOPE_CHECK, name="app_user_scope_values"),
        CheckConstraint(_SCOPE_CODES, name="app_user_scope_codes"),
        CheckConstraint(
            "role <> 'grid_worker' OR person_id IS NOT NULL", name="app_user_grid_worker_person"
        ),
    )


class LoginFailure(Base):
    """Wrong passwords for one username from one client address (whether or not the name has an
    account): a growing wait for that pair only, and the address the owner logs in from."""

    __tablename__ = "login_failure"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: failures in a row (starts over after a success or a quiet ``auth_login_reset_minutes``)
    failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_failure_at: Mapped[datetime | None]
    #: no password is checked for this pair before then
    blocked_until: Mapped[datetime | None]
    #: the last good login from this address: an owner's usual address
    last_success_at: Mapped[datetime | None]
    __table_args__ = (Index("ix_login_failure_last_failure_at", "last_failure_at"),)


class LoginBudget(Base):
    """Failures in the current window of one client address (across names: credential stuffing)
    or of one username (across addresses: a spread-out guesser)."""

    __tablename__ = "login_budget"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime]
    failures: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        CheckConstraint("kind in ('address', 'account')", name="login_budget_kind_values"),
        Index("ix_login_budget_window_start", "window_start"),
    )


class ApiKey(Base):
    """A system's credential (an Open311 client, a 12345 hotline bridge)."""

    __tablename__ = "api_key"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    role: Mapped[str] = mapped_column(String(32))
    scope_level: Mapped[str] = mapped_column(String(16), server_default=text("'district'"))
    scope_code: Mapped[str] = mapped_column(String(12))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime | None] = now_default()
    last_used_at: Mapped[datetime | None]
    __table_args__ = (
        CheckConstraint(_ROLE_CHECK, name="api_key_role_values"),
        CheckConstraint(_SCOPE_CHECK, name="api_key_scope_values"),
        CheckConstraint(_SCOPE_CODES, name="api_key_scope_codes"),
    )


class PersonalDataRead(Base):
    """One read of reporters' names/phones: who, which cases, which fields, through what."""

    __tablename__ = "personal_data_read"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = now_default()
    principal: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(32))
    case_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    fields: Mapped[list[str]] = mapped_column(ARRAY(Text))
    purpose: Mapped[str] = mapped_column(Text)
    __table_args__ = (
        Index("ix_personal_data_read_at", "at"),
        Index("ix_personal_data_read_case_ids", "case_ids", postgresql_using="gin"),
    )
