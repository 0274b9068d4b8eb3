"""Reading and writing grid layer files: round trips, encodings, CRS handling and every bad input."""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyogrio.errors
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from geo_grid.crs import gcj02_to_bd09, to_storage, transform_geometry, wgs84_to_gcj02
from geo_grid.errors import BadInput
from geo_grid.io import SUPPORTED_FORMATS, describe_layer, read_layer, write_layer

# Fixtures written straight through GDAL (as a desktop GIS would) make GDAL warn about laundered
# names and extensions; those warnings are the point of the fixtures, not failures.
pytestmark = [
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore:Column names longer than 10:UserWarning"),
    pytest.mark.filterwarnings("ignore:Normalized/laundered field name:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:Could not decode error message:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:.*(GPKG|gpkg).*:RuntimeWarning"),
]

X0, Y0 = 118.9012345678901, 32.1098765432109  # Qixia, with digits that expose rounding


def _grids() -> gpd.GeoDataFrame:
    """Three grids: a two-part MultiPolygon with a hole, a Polygon, a MultiPolygon of one part."""
    outer = box(X0, Y0, X0 + 0.01, Y0 + 0.01)
    hole = box(X0 + 0.002, Y0 + 0.002, X0 + 0.004, Y0 + 0.004)
    two_parts = MultiPolygon(
        [
            Polygon(outer.exterior.coords, [hole.exterior.coords]),
            box(X0 + 0.02, Y0, X0 + 0.03, Y0 + 0.005),
        ]
    )
    return gpd.GeoDataFrame(
        {
            "code": ["320113001001001", "320113001001002", "0012"],
            "name": pd_object(["尧化一网格（含学校）", "燕子矶·二网格", None]),
            "households": pd_object([312, None, 0]),
            "community_code": ["320113001001", "320113001001", "320113001002"],
            "note": ["东至和燕路", "", "西至𠀀路"],  # 𠀀 is outside GBK, inside GB18030/UTF-8
        },
        geometry=[
            two_parts,
            box(X0 + 0.01, Y0, X0 + 0.02, Y0 + 0.01),
            MultiPolygon([box(X0, Y0 + 0.01, X0 + 0.01, Y0 + 0.02)]),
        ],
        crs=4490,
    )


def pd_object(values: list):
    import pandas as pd

    return pd.Series(values, dtype=object)


def _multi(geoms) -> np.ndarray:
    """What read_layer promises: every Polygon as a one-part MultiPolygon."""
    return np.array(
        [MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in geoms], dtype=object
    )


def _same_geometry(a, b, tolerance: float = 1e-9) -> bool:
    """Equal after normalizing, vertex by vertex within ``tolerance`` degrees (types must match)."""
    a = shapely.normalize(np.asarray(a, dtype=object))
    b = shapely.normalize(_multi(b))
    return bool(np.all(shapely.equals_exact(a, b, tolerance=tolerance)))


def _bad(excinfo: pytest.ExceptionInfo, *fragments: str, field: str | None = None) -> str:
    """Assert a BadInput message is one line holding every fragment, and its field."""
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    if field is not None:
        assert excinfo.value.field == field, (excinfo.value.field, message)
    return message


def _write_shp(gdf: gpd.GeoDataFrame, path: Path, encoding: str = "UTF-8") -> Path:
    """A shapefile written by GDAL directly, as a desktop GIS would, not through write_layer."""
    pyogrio.write_dataframe(gdf, path, encoding=encoding)
    return path


def _chinese_fields() -> gpd.GeoDataFrame:
    g = _grids()
    return gpd.GeoDataFrame(
        {"网格编码": g["code"], "网格名称": g["name"], "户数": g["households"].astype("Int64")},
        geometry=g.geometry,
        crs=4490,
    )


