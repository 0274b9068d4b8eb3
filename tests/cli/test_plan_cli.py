"""`geo-grid plan …` end to end on the demo: create, split, validate, diff, refusals exit 2."""

from __future__ import annotations

import json

from shapely.geometry import LineString, mapping

from geo_grid.cli import main


def _run(capsys, *args) -> tuple[int, dict | None]:
    code = main(list(args))
    out = capsys.readouterr().out.strip()
    return code, (json.loads(out) if out.startswith("{") else None)


def test_plan_create_split_validate_diff(demo_db, demo, capsys, tmp_path):
    code, plan = _run(
        capsys, "plan", "create", "--layer", "unified", "--note", "cli test", "--json"
    )
    assert code == 0
    pid = str(plan["id"])
    grid = demo.grids["unified"].iloc[10]
    minx, miny, maxx, maxy = grid.geometry.bounds
    cy = grid.geometry.centroid.y
    line = json.dumps(mapping(LineString([(minx - 0.01, cy), (maxx + 0.01, cy)])))
    code, result = _run(
        capsys, "plan", "split", pid, "--grid", grid["code"], "--line", line, "--json"
    )
    assert code == 0, result
    assert len(result["added"]) >= 1
    assert main(["plan", "validate", pid]) == 0
    capsys.readouterr()
    out = tmp_path / "diff.gpkg"
    assert main(["plan", "diff", pid, "--out", str(out)]) == 0
    assert out.exists()


def test_plan_refusals_exit_2(demo_db, capsys):
    code, plan = _run(capsys, "plan", "create", "--layer", "unified", "--json")
    pid = str(plan["id"])
    capsys.readouterr()
    bad_line = json.dumps({"type": "LineString", "coordinates": [[0, 0], [1, 1]]})
    assert main(["plan", "split", pid, "--grid", "320113001001001", "--line", bad_line]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert main(["plan", "split", pid, "--grid", "320113001001001", "--line", "{not json"]) == 2
    assert main(["plan", "split", "999999", "--grid", "x", "--line", bad_line]) == 2
