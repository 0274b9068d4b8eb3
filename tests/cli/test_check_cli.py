"""`geo-grid check|fix|merge` end to end: files without a database, the store on the demo.

Exit codes are the contract scripts rely on: 0 clean, 1 defects found, 2 bad input (one line on
stderr), and ``--json`` prints exactly one JSON object on stdout.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import QIXIA
from ground_truth import DEPARTMENTS, TRUTH, match_truth

from geo_grid.cli import main
from geo_grid.io import write_layer

ROOT = Path(__file__).resolve().parents[2]
NANJING = ROOT / "data" / "nanjing_districts_gcj02.geojson"


@pytest.fixture(scope="module")
def files(demo, tmp_path_factory):
    """The demo's layers and communities as GeoPackages, as a planner would receive them."""
    folder = tmp_path_factory.mktemp("layers")
    out = {"communities": write_layer(demo.communities, folder / "communities.gpkg")}
    for key, grids in demo.grids.items():
        out[key] = write_layer(grids, folder / f"{key}.gpkg")
    return out


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_json(out: str) -> dict:
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out[:500]
    return json.loads(lines[0])


@pytest.mark.parametrize("layer", DEPARTMENTS)
def test_file_check_finds_every_injected_defect(files, capsys, layer):
    code, out, err = run(capsys, "check", files[layer], "--parent", files["communities"], "--json")
    assert code == 1, err
    body = one_json(out)
    assert body["summary"]["valid"] is False
    assert body["summary"]["features"] == TRUTH["layers"][layer]
    assert sum(
        body["summary"][k] for k in body["summary"] if k not in ("features", "valid")
    ) == len(body["defects"])
    for d in body["defects"]:
        assert set(d) == {"kind", "ids", "area_m2", "width_m", "parent", "geometry"}
    match_truth(layer, body["defects"])


def test_unified_file_and_nanjing_districts_are_clean(files, capsys):
    code, out, _ = run(capsys, "check", files["unified"], "--parent", files["communities"])
    assert code == 0 and "clean" in out
    code, out, _ = run(capsys, "check", NANJING, "--crs", "gcj02", "--json")
    assert code == 0
    body = one_json(out)
    assert body["summary"]["features"] == 11 and body["summary"]["valid"]
    assert body["defects"] == []


def test_gap_width_moves_holes_between_gap_and_sliver(files, capsys):
    _, out, _ = run(capsys, "check", files["urban_mgmt"], "--json")
    base = one_json(out)["summary"]
    _, out, _ = run(capsys, "check", files["urban_mgmt"], "--json", "--gap-width", "1000")
    wide = one_json(out)["summary"]
    assert base["gap"] >= 2 and wide["gap"] == 0
    assert wide["sliver_gap"] == base["sliver_gap"] + base["gap"]