# ------------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize("filename", ["g.gpkg", "g.geojson", "g.shp", "g.zip", "g.csv", "g.json"])
def test_round_trip_is_lossless(tmp_path: Path, filename: str) -> None:
    grids = _grids()
    written = write_layer(grids, tmp_path / filename)
    back = read_layer(written)
    assert back.crs.to_epsg() == 4490
    assert back.columns[:3].tolist() == ["code", "name", "households"]
    assert back["code"].tolist() == grids["code"].tolist()
    assert back["name"].tolist() == grids["name"].tolist()
    assert back["households"].tolist() == [312, None, 0]
    assert back["community_code"].tolist() == grids["community_code"].tolist()
    assert set(back.geom_type) == {"MultiPolygon"}
    assert _same_geometry(back.geometry, grids.geometry, tolerance=0.0)
    assert back["note"].tolist()[0] == "东至和燕路"
    assert back["note"].tolist()[2] == "西至𠀀路"


@pytest.mark.parametrize("fmt", SUPPORTED_FORMATS)
def test_format_argument_overrides_extension(tmp_path: Path, fmt: str) -> None:
    suffix = {"shp": ".shp"}.get(fmt, ".dat")
    written = write_layer(_grids(), tmp_path / f"out{suffix}", fmt=fmt)
    assert written.exists()
    if fmt == "gpkg":
        assert pyogrio.read_info(written, layer="grids")["features"] == 3


def test_polygons_are_promoted_and_z_dropped(tmp_path: Path) -> None:
    z_poly = Polygon([(X0, Y0, 5), (X0 + 0.01, Y0, 5), (X0 + 0.01, Y0 + 0.01, 5)])
    src = gpd.GeoDataFrame({"code": ["a"]}, geometry=[z_poly], crs=4490)
    src.to_file(tmp_path / "z.gpkg", engine="pyogrio")
    back = read_layer(tmp_path / "z.gpkg")
    assert back.geom_type[0] == "MultiPolygon"
    assert not shapely.has_z(back.geometry[0])
    assert _same_geometry(back.geometry, [MultiPolygon([shapely.force_2d(z_poly)])])


def test_invalid_polygons_are_kept_for_the_coverage_checker(tmp_path: Path) -> None:
    bowtie = Polygon([(X0, Y0), (X0 + 0.01, Y0 + 0.01), (X0 + 0.01, Y0), (X0, Y0 + 0.01)])
    gpd.GeoDataFrame({"code": ["x"]}, geometry=[bowtie], crs=4490).to_file(tmp_path / "b.geojson")
    back = read_layer(tmp_path / "b.geojson")
    assert not back.geometry[0].is_valid
    assert _same_geometry(back.geometry, [MultiPolygon([bowtie])])


def test_geojson_is_lon_lat_with_a_cgcs2000_crs_member(tmp_path: Path) -> None:
    doc = json.loads(write_layer(_grids(), tmp_path / "g.geojson").read_text(encoding="utf-8"))
    assert doc["crs"]["properties"]["name"].endswith("EPSG::4490")
    assert doc["name"] == "grids"
    lon, lat = doc["features"][1]["geometry"]["coordinates"][0][0][0]
    assert 118 < lon < 119 and 32 < lat < 33
    assert doc["features"][0]["properties"]["name"] == "尧化一网格（含学校）"


def test_gpkg_layer_name_crs_and_other_layers_kept(tmp_path: Path) -> None:
    target = tmp_path / "plan.gpkg"
    write_layer(_grids(), target, layer_name="urban_mgmt")
    write_layer(_grids().iloc[:1], target, layer_name="emergency")
    write_layer(_grids().iloc[:2], target, layer_name="urban_mgmt")  # replaces that layer only
    layers = dict(pyogrio.list_layers(target))
    assert set(layers) == {"urban_mgmt", "emergency"}
    info = pyogrio.read_info(target, layer="urban_mgmt")
    assert info["crs"] == "EPSG:4490" and info["geometry_type"] == "MultiPolygon"
    assert info["features"] == 2
    assert len(read_layer(target, layer="emergency")) == 1
    with pytest.raises(BadInput) as excinfo:
        read_layer(target)
    _bad(excinfo, str(target), "2 layers", "emergency", "urban_mgmt", field="layer")
    with pytest.raises(BadInput) as excinfo:
        read_layer(target, layer="ecology")
    _bad(excinfo, str(target), "no layer 'ecology'", field="layer")


