"""``POST /api/v1/layers/{layer}/imports``: a good upload is stored and listed; every bad one answers
4xx with ``{"error": {"message", "field"}}`` and stores nothing (generation and grid counts).

Every request goes through the ``client`` fixture, whose headers come from :func:`headers` (a
planner's token from ``tests/auth.py``). Each test uploads into a fresh layer ``t_up_<hex>``, never
into the demo's layers.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from auth import token_headers
from fastapi.testclient import TestClient
from shapely.geometry import LineString, Polygon, box
from sqlalchemy import text

from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.io import write_layer
from geo_grid.settings import get_settings

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

X0, Y0 = 118.9, 32.1
NAMES = ["尧化一网格", "仙林二网格", "马群三网格"]


def headers(role: str = "planner") -> dict[str, str]:
    """The credentials of every request in this file."""
    return token_headers(role)


@pytest.fixture(scope="module")
def client_headers() -> dict[str, str]:
    """``client`` (tests/conftest.py) sends :func:`headers`."""
    return headers()


@pytest.fixture
def layer_key(demo_db) -> str:
    key = f"t_up_{uuid.uuid4().hex[:10]}"
    with session_scope() as s:
        repos.grids.ensure_layer(s, key, "上传测试")
    return key


def _store() -> dict[str, int]:
    """What an import would change: generations and grids, all layers."""
    with session_scope() as s:
        return {
            "generations": s.execute(text("SELECT count(*) FROM generation")).scalar_one(),
            "grids": s.execute(text("SELECT count(*) FROM grid")).scalar_one(),
        }


def _grids(n: int = 3, x0: float = X0, y0: float = Y0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "code": [f"U{i:03d}" for i in range(n)],
            "name": [NAMES[i % 3] for i in range(n)],
            "households": [300 + i for i in range(n)],
        },
        geometry=[box(x0 + 0.01 * i, y0, x0 + 0.01 * (i + 1), y0 + 0.01) for i in range(n)],
        crs=4490,
    )


def _file_bytes(frame: gpd.GeoDataFrame, name: str, tmp: Path) -> bytes:
    return write_layer(frame, tmp / name).read_bytes()


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _shapefile_parts(tmp: Path, frame: gpd.GeoDataFrame | None = None, **kw) -> dict[str, bytes]:
    folder = tmp / f"shp_{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    pyogrio.write_dataframe(_grids() if frame is None else frame, folder / "grids.shp", **kw)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _upload(client: TestClient, layer: str, name: str, data: bytes, **fields: str):
    return client.post(f"/api/v1/layers/{layer}/imports", files={"file": (name, data)}, data=fields)


def _refused(response, status: int, field: str, *needles: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field, error
    assert "\n" not in error["message"]
    for needle in needles:
        assert needle in error["message"], error["message"]


# ---------------------------------------------------------------------------------------- good


def test_good_upload_is_stored_as_a_draft_and_listed(client, layer_key, tmp_path) -> None:
    before = _store()
    response = _upload(
        client, layer_key, "grids.gpkg", _file_bytes(_grids(), "g.gpkg", tmp_path), note="上传"
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {
        "layer": layer_key,
        "district_code": "320113",
        "generation": 1,
        "generation_id": body["generation_id"],
        "status": "draft",
        "grids": 3,
    }
    assert _store() == {"generations": before["generations"] + 1, "grids": before["grids"] + 3}
    listed = {r["key"]: r for r in client.get("/api/v1/layers").json()["data"]}
    assert listed[layer_key]["drafts"] == 1
    grids = client.get(f"/api/v1/layers/{layer_key}/grids", params={"generation": 1}).json()
    props = sorted((f["properties"]["code"], f["properties"]["name"]) for f in grids["features"])
    assert props == [("U000", NAMES[0]), ("U001", NAMES[1]), ("U002", NAMES[2])]
    with session_scope() as s:
        gen = repos.grids.generation_row(s, body["generation_id"])
    assert (gen["source"], gen["author"], gen["note"]) == ("grids.gpkg", "user:tester", "上传")


def test_zipped_gbk_shapefile_without_cpg_is_decoded(client, layer_key, tmp_path) -> None:
    parts = _shapefile_parts(tmp_path, encoding="GBK")
    parts.pop("grids.cpg", None)
    response = _upload(client, layer_key, "网格.zip", _zip(parts))
    assert response.status_code == 201, response.text
    grids = client.get(f"/api/v1/layers/{layer_key}/grids", params={"generation": 1}).json()
    assert sorted(f["properties"]["name"] for f in grids["features"]) == sorted(NAMES)


def test_make_valid_repairs_a_self_intersecting_polygon(client, layer_key, tmp_path) -> None:
    frame = _grids()
    frame.loc[1, "geometry"] = Polygon(
        [(X0, Y0), (X0 + 0.01, Y0 + 0.01), (X0 + 0.01, Y0), (X0, Y0 + 0.01)]
    )
    data = _file_bytes(frame, "bowtie.geojson", tmp_path)
    _refused(
        _upload(client, layer_key, "bowtie.geojson", data),
        422,
        "geometry",
        "feature 1",
        "Self-intersection at (",
    )
    response = _upload(client, layer_key, "bowtie.geojson", data, invalid="make_valid")
    assert response.status_code == 201, response.text
    assert response.json()["grids"] == 3
    # a department layer may be kept as drawn, for the coverage checks to report the bow-tie
    kept = _upload(client, layer_key, "bowtie.geojson", data, invalid="keep")
    assert kept.status_code == 201, kept.text
    with session_scope() as s:
        valid = s.execute(
            text("SELECT bool_and(ST_IsValid(geom)) FROM grid WHERE generation_id = :g"),
            {"g": kept.json()["generation_id"]},
        ).scalar_one()
    assert valid is False
    before = _store()
    _refused(_upload(client, "unified", "bowtie.geojson", data, invalid="keep"), 422, "geometry")
    assert _store() == before


def test_csv_with_wkt_and_crs_field(client, layer_key) -> None:
    rows = [
        f'U{i},{n},"{box(X0 + 0.01 * i, Y0, X0 + 0.01 * (i + 1), Y0 + 0.01).wkt}"'
        for i, n in enumerate(NAMES)
    ]
    data = ("code,name,wkt\n" + "\n".join(rows) + "\n").encode("utf-8-sig")
    _refused(_upload(client, layer_key, "grids.csv", data), 422, "crs", "no coordinate system")
    response = _upload(client, layer_key, "grids.csv", data, crs="4490")
    assert response.status_code == 201, response.text


# ----------------------------------------------------------------------------------------- bad


def _png(tmp: Path) -> tuple[str, bytes, dict, int, str, tuple]:
    return (
        "photo.gpkg",
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        {},
        422,
        "file",
        (
            "photo.gpkg",
            "cannot read",
        ),
    )


def _empty(tmp: Path):
    return "empty.geojson", b"", {}, 422, "file", ("empty.geojson", "the file is empty")


def _not_geojson(tmp: Path):
    return (
        "data.geojson",
        json.dumps({"hello": "world"}).encode(),
        {},
        422,
        "file",
        ("data.geojson",),
    )


def _unsupported(tmp: Path):
    return "grids.kml", b"<kml/>", {}, 422, "file", ("unsupported file type '.kml'",)


def _zip_bomb(tmp: Path):
    parts = _shapefile_parts(tmp)
    parts["grids.dbf"] += b"\x00" * (8 * 1024 * 1024)
    return "bomb.zip", _zip(parts), {}, 422, "file", ("zip bomb",)


def _traversal(tmp: Path):
    parts = _shapefile_parts(tmp)
    parts["../../evil.shp"] = parts["grids.shp"]
    return "evil.zip", _zip(parts), {}, 422, "file", ("'../../evil.shp'", "outside the archive")


def _nested(tmp: Path):
    return (
        "outer.zip",
        _zip({"inner.zip": _zip(_shapefile_parts(tmp))}),
        {},
        422,
        "file",
        ("another archive",),
    )


def _missing_shx(tmp: Path):
    parts = {k: v for k, v in _shapefile_parts(tmp).items() if not k.endswith(".shx")}
    return "noshx.zip", _zip(parts), {}, 422, "file", (".shx missing",)


def _missing_dbf(tmp: Path):
    parts = {k: v for k, v in _shapefile_parts(tmp).items() if not k.endswith(".dbf")}
    return "nodbf.zip", _zip(parts), {}, 422, "file", (".dbf missing",)


def _cpg_lies(tmp: Path):
    parts = _shapefile_parts(tmp, encoding="GBK")
    parts["grids.cpg"] = b"UTF-8"
    return "liar.zip", _zip(parts), {}, 422, "encoding", ("not valid utf-8", "from .cpg")


def _swapped(tmp: Path):
    frame = _grids()
    frame.geometry = frame.geometry.map(lambda g: Polygon([(y, x) for x, y in g.exterior.coords]))
    data = json.dumps(json.loads(frame.to_json())).encode()
    return "swapped.geojson", data, {}, 422, "geometry", ("looks like lat/lon swapped",)


def _out_of_range(tmp: Path):
    data = json.loads(_grids().to_json())
    data["features"][0]["geometry"]["coordinates"][0][0][0] = 518.9
    data["features"][0]["geometry"]["coordinates"][0][-1][0] = 518.9
    return (
        "far.geojson",
        json.dumps(data).encode(),
        {},
        422,
        "crs",
        (
            "feature 0",
            "not longitude/latitude",
        ),
    )


def _outside_china(tmp: Path):
    data = _file_bytes(_grids(x0=2.35, y0=48.85), "paris.gpkg", tmp)
    return "paris.gpkg", data, {}, 422, "geometry", ("outside the expected area",)


def _lines(tmp: Path):
    frame = _grids()
    frame.loc[2, "geometry"] = LineString([(X0, Y0), (X0 + 0.01, Y0 + 0.01)])
    return (
        "lines.geojson",
        frame.to_json().encode(),
        {},
        422,
        "geometry",
        (
            "feature 2",
            "LineString",
        ),
    )


def _curved_csv(tmp: Path):
    data = (
        b'code,wkt\nC1,"CURVEPOLYGON(CIRCULARSTRING(118.9 32.1, 118.905 32.105, 118.9 32.11, '
        b'118.895 32.105, 118.9 32.1))"\n'
    )
    return "curved.csv", data, {"crs": "4490"}, 422, "wkt", ("curved geometry",)


def _unknown_field(tmp: Path):
    data = _file_bytes(_grids(), "g.gpkg", tmp)
    return "g.gpkg", data, {"code_feild": "WGBM"}, 422, "code_feild", ("unknown form field",)


def _bad_make_valid(tmp: Path):
    data = _file_bytes(_grids(), "g.gpkg", tmp)
    return "g.gpkg", data, {"invalid": "perhaps"}, 422, "invalid", ("refuse", "keep")


def _nul_in_note(tmp: Path):
    data = _file_bytes(_grids(), "g.gpkg", tmp)
    return "g.gpkg", data, {"note": "a\x00b"}, 422, "note", ("NUL",)


def _missing_code_field(tmp: Path):
    data = _file_bytes(_grids(), "g.gpkg", tmp)
    return "g.gpkg", data, {"code_field": "WGBM"}, 422, "code_field", ("no field 'WGBM'",)


BAD = [
    _png, _empty, _not_geojson, _unsupported, _zip_bomb, _traversal, _nested, _missing_shx,
    _missing_dbf, _cpg_lies, _swapped, _out_of_range, _outside_china, _lines, _curved_csv,
    _unknown_field, _bad_make_valid, _missing_code_field, _nul_in_note,
]  # fmt: skip


@pytest.mark.parametrize("case", BAD, ids=[c.__name__.strip("_") for c in BAD])
def test_bad_upload_answers_4xx_and_stores_nothing(client, layer_key, tmp_path, case) -> None:
    name, data, fields, status, field, needles = case(tmp_path)
    before = _store()
    _refused(_upload(client, layer_key, name, data, **fields), status, field, *needles)
    assert _store() == before


def test_too_many_features(client, layer_key, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(get_settings(), "upload_max_features", 2)
    before = _store()
    data = _file_bytes(_grids(3), "g.gpkg", tmp_path)
    _refused(_upload(client, layer_key, "g.gpkg", data), 422, "file", "3 features", "more than")
    assert _store() == before


def test_too_many_vertices_per_feature_and_per_file(
    client, layer_key, tmp_path, monkeypatch
) -> None:
    before = _store()
    data = _file_bytes(_grids(3), "g.gpkg", tmp_path)  # three boxes: 5 vertices each
    monkeypatch.setattr(get_settings(), "geometry_max_vertices", 4)
    _refused(
        _upload(client, layer_key, "g.gpkg", data), 422, "geometry",
        "g.gpkg: feature 0", "5 vertices, more than the 4 allowed per feature",
    )  # fmt: skip
    monkeypatch.setattr(get_settings(), "geometry_max_vertices", 5)
    monkeypatch.setattr(get_settings(), "upload_max_vertices", 14)
    _refused(
        _upload(client, layer_key, "g.gpkg", data), 422, "file",
        "15 vertices, more than the 14 allowed in one file",
    )  # fmt: skip
    assert _store() == before
    monkeypatch.setattr(get_settings(), "upload_max_vertices", 15)
    assert _upload(client, layer_key, "g.gpkg", data).status_code == 201


def test_an_upload_leaves_no_file_behind(client, layer_key, tmp_path) -> None:
    """Spooled files and unpacked zips live under the home's tmp (tests/api/test_bodies.py sees
    them there mid-upload) only while their request runs."""
    data = _file_bytes(_grids(), "g.gpkg", tmp_path)
    assert _upload(client, layer_key, "g.gpkg", data).status_code == 201
    assert _upload(client, layer_key, "g.gpkg", data, invalid="perhaps").status_code == 422
    zipped = _zip(_shapefile_parts(tmp_path))
    assert _upload(client, layer_key, "g.zip", zipped).status_code == 201
    home_tmp = get_settings().tmp_dir
    assert home_tmp.is_dir()
    left = {p for p in home_tmp.rglob("*") if p.name != ".lock"}
    assert left == {p for p in home_tmp.iterdir() if p.is_dir()}  # the processes' empty folders


def test_too_large_is_413_whether_declared_or_streamed(
    client, layer_key, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(get_settings(), "upload_max_bytes", 5_000)
    before = _store()
    data = _file_bytes(_grids(60), "big.geojson", tmp_path)
    assert len(data) > 5_000
    _refused(_upload(client, layer_key, "big.geojson", data), 413, "file", "limit")
    # over the file limit but within the form's slack: caught while copying the part
    monkeypatch.setattr(get_settings(), "upload_max_bytes", len(data) - 100)
    _refused(_upload(client, layer_key, "big.geojson", data), 413, "file", "limit")
    # no Content-Length (chunked): the body is cut off by the stream cap
    monkeypatch.setattr(get_settings(), "upload_max_bytes", 1_000)
    boundary = "geo-grid-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.geojson"'
            f"\r\nContent-Type: application/geo+json\r\n\r\n"
        ).encode()
        + data * 30
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 16_384):
            yield body[i : i + 16_384]

    response = client.post(
        f"/api/v1/layers/{layer_key}/imports",
        content=chunks(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    _refused(response, 413, "file", "limit")
    assert _store() == before


def test_not_multipart_and_no_file(client, layer_key) -> None:
    before = _store()
    _refused(
        client.post(f"/api/v1/layers/{layer_key}/imports", json={"file": "x"}),
        422,
        "file",
        "multipart/form-data",
    )
    _refused(
        client.post(f"/api/v1/layers/{layer_key}/imports", data={"note": "no file"}, files={}),
        422,
        "file",
    )
    assert _store() == before


def test_unknown_layer_is_404_and_stores_nothing(client, tmp_path) -> None:
    before = _store()
    data = _file_bytes(_grids(), "g.gpkg", tmp_path)
    _refused(_upload(client, "t_up_nowhere", "g.gpkg", data), 404, "layer", "unknown layer")
    assert _store() == before


def test_only_planners_and_admins_may_upload(client, layer_key, tmp_path) -> None:
    data = _file_bytes(_grids(), "g.gpkg", tmp_path)
    before = _store()
    response = client.post(
        f"/api/v1/layers/{layer_key}/imports",
        files={"file": ("g.gpkg", data)},
        headers=headers("viewer"),
    )
    assert response.status_code == 403, response.text
    assert _store() == before
