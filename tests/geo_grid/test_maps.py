"""Map builders: offline pages (no CDN), Chinese layer names, size goal, and a real browser load.

The synthetic district is 1,063 grids × 5 layers of wiggly Voronoi coverages over 20 × 19.5 km
(390 km²): boundaries get a smooth ±18 m meander every 20 m so that, after 4 m simplification,
grids keep ~100 vertices each, more than road-following real grids need.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from browser import browser_available, load_page, serve_directory
from pyproj import Transformer
from shapely import box

from geo_grid.crs import wgs84_to_gcj02
from geo_grid.errors import BadInput
from geo_grid.layers import LAYER_NAMES_ZH
from geo_grid.maps import checks_map, coverage_map, grid_map, map_html, write_map

LAYERS = ["unified", "politics_law", "urban_mgmt", "emergency", "ecology"]
# dotted names: packed coordinates are letters and punctuation from "?" up, never "."
CDN = re.compile(r"cdn\.|jsdelivr|unpkg\.|cdnjs\.|googleapis\.|jquery\.|bootstrap\.|fontawesome")
URL = re.compile(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'<>)]*", re.I)
needs_browser = pytest.mark.skipif(not browser_available(), reason="playwright/chromium missing")


def _coverage(n: int, seed: int, bounds: tuple[float, float, float, float]) -> np.ndarray:
    """``n`` polygons tiling ``bounds`` (EPSG:4549) with shared, meandering edges."""
    minx, miny, maxx, maxy = bounds
    frame = box(*bounds)
    extra = 0
    while True:
        rng = np.random.default_rng(seed)
        pts = shapely.points(rng.uniform(minx, maxx, n + extra), rng.uniform(miny, maxy, n + extra))
        cells = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=frame)
        edges = shapely.union_all([shapely.boundary(frame.intersection(c)) for c in cells.geoms])
        edges = shapely.segmentize(edges, 20.0)

        def meander(xy: np.ndarray) -> np.ndarray:
            x, y = xy[:, 0], xy[:, 1]
            edge = np.minimum.reduce([x - minx, maxx - x, y - miny, maxy - y])
            taper = np.clip(edge / 60.0, 0, 1)
            dx = 12 * (np.sin(y / 47 + seed) + 0.5 * np.sin(y / 13))
            dy = 12 * (np.sin(x / 53 + seed) + 0.5 * np.sin(x / 11))
            return np.column_stack([x + dx * taper, y + dy * taper])

        polys = shapely.get_parts(
            shapely.polygonize(shapely.get_parts(shapely.transform(edges, meander)))
        )
        if len(polys) >= n:
            return polys[:n]
        extra += n - len(polys)


@pytest.fixture(scope="module")
def district():
    """Streets, communities, 5 layers × 1,063 grids, a roster with phones, open cases."""
    to_local = Transformer.from_crs(4490, 4549, always_xy=True)
    x0, y0 = to_local.transform(118.9, 32.12)
    bounds = (x0 - 10_000, y0 - 9_750, x0 + 10_000, y0 + 9_750)

    def frame(polys, data):
        return gpd.GeoDataFrame(data, geometry=polys, crs=4549).to_crs(4490)

    layers = {}
    for i, key in enumerate(LAYERS):
        polys = _coverage(1063, i + 1, bounds)
        codes = [f"32011300{i}{j:06d}" for j in range(len(polys))]
        names = [f"尧化门社区第{j + 1}网格" for j in range(len(polys))]
        households = np.random.default_rng(i).integers(300, 500, len(polys))
        layers[key] = frame(polys, {"code": codes, "name": names, "households": households})
    streets = frame(_coverage(9, 21, bounds), {"name": [f"街道{j}" for j in range(9)]})
    communities = frame(_coverage(130, 22, bounds), {"name": [f"社区{j}" for j in range(130)]})
    unified = layers["unified"]["code"].tolist()
    roster = pd.DataFrame(
        [
            {
                "person_id": f"{role}{j}",
                "name": f"{'王李'[k]}网格{j}",
                "phone": f"139{j:08d}",
                "role": role,
                "layer": "unified",
                "grid_code": code,
            }
            for k, role in enumerate(["grid_leader", "grid_worker"])
            for j, code in enumerate(unified)
        ]
    )
    cases = pd.DataFrame({"grid_code": unified[:200] * 2})
    return {
        "streets": streets,
        "communities": communities,
        "layers": layers,
        "roster": roster,
        "cases": cases,
    }


@pytest.fixture(scope="module")
def coverage_page(district):
    m = coverage_map(
        district["streets"],
        district["communities"],
        district["layers"],
        roster=district["roster"],
        open_cases=district["cases"],
    )
    return m, map_html(m)


@pytest.fixture
def defects(district):
    grids = district["layers"]["urban_mgmt"]
    a, b = grids.geometry.iloc[0], grids.geometry.iloc[1]
    c = a.centroid
    return gpd.GeoDataFrame(
        {
            "kind": ["overlap", "gap", "sliver gap", "crosses parent", "invalid geometry"],
            "ids": [["32011300200000", "32011300200001"], [], [], ["x"], ["y"]],
            "area_m2": [1520.4, 880.0, 35.2, 12000.0, 0.0],
            "width_m": [12.3, 20.0, 1.4, None, None],
            "parent": [None, None, None, "320113001001", None],
        },
        geometry=[
            a.buffer(0.0005).intersection(b),
            c.buffer(0.0008),
            box(c.x, c.y, c.x + 0.003, c.y + 0.00002),
            b.buffer(0.0003).difference(b),
            shapely.LineString([(c.x, c.y), (c.x + 0.002, c.y + 0.002)]),
        ],
        crs=4490,
    )


def _has(html: str, text: str) -> bool:
    """Text in the page as UTF-8 or as folium writes layer names (JSON ``\\u`` escapes)."""
    return text in html or json.dumps(text)[1:-1] in html


def _urls(html: str) -> list[str]:
    return URL.findall(html)


def test_coverage_page_is_offline_named_and_private(coverage_page, district):
    _, html = coverage_page
    assert _urls(html) == [], _urls(html)[:5]
    assert not CDN.search(html)
    assert 'src="/static/vendor/leaflet/leaflet.js"' in html
    assert 'src="/static/js/geo_grid_map.js"' in html
    for name in [*LAYER_NAMES_ZH.values(), "街道", "社区"]:
        assert _has(html, name)
    assert "王网格0" in html and "李网格0" in html  # leader and worker names in the data
    assert "13900000000" not in html  # phone numbers never reach the page
    assert "geoGrid.searchControl" in html and "/api/v1/search" in html


def test_department_layers_start_hidden(coverage_page):
    m, html = coverage_page
    added = set(re.findall(r"(geo_grid_layer_\w+)\.addTo\(map_", html))
    layers = {c.layer_name: c.get_name() for c in m._children.values() if hasattr(c, "layer_name")}
    assert layers[LAYER_NAMES_ZH["unified"]] in added
    for key in LAYERS[1:]:
        assert layers[LAYER_NAMES_ZH[key]] not in added


def test_coverage_page_meets_size_goal(coverage_page, district):
    _, html = coverage_page
    size = len(html.encode("utf-8"))
    assert size <= 3_000_000, f"coverage page is {size / 1e6:.2f} MB"
    # the synthetic grids are detailed: the goal is met by simplification and packing
    raw = shapely.get_num_coordinates(district["layers"]["unified"].geometry.values)
    assert raw.mean() > 100


def test_tiles_and_gcj02_shift(district):
    small = {"unified": district["layers"]["unified"].iloc[:20]}
    tiles = "https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}&style=8"
    plain = map_html(coverage_map(district["streets"].iloc[:0], district["communities"], small))
    shifted = map_html(
        coverage_map(
            district["streets"].iloc[:0],
            district["communities"],
            small,
            tiles_url=tiles,
            tiles_attribution="高德地图",
            tiles_crs="gcj02",
        )
    )
    assert [u for u in _urls(shifted) if "autonavi" not in u] == []
    assert json.dumps("高德地图") in shifted and '"crs":"gcj02"' in shifted

    def bounds(html):
        nums = re.search(
            r"fitBounds\(\s*\[\[([-\d.]+), ([-\d.]+)\], \[([-\d.]+), ([-\d.]+)\]", html
        )
        return np.array([float(v) for v in nums.groups()])

    lat0, lon0 = bounds(plain)[:2]
    glon, glat = wgs84_to_gcj02(lon0, lat0)
    assert np.allclose(bounds(shifted)[:2], [glat, glon], atol=2e-6)
    assert abs(bounds(shifted)[1] - lon0) > 0.003  # the shift is hundreds of metres


def test_checks_map_draws_each_kind_with_legend(district, defects):
    m = checks_map(district["layers"]["urban_mgmt"].iloc[:50], defects, layer="urban_mgmt")
    html = map_html(m)
    assert _urls(html) == [] and not CDN.search(html)
    for label in ("重叠 (1)", "缝隙 (1)", "狭缝 (1)", "跨越上级边界 (1)", "无效几何 (1)"):
        assert _has(html, label)
    assert "#d50000" in html and "#ff9800" in html and "#ffeb3b" in html and "#6a1b9a" in html
    assert "城管网格 覆盖检查：5 处问题" in html
    assert '"面积 (m²)"' in html and "1520.4" in html and "32011300200001" in html


def test_grid_map_shows_buildings_and_addresses(district):
    grids = district["layers"]["unified"]
    grid = grids.iloc[[5]]
    poly = grid.geometry.iloc[0]
    pts = shapely.get_coordinates(poly.exterior)[:3]
    buildings = gpd.GeoDataFrame(
        {"code": ["B1"], "name": ["3栋"], "households": [48], "xiaoqu": ["仙林小区"]},
        geometry=[poly.centroid.buffer(0.0002, cap_style="square")],
        crs=4490,
    )
    addresses = gpd.GeoDataFrame(
        {"full_text": ["栖霞区文苑路1号", "栖霞区文苑路3号", "仙林小区3栋1单元"]},
        geometry=shapely.points(pts * 0.5 + np.array(poly.centroid.coords) * 0.5),
        crs=4490,
    )
    html = map_html(grid_map(grid.iloc[0], buildings, addresses, neighbours=grids.iloc[6:9]))
    assert _urls(html) == [] and not CDN.search(html)
    assert "栖霞区文苑路3号" in html and "仙林小区" in html and _has(html, "相邻网格")
    assert _has(html, "地址 (3)") and _has(html, "楼栋 (1)")


def _data_layers(m) -> dict[str, tuple[dict, dict]]:
    """The page's compact layers by name: (packed data, options), as the page's script reads them."""
    from geo_grid.maps.elements import DataLayer

    return {
        child.layer_name: (json.loads(child.data_js), json.loads(child.options_js))
        for child in m._children.values()
        if isinstance(child, DataLayer)
    }


def _tooltip_of(layer: tuple[dict, dict], code: str) -> dict[str, str]:
    """What a grid's tooltip shows: label → value (as ``fieldTable`` in geo_grid_map.js)."""
    data, options = layer
    row = dict(zip(data["f"], data["p"][[r[0] for r in data["p"]].index(code)], strict=True))
    return {label: row[field] for field, label in options["tooltip"] if row.get(field)}


