"""SQL of bulk loads: secondary indexes set aside while a city is copied in, rebuilt after, and
fresh planner statistics.

PostgreSQL maintains every index of a table row by row during a COPY; for the address library's
trigram GIN index and the spatial GiST indexes that is most of the load (a district's 137,000
addresses took 30 s to COPY with them). Built once over the loaded table they cost a fraction.

:func:`set_aside` drops a table's plain secondary indexes (never a primary key, a unique index
or one that backs a constraint: those keep guarding the rows being loaded) and records their
definitions, as PostgreSQL prints them, in ``meta`` under ``deferred_indexes:<table>``, in the
caller's transaction. :func:`rebuild` creates them again from there and removes the record, in
the caller's transaction. A load killed in between leaves the record, so the next load (or
``geo-grid db start``) rebuilds what is missing: the definitions are never only in a process's
memory.

Like every repository, functions take ``session`` and never commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from psycopg2 import sql as psql
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo_grid.db.repos._sql import composed

__all__ = ["analyze", "deferred_tables", "rebuild", "set_aside"]

#: ``meta`` keys of the recorded definitions: this prefix and the table's name.
DEFERRED_KEY = "deferred_indexes:"


def _secondary_indexes(session: Session, table: str) -> list[tuple[str, str]]:
    """``(name, definition)`` of ``table``'s indexes that only speed up reads."""
    rows = session.execute(
        text(
            """SELECT c.relname, pg_get_indexdef(x.indexrelid)
               FROM pg_index x
               JOIN pg_class c ON c.oid = x.indexrelid
               JOIN pg_class t ON t.oid = x.indrelid
               JOIN pg_namespace n ON n.oid = t.relnamespace
               WHERE n.nspname = current_schema() AND t.relname = :t
                 AND NOT x.indisunique AND NOT x.indisprimary AND NOT x.indisexclusion
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
               ORDER BY c.relname"""
        ),
        {"t": table},
    ).all()
    return [(str(name), str(definition)) for name, definition in rows]


def _recorded(session: Session, table: str) -> dict[str, str]:
    value = session.execute(
        text("SELECT value FROM meta WHERE key = :k"), {"k": DEFERRED_KEY + table}
    ).scalar()
    return dict(json.loads(value)) if value else {}


def set_aside(session: Session, tables: Iterable[str]) -> dict[str, int]:
    """Drop the secondary indexes of ``tables``, their definitions recorded first (added to any
    recorded by an earlier load that did not finish); ``{table: indexes dropped}``."""
    dropped: dict[str, int] = {}
    for table in tables:
        found = _secondary_indexes(session, table)
        recorded = {**_recorded(session, table), **dict(found)}
        if not recorded:
            continue
        session.execute(
            text(
                "INSERT INTO meta (key, value) VALUES (:k, :v) ON CONFLICT (key) "
                "DO UPDATE SET value = excluded.value, updated_at = now()"
            ),
            {"k": DEFERRED_KEY + table, "v": json.dumps(sorted(recorded.items()))},
        )
        for name, _ in found:
            session.execute(
                composed(session, psql.SQL("DROP INDEX {}").format(psql.Identifier(name)))
            )
        dropped[table] = len(found)
    return dropped


def deferred_tables(session: Session) -> list[str]:
    """Tables whose indexes are set aside (recorded and not yet rebuilt)."""
    rows = session.execute(
        text("SELECT key FROM meta WHERE starts_with(key, :p) ORDER BY key"), {"p": DEFERRED_KEY}
    ).scalars()
    return [key.removeprefix(DEFERRED_KEY) for key in rows]


def rebuild(session: Session, table: str) -> list[str]:
    """Create the recorded indexes of ``table`` that do not exist, then forget the record; the
    names created."""
    created = []
    for name, definition in sorted(_recorded(session, table).items()):
        exists = session.execute(
            text("SELECT to_regclass(quote_ident(:n)) IS NOT NULL"), {"n": name}
        ).scalar()
        if not exists:
            session.execute(text(definition))
            created.append(name)
    session.execute(text("DELETE FROM meta WHERE key = :k"), {"k": DEFERRED_KEY + table})
    return created


def analyze(session: Session, tables: Iterable[str]) -> None:
    """Fresh planner statistics for ``tables`` (after a bulk load the planner still thinks them
    empty or small)."""
    for table in tables:
        session.execute(composed(session, psql.SQL("ANALYZE {}").format(psql.Identifier(table))))