def test_shapefile_field_names_fit_and_map_back(tmp_path: Path) -> None:
    grids = _grids()
    grids["area_m2_of_the_grid"] = [1.5, 2.5, 3.5]
    target = write_layer(grids, tmp_path / "g.shp")
    fields = list(pyogrio.read_info(target)["fields"])
    assert "comm_code" in fields and "area_m2_of" in fields
    assert all(len(f.encode("utf-8")) <= 10 for f in fields)
    assert (tmp_path / "g.cpg").read_text() == "UTF-8"
    assert {p.suffix for p in tmp_path.iterdir()} == {".shp", ".shx", ".dbf", ".prj", ".cpg"}
    back = read_layer(target)
    assert "community_code" in back.columns and "area_m2_of" in back.columns


def test_zipped_shapefile_holds_one_named_set(tmp_path: Path) -> None:
    target = write_layer(_grids(), tmp_path / "网格.shp.zip")
    names = sorted(zipfile.ZipFile(target).namelist())
    assert names == [f"网格{ext}" for ext in (".cpg", ".dbf", ".prj", ".shp", ".shx")]
    assert list(tmp_path.iterdir()) == [target]


def test_csv_has_bom_wkt_and_prj(tmp_path: Path) -> None:
    target = write_layer(_grids(), tmp_path / "g.csv")
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[-1] == "wkt" and header[0] == "code"
    assert (tmp_path / "g.prj").exists()
    (tmp_path / "g.prj").unlink()
    with pytest.raises(BadInput) as excinfo:
        read_layer(target)
    _bad(excinfo, str(target), "no coordinate system", field="crs")
    assert read_layer(target, crs=4490)["code"].tolist() == _grids()["code"].tolist()


def test_csv_from_excel_in_gbk_and_typed_attributes(tmp_path: Path) -> None:
    text = (
        "WGBM;WGMC;HS;区号;面积;wkt\n"
        f"001;一网格;12;025;1.5;POLYGON(({X0} {Y0},{X0 + 0.01} {Y0},{X0} {Y0 + 0.01},{X0} {Y0}))\n"
        f"002;;;;2;POLYGON(({X0} {Y0},{X0 - 0.01} {Y0},{X0} {Y0 + 0.01},{X0} {Y0}))\n"
    )
    target = tmp_path / "excel.csv"
    target.write_bytes(text.encode("gbk"))
    back = read_layer(target, crs="cgcs2000")
    assert back["code"].tolist() == ["001", "002"]
    assert back["name"].tolist() == ["一网格", None]
    assert back["households"].tolist() == [12, None]
    assert back["区号"].tolist() == ["025", None]  # leading zero: stays text
    assert back["面积"].tolist() == [1.5, 2.0]
    assert describe_layer(target)["encoding"] == "gb18030"


# -------------------------------------------------------------------------------------- encodings


@pytest.mark.parametrize("cpg", ["GBK", "936", "ANSI 936", "CP936", "gb2312"])
def test_gbk_shapefile_with_cpg(tmp_path: Path, cpg: str) -> None:
    target = _write_shp(_chinese_fields(), tmp_path / "gbk.shp", encoding="GBK")
    (tmp_path / "gbk.cpg").write_text(cpg)
    back = read_layer(target)
    assert back["name"].tolist()[:2] == ["尧化一网格（含学校）", "燕子矶·二网格"]
    assert back["code"].tolist() == _grids()["code"].tolist()
    assert back["households"].tolist() == [312, None, 0]
    assert describe_layer(target)["encoding_origin"] == ".cpg"


