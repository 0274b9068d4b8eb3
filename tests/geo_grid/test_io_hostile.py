"""Hostile and bad layer files: each is refused with one line naming the problem, or read safely.

Every file is built here in ``tmp_path`` (pyogrio, geopandas, zipfile, shapely). The reads
use the options the import service uses (:func:`_read_as_import`), so what passes here is what the
CLI import and the HTTP upload store, and what fails here stores nothing.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from geo_grid.errors import BadInput
from geo_grid.io import CHINA_EXTENT, ReadLimits, read_layer, write_layer

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

X0, Y0 = 118.9, 32.1  # Qixia, Nanjing
NAMES = ["尧化一网格", "仙林二网格", "马群三网格"]


def _read_as_import(path: Path, **kwargs) -> gpd.GeoDataFrame:
    """What ``services.layers.import_layer`` asks of the reader (limits default to the settings')."""
    kwargs.setdefault("invalid", "refuse")
    return read_layer(path, within=CHINA_EXTENT, **kwargs)


def _refused(path: Path, *needles: str, field: str = "path", **kwargs) -> BadInput:
    with pytest.raises(BadInput) as excinfo:
        _read_as_import(path, **kwargs)
    exc = excinfo.value
    assert "\n" not in exc.message, exc.message
    for needle in needles:
        assert needle in exc.message, exc.message
    assert exc.field == field, (exc.field, exc.message)
    return exc


def _grids(n: int = 3, x0: float = X0, y0: float = Y0, size: float = 0.01) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": [f"G{i:03d}" for i in range(n)], "name": [NAMES[i % 3] for i in range(n)]},
        geometry=[box(x0 + size * i, y0, x0 + size * (i + 1), y0 + size) for i in range(n)],
        crs=4490,
    )


def _zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _shapefile_parts(tmp_path: Path, frame: gpd.GeoDataFrame | None = None, **kw) -> dict:
    folder = tmp_path / "parts"
    folder.mkdir(exist_ok=True)
    pyogrio.write_dataframe(_grids() if frame is None else frame, folder / "grids.shp", **kw)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ------------------------------------------------------------------------------ size and count


def test_a_file_over_the_byte_limit_is_refused_unread(tmp_path: Path) -> None:
    path = write_layer(_grids(50), tmp_path / "big.geojson")
    _refused(path, "big.geojson", "over the", "limit", limits=ReadLimits(max_bytes=2000))
    assert len(_read_as_import(path)) == 50  # the default limit takes it


@pytest.mark.parametrize("ext", ["geojson", "gpkg", "csv"])
def test_too_many_features(tmp_path: Path, ext: str) -> None:
    path = write_layer(_grids(30, size=0.001), tmp_path / f"many.{ext}")
    _refused(path, "30 features", "more than the 20", limits=ReadLimits(max_features=20))
    assert len(_read_as_import(path, limits=ReadLimits(max_features=30))) == 30


def _star(vertices: int, x0: float = X0 + 0.005, y0: float = Y0 + 0.005) -> Polygon:
    """A valid polygon with exactly ``vertices`` coordinates (the closing one included)."""
    angles = np.linspace(0, 2 * np.pi, vertices - 1, endpoint=False)
    radii = np.where(np.arange(vertices - 1) % 2, 0.004, 0.002)
    return Polygon(np.c_[x0 + radii * np.cos(angles), y0 + radii * np.sin(angles)])


@pytest.mark.parametrize("ext", ["geojson", "gpkg", "csv", "zip"])
def test_a_feature_with_too_many_vertices_is_refused_naming_it_and_the_limit(
    tmp_path: Path, ext: str
) -> None:
    frame = _grids(3)
    frame.loc[1, "geometry"] = _star(501)
    path = write_layer(frame, tmp_path / f"spiky.{ext}")
    exc = _refused(
        path, "feature 1", "501 vertices", "500 allowed per feature", field="geometry",
        limits=ReadLimits(max_feature_vertices=500),
    )  # fmt: skip
    assert "simplify" in exc.message
    assert len(_read_as_import(path, limits=ReadLimits(max_feature_vertices=501))) == 3


def test_a_file_with_too_many_vertices_in_all_is_refused(tmp_path: Path) -> None:
    frame = _grids(4)
    frame["geometry"] = [_star(100, x0=X0 + 0.01 * i) for i in range(4)]
    path = write_layer(frame, tmp_path / "dense.gpkg")
    _refused(
        path, "400 vertices", "more than the 399 allowed in one file",
        limits=ReadLimits(max_vertices=399),
    )  # fmt: skip
    assert len(_read_as_import(path, limits=ReadLimits(max_vertices=400))) == 4


