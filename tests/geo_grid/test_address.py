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
