"""`geo-grid geocode` (one address or a CSV batch) and `geo-grid locate` on the demo district."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from geo_grid.cli import main
from geo_grid.crs import wgs84_to_bd09
from geo_grid.layers import BUILTIN_LAYERS

LAYERS = [info.key for info in BUILTIN_LAYERS]


@pytest.fixture(scope="module")
def row(demo):
    a = demo.addresses
    return a[a["xiaoqu"].notna() & a["room"].notna()].iloc[11]


def test_geocode_one_as_json(store, row, capsys):
    text = f"南京市栖霞区{row['local_text'].replace('单元', '-').replace('栋', '-')} 门口"
    assert main(["geocode", text, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["status"] == "matched" and body["address_id"] == int(row["address_id"])
    assert body["grid_code"] == row["grid_code"] and set(body["grids"]) == set(LAYERS)


def test_geocode_one_human_and_unmatched(store, row, capsys):
    assert main(["geocode", row["full_text"]]) == 0
    out = capsys.readouterr().out
    assert row["grid_code"] in out and "门牌" in out
    assert main(["geocode", "火星大道99号"]) == 1
    out = capsys.readouterr().out  # for a person: the status and the reasons in Chinese
    assert out.startswith("未匹配: ") and "unmatched" not in out and "library" not in out


def test_geocode_outside_the_district_says_so_with_its_components(store, row, capsys):
    text = f"内蒙古锡林郭勒盟锡林浩特市宝力根街道{row['local_text']}"
    assert main(["geocode", text, "--json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["status"] == "unmatched" and body["grid_code"] is None
    assert body["reason"].startswith("district not onboarded: 内蒙古 (15)")
    parts = body["components"]
    assert (parts["province"], parts["city"], parts["district"]) == (
        "内蒙古",
        "锡林郭勒盟",
        "锡林浩特市",
    )
    assert parts["street"] == "宝力根街道" and parts["building"] == row["building"]


def test_geocode_batch_csv(store, demo, tmp_path, capsys):
    sample = demo.addresses.sample(40, random_state=3)
    src = tmp_path / "cases.csv"
    pd.DataFrame({"case_id": range(42), "addr": [*sample["full_text"], "", "不知道在哪里"]}).to_csv(
        src, index=False
    )
    dest = tmp_path / "out.csv"
    assert main(["geocode", "--batch", str(src), "--column", "addr", "--out", str(dest)]) == 0
    assert "42 addresses" in capsys.readouterr().out
    out = pd.read_csv(dest, dtype=str, encoding="utf-8-sig")
    wanted = ["grid_code", "match_level", "confidence", "lon", "lat", "status", "reason"]
    assert set(wanted + [f"grid_{k}" for k in LAYERS]) <= set(out.columns)
    assert list(out["case_id"]) == [str(i) for i in range(42)]
    assert list(out["grid_code"][:40]) == list(sample["grid_code"])
    assert out["grid_urban_mgmt"][:40].notna().all()
    assert list(out["status"][40:]) == ["unmatched", "unmatched"]
    assert out["grid_code"][40:].isna().all()


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    return err[0]


def test_geocode_bad_input_exits_2(store, tmp_path, capsys):
    src = tmp_path / "cases.csv"
    src.write_text("addr\n尧佳路1号\n", encoding="utf-8")
    assert main(["geocode", "--batch", str(src), "--column", "地址"]) == 2
    assert "地址" in _one_error_line(capsys)
    assert main(["geocode", "--batch", str(tmp_path / "none.csv"), "--column", "addr"]) == 2
    assert "none.csv" in _one_error_line(capsys)
    assert main(["geocode", "--batch", str(src)]) == 2
    assert "--column" in _one_error_line(capsys)
    assert main(["geocode"]) == 2
    assert "ADDRESS" in _one_error_line(capsys)
    assert main(["geocode", "   "]) == 2
    _one_error_line(capsys)


def test_locate_bd09_json(store, row, capsys):
    lon, lat = (float(v[0]) for v in wgs84_to_bd09([row["lon"]], [row["lat"]]))
    assert main(["locate", f"{lon:.7f}", f"{lat:.7f}", "--crs", "bd09", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["grid_code"] == row["grid_code"] and body["inside_district"]
    assert set(body["grids"]) == set(LAYERS) and body["roster"]
    assert all("****" in p["phone"] for p in body["roster"] if p["phone"])  # personal data


def test_locate_outside_and_bad_crs(store, capsys):
    assert main(["locate", "116.4", "39.9"]) == 1
    assert "outside the district" in capsys.readouterr().out
    assert main(["locate", "118.9", "32.1", "--crs", "mars"]) == 2
    assert "mars" in _one_error_line(capsys)
    assert main(["locate", "118.9", "95"]) == 2
    assert "lat" in _one_error_line(capsys)