def test_the_default_limits_are_the_settings_defaults() -> None:
    from geo_grid.settings import Settings

    limits = ReadLimits()
    pairs = {
        "upload_max_bytes": limits.max_bytes,
        "upload_max_features": limits.max_features,
        "upload_max_vertices": limits.max_vertices,
        "geometry_max_vertices": limits.max_feature_vertices,
        "upload_max_unzipped_bytes": limits.max_unzipped_bytes,
        "upload_max_zip_ratio": limits.max_zip_ratio,
    }
    assert {name: Settings.model_fields[name].default for name in pairs} == pairs


@pytest.mark.parametrize("ext", ["geojson", "gpkg", "csv", "zip", "shp", "json"])
def test_empty_files(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"empty.{ext}"
    path.write_bytes(b"")
    _refused(path, f"empty.{ext}", "the file is empty")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("photo.gpkg", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8),
        ("notes.geojson", "这不是地理数据，只是一段文字。\n".encode()),
        ("config.json", b'{"hello": "world", "grids": [1, 2, 3]}'),
        ("table.gpkg", b"SQLite format 3\x00" + b"\x00" * 200),
        ("archive.zip", b"PK\x03\x04 definitely not a zip"),
        ("binary.csv", bytes(range(256)) * 4),
    ],
)
def test_files_that_are_not_geodata(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(BadInput) as excinfo:
        _read_as_import(path)
    assert excinfo.value.message.startswith(str(path))
    assert "\n" not in excinfo.value.message
    assert excinfo.value.field in ("path", "encoding", "wkt", "code_field")


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "grids.kml"
    path.write_text("<kml/>")
    _refused(path, "unsupported file type '.kml'")


# ----------------------------------------------------------------------------------- zip files


def test_zip_bomb_is_refused_by_its_ratio_before_unpacking(tmp_path: Path) -> None:
    parts = _shapefile_parts(tmp_path)
    parts["grids.dbf"] = parts["grids.dbf"] + b"\x00" * (8 * 1024 * 1024)  # 8 MiB of zeros
    bomb = _zip(tmp_path / "bomb.zip", parts)
    assert bomb.stat().st_size < 100_000
    _refused(bomb, "grids.dbf", "expands", "zip bomb")


def test_zip_declaring_too_much_unpacked_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path / "grids.zip", _shapefile_parts(tmp_path))
    _refused(path, "would unpack to", "limit", limits=ReadLimits(max_unzipped_bytes=500))
    assert len(_read_as_import(path)) == 3


def test_zip_whose_header_lies_about_a_size_is_refused(tmp_path: Path) -> None:
    parts = _shapefile_parts(tmp_path)
    parts["grids.dbf"] += b" " * 4096
    path = _zip(tmp_path / "liar.zip", parts)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("grids.dbf")
    # the central directory's uncompressed size of grids.dbf: claim 100 bytes
    offset = 0
    while True:
        offset = data.find(b"PK\x01\x02", offset)
        assert offset >= 0
        name_len = struct.unpack("<H", data[offset + 28 : offset + 30])[0]
        if data[offset + 46 : offset + 46 + name_len] == b"grids.dbf":
            break
        offset += 4
    assert struct.unpack("<I", data[offset + 24 : offset + 28])[0] == info.file_size
    data[offset + 24 : offset + 28] = struct.pack("<I", 100)
    path.write_bytes(bytes(data))
    with pytest.raises(BadInput) as excinfo:
        _read_as_import(path)
    assert excinfo.value.field == "path"
    assert "liar.zip" in excinfo.value.message


@pytest.mark.parametrize(
    "member",
    [
        "../grids.shp",
        "../../etc/cron.d/grids.shp",
        "/tmp/grids.shp",
        "C:\\\\grids.shp",
        "a/../../x.txt",
    ],
)
def test_zip_member_names_leaving_the_folder_are_refused(tmp_path: Path, member: str) -> None:
    parts = _shapefile_parts(tmp_path)
    evil = dict(parts)
    evil[member] = parts["grids.shp"]
    path = _zip(tmp_path / "traversal.zip", evil)
    _refused(path, "traversal.zip", "refused: zip member name", "points outside the archive")


def test_nested_zip_is_refused(tmp_path: Path) -> None:
    parts = _shapefile_parts(tmp_path)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    _refused(_zip(tmp_path / "outer.zip", {"inner.zip": inner.getvalue()}), "another archive")
    both = _zip(tmp_path / "both.zip", {**parts, "more/inner.zip": inner.getvalue()})
    _refused(both, "another archive", "more/inner.zip")