@pytest.mark.parametrize("encoding", ["GBK", "UTF-8"])
def test_shapefile_without_cpg_is_detected(tmp_path: Path, encoding: str) -> None:
    target = _write_shp(_chinese_fields(), tmp_path / "nocpg.shp", encoding=encoding)
    (tmp_path / "nocpg.cpg").unlink()
    back = read_layer(target)
    assert back["name"].tolist()[:2] == ["尧化一网格（含学校）", "燕子矶·二网格"]
    info = describe_layer(target)
    assert info["encoding_origin"] == "detected"
    assert info["encoding"] == ("gb18030" if encoding == "GBK" else "utf-8")
    # GDAL cuts UTF-8 names at 10 bytes mid-character; we trim them to whole characters
    assert ("网格名称" if encoding == "GBK" else "网格名") in info["fields"]


def test_zipped_gbk_shapefile_in_a_nested_folder(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    _write_shp(_chinese_fields(), folder / "栖霞网格.shp", encoding="GBK")
    (folder / "栖霞网格.cpg").unlink()
    target = tmp_path / "upload.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("__MACOSX/数据/._栖霞网格.shp", b"junk")
        for part in folder.iterdir():
            archive.write(part, arcname=f"数据/2024/{part.name}")
    back = read_layer(target)
    assert back["name"].tolist()[:2] == ["尧化一网格（含学校）", "燕子矶·二网格"]
    assert _same_geometry(back.geometry, _grids().geometry)


def test_explicit_encoding_beats_a_wrong_cpg(tmp_path: Path) -> None:
    target = _write_shp(_chinese_fields(), tmp_path / "wrong.shp", encoding="GBK")
    (tmp_path / "wrong.cpg").write_text("UTF-8")
    with pytest.raises(BadInput) as excinfo:
        read_layer(target)
    _bad(excinfo, str(target), "not valid utf-8", "from .cpg", "encoding=", field="encoding")
    assert read_layer(target, encoding="gbk")["name"][0] == "尧化一网格（含学校）"


def test_undecodable_dbf_asks_for_encoding(tmp_path: Path) -> None:
    target = _write_shp(_chinese_fields(), tmp_path / "odd.shp", encoding="UTF-8")
    (tmp_path / "odd.cpg").unlink()
    dbf = tmp_path / "odd.dbf"
    dbf.write_bytes(dbf.read_bytes().replace("一".encode(), b"\xff\xfe\xff"))
    with pytest.raises(BadInput) as excinfo:
        read_layer(target)
    _bad(excinfo, str(target), "neither UTF-8 nor GBK", field="encoding")
    with pytest.raises(BadInput) as excinfo:
        read_layer(target, encoding="klingon")
    _bad(excinfo, str(target), "unknown text encoding 'klingon'", field="encoding")


# -------------------------------------------------------------------------------------------- CRS


def test_gcj02_labelled_4326_is_converted_when_told(tmp_path: Path) -> None:
    grids = _grids()
    gcj = grids.set_geometry(
        transform_geometry(np.asarray(grids.geometry.values, dtype=object), wgs84_to_gcj02),
        crs=4326,
    )
    gcj.to_file(tmp_path / "amap.geojson")
    as_labelled = read_layer(tmp_path / "amap.geojson")
    assert _same_geometry(as_labelled.geometry, gcj.geometry, tolerance=0.0)
    back = read_layer(tmp_path / "amap.geojson", crs="gcj02")
    expected = to_storage(np.asarray(gcj.geometry.values, dtype=object), "gcj02")
    assert _same_geometry(back.geometry, expected, tolerance=0.0)
    assert _same_geometry(back.geometry, grids.geometry, tolerance=1e-8)
    assert not _same_geometry(back.geometry, gcj.geometry, tolerance=1e-4)


def test_bd09_csv_is_converted(tmp_path: Path) -> None:
    grids = _grids()
    bd = transform_geometry(
        np.asarray(grids.geometry.values, dtype=object),
        lambda x, y: gcj02_to_bd09(*wgs84_to_gcj02(x, y)),
    )
    text = "code,wkt\n" + "".join(
        f'{c},"{shapely.to_wkt(g, rounding_precision=-1)}"\n'
        for c, g in zip(grids["code"], bd, strict=True)
    )
    (tmp_path / "baidu.csv").write_text(text, encoding="utf-8")
    back = read_layer(tmp_path / "baidu.csv", crs="BD-09")
    assert _same_geometry(back.geometry, grids.geometry, tolerance=1e-8)


def test_projected_file_crs_is_converted(tmp_path: Path) -> None:
    grids = _grids()
    grids.to_crs(4549).to_file(tmp_path / "metres.shp", engine="pyogrio")
    back = read_layer(tmp_path / "metres.shp")
    assert back.crs.to_epsg() == 4490
    assert _same_geometry(back.geometry, grids.geometry, tolerance=1e-9)
    (tmp_path / "metres.prj").unlink()
    with pytest.raises(BadInput) as excinfo:
        read_layer(tmp_path / "metres.shp")
    _bad(excinfo, "metres.shp", "no coordinate system", "pass crs=", field="crs")
    assert _same_geometry(
        read_layer(tmp_path / "metres.shp", crs="EPSG:4549").geometry, grids.geometry, 1e-9
    )
    with pytest.raises(BadInput) as excinfo:
        read_layer(tmp_path / "metres.shp", crs=4490)
    _bad(
        excinfo,
        "metres.shp",
        "feature 0",
        "not longitude/latitude",
        "EPSG:4534 to EPSG:4554",
        field="crs",
    )
    write_layer(grids, tmp_path / "degrees.gpkg")
    with pytest.raises(BadInput) as excinfo:
        read_layer(tmp_path / "degrees.gpkg", crs="EPSG:4549")  # degrees taken for metres
    _bad(excinfo, "degrees.gpkg", "feature 0", "outside where that CRS is used", field="crs")


def test_unknown_crs_argument(tmp_path: Path) -> None:
    write_layer(_grids(), tmp_path / "g.gpkg")
    with pytest.raises(BadInput) as excinfo:
        read_layer(tmp_path / "g.gpkg", crs="mars")
    _bad(excinfo, "g.gpkg", "'mars'", field="crs")


# ----------------------------------------------------------------------------------------- fields


def test_fields_are_detected_ignoring_case(tmp_path: Path) -> None:
    g = _grids()
    src = gpd.GeoDataFrame(
        {"OBJECTID": [1, 2, 3], "WGBM": [320113001001001.0, 2.0, 3.0], "WGMC": g["name"]},
        geometry=g.geometry,
        crs=4490,
    )
    src["HS"] = [1, 2, 3]
    src.to_file(tmp_path / "f.gpkg", engine="pyogrio")
    back = read_layer(tmp_path / "f.gpkg")
    assert back["code"].tolist() == ["320113001001001", "2", "3"]
    assert back["households"].tolist() == [1, 2, 3]
    assert back.columns.tolist() == ["code", "name", "households", "OBJECTID", "geometry"]


def test_explicit_fields_and_clashing_names(tmp_path: Path) -> None:
    g = _grids()
    src = gpd.GeoDataFrame(
        {"code": ["x", "y", "z"], "bh": g["code"], "title": g["name"], "hu": ["1", " 2 ", ""]},
        geometry=g.geometry,
        crs=4490,
    )
    src.to_file(tmp_path / "f.geojson")
    back = read_layer(
        tmp_path / "f.geojson", code_field="BH", name_field="title", households_field="hu"
    )
    assert back["code"].tolist() == g["code"].tolist()
    assert back["name"].tolist() == g["name"].tolist()
    assert back["households"].tolist() == [1, 2, None]
    assert back["code_src"].tolist() == ["x", "y", "z"]


@pytest.mark.parametrize("param", ["code_field", "name_field", "households_field"])
def test_unknown_explicit_field(tmp_path: Path, param: str) -> None:
    write_layer(_grids(), tmp_path / "g.geojson")
    with pytest.raises(BadInput) as excinfo:
        read_layer(tmp_path / "g.geojson", **{param: "wgbh"})
    _bad(excinfo, "g.geojson", "no field 'wgbh'", "available fields: code, name", field=param)


def test_no_code_field_found(tmp_path: Path) -> None:
    g = _grids()
    gpd.GeoDataFrame({"label": g["name"]}, geometry=g.geometry, crs=4490).to_file(
        tmp_path / "g.gpkg"
    )
    with pytest.raises(BadInput) as excinfo:
        read_layer(tmp_path / "g.gpkg")
    _bad(excinfo, "g.gpkg", "no grid code field", "wgbm", "label", field="code_field")


# ------------------------------------------------------------------------------------ bad features


def _with(tmp_path: Path, filename: str, **changes) -> Path:
    g = _grids()
    g["households"] = g["households"].astype("Int64")
    for column, (i, value) in changes.items():
        if column == "geometry":
            geoms = list(g.geometry)
            geoms[i] = value
            g = g.set_geometry(gpd.GeoSeries(geoms, crs=4490))
        else:
            g[column] = g[column].astype(object)
            g.loc[i, column] = value
    path = tmp_path / filename
    g.to_file(path, engine="pyogrio")
    return path


@pytest.mark.parametrize(
    ("geometry", "kind"),
    [(Point(X0, Y0), "Point"), (LineString([(X0, Y0), (X0 + 1, Y0)]), "LineString")],
)
def test_non_polygon_feature(tmp_path: Path, geometry, kind: str) -> None:
    path = _with(tmp_path, "g.geojson", geometry=(1, geometry))
    with pytest.raises(BadInput) as excinfo:
        read_layer(path)
    _bad(excinfo, str(path), "feature 1", "'320113001001002'", f"is a {kind}", field="geometry")


def test_null_and_empty_geometry(tmp_path: Path) -> None:
    path = _with(tmp_path, "g.gpkg", geometry=(2, None))
    with pytest.raises(BadInput) as excinfo:
        read_layer(path)
    _bad(excinfo, str(path), "feature 2 (code '0012')", "has no geometry", field="geometry")
    path = _with(tmp_path, "e.gpkg", geometry=(0, Polygon()))
    with pytest.raises(BadInput) as excinfo:
        read_layer(path)
    _bad(excinfo, str(path), "feature 0", field="geometry")


def test_duplicate_codes_name_both_features(tmp_path: Path) -> None:
    path = _with(tmp_path, "g.shp", code=(2, "320113001001001"))
    with pytest.raises(BadInput) as excinfo:
        read_layer(path)
    _bad(excinfo, str(path), "duplicate grid code '320113001001001'", "0 and 2", field="code")


@pytest.mark.parametrize("value", [None, "   "])
def test_missing_code(tmp_path: Path, value) -> None:
    path = _with(tmp_path, "g.geojson", code=(1, value))
    with pytest.raises(BadInput) as excinfo:
        read_layer(path)
    _bad(excinfo, str(path), "feature 1", "field 'code'", "no grid code", field="code")


@pytest.mark.parametrize("value", ["abc", -3, 2.5])
def test_bad_households(tmp_path: Path, value) -> None:
    path = _with(tmp_path, "g.geojson", households=(1, value))
    with pytest.raises(BadInput) as excinfo:
        read_layer(path)
    _bad(excinfo, str(path), "feature 1 (code '320113001001002')", "whole number", repr(value))
    assert excinfo.value.field == "households"


def test_csv_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        'code,wkt\na,"POLYGON((0 0,1 0,0 1,0 0))"\nb,"POLYGON((0 0,1"\n', encoding="utf-8"
    )
    with pytest.raises(BadInput) as excinfo:
        read_layer(path, crs=4490)
    _bad(excinfo, str(path), "feature 1 (CSV row 3)", "not valid WKT", field="wkt")
    path.write_text('code,wkt\na,"POLYGON((0 0,1 0,0 1,0 0))"\nb,\n', encoding="utf-8")
    with pytest.raises(BadInput) as excinfo:
        read_layer(path, crs=4490)
    _bad(excinfo, str(path), "feature 1 (CSV row 3, code 'b')", "no geometry", field="geometry")
    path.write_text("code,lon,lat\na,118.9,32.1\n", encoding="utf-8")
    with pytest.raises(BadInput) as excinfo:
        read_layer(path, crs=4490)
    _bad(excinfo, str(path), "no WKT geometry column", "code, lon, lat", field="wkt")


