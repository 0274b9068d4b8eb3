"""Named places and the base map, without a database: roads drawn from door plates, the place
search, 天地图's and XYZ tile templates against their documented form, the settings that name them."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import box

from geo_grid.address.places import PlaceIndex, named_places, road_lines
from geo_grid.errors import BadInput
from geo_grid.maps import MapDistrict, coverage_map, map_html
from geo_grid.maps.basemap import tianditu_url, tile_base, vector_base
from geo_grid.settings import Settings

LOCAL = "EPSG:4549"


def _plates(name: str, n: int, *, x0: float = 118.898, y: float = 32.10) -> list[dict]:
    """Door plates 1..2n every 0.0004° along an east-west road at latitude ``y`` from ``x0``:
    odd north, even south, 12 m off the line (≈ 0.000108°)."""
    rows = []
    for k in range(n):
        x = x0 + k * 0.0004
        rows.append({"name": name, "door_no": str(2 * k + 1), "lon": x, "lat": y + 0.000108})
        rows.append({"name": name, "door_no": str(2 * k + 2), "lon": x, "lat": y - 0.000108})
    return rows


def test_a_road_runs_through_the_middle_of_its_plates_in_number_order():
    plates = pd.DataFrame(_plates("乐城路", 8))
    line = road_lines(plates, LOCAL).set_index("name").geometry["乐城路"]
    ys = [round(y, 6) for _, y in line.coords]
    assert set(ys) == {32.10}  # between the odd and the even side
    assert line.coords[0][0] == pytest.approx(118.898) and line.coords[-1][0] == pytest.approx(
        118.898 + 7 * 0.0004
    )


def test_a_plate_set_back_in_a_courtyard_does_not_pull_the_road_aside():
    rows = _plates("乐城路", 8)
    rows[6]["lat"] += 0.002  # door 7, 220 m north inside a courtyard (a shop's plate)
    line = road_lines(pd.DataFrame(rows), LOCAL).geometry.iloc[0]
    straight = shapely.LineString([(118.898, 32.1), (118.9008, 32.1)])
    assert shapely.hausdorff_distance(line, straight) < 0.0002


def test_roads_with_one_step_or_no_numbers_have_no_line():
    plates = pd.DataFrame([
        {"name": "短路", "door_no": "1", "lon": 118.9, "lat": 32.1},
        {"name": "短路", "door_no": "2", "lon": 118.9, "lat": 32.1},
        {"name": "无号路", "door_no": "东侧", "lon": 118.9, "lat": 32.1},
    ])  # fmt: skip
    assert road_lines(plates, LOCAL).empty


def _district() -> dict:
    streets = gpd.GeoDataFrame({"code": ["320113001"], "name": ["尧化街道"]},
                               geometry=[box(118.89, 32.09, 118.93, 32.12)], crs=4490)  # fmt: skip
    communities = gpd.GeoDataFrame(
        {"code": ["320113001001", "320113001002"], "name": ["咏梅社区居委会", "尧化社区居委会"],
         "short_name": ["咏梅", "尧化"], "parent_code": ["320113001"] * 2, "level": ["community"] * 2},
        geometry=[box(118.89, 32.09, 118.91, 32.12), box(118.91, 32.09, 118.93, 32.12)], crs=4490,
    )  # fmt: skip
    grids = gpd.GeoDataFrame(
        {"code": ["320113001001001", "320113001001002", "320113001002001"],
         "name": ["咏梅社区第1网格", "咏梅社区第2网格", "尧化社区第1网格"],
         "community_code": ["320113001001", "320113001001", "320113001002"],
         "street_code": ["320113001"] * 3},
        geometry=[box(118.89, 32.09, 118.90, 32.12), box(118.90, 32.09, 118.91, 32.12),
                  box(118.91, 32.09, 118.93, 32.12)], crs=4490,
    )  # fmt: skip
    road = pd.DataFrame(_plates("乐城路", 8)).assign(kind="road")
    flats = pd.DataFrame({"kind": "xiaoqu", "name": "金韵雅苑", "door_no": None,
                          "lon": [118.915, 118.916, 118.917], "lat": 32.11})  # fmt: skip
    points = pd.concat([road, flats], ignore_index=True)
    inside = [("320113001001" if x < 118.91 else "320113001002") for x in points["lon"]]
    points = points.assign(community_code=inside, street_code="320113001")
    return {"streets": streets, "communities": communities, "grids": grids, "points": points}


def _index() -> PlaceIndex:
    d = _district()
    return PlaceIndex(d["streets"], d["communities"], d["grids"], d["points"], local_crs=LOCAL)


def test_the_search_finds_each_kind_of_place():
    index = _index()
    first = {q: index.search(q)[0] for q in ("咏梅社区", "咏梅", "乐城路", "金韵雅苑", "尧化街道",
                                            "320113001002001", "咏梅社区第2网格")}  # fmt: skip
    assert (first["咏梅社区"].kind, first["咏梅社区"].confidence) == ("community", 1.0)
    assert first["咏梅"].kind == "community" and first["咏梅"].code == "320113001001"
    road = first["乐城路"]
    assert road.kind == "road" and road.geometry.geom_type == "LineString"
    assert road.grid_code is None and road.grid_codes == ("320113001001001", "320113001001002")
    assert road.community_name == "咏梅社区" and road.street_name == "尧化街道"
    assert first["金韵雅苑"].kind == "xiaoqu" and first["金韵雅苑"].grid_code == "320113001002001"
    assert first["尧化街道"].kind == "street" and len(first["尧化街道"].grid_codes) == 3
    assert first["320113001002001"].kind == "grid" and first["320113001002001"].confidence == 1.0
    assert first["咏梅社区第2网格"].code == "320113001001002"


def test_a_search_ranks_whole_names_over_parts_and_an_admin_prefix_is_read_past():
    index = _index()
    hits = index.search("咏梅社区")
    assert [h.kind for h in hits][:1] == ["community"]
    assert all(h.confidence < 1 for h in hits[1:])  # its grids: the name is a part of theirs
    assert index.search("栖霞区尧化街道")[0].confidence == 0.95
    prefix = index.search("3201130010")
    assert prefix and all(h.code.startswith("3201130010") for h in prefix)
    assert index.search("月球路") == []
    with pytest.raises(BadInput, match="q"):
        index.search("  ")


def test_a_community_in_the_store_was_unmatched_by_the_geocoder_and_is_found_now():
    """What issue 15 saw: the address geocoder answers 咏梅社区 "未匹配" (no road or 小区 in it)."""
    hit = _index().search("咏梅社区居委会")[0]  # the committee's official name, as the store has it
    assert (hit.kind, hit.name, hit.confidence) == ("community", "咏梅社区", 1.0)


def test_label_points_of_named_places_lie_on_their_addresses():
    d = _district()
    labels = named_places(d["points"])
    assert labels[["kind", "name", "lon"]].values.tolist() == [["xiaoqu", "金韵雅苑", 118.916]]


# ------------------------------------------------------------------------------ tile templates
#: 天地图's documented WMTS GetTile request (KVP), as its service pages and every client write it:
#: http://t0.tianditu.gov.cn/img_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=img
#: &STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY
DOCUMENTED = {"SERVICE": "WMTS", "REQUEST": "GetTile", "VERSION": "1.0.0", "STYLE": "default",
              "FORMAT": "tiles"}  # fmt: skip


def _filled(template: str, s: str, z: int, x: int, y: int, offset: int = 0) -> str:
    """A Leaflet template filled as L.TileLayer.getTileUrl does (``z`` + zoomOffset)."""
    return (template.replace("{s}", s).replace("{z}", str(z + offset)).replace("{x}", str(x))
            .replace("{y}", str(y)))  # fmt: skip


@pytest.mark.parametrize("preset", ["vec", "img", "ter"])
@pytest.mark.parametrize(("projection", "matrix"), [("webmercator", "w"), ("cgcs2000", "c")])
def test_tianditu_presets_ask_for_tiles_in_the_documented_form(preset, projection, matrix):
    base = tile_base(f"tianditu:{preset}", key="0123abcd", projection=projection)
    layers = {"vec": ("vec", "cva"), "img": ("img", "cia"), "ter": ("ter", "cta")}[preset]
    assert base.crs == "cgcs2000" and base.projection == (
        "EPSG3857" if matrix == "w" else "EPSG4326")  # fmt: skip
    for spec, layer in zip(base.tiles, layers, strict=True):
        assert spec.subdomains == "01234567"
        # Leaflet zoom 0: level 1 of the "c" matrix (2 × 1 tiles); level 0 of "w"
        url = urlsplit(_filled(spec.url, "3", 0, 1, 0, spec.zoom_offset))
        assert (url.scheme, url.netloc, url.path) == ("https", "t3.tianditu.gov.cn",
                                                      f"/{layer}_{matrix}/wmts")  # fmt: skip
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        assert query == {**DOCUMENTED, "LAYER": layer, "TILEMATRIXSET": matrix,
                         "TILEMATRIX": "1" if matrix == "c" else "0", "TILEROW": "0",
                         "TILECOL": "1", "tk": "0123abcd"}  # fmt: skip
    assert base.tiles[1].name.endswith("注记")


def test_an_intranet_copy_of_tianditu_keeps_the_request_form():
    url = tianditu_url("vec", "w", key="k", host="http://10.0.0.8/tianditu/")
    assert url.startswith("http://10.0.0.8/tianditu/vec_w/wmts?SERVICE=WMTS&")


def test_xyz_templates_and_refusals_name_the_setting():
    base = tile_base("https://tiles.intranet/{z}/{x}/{y}.png", attribution="区政务云")
    assert [t.url for t in base.tiles] == ["https://tiles.intranet/{z}/{x}/{y}.png"]
    assert base.projection == "EPSG3857" and base.tiles[0].attribution == "区政务云"
    for kwargs, field in (
        ({"url": "tianditu:vec"}, "tiles_key"),
        ({"url": "tianditu:satellite", "key": "k"}, "tiles_url"),
        ({"url": "tianditu:vec", "key": "k", "projection": "albers"}, "tiles_projection"),
        ({"url": "tianditu:vec", "key": "k", "crs": "gcj02"}, "tiles_crs"),
        ({"url": "https://tiles.intranet/{z}/{x}.png"}, "tiles_url"),
        ({"url": "ftp://tiles/{z}/{x}/{y}"}, "tiles_url"),
    ):
        with pytest.raises(BadInput) as err:
            tile_base(**kwargs)
        assert err.value.field == field, kwargs


def test_settings_refuse_a_base_map_that_cannot_work_when_read():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="tiles_key"):
        Settings(tiles_url="tianditu:img")
    assert Settings(tiles_url="tianditu:img", tiles_key="k").tile_options()["key"] == "k"
    assert Settings().tiles_url is None  # no tiles: the district's own roads and names


def test_a_page_on_tianditu_cgcs2000_is_drawn_in_lon_lat_with_both_layers():
    d = _district()
    base = tile_base("tianditu:vec", key="k", projection="cgcs2000")
    html = map_html(coverage_map(d["streets"], d["communities"], {"unified": d["grids"]},
                                 base=base, tiles_base="/tiles"))  # fmt: skip
    assert "L.CRS.EPSG4326" in html and html.count("tianditu.gov.cn") == 2
    assert '"zoomOffset": 1' in html and "vectorgrid" not in html.lower()  # no Mercator tiles


def test_without_tiles_a_page_draws_the_districts_roads_and_names_under_its_layers():
    d = _district()
    roads = road_lines(d["points"][d["points"]["kind"] == "road"], LOCAL)
    labels = pd.DataFrame({"kind": ["community", "xiaoqu"], "name": ["咏梅社区", "金韵雅苑"],
                           "lon": [118.90, 118.916], "lat": [32.10, 32.11]})  # fmt: skip
    html = map_html(coverage_map(d["streets"], d["communities"], {"unified": d["grids"]},
                                 base=vector_base(roads, labels)))  # fmt: skip
    assert "geoGrid.vectorBase" in html and "乐城路" in html and "金韵雅苑" in html
    assert (
        json.dumps("道路与地名")[1:-1] in html
        and "tianditu" not in html
        and "L.CRS.EPSG3857" in html
    )
    with pytest.raises(BadInput, match="places"):
        vector_base(roads, labels.assign(kind="harbour"))


def test_a_district_page_without_a_base_is_as_before():
    d = _district()
    html = map_html(coverage_map(d["streets"], d["communities"], {"unified": d["grids"]},
                                 district=MapDistrict("EPSG:4549", (118.9, 32.1))))  # fmt: skip
    assert "vectorBase" not in html
    assert np.isfinite(shapely.area(d["grids"].geometry.values)).all()
