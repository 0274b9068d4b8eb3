"""Parsing a normalized Chinese address into the elements address datasets use.

:func:`parse` splits a string into :class:`AddressParts` in the order province → city → district →
street 街道 → community → road → door → 小区/POI → building → unit → floor → room (village → group
for rural addresses).

``parse`` works on patterns alone; given :class:`KnownNames` (the geocoder builds one from the
address library and the admin list) it prefers names it knows, which resolves the cases patterns
cannot (a 小区 called 尧林仙居 has no suffix to find it by).

Admin prefixes: cpca 0.5.5 was measured on this district's queries (35,000 strings/s, but it only
knows province/city/district, and missed the short "南京栖霞" form); this module's own prefix
patterns plus the known street/community list cover streets and communities too, so no extra
dependency is used.

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