# -------------------------------------------------------------------------------------- bad files


def test_missing_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as excinfo:
        read_layer(tmp_path / "nope.gpkg")
    _bad(excinfo, "nope.gpkg", "does not exist", field="path")
    (tmp_path / "grids.kml").write_text("<kml/>")
    with pytest.raises(BadInput) as excinfo:
        read_layer(tmp_path / "grids.kml")
    _bad(excinfo, "grids.kml", "unsupported file type '.kml'", field="path")


@pytest.mark.parametrize("filename", ["c.gpkg", "c.geojson", "c.shp", "c.zip"])
def test_corrupt_files(tmp_path: Path, filename: str) -> None:
    path = tmp_path / filename
    path.write_bytes(b"\x00garbage\xff" * 10)
    if filename.endswith(".shp"):
        (tmp_path / "c.shx").write_bytes(b"\x00" * 100)
        (tmp_path / "c.dbf").write_bytes(b"\x03" + b"\x00" * 40)
    with pytest.raises(BadInput) as excinfo:
        read_layer(path)
    _bad(excinfo, str(path), field="path")


@pytest.mark.parametrize("missing", [".shx", ".dbf"])
def test_incomplete_shapefile(tmp_path: Path, missing: str) -> None:
    target = write_layer(_grids(), tmp_path / "g.shp")
    target.with_suffix(missing).unlink()
    with pytest.raises(BadInput) as excinfo:
        read_layer(target)
    _bad(excinfo, str(target), f"{missing} missing", field="path")
    assert not target.with_suffix(".shx").exists() or missing == ".dbf"  # nothing recreated


