"""Periods on the command line are read and checked as the API reads them (geo_grid/periods.py).

``geo-grid cases indicators``, ``cases tick`` and ``map cases|indicators`` refuse an instant
PostgreSQL cannot hold, an end before the start and a period longer than
``GEO_GRID_MAX_PERIOD_DAYS`` with exit 2 and one line naming the option, before any query runs.
"""

from __future__ import annotations

import pytest

from geo_grid.cli import main

OFFSET = "2026-06-01T00:00:00+16:00"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["cases", "indicators", "--from", OFFSET, "--to", "2026-07-01"], "--from: UTC offset +16:00"),
        (["cases", "indicators", "--to", "2026-07-01T00:00:00-23:00"], "--to: UTC offset -23:00"),
        (["cases", "indicators", "--from", "-2", "--to", "2026-07-01"], "--from: not an ISO 8601"),
        (["cases", "indicators", "--from", "2020-01-01", "--to", "2026-01-01"],
         "more than the 366 allowed (setting GEO_GRID_MAX_PERIOD_DAYS)"),
        (["cases", "indicators", "--from", "2026-07-01", "--to", "2026-06-01"], "must be before"),
        (["cases", "tick", "--now", OFFSET], "--now: UTC offset +16:00"),
        (["cases", "tick", "--now", "2026-06-01T08:00:00"], "--now: include a UTC offset"),
        (["map", "cases", "--from", OFFSET], "--from: UTC offset +16:00"),
        (["map", "indicators", "--from", "2000-01-01", "--to", "2026-01-01"],
         "--from: the period 2000-01-01 … 2026-01-01 spans"),
        (["map", "cases", "--from", "2026-07-01", "--to", "2026-06-01"],
         "--from: must be before --to"),
    ],
)  # fmt: skip
def test_bad_periods_exit_2_with_one_line(capsys, monkeypatch, tmp_path, args, says):
    from geo_grid.settings import get_settings

    # no database: the check must come first (a query reached would exit 3, not 2)
    monkeypatch.setenv("GEO_GRID_DATABASE_URL", "postgresql+psycopg2://nobody@127.0.0.1:9/none")
    get_settings.cache_clear()
    if args[0] == "map":
        args = [*args, "--out", str(tmp_path / "m.html")]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and says in err, err
    assert not (tmp_path / "m.html").exists()
    monkeypatch.undo()
    get_settings.cache_clear()
