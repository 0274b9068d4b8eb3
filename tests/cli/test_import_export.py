"""`geo-grid import/export` round trips every format losslessly; bad input exits 2, stores nothing."""

from __future__ import annotations

import json
import zipfile

import geopandas as gpd
import pytest
from conftest import QIXIA
from shapely.geometry import LineString, MultiPolygon, box
from sqlalchemy import text

from geo_grid.cli import main
from geo_grid.db.session import session_scope
from geo_grid.io import read_layer


def _generations() -> int:
    with session_scope() as s:
        return s.execute(text("SELECT count(*) FROM generation")).scalar()


def _draft(layer: str, number: int) -> gpd.GeoDataFrame:
    from geo_grid.services.layers import layer_grids

    return layer_grids(layer, districts=[QIXIA], generation=number)[1]


@pytest.mark.parametrize("ext", ["gpkg", "geojson", "shp", "zip", "csv"])
def test_round_trip_of_the_unified_layer(demo_db, tmp_path, capsys, ext):
    from geo_grid.services.layers import layer_grids

    gen, published = layer_grids("unified", districts=[QIXIA])
    out = tmp_path / f"unified.{ext}"
    assert main(["export", str(out), "--layer", "unified", "--district", QIXIA]) == 0
    assert out.exists()
    capsys.readouterr()
    assert (
        main(
            [
                "import",
                str(out),
                "--layer",
                "unified",
                "--note",
                f"round trip {ext}",
                "--district",
                QIXIA,
            ]
        )
        == 0
    )
    number = int(capsys.readouterr().out.split("generation ")[1].split()[0])
    back = _draft("unified", number)
    assert list(back["code"]) == list(published["code"])
    assert list(back["name"]) == list(published["name"])
    assert list(back["households"]) == list(published["households"])
    same = [a.equals_exact(b, 1e-9) for a, b in zip(back.geometry, published.geometry, strict=True)]
    assert all(same)


def test_export_gpkg_declares_cgcs2000(demo_db, tmp_path):
    out = tmp_path / "u.gpkg"
    assert (
        main(["export", str(out), "--layer", "urban_mgmt", "--format", "gpkg", "--district", QIXIA])
        == 0
    )
    frame = gpd.read_file(out)
    assert frame.crs.to_epsg() == 4490 and len(frame) > 100


def _write(frame: gpd.GeoDataFrame, path, **kw):
    frame.to_file(path, **kw)
    return path


def _layer(n=3, **cols) -> gpd.GeoDataFrame:
    data = {"code": [f"T{i}" for i in range(n)], "name": [f"测试网格{i}" for i in range(n)], **cols}
    geoms = [
        MultiPolygon([box(118.9 + 0.01 * i, 32.1, 118.91 + 0.01 * i, 32.11)]) for i in range(n)
    ]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=4490)


def bad_unreadable(tmp):
    p = tmp / "broken.gpkg"
    p.write_bytes(b"this is not a geopackage")
    return [str(p)], "broken.gpkg"


def bad_missing_shx(tmp):
    p = _write(_layer(), tmp / "grids.shp")
    (tmp / "grids.shx").unlink()
    return [str(p)], ".shx"


def bad_missing_dbf(tmp):
    p = _write(_layer(), tmp / "grids.shp")
    (tmp / "grids.dbf").unlink()
    return [str(p)], ".dbf"


def bad_no_crs(tmp):
    p = tmp / "nocrs.csv"
    p.write_text(
        'code,name,wkt\nA,甲,"POLYGON((118.9 32.1,118.91 32.1,118.91 32.11,118.9 32.1))"\n'
    )
    return [str(p)], "crs"


def bad_empty(tmp):
    p = _write(_layer().iloc[:0], tmp / "empty.gpkg")
    return [str(p)], "empty"


def bad_unknown_field(tmp):
    p = _write(_layer(), tmp / "ok.gpkg")
    return [str(p), "--code-field", "WGBM"], "WGBM"


def bad_lines(tmp):
    frame = gpd.GeoDataFrame(
        {"code": ["L1"]}, geometry=[LineString([(118.9, 32.1), (118.91, 32.11)])], crs=4490
    )
    p = _write(frame, tmp / "lines.geojson")
    return [str(p)], "L1"


def bad_duplicate_codes(tmp):
    frame = _layer()
    frame["code"] = ["D1", "D2", "D1"]
    p = _write(frame, tmp / "dups.geojson")
    return [str(p)], "D1"


def bad_missing_file(tmp):
    return [str(tmp / "nowhere.shp")], "nowhere.shp"


def bad_zip_without_shapefile(tmp):
    p = tmp / "nothing.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("readme.txt", "no shapefile here")
    return [str(p)], "nothing.zip"


@pytest.mark.parametrize(
    "case",
    [
        bad_unreadable, bad_missing_shx, bad_missing_dbf, bad_no_crs, bad_empty,
        bad_unknown_field, bad_lines, bad_duplicate_codes, bad_missing_file, bad_zip_without_shapefile,
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line_and_stores_nothing(database_url, tmp_path, capsys, case):
    args, needle = case(tmp_path)
    before = _generations()
    code = main(["import", *args, "--layer", "urban_mgmt", "--district", QIXIA])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert needle in err
    assert _generations() == before


def test_gcj02_import_lands_in_cgcs2000(database_url, tmp_path, capsys):
    from geo_grid.crs import wgs84_to_gcj02

    frame = _layer()
    shifted = frame.copy()
    from geo_grid.crs import transform_geometry

    shifted["geometry"] = transform_geometry(frame.geometry.to_numpy(), wgs84_to_gcj02)
    shifted = shifted.set_crs(4326, allow_override=True)
    p = _write(shifted, tmp_path / "amap.geojson")
    assert (
        main(["import", str(p), "--layer", "ecology", "--crs", "gcj02", "--district", QIXIA]) == 0
    )
    number = int(capsys.readouterr().out.split("generation ")[1].split()[0])
    back = _draft("ecology", number)
    for a, b in zip(back.geometry, frame.geometry, strict=True):
        assert a.hausdorff_distance(b) < 1e-7  # about a centimetre


def test_unified_import_refuses_bad_codes(database_url, tmp_path, capsys):
    p = _write(_layer(), tmp_path / "u.geojson")
    before = _generations()
    assert main(["import", str(p), "--layer", "unified", "--district", QIXIA]) == 2
    assert "15 digits" in capsys.readouterr().err
    assert _generations() == before


def test_layers_json(demo_db, capsys):
    assert main(["layers", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert next(r for r in rows if r["key"] == "unified")["grids"] == 1063


def test_read_layer_keeps_names_after_gbk_shapefile(tmp_path):
    p = _write(_layer(), tmp_path / "gbk.shp", encoding="gbk")
    (tmp_path / "gbk.cpg").unlink(missing_ok=True)
    frame = read_layer(p)
    assert list(frame["name"]) == ["测试网格0", "测试网格1", "测试网格2"]
