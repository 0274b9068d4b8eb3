"""Geocode, batch, locate and reverse over HTTP, on the demo district loaded in the test database."""

from __future__ import annotations

import pytest

from geo_grid.crs import wgs84_to_gcj02
from geo_grid.layers import BUILTIN_LAYERS

LAYERS = {info.key for info in BUILTIN_LAYERS}


@pytest.fixture(scope="module")
def rows(demo):
    """A 小区 address, a road address and a village address of the demo library."""
    a = demo.addresses
    return (
        a[a["xiaoqu"].notna() & a["room"].notna()].iloc[7],
        a[a["road"].notna()].iloc[3],
        a[a["village"].notna()].iloc[5],
    )


def test_geocode_noisy_address(client, rows):
    row = rows[0]
    q = f"栖霞区 {row['local_text'].replace('栋', '幢')} 附近 楼道堆物 13912345678"
    body = client.get("/api/v1/geocode", params={"q": q}).json()
    assert body["status"] == "matched" and body["level"] == "门牌"
    assert body["address_id"] == int(row["address_id"])
    assert body["grid_code"] == row["grid_code"] and body["confidence"] >= 0.9
    assert set(body["grids"]) == LAYERS and body["grids"]["unified"] == row["grid_code"]
    assert body["alternatives"] == []


def test_geocode_unmatched_and_blank(client):
    body = client.get("/api/v1/geocode", params={"q": "月球背面环形山1号"}).json()
    assert body["status"] == "unmatched" and body["grid_code"] is None and body["reason"]
    r = client.get("/api/v1/geocode", params={"q": ""})
    assert r.status_code == 422 and r.json()["error"]["field"] == "q"
    r = client.get("/api/v1/geocode", params={"q": "   "})
    assert r.status_code == 422 and r.json()["error"]["field"] == "q"


def test_an_address_of_a_district_not_onboarded_is_unmatched_not_guessed(client, rows):
    # the demo's own road and door, but in Wenzhou: the store's gazetteer knows it is elsewhere
    local = rows[1]["local_text"]
    body = client.get("/api/v1/geocode", params={"q": f"浙江省温州市乐清市白石街道{local}"}).json()
    assert body["status"] == "unmatched" and body["grid_code"] is None
    assert body["reason"].startswith("district not onboarded: 浙江省 (33)")
    body = client.get("/api/v1/geocode", params={"q": f"南京栖霞{local}"}).json()
    assert body["status"] == "matched" and body["address_id"] == int(rows[1]["address_id"])


def test_batch_json_list_keeps_order(client, rows):
    texts = [rows[0]["full_text"], "", rows[1]["local_text"], rows[2]["local_text"]]
    body = client.post("/api/v1/geocode/batch", json=texts).json()
    assert body["count"] == 4 and [r["row"] for r in body["data"]] == [0, 1, 2, 3]
    first, blank, road, village = body["data"]
    assert first["status"] == "matched" and first["address_id"] == int(rows[0]["address_id"])
    assert set(first["grids"]) == LAYERS and first["match_level"] == "门牌"
    assert blank["status"] == "unmatched" and blank["grid_code"] is None and blank["query"] is None
    assert road["grid_code"] == rows[1]["grid_code"]
    assert village["grid_code"] == rows[2]["grid_code"]
    assert body["matched"] + body["ambiguous"] + body["unmatched"] == 4
    wrapped = client.post("/api/v1/geocode/batch", json={"addresses": texts[:1]}).json()
    assert wrapped["data"][0]["address_id"] == first["address_id"]


def test_a_batch_answered_at_once_uses_the_servers_warm_geocoders(client, rows, monkeypatch):
    """The first batch after a start does not wait for a worker process to build geocoders of
    its own (it waited 35-40 s for them, and each worker held a copy: 2 GB for a city): the
    server's own, built before ``/health`` says warm, answer it."""
    import time

    from geo_grid.services import geocoding, index

    deadline = time.monotonic() + 600
    while not client.get("/health").json()["warm"]:
        assert time.monotonic() < deadline, "the server never became warm"
        time.sleep(0.5)
    real, warm_when_asked = geocoding.batch_answer, []

    def answered_here(*args, **kwargs):
        warm_when_asked.append(index.ready())
        return real(*args, **kwargs)

    monkeypatch.setattr(geocoding, "batch_answer", answered_here)
    body = client.post("/api/v1/geocode/batch", json=[rows[0]["full_text"], "火星路1号"]).json()
    assert warm_when_asked == [True]  # in this process, on geocoders already built
    assert body["data"][0]["address_id"] == int(rows[0]["address_id"]) and body["count"] == 2


def test_batch_csv_upload(client, rows):
    csv = "id,地址\n1," + rows[0]["full_text"] + "\n2," + rows[1]["local_text"] + "\n"
    files = {"file": ("cases.csv", csv.encode("gb18030"), "text/csv")}
    body = client.post("/api/v1/geocode/batch", files=files, data={"column": "地址"}).json()
    assert body["count"] == 2
    assert [r["grid_code"] for r in body["data"]] == [rows[0]["grid_code"], rows[1]["grid_code"]]
    r = client.post("/api/v1/geocode/batch", files=files, data={"column": "addr"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "column"
    assert "addr" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (["x"] * 10_001, "addresses"),
        ({"addresses": "尧佳路1号"}, "addresses"),
        ([1, 2], "addresses"),
        ({"addresses": ["尧佳路1号"], "column": "x"}, "addresses"),  # the document: nothing else
    ],
)
def test_batch_refuses_bad_bodies(client, body, field):
    r = client.post("/api/v1/geocode/batch", json=body)
    assert r.status_code == 422 and r.json()["error"]["field"] == field


