"""`geo-grid plan …` end to end on the demo: create, split, validate, diff, refusals exit 2."""

from __future__ import annotations

import json

from conftest import QIXIA
from shapely.geometry import LineString, mapping

from geo_grid.cli import main


def _run(capsys, *args) -> tuple[int, dict | None]:
    code = main(list(args))
    out = capsys.readouterr().out.strip()
    return code, (json.loads(out) if out.startswith("{") else None)


def test_plan_create_split_validate_diff(demo_db, demo, capsys, tmp_path):
    code, plan = _run(
        capsys,
        "plan",
        "create",
        "--layer",
        "unified",
        "--note",
        "cli test",
        "--json",
        "--district",
        QIXIA,
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
    code, plan = _run(capsys, "plan", "create", "--layer", "unified", "--json", "--district", QIXIA)
    pid = str(plan["id"])
    capsys.readouterr()
    bad_line = json.dumps({"type": "LineString", "coordinates": [[0, 0], [1, 1]]})
    assert main(["plan", "split", pid, "--grid", "320113001001001", "--line", bad_line]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert main(["plan", "split", pid, "--grid", "320113001001001", "--line", "{not json"]) == 2
    assert main(["plan", "split", "999999", "--grid", "x", "--line", bad_line]) == 2


def test_edit_commands_are_built_from_edit_ops():
    """One command per offered edit, its parameters exactly the op's in EDIT_OPS (PLAN first,
    --json last): a parameter added to an edit cannot be forgotten by the command line."""
    import typer.main

    from geo_grid.cli import app
    from geo_grid.cli.plans import _EDIT_COMMANDS, _EDIT_PARAMS
    from geo_grid.plans import EDIT_OPS

    plan_group = typer.main.get_command(app).commands["plan"]
    assert set(_EDIT_COMMANDS) <= set(EDIT_OPS)
    for op, (verb, _) in _EDIT_COMMANDS.items():
        params = [p.name for p in plan_group.commands[verb].params]
        assert params == ["plan", *EDIT_OPS[op], "as_json"], (op, params)
        assert set(EDIT_OPS[op]) <= set(_EDIT_PARAMS), op


def test_every_edit_command_parses_and_reaches_the_service(demo_db, demo, capsys):
    """Each edit command's arguments parse (lists, GeoJSON, optional options) and reach the plan
    service: an unknown plan exits 2 with one line naming it; a recode on a real plan answers."""
    line = json.dumps({"type": "LineString", "coordinates": [[118.9, 32.1], [118.91, 32.11]]})
    box = {"type": "Polygon", "coordinates": [[[118.9, 32.1], [118.91, 32.1], [118.91, 32.11],
                                              [118.9, 32.1]]]}  # fmt: skip
    calls = {
        "split": ["--grid", "G", "--line", line],
        "merge": ["G1", "G2", "--keep", "G1"],
        "reshape": ["--grid", "G", "--geometry", json.dumps(box)],
        "move": ["B1", "B2", "--to", "G"],
        "recode": ["--grid", "G", "--name", "新名"],
    }
    for verb, args in calls.items():
        assert main(["plan", verb, "999999", *args]) == 2, verb
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "999999" in err[0], (verb, err)
    code, plan = _run(capsys, "plan", "create", "--layer", "unified", "--json", "--district", QIXIA)
    grid = demo.grids["unified"].iloc[3]["code"]
    code, result = _run(
        capsys, "plan", "recode", str(plan["id"]), "--grid", grid, "--name", "改名网格", "--json"
    )
    assert code == 0, result
    assert result["op"] == "recode" and result["changed"] == [grid]


def test_plan_undo_and_roster_from_the_shell(demo_db, demo, capsys):
    """A split undone (the log keeps both), the new grid's roster set, shown and refused."""
    code, plan = _run(capsys, "plan", "create", "--json", "--district", QIXIA)
    pid = str(plan["id"])
    grid = demo.grids["unified"].iloc[11]
    minx, miny, maxx, maxy = grid.geometry.bounds
    cy = grid.geometry.centroid.y
    line = json.dumps(mapping(LineString([(minx - 0.01, cy), (maxx + 0.01, cy)])))
    code, split = _run(capsys, "plan", "split", pid, "--grid", grid["code"], "--line", line,
                       "--json")  # fmt: skip
    assert code == 0, split
    new = split["added"][0]
    code, form = _run(capsys, "plan", "roster", pid, new, "--json")
    assert code == 0 and form["on_duty"] == 0 and form["candidates"]
    person = form["candidates"][0]["person_id"]
    code, form = _run(capsys, "plan", "roster", pid, new, "--set", f"{person}:grid_worker",
                      "--json")  # fmt: skip
    assert code == 0 and form["on_duty"] == 1 and form["planned"][0]["person_id"] == person
    assert main(["plan", "roster", pid, new, "--set", person]) == 2  # no role
    assert main(["plan", "roster", pid, new, "--set", f"{person}:party_household"]) == 2
    capsys.readouterr()
    code, undone = _run(capsys, "plan", "undo", pid, "--json")
    assert code == 0 and undone["undone"] == split["seq"] and undone["removed"] == [new]
    assert main(["plan", "undo", pid]) == 2  # nothing left to undo
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no edit left to undo" in err[0]