def test_every_role_of_the_district_shows_in_the_grid_tooltips(district):
    """Roles are data per district since 0012: a role it adds (网格指导员), a fourth-level one
    (楼栋长) and a department's 报到 members (城管报到成员, on the 城管 layer) show under their
    district's names with their people, as the default 网格长 and 网格员 do; phones never."""
    layers = {key: gdf.iloc[:4] for key, gdf in district["layers"].items()}
    grid, dept = layers["unified"]["code"].iloc[0], layers["urban_mgmt"]["code"].iloc[1]
    people = [
        ("p1", "王长", "grid_leader", "网格长", "grid_leader", "unified", grid),
        ("p2", "李员", "grid_worker", "网格员", "grid_worker", "unified", grid),
        ("p3", "赵导", "grid_guide", "网格指导员", "none", "unified", grid),
        ("p4", "钱楼", "building_leader", "楼栋长", "none", "unified", grid),
        ("p5", "孙城", "cg_member", "城管报到成员", "dept_member", "urban_mgmt", dept),
        ("p6", "周户", "party_household", "党员中心户", "party_household", "unified", grid),
    ]
    roster = pd.DataFrame(
        people, columns=["person_id", "name", "role", "role_name", "duty", "layer", "grid_code"]
    ).assign(phone="13912345678")
    m = coverage_map(district["streets"], district["communities"], layers, roster=roster)
    found = _data_layers(m)
    unified = _tooltip_of(found[LAYER_NAMES_ZH["unified"]], grid)
    assert unified == {"编码": grid, "户数": unified["户数"], "网格员": "李员", "网格长": "王长",
                       "党员中心户": "周户", "网格指导员": "赵导", "楼栋长": "钱楼"}  # fmt: skip
    assert list(unified)[2:4] == ["网格员", "网格长"]  # in the order of their duties
    city = _tooltip_of(found[LAYER_NAMES_ZH["urban_mgmt"]], dept)
    assert city == {"编码": dept, "户数": city["户数"], "城管报到成员": "孙城"}
    assert "13912345678" not in map_html(m)


