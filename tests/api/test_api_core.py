"""The API skeleton over the demo district: health, layers, grids, admin areas, errors, map."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape


def test_health_reports_postgis_and_counts(client):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["database"] == "reachable"
    assert body["postgis"].startswith("3.")
    assert body["districts"]["320113"]["unified"] == 1063  # the demo district, whoever else
    assert body["grids"]["unified"] == sum(d["unified"] for d in body["districts"].values())


def test_layers_lists_the_five_layers_with_counts(client):
    body = client.get("/api/v1/layers").json()
    keys = [row["key"] for row in body["data"]]
    assert keys[0] == "unified"
    assert {"unified", "politics_law", "urban_mgmt", "emergency", "ecology"} <= set(keys)
    unified = body["data"][0]
    assert unified["grids"] == 1063 and unified["name_zh"] == "全科网格"
    assert unified["generation"] == 1
    assert all(row["grids"] > 0 for row in body["data"] if row["key"] in keys[:5])


def test_layer_grids_geojson_with_bbox(client, demo):
    whole = client.get("/api/v1/layers/unified/grids").json()
    assert whole["type"] == "FeatureCollection" and len(whole["features"]) == 1063
    assert whole["generation"] == 1
    minx, miny, maxx, maxy = demo.district.total_bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    part = client.get(f"/api/v1/layers/unified/grids?bbox={cx},{cy},{cx + 0.02},{cy + 0.02}").json()
    assert 0 < len(part["features"]) < 1063
    feat = part["features"][0]
    assert shape(feat["geometry"]).geom_type == "MultiPolygon"
    assert {"code", "name", "households", "community_code"} <= set(feat["properties"])


def test_grid_by_code_has_roster_with_masked_phones(client, demo):
    code = demo.grids["unified"]["code"].iloc[0]
    body = client.get(f"/api/v1/grids/{code}").json()
    assert body["code"] == code and body["layer"] == "unified"
    assert body["community"] and body["street"]
    roles = {p["role"] for p in body["roster"]}
    assert {"grid_leader", "grid_worker"} <= roles
    assert all("****" in (p["phone"] or "****") for p in body["roster"])
    assert shape(body["geometry"]).is_valid


def test_admin_areas(client):
    streets = client.get("/api/v1/admin-areas?level=street").json()
    assert len(streets["features"]) == 9
    names = {f["properties"]["name"] for f in streets["features"]}
    assert "尧化街道" in names and "八卦洲街道" in names
    communities = client.get("/api/v1/admin-areas?level=community").json()
    assert len(communities["features"]) == 129


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        ("/api/v1/grids/999999999999999", 404, "code"),
        ("/api/v1/layers/nope/grids", 404, "layer"),
        ("/api/v1/layers/unified/grids?bbox=1,2,3", 422, "bbox"),
        ("/api/v1/layers/unified/grids?bbox=a,b,c,d", 422, "bbox"),
        ("/api/v1/layers/unified/grids?generation=0", 422, "generation"),
        ("/api/v1/layers/unified/grids?generation=99", 404, "generation"),
        ("/api/v1/admin-areas?level=planet", 422, "level"),
    ],
)
def test_errors_are_json_naming_the_field(client, url, status, field):
    r = client.get(url)
    assert r.status_code == status
    err = r.json()["error"]
    assert err["field"] == field and field in err["message"]


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/layers/{layer}/grids" in paths


def test_map_is_served_offline_capable(client):
    r = client.get("/map")
    assert r.status_code == 200
    html = r.text
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs.", "code.jquery", "bootstrapcdn"):
        assert cdn not in html
    assert "/static/vendor/leaflet" in html
    assert "全科网格" in html


def test_bodies_over_the_limit_are_413_whether_declared_or_streamed(client, monkeypatch):
    from geo_grid.settings import get_settings

    monkeypatch.setattr(get_settings(), "body_max_bytes", 1000)
    body = b'{"username": "' + b"x" * 2000 + b'"}'
    declared = client.post(
        "/api/v1/users", content=body, headers={"Content-Type": "application/json"}
    )

    def chunks():
        for i in range(0, len(body), 100):
            yield body[i : i + 100]

    streamed = client.post(  # no Content-Length: counted as it arrives
        "/api/v1/users", content=chunks(), headers={"Content-Type": "application/json"}
    )
    form = client.post("/auth/token", data={"username": "x" * 2000, "password": "y"})
    for r in (declared, streamed, form):
        assert r.status_code == 413, r.text
        error = r.json()["error"]
        assert error["field"] == "body" and "GEO_GRID_BODY_MAX_BYTES" in error["message"]
    small = client.post("/api/v1/plans", json={"layer": "unified"})
    assert small.status_code == 201, small.text  # under the limit: as before


def test_anonymous_callers_get_401_whatever_their_body(client):
    for content_type, body in (
        ("application/json", b"[" * 100),
        ("application/x-www-form-urlencoded", b"a=\x00"),
        ("multipart/form-data; boundary=b", b"--b--"),
    ):
        r = client.post(
            "/api/v1/users",
            content=body,
            headers={"Content-Type": content_type, "Authorization": ""},
        )
        assert r.status_code == 401, r.text


def test_anonymous_callers_get_401_whatever_their_query_and_path(client):
    """Credentials come first: schemathesis, anonymous, got 422 for a NUL in a query (the NUL
    check ran before the role table), where every non-public route owes a 401."""
    anonymous = {"Authorization": ""}
    for url in ("/api/v1/cases?status=%00", "/map/cases?from=%00", "/api/v1/cases/a%00",
                "/open311/v2/requests.json?status=%00", "/api/v1/grids/x%00y"):  # fmt: skip
        r = client.get(url, headers=anonymous, follow_redirects=False)
        assert r.status_code in (401, 303), (url, r.status_code, r.text)
        if r.status_code == 303:  # a page: to the login form, which takes the NUL back
            assert r.headers["location"].startswith("/login?next=")
    r = client.get("/api/v1/cases?status=%00")  # with credentials: the NUL is refused by name
    assert r.status_code == 422 and r.json()["error"]["field"] == "status"


def test_every_operation_declares_413_in_openapi(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert "413" in operation["responses"], f"{method.upper()} {path}"
            content = operation["responses"]["413"]["content"]
            if path.startswith("/open311/"):  # every 4xx there is the spec's list, or its XML
                assert content["application/json"]["schema"]["items"] == {
                    "$ref": "#/components/schemas/Open311Error"
                }
                assert set(content) == {"application/json", "text/xml"}
            else:
                assert content == {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                }


def test_a_refused_body_is_not_echoed_back_whole(client):
    """The 422 repeats a little of what it refuses: echoing 1.5 MB of JSON took seconds on the
    event loop and answered 1.2 MB."""
    body = "[" + ",".join(["1.5"] * 300_000) + "]"
    r = client.post("/api/v1/cases", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text[:300]
    assert len(r.content) < 5_000, len(r.content)
    assert r.json()["error"]["details"][0]["input"] == "<list of 300000 items>"
    long = client.post("/api/v1/cases", json={"category_code": 7, "description": "x" * 100_000})
    assert long.status_code == 422 and len(long.content) < 5_000, len(long.content)


# ------------------------------------------------------------------- errors Starlette raises
BROKEN_FORM = {"content": b"--x\r\nnot a part", "headers": {"content-type": "multipart/form-data"}}


@pytest.mark.parametrize("path", ["/login", "/api/v1/checks", "/auth/token"])
def test_unparseable_bodies_answer_the_documented_error(client, path):
    for kwargs in (BROKEN_FORM, {**BROKEN_FORM, "headers": {
            "content-type": "multipart/form-data; boundary=zz"}}):  # fmt: skip
        r = client.post(path, **kwargs)
        assert r.status_code in (400, 422), (path, r.status_code, r.text)
        assert set(r.json()) == {"error"} and r.json()["error"]["field"] in ("body", "username")
        if r.status_code == 400:
            assert r.json()["error"]["message"].startswith("body: cannot be parsed")


def test_every_operation_declares_the_400_it_may_answer_and_errors_as_json(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method, op in operations.items():
            schema = op["responses"]["400"]["content"]["application/json"]["schema"]
            ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
            assert ref in ("#/components/schemas/ErrorBody", "#/components/schemas/Open311Error"), (
                method, path, schema)  # fmt: skip
            for status, response in op["responses"].items():  # map pages: errors are JSON too
                if status[0] in "45" and response.get("content"):
                    assert sorted(response["content"]) == _error_media(method, path, status), (
                        method, path, status)  # fmt: skip


def _error_media(method: str, path: str, status: str) -> list[str]:
    """The media types an error may come in: JSON, and besides it Open311's XML on its ``.xml``
    routes and a Chinese page for a person on a page route (api/pages.py); the login form
    itself answers a wrong password (401) and a wait (429) by showing the form again."""
    from api.pages import PAGE_ERRORS, is_page_path

    if (method, path, status) in (("post", "/login", "401"), ("post", "/login", "429")):
        return ["text/html"]
    if path.startswith("/open311/") and status[0] == "4":
        return ["application/json", "text/xml"]
    if is_page_path(path) and int(status) in PAGE_ERRORS:
        return ["application/json", "text/html"]
    return ["application/json"]


def test_open311_answers_an_unparseable_body_in_the_spec_format(client):
    r = client.post("/open311/v2/requests.json", **BROKEN_FORM)
    assert r.status_code == 400 and r.json()[0]["code"] == 400
    xml = client.post("/open311/v2/requests.xml", **BROKEN_FORM)
    assert xml.status_code == 400 and "<errors><error><code>400</code>" in xml.text


def test_a_body_that_is_not_json_names_the_body(client):
    for content in (b"not json", b'{"category_code": ', b"\xff\xfe"):
        r = client.post("/api/v1/cases", content=content,
                        headers={"content-type": "application/json"})  # fmt: skip
        assert r.status_code == 422 and r.json()["error"]["field"] == "body", r.text
        assert r.json()["error"]["message"].startswith("body: not valid JSON")
    r = client.post("/api/v1/cases", content=b"[1]", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "body"


def test_a_browser_opening_an_address_that_is_no_page_reads_chinese(client):
    """A mistyped address (``/nope``) opened in a browser answered English JSON ("no such
    path"); it is a person reading it: the Chinese 404 page. A program's prefix keeps JSON."""
    html = {"accept": "text/html,application/xhtml+xml"}
    r = client.get("/nope", headers=html)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "页面不存在" in r.text and "返回网格地图" in r.text
    for path in ("/api/v1/nope", "/open311/v2/nope", "/static/nope.js", "/tiles/nope"):
        r = client.get(path, headers=html)  # JSON in the shape of its API (Open311's: a list)
        assert r.status_code == 404 and r.headers["content-type"] == "application/json", path
    assert client.get("/nope").json()["error"]["message"] == "no such path: /nope"  # a script


def test_unknown_paths_and_methods_answer_in_the_error_shape(client):
    r = client.get("/api/v1/nope")
    assert r.status_code == 404 and r.json()["error"]["message"] == "no such path: /api/v1/nope"
    r = client.delete("/api/v1/cases")
    assert r.status_code == 405 and r.headers["allow"] == "GET, OPTIONS, POST"
    assert set(r.json()) == {"error"} and "DELETE not allowed" in r.json()["error"]["message"]
    r = client.post("/static/js/geo_grid_map.js")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, OPTIONS"


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/api/v1/cases", "GET, OPTIONS, POST"),  # two routes at one path: both listed
        ("/api/v1/rules/E0502", "DELETE, GET, OPTIONS, PUT"),
        ("/open311/v2/requests.json", "GET, OPTIONS, POST"),
        ("/map/cases", "GET, OPTIONS"),
        # a concrete path before a templated one, as OpenAPI reads them (the sweep, not a case
        # called "tick"; schemathesis found GET advertised there)
        ("/api/v1/cases/tick", "OPTIONS, POST"),
        ("/api/v1/cases/manual", "GET, OPTIONS"),
        ("/api/v1/cases/12345", "GET, OPTIONS"),
        ("/cases/new", "GET, OPTIONS"),
    ],
)
def test_options_answers_the_allowed_methods(demo_db, path, allow):
    """OPTIONS needs no credentials (the OpenAPI document says as much) and opens no CORS."""
    from api.main import app

    with TestClient(app) as anonymous:
        r = anonymous.options(path, headers={"Origin": "https://evil.example",
                                             "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert r.status_code == 204 and r.content == b""
    assert r.headers["allow"] == allow
    assert not any(h.lower().startswith("access-control-") for h in r.headers)
    with TestClient(app) as anonymous:
        assert anonymous.options("/api/v1/nope").status_code == 404


def _declared(doc: dict, method: str, template: str, r) -> None:
    """``r``'s status and media type are among those the OpenAPI document declares for it."""
    responses = doc["paths"][template][method.lower()]["responses"]
    status = str(r.status_code)
    assert status in responses, (method, template, status, sorted(responses))
    media = r.headers.get("content-type", "").split(";")[0].strip()
    declared = list(responses[status].get("content", {}))
    assert media in declared or (not media and not r.content), (method, template, status, media)


def test_every_answer_has_a_status_and_media_type_the_openapi_document_declares(client, demo):
    """Schemathesis found answers the document did not declare: GeoJSON sent as
    ``application/geo+json`` but declared ``application/json``, the 200 of an idempotent replay
    (only 201 declared), Open311's XML; each of those kinds is asked for here."""
    import uuid

    doc = client.get("/openapi.json").json()
    x, y = demo.grids["unified"].geometry.iloc[11].representative_point().coords[0]
    case = {"category_code": "E0502", "lon": x, "lat": y, "crs": "cgcs2000"}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    plan = client.post("/api/v1/plans", json={"layer": "ecology"})
    _declared(doc, "POST", "/api/v1/plans", plan)
    pid = plan.json()["id"]
    asked = [
        ("GET", "/api/v1/admin-areas", "/api/v1/admin-areas?level=street", {}),
        ("GET", "/api/v1/layers/{layer}/grids", "/api/v1/layers/emergency/grids", {}),
        ("GET", "/api/v1/plans/{plan_id}/diff", f"/api/v1/plans/{pid}/diff", {}),
        ("GET", "/api/v1/plans/{plan_id}/diff", f"/api/v1/plans/{pid}/diff?format=gpkg", {}),
        ("POST", "/api/v1/cases", "/api/v1/cases", {"json": case, "headers": key}),
        ("POST", "/api/v1/cases", "/api/v1/cases", {"json": case, "headers": key}),  # replay
        ("GET", "/open311/v2/services.{fmt}", "/open311/v2/services.xml", {}),
        ("GET", "/open311/v2/requests.{fmt}", "/open311/v2/requests.xml", {}),
        ("GET", "/open311/v2/requests/{request_id}.{fmt}", "/open311/v2/requests/0.xml", {}),
        ("GET", "/open311/v2/requests.{fmt}", "/open311/v2/requests.yaml", {}),
        # a person: the login form again for a wrong password, a refusal as a Chinese page
        (
            "POST",
            "/login",
            "/login",
            {"data": {"username": f"t.{uuid.uuid4().hex[:8]}", "password": "wrong"}},
        ),
        ("GET", "/map/cases", "/map/cases?from=yesterday", {"headers": {"Accept": "text/html"}}),
        ("GET", "/map/cases", "/map/cases", {"headers": {"Authorization": ""}}),  # to /login
    ]
    statuses = []
    for method, template, url, kwargs in asked:
        r = client.request(method, url, follow_redirects=False, **kwargs)
        statuses.append(r.status_code)
        _declared(doc, method, template, r)
    assert statuses[4:6] == [201, 200] and statuses[-3:] == [401, 422, 303], statuses


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("PATCH", "/api/v1/users/nobody", {"active": 0}, "active"),  # 0 is not false
        ("PATCH", "/api/v1/users/nobody", {"active": "false"}, "active"),
        ("POST", "/api/v1/cases/tick", {"now": -0.5}, "now"),  # not seconds since 1970
        ("POST", "/api/v1/cases/tick", {"now": 1767225600}, "now"),
        ("POST", "/api/v1/cases/tick", {"now": "2026-06-01T08:00:00"}, "now"),  # needs an offset
        ("POST", "/api/v1/cases/tick", {"now": " "}, "now"),  # blank is no instant (null: now)
        ("POST", "/api/v1/cases/1/transitions", {"action": "accept", "version": "1"}, "version"),
        ("POST", "/api/v1/cases", {"category_code": "E0502", "lon": "118.9", "lat": 32.1}, "lon"),
        ("POST", "/api/v1/checks", {"layer": "unified", "refresh": 1}, "refresh"),
        ("POST", "/api/v1/merge", {"as_draft": "yes"}, "as_draft"),
        ("POST", "/api/v1/plans", {"layer": "unified", "extra": 1}, "extra"),
    ],
)
def test_json_bodies_take_only_the_json_types_the_document_declares(
    client, method, url, body, field
):
    """Schemathesis sent ``{"active": 0}`` and ``{"now": -0.33}`` and both were taken (the sweep
    ran "as of 1969"): lax coercion read a number as a time and 0 as false. A body's values must
    have the JSON type the OpenAPI document declares, and unknown members are refused."""
    r = client.request(method, url, json=body)
    assert r.status_code == 422, (r.status_code, r.text)
    assert r.json()["error"]["field"] == field, r.text


