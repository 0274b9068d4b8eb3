"""The plans API: create, preview and store a split, refusals with reasons, validate, diff, publish.

Edits run on drafts of the demo's unified layer; the publish test uses a private copy layer so the
unified layer's published generation never changes.
"""

from __future__ import annotations

import pyogrio
import shapely
from job_wait import job_result
from shapely.geometry import mapping, shape

from geo_grid.db import repos
from geo_grid.db.session import session_scope

CODE = "320113001002001"


def _grid(code: str):
    with session_scope() as s:
        gen = repos.grids.resolve_generation(s, "unified", district="320113")
        return repos.grids.read_grids(s, generation_id=gen["id"], codes=[code]).geometry.iloc[0]


def _line_across(geom) -> dict:
    c = geom.centroid
    minx, miny, maxx, maxy = geom.bounds
    return mapping(shapely.LineString([(minx - 1e-3, c.y), (maxx + 1e-3, c.y)]))


def test_a_refused_geopackage_diff_leaves_no_folder_behind(client):
    """The GeoPackage is written to a folder of its own, removed once the file is sent; a diff
    refused before that (no such plan) removes it at once."""
    from geo_grid import scratch

    before = set(scratch.process_dir().glob("diff_*"))
    r = client.get("/api/v1/plans/999999/diff", params={"format": "gpkg"})
    assert r.status_code == 404, r.text
    assert set(scratch.process_dir().glob("diff_*")) == before


def test_create_preview_split_validate_diff(client, tmp_path):
    created = client.post("/api/v1/plans", json={"layer": "unified", "note": "api test"})
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert created.json()["status"] == "open" and created.json()["grids"] == 1063
    body = {"grid": CODE, "line": _line_across(_grid(CODE))}
    preview = client.post(f"/api/v1/plans/{pid}/split?dry_run=true", json=body)
    assert preview.status_code == 200, preview.text
    assert preview.json()["dry_run"] is True and preview.json()["seq"] is None
    assert client.get(f"/api/v1/plans/{pid}").json()["edits"] == 0  # nothing stored
    done = client.post(f"/api/v1/plans/{pid}/split", json=body).json()
    assert done["seq"] == 1 and len(done["added"]) == 1
    assert done["impact"] == preview.json()["impact"]
    feats = done["grids"]["features"]
    assert {f["id"] for f in feats} == {CODE, done["added"][0]}
    # the two pieces make up the old grid
    union = shapely.union_all([shape(f["geometry"]) for f in feats])
    assert abs(union.area - _grid(CODE).area) < 1e-12
    hh = {g["code"]: g for g in done["impact"]["grids"]}
    assert (
        hh[CODE]["before"]["households"]
        == hh[CODE]["after"]["households"] + hh[done["added"][0]]["after"]["households"]
    )
    valid = client.post(f"/api/v1/plans/{pid}/validate").json()
    assert valid["valid"] is True and valid["grids"] == 1064
    diff = client.get(f"/api/v1/plans/{pid}/diff").json()
    assert diff["type"] == "FeatureCollection"
    assert diff["summary"]["added"] == 1 and diff["summary"]["changed"] == 1
    assert {f["properties"]["change"] for f in diff["features"]} == {"added", "changed"}
    assert len(diff["before"]["features"]) == 1
    gpkg = client.get(f"/api/v1/plans/{pid}/diff?format=gpkg")
    assert gpkg.status_code == 200
    path = tmp_path / "diff.gpkg"
    path.write_bytes(gpkg.content)
    layers = dict(pyogrio.list_layers(path))  # a GeoPackage QGIS opens: the diff and the before
    assert {"diff", "before"} <= set(layers)
    assert pyogrio.read_info(path, layer="diff")["crs"] == "EPSG:4490"


def test_refusals_name_the_reason(client):
    pid = client.post("/api/v1/plans", json={"layer": "unified"}).json()["id"]
    miss = {"type": "LineString", "coordinates": [[100.0, 30.0], [100.001, 30.0]]}
    r = client.post(f"/api/v1/plans/{pid}/split", json={"grid": CODE, "line": miss})
    assert r.status_code == 422 and "does not cross" in r.json()["error"]["message"]
    r = client.post(f"/api/v1/plans/{pid}/split", json={"grid": "320113999999999", "line": miss})
    assert r.status_code == 404
    r = client.post(
        f"/api/v1/plans/{pid}/merge", json={"grids": ["320113001001001", "320113001002001"]}
    )
    assert r.status_code == 422 and "different communities" in r.json()["error"]["message"]
    r = client.post(
        f"/api/v1/plans/{pid}/recode", json={"grid": "320113001001001", "code": "320113001001002"}
    )
    assert r.status_code == 409
    r = client.post(f"/api/v1/plans/{pid}/split", json={"grid": CODE, "line": {"type": "Point"}})
    assert r.status_code == 422
    assert client.post("/api/v1/plans/999999/validate").status_code == 404


