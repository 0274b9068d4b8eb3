"""The shape of ``geo_grid/maps``: a public API, no private imports, short functions, the district
as an argument.

Issue 13 turned ``geo_grid/maps.py`` and its six ``_maps_*`` siblings into a package. These tests
keep it that way: callers import from ``geo_grid.maps`` (``__all__``), no module reaches into
another's private names, no function grows past ~80 lines of code, and the district's metric CRS
and centre reach every builder as one argument (:class:`geo_grid.maps.MapDistrict`) instead of
literals scattered through the drawing code.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely import Point, box

import geo_grid.maps
from geo_grid.errors import BadInput
from geo_grid.maps import MapDistrict, map_html

ROOT = Path(__file__).resolve().parents[2]
MAPS = ROOT / "geo_grid" / "maps"
#: Where callers of the maps live (the suite's own imports count too).
CALLERS = ("geo_grid", "api", "tests", "bench", "scripts", "notebooks")
MAX_CODE_LINES = 80


def _python_sources() -> dict[Path, str]:
    """Every Python source of the project, notebook cells included."""
    sources: dict[Path, str] = {}
    for top in CALLERS:
        for path in sorted((ROOT / top).rglob("*.py")):
            sources[path] = path.read_text(encoding="utf-8")
        for path in sorted((ROOT / top).rglob("*.ipynb")):
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            code = [c["source"] for c in cells if c["cell_type"] == "code"]
            sources[path] = "\n".join("".join(s) if isinstance(s, list) else s for s in code)
    return sources


def _maps_imports() -> list[tuple[Path, int, str, list[str]]]:
    """(file, line, module, names) of every import of maps code, relative imports resolved."""
    found = []
    for path, source in _python_sources().items():
        try:
            tree = ast.parse(source)
        except SyntaxError:  # notebook magics
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = node.module
                if node.level:  # relative: from the file's package, one level up per extra dot
                    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
                    module = ".".join([*package[: len(package) - node.level + 1], module])
                names = [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                module, names = "", [a.name for a in node.names]
            else:
                continue
            for mod in [module] if module else names:
                if mod.startswith(("geo_grid.maps", "geo_grid._maps")):
                    found.append((path, node.lineno, mod, names if module else []))
    return found


def test_no_private_maps_name_is_imported_across_modules():
    """Shared helpers are public inside the package; nobody imports ``_x`` from maps code."""
    bad = [
        f"{path.relative_to(ROOT)}:{line} {module} {names}"
        for path, line, module, names in _maps_imports()
        if any(part.startswith("_") for part in module.split("."))
        or any(name.startswith("_") for name in names)
    ]
    assert bad == []


def test_callers_import_what_the_package_exports():
    """README, notebooks, bench, services and api import from ``geo_grid.maps``'s ``__all__``."""
    exported = set(geo_grid.maps.__all__)
    assert exported <= set(dir(geo_grid.maps))
    outside = [
        (path.relative_to(ROOT), name)
        for path, _, module, names in _maps_imports()
        if module == "geo_grid.maps" and not path.is_relative_to(MAPS)
        for name in names
        if name not in exported
    ]
    assert outside == []
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in re.findall(r"from geo_grid\.maps import ([\w, ]+)", readme):
        assert {n.strip() for n in name.split(",")} <= exported


def _code_lines(node: ast.AST, lines: list[str], docstrings: set[int]) -> int:
    return sum(
        1
        for i in range(node.lineno, node.end_lineno + 1)
        if lines[i - 1].strip() and not lines[i - 1].strip().startswith("#") and i not in docstrings
    )


def test_no_function_in_maps_is_long():
    """validate → compute → assemble: a page builder delegates its layers to helpers."""
    long = []
    for path in sorted(MAPS.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        tree, lines = ast.parse(source), source.splitlines()
        docstrings = {
            i
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Module))
            and ast.get_docstring(node) is not None
            for i in range(node.body[0].lineno, node.body[0].end_lineno + 1)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                n = _code_lines(node, lines, docstrings)
                if n > MAX_CODE_LINES:
                    long.append(f"{path.name}:{node.lineno} {node.name} ({n} lines)")
    assert long == []


def test_every_page_closes_through_page_finish():
    """The info box, layer control and view are written once (:meth:`Page.finish`): no builder
    adds its own, and every public ``*_map`` returns what ``finish`` gives."""
    closing = re.compile(r"LayerControl|geoGrid\.infoBox|fit_bounds|\bfit\(")
    own = [
        f"{path.name}:{i}"
        for path in sorted(MAPS.glob("*.py"))
        if path.name != "page.py"
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if closing.search(line)
    ]
    assert own == []
    builders = {}
    for path in sorted(MAPS.glob("*.py")):
        if path.name == "page.py":  # base_map opens a page, write_map writes one
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name.endswith("_map"):
                last = node.body[-1]
                call = last.value if isinstance(last, ast.Return) else None
                func = call.func if isinstance(call, ast.Call) else None
                builders[node.name] = isinstance(func, ast.Attribute) and func.attr == "finish"
    assert len(builders) == 8 and all(builders.values()), builders


def test_no_district_values_in_the_maps():
    """No district's metric CRS or centre in the maps' code: they come from its profile (or
    from what a page draws)."""
    seen = []
    for path in sorted(MAPS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Module))
            and ast.get_docstring(node) is not None
        }
        for node in ast.walk(tree):
            literal = isinstance(node, ast.Constant) and id(node) not in docs
            if literal and node.value in ("EPSG:4549", 4549, 32.1, 118.9):
                seen.append((path.name, node.value))
    assert seen == []