def test_json_integers_are_json_schema_integers(client):
    """``3.0`` is an integer to JSON Schema (schemathesis sent ``"version": 71411.0`` and the
    strict body refused it); it reaches the route, here to find no such case."""
    r = client.post("/api/v1/cases/99999999/transitions", json={"action": "accept", "version": 1.0})
    assert r.status_code == 404, r.text


def test_the_document_declares_the_values_the_api_takes(client):
    """Schemathesis generated values the document allowed and the API refused (a role
    ``grid_leader``, a scope ``c…``, a username ``!{``, an empty grid code or CSV column, an
    Open311 format ``0``): the document now says what the services read."""
    from api.deps import BBOX_PATTERN
    from geo_grid.access import KEY_ROLES, NAME_PATTERN, ROLES, SCOPE_PATTERN

    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]

    def prop(model: str, name: str) -> dict:
        found = schemas[model]["properties"][name]
        return next((s for s in found.get("anyOf", []) if s.get("type") == "string"), found)

    for model, roles in (("UserIn", ROLES), ("KeyIn", KEY_ROLES)):  # a key is no grid worker
        assert prop(model, "role")["enum"] == list(roles)
        assert prop(model, "scope")["pattern"] == SCOPE_PATTERN
    assert prop("TickIn", "now")["format"] == "date-time"  # RFC 3339: with its offset
    form = doc["paths"]["/open311/v2/requests.{fmt}"]["post"]["requestBody"]["content"]
    assert form["application/x-www-form-urlencoded"]["schema"]["required"] == ["service_code"]
    bbox = doc["paths"]["/api/v1/cases"]["get"]["parameters"]
    assert [p for p in bbox if p["name"] == "bbox"][0]["schema"]["anyOf"][0]["pattern"] == (
        BBOX_PATTERN
    )
    assert prop("UserIn", "username")["pattern"] == prop("KeyIn", "name")["pattern"] == NAME_PATTERN
    assert prop("Body_login_login_post", "username")["minLength"] == 1
    assert prop("SplitIn", "grid")["minLength"] == prop("MoveIn", "to")["minLength"] == 1
    checks = doc["paths"]["/api/v1/checks"]["post"]["requestBody"]["content"]["application/json"]
    for found in (schemas["TransitionIn"]["properties"]["version"],
                  schemas["WhistleIn"]["properties"]["version"],
                  schemas["PointIn"]["properties"]["version"],
                  checks["schema"]["properties"]["generation"]):  # fmt: skip
        number = next((s for s in found.get("anyOf", []) if s["type"] == "integer"), found)
        assert number["minimum"] == 1, number  # once "ge": 1, which no reader knows
    assert schemas["PlanMergeIn"]["properties"]["grids"]["items"]["minLength"] == 1
    batch = doc["paths"]["/api/v1/geocode/batch"]["post"]["requestBody"]["content"]
    assert batch["multipart/form-data"]["schema"]["properties"]["column"]["minLength"] == 1
    for path, operations in doc["paths"].items():
        for op in operations.values():
            for param in op.get("parameters", []):
                if param["name"] == "fmt":
                    assert param["schema"]["enum"] == ["json", "xml"], path


def test_a_district_code_is_declared_alike_wherever_it_is_taken():
    """The onboarding form's ``code`` was declared as any text: schemathesis sent an empty one
    as valid and it was refused (422). A district code has one pattern, in a path, a query and
    a form field alike."""
    from api.main import app
    from api.params import DISTRICT_CODE

    doc = app.openapi()
    content = doc["paths"]["/api/v1/districts"]["post"]["requestBody"]["content"]
    assert (
        content["multipart/form-data"]["schema"]["properties"]["code"]["pattern"] == DISTRICT_CODE
    )
    seen = 0
    for path, operations in doc["paths"].items():
        for op in operations.values():
            for param in op.get("parameters", []):
                if param["name"] == "district" or (param["name"] == "code" and "district" in path):
                    schema = param["schema"]
                    text = next(
                        (s for s in schema.get("anyOf", []) if s["type"] == "string"), schema
                    )
                    assert text["pattern"] == DISTRICT_CODE, (path, param)
                    seen += 1
    assert seen > 10
