"""Photos of a case's work over HTTP, and what each caller may do to a case (``allowed_actions``).

A grid worker adds 处置前/处置后 photos to the cases of their grid while the work is open; whoever
may read the case sees them (served with their checked type, never sniffed); everything else is
refused with the reason, storing nothing: another role (403, the duty rule), another grid (403,
the area), a closed phase (409 naming the open ones), a file that is not a photo (422) or too
big (413). The photo's file lives under the home folder, its row in ``case_photo``.
"""

from __future__ import annotations

import hashlib
import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image


@pytest.fixture(scope="module")
def client(demo_db):
    from api.main import app

    with TestClient(app) as c:
        yield c


def _point_in(code: str) -> tuple[float, float]:
    from geo_grid.services import layers

    p = layers.get_grid(code, layer="unified")["geometry"].representative_point()
    return p.x, p.y


def _file(client, accounts, code: str, text: str) -> dict:
    x, y = _point_in(code)
    r = client.post("/api/v1/cases", headers=accounts["dispatcher"].headers,
                    json={"category_code": "E0502", "channel": "hotline", "lon": x, "lat": y,
                          "crs": "cgcs2000", "description": text})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["grid_code"] == code and r.json()["status"] == "dispatched"
    return r.json()


@pytest.fixture(scope="module")
def other(client, accounts):
    """A dispatched case in a grid of another street than the grid worker's."""
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    mine = accounts["grid_worker"].grids[0]
    with session_scope() as s:
        code = s.execute(
            text("SELECT g.code FROM grid g JOIN generation n ON n.id = g.generation_id "
                 "WHERE n.layer_key = 'unified' AND n.status = 'published' "
                 "AND g.street_code <> :s ORDER BY g.code LIMIT 1"), {"s": mine[:9]},
        ).scalar_one()  # fmt: skip
    return _file(client, accounts, code, "照片测试（别的网格）")


@pytest.fixture
def case(client, accounts):
    """A freshly dispatched case in the grid worker's grid (each test its own)."""
    return _file(client, accounts, accounts["grid_worker"].grids[0], "照片测试")


def _jpeg(colour: str = "red", size=(120, 90)) -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (32.0, 6.0, 30.0)})
    Image.new("RGB", size, colour).save(out, "JPEG", exif=exif)
    return out.getvalue()


def _upload(client, account, case_id: int, phase: str, data: bytes, name="p.jpg"):
    return client.post(f"/api/v1/cases/{case_id}/photos", headers=account.headers,
                       data={"phase": phase}, files={"file": (name, data, "image/jpeg")})  # fmt: skip


def _stored(case_id: int) -> tuple[int, int]:
    """(rows in case_photo, files on disk) of a case."""
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope
    from geo_grid.settings import get_settings

    with session_scope() as s:
        rows = len(repos.cases.case_photos(s, case_id))
    folder = get_settings().photos_dir / str(case_id)
    return rows, len([p for p in folder.glob("*") if p.is_file()]) if folder.exists() else 0


def test_the_grid_worker_adds_a_photo_and_readers_see_it(client, accounts, case):
    worker = accounts["grid_worker"]
    answer = client.get(f"/api/v1/cases/{case['id']}", headers=worker.headers).json()
    assert answer["photo_phases"] == ["before"] and "accept" in answer["allowed_actions"]
    r = _upload(client, worker, case["id"], "before", _jpeg())
    assert r.status_code == 201, r.text
    photo = r.json()
    assert photo["phase_zh"] == "处置前" and photo["uploaded_by"] == f"user:{worker.username}"
    assert (photo["width"], photo["height"], photo["content_type"]) == (120, 90, "image/jpeg")
    assert _stored(case["id"]) == (1, 1)
    for role in ("dispatcher", "viewer", "admin"):
        got = client.get(photo["url"], headers=accounts[role].headers)
        assert got.status_code == 200, (role, got.text)
        assert got.headers["content-type"] == "image/jpeg"
        assert got.headers["x-content-type-options"] == "nosniff"
        assert "private" in got.headers["cache-control"]
        assert hashlib.sha256(got.content).hexdigest() == photo["sha256"]
        assert not Image.open(io.BytesIO(got.content)).getexif()  # no GPS position kept
    listed = client.get(f"/api/v1/cases/{case['id']}", headers=accounts["viewer"].headers).json()
    assert [p["id"] for p in listed["work_photos"]] == [photo["id"]]
    assert "path" not in listed["work_photos"][0]  # where it lies on disk is nobody's business