def _grids() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["G1"], "name": ["一网格"], "households": [10]},
        geometry=[box(114.05, 22.53, 114.06, 22.54)],
        crs=4490,
    )


def _builders(district: MapDistrict) -> dict[str, object]:
    """Every page of the package built for ``district`` from a one-grid district."""
    from geo_grid import maps

    grids = _grids()
    outline = grids[["name", "geometry"]]
    stations = gpd.GeoDataFrame({"name": ["驿站"], "households": [10]},
                                geometry=[Point(114.055, 22.535)], crs=4490)  # fmt: skip
    buildings = grids.assign(community_code="c1")
    reach = maps.service_coverage(
        stations, buildings, outline, local_crs=district.local_crs if district else "auto"
    )
    cases = pd.DataFrame({"number": ["C1"], "lon": [114.055], "lat": [22.535], "status": ["closed"],
                          "category_code": ["E0101"], "grid_code": ["G1"]})  # fmt: skip
    defects = grids.assign(kind="gap")
    kw = {"district": district}
    return {
        "coverage": maps.coverage_map(outline, outline, {"unified": grids}, **kw),
        "checks": maps.checks_map(grids, defects, **kw),
        "grid": maps.grid_map(grids, grids.iloc[:0], grids.iloc[:0], **kw),
        "cases": maps.cases_map(cases, grids, **kw),
        "indicators": maps.indicators_map(
            grids, pd.DataFrame({"code": ["G1"], "colour": ["red"]}), **kw
        ),  # fmt: skip
        "services": maps.services_map(stations, reach, outline, **kw),
        "dispatch": maps.dispatch_map(grids, **kw),
        "plan": maps.plan_map(1, grids.iloc[:0], grids.iloc[:0], **kw),
    }


def test_every_builder_opens_on_the_district_it_is_given():
    shenzhen = MapDistrict("EPSG:4547", (114.06, 22.54))  # CGCS2000 zone at 114°E
    pages = _builders(shenzhen)
    assert len(pages) == 8
    for kind, m in pages.items():
        html = map_html(m)
        assert "center: [22.54, 114.06]" in html, kind
        assert "[32.1, 118.9]" not in html, kind


def test_a_page_without_a_district_takes_its_zone_and_centre_from_what_it_draws():
    """No district's facts in the library: a page given none opens on its own data, measured
    in the Gauss-Krüger zone of that data (the plan page with nothing drawn: the middle of
    China)."""
    pages = _builders(None)
    for kind, m in pages.items():
        html = map_html(m)
        centre = "[35.0, 104.0]" if kind == "plan" else "[22.535, 114.055]"
        assert f"center: {centre}" in html, kind
    assert MapDistrict.around(_grids()).local_crs == "EPSG:4547"


def test_a_district_with_bounds_opens_on_them_and_keeps_them():
    """A district-wide page opens on the district's outline, not on what it draws, without a
    zoom animation (one still running swallowed the first setView)."""
    shenzhen = MapDistrict.of_bounds("EPSG:4547", (113.9, 22.4, 114.3, 22.7))
    for kind, m in _builders(shenzhen).items():
        html = map_html(m)
        assert "[[22.4, 113.9], [22.7, 114.3]]" in html, kind
        assert html.count("fitBounds(") == 1, kind  # the district's only: fit() leaves it
        assert '"animate": false' in html, kind


def test_simplification_is_measured_in_the_district_crs():
    """``simplify_m`` is metres of ``district.local_crs``: a CRS whose metre is 1 km simplifies a
    round grid to a few vertices, the district's own keeps its outline."""
    from geo_grid.maps import coverage_map

    ring = gpd.GeoDataFrame({"code": ["G1"], "name": ["圆"]},
                            geometry=[Point(114.055, 22.535).buffer(0.002, quad_segs=32)],
                            crs=4490)  # fmt: skip
    coarse = MapDistrict(
        "+proj=tmerc +lon_0=114 +k=0.001 +x_0=500 +units=m +ellps=GRS80", (114, 22)
    )

    def packed(district: MapDistrict) -> int:
        m = coverage_map(ring.iloc[:0], ring.iloc[:0], {"unified": ring}, district=district)
        data = re.search(r"geoGrid\.dataLayer\((\{.*?\}), \{", map_html(m)).group(1)
        return len(json.loads(data)["g"][0][1][0])

    assert packed(coarse) < packed(MapDistrict("EPSG:4547", (114.06, 22.54))) / 4


@pytest.mark.parametrize(
    ("crs", "centre", "message"),
    [
        ("EPSG:4490", (118.9, 32.1), "not a projected CRS in metres"),
        ("EPSG:2249", (118.9, 32.1), "not a projected CRS in metres"),  # US survey feet
        ("no such crs", (118.9, 32.1), "unknown local_crs"),
        ("EPSG:4549", (32.1, 118.9), "not \\(lon, lat\\)"),
        ("EPSG:4549", (float("nan"), 32.1), "not \\(lon, lat\\)"),
    ],
)
def test_a_bad_district_is_refused_naming_it(crs, centre, message):
    with pytest.raises(BadInput, match=message) as err:
        MapDistrict(crs, centre)
    assert err.value.field == "district"
