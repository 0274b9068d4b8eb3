"""The CLI in a two-district store (Gusu loaded next to Qixia): --district picks one, a write
without it names the choices, and `demo load --district` loads next to what is stored."""

from __future__ import annotations

import json
import re

import pytest
import shapely
from conftest import GUSU, QIXIA

from geo_grid.cli import main


@pytest.fixture(scope="module")
def store(gusu_db):
    from geo_grid.services import index

    index.invalidate()
    yield gusu_db
    index.invalidate()


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


def test_demo_load_of_a_loaded_district_is_a_no_op_and_bad_codes_exit_2(store, capsys):
    assert main(["demo", "load", "--district", GUSU, "--seed", "7"]) == 0
    assert f"demo {GUSU} already loaded (seed 7)" in capsys.readouterr().out
    assert main(["demo", "load", "--city", "3205", "--seed", "7"]) == 0  # Suzhou: Gusu alone
    assert f"demo {GUSU} already loaded (seed 7)" in capsys.readouterr().out
    assert main(["demo", "load", "--district", "999999"]) == 2
    assert "999999" in _one_line_error(capsys)
    assert main(["demo", "load", "--city", "3201", "--district", GUSU]) == 2
    assert "--city" in _one_line_error(capsys)


def test_layers_and_locate_per_district(store, gusu, capsys):
    assert main(["layers", "--json", "--district", GUSU]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["district_code"] for r in rows} == {GUSU} and len(rows) >= 5
    assert main(["layers", "--json"]) == 0
    assert {r["district_code"] for r in json.loads(capsys.readouterr().out)} >= {QIXIA, GUSU}
    point = shapely.point_on_surface(gusu.grids["unified"].geometry.iloc[9])
    assert main(["locate", str(point.x), str(point.y), "--crs", "cgcs2000", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["district_code"] == GUSU and body["grid_code"].startswith(GUSU)


def test_a_write_without_district_names_the_choices(store, capsys):
    assert main(["plan", "create", "--layer", "unified"]) == 2
    err = _one_line_error(capsys)
    assert "district" in err and QIXIA in err and GUSU in err


def test_a_map_of_gusu(store, tmp_path, capsys):
    out = tmp_path / "gusu.html"
    assert main(["map", "coverage", "--district", GUSU, "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert re.search(rf'"{GUSU}\d{{9}}"', html)  # Gusu's unified grids are drawn ...
    assert not re.search(rf'"{QIXIA}\d{{9}}"', html)  # ... and none of Qixia's
