"""The engine every caller gets (``geo_grid.db.session``): what its connections are set to."""

from __future__ import annotations

import time

from sqlalchemy import text


def test_the_applications_connections_do_not_jit_compile(database_url: str) -> None:
    """PostgreSQL compiled a query whose estimated cost passed ``jit_above_cost``; the layer list
    over tables never analyzed (a fresh store's) was estimated that high, and its compilation
    took 1.6 s of CPU for 10 ms of work, on every map page (schemathesis: pages over 10 s).
    Every connection of the engine, pooled or held, runs with JIT off."""
    from geo_grid.db.session import get_engine, held_session, session_scope

    with session_scope(get_engine(database_url)) as session:
        assert session.execute(text("SHOW jit")).scalar() == "off"
    with held_session() as session:
        assert session.execute(text("SHOW jit")).scalar() == "off"


def test_a_url_with_its_own_server_options_keeps_them(database_url: str) -> None:
    """An operator's ``options`` in the URL wins over the default (as ``connect_timeout`` does)."""
    from geo_grid.db.session import get_engine

    separator = "&" if "?" in database_url else "?"
    url = f"{database_url}{separator}options=-c%20jit%3Don%20-c%20work_mem%3D8MB"
    engine = get_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW work_mem")).scalar() == "8MB"
            assert conn.execute(text("SHOW jit")).scalar() == "on"
    finally:
        engine.dispose()


def test_rows_become_a_frame_without_pandas_probing_each_row(database_url: str) -> None:
    """pandas probes each SQLAlchemy ``Row`` it is handed for a dataclass's or a named tuple's
    attributes, and each probe is a raised and caught error: a frame of the demo's 100,000
    addresses took 1.5 s of CPU, ten times its rows' own cost, in every geocoder build. The
    repositories' one way of making a frame of rows gives the same frame at a fraction of it."""
    import pandas as pd

    from geo_grid.db.repos._sql import result_frame
    from geo_grid.db.session import get_engine

    sql = text(
        "SELECT i AS id, 'addr ' || i AS full_text, i % 7 AS street, i * 0.5 AS lon, "
        "i * 0.25 AS lat, now() AS at, NULL::text AS room, md5(i::text) AS code "
        "FROM generate_series(1, 100000) AS i"
    )
    with get_engine(database_url).connect() as conn:
        spent = {}
        for name, make in (
            ("rows", lambda r: pd.DataFrame(r.fetchall(), columns=list(r.keys()))),
            ("result_frame", result_frame),
        ):
            result = conn.execute(sql)
            started = time.process_time()
            frames = make(result)
            spent[name] = (time.process_time() - started, frames)
    pd.testing.assert_frame_equal(spent["rows"][1], spent["result_frame"][1])
    assert spent["result_frame"][0] < spent["rows"][0] / 3, spent
