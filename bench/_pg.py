"""The PostGIS the city-scale benches start for their baselines, and loading tables into it.

The baselines need the city's grids and 1.2 million addresses in PostgreSQL, which the store (one
district) does not hold; so each bench starts a private cluster of its own under
``.geo-grid/bench-pg`` (the project's :class:`geo_grid.db.cluster.LocalCluster`, Unix socket,
``fsync`` on as configured) and loads its tables there with ``COPY``. A table is reloaded only when
what it was built from changed: ``bench_meta`` keeps a fingerprint per table (building a trigram
index over 1.2 million rows takes minutes on this machine).

Nothing here touches the store's database.
"""

from __future__ import annotations

import hashlib
import io
import sys
import time
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

__all__ = ["bench_postgis", "copy_rows", "frame_fingerprint", "table_current", "mark_current"]

ROOT = REPO / ".geo-grid" / "bench-pg"

_META = "CREATE TABLE IF NOT EXISTS bench_meta (name text PRIMARY KEY, fingerprint text NOT NULL)"


@contextmanager
def bench_postgis(keep: bool = False):
    """``(connection, libpq url)`` of the benches' own cluster, started here, with PostGIS and
    pg_trgm; stopped on exit unless ``keep`` (or unless it was already running)."""
    import psycopg2

    from geo_grid.db.cluster import LocalCluster

    cluster = LocalCluster(ROOT)
    was_running = cluster.initialized() and cluster.running()
    url = cluster.start().replace("postgresql+psycopg2://", "postgresql://", 1)
    conn = psycopg2.connect(url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cur.execute(_META)
        yield conn, url
    finally:
        conn.close()
        if not keep and not was_running:
            cluster.stop()


def frame_fingerprint(*parts) -> str:
    """A hash of frames/arrays/strings (what a bench table is built from)."""
    digest = hashlib.sha1()
    for part in parts:
        if isinstance(part, pd.DataFrame):
            plain = part.drop(columns=[c for c in part.columns if c == "geometry"])
            digest.update(pd.util.hash_pandas_object(plain, index=False).to_numpy().tobytes())
            if "geometry" in part.columns:
                digest.update(b"".join(shapely.to_wkb(np.asarray(part.geometry.array))))
        else:
            digest.update(repr(part).encode())
    return digest.hexdigest()[:16]


def table_current(conn, name: str, fingerprint: str) -> bool:
    """True when table ``name`` was last built from what ``fingerprint`` names."""
    with conn.cursor() as cur:
        cur.execute("SELECT fingerprint FROM bench_meta WHERE name = %s", (name,))
        row = cur.fetchone()
    return row is not None and row[0] == fingerprint


def mark_current(conn, name: str, fingerprint: str) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO bench_meta VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET fingerprint = EXCLUDED.fingerprint",
            (name, fingerprint),
        )


def copy_rows(conn, copy_sql: str, rows: Iterable[tuple], chunk: int = 200_000) -> float:
    """Stream rows (tab-separated text format) through ``COPY … FROM STDIN``; seconds taken.

    Values must not hold tabs, newlines or backslashes (the benches' texts and WKB hex do not).
    """
    start = time.perf_counter()
    buf, n = io.StringIO(), 0
    with conn.cursor() as cur:
        for row in rows:
            buf.write("\t".join("\\N" if v is None else str(v) for v in row))
            buf.write("\n")
            n += 1
            if n % chunk == 0:
                buf.seek(0)
                cur.copy_expert(copy_sql, buf)
                buf = io.StringIO()
        if buf.tell():
            buf.seek(0)
            cur.copy_expert(copy_sql, buf)
    return time.perf_counter() - start
