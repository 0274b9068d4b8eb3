"""Open311 GeoReport v2 over HTTP, as a FixMyStreet-style client sees it (form POST, JSON and XML)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                  "lat", "long", "media_url"}  # fmt: skip


@pytest.fixture(scope="module")
def client_headers(accounts):
    """``client`` (tests/api_client.py) calls as the Open311 client, with its API key."""
    return accounts["open311_client"].headers


@pytest.fixture(scope="module")
def where(demo):
    p = demo.grids["unified"].iloc[23].geometry.representative_point()
    return p.x, p.y


def test_discovery_and_services_in_both_formats(client):
    disc = client.get("/open311/v2/discovery.json").json()
    assert disc["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert disc["endpoints"][0]["url"].endswith("/open311/v2")
    xml = client.get("/open311/v2/discovery.xml")
    assert xml.headers["content-type"].startswith("text/xml")
    assert ET.fromstring(xml.content).tag == "discovery"
    services = client.get("/open311/v2/services.json").json()
    assert {"service_code", "service_name", "metadata", "type", "group"} <= set(services[0])
    root = ET.fromstring(client.get("/open311/v2/services.xml").content)
    assert root.tag == "services" and len(root.findall("service")) == len(services)
    definition = client.get("/open311/v2/services/E0502.json").json()
    assert definition["service_code"] == "E0502" and definition["attributes"]
    d_xml = ET.fromstring(client.get("/open311/v2/services/E0502.xml").content)
    assert d_xml.find("attributes/attribute/code").text == "severity"


@pytest.fixture
def bare(client):
    """The same app with no credentials: a FixMyStreet-style client sends ``api_key`` fields."""
    from api.main import app

    return TestClient(app)


def test_errors_use_the_spec_format(client, bare, accounts, where):
    r = client.get("/open311/v2/services/NOPE.json")
    assert r.status_code == 404 and set(r.json()[0]) == {"code", "description"}
    r = bare.post("/open311/v2/requests.json", data={"api_key": "wrong", "service_code": "E0101",
                                                      "lat": where[1], "long": where[0]})  # fmt: skip
    assert r.status_code == 401 and r.json()[0]["code"] == 401
    assert "api_key" in r.json()[0]["description"]
    r = bare.get("/open311/v2/requests.xml")
    assert r.status_code == 401 and ET.fromstring(r.content).find("error/code").text == "401"
    r = bare.post("/open311/v2/requests.json", headers=accounts["viewer"].headers,
                  data={"service_code": "E0101", "lat": where[1], "long": where[0]})  # fmt: skip
    assert r.status_code == 403 and r.json()[0]["code"] == 403
    key = accounts["open311_client"].password
    r = bare.post("/open311/v2/requests.xml", data={"api_key": key, "service_code": "E0101"})
    assert r.status_code == 400
    err = ET.fromstring(r.content)
    assert err.tag == "errors" and err.find("error/code").text == "400"
    assert client.get("/open311/v2/services.html").status_code == 404


def test_post_then_get_like_a_fixmystreet_client(client, accounts, where):
    form = {"api_key": accounts["open311_client"].password, "service_code": "E0101", "lat": str(where[1]), "long": str(where[0]),
            "description": "垃圾满溢", "first_name": "三", "last_name": "张", "email": "a@b.cn",
            "phone": "13900001111", "media_url": "http://example.org/p.jpg",
            "attribute[severity]": "high"}  # fmt: skip
    r = client.post("/open311/v2/requests.json", data=form)
    assert r.status_code == 200, r.text
    (created,) = r.json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    sid = created["service_request_id"]
    one = client.get(f"/open311/v2/requests/{sid}.json").json()
    assert len(one) == 1 and set(one[0]) == REQUEST_FIELDS
    assert one[0]["status"] == "open" and one[0]["service_code"] == "E0101"
    assert one[0]["media_url"] == "http://example.org/p.jpg" and one[0]["agency_responsible"]
    assert abs(one[0]["lat"] - where[1]) < 1e-9
    xml = ET.fromstring(client.get(f"/open311/v2/requests/{sid}.xml").content)
    assert xml.tag == "service_requests" and xml.find("request/service_request_id").text == sid
    listed = client.get("/open311/v2/requests.json",
                        params={"service_code": "E0101", "status": "open"}).json()  # fmt: skip
    assert sid in {x["service_request_id"] for x in listed}
    closed = client.get("/open311/v2/requests.json", params={"status": "closed",
                                                             "service_code": "E0101"}).json()  # fmt: skip
    assert sid not in {x["service_request_id"] for x in closed}
    by_id = client.get("/open311/v2/requests.json", params={"service_request_id": sid}).json()
    assert [x["service_request_id"] for x in by_id] == [sid]
    old = client.get("/open311/v2/requests.json",
                     params={"start_date": "2001-01-01T00:00:00Z", "end_date": "2001-02-01T00:00:00Z"})  # fmt: skip
    assert old.status_code == 200 and old.json() == []
    assert client.get("/open311/v2/requests/nope.json").status_code == 404
    bad = client.get("/open311/v2/requests.json", params={"start_date": "yesterday"})
    assert bad.status_code == 400


DISCOVERY = ("/open311/v2/discovery.json", "/open311/v2/discovery.xml",
             "/open311/v2/services.json", "/open311/v2/services.xml",
             "/open311/v2/services/E0502.json", "/open311/v2/services/E0502.xml")  # fmt: skip


def test_discovery_and_the_service_list_need_no_key(bare):
    """GeoReport v2 clients read these before they have a key; requests stay behind one."""
    for url in DISCOVERY:
        r = bare.get(url)
        assert r.status_code == 200, (url, r.status_code, r.text[:200])
    assert bare.get("/open311/v2/services/NOPE.json").status_code == 404
    for url in ("/open311/v2/requests.json", "/open311/v2/requests/1.xml"):
        r = bare.get(url)
        assert r.status_code == 401, (url, r.status_code)
    r = bare.post("/open311/v2/requests.json", data={"service_code": "E0101", "lat": "32.1",
                                                      "long": "118.9"})  # fmt: skip
    assert r.status_code == 401 and r.json()[0]["code"] == 401


@pytest.fixture
def closed_discovery(monkeypatch):
    """A closed intranet: ``GEO_GRID_OPEN311_PUBLIC_DISCOVERY=false``."""
    from geo_grid.settings import get_settings

    monkeypatch.setenv("GEO_GRID_OPEN311_PUBLIC_DISCOVERY", "false")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_a_setting_puts_discovery_behind_a_key(bare, accounts, closed_discovery):
    key = accounts["open311_client"].password
    for url in DISCOVERY:
        r = bare.get(url)
        assert r.status_code == 401, (url, r.status_code)
        assert bare.get(url, params={"api_key": key}).status_code == 200, url
        assert bare.get(url, headers=accounts["planner"].headers).status_code == 200, url
    assert ET.fromstring(bare.get(DISCOVERY[1]).content).find("error/code").text == "401"
