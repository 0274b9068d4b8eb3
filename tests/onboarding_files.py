"""A district's own files, written by the onboarding tests: outline, community outlines, unified
grids, an address library and a roster, for a real district of the gazetteer.

The geometry is made up (the gazetteer has none): the district is a box split into one band per
street, each band into one stripe per community, each community into two unified grids; shared
edges are exact, so the layer checks clean. Names and codes are the district's real ones.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from geo_grid.address.gazetteer import community_short_name, is_zone_unit
from geo_grid.crs import wgs84_to_gcj02

__all__ = ["DistrictFiles", "store_of_its_own", "write_district_files", "write_xlsx"]

_FIRST = "康和泰安乐平福瑞祥兴宁华春秋东南西北"


@dataclass
class DistrictFiles:
    """Where the files are, and what the test needs to check answers against them."""

    folder: Path
    code: str
    prefix: str
    outline: Path
    communities: Path
    grids: Path
    addresses: Path
    roster: Path
    bounds: tuple[float, float, float, float]
    grid_frame: gpd.GeoDataFrame
    library: pd.DataFrame
    people: pd.DataFrame
    streets: dict[str, str] = field(default_factory=dict)


def _layout(
    divisions: pd.DataFrame, code: str, bounds
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Community outlines (one stripe per community in its street's band) and two grids each."""
    streets = divisions[(divisions["level"] == "street") & ~divisions["code"].map(is_zone_unit)]
    streets = streets[streets["code"].str[:6] == code].sort_values("code")
    comms = divisions[(divisions["level"] == "community")
                      & divisions["code"].str[:9].isin(set(streets["code"]))]  # fmt: skip
    x0, y0, x1, y1 = bounds
    xs = np.linspace(x0, x1, len(streets) + 1)
    crows, grows = [], []
    for k, s in enumerate(streets["code"]):
        mine = comms[comms["code"].str[:9] == s].sort_values("code")
        ys = np.linspace(y0, y1, len(mine) + 1)
        xm = (xs[k] + xs[k + 1]) / 2
        for j, (c, name) in enumerate(zip(mine["code"], mine["name"], strict=True)):
            crows.append(
                {"code": c, "name": name, "geometry": box(xs[k], ys[j], xs[k + 1], ys[j + 1])}
            )
            for n, (a, b) in enumerate(((xs[k], xm), (xm, xs[k + 1])), start=1):
                grows.append({"code": f"{c}{n:03d}", "name": f"{community_short_name(name)}{n}网格",
                              "geometry": box(a, ys[j], b, ys[j + 1])})  # fmt: skip
    return (gpd.GeoDataFrame(crows, crs=4490), gpd.GeoDataFrame(grows, crs=4490))