def test_bad_inputs_name_the_argument(district):
    streets, communities = district["streets"], district["communities"]
    with pytest.raises(BadInput, match="unified"):
        coverage_map(streets, communities, {"ecology": district["layers"]["ecology"]})
    no_crs = gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(0, 0, 1, 1)])
    with pytest.raises(BadInput, match="streets: GeoDataFrame has no CRS"):
        coverage_map(no_crs, communities, {"unified": district["layers"]["unified"]})
    with pytest.raises(BadInput, match="tiles_crs"):
        coverage_map(streets, communities, district["layers"], tiles_crs="EPSG:3857")


def test_write_map_is_self_contained(coverage_page, tmp_path):
    m, _ = coverage_page
    out = write_map(m, tmp_path / "maps" / "coverage.html")
    html = out.read_text(encoding="utf-8")
    assert 'src="static/vendor/leaflet/leaflet.js"' in html and '"/static/' not in html
    for rel in (
        "vendor/leaflet/leaflet.js",
        "vendor/leaflet/images/layers.png",
        "js/geo_grid_map.js",
        "css/geo_grid_map.css",
    ):
        assert (out.parent / "static" / rel).is_file(), rel


LABELS_AT_ZOOM_16 = """() => {
  const map = window[Object.keys(window).find(k => k.startsWith("map_"))];
  const before = document.querySelectorAll(".gg-label").length;
  map.setView(map.getCenter(), 16, {animate: false});
  return [before, document.querySelectorAll(".gg-label").length];
}"""


