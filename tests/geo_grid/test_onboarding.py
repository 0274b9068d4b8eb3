"""A district's own files, read without a database: tables (CSV/XLSX), rosters against the
district's roles, the address library, and admin areas from the gazetteer and outlines."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from onboarding_files import write_xlsx

from geo_grid.address import DistrictNames
from geo_grid.address.library import read_library
from geo_grid.errors import BadInput
from geo_grid.io.source import ReadLimits
from geo_grid.io.tables import Table, read_table
from geo_grid.onboarding import admin_areas, district_outline
from geo_grid.roster import DEFAULT_ROLES, RosterRole, parse_role_map, person_id_for, read_roster

NAMES = DistrictNames("110101", "某区", "某市", "某省")
OUTLINE = shapely.box(116.0, 39.0, 116.2, 39.1)
DIVISIONS = pd.DataFrame({
    "code": ["11", "1101", "110101", "110101001", "110101002", "110101400",
             "110101001001", "110101001002", "110101002001", "110101400001"],
    "name": ["某省", "某市", "某区", "甲街道", "乙镇", "某开发区", "一社区居委会", "二社区居委会",
             "丙村村民委员会", "虚拟社区"],
    "level": ["province", "city", "district", "street", "street", "street", "community",
              "community", "community", "community"],
})  # fmt: skip


# ------------------------------------------------------------------------------------ tables
def test_a_workbook_finds_its_header_below_empty_rows_and_names_rows_as_excel_does(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "名单"
    ws.append([])
    ws.append(["网格编码", "姓名", "联系户数"])
    ws.append([110101001001001, "张三", 12.0])
    book.save(tmp_path / "r.xlsx")
    table = read_table(tmp_path / "r.xlsx", label="r.xlsx")
    assert (table.header_row, table.sheet) == (2, "名单")
    assert table.cell(0, "网格编码") == "110101001001001" and table.cell(0, "联系户数") == "12"
    with pytest.raises(BadInput, match=r"r.xlsx \[名单\]: row 3, column '姓名': empty"):
        table.fail(0, "姓名", "empty")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.xls", b"\xd0\xcf\x11\xe0", "saved as .xlsx"),
        ("a.xlsx", b"not a zip", "not a readable zip container"),
        ("a.csv", "姓名\n".encode(), "no data rows"),
        ("a.csv", b"\xff\xfe\xfa\n\xfa", "not UTF-8 or GBK"),
        ("a.csv", "姓名,姓名\n张,李\n".encode(), "appears twice"),
    ],
)  # fmt: skip
def test_unreadable_tables_are_refused_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(BadInput, match=message) as err:
        read_table(path, label=name)
    assert err.value.message.startswith(name)


def test_a_workbook_that_unpacks_too_far_is_refused_unread(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"0" * (3 * 1024 * 1024))
    with pytest.raises(BadInput, match="zip bomb"):
        read_table(path, label="bomb.xlsx", limits=ReadLimits(max_zip_ratio=10))


def test_a_table_over_the_row_limit_is_refused(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a\n" + "1\n" * 11, encoding="utf-8")
    with pytest.raises(BadInput, match="more than 10 rows"):
        read_table(path, max_rows=10)


# ------------------------------------------------------------------------------------ roster
def _roster(rows: list[dict]) -> Table:
    return Table("roster.csv", pd.DataFrame(rows).astype(str))


GRIDS = {"unified": {"110101001001001", "110101001001002"}}


def test_a_roster_maps_the_districts_role_names_and_keeps_person_ids_stable():
    table = _roster([
        {"网格编码": "110101001001001", "姓名": "张三", "职务": "专职网格员", "电话": "13900000001"},
        {"网格编码": "110101001001002", "姓名": "张三", "职务": "专职网格员", "电话": "13900000001"},
        {"网格编码": "110101001001001", "姓名": "李四", "职务": "楼栋长", "电话": ""},
    ])  # fmt: skip
    rows = read_roster(table, district="110101", roles=DEFAULT_ROLES,
                       role_map=parse_role_map("专职网格员=网格员"), grid_codes=GRIDS)  # fmt: skip
    assert rows["role"].tolist() == ["grid_worker", "grid_worker", "building_leader"]
    assert rows["person_id"].nunique() == 2  # one 张三 in two grids
    assert rows["person_id"][0] == person_id_for("110101", "张三", "13900000001")
    assert rows["phone"].tolist()[2] is None and rows["layer"].eq("unified").all()
    assert rows["linked_households"].tolist() == [None, None, None]


@pytest.mark.parametrize(
    ("change", "column", "message"),
    [
        ({"职务": "村医"}, "职务", "'村医' is not a role of the district"),
        ({"网格编码": "110101001001009"}, "网格编码", "no grid '110101001001009'"),
        ({"姓名": ""}, "姓名", "empty"),
        ({"电话": "电话号码"}, "电话", "'电话号码' is not a phone number"),
    ],
)  # fmt: skip
def test_a_bad_roster_row_is_named_by_row_and_column(change, column, message):
    good = {"网格编码": "110101001001001", "姓名": "张三", "职务": "网格员", "电话": "13900000001"}
    table = _roster([good, {**good, "姓名": "李四", **change}])
    with pytest.raises(BadInput, match=f"roster.csv: row 3, column '{column}': {message}"):
        read_roster(table, district="110101", roles=DEFAULT_ROLES, grid_codes=GRIDS)


def test_a_role_map_must_name_roles_of_the_district():
    table = _roster([{"网格编码": "110101001001001", "姓名": "张三", "角色": "专职网格员"}])
    with pytest.raises(BadInput, match="role_map: '村医' .* is not a role of the district"):
        read_roster(table, district="110101", roles=DEFAULT_ROLES, role_map={"专职网格员": "村医"})
    with pytest.raises(BadInput, match="NAME=ROLE"):
        parse_role_map("专职网格员")


def test_a_role_is_checked():
    with pytest.raises(BadInput, match="duty"):
        RosterRole("doctor", "村医", "heal")
    with pytest.raises(BadInput, match="key"):
        RosterRole("Doctor", "村医", "none")


# ------------------------------------------------------------------------------------ library
def _library(rows: list[dict], **kw) -> gpd.GeoDataFrame:
    table = Table("lib.csv", pd.DataFrame(rows).astype(str))
    return read_library(table, names=NAMES, outline=OUTLINE, crs=kw.pop("crs", "wgs84"), **kw)


def test_the_library_takes_the_files_parts_else_parses_them_and_places_communities():
    comms = gpd.GeoDataFrame({"code": ["110101001001"], "parent_code": ["110101001"]},
                             geometry=[shapely.box(116.0, 39.0, 116.1, 39.1)], crs=4490)  # fmt: skip
    lib = _library([
        {"地址": "某省某市某区东华街道和平苑三幢2单元301", "栋": "", "经度": "116.05", "纬度": "39.05"},
        {"地址": "某区和平路十二号", "栋": "", "经度": "116.15", "纬度": "39.05"},
        {"地址": "某区和平苑", "栋": "5幢", "经度": "116.01", "纬度": "39.01"},
    ], communities=comms)  # fmt: skip
    assert lib["local_text"].tolist() == ["和平苑3栋2单元301室", "和平路12号", "和平苑5栋"]
    assert lib["building"].tolist() == ["3", None, "5"]
    assert lib["community_code"].tolist() == ["110101001001", None, "110101001001"]
    assert lib["street_code"].tolist()[:2] == ["110101001", None]
    assert lib.crs.to_epsg() == 4490


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ({"经度": "116.5"}, "经度", "outside the district"),
        ({"纬度": "北纬39度"}, "纬度", "is not a number"),
        ({"地址": ""}, "地址", "empty"),
    ],
)  # fmt: skip
def test_a_bad_library_row_is_named(row, column, message):
    good = {"地址": "某区和平路1号", "经度": "116.1", "纬度": "39.05"}
    with pytest.raises(BadInput, match=f"lib.csv: row 3, column '{column}'.*{message}"):
        _library([good, {**good, **row}])


def test_gcj02_points_are_converted():
    from geo_grid.crs import wgs84_to_gcj02

    x, y = wgs84_to_gcj02(116.1, 39.05)
    lib = _library([{"地址": "某区和平路1号", "经度": str(float(x)), "纬度": str(float(y))}],
                   crs="gcj02")  # fmt: skip
    assert lib.geometry[0].x == pytest.approx(116.1, abs=1e-6)


# ------------------------------------------------------------------------------------ admin areas
def _comms(codes_boxes: dict[str, shapely.Geometry]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": list(codes_boxes), "name": [None] * len(codes_boxes)},
                            geometry=list(codes_boxes.values()), crs=4490)  # fmt: skip


def test_admin_areas_drop_zone_units_and_outline_a_street_only_when_whole():
    areas = admin_areas("110101", DIVISIONS, OUTLINE, _comms({
        "110101001001": shapely.box(116.0, 39.0, 116.05, 39.1),
        "110101001002": shapely.box(116.05, 39.0, 116.1, 39.1),
        "110101001003": shapely.box(116.1, 39.0, 116.15, 39.1),  # newer than the gazetteer
    }))  # fmt: skip
    assert "110101400" not in set(areas["code"]) and "110101400001" not in set(areas["code"])
    by_code = areas.set_index("code")
    assert by_code.loc["110101001003", "name"] == "110101001003"
    assert by_code.loc["110101001", "geometry"].area == pytest.approx(0.015)
    assert by_code.loc["110101002", "geometry"] is None  # 丙村 has no outline
    assert by_code.loc["110101002001", ["short_name", "kind"]].tolist() == ["丙村", "rural"]


@pytest.mark.parametrize(
    ("code", "geom", "message"),
    [
        ("110101009001", shapely.box(116.0, 39.0, 116.1, 39.1), "not a community code under"),
        ("110101001001", shapely.box(120.0, 31.0, 120.1, 31.1), "lies outside the district"),
    ],
)  # fmt: skip
def test_a_community_not_of_the_district_is_refused(code, geom, message):
    with pytest.raises(BadInput, match=f"comms.csv: feature 0 \\(code '{code}'\\): {message}"):
        admin_areas("110101", DIVISIONS, OUTLINE, _comms({code: geom}), label="comms.csv")


def test_the_outline_is_the_districts_feature_or_all_of_them():
    frame = gpd.GeoDataFrame({"code": ["110101", "110102"]},
                             geometry=[OUTLINE, shapely.box(117, 39, 118, 40)], crs=4490)  # fmt: skip
    assert district_outline(frame, "110101", "o.gpkg").equals(shapely.MultiPolygon([OUTLINE]))
    both = district_outline(frame, "110109", "o.gpkg")
    assert both.area == pytest.approx(OUTLINE.area + 1)


def test_a_district_the_gazetteer_lacks_is_refused():
    with pytest.raises(BadInput, match="not in the gazetteer"):
        admin_areas("110109", DIVISIONS, OUTLINE)


def test_write_xlsx_round_trips(tmp_path):
    path = write_xlsx(tmp_path / "x.xlsx", {"a": pd.DataFrame({"网格编码": ["1"], "n": [2.5]})})
    table = read_table(path)
    assert table.frame.to_dict("records") == [{"网格编码": "1", "n": "2.5"}]
