"""A district's standard address library 标准地址库, read from its own export (CSV or XLSX).

Public-security and grid centres keep one row per door plate or room: the full address text and,
depending on the system that exported it, its road 街路巷 and door number 门牌号, its 小区, 栋,
单元 and 室, and a point (经度/纬度 in CGCS2000, WGS84, an AMap/Baidu export's GCJ-02/BD-09, or a
projected EPSG code). :func:`read_library` turns such a table (:class:`geo_grid.io.tables.Table`)
into the rows the store keeps (:data:`geo_grid.db.repos.district.ADDRESS_FIELDS` and a point in
EPSG:4490), which is what the geocoder indexes:

* the columns are found by their usual Chinese or English headers (``_COLUMNS``);
* the parts a file leaves out are parsed from the full text (:func:`geo_grid.address.parse`,
  with the national gazetteer when given), and numbers are written as the library writes them
  (三幢 → 3, 1502室 → 1502);
* ``local_text`` (the address below the community: 平江路12号, 某某苑3栋2单元301室) is the full
  text after its admin prefix;
* community and street come from the community outline the point lies in, else from the admin
  prefix of the text when it names one of the district's;
* a row whose point lies outside the district, or whose text names another district, is refused
  with its row and column named: such a file was exported for somewhere else, or with the wrong
  ``crs``.

Examples
--------
>>> import pandas as pd, shapely
>>> from geo_grid.address import DistrictNames
>>> from geo_grid.io.tables import Table
>>> rows = pd.DataFrame({"标准地址": ["某省某市某区和平路12号", "某省某市某区和平苑三幢2单元301"],
...                      "经度": ["116.40", "116.41"], "纬度": ["39.90", "39.91"]})
>>> lib = read_library(Table("lib.csv", rows), names=DistrictNames("110101", "某区", "某市", "某省"),
...                    outline=shapely.box(116.3, 39.8, 116.5, 40.0), crs="wgs84")
>>> lib[["local_text", "road", "door_no", "xiaoqu", "building", "unit", "room"]].values.tolist()
[['和平路12号', '和平路', '12', None, None, None, None], ['和平苑3栋2单元301室', None, None, '和平苑', '3', '2', '301']]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_grid.address.gazetteer import DistrictNames, Gazetteer
from geo_grid.address.normalize import normalize
from geo_grid.address.parse import LIBRARY_COMPONENTS, AddressParts, KnownNames, parse
from geo_grid.crs import points_to_storage
from geo_grid.errors import BadInput
from geo_grid.io.tables import Table

__all__ = ["ADDRESS_ID_BLOCK", "LIBRARY_COLUMNS", "PROGRESS_EVERY", "address_ids", "read_library"]

#: Rows between two progress calls of :func:`read_library`.
PROGRESS_EVERY = 2000
#: Address ids of a district are ``code × ADDRESS_ID_BLOCK + n``: unique across the store (a
#: district holds far fewer than 10⁸ addresses; ids stay below 2⁵³ for JavaScript). The demo
#: generator numbers its addresses the same way.
ADDRESS_ID_BLOCK = 10**8

#: Column names an address library may use for each field (matched ignoring case and spaces).
LIBRARY_COLUMNS: dict[str, tuple[str, ...]] = {
    "full_text": ("full_text", "address", "标准地址", "地址", "完整地址", "详细地址", "地址全称",
                  "标准地址名称", "地址名称"),
    "road": ("road", "街路巷", "道路", "路名", "街路巷名称", "道路名称", "街巷"),
    "door_no": ("door_no", "门牌号", "门牌", "门楼牌号", "门(楼)牌号", "门牌号码"),
    "xiaoqu": ("xiaoqu", "小区", "小区名称", "小区/楼宇", "楼盘", "楼宇", "小区楼宇"),
    "building": ("building", "栋", "幢", "楼栋", "楼栋号", "栋号", "幢号", "楼号"),
    "unit": ("unit", "单元", "单元号"),
    "room": ("room", "室", "户室号", "房号", "室号", "户号", "房间号"),
    "village": ("village", "村", "自然村", "村名"),
    "group_no": ("group_no", "组", "村民小组", "组号"),
    "lon": ("lon", "lng", "longitude", "x", "经度", "坐标x", "x坐标"),
    "lat": ("lat", "latitude", "y", "纬度", "坐标y", "y坐标"),
}  # fmt: skip
_REQUIRED = ("full_text", "lon", "lat")
#: Markers after a number, taken off a numbered part (3栋 → 3, 1502室 → 1502).
_MARKERS = re.compile(r"(?:号楼|号院|栋|幢|座|单元|室|号|组|层|楼)$")
_LEVEL_CODE = {"district": 6, "street": 9, "community": 12}
#: How far (degrees) a point may lie outside the outline's bounds: outlines of different sources
#: disagree by tens of metres along borders.
_MARGIN = 0.005


def address_ids(district: str, n: int) -> np.ndarray:
    """The ids of a district's ``n`` addresses (its block of :data:`ADDRESS_ID_BLOCK`).

    >>> address_ids("110101", 2).tolist()
    [11010100000001, 11010100000002]
    """
    first = int(district) * ADDRESS_ID_BLOCK + 1
    if n >= ADDRESS_ID_BLOCK:
        raise BadInput(f"file: {n:,} addresses, at most {ADDRESS_ID_BLOCK - 1:,} per district",
                       field="file")  # fmt: skip
    return np.arange(first, first + n, dtype=np.int64)


def _number(value: str) -> str | None:
    """A numbered part as the library writes it: Arabic digits, no marker (三幢 → 3)."""
    if not value:
        return None
    text = normalize(value) if not value.isdigit() else value
    return _MARKERS.sub("", text) or None


def _compose(parts: Mapping[str, str | None]) -> str:
    """The local text of an address from its parts, as the demo library writes it."""
    text = ""
    if parts.get("village"):
        text += parts["village"] + (f"{parts['group_no']}组" if parts.get("group_no") else "")
    if parts.get("road"):
        text += parts["road"] + (f"{parts['door_no']}号" if parts.get("door_no") else "")
    elif parts.get("door_no"):
        text += f"{parts['door_no']}号"
    if parts.get("xiaoqu"):
        text += parts["xiaoqu"]
    for key, marker in (("building", "栋"), ("unit", "单元"), ("room", "室")):
        if parts.get(key):
            text += f"{parts[key]}{marker}"
    return text


def read_library(
    table: Table,
    *,
    names: DistrictNames,
    outline: Any,
    crs: str = "cgcs2000",
    gazetteer: Gazetteer | None = None,
    communities: gpd.GeoDataFrame | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> gpd.GeoDataFrame:
    """The rows of an address library table, checked, in the store's shape (see the module
    docstring).

    Parameters
    ----------
    table
        The library as :func:`geo_grid.io.tables.read_table` read it.
    names
        The district's names: the text's admin prefix must not name another district.
    outline
        The district's outline (EPSG:4490): every point must lie in it (give or take 500 m).
    crs
        The coordinates' system: ``cgcs2000`` (default), ``wgs84``, ``gcj02``, ``bd09`` or
        ``EPSG:n``.
    gazetteer
        The national gazetteer (the district's communities included): admin prefixes in full
        or short; without it only the patterns are used.
    communities
        The district's community outlines (``code``, ``parent_code``, geometry; EPSG:4490): each
        address takes the community its point lies in.
    progress
        Called as ``progress(rows_done, rows)`` every :data:`PROGRESS_EVERY` rows and at the end.
    """
    cols = {f: table.column(n, f, required=f in _REQUIRED) for f, n in LIBRARY_COLUMNS.items()}
    lon, lat = _points(table, cols, crs, outline)
    known = KnownNames.from_lists(provinces=[names.province], cities=[names.city],
                                  districts=[names.district])  # fmt: skip
    rows, n = [], len(table.frame)
    for i in range(n):
        rows.append(_library_row(table, i, cols, names, known, gazetteer))
        if progress is not None and ((i + 1) % PROGRESS_EVERY == 0 or i + 1 == n):
            progress(i + 1, n)
    frame = pd.DataFrame(rows, dtype=object)
    frame["lon"], frame["lat"] = lon, lat
    _place_in_communities(frame, communities)
    return gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(lon, lat), crs=4490
    )


def _points(
    table: Table, cols: Mapping[str, str | None], crs: str, outline: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Every row's point in EPSG:4490, checked to be numbers and inside the outline's bounds."""
    values = {}
    for axis in ("lon", "lat"):
        numbers = pd.to_numeric(table.frame[cols[axis]], errors="coerce")
        bad = np.flatnonzero(numbers.isna().to_numpy() | ~np.isfinite(numbers.to_numpy(float)))
        if len(bad):
            i = int(bad[0])
            table.fail(i, cols[axis], f"{table.cell(i, cols[axis])!r} is not a number")
        values[axis] = numbers.to_numpy(float)
    lon, lat = points_to_storage(values["lon"], values["lat"], crs)
    minx, miny, maxx, maxy = outline.bounds
    outside = np.flatnonzero(
        (lon < minx - _MARGIN) | (lon > maxx + _MARGIN) | (lat < miny - _MARGIN)
        | (lat > maxy + _MARGIN)
    )  # fmt: skip
    if len(outside):
        i = int(outside[0])
        table.fail(i, cols["lon"], f"({values['lon'][i]}, {values['lat'][i]}) in {crs} lies "
                   "outside the district (another district's file, or the wrong --crs?)")  # fmt: skip
    return np.asarray(lon, float), np.asarray(lat, float)


def _library_row(
    table: Table,
    i: int,
    cols: Mapping[str, str | None],
    names: DistrictNames,
    known: KnownNames,
    gazetteer: Gazetteer | None,
) -> dict[str, Any]:
    """One checked row: its text, its parts (the file's, else parsed), its admin codes."""
    full = table.cell(i, cols["full_text"])
    if not full:
        table.fail(i, cols["full_text"], "empty")
    parsed = parse(full, known, gazetteer)
    code = parsed.admin_code
    if code and not code.startswith(names.code) and len(code) >= 6:
        table.fail(i, cols["full_text"], f"the address names district {code[:6]}, not "
                   f"{names.code} {names.district}")  # fmt: skip
    parts: dict[str, str | None] = {}
    for key in LIBRARY_COMPONENTS:
        given = table.cell(i, cols[key]) if cols.get(key) else ""
        value = given or getattr(parsed, key)
        numbered = key not in ("road", "xiaoqu", "village")
        parts[key] = (_number(value) if numbered else value) if value else None
    if parts["xiaoqu"] is None and parsed.poi and any(parts[k] for k in ("building", "unit",
                                                                        "room")):  # fmt: skip
        parts["xiaoqu"] = parsed.poi  # 某某苑 with its 栋 in a column of its own
    local = _compose(parts) or _local_rest(parsed) or full
    return {
        "full_text": full, "local_text": local,
        "street_code": _admin(code, "street", names.code),
        "community_code": _admin(code, "community", names.code),
        **parts, "building_code": None,
    }  # fmt: skip


def _local_rest(parts: AddressParts) -> str | None:
    """What the parser left below the admin levels, when no numbered part was found."""
    return parts.poi or parts.rest


def _admin(code: str | None, level: str, district: str) -> str | None:
    """The code's division at ``level`` (street: 9 digits) when the code reaches that deep."""
    n = _LEVEL_CODE[level]
    return code[:n] if code and len(code) >= n and code.startswith(district) else None


def _place_in_communities(frame: pd.DataFrame, communities: gpd.GeoDataFrame | None) -> None:
    """Community and street of each point from the outlines it lies in (the text's admin
    prefix is kept where no outline holds the point)."""
    if communities is None or communities.empty:
        return
    areas = communities[communities.geometry.notna()].reset_index(drop=True)
    points = shapely.points(frame["lon"].to_numpy(), frame["lat"].to_numpy())
    tree = shapely.STRtree(areas.geometry.values)
    rows, hits = tree.query(points, predicate="within")
    first = pd.Series(hits, index=rows).groupby(level=0).first()
    code = areas["code"].to_numpy(dtype=object)[first.to_numpy()]
    parent = areas["parent_code"].to_numpy(dtype=object)[first.to_numpy()]
    frame.loc[first.index, "community_code"] = code
    frame.loc[first.index, "street_code"] = parent
