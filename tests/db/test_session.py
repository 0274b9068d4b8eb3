"""The engine every caller gets (``geo_grid.db.session``): what its connections are set to."""

from __future__ import annotations

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


def test_rows_become_a_frame_without_pandas_probing_each_row(
    database_url: str, monkeypatch
) -> None:
    """pandas probes each SQLAlchemy ``Row`` it is handed for a dataclass's or a named tuple's
    attributes, and each probe is a raised and caught error: a frame of the demo's 100,000
    addresses took 1.5 s of CPU, ten times its rows' own cost, in every geocoder build (measured
    once: 1.06 s of CPU against 0.40 s for the same frame of tuples; a figure, not a test). The
    repositories' one way of making a frame of rows hands pandas plain tuples: the same frame."""
    import pandas as pd

    from geo_grid.db.repos import _sql
    from geo_grid.db.session import get_engine

    handed: list[set[type]] = []

    class Spy:
        """pandas as the repositories see it, noting what each frame is made of."""

        def __getattr__(self, name: str):
            return getattr(pd, name)

        @staticmethod
        def DataFrame(data, *args, **kwargs):  # noqa: N802 (pandas' name)
            handed.append({type(row) for row in data})
            return pd.DataFrame(data, *args, **kwargs)

    sql = text(
        "SELECT i AS id, 'addr ' || i AS full_text, i % 7 AS street, i * 0.5 AS lon, "
        "i * 0.25 AS lat, now() AS at, NULL::text AS room, md5(i::text) AS code "
        "FROM generate_series(1, 1000) AS i"
    )
    with get_engine(database_url).connect() as conn:
        result = conn.execute(sql)
        reference = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        monkeypatch.setattr(_sql, "pd", Spy())
        frame = _sql.result_frame(conn.execute(sql))
    pd.testing.assert_frame_equal(frame, reference)
    assert handed == [{tuple}], handed
