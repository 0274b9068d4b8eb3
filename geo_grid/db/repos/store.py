"""SQL of the store as a whole: the ``meta`` key/value facts (e.g. which demo seed is loaded).

Like every repository, functions take ``session`` and never commit.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["get_meta", "set_meta"]


def get_meta(session: Session, key: str) -> str | None:
    return session.execute(text("SELECT value FROM meta WHERE key = :k"), {"k": key}).scalar()


def set_meta(session: Session, key: str, value: str) -> None:
    session.execute(
        text(
            "INSERT INTO meta (key, value) VALUES (:k, :v) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()"
        ),
        {"k": key, "v": value},
    )