def test_bad_zips(tmp_path: Path) -> None:
    write_layer(_grids(), tmp_path / "a.shp")
    write_layer(_grids(), tmp_path / "b.shp")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(BadInput) as excinfo:
        read_layer(empty)
    _bad(excinfo, str(empty), "no shapefile", "readme.txt", field="path")
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        for part in tmp_path.glob("[ab].*"):
            archive.write(part, arcname=part.name)
    with pytest.raises(BadInput) as excinfo:
        read_layer(two)
    _bad(excinfo, str(two), "2 shapefiles", "a.shp", "b.shp", field="path")
    no_dbf = tmp_path / "nodbf.zip"
    with zipfile.ZipFile(no_dbf, "w") as archive:
        for part in tmp_path.glob("a.*"):
            if part.suffix != ".dbf":
                archive.write(part, arcname=f"x/{part.name}")
    with pytest.raises(BadInput) as excinfo:
        read_layer(no_dbf)
    _bad(excinfo, str(no_dbf), "x/a.shp", ".dbf missing", field="path")


def test_empty_layer(tmp_path: Path) -> None:
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(BadInput) as excinfo:
        read_layer(path)
    _bad(excinfo, str(path), "no features", field="path")


def test_reading_leaves_no_temporary_files(tmp_path: Path, monkeypatch) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    good = write_layer(_grids(), tmp_path / "good.zip")
    assert len(read_layer(good)) == 3
    with pytest.raises(BadInput):
        read_layer(good, code_field="nope")
    assert list(scratch.iterdir()) == []


