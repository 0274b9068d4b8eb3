"""No district's facts in the library's address code and the API: they come from its profile.

geo-grid serves any district; the districts this project ships data for (``data/districts.csv``:
Nanjing's eleven, Suzhou's Gusu) are the ones whose names, codes and CRS crept into code before
(``_PREFIXES = ("江苏省", …, "栖霞区")``, ``cities=("南京市", "南京")``, ``"EPSG:4549"`` as a
default). This scan finds any of them — code, docstring, comment or OpenAPI example alike: a
docstring example that needs a specific district teaches the reader the library has one — in the
address package and the API. Examples use made-up places (某区) or ones built from the gazetteer;
the demo generator, the test helpers and the tests themselves may name real districts.

There is no allow-list: every finding is a failure naming ``file:line`` and the word.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: What is scanned: the address package and the API (the brief of issue 14, item 3).
SCANNED = ("geo_grid/address", "api")
#: The local CRS the first district's code carried as a default everywhere.
CRS_WORDS = ("EPSG:4549", "4549")


def _places() -> set[str]:
    """Names (full and short), division codes and the CRS of every district shipped in data/."""
    from geo_grid.address import short_names

    words: set[str] = set(CRS_WORDS)
    with open(REPO / "data" / "districts.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            for level, key in (("district", "name"), ("city", "city")):
                words.add(row[key])
                words.update(short_names(row[key], level))
            words.update((row["code"], row["city_code"]))
    return words


def _pattern(words: set[str]) -> re.Pattern[str]:
    """Each word; a number only where it is not part of a longer number (3205 in 320508 is
    320508's)."""
    parts = [rf"(?<!\d){re.escape(w)}(?!\d)" if w.isdigit() else re.escape(w) for w in words]
    return re.compile("|".join(sorted(parts, key=len, reverse=True)))


def findings() -> list[str]:
    pattern = _pattern(_places())
    found = []
    for folder in SCANNED:
        for path in sorted((REPO / folder).rglob("*.py")):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                for m in pattern.finditer(line):
                    found.append(f"{path.relative_to(REPO)}:{n}: {m.group(0)}")
    return found


def test_the_place_list_holds_the_shipped_districts():
    words = _places()
    shipped = {"栖霞", "栖霞区", "南京", "南京市", "320113", "姑苏", "苏州", "320508", "EPSG:4549"}
    assert shipped <= words
    assert _pattern(words).search("scope city:3205") and not _pattern({"3205"}).search("320508")


def test_no_district_constants_in_the_address_package_and_the_api():
    found = findings()
    assert not found, "district facts in library code:\n" + "\n".join(found)
