"""Parsing a normalized Chinese address into the elements address datasets use.

:func:`parse` splits a string into :class:`AddressParts` in the order province → city → district →
street 街道 → community → road → door → 小区/POI → building → unit → floor → room (village → group
for rural addresses).

``parse`` works on patterns alone; given :class:`KnownNames` (the geocoder builds one from the
address library and the admin list) it prefers names it knows, which resolves the cases patterns
cannot (a 小区 called 尧林仙居 has no suffix to find it by).

Admin prefixes: cpca 0.5.5 was measured on this district's queries (35,000 strings/s, but it only
knows province/city/district, and missed the short "南京栖霞" form). Given the national
:class:`~geo_grid.address.gazetteer.Gazetteer`, every level down to street (and the communities it
was given) is recognised, full or short, anywhere in China; without it the suffix patterns (省, 市,
区/县, 街道/镇, 社区/村) and the known names do what they can.

Examples
--------
>>> p = parse("江苏省南京市栖霞区尧化街道尧新社区尧佳路12号")
>>> p.district, p.street, p.community, p.road, p.door_no
('栖霞区', '尧化街道', '尧新社区', '尧佳路', '12')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from geo_grid.address.gazetteer import ADMIN_LEVELS, Gazetteer
from geo_grid.address.normalize import normalize, normalize_name

__all__ = ["LIBRARY_COMPONENTS", "AddressParts", "KnownNames", "parse"]

#: The parsed parts a row of the standard address library stores (the demo writes them, the store
#: keeps them as columns, the geocoder indexes them), in the order address datasets use.
LIBRARY_COMPONENTS: tuple[str, ...] = (
    "road", "door_no", "xiaoqu", "building", "unit", "room", "village", "group_no",
)  # fmt: skip


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
    #: the division code of the deepest admin component the gazetteer resolved to one division
    admin_code: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """A plain dict, for JSON answers."""
        return asdict(self)


@dataclass(frozen=True)
class KnownNames:
    """Names the parser should prefer over its patterns (normalized with :func:`normalize_name`).

    ``streets`` and ``communities`` may include short forms (尧化, 尧新社区 for 尧新社区居委会).
    """

    provinces: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
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
#: Per admin level: the KnownNames field, the pattern, and endings that are not that level.
_ADMIN_RULES: dict[str, tuple[str, re.Pattern, tuple[str, ...]]] = {
    "province": ("provinces", _P_PROVINCE, ()),
    "city": ("cities", _P_CITY, _NOT_CITY),
    "district": ("districts", _P_DISTRICT, _NOT_DISTRICT),
    "street": ("streets", _P_STREET, ()),
    "community": ("communities", _P_COMMUNITY, ()),
}
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


def _take_admin(
    text: str, names: KnownNames, gazetteer: Gazetteer | None, out: dict[str, str | None]
) -> str:
    """Fill the admin levels of ``out`` from the start of ``text``; return the rest.

    The gazetteer (when given) finds the components it knows, full or short; the levels below the
    deepest of them are then taken from the known names and the patterns.
    """
    first = 0
    if gazetteer is not None:
        match = gazetteer.match(text)
        for link in match.links:
            out[link.level] = link.text
        out["admin_code"] = match.code
        if match.links:
            first = ADMIN_LEVELS.index(match.links[-1].level) + 1
        text = text[match.end :]
    for level in ADMIN_LEVELS[first:]:
        known, pattern, bad = _ADMIN_RULES[level]
        out[level], text = _take(text, getattr(names, known), pattern, bad)
        if level == "community" and out[level] is None:
            out[level], text = _take(text, (), _P_COMMUNITY_VILLAGE)
    return text


def parse(
    text: str, names: KnownNames | None = None, gazetteer: Gazetteer | None = None
) -> AddressParts:
    """Split an address into :class:`AddressParts` (the text is normalized first).

    ``gazetteer`` (a :class:`~geo_grid.address.gazetteer.Gazetteer`) finds the admin components of
    any place in China, full or short (温州乐清白石街道); without it they are found by their
    suffixes (省, 市, 区/县, 街道/镇, 社区/村) and ``names``.

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
    text = _take_admin(text, names, gazetteer, out)
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
