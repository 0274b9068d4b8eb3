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