def test_refusals_name_the_reason_and_store_nothing(client, accounts, case, other, monkeypatch):
    from geo_grid.settings import get_settings

    worker = accounts["grid_worker"]
    before = _stored(case["id"])
    after_now = _upload(client, worker, case["id"], "after", _jpeg())
    assert after_now.status_code == 409, after_now.text
    assert after_now.json()["error"]["allowed"] == ["before"]
    centre = _upload(client, accounts["dispatcher"], case["id"], "before", _jpeg())
    assert centre.status_code == 403 and "photo" in centre.json()["error"]["message"]
    leader = _upload(client, accounts["leader"], case["id"], "before", _jpeg())
    assert leader.status_code == 403 and leader.json()["error"]["message"].startswith("role:")
    elsewhere = _upload(client, worker, other["id"], "before", _jpeg())
    assert elsewhere.status_code == 403 and elsewhere.json()["error"]["field"] == "ref"
    svg = _upload(client, worker, case["id"], "before", b"<svg onload=alert(1)>", "x.jpg")
    assert svg.status_code == 422 and svg.json()["error"]["field"] == "file"
    phase = _upload(client, worker, case["id"], "during", _jpeg())
    assert phase.status_code == 422 and phase.json()["error"]["field"] == "phase"
    no_form = client.post(f"/api/v1/cases/{case['id']}/photos", headers=worker.headers,
                          json={"phase": "before"})  # fmt: skip
    assert no_form.status_code == 422 and no_form.json()["error"]["field"] == "file"
    big = _jpeg(size=(400, 400))
    monkeypatch.setenv("GEO_GRID_PHOTO_MAX_BYTES", str(len(big) - 1))
    get_settings.cache_clear()
    try:
        over = _upload(client, worker, case["id"], "before", big)
        assert over.status_code == 413 and "GEO_GRID_PHOTO_MAX_BYTES" in over.text
        streamed = _upload(client, worker, case["id"], "before", big + b"\0" * 20_000)
        assert streamed.status_code == 413  # over the limit plus the form's room: cut off
    finally:
        monkeypatch.delenv("GEO_GRID_PHOTO_MAX_BYTES")
        get_settings.cache_clear()
    assert _stored(case["id"]) == before


def test_photos_are_read_only_in_the_readers_area(client, accounts, other):
    worker = accounts["grid_worker"]
    missing = client.get(f"/api/v1/cases/{other['id']}/photos/{'0' * 32}",
                         headers=accounts["dispatcher"].headers)  # fmt: skip
    assert missing.status_code == 404
    refused = client.get(f"/api/v1/cases/{other['id']}/photos/{'0' * 32}", headers=worker.headers)
    assert refused.status_code == 403  # outside their grids: not even whether it exists


def test_allowed_actions_are_the_callers_own(client, accounts, case, other):
    """The same case answers each caller with what they may do now: the page's buttons."""
    mine = {
        role: client.get(f"/api/v1/cases/{case['id']}", headers=accounts[role].headers).json()
        for role in ("grid_worker", "dispatcher", "viewer")
    }
    assert set(mine["grid_worker"]["allowed_actions"]) == {
        "accept", "return", "suspend", "contact", "comment"}  # fmt: skip
    assert "accept" not in mine["dispatcher"]["allowed_actions"]
    assert "reassign" in mine["dispatcher"]["allowed_actions"]
    assert mine["viewer"]["allowed_actions"] == [] and mine["viewer"]["photo_phases"] == []
    leader = client.get(f"/api/v1/cases/{case['id']}", headers=accounts["leader"].headers)
    assert leader.status_code == 403  # another street than the leader's
    worker = accounts["grid_worker"]
    step = client.post(
        f"/api/v1/cases/{case['id']}/transitions",
        headers=worker.headers,
        json={"action": "accept", "version": mine["grid_worker"]["version"]},
    )
    assert step.status_code == 200, step.text
    assert step.json()["photo_phases"] == ["before", "after"]
    assert "handle" in step.json()["allowed_actions"]
    theirs = client.get(f"/api/v1/cases/{other['id']}", headers=accounts["admin"].headers)
    assert "accept" not in theirs.json()["allowed_actions"]  # admin is the centre, not a handler
