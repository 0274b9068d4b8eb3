"""Open311 GeoReport v2 shapes: the spec's field names, JSON and XML forms and the error format."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from geo_grid.cases import open311
from geo_grid.cases.catalogue import categories, category
from geo_grid.cases.duplicates import duplicate_candidates
from geo_grid.errors import BadInput

REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                  "lat", "long", "media_url"]  # fmt: skip
CASE = {
    "number": "2026030100000042", "status": "handling", "category_code": "E0502",
    "category_name": "占道经营", "description": "早市占道 <严重> & 拥堵", "department": "城市管理局",
    "received_at": datetime(2026, 3, 1, 8, tzinfo=UTC), "updated_at": datetime(2026, 3, 1, 9, tzinfo=UTC),
    "due_at": datetime(2026, 3, 4, 8, tzinfo=UTC), "address_text": "尧佳路12号", "lat": 32.1,
    "lon": 118.9, "photos": ["http://x/1.jpg"],
}  # fmt: skip


def test_service_list_and_definition_use_the_spec_fields():
    services = open311.service_list(categories())
    assert len(services) == len(categories())
    assert list(services[0]) == ["service_code", "service_name", "description", "metadata", "type",
                                 "keywords", "group"]  # fmt: skip
    assert services[0]["type"] == "realtime" and services[0]["metadata"] is True
    definition = open311.service_definition(category("E0502"))
    attr = definition["attributes"][0]
    assert list(attr) == ["variable", "code", "datatype", "required", "datatype_description",
                          "order", "description", "values"]  # fmt: skip
    assert attr["datatype"] in ("string", "number", "datetime", "text", "singlevaluelist",
                                "multivaluelist")  # fmt: skip
    assert {"key", "name"} == set(attr["values"][0])


def test_service_request_fields_and_status_mapping():
    req = open311.service_request(CASE)
    assert list(req) == REQUEST_FIELDS
    assert req["status"] == "open" and req["long"] == 118.9 and req["media_url"] == "http://x/1.jpg"
    assert req["requested_datetime"] == "2026-03-01T08:00:00+00:00"
    for closed in ("closed", "rated", "rejected"):
        assert open311.service_request({**CASE, "status": closed})["status"] == "closed"
    assert list(open311.post_response(CASE)[0]) == ["service_request_id", "service_notice",
                                                    "account_id"]  # fmt: skip


def test_a_request_never_carries_phone_or_id_numbers_typed_into_its_text():
    """Open311 answers go to other systems: the numbers in description and address are masked
    whoever asks, in JSON and in XML, and the rest of the text stays readable."""
    case = {**CASE, "description": "楼道堆物 电话139 1234 5678 身份证320102199001011234",
            "address_text": "尧佳路12号 座机025-84561234"}  # fmt: skip
    req = open311.service_request(case)
    assert req["description"] == "楼道堆物 电话139 **** 5678 身份证3201**********1234"
    assert req["address"] == "尧佳路12号 座机025-****1234"
    xml = open311.to_xml("service_requests", [req])
    assert "5678" in xml and "1234 5678" not in xml and "84561234" not in xml


def test_xml_documents_parse_and_nest_as_the_spec_shows():
    body = open311.to_xml("service_requests", [open311.service_request(CASE)])
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(body.encode())
    assert root.tag == "service_requests"
    (request,) = root.findall("request")
    assert [c.tag for c in request] == REQUEST_FIELDS
    assert request.findtext("description") == CASE["description"]  # escaped and restored
    services = ET.fromstring(open311.to_xml("services", open311.service_list(categories())))
    assert services.find("service/metadata").text == "true"
    definition = ET.fromstring(
        open311.to_xml("service_definition", open311.service_definition(category("F0101")))
    )
    assert definition.find("attributes/attribute/values/value/key") is not None
    disc = ET.fromstring(open311.to_xml("discovery", open311.discovery(
        "http://h/open311/v2", changeset=CASE["received_at"], contact="c", key_service="k")))  # fmt: skip
    assert disc.find("endpoints/endpoint/specification").text == open311.SPEC_URL
    assert [f.text for f in disc.findall("endpoints/endpoint/formats/format")] == [
        "application/json", "text/xml"]  # fmt: skip
    errors = ET.fromstring(open311.to_xml("errors", open311.errors(400, "service_code missing")))
    assert errors.find("error/code").text == "400"


def test_post_form_parsing():
    form = {"api_key": "demo", "service_code": "E0101", "lat": "32.1", "long": "118.9",
            "first_name": "三", "last_name": "张", "attribute[severity]": "high",
            "description": "垃圾满溢"}  # fmt: skip
    req = open311.parse_request(form)
    assert (req.lat, req.long, req.name, req.attributes) == (
        32.1,
        118.9,
        "张 三",
        {"severity": "high"},
    )
    assert open311.parse_request({"api_key": "k", "service_code": "E0101",
                                  "address_string": "尧佳路1号"}).lat is None  # fmt: skip
    for bad, field in [({"api_key": "k", "lat": "1", "long": "2"}, "service_code"),
                       ({"api_key": "k", "service_code": "E0101"}, "lat"),
                       ({"api_key": "k", "service_code": "E0101", "lat": "x", "long": "1"}, "lat"),
                       ({"api_key": "k", "service_code": "E0101", "lat": "1"}, "lat")]:  # fmt: skip
        with pytest.raises(BadInput) as info:
            open311.parse_request(bad)
        assert info.value.field == field


def test_duplicates_same_category_50_m_48_h():
    import pandas as pd

    t = datetime(2026, 3, 3, 12, tzinfo=UTC)
    d = 0.00045  # ≈ 42 m of longitude at 32°N; 2d ≈ 85 m
    recent = pd.DataFrame({
        "case_id": [1, 2, 3, 4, 5],
        "category_code": ["E0101", "E0101", "E0502", "E0101", "E0101"],
        "lon": [118.9 + d, 118.9 + 2 * d, 118.9, 118.9, 118.9],
        "lat": [32.1] * 5,
        "received_at": [t - pd.Timedelta(hours=1), t, t, t - pd.Timedelta(hours=49),
                        t - pd.Timedelta(hours=47)],
    })  # fmt: skip
    found = duplicate_candidates("E0101", 118.9, 32.1, t, recent)
    assert found["case_id"].tolist() == [5, 1]
    assert 35 < found["distance_m"].iloc[1] < 50
