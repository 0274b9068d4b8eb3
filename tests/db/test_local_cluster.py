"""`geo-grid db start|status|url|dump|restore|stop` on a private cluster of its own."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from geo_grid.cli import main

#: The settings PostgreSQL names for a cluster whose data can be rebuilt rather than recovered.
DURABILITY = ("fsync", "synchronous_commit", "full_page_writes")


@pytest.fixture
def private_home(monkeypatch):
    """A home outside pytest's basetemp: a concurrent pytest session resets the mode of
    /tmp/pytest-of-USER to 0700, and the cluster's ``postgres`` user then loses its way in."""
    from geo_grid.db import session as db_session
    from geo_grid.settings import get_settings

    root = Path(tempfile.mkdtemp(prefix="geo-grid-cluster-test-"))
    monkeypatch.delenv("GEO_GRID_DATABASE_URL", raising=False)
    monkeypatch.setenv("GEO_GRID_HOME", str(root / "home"))
    get_settings.cache_clear()
    db_session._engine_for.cache_clear()
    yield root / "home"
    main(["db", "stop"])
    get_settings.cache_clear()
    db_session._engine_for.cache_clear()
    shutil.rmtree(root, ignore_errors=True)


def test_start_status_dump_restore_stop(private_home, tmp_path, capsys):
    assert main(["db", "status"]) == 1  # not running yet
    assert main(["db", "start"]) == 0
    assert (private_home / "pg" / "data" / "PG_VERSION").exists()
    capsys.readouterr()
    assert main(["db", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["mode"] == "local" and status["running"] is True
    assert main(["db", "url"]) == 0
    url = capsys.readouterr().out.strip()
    assert str(private_home / "pg") in url

    engine = create_engine(url)
    with engine.begin() as c:
        assert c.execute(text("SELECT count(*) FROM layer")).scalar() == 5
        # a user's store is durable (the test sessions' throwaway clusters are not)
        assert [c.execute(text(f"SHOW {name}")).scalar() for name in DURABILITY] == ["on"] * 3
        c.execute(text("INSERT INTO meta (key, value) VALUES ('probe', 'before dump')"))
    dump = tmp_path / "store.dump"
    assert main(["db", "dump", str(dump)]) == 0 and dump.stat().st_size > 0
    with engine.begin() as c:
        c.execute(text("UPDATE meta SET value = 'after dump' WHERE key = 'probe'"))
    assert main(["db", "restore", str(dump)]) == 2  # the store is not empty: refused
    assert main(["db", "restore", "--force", str(dump)]) == 0
    with engine.begin() as c:
        assert (
            c.execute(text("SELECT value FROM meta WHERE key = 'probe'")).scalar() == "before dump"
        )
    engine.dispose()

    assert main(["db", "start"]) == 0  # second start: already running, migrations are a no-op
    assert main(["db", "restore", str(tmp_path / "missing.dump")]) == 2
    assert main(["db", "stop"]) == 0
    assert main(["db", "status"]) == 1


def test_unreachable_database_exits_3(monkeypatch, capsys):
    from geo_grid.db import session as db_session
    from geo_grid.settings import get_settings

    monkeypatch.setenv("GEO_GRID_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    db_session._engine_for.cache_clear()
    try:
        code = main(["layers"])
    finally:
        get_settings.cache_clear()
        db_session._engine_for.cache_clear()
    assert code == 3
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_the_test_sessions_cluster_does_not_wait_for_the_disk(database_url):
    """The session's cluster is rebuilt each run, never recovered: commits skip the flush (a
    test database built and changed by 1,400 tests spent much of its time waiting for fsync)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as c:
            assert [c.execute(text(f"SHOW {name}")).scalar() for name in DURABILITY] == ["off"] * 3
    finally:
        engine.dispose()