def _library(grids: gpd.GeoDataFrame, prefix: str, comm_names: dict[str, str],
             street_names: dict[str, str]) -> pd.DataFrame:  # fmt: skip
    """Three addresses per grid (two door plates on its own road, one room in its own 小区) at
    points inside it, in WGS84 (the test writes them as GCJ-02)."""
    rng = np.random.default_rng(14)
    rows = []
    for g, (code, geom) in enumerate(zip(grids["code"], grids.geometry, strict=True)):
        road = _FIRST[g % len(_FIRST)] + _FIRST[(g // len(_FIRST) + 3) % len(_FIRST)] + "路"
        xiaoqu = road[:2] + "苑"
        comm = code[:12]
        head = prefix + street_names[code[:9]] + community_short_name(comm_names[comm])
        minx, miny, maxx, maxy = geom.bounds
        for kind, parts in (("door", {"街路巷": road, "门牌号": str(2 * g + 1)}),
                            ("door", {"街路巷": road, "门牌号": str(2 * g + 2)}),
                            ("room", {"小区": xiaoqu, "栋": "3", "单元": "2", "室": "301"})):  # fmt: skip
            fx, fy = rng.uniform(0.2, 0.8, 2)
            local = (f"{road}{parts['门牌号']}号" if kind == "door"
                     else f"{xiaoqu}3栋2单元301室")  # fmt: skip
            rows.append({"标准地址": head + local, **parts, "grid_code": code,
                         "lon": minx + fx * (maxx - minx), "lat": miny + fy * (maxy - miny)})  # fmt: skip
    return pd.DataFrame(rows)


def _people(grids: gpd.GeoDataFrame) -> pd.DataFrame:
    """A 网格长 and a 专职网格员 per grid (the district's own name for 网格员), a 楼栋长 in one."""
    rows = []
    for g, code in enumerate(grids["code"]):
        rows.append(
            {"网格编码": code, "姓名": f"长{g:03d}", "角色": "网格长", "手机号": f"1390000{g:04d}"}
        )
        rows.append({"网格编码": code, "姓名": f"员{g:03d}", "角色": "专职网格员",
                     "手机号": f"1380000{g:04d}"})  # fmt: skip
    rows.append(
        {"网格编码": grids["code"].iloc[0], "姓名": "楼长甲", "角色": "楼栋长", "手机号": ""}
    )
    return pd.DataFrame(rows)


def write_xlsx(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    """A workbook with one sheet per frame (header in row 1), written with openpyxl."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        ws = book.create_sheet(name)
        ws.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            ws.append([None if isinstance(v, float) and np.isnan(v) else v for v in row])
    book.save(path)
    return path


def write_district_files(folder: Path, code: str, divisions: pd.DataFrame,
                         bounds: tuple[float, float, float, float]) -> DistrictFiles:  # fmt: skip
    """Write the district's files into ``folder`` (see the module docstring)."""
    from geo_grid.io import write_layer

    names = dict(zip(divisions["code"], divisions["name"], strict=True))
    prefix = names[code[:2]] + names[code[:4]] + names[code]
    comms, grids = _layout(divisions, code, bounds)
    outline = write_layer(gpd.GeoDataFrame({"code": [code], "name": [names[code]]},
                                           geometry=[box(*bounds)], crs=4490),
                          folder / "outline.shp")  # fmt: skip
    communities = folder / "communities.csv"
    pd.DataFrame({"code": comms["code"], "name": comms["name"],
                  "wkt": comms.geometry.to_wkt()}).to_csv(communities, index=False)  # fmt: skip
    grid_file = write_layer(grids, folder / "unified.zip")
    street_names = {c: names[c] for c in comms["code"].str[:9].unique()}
    library = _library(grids, prefix, dict(zip(comms["code"], comms["name"], strict=True)),
                       street_names)  # fmt: skip
    glon, glat = wgs84_to_gcj02(library["lon"].to_numpy(), library["lat"].to_numpy())
    sheet = library.drop(columns=["grid_code", "lon", "lat"]).assign(经度=glon, 纬度=glat)
    addresses = write_xlsx(folder / "地址库.xlsx", {"标准地址": sheet})
    people = _people(grids)
    roles = pd.DataFrame({"本地名称": ["专职网格员"], "角色": ["网格员"]})
    roster = write_xlsx(folder / "花名册.xlsx", {"花名册": people, "角色": roles})
    return DistrictFiles(folder, code, prefix, Path(outline), communities, Path(grid_file),
                         addresses, roster, bounds, grids, library, people, street_names)  # fmt: skip


def _reset() -> None:
    from conftest import _reset_caches

    from geo_grid.services import districts, index

    _reset_caches()
    districts.invalidate()
    index.invalidate()


@contextmanager
def store_of_its_own(gazetteer_db: str) -> Iterator[str]:
    """A new database in the session's cluster, migrated, the gazetteer loaded, serving as the
    store (``GEO_GRID_DATABASE_URL``) until the block ends; then dropped, the session's store back.

    Onboarding tests add districts: the two-district tests of the shared store keep theirs."""
    import psycopg2
    from psycopg2 import sql
    from sqlalchemy.engine import make_url

    from geo_grid.db import migrate
    from geo_grid.db.session import get_engine
    from geo_grid.services.gazetteer import load_gazetteer

    name = f"onboard_{uuid.uuid4().hex[:8]}"
    admin_url = make_url(gazetteer_db).set(database="postgres", drivername="postgresql")
    admin = psycopg2.connect(admin_url.render_as_string(hide_password=False))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(gazetteer_db).set(database=name).render_as_string(hide_password=False)
    os.environ["GEO_GRID_DATABASE_URL"] = url
    _reset()
    try:
        migrate.upgrade(get_engine(url))
        load_gazetteer()
        yield url
    finally:
        get_engine(url).dispose()
        os.environ["GEO_GRID_DATABASE_URL"] = gazetteer_db
        _reset()
        with admin.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        admin.close()
