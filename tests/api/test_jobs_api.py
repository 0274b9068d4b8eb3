"""Long work as jobs over HTTP, on the demo district: 202 with the job's URL, progress, the
result the work gives when called directly; bad input refused at submit; jobs read by their
creator and administrators only."""

from __future__ import annotations

import time

import pytest
from conftest import QIXIA
from fastapi.testclient import TestClient
from job_wait import job_result, wait_for_job

#: What a merge answers that differs between two runs of it (its own row's id).
RUN_ONLY = {"merge_id"}


@pytest.fixture(scope="module")
def clients(demo_db, accounts):
    """One client per role of the demo's accounts, sharing one app (its job workers running)."""
    from api.main import app

    with TestClient(app) as base:
        yield {
            role: TestClient(app, headers=acc.headers)
            for role, acc in accounts.items()
            if role is not None
        } | {"_base": base}


def test_merge_answers_202_at_once_and_its_result_is_the_merge(clients, accounts, capsys):
    from geo_grid.services import checks

    admin, who = clients["admin"], f"user:{accounts['admin'].username}"
    started = time.perf_counter()
    r = admin.post("/api/v1/merge", json={"layers": ["ecology", "emergency"]})
    to_202 = time.perf_counter() - started
    assert r.status_code == 202, r.text
    assert to_202 < 2.0, f"{to_202:.2f} s to the 202"
    queued = r.json()
    assert queued["kind"] == "merge" and queued["title"] == "多网合一"
    assert queued["status"] in ("queued", "running") and queued["created_by"] == who
    assert queued["params"]["layers"] == ["ecology", "emergency"]
    seen: set[float] = set()
    while (job := admin.get(r.headers["location"]).json())["status"] in ("queued", "running"):
        seen.add(job["progress"])
        time.sleep(0.1)
    assert job["status"] == "done", job
    assert job["progress"] == 1.0 and job["attempts"] == 1 and job["message"].startswith("完成")
    assert any(0 < p < 1 for p in seen), seen  # progress was reported on the way
    direct = checks.merge(["ecology", "emergency"], district=QIXIA, author=who)
    result = job["result"]
    assert {k: v for k, v in result.items() if k not in RUN_ONLY} == {
        k: v for k, v in direct.items() if k not in RUN_ONLY
    }
    assert result["merge_id"] != direct["merge_id"]
    run_s = _seconds(job["finished_at"]) - _seconds(job["started_at"])
    with capsys.disabled():
        print(f"\nmerge (ecology, emergency) on the demo: 202 in {to_202 * 1000:.0f} ms, "
              f"the job ran {run_s:.1f} s")  # fmt: skip


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp).timestamp()


def test_a_stored_check_and_a_big_geocode_batch_are_jobs(clients):
    admin = clients["admin"]
    r = admin.post("/api/v1/checks", json={"layer": "emergency", "refresh": True})
    check = job_result(admin, r)
    assert check["layer"] == "emergency" and check["cached"] is False
    assert not check["summary"]["valid"] and check["defects"]
    stored = admin.get("/api/v1/layers/emergency/checks").json()
    assert stored["summary"] == check["summary"]
    addresses = ["栖霞区尧化街道尧佳路12号", "火星路1号"]
    small = admin.post("/api/v1/geocode/batch", json=addresses)
    assert small.status_code == 200 and small.json()["count"] == 2
    asked = admin.post("/api/v1/geocode/batch", json=addresses,
                       headers={"Prefer": "respond-async"})  # fmt: skip
    assert job_result(admin, asked) == small.json()


def test_bad_input_is_refused_at_submit_and_no_job_is_queued(clients):
    admin = clients["admin"]
    before = admin.get("/api/v1/jobs").json()["count"]
    cases = [
        ("/api/v1/merge", {"layers": ["nope"]}, 404, "layer"),
        ("/api/v1/merge", {"layers": ["unified"]}, 422, "layers"),
        ("/api/v1/merge", {"layers": []}, 422, "layers"),
        ("/api/v1/checks", {"layer": "nope"}, 404, "layer"),
        ("/api/v1/checks", {"layer": "ecology", "generation": 999}, 404, "generation"),
        ("/api/v1/plans/999999/accept-suggestion", {}, 404, "plan"),
        ("/api/v1/layers/nope/fixes", {}, 404, "layer"),
        ("/api/v1/layers/unified/exports", {"format": "kml"}, 422, "format"),
    ]
    for path, body, status, field in cases:
        r = admin.post(path, json=body)
        assert r.status_code == status, (path, body, r.text)
        assert r.json()["error"]["field"] == field, (path, r.json())
    assert admin.get("/api/v1/jobs").json()["count"] == before


def test_a_job_is_read_by_its_creator_and_administrators_only(clients, accounts):
    planner, admin, viewer = clients["planner"], clients["admin"], clients["viewer"]
    mine = planner.post("/api/v1/checks", json={"layer": "ecology"})
    theirs = admin.post("/api/v1/checks", json={"layer": "ecology"})
    assert mine.status_code == theirs.status_code == 202
    assert planner.get(mine.headers["location"]).status_code == 200
    assert admin.get(mine.headers["location"]).status_code == 200  # administrators read all
    other = planner.get(theirs.headers["location"])
    assert other.status_code == 403 and other.json()["error"]["field"] == "job"
    assert viewer.get(mine.headers["location"]).status_code == 403
    listed = planner.get("/api/v1/jobs").json()
    assert mine.json()["id"] in {j["id"] for j in listed["data"]}
    assert {j["created_by"] for j in listed["data"]} == {f"user:{accounts['planner'].username}"}
    assert viewer.post("/api/v1/merge", json={"layers": ["ecology"]}).status_code == 403
    assert admin.get("/api/v1/jobs/999999999").status_code == 404
    for answer in (mine, theirs):  # let them end before the module's clients close
        wait_for_job(admin, answer)


def test_plan_accept_all_is_a_job_and_an_export_a_file(clients):
    admin = clients["admin"]
    pid = admin.post("/api/v1/plans", json={"layer": "unified"}).json()["id"]
    before = admin.get(f"/api/v1/plans/{pid}/suggest").json()
    r = admin.post(f"/api/v1/plans/{pid}/accept-suggestion", json={})
    accepted = job_result(admin, r)
    assert accepted["plan"] == pid and accepted["applied"]
    assert accepted["out_of_band"] < before["out_of_band"]
    assert admin.get(f"/api/v1/plans/{pid}").json()["edits"] == len(accepted["applied"])
    export = admin.post("/api/v1/layers/ecology/exports", json={"format": "geojson"})
    done = job_result(admin, export)
    file = admin.get(f"/api/v1/jobs/{export.json()['id']}/file")
    assert file.status_code == 200 and file.json()["type"] == "FeatureCollection"
    assert len(file.json()["features"]) == done["grids"]