@pytest.mark.parametrize(
    "args, words",
    [
        (["check", "missing.gpkg"], "does not exist"),
        (["check"], "either FILE or --layer"),
        (["check", NANJING, "--layer", "unified"], "either FILE or --layer"),
        (["check", NANJING, "--gap-width", "0"], "gap_width_m"),
        (["check", NANJING, "--crs", "EPSG:999999"], "crs"),
        (["fix", NANJING], "--out"),
        (["check", NANJING, "--parent", "missing.gpkg"], "does not exist"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, args, words):
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], err


def test_fixed_file_rechecks_clean(files, capsys, tmp_path):
    out_file = tmp_path / "fixed.gpkg"
    code, out, err = run(
        capsys, "fix", files["ecology"], "--parent", files["communities"], "--out", out_file,
        "--json",
    )  # fmt: skip
    assert code == 0, err
    result = one_json(out)
    assert result["check"]["valid"] and out_file.exists()
    assert {c["action"] for c in result["changes"]} >= {"drop_duplicate_geometry", "fill_gap"}
    code, out, _ = run(capsys, "check", out_file, "--parent", files["communities"], "--json")
    assert code == 0 and one_json(out)["summary"]["valid"]


def test_store_check_of_politics_law(demo_db, capsys):
    code, out, err = run(capsys, "check", "--layer", "politics_law", "--json", "--district", QIXIA)
    assert code == 1, err
    body = one_json(out)
    assert body["layer"] == "politics_law" and body["generation"] == 1
    match_truth("politics_law", body["defects"])
    code, out, _ = run(capsys, "check", "--layer", "unified", "--district", QIXIA)
    assert code == 0 and "clean" in out
    code, _, err = run(capsys, "check", "--layer", "nope", "--district", QIXIA)
    assert code == 2 and "unknown layer" in err and len(err.strip().splitlines()) == 1


def test_merge_to_a_folder(demo_db, capsys, tmp_path):
    folder = tmp_path / "merged"
    code, out, err = run(
        capsys, "merge", "--layers", ",".join(DEPARTMENTS), "--out", folder, "--district", QIXIA
    )
    assert code == 0, err
    assert "crosswalk rows" in out and "clean" in out
    assert {p.name for p in folder.iterdir()} == {
        "proposed.gpkg", "crosswalk.csv", "conformance.csv",
    }  # fmt: skip
    code, out, _ = run(capsys, "check", folder / "proposed.gpkg", "--json")
    assert code == 0 and one_json(out)["summary"]["valid"]
    code, _, err = run(capsys, "merge", "--layers", "unified,ecology")
    assert code == 2 and "base layer" in err


def test_file_check_needs_no_database(tmp_path):
    """With the database URL pointing nowhere, a file check still answers (exit 0)."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "GEO_GRID_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
        "GEO_GRID_HOME": str(tmp_path),
    }
    code = "import sys; from geo_grid.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "check", str(NANJING), "--crs", "gcj02"],
        env=env, capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "clean" in done.stdout


def test_progress_only_on_big_layers(tmp_path):
    from geo_grid.services.checks import PROGRESS_MIN_FEATURES, check_file
    from geo_grid.testing import voronoi_layer

    calls: list[tuple[str, int, int]] = []
    small = write_layer(voronoi_layer(50, 3).to_crs(4490), tmp_path / "small.gpkg")
    check_file(small, progress=lambda *a: calls.append(a))
    assert calls == []
    big = voronoi_layer(PROGRESS_MIN_FEATURES, 3).to_crs(4490)
    report = check_file(
        write_layer(big, tmp_path / "big.gpkg"), progress=lambda *a: calls.append(a)
    )
    assert report.valid and calls and calls[-1][1] == calls[-1][2]


def test_the_operators_own_files_are_not_held_to_the_upload_limits(
    demo_db, files, capsys, monkeypatch, tmp_path
):
    """``geo-grid check``, ``fix`` and ``import`` read the operator's own files whatever their
    size (a 66 MB national layer was refused "over the 50.0 MiB limit"); the API's reader keeps
    the limits (``tests/api/test_checks_api.py`` has its 413)."""
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope
    from geo_grid.errors import GeoGridError
    from geo_grid.services.layers import read_file
    from geo_grid.settings import get_settings

    path = files["ecology"]
    settings = get_settings()
    for name, value in (("upload_max_bytes", path.stat().st_size - 1), ("upload_max_features", 10),
                        ("upload_max_vertices", 100), ("geometry_max_vertices", 5)):  # fmt: skip
        monkeypatch.setattr(settings, name, value)
    with pytest.raises(GeoGridError, match="limit"):
        read_file(path)  # what an upload goes through
    code, out, err = run(capsys, "check", path, "--parent", files["communities"], "--json")
    assert code == 1, err  # defects found, not exit 2 "over the limit"
    assert one_json(out)["summary"]["features"] == TRUTH["layers"]["ecology"]
    code, _, err = run(capsys, "fix", path, "--out", tmp_path / "fixed.gpkg")
    assert code in (0, 1), err
    key = "t_cli_limits"
    with session_scope() as s:
        repos.grids.ensure_layer(s, key, "命令行导入测试")
    code, out, err = run(capsys, "import", path, "--layer", key, "--invalid", "keep",
                         "--district", QIXIA)  # fmt: skip
    assert code == 0, err
    assert f"imported {TRUTH['layers']['ecology']} grids" in out
