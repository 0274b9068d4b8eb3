"""No district's facts in the library and the API: they come from its profile.

geo-grid serves any district; the districts this project ships data for (``data/districts.csv``:
Nanjing's eleven, Suzhou's Gusu) are the ones whose names, codes, CRS and coordinates crept into
code before (``_PREFIXES = ("江苏省", …, "栖霞区")``, ``cities=("南京市", "南京")``, ``"EPSG:4549"``
as a default, a map centred on ``[32.1, 118.9]``, test fixtures laid out in Qixia). This scan
finds any of them — code, docstring, comment or OpenAPI example alike: a docstring example that
needs a specific district teaches the reader the library has one — in the whole of ``geo_grid/``
and ``api/``:

* the names of those districts and their cities, full and short (栖霞区, 栖霞, 南京市, 南京);
* the names of their streets (尧化街道, 平江街道);
* their division codes, alone (320113, 3201) or as the start of a street, community or grid code
  (320113001, 320113001007, 320113001007001);
* their local CRS, EPSG:4549;
* a lon/lat pair inside one of their outlines' bounding boxes (118.9, 32.1).

Examples use made-up places (示例区, 990101: no province 99) or another real place
(:func:`geo_grid.testing.made_up_place`); the tests and benches give the fixtures their place.
Two folders are left out, each for its reason: ``geo_grid/demo/`` generates the shipped
districts' demos (their facts are its data), and ``geo_grid/db/migrations/`` is history (a
migration stays as it ran). There is no allow-list beyond them: every finding is a failure naming
``file:line`` and what was found.
"""

from __future__ import annotations

import csv
import json
import re
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: What is scanned, and what of it is not.
SCANNED = ("geo_grid", "api")
EXCLUDED = ("geo_grid/demo", "geo_grid/db/migrations")
#: The local CRS the first district's code carried as a default everywhere.
CRS_WORDS = ("EPSG:4549", "4549")
#: Margin (degrees) around a shipped district's bounding box within which a lon/lat is its.
BOX_MARGIN = 0.05
_NUMBER = re.compile(r"(?<![\d.])\d{2,3}\.\d+(?![\d.])")


def _rows(name: str) -> list[dict[str, str]]:
    with open(REPO / "data" / name, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@cache
def _places() -> frozenset[str]:
    """Names (full and short), division codes and the CRS of every district shipped in data/,
    and the names of their streets."""
    from geo_grid.address import short_names

    words: set[str] = set(CRS_WORDS)
    for row in _rows("districts.csv"):
        for level, key in (("district", "name"), ("city", "city")):
            words.add(row[key])
            words.update(short_names(row[key], level))
        words.update((row["code"], row["city_code"]))
    for name in ("nanjing_communities.csv", "gusu_communities.csv"):
        words.update(row["street"] for row in _rows(name))
    return frozenset(words)


def _district_codes() -> list[str]:
    return [row["code"] for row in _rows("districts.csv")]


@cache
def _boxes() -> tuple[tuple[float, float, float, float], ...]:
    """The bounding box of each shipped district's outline (lon/lat), widened by the margin."""
    boxes = []
    for name in ("nanjing_districts_gcj02.geojson", "suzhou_gusu_gcj02.geojson"):
        for feature in json.loads((REPO / "data" / name).read_text(encoding="utf-8"))["features"]:
            xs, ys = [], []
            for ring in _rings(feature["geometry"]):
                xs.extend(p[0] for p in ring)
                ys.extend(p[1] for p in ring)
            m = BOX_MARGIN
            boxes.append((min(xs) - m, min(ys) - m, max(xs) + m, max(ys) + m))
    return tuple(boxes)


def _rings(geometry: dict) -> list[list]:
    coords = geometry["coordinates"]
    polygons = coords if geometry["type"] == "MultiPolygon" else [coords]
    return [ring for polygon in polygons for ring in polygon]


def _pattern(words) -> re.Pattern[str]:
    """Each word; a number only where it is not part of a longer number (3205 in 320508 is
    320508's); a district code also as the start of a 9-, 12- or 15-digit code."""
    parts = [rf"(?<!\d){re.escape(w)}(?!\d)" if w.isdigit() else re.escape(w) for w in words]
    codes = "|".join(sorted(_district_codes()))
    parts.append(rf"(?<!\d)(?:{codes})(?:\d{{3}}){{1,3}}(?!\d)")
    return re.compile("|".join(sorted(parts, key=len, reverse=True)))


def _inside(lon: float, lat: float) -> bool:
    return any(x0 <= lon <= x1 and y0 <= lat <= y1 for x0, y0, x1, y1 in _boxes())


def coordinates(line: str) -> list[str]:
    """Neighbouring numbers of a line that are a lon/lat (either order) in a shipped district.

    >>> coordinates("box(118.90, 32.10, 118.91, 32.11)"), coordinates('"lat": "32.1", "long": "118.9"')
    (['118.90, 32.10', '118.91, 32.11'], ['32.1, 118.9'])
    >>> coordinates("box(114.30, 30.60, 114.31, 30.61)"), coordinates("version 118.9")
    ([], [])
    """
    numbers = [(m.group(0), float(m.group(0))) for m in _NUMBER.finditer(line)]
    found, i = [], 0
    while i + 1 < len(numbers):
        (a, x), (b, y) = numbers[i], numbers[i + 1]
        if _inside(x, y) or _inside(y, x):
            found.append(f"{a}, {b}")
            i += 1  # a pair takes both numbers
        i += 1
    return found


def _files() -> list[Path]:
    out = []
    for folder in SCANNED:
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if not any(rel.startswith(f"{x}/") for x in EXCLUDED):
                out.append(path)
    return out


def findings() -> list[str]:
    pattern = _pattern(_places())
    found = []
    for path in _files():
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            what = [m.group(0) for m in pattern.finditer(line)] + coordinates(line)
            found.extend(f"{path.relative_to(REPO)}:{n}: {w}" for w in what)
    return found


def test_the_place_list_holds_the_shipped_districts():
    words = _places()
    shipped = {"栖霞", "栖霞区", "南京", "南京市", "320113", "姑苏", "苏州", "320508", "EPSG:4549"}
    assert shipped <= words and {"尧化街道", "平江街道"} <= words
    pattern = _pattern(words)
    assert pattern.search("scope city:3205") and not _pattern({"3205"}).search("320508")
    for code in ("320113001", "320113001007", "320113001007-01", '"320508017003001"'):
        assert pattern.search(code), code
    assert not pattern.search("3201131") and not pattern.search("990101001001001")


def test_the_scan_covers_the_fixtures_and_leaves_out_only_demo_and_migrations():
    files = {p.relative_to(REPO).as_posix() for p in _files()}
    assert {"geo_grid/testing/addresses.py", "geo_grid/testing/coverage_layers.py"} <= files
    assert {"geo_grid/maps/page.py", "geo_grid/services/demo.py", "api/main.py"} <= files
    assert not any(f.startswith(("geo_grid/demo/", "geo_grid/db/migrations/")) for f in files)


def test_no_district_constants_in_the_library_and_the_api():
    found = findings()
    assert not found, "district facts in library code:\n" + "\n".join(found)
