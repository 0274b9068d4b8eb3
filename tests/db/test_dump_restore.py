"""``geo-grid db dump`` / ``db restore`` round-trip the demo store into a new, empty database.

The CLI runs as a subprocess (as an operator would run it), pointed at each database by
``GEO_GRID_DATABASE_URL``. Equality is checked table by table: row counts and an md5 of every
row's text (geometries in their hex EWKB text form) in a fixed order, every sequence's position,
and the Alembic revision. Restoring over a database that holds tables is refused (exit 2, one
line) unless ``--force`` says to replace it.

Measured on the demo (2 busy cores): dump 7 s, restore 15 s, a fingerprint 4 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql
from sqlalchemy import make_url

CLI = Path(sys.executable).with_name("geo-grid")


def _libpq(url: str) -> str:
    """psycopg2's form of a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GEO_GRID_DATABASE_URL": url}
    return subprocess.run(
        [str(CLI), "db", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def empty_db(demo_db: str) -> Iterator[str]:
    """A new, empty database on the test cluster (dropped afterwards)."""
    name = f"restore_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(_libpq(make_url(demo_db).set(database="postgres").render_as_string(
        hide_password=False)))  # fmt: skip
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(demo_db).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))  # fmt: skip
        admin.close()


def _fingerprint(url: str) -> dict[str, tuple]:
    """Per table of the public schema: (rows, md5 of the rows' text in order); per sequence:
    (last_value, is_called)."""
    out: dict[str, tuple] = {}
    with psycopg2.connect(_libpq(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S') ORDER BY 1"
        )
        for name, kind in cur.fetchall():
            ident = sql.Identifier(name)
            if kind == "S":
                cur.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(ident))
                out[f"sequence {name}"] = cur.fetchone()
                continue
            cur.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                    " FROM {} t"
                ).format(ident)
            )
            out[f"table {name}"] = cur.fetchone()
    conn.close()
    return out


def test_dump_restore_round_trips_the_demo(demo_db: str, empty_db: str, tmp_path: Path) -> None:
    dump = tmp_path / "demo.dump"
    done = _cli(demo_db, "dump", str(dump))
    assert done.returncode == 0, done.stderr
    assert dump.stat().st_size > 0

    done = _cli(empty_db, "restore", str(dump))
    assert done.returncode == 0, done.stderr

    source, copy = _fingerprint(demo_db), _fingerprint(empty_db)
    assert "table alembic_version" in source and "table grid" in source
    assert source["table grid"][0] > 1000  # the demo is in it, not an empty schema
    assert any(k.startswith("sequence ") for k in source)
    assert sorted(copy) == sorted(source)
    differ = {k: (source[k], copy[k]) for k in source if source[k] != copy[k]}
    assert not differ, differ

    # a database with tables in it is not overwritten by accident: one line, exit 2, untouched
    # (``--force`` replacing a store is exercised on a small one in test_local_cluster.py)
    refused = _cli(empty_db, "restore", str(dump))
    assert refused.returncode == 2, (refused.returncode, refused.stderr)
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "--force" in refused.stderr and "not empty" in refused.stderr
    assert _fingerprint(empty_db) == source