def test_the_document_declares_the_batch_as_taken(client):
    """Schemathesis sent ``[null, null]`` (the document said strings) and it was answered, as a
    blank CSV cell is: the document declares blanks and the ``{"addresses": …}`` form."""
    post = client.get("/openapi.json").json()["paths"]["/api/v1/geocode/batch"]["post"]
    lists = post["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
    assert lists[0]["items"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert lists[1]["required"] == ["addresses"] and lists[1]["additionalProperties"] is False
    body = client.post("/api/v1/geocode/batch", json=[None]).json()
    assert body["data"][0]["status"] == "unmatched"


def test_batch_csv_over_the_limit(client):
    csv = "addr\n" + "尧佳路1号\n" * 10_001
    files = {"file": ("big.csv", csv.encode(), "text/csv")}
    r = client.post("/api/v1/geocode/batch", files=files, data={"column": "addr"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "file"
    assert "10000" in r.json()["error"]["message"]


def test_locate_gcj02_point_of_an_address(client, rows):
    row = rows[0]
    lon, lat = (float(v[0]) for v in wgs84_to_gcj02([row["lon"]], [row["lat"]]))
    body = client.get("/api/v1/locate", params={"lon": lon, "lat": lat, "crs": "gcj02"}).json()
    assert body["inside_district"] and body["grid_code"] == row["grid_code"]
    assert abs(body["lon"] - row["lon"]) < 1e-5 and abs(body["lat"] - row["lat"]) < 1e-5
    assert set(body["grids"]) == LAYERS and all(body["grids"].values())
    assert body["community_code"] == row["community_code"]
    assert body["street_code"] == row["street_code"] and body["street_name"]
    roles = {p["role"] for p in body["roster"]}
    assert {"grid_leader", "grid_worker"} <= roles
    assert all("****" in p["phone"] for p in body["roster"] if p["phone"])
    assert set(body["generation"]) == LAYERS


def test_locate_outside_and_bad_input(client):
    body = client.get("/api/v1/locate", params={"lon": 116.4, "lat": 39.9}).json()
    assert body["inside_district"] is False and body["grid_code"] is None
    assert body["roster"] == [] and set(body["grids"]) == LAYERS
    r = client.get("/api/v1/locate", params={"lon": 118.9, "lat": 32.1, "crs": "mars"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "crs"
    r = client.get("/api/v1/locate", params={"lon": 218.9, "lat": 32.1})
    assert r.status_code == 422 and r.json()["error"]["field"] == "lon"
    r = client.get("/api/v1/locate", params={"lat": 32.1})
    assert r.status_code == 422 and r.json()["error"]["field"] == "lon"


def test_reverse(client, rows):
    row = rows[1]
    params = {"lon": float(row["lon"]), "lat": float(row["lat"]), "crs": "cgcs2000"}
    body = client.get("/api/v1/reverse", params=params).json()
    assert body["address_id"] == int(row["address_id"]) and body["distance_m"] < 1
    assert body["grid_code"] == row["grid_code"] and set(body["grids"]) == LAYERS
    far = client.get("/api/v1/reverse", params={"lon": 116.4, "lat": 39.9}).json()
    assert far["address_id"] is None and far["grid_code"] is None
    r = client.get("/api/v1/reverse", params={**params, "max_distance_m": 0})
    assert r.status_code == 422 and r.json()["error"]["field"] == "max_distance_m"


def test_batch_csv_over_the_upload_byte_limit_is_413(client, monkeypatch):
    from geo_grid.settings import get_settings

    monkeypatch.setattr(get_settings(), "upload_max_bytes", 2_000)
    csv = ("addr\n" + "尧佳路1号\n" * 300).encode()
    files = {"file": ("big.csv", csv, "text/csv")}
    r = client.post("/api/v1/geocode/batch", files=files, data={"column": "addr"})
    assert r.status_code == 413, r.text
    error = r.json()["error"]
    assert error["field"] == "file" and "GEO_GRID_UPLOAD_MAX_BYTES" in error["message"]


def test_batch_json_over_the_body_limit_is_413(client, monkeypatch):
    from geo_grid.settings import get_settings

    monkeypatch.setattr(get_settings(), "body_max_bytes", 10_000)
    r = client.post("/api/v1/geocode/batch", json=["尧佳路1号"] * 2_000)
    assert r.status_code == 413, r.text
    error = r.json()["error"]
    assert error["field"] == "body" and "GEO_GRID_BODY_MAX_BYTES" in error["message"]


def test_a_publish_regrids_the_addresses_without_reading_the_library_again(
    client, rows, scratch_layer, monkeypatch
):
    """A publish changes the grids, not the addresses: the geocoders built before it are kept
    and look their addresses' grids up again. Each process rebuilt every district's geocoder
    from its library after every publish (seconds of CPU: the first case filed after a publish
    took 38 s and a batch geocode 88 s under schemathesis)."""
    from geo_grid.db import repos

    row = rows[0]
    query = {"q": row["full_text"]}
    assert client.get("/api/v1/geocode", params=query).json()["status"] == "matched"

    def read_again(*args, **kwargs):
        raise AssertionError("the address library was read again after a publish")

    monkeypatch.setattr(repos.district, "read_address_library", read_again)
    key, _ = scratch_layer(f"code = '{row['grid_code']}'")
    body = client.get("/api/v1/geocode", params=query).json()
    assert body["status"] == "matched" and body["address_id"] == int(row["address_id"])
    assert body["grids"][key] == row["grid_code"] and body["grids"]["unified"] == row["grid_code"]
