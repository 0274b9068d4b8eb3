"""`geo-grid cases show` reads a case's history in Chinese: actions, roles and Beijing time."""

from __future__ import annotations

import re

import pytest

from geo_grid.cli import main


@pytest.fixture(scope="module")
def routed(demo_db, demo):
    """A case the router assessed and dispatched itself (its history names the role ``system``)."""
    from geo_grid.services import cases, index

    index.invalidate()
    point = demo.grids["unified"].iloc[7].geometry.representative_point()
    case = cases.intake(
        {"category_code": "E0502", "channel": "hotline", "lon": point.x, "lat": point.y,
         "crs": "cgcs2000", "description": "占道经营（命令行测试）"},
        actor="t.cli", role="dispatcher",
    )  # fmt: skip
    assert case["status"] == "dispatched", case
    return case


def test_show_names_every_step_and_role_in_chinese(routed, capsys):
    assert main(["cases", "show", routed["number"]]) == 0
    out = capsys.readouterr().out
    steps = [line for line in out.splitlines() if line.startswith("  2")]  # "  2026-… 受理 …"
    assert len(steps) >= 3, out
    assert "受理" in out and "研判" in out and "派遣" in out
    assert "(调度员)" in out and "(系统自动)" in out, out
    assert "(system)" not in out and "(dispatcher)" not in out
    assert all(re.search(r"\(北京时间\)", line) for line in steps), steps
