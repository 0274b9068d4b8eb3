"""Normalization and parsing of Chinese addresses."""

import pytest

from geo_grid.address import KnownNames, arabic_to_chinese, chinese_to_arabic, normalize, parse


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("尧佳路十二号", "尧佳路12号"),
        ("尧林仙居二十三栋三单元一五零二室", "尧林仙居23栋3单元1502室"),
        ("尧林仙居3幢2单元301房", "尧林仙居3栋2单元301室"),
        ("尧林仙居5号楼1单元", "尧林仙居5栋1单元"),
        ("尧林仙居3座", "尧林仙居3栋"),
        ("尧林仙居３－２－３０１", "尧林仙居3栋2单元301室"),
        ("尧新社区居委会尧佳路1号", "尧新社区尧佳路1号"),
        ("石埠桥村村委会", "石埠桥村"),
        ("尧佳路12号附近 13912345678", "尧佳路12号"),
        ("尧佳路12号3栋2单元301 楼道堆物", "尧佳路12号3栋2单元301室"),
        ("尧佳路12号尧林仙居", "尧佳路12号尧林仙居"),
        ("尧佳路12号 垃圾满溢 请尽快处理", "尧佳路12号"),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_numerals_round_trip():
    for n in (1, 10, 12, 20, 23, 101, 110, 301, 1502, 2005):
        assert chinese_to_arabic(arabic_to_chinese(n)) == str(n)
        assert chinese_to_arabic(arabic_to_chinese(n, style="digits")) == str(n)


def test_parse_full_hotline_address():
    p = parse("江苏省南京市栖霞区尧化街道尧新社区 尧佳路12号3栋2单元301 楼道堆物")
    assert (p.province, p.city, p.district) == ("江苏省", "南京市", "栖霞区")
    assert (p.street, p.community, p.road, p.door_no) == ("尧化街道", "尧新社区", "尧佳路", "12")
    assert (p.building, p.unit, p.room) == ("3", "2", "301")


def test_parse_village_and_floor():
    p = parse("石埠桥村三组十五号")
    assert (p.village, p.group_no, p.door_no) == ("石埠桥村", "3", "15")
    assert parse("尧林仙居3栋5楼").floor == "5"


def test_parse_prefers_known_names():
    names = KnownNames.from_lists(xiaoqu=["尧林仙居"], roads=["尧佳路"], streets=["尧化街道"])
    p = parse("尧化街道尧林仙居3栋", names)
    assert (p.street, p.xiaoqu, p.building) == ("尧化街道", "尧林仙居", "3")


def test_parse_does_not_take_xiaoqu_for_district():
    assert parse("阳光小区3栋").district is None


def test_room_spoken_digit_by_digit_after_the_unit():
    assert normalize("金韵雅苑一幢一单元七零一 楼道堆物 13912345678") == "金韵雅苑1栋1单元701室"
    assert normalize("金韵雅苑三幢二单元一五零二") == "金韵雅苑3栋2单元1502室"


# ---------------------------------------------------------------- defects seen on real addresses
@pytest.mark.parametrize(
    "text", ["尧林仙居3栋2单元5楼", "尧林仙居3栋2单元5层", "尧林仙居3幢二单元五楼"]
)
def test_a_floor_after_the_unit_is_the_floor_not_the_room(text):
    p = parse(text)
    assert (p.building, p.unit, p.floor, p.room) == ("3", "2", "5", None)
    assert parse("尧林仙居3栋2单元5楼502").room == "502"


@pytest.mark.parametrize(
    ("text", "building", "room"),
    [("华府152幢1652", "152", "1652"), ("城南苑233栋1351", "233", "1351")],
)
def test_a_room_without_shi_after_the_building_is_kept(text, building, room):
    p = parse(text)
    assert (p.building, p.room) == (building, room)


def test_a_shop_after_the_door_number_is_a_poi():
    p = parse("联夹大道112号小小熊鞋业")
    assert (p.road, p.door_no, p.poi) == ("联夹大道", "112", "小小熊鞋业")
    p = parse("五常街道文一西路969号阿里巴巴西溪园区")
    assert (p.street, p.road, p.door_no, p.poi) == (
        "五常街道",
        "文一西路",
        "969",
        "阿里巴巴西溪园区",
    )


def test_a_road_followed_by_a_named_place_without_a_door_is_split():
    p = parse("中山路金鹰国际")
    assert (p.road, p.door_no, p.poi) == ("中山路", None, "金鹰国际")
    p = parse("白塔路星耀大厦16楼")
    assert (p.road, p.xiaoqu, p.floor) == ("白塔路", "星耀大厦", "16")


@pytest.mark.parametrize(
    ("text", "village", "group", "door"),
    [("沿山村5组6号", "沿山村", "5", "6"), ("浪心村11号", "浪心村", None, "11"),
     ("石埠桥村三组十五号", "石埠桥村", "3", "15")],
)  # fmt: skip
def test_a_village_or_group_keeps_its_door_number(text, village, group, door):
    p = parse(text)
    assert (p.village, p.group_no, p.door_no) == (village, group, door)


def test_a_leading_phrase_does_not_hide_the_admin_prefix():
    from geo_grid.testing import district_gazetteer

    gaz = district_gazetteer("320113")
    for lead in ("我家的地址是", "收货地址:", "家住", "我住在"):
        p = parse(f"{lead}江苏淮安清江浦区人民路111号", gazetteer=gaz)
        assert (p.province, p.city, p.district) == ("江苏", "淮安", "清江浦区"), lead
        assert (p.road, p.door_no) == ("人民路", "111"), lead
    # a name and phone before the address, as delivery addresses come
    p = parse("袁月青13111111111四川省成都市高新西区百叶路1号", gazetteer=gaz)
    assert (p.province, p.city, p.road, p.door_no) == ("四川省", "成都市", "百叶路", "1")
