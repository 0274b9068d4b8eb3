"""Checks, merge and crosswalk over HTTP on the demo district."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from ground_truth import TRUTH
from job_wait import job_result
from shapely.geometry import shape

from geo_grid.io import write_layer

ROOT = Path(__file__).resolve().parents[2]


def _pairs(defects: list[dict]) -> set[tuple[str, frozenset]]:
    return {(d["kind"], frozenset(d["ids"])) for d in defects}


def test_upload_a_file_with_its_parent(client, demo, tmp_path):
    layer = write_layer(demo.grids["emergency"], tmp_path / "emergency.geojson")
    parent = write_layer(demo.communities, tmp_path / "communities.gpkg")
    with open(layer, "rb") as f, open(parent, "rb") as p:
        r = client.post(
            "/api/v1/checks",
            files={"file": ("emergency.geojson", f), "parent": ("communities.gpkg", p)},
            data={"gap_width_m": "20"},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == "emergency.geojson" and body["layer"] is None
    assert body["summary"]["features"] == TRUTH["layers"]["emergency"]
    assert not body["summary"]["valid"]
    truth = [d for d in TRUTH["defects"] if d["layer"] == "emergency"]
    assert {(d["kind"], frozenset(d["ids"])) for d in truth} <= _pairs(body["defects"])
    for d in body["defects"]:
        if d["kind"] in ("overlap", "gap", "sliver_gap"):  # area defects are real polygons
            assert shape(d["geometry"]).is_valid and shape(d["geometry"]).area > 0


def test_upload_of_the_real_districts_in_gcj02_is_clean(client):
    path = ROOT / "data" / "nanjing_districts_gcj02.geojson"
    with open(path, "rb") as f:
        r = client.post("/api/v1/checks", files={"file": (path.name, f)}, data={"crs": "gcj02"})
    assert r.status_code == 200, r.text
    assert r.json()["summary"] == {**r.json()["summary"], "features": 11, "valid": True}
    assert r.json()["defects"] == []


def test_check_a_stored_layer_then_read_it_back(client):
    r = client.post("/api/v1/checks", json={"layer": "urban_mgmt", "refresh": True})
    posted = job_result(client, r)  # a stored layer's check is a job
    assert posted["layer"] == "urban_mgmt" and posted["cached"] is False
    truth = [d for d in TRUTH["defects"] if d["layer"] == "urban_mgmt"]
    assert {(d["kind"], frozenset(d["ids"])) for d in truth} <= _pairs(posted["defects"])
    got = client.get("/api/v1/layers/urban_mgmt/checks").json()
    assert got["cached"] is True and got["summary"] == posted["summary"]
    assert _pairs(got["defects"]) == _pairs(posted["defects"])
    clean = client.get("/api/v1/layers/unified/checks").json()
    assert clean["summary"]["valid"] and clean["generation"] == 1


@pytest.mark.parametrize(
    "kwargs, status, field",
    [
        ({"json": {"layer": "nope"}}, 404, "layer"),
        ({"json": {"layer": "ecology", "generation": 0}}, 422, "generation"),
        ({"json": {"generation": 1}}, 422, "layer"),
        ({"content": b"x", "headers": {"content-type": "text/plain"}}, 422, "body"),
        ({"files": {"file": ("grids.txt", b"not a layer")}}, 422, None),
        ({"files": {"parent": ("p.geojson", b"{}")}}, 422, "file"),
    ],
)
def test_bad_check_requests(client, kwargs, status, field):
    r = client.post("/api/v1/checks", **kwargs)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["message"]
    if field is not None:
        assert error["field"] == field


def test_layer_checks_unknown_layer_is_404(client):
    assert client.get("/api/v1/layers/nope/checks").status_code == 404


def test_merge_then_crosswalk(client, demo, accounts):
    r = client.post("/api/v1/merge", json={"layers": ["urban_mgmt", "ecology"]})
    body = job_result(client, r)
    assert _merge_author(body["merge_id"]) == f"user:{accounts['admin'].username}"  # not "api"
    assert set(body["departments"]) == {"urban_mgmt", "ecology"}
    assert body["proposed"]["check"]["valid"] and body["draft_generation"] is None
    assert body["crosswalk"] > 0 and set(body["conformance"]) >= {"splits_unified"}
    code = demo.grids["unified"]["code"].iloc[0]
    walk = client.get(f"/api/v1/grids/{code}/crosswalk").json()
    assert walk["code"] == code and walk["generation"] == 1
    assert {row["layer"] for row in walk["data"]} <= {
        "urban_mgmt",
        "ecology",
        "politics_law",
        "emergency",
    }
    assert {"urban_mgmt", "ecology"} <= set(walk["covered"])
    for row in walk["data"]:
        assert 0 < row["share_of_unified"] <= 1 and 0 < row["share_of_dept"] <= 1
    assert client.get("/api/v1/grids/999999999999999/crosswalk").status_code == 404
    bad = client.post("/api/v1/merge", json={"layers": []})
    assert bad.status_code == 422
    assert client.post("/api/v1/merge", json={"layers": ["nope"]}).status_code == 404


def _merge_author(merge_id: int) -> str | None:
    """Who the store says ran a merge."""
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    with session_scope() as s:
        sql = text("SELECT author FROM merge_run WHERE id = :m")
        return s.execute(sql, {"m": merge_id}).scalar_one()


def test_an_upload_over_the_byte_limit_is_413_not_422(client, demo, tmp_path, monkeypatch):
    from geo_grid.settings import get_settings

    layer = write_layer(demo.grids["emergency"], tmp_path / "emergency.geojson")
    monkeypatch.setattr(get_settings(), "upload_max_bytes", layer.stat().st_size - 1)
    with open(layer, "rb") as f:
        r = client.post("/api/v1/checks", files={"file": ("emergency.geojson", f)})
    assert r.status_code == 413, r.text
    assert r.json()["error"]["field"] == "file"
    assert "GEO_GRID_UPLOAD_MAX_BYTES" in r.json()["error"]["message"]


def test_a_checked_file_is_held_to_the_vertex_limits(client, demo, tmp_path, monkeypatch):
    from geo_grid.settings import get_settings

    grids = demo.grids["emergency"]
    most = int(grids.geometry.count_coordinates().max())
    layer = write_layer(grids, tmp_path / "emergency.gpkg")
    monkeypatch.setattr(get_settings(), "geometry_max_vertices", most - 1)
    with open(layer, "rb") as f:
        r = client.post("/api/v1/checks", files={"file": ("emergency.gpkg", f)})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == "geometry" and error["message"].startswith("emergency.gpkg: feature")
    assert f"{most} vertices, more than the {most - 1} allowed per feature" in error["message"]


@pytest.mark.parametrize("name", ["gap_width_m", "crs"])
def test_a_text_field_sent_as_a_file_is_refused_by_name(client, demo, tmp_path, name):
    """Once a TypeError (500, connection reset) for ``gap_width_m`` and an object repr for ``crs``."""
    layer = write_layer(demo.grids["emergency"], tmp_path / "emergency.geojson")
    files = {"file": ("emergency.geojson", layer.read_bytes()), name: ("x.txt", b"20")}
    r = client.post("/api/v1/checks", files=files)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == {"message": f"{name}: send a text field, not a file", "field": name}


@pytest.mark.parametrize(
    ("files", "names"),
    [
        ({"file": ("我的网格.geojson", b"{}")}, ["我的网格.geojson"]),
        ({"file": ("grids.gpkg", b"not a geopackage")}, ["grids.gpkg"]),
        ({"file": ("grids.shp", b"no sidecars")}, ["grids.shp"]),
        ({"file": ("grids.csv", b"code,wkt\n1,POLYGON((0 0\n")}, ["grids.csv"]),
        ({"file": ("grids.zip", b"PK not a zip")}, ["grids.zip"]),
        ({"file": ("ok.geojson", b'{"type":"FeatureCollection","features":[]}')}, ["ok.geojson"]),
    ],
)
def test_check_errors_name_the_upload_as_the_client_sent_it(client, files, names):
    r = client.post("/api/v1/checks", files=files)
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    assert all(n in message for n in names), message
    for leak in (
        "/tmp",
        tempfile.gettempdir(),
        "geo-grid-check",
        "UploadFile",
        "file.",
        "object at 0x",
    ):
        assert leak not in message, (leak, message)


def test_a_bad_parent_is_named_as_sent(client, demo, tmp_path):
    layer = write_layer(demo.grids["emergency"], tmp_path / "emergency.geojson")
    r = client.post("/api/v1/checks", files={"file": ("e.geojson", layer.read_bytes()),
                                             "parent": ("社区.gpkg", b"broken")})  # fmt: skip
    assert r.status_code == 422
    message = r.json()["error"]["message"]
    assert message.startswith("社区.gpkg: cannot read the file") and "/tmp" not in message