@pytest.mark.browser
@needs_browser
def test_coverage_file_loads_offline_in_chromium(coverage_page, tmp_path):
    m, _ = coverage_page
    out = write_map(m, tmp_path / "coverage.html")
    report = load_page(
        out.as_uri(), tmp_path / "coverage.png", evaluate={"labels": LABELS_AT_ZOOM_16}
    )
    assert report.external_requests == []
    assert report.console_errors == []
    assert report.failed_requests == []
    assert not report.blank
    assert report.canvas_ink > 0.15  # the district fills ~a quarter of the padded canvas
    for name in [*LAYER_NAMES_ZH.values(), "街道", "社区"]:
        assert name in report.layer_control_text
    assert report.first_paint_ms is not None  # it paints; how fast is bench/ work, not a test's
    before, after = report.extra["labels"]
    assert before == 0 and after > 0  # grid names appear only when zoomed in


@pytest.mark.browser
@needs_browser
def test_checks_and_grid_maps_served_over_http(district, defects, tmp_path):
    grids = district["layers"]["unified"]
    pages = {
        "checks.html": checks_map(grids.iloc[:80], defects, layer="unified"),
        "grid.html": grid_map(grids.iloc[[3]], grids.iloc[:0], _points(grids.iloc[[3]])),
    }
    write_map(pages["grid.html"], tmp_path / "unused.html")  # lays out static/ beside the pages
    for name, m in pages.items():
        (tmp_path / name).write_text(map_html(m), encoding="utf-8")  # "/static" base, as the API
    with serve_directory(tmp_path) as base:
        reports = {name: load_page(base + name, tmp_path / f"{name}.png") for name in pages}
    for name, report in reports.items():
        assert report.external_requests == [], name
        assert report.console_errors == [], name
        assert not report.blank, name
        assert report.canvas_ink > 0.01, name
    assert "重叠 (1)" in reports["checks.html"].layer_control_text
    assert "地址 (1)" in reports["grid.html"].layer_control_text


def _points(grid: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"full_text": ["栖霞区文苑路9号"]}, geometry=grid.representative_point().values, crs=4490
    )


# ------------------------------------------------------------------ hostile text in every page
#: Stored text that once broke pages: ``<!--<script>`` in a case address swallowed the rest of the
#: cases page into a script; the others would end a script, open an element or a JS string.
HOSTILE = (
    "<!--<script> </script><script>alert(1)</script> \"'><img src=x onerror=alert(1)> "
    "a\u2028b\u2029c &lt;b&gt;&amp; {{ 7*7 }}{% if 1 %}"
)
#: What no page may contain raw whatever it shows (a benign page has none of them).
RAW = ("<!--", "<script>alert", "<img", "onerror=alert(1)>", "{{ 7*7 }}", "{% if")


