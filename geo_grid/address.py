"""Chinese address normalization and parsing into the elements address datasets use.

A hotline ticket reads "栖霞区尧化街道尧新社区 尧佳路十二号3幢2单元301 楼道堆物 13912345678"; the
standard address library says "尧佳路12号3栋2单元301室". :func:`normalize` brings both to one key form
(half-width, Arabic numbers in numbered positions, one synonym per element, no noise and no
complaint text), and :func:`parse` splits a normalized string into :class:`AddressParts` in the
order province → city → district → street 街道 → community → road → door → 小区/POI → building →
unit → floor → room (village → group for rural addresses).

``parse`` works on patterns alone; given :class:`KnownNames` (the geocoder builds one from the
address library and the admin list) it prefers names it knows, which resolves the cases patterns
cannot (a 小区 called 尧林仙居 has no suffix to find it by).

Admin prefixes: cpca 0.5.5 was measured on this district's queries (35,000 strings/s, but it only
knows province/city/district, and missed the short "南京栖霞" form); this module's own prefix
patterns plus the known street/community list cover streets and communities too, so no extra
dependency is used.

Examples
--------
>>> normalize("栖霞区尧化街道尧新社区 尧佳路十二号3幢2单元301 楼道堆物 13912345678")
'栖霞区尧化街道尧新社区尧佳路12号3栋2单元301室'
>>> p = parse("江苏省南京市栖霞区尧化街道尧新社区尧佳路12号")
>>> p.district, p.street, p.community, p.road, p.door_no
('栖霞区', '尧化街道', '尧新社区', '尧佳路', '12')
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from geo_grid._address_numerals import chinese_to_arabic
from geo_grid.access import PERSONAL_NUMBERS

__all__ = [
    "AddressParts",
    "KnownNames",
    "LIBRARY_COMPONENTS",
    "NOISE_WORDS",
    "DESCRIPTION_WORDS",
    "normalize",
    "normalize_name",
    "parse",
]

#: The parsed parts a row of the standard address library stores (the demo writes them, the store
#: keeps them as columns, the geocoder indexes them), in the order address datasets use.
LIBRARY_COMPONENTS: tuple[str, ...] = (
    "road", "door_no", "xiaoqu", "building", "unit", "room", "village", "group_no",
)  # fmt: skip

#: Position words that say nothing about where (removed anywhere in the text).
NOISE_WORDS: tuple[str, ...] = (
    "附近",
    "对面",
    "旁边",
    "门口",
    "楼下",
    "隔壁",
    "周边",
    "一带",
    "东侧",
    "西侧",
    "南侧",
    "北侧",
    "位于",
    "地址:",
    "地址",
)

#: Words that start the complaint text after an address (everything from them on is dropped).
DESCRIPTION_WORDS: tuple[str, ...] = (
    "楼道",
    "堆物",
    "堆放",
    "垃圾",
    "满溢",
    "噪音",
    "噪声",
    "扰民",
    "占道",
    "漏水",
    "渗水",
    "投诉",
    "反映",
    "反应",
    "乱停",
    "违建",
    "违章",
    "积水",
    "破损",
    "油烟",
    "异味",
    "污水",
    "路灯",
    "不亮",
    "施工",
    "群租",
    "求助",
    "报修",
    "维修",
    "私搭",
    "乱建",
    "乱贴",
    "小广告",
    "有人",
    "存在",
    "电话",
    "联系",
)

_NUM = "零〇一二两三四五六七八九十百千"
_MARKERS = "号楼|号|栋|幢|座|单元|室|房|层|楼|组|弄|巷|户"
_HAS_NUMERAL = re.compile(f"[{_NUM}]")
_CN_NUMBERED = re.compile(rf"([{_NUM}]+)(?={_MARKERS})")
#: a room spoken without 室 right after the unit: 一单元七零一 → 1单元701 (then 室 is added)
_CN_BARE_ROOM = re.compile(rf"(单元)([{_NUM}]+)")
_PHONE = PERSONAL_NUMBERS  # phones and ID numbers are not part of an address
_PUNCT = re.compile(r"[\s,.;:!?，。；：！？、()\[\]（）【】\"'“”‘’<>《》/\\|~·]+")
_DASH3 = re.compile(r"(\d+)-(\d+)-(\d+)(?!\d)")
_HASH = re.compile(r"(\d+)#")
_BUILDING_SYN = re.compile(r"(\d+)(?:号楼|幢|座)")
_ROOM_SYN = re.compile(r"(\d+)房")
_BARE_ROOM = re.compile(r"(\d+单元)(\d+)(?![\d室号])")
_ADMIN_SYN = (
    (re.compile(r"社区居民委员会|社区居委会|社区委员会"), "社区"),
    (re.compile(r"居民委员会|居委会"), "社区"),
    (re.compile(r"村?(?:村民委员会|村委会)"), "村"),
)
_NOISE = re.compile("|".join(re.escape(w) for w in NOISE_WORDS))
_DESCRIPTION = re.compile("|".join(re.escape(w) for w in DESCRIPTION_WORDS))
_LAST_NUMBERED = re.compile(r"\d+(?:室|单元|栋|层|楼|号|组)")
_PLACE_SUFFIX = re.compile(
    r"(?:小区|花园|苑|园|城|居|庄|公寓|大厦|广场|新村|家园|山庄|府|湾|郡|里|坊|轩|阁|邸|村)$"
)


def _numerals_to_arabic(text: str) -> str:
    text = _CN_NUMBERED.sub(lambda m: chinese_to_arabic(m.group(1)), text)
    return _CN_BARE_ROOM.sub(lambda m: m.group(1) + chinese_to_arabic(m.group(2)), text)


def _cut_description(text: str) -> str:
    """Drop the complaint text that follows the address.

    The description words were cut already (before 号楼 → 栋 could swallow 楼道); here a tail
    after the last numbered element is dropped unless it names a place (尧佳路12号尧林仙居 keeps
    尧林仙居).
    """
    matches = list(_LAST_NUMBERED.finditer(text))
    last = matches[-1] if matches else None
    if last is not None and last.end() < len(text):
        tail = text[last.end() :]
        ends_room = last.group(0)[-1] in "室层楼" or last.group(0).endswith("单元")
        if ends_room or not _PLACE_SUFFIX.search(tail):
            text = text[: last.end()]
    return text


def normalize_name(text: str) -> str:
    """Normalize a name or a library string without cutting tails (library text has none).

    >>> normalize_name("石埠桥村三组15号")
    '石埠桥村3组15号'
    """
    text = unicodedata.normalize("NFKC", text or "")
    text = _PUNCT.sub("", text)
    # each rewrite runs only when its trigger character is present: library-clean text (the hot
    # path of batch geocoding) then costs a few membership tests instead of nine regex passes
    if _HAS_NUMERAL.search(text):
        text = _numerals_to_arabic(text)
    if "-" in text:
        text = _DASH3.sub(r"\1栋\2单元\3室", text)
    if "#" in text:
        text = _HASH.sub(r"\1栋", text)
    if "幢" in text or "座" in text or "号楼" in text:
        text = _BUILDING_SYN.sub(r"\1栋", text)
    if "房" in text:
        text = _ROOM_SYN.sub(r"\1室", text)
    if "单元" in text:
        text = _BARE_ROOM.sub(r"\1\2室", text)
    if "委" in text:
        for pattern, repl in _ADMIN_SYN:
            text = pattern.sub(repl, text)
    return text


def normalize(text: str) -> str:
    """Bring a free-text address to the key form the geocoder matches on.

    Full-width → half-width (NFKC), punctuation and spaces removed, phone numbers removed, Chinese
    numerals → Arabic before 号/栋/单元/室/组/层 (positional or digit by digit), 幢/号楼/座/# → 栋,
    房 → 室, ``3-2-301`` → 3栋2单元301室, a bare room after 单元 gets 室, 居委会 forms → 社区,
    村委会 forms → 村, position words (附近, 对面, ...) removed, complaint text after the address cut.

    >>> normalize("尧林仙居二十三号楼一单元一五零二房 附近")
    '尧林仙居23栋1单元1502室'
    >>> normalize("石埠桥村村民委员会 石埠桥村三组十五号门口 垃圾满溢")
    '石埠桥村石埠桥村3组15号'
    >>> normalize("ＸＸ小区３－２－３０１")
    'XX小区3栋2单元301室'
    """
    text = unicodedata.normalize("NFKC", text or "")
    text = _PHONE.sub(" ", text)
    text = _PUNCT.sub("", text)
    text = _NOISE.sub("", text)
    match = _DESCRIPTION.search(text)
    if match and match.start() > 0:
        text = text[: match.start()]
    text = normalize_name(text)
    return _cut_description(text)


@dataclass(frozen=True)
class AddressParts:
    """The elements of one address, each ``None`` when absent (numbers as Arabic digit strings).

    ``xiaoqu`` holds a 小区 or another named place (POI); ``rest`` is what no rule claimed.
    """

    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    community: str | None = None
    road: str | None = None
    door_no: str | None = None
    xiaoqu: str | None = None
    building: str | None = None
    unit: str | None = None
    floor: str | None = None
    room: str | None = None
    village: str | None = None
    group_no: str | None = None
    rest: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """A plain dict, for JSON answers."""
        return asdict(self)


@dataclass(frozen=True)
class KnownNames:
    """Names the parser should prefer over its patterns (normalized with :func:`normalize_name`).

    ``streets`` and ``communities`` may include short forms (尧化, 尧新社区 for 尧新社区居委会).
    """

    provinces: tuple[str, ...] = ("江苏省", "江苏")
    cities: tuple[str, ...] = ("南京市", "南京")
    districts: tuple[str, ...] = ()
    streets: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()
    roads: tuple[str, ...] = ()
    xiaoqu: tuple[str, ...] = ()
    villages: tuple[str, ...] = ()
    _compiled: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_lists(cls, **lists: Iterable[str | None]) -> KnownNames:
        """Build from any iterables, dropping blanks and duplicates (longest names first)."""
        clean = {
            key: tuple(
                sorted(
                    {normalize_name(v) for v in values if v and str(v).strip()},
                    key=lambda s: (-len(s), s),
                )
            )
            for key, values in lists.items()
        }
        return cls(**clean)

    def pattern(self, kind: str) -> re.Pattern | None:
        """A compiled alternation of the names of one kind, longest first (cached)."""
        if kind not in self._compiled:
            names = getattr(self, kind)
            self._compiled[kind] = (
                re.compile("|".join(re.escape(n) for n in names)) if names else None
            )
        return self._compiled[kind]


_P_PROVINCE = re.compile(r"^[\u4e00-\u9fff]{2,7}?(?:省|自治区)")
_P_CITY = re.compile(r"^[\u4e00-\u9fff]{2,4}?市")
_P_DISTRICT = re.compile(r"^[\u4e00-\u9fff]{2,4}?[区县]")
_P_STREET = re.compile(r"^[\u4e00-\u9fff]{2,6}?(?:街道|镇)")
_P_COMMUNITY = re.compile(r"^[\u4e00-\u9fff\d]{2,10}?社区")
_P_COMMUNITY_VILLAGE = re.compile(r"^[\u4e00-\u9fff]{1,8}?村(?!\d)")
_P_ROAD = re.compile(r"^[\u4e00-\u9fff\d]{1,10}?(?:大道|大街|路|街|巷|弄)(?=\d|$)")
_P_DOOR = re.compile(r"^(\d+(?:-\d+)?)号")
_P_VILLAGE = re.compile(r"([\u4e00-\u9fff]{1,8}?村)(\d+)组")
_NOT_DISTRICT = ("小区", "社区", "园区", "景区", "校区", "片区", "街区")
_NOT_CITY = ("超市", "菜市", "夜市", "集市")
_P_NUMBERED = {
    "building": re.compile(r"(\d+)栋"),
    "unit": re.compile(r"(\d+)单元"),
    "room": re.compile(r"(\d+)室"),
    "floor": re.compile(r"(\d+)(?:层|楼)"),
}


def _take(text: str, known: tuple[str, ...], pattern: re.Pattern | None, bad=()) -> tuple:
    for name in known:
        if text.startswith(name):
            return name, text[len(name) :]
    if pattern is not None:
        m = pattern.match(text)
        if m and not m.group(0).endswith(bad):
            return m.group(0), text[m.end() :]
    return None, text


def parse(text: str, names: KnownNames | None = None) -> AddressParts:
    """Split an address into :class:`AddressParts` (the text is normalized first).

    >>> p = parse("尧林仙居3栋2单元301室")
    >>> p.xiaoqu, p.building, p.unit, p.room
    ('尧林仙居', '3', '2', '301')
    >>> p = parse("石埠桥村三组15号")
    >>> p.village, p.group_no, p.door_no
    ('石埠桥村', '3', '15')
    """
    names = names or KnownNames()
    text = normalize(text)
    out: dict[str, str | None] = {}
    out["province"], text = _take(text, names.provinces, _P_PROVINCE)
    out["city"], text = _take(text, names.cities, _P_CITY, _NOT_CITY)
    out["district"], text = _take(text, names.districts, _P_DISTRICT, _NOT_DISTRICT)
    out["street"], text = _take(text, names.streets, _P_STREET)
    community, text = _take(text, names.communities, _P_COMMUNITY)
    if community is None:
        community, text = _take(text, (), _P_COMMUNITY_VILLAGE)
    out["community"] = community
    village = _P_VILLAGE.search(text)
    if village:
        out["village"], out["group_no"] = village.group(1), village.group(2)
        text = text[: village.start()] + text[village.end() :]
    road_pattern = names.pattern("roads")
    road_match = road_pattern.search(text) if road_pattern else None
    if road_match:
        out["road"] = road_match.group(0)
        text = text[: road_match.start()] + text[road_match.end() :]
        rest_from = road_match.start()
    else:
        out["road"], text = _take(text, (), _P_ROAD)
        rest_from = 0
    door = _P_DOOR.match(text[rest_from:])
    if door:
        out["door_no"] = door.group(1)
        text = text[:rest_from] + text[rest_from + door.end() :]
    for key, pattern in _P_NUMBERED.items():
        m = pattern.search(text)
        if m:
            out[key] = m.group(1)
            text = text[: m.start()] + "\x00" + text[m.end() :]
    xq_pattern = names.pattern("xiaoqu")
    xq_match = xq_pattern.search(text) if xq_pattern else None
    if xq_match:
        out["xiaoqu"] = xq_match.group(0)
        text = text[: xq_match.start()] + text[xq_match.end() :]
    else:
        head = text.split("\x00", 1)[0]
        if head and "\x00" in text and not head.isdigit():
            out["xiaoqu"] = head
            text = text[len(head) :]
    rest = text.replace("\x00", "")
    out["rest"] = rest or None
    return AddressParts(**out)