def test_zip_with_too_many_entries_is_refused(tmp_path: Path) -> None:
    parts = _shapefile_parts(tmp_path)
    junk = {f"junk/{i}.txt": b"x" for i in range(100)}
    _refused(_zip(tmp_path / "many.zip", {**parts, **junk}), "entries, more than 64")


@pytest.mark.parametrize("missing", [".shx", ".dbf"])
def test_zipped_shapefile_with_missing_parts(tmp_path: Path, missing: str) -> None:
    parts = {k: v for k, v in _shapefile_parts(tmp_path).items() if not k.endswith(missing)}
    _refused(_zip(tmp_path / "partial.zip", parts), "incomplete", f"{missing} missing")


@pytest.mark.parametrize("missing", [".shx", ".dbf"])
def test_plain_shapefile_with_missing_parts(tmp_path: Path, missing: str) -> None:
    target = write_layer(_grids(), tmp_path / "grids.shp")
    target.with_suffix(missing).unlink()
    _refused(target, "incomplete", f"{missing} missing")


# ------------------------------------------------------------------------------------ encodings


def test_cpg_saying_utf8_over_gbk_bytes_is_refused(tmp_path: Path) -> None:
    parts = _shapefile_parts(tmp_path, encoding="GBK")
    parts["grids.cpg"] = b"UTF-8"
    path = _zip(tmp_path / "liar.zip", parts)
    _refused(path, "not valid utf-8", "from .cpg", "encoding=", field="encoding")
    assert _read_as_import(path, encoding="gbk")["name"].tolist() == NAMES


def test_gbk_bytes_without_cpg_are_decoded(tmp_path: Path) -> None:
    parts = _shapefile_parts(tmp_path, encoding="GBK")
    parts.pop("grids.cpg", None)
    back = _read_as_import(_zip(tmp_path / "gbk.zip", parts))
    assert back["name"].tolist() == NAMES


def test_cpg_saying_gbk_over_utf8_bytes_is_refused_not_turned_to_mojibake(tmp_path: Path) -> None:
    parts = _shapefile_parts(tmp_path, encoding="UTF-8")
    parts["grids.cpg"] = b"GBK"
    path = _zip(tmp_path / "utf8.zip", parts)
    _refused(path, "says gb18030", "text is UTF-8", field="encoding")
    assert _read_as_import(path, encoding="utf-8")["name"].tolist() == NAMES


def test_gbk_csv_without_a_declared_encoding_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    rows = [
        f'G{i},{n},"{box(X0 + i * 0.01, Y0, X0 + (i + 1) * 0.01, Y0 + 0.01).wkt}"'
        for i, n in enumerate(NAMES)
    ]
    path.write_bytes(("code,name,wkt\n" + "\n".join(rows) + "\n").encode("gbk"))
    assert _read_as_import(path, crs=4490)["name"].tolist() == NAMES


# ----------------------------------------------------------------------------------- geometries


def test_z_and_m_are_dropped_keeping_the_footprint(tmp_path: Path) -> None:
    ring = [(X0, Y0, 12.5), (X0 + 0.01, Y0, 13.0), (X0 + 0.01, Y0 + 0.01, 14.0), (X0, Y0, 12.5)]
    frame = gpd.GeoDataFrame({"code": ["Z1"]}, geometry=[Polygon(ring)], crs=4490)
    pyogrio.write_dataframe(frame, tmp_path / "z.gpkg")
    back = _read_as_import(tmp_path / "z.gpkg")
    assert not back.geometry[0].has_z
    assert back.geometry[0].equals(MultiPolygon([Polygon([p[:2] for p in ring])]))
    csv = tmp_path / "zm.csv"
    csv.write_text(
        'code,wkt\nM1,"POLYGON ZM ((118.9 32.1 1 7, 118.91 32.1 1 7, 118.91 32.11 1 7, 118.9 32.1 1 7))"\n'
    )
    back = _read_as_import(csv, crs=4490)
    assert not back.geometry[0].has_z and not shapely.has_m(back.geometry[0])


def _curved_gpkg(path: Path) -> Path:
    """A GeoPackage whose one feature is a CurvePolygon (a circle of two arcs), written by GDAL
    from its WKB (shapely has no curves, so the geometry is spelled out byte by byte)."""
    r = 0.005
    arc = [(X0, Y0), (X0 + r, Y0 + r), (X0, Y0 + 2 * r), (X0 - r, Y0 + r), (X0, Y0)]
    ring = struct.pack("<BII", 1, 8, len(arc)) + b"".join(struct.pack("<dd", *p) for p in arc)
    curve = struct.pack("<BII", 1, 10, 1) + ring  # CurvePolygon(CircularString)
    pyogrio.raw.write(
        path, geometry=np.array([curve], dtype=object), field_data=[np.array(["G000"], dtype=object)],
        fields=["code"], geometry_type="Unknown", crs="EPSG:4490", driver="GPKG",
    )  # fmt: skip
    return path