# ---------------------------------------------------------------------------------- bad writes


def test_write_refuses_unusable_layers(tmp_path: Path) -> None:
    cases = [
        (_grids().iloc[:0], "nothing to write", "gdf"),
        (_grids().set_crs(None, allow_override=True), "no CRS", "gdf"),
        (
            _grids().set_geometry([Point(0, 0), box(0, 0, 1, 1), box(1, 1, 2, 2)]).set_crs(4490),
            "feature 0 (code '320113001001001'): geometry is a Point",
            "geometry",
        ),
    ]
    for gdf, fragment, field in cases:
        with pytest.raises(BadInput) as excinfo:
            write_layer(gdf, tmp_path / "out.gpkg")
        _bad(excinfo, "out.gpkg", fragment, field=field)
    with pytest.raises(BadInput) as excinfo:
        write_layer(_grids(), tmp_path / "out.kml")
    _bad(excinfo, "out.kml", "pass fmt=", field="fmt")
    with pytest.raises(BadInput) as excinfo:
        write_layer(_grids(), tmp_path / "out.gpkg", fmt="kml")
    _bad(excinfo, "unknown format 'kml'", field="fmt")
    with pytest.raises(BadInput) as excinfo:
        write_layer(_grids(), tmp_path / "out.dat", fmt="shp")
    _bad(excinfo, "out.dat", ".shp or .zip", field="path")
    long_name = _grids()
    long_name.loc[1, "name"] = "网" * 90
    with pytest.raises(BadInput) as excinfo:
        write_layer(long_name, tmp_path / "out.shp")
    _bad(excinfo, "out.shp", "feature 1", "'name'", "254 bytes", field="name")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_existing_file_alone(tmp_path: Path, monkeypatch) -> None:
    target = write_layer(_grids(), tmp_path / "g.geojson")
    before = target.read_bytes()

    def broken(*args, **kwargs):
        Path(args[1]).write_text("half")
        raise pyogrio.errors.DataSourceError("disk full")

    monkeypatch.setattr(pyogrio, "write_dataframe", broken)
    for name in ("g.geojson", "g.gpkg", "g.shp", "g.zip"):
        with pytest.raises(BadInput) as excinfo:
            write_layer(_grids(), tmp_path / name)
        _bad(excinfo, name, "disk full", field="path")
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.geojson"]