def test_merge_reshape_and_suggestions(client):
    pid = client.post("/api/v1/plans", json={"layer": "unified"}).json()["id"]
    base = client.get(f"/api/v1/plans/{pid}/suggest").json()["over"]  # the demo's over-filled
    r = client.post(
        f"/api/v1/plans/{pid}/merge", json={"grids": ["320113001001001", "320113001001002"]}
    )
    assert r.status_code == 200 and r.json()["removed"] == ["320113001001002"]
    new = _grid("320113001001005").buffer(1.5e-4)
    r = client.post(
        f"/api/v1/plans/{pid}/reshape", json={"grid": "320113001001005", "geometry": mapping(new)}
    )
    assert r.status_code == 200, r.text
    sug = client.get(f"/api/v1/plans/{pid}/suggest").json()
    assert sug["over"] == base + 1
    split = next(s for s in sug["suggestions"] if s["grids"] == ["320113001001001"])
    assert split["kind"] == "split"
    r = client.post(f"/api/v1/plans/{pid}/accept-suggestion", json={"ids": [split["id"]]})
    assert job_result(client, r)["out_of_band"] == sug["out_of_band"] - 1
    assert client.post(f"/api/v1/plans/{pid}/validate").json()["valid"] is True


def test_publish_on_a_copy_layer_and_409_when_stale(client, scratch_layer):
    key, gid = scratch_layer("community_code LIKE '320113004%'")
    p1 = client.post("/api/v1/plans", json={"layer": key}).json()["id"]
    p2 = client.post("/api/v1/plans", json={"layer": key}).json()["id"]
    r = client.post(f"/api/v1/plans/{p1}/publish")
    assert r.status_code == 200, r.text
    assert r.json()["retired_generation_id"] == gid
    r = client.post(f"/api/v1/plans/{p2}/publish")
    assert r.status_code == 409
    assert client.post(f"/api/v1/plans/{p1}/publish").status_code == 409


def test_a_geometry_over_the_vertex_limit_is_refused_naming_it(client, monkeypatch):
    from geo_grid.settings import get_settings

    pid = client.post("/api/v1/plans", json={"layer": "unified"}).json()["id"]
    grid = _grid(CODE)
    line = shapely.segmentize(shapely.LineString(_line_across(grid)["coordinates"]), 1e-5)
    outline = shapely.segmentize(grid.buffer(1e-4), 1e-5)
    limit = int(min(shapely.get_num_coordinates(line), shapely.get_num_coordinates(outline))) - 1
    monkeypatch.setattr(get_settings(), "geometry_max_vertices", limit)
    for op, body, field, geom in (
        ("split", {"grid": CODE, "line": mapping(line)}, "line", line),
        ("reshape", {"grid": CODE, "geometry": mapping(outline)}, "geometry", outline),
    ):
        r = client.post(f"/api/v1/plans/{pid}/{op}?dry_run=true", json=body)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["field"] == field
        n = int(shapely.get_num_coordinates(geom))
        assert f"{n} vertices, more than the {limit} allowed" in error["message"]
    monkeypatch.setattr(get_settings(), "geometry_max_vertices", 10 * limit)
    r = client.post(
        f"/api/v1/plans/{pid}/split?dry_run=true", json={"grid": CODE, "line": mapping(line)}
    )
    assert r.status_code == 200, r.text
    assert client.get(f"/api/v1/plans/{pid}").json()["edits"] == 0


def test_a_geometry_that_is_not_an_object_is_422(client):
    pid = client.post("/api/v1/plans", json={"layer": "unified"}).json()["id"]
    for bad in ("LINESTRING (0 0, 1 1)", [[0, 0], [1, 1]], 5):
        r = client.post(f"/api/v1/plans/{pid}/split", json={"grid": CODE, "line": bad})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == "line"


def test_a_street_planners_publish_checks_the_draft_it_publishes(scratch_layer):
    """The area check of a street planner's publish runs under the plan's lock, on the draft
    that is then published: a change outside the street that lands while the publish waits for
    the lock is caught, not published (issue 12 item 10)."""
    import threading

    from locks import wait_for_lock_waiters
    from sqlalchemy import text

    from geo_grid.access import Principal
    from geo_grid.errors import Forbidden
    from geo_grid.services import plans

    key, gid = scratch_layer("street_code IN ('320113003', '320113004')")
    planner = Principal("t.street.publisher", "planner", "street", "320113003")
    plan = plans.create_plan(key, district="320113", author="user:t.street.publisher")
    with session_scope() as s:
        inside, outside = (
            s.execute(
                text("SELECT min(code) FROM grid WHERE generation_id = :g AND street_code = :s"),
                {"g": plan["generation_id"], "s": street},
            ).scalar_one()
            for street in ("320113003", "320113004")
        )
    plans.edit(plan["id"], "recode", {"grid": inside, "code": inside, "name": "新名"},
               viewer=planner)  # fmt: skip
    result: list[object] = []

    def publish() -> None:
        try:
            result.append(plans.publish(plan["id"], author="user:t.street.publisher",
                                        viewer=planner))  # fmt: skip
        except Forbidden as exc:
            result.append(exc)

    with session_scope() as hold:  # a district planner's edit of the same plan, in flight
        hold.execute(text("SELECT id FROM plan WHERE id = :p FOR UPDATE"), {"p": plan["id"]})
        hold.execute(
            text("UPDATE grid SET name = name || '改' WHERE generation_id = :g AND code = :c"),
            {"g": plan["generation_id"], "c": outside},
        )
        worker = threading.Thread(target=publish)
        worker.start()
        wait_for_lock_waiters(1)
    worker.join(120)
    assert len(result) == 1 and isinstance(result[0], Forbidden), result
    assert "outside your street 320113003" in result[0].message
    with session_scope() as s:
        assert (
            repos.grids.resolve_generation(s, key, district="320113")["id"] == gid
        )  # nothing was published