def test_curved_gpkg_geometry_is_linearized(tmp_path: Path) -> None:
    back = _read_as_import(_curved_gpkg(tmp_path / "curved.gpkg"))
    geom = back.geometry[0]
    assert geom.geom_type == "MultiPolygon" and geom.is_valid
    assert len(geom.geoms[0].exterior.coords) > 20  # arcs became many short segments
    circle = Point(X0, Y0 + 0.005).buffer(0.005, quad_segs=64)
    assert abs(geom.area - circle.area) / circle.area < 0.01


def test_curved_wkt_in_csv_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "curved.csv"
    path.write_text(
        'code,wkt\nC1,"CURVEPOLYGON(CIRCULARSTRING(118.9 32.1, 118.905 32.105, 118.9 32.11, '
        '118.895 32.105, 118.9 32.1))"\n'
    )
    _refused(
        path, "feature 0", "curved geometry (CURVEPOLYGON)", "linearize", field="wkt", crs=4490
    )


def test_coordinates_out_of_range(tmp_path: Path) -> None:
    path = write_layer(_grids(), tmp_path / "ok.gpkg")
    frame = gpd.read_file(path)
    frame.geometry = frame.geometry.translate(xoff=100)  # lon 218.9
    pyogrio.write_dataframe(frame, tmp_path / "far.geojson")
    _refused(tmp_path / "far.geojson", "feature 0", "not longitude/latitude", field="crs")


def _swap(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = frame.copy()
    out.geometry = shapely.transform(np.asarray(frame.geometry.values), lambda xy: xy[:, ::-1])
    return out


def test_lat_lon_swapped_out_of_range(tmp_path: Path) -> None:
    pyogrio.write_dataframe(_swap(_grids()), tmp_path / "swapped.geojson")
    _refused(
        tmp_path / "swapped.geojson", "feature 0", "looks like lat/lon swapped", field="geometry"
    )


def test_lat_lon_swapped_in_range_but_outside_china(tmp_path: Path) -> None:
    urumqi = _grids(x0=87.6, y0=43.8)
    assert len(_read_as_import(write_layer(urumqi, tmp_path / "urumqi.gpkg"))) == 3
    pyogrio.write_dataframe(_swap(urumqi), tmp_path / "swapped.gpkg")  # lon 43.8, lat 87.6
    _refused(
        tmp_path / "swapped.gpkg", "outside China", "looks like lat/lon swapped", field="geometry"
    )


def test_a_layer_outside_china_is_refused_by_the_import(tmp_path: Path) -> None:
    path = write_layer(_grids(x0=2.35, y0=48.85), tmp_path / "paris.gpkg")
    _refused(path, "feature 0", "outside the expected area", field="geometry")
    assert len(read_layer(path)) == 3  # the reader alone (e.g. for a check) still reads it


def test_self_intersecting_polygon_is_refused_with_index_and_location(tmp_path: Path) -> None:
    bowtie = Polygon([(X0, Y0), (X0 + 0.01, Y0 + 0.01), (X0 + 0.01, Y0), (X0, Y0 + 0.01)])
    frame = _grids(3)
    frame.loc[1, "geometry"] = bowtie
    path = write_layer(frame, tmp_path / "bowtie.gpkg")
    exc = _refused(path, "feature 1", "'G001'", "Self-intersection at (118.905", field="geometry")
    assert "make_valid" in exc.message
    fixed = _read_as_import(path, invalid="make_valid")
    assert fixed.geometry.is_valid.all() and fixed.geom_type.eq("MultiPolygon").all()
    assert fixed.geometry[1].area == pytest.approx(0.01 * 0.01 / 2, rel=1e-6)  # both triangles
    assert fixed.geometry[0].equals(frame.geometry[0])  # valid features are untouched
    assert not read_layer(path).geometry[1].is_valid  # the checker's default keeps it as is


@pytest.mark.parametrize(
    "geometry", [LineString([(X0, Y0), (X0 + 0.01, Y0 + 0.01)]), Point(X0, Y0)]
)
def test_non_polygon_geometry_is_refused(tmp_path: Path, geometry) -> None:
    frame = _grids(2)
    frame.loc[1, "geometry"] = geometry
    pyogrio.write_dataframe(frame, tmp_path / "mixed.geojson")
    _refused(tmp_path / "mixed.geojson", "feature 1", geometry.geom_type, field="geometry")