def test_writing_4326_and_projected_frames(tmp_path: Path) -> None:
    grids = _grids()
    for crs in (4326, 4549):
        src = grids.set_crs(4326, allow_override=True) if crs == 4326 else grids.to_crs(crs)
        back = read_layer(write_layer(src, tmp_path / f"g{crs}.gpkg"))
        assert _same_geometry(back.geometry, grids.geometry, tolerance=1e-9)
        assert pyogrio.read_info(tmp_path / f"g{crs}.gpkg")["crs"] == "EPSG:4490"


# ---------------------------------------------------------------------------------- describe


def test_describe_layer(tmp_path: Path) -> None:
    grids = _grids()
    geoms = list(grids.geometry)
    geoms[1] = geoms[1].buffer(0)  # a plain Polygon
    grids = grids.set_geometry(gpd.GeoSeries(geoms, crs=4490))
    grids.to_file(tmp_path / "d.geojson", engine="pyogrio")
    info = describe_layer(tmp_path / "d.geojson")
    assert info["format"] == "geojson" and info["layer"] is None
    assert info["feature_count"] == 3
    assert info["fields"] == ["code", "name", "households", "community_code", "note"]
    assert info["crs"] == "EPSG:4490"
    assert info["geometry_types"] == {"MultiPolygon": 2, "Polygon": 1}
    assert info["bounds"][0] == pytest.approx(X0)
    assert info["encoding"] is None
    with pytest.raises(BadInput) as excinfo:
        describe_layer(tmp_path / "none.shp")
    _bad(excinfo, "none.shp", "does not exist", field="path")


def test_write_takes_a_store_shaped_frame(tmp_path: Path) -> None:
    """What a repository hands out: geometry column ``geom``, a dict column, a custom index."""
    grids = _grids().rename_geometry("geom")
    grids["properties"] = [{"来源": "街道"}, {}, {"n": 1}]
    grids.index = [10, 20, 30]
    back = read_layer(write_layer(grids, tmp_path / "g.gpkg"))
    assert back["properties"].tolist() == ['{"来源": "街道"}', "{}", '{"n": 1}']
    assert back["code"].tolist() == grids["code"].tolist()
    assert _same_geometry(back.geometry, grids.geometry, tolerance=0.0)