class _Tags(HTMLParser):
    """The sequence of start tags a browser's parser sees, and the text of each script."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag) -> None:
        self._in_script = False

    def handle_data(self, data) -> None:
        if self._in_script:
            self.scripts[-1] += data


def _pages(district, text: str) -> dict[str, str]:
    """Every page kind of the library with ``text`` in every text it shows."""
    from geo_grid.maps import cases_map, dispatch_map, indicators_map, plan_map

    grids = district["layers"]["unified"].iloc[:30].copy()
    grids["name"] = [f"{text}{i}" for i in range(len(grids))]
    dept = district["layers"]["urban_mgmt"].iloc[:30].copy()
    dept["name"] = text
    communities = district["communities"].iloc[:5].copy()
    communities["name"] = text
    streets = district["streets"].iloc[:2].copy()
    streets["name"] = text
    roster = district["roster"].copy()
    roster["name"] = text
    names = {"unified": text, "urban_mgmt": text}
    centre = grids.geometry.iloc[0].representative_point()
    cases = pd.DataFrame({
        "number": [text], "lon": [centre.x], "lat": [centre.y], "category_code": ["E0101"],
        "status": ["dispatched"], "grid_code": [grids["code"].iloc[0]], "address_text": [text],
        "received_at": ["2026-06-01 08:00"],
    })  # fmt: skip
    indicators = pd.DataFrame({"code": grids["code"], "colour": "red", "due": 3})
    one = grids.iloc[[0]]
    poly = one.geometry.iloc[0]
    buildings = gpd.GeoDataFrame(
        {"code": ["B1"], "name": [text], "xiaoqu": [text], "households": [4]},
        geometry=[poly.centroid.buffer(0.0002, cap_style="square")], crs=4490,
    )  # fmt: skip
    addresses = gpd.GeoDataFrame({"full_text": [text]}, geometry=[poly.centroid], crs=4490)
    maps = {
        "coverage": coverage_map(streets, communities, {"unified": grids, "urban_mgmt": dept},
                                 roster=roster, layer_names=names),
        "checks": checks_map(dept, dept.iloc[:0].assign(kind=[]), layer="urban_mgmt",
                             layer_names=names),
        "grid": grid_map(one.iloc[0], buildings, addresses, neighbours=grids.iloc[1:4]),
        "cases": cases_map(cases, grids, title=text, period=text),
        "indicators": indicators_map(grids, indicators, period=text),
        "dispatch": dispatch_map(grids, {"urban_mgmt": dept}, layer_names=names),
        "plan": plan_map(7, grids.iloc[:2], grids.iloc[:3], grids.iloc[3:9], title=text,
                         note=text),
    }  # fmt: skip
    return {kind: map_html(m) for kind, m in maps.items()}


def test_hostile_text_cannot_change_how_any_page_parses(district):
    """Every text reaches a page through ``js_literal`` (scripts) or ``html_text`` (markup): the
    page's elements are the same as with plain text, and no raw ``<``-sequence leaks."""
    plain = _pages(district, "plain")
    hostile = _pages(district, HOSTILE)
    for kind, html in hostile.items():
        for raw in RAW:
            assert raw not in plain[kind] and raw not in html, (kind, raw)
        seen, expected = _Tags(html), _Tags(plain[kind])
        assert seen.tags == expected.tags, kind
        for script in seen.scripts:  # U+2028/9 ended a JavaScript string before ES2019
            assert not any(ch in script for ch in "\u2028\u2029"), kind
            assert "<" not in script.replace("<=", ""), (kind, script[:200])
        assert "alert(1)" in html and "7*7" in html  # the text is there, only escaped


def test_js_literal_escapes_what_html_may_not_hold_and_reads_back_verbatim():
    from geo_grid.maps import js_literal

    value = {"a": HOSTILE, "b": [HOSTILE, {"c": "\u2028"}]}
    text = js_literal(value)
    assert not any(ch in text for ch in "<>&\u2028\u2029")
    assert json.loads(text) == value


def test_two_plugin_sets_on_one_page_are_both_linked_once():
    """A page's own plugins and the identify panel's (or the export buttons'): neither takes the
    other's place in the header (they were named by position, so the second's first file
    replaced the first's), and a file two of them ask for is linked once."""
    import folium

    from geo_grid.maps.assets import Plugins

    m = folium.Map(tiles=None)
    m.add_child(Plugins("/static", [("leaflet-draw", "leaflet.draw.js")], ["js/geo_grid_plan.js"]))
    m.add_child(Plugins("/static", (), ["js/geo_grid_identify.js", "css/geo_grid_identify.css"]))
    m.add_child(Plugins("/static", (), ("js/geo_grid_export.js",)))
    m.add_child(Plugins("/static", (), ("js/geo_grid_export.js",)))
    html = m.get_root().render()
    for url in ("vendor/leaflet-draw/leaflet.draw.js", "js/geo_grid_plan.js",
                "js/geo_grid_identify.js", "css/geo_grid_identify.css"):  # fmt: skip
        assert f'"/static/{url}"' in html, url
    assert html.count('src="/static/js/geo_grid_export.js"') == 1
