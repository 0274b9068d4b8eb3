"""Parsing a normalized Chinese address into the elements address datasets use.

:func:`parse` splits a string into :class:`AddressParts` in the order province → city → district →
street 街道 → community → road → door → 小区/POI → building → unit → floor → room (village → group
for rural addresses).

``parse`` works on patterns alone; given :class:`KnownNames` (the geocoder builds one from the
address library and the admin list) it prefers names it knows, which resolves the cases patterns
cannot (a 小区 called 尧林仙居 has no suffix to find it by).

Admin prefixes: cpca 0.5.5 was measured on this district's queries (35,000 strings/s, but it only
knows province/city/district, and missed short forms such as "温州乐清"). Given the national
:class:`~geo_grid.address.gazetteer.Gazetteer`, every level down to street (and the communities it
was given) is recognised, full or short, anywhere in China; without it the suffix patterns (省, 市,
区/县, 街道/镇, 社区/村) and the known names do what they can.

Examples
--------
>>> p = parse("湖南省长沙市岳麓区望月湖街道某某社区和平路12号")
>>> p.district, p.street, p.community, p.road, p.door_no
('岳麓区', '望月湖街道', '某某社区', '和平路', '12')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from geo_grid.address.gazetteer import ADMIN_LEVELS, AdminMatch, Gazetteer
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

    ``xiaoqu`` holds the named place the numbered parts belong to (a 小区, 大厦, 园区: 尧林仙居 in
    尧林仙居3栋); ``poi`` a named place with no numbers after it (a shop or company after the door
    number, 联夹大道112号小小熊鞋业); ``rest`` is what no rule claimed.
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
    devzone: str | None = None
    poi: str | None = None
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
_P_STREET = re.compile(r"^(?:(?![市区县])[\u4e00-\u9fff]){2,6}?(?:街道|镇|乡)(?!村)")
_P_COMMUNITY = re.compile(r"^[\u4e00-\u9fff\d]{2,10}?社区")
_P_COMMUNITY_VILLAGE = re.compile(r"^[\u4e00-\u9fff]{1,8}?村(?![\d村])")
_NOT_DISTRICT = ("小区", "社区", "园区", "景区", "校区", "片区", "街区", "新区", "开发区", "工业区")
_NOT_CITY = ("超市", "菜市", "夜市", "集市")

#: Per admin level: the KnownNames field, the pattern, and endings that are not that level.
_ADMIN_RULES: dict[str, tuple[str, re.Pattern, tuple[str, ...]]] = {
    "province": ("provinces", _P_PROVINCE, ()),
    "city": ("cities", _P_CITY, _NOT_CITY),
    "district": ("districts", _P_DISTRICT, _NOT_DISTRICT),
    "street": ("streets", _P_STREET, ()),
    "community": ("communities", _P_COMMUNITY, ()),
}

#: A numbered part: its number (digits, a letter, or both: 3, B, A1, 12A) and its marker.
_TOKEN = re.compile(
    r"(\d+[A-Za-z]?|(?<![A-Za-z])[A-Za-z]\d*)(号楼|号院|号|栋|单元|层|楼|室|组|弄)"
    r"|(?<![\dA-Za-z])(\d{1,5}[A-Za-z]?)$"
)
#: Street-level divisions that are development zones (仙葫经济开发区): reported as ``devzone``.
_ZONE_ENDINGS = ("开发区", "高新区", "保税区", "工业园区", "工业区", "经济区", "园区", "新区")
#: A road at the start of a name: the shortest name ending in a road word (not 街道, the admin
#: level); 路口 and 街道 are not roads.
_ROAD = re.compile(
    r"^[\u4e00-\u9fff\dA-Za-z]{1,12}?(?:大道|大街|公路|胡同|路(?!口)|街(?!道)|巷|(?<!街)道(?![路口]))"
    r"(?:[东西南北中](?=\d))?"
)
#: A development zone before the road (开发区, 高新区, 顺杨工业区, 电动机械工业园区): not a district.
_DEVZONE = re.compile(
    r"^[\u4e00-\u9fffA-Za-z]{0,12}?(?:开发区|高新区|保税区|工业园区|工业区|经济区|产业园区|科技园区|"
    r"发展区|新区|经区)"
)
_VILLAGE = re.compile(r"^(.{0,12}?[\u4e00-\u9fff]{1,8}?(?:村|庄|屯|寨))$")
#: Words that end a road's text as an intersection (X路与Y路交叉口) rather than start a place.
_JUNCTION = re.compile(
    r"^(?:[东西南北中]段)?(?:(?:与|和)[\u4e00-\u9fff\d]{1,12}?(?:大道|大街|公路|路|街|道)"
    r"(?:交叉路口|交叉口|交汇处|交口|交界处|路口|口)?|交叉路口|交叉口|交汇处|交口|路口)"
)
_NUMBERED_FIELDS = ("building", "unit", "floor", "room")
_SUBAREA = re.compile(r"^[A-Za-z\d]{1,3}区$|^[东西南北中]$")
_MARKER_FIELD = {"栋": "building", "号楼": "building", "单元": "unit", "层": "floor", "楼": "floor",
                 "室": "room"}  # fmt: skip


def _take(text: str, known: tuple[str, ...], pattern: re.Pattern | None, bad=()) -> tuple:
    for name in known:
        if text.startswith(name):
            return name, text[len(name) :]
    if pattern is not None:
        m = pattern.match(text)
        if m and not m.group(0).endswith(bad):
            return m.group(0), text[m.end() :]
    return None, text


def _admin_start(text: str, gazetteer: Gazetteer) -> AdminMatch:
    """The admin prefix at the start, or after a lead-in no rule removed (a name, 太阳鲜鲜深圳市…):
    a later start counts only for a full-name prefix of two levels or more."""
    match = gazetteer.match(text)
    if match.links:
        return match
    for start in range(1, min(len(text), 12)):
        later = gazetteer.match(text, start)
        if len(later.links) >= 2 and later.links[0].full and later.links[0].level != "street":
            return later
    return match


def _take_admin(
    text: str, names: KnownNames, gazetteer: Gazetteer | None, out: dict[str, str | None]
) -> str:
    """Fill the admin levels of ``out`` from the start of ``text``; return the rest.

    The gazetteer (when given) finds the components it knows, full or short; a repeat of them
    (湖南湘潭湘乡市湖南省湘乡市毛田乡, as shops export addresses) is skipped. The levels below the
    deepest of them are then taken from the known names and the patterns.
    """
    first = 0
    if gazetteer is not None:
        match = _admin_start(text, gazetteer)
        while match.links:
            for link in match.links:
                zone = link.level == "street" and link.text.endswith(_ZONE_ENDINGS)
                level = "devzone" if zone else link.level
                out[level] = out.get(level) or link.text
            out["admin_code"] = match.code or out.get("admin_code")
            first = max(first, ADMIN_LEVELS.index(match.links[-1].level) + 1)
            text = text[match.end :]
            # a repeat of the prefix, or the levels below it: 合川区 + 洛阳溪街 is a road of
            # 合川区, not the city of 洛阳
            within = out.get("admin_code")
            match = gazetteer.match(text, within=within) if within else AdminMatch()
    for level in ADMIN_LEVELS[first:]:
        known, pattern, bad = _ADMIN_RULES[level]
        value, text = _take(text, getattr(names, known), pattern, bad)
        out[level] = out.get(level) or value
        if level == "community" and value is None:
            value, text = _take(text, (), _P_COMMUNITY_VILLAGE)
            out[level] = out.get(level) or value
    return text


def _tokens(text: str) -> list[tuple[str, str, str]]:
    """``(name, number, marker)`` triples: the text before each numbered part, the part itself;
    a bare number gets the marker ``""``, and the text after the last part is a last triple."""
    out: list[tuple[str, str, str]] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        number = m.group(1) or m.group(3)
        out.append((text[pos : m.start()], number, m.group(2) or ""))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], "", ""))
    return out


def _split_name(name: str, out: dict, names: KnownNames) -> str:
    """Take a development zone and a road (known, or by its ending) off a name; return the rest."""
    if out.get("road") is None and out.get("devzone") is None and out.get("door_no") is None:
        zone = _DEVZONE.match(name)
        if zone:
            out["devzone"], name = zone.group(0), name[zone.end() :]
    if out.get("road") is None:
        pattern = names.pattern("roads")
        m = pattern.match(name) if pattern else None
        m = m or _ROAD.match(name)
        if m:
            out["road"] = m.group(0)
            name = name[m.end() :]
            junction = _JUNCTION.match(name)
            if junction:  # X路与Y路交叉口: a crossing, not a place; a place may follow it
                out["rest"] = (out.get("rest") or "") + junction.group(0)
                name = name[junction.end() :]
    return name


def _place(name: str, out: dict, names: KnownNames, numbered: bool) -> None:
    """A leftover name: the 小区 its numbers belong to, or a POI (nothing numbered after it)."""
    if not name:
        return
    if _SUBAREA.match(name):  # 3号楼D区240室: a part of the place, no field of its own
        out["rest"] = (out.get("rest") or "") + name
        return
    if name.endswith("组") and len(name) <= 5 and out.get("group_no") is None:
        out["group_no"] = name[:-1]  # 崇山村洪家组: a group with a name
        return
    pattern = names.pattern("xiaoqu")
    m = pattern.search(name) if pattern else None
    if m:
        out["xiaoqu"] = out.get("xiaoqu") or m.group(0)
        return
    key = "xiaoqu" if numbered and out.get("xiaoqu") is None else "poi"
    if out.get(key) is None:
        out[key] = name
    else:
        out["rest"] = (out.get("rest") or "") + name


def _field(marker: str, name_before: str, out: dict) -> str | None:
    """The field a numbered part goes to, given what is filled already (None: it has none)."""
    if marker == "组":
        return "group_no" if out.get("group_no") is None else None
    if marker in ("号", "弄", "号院", ""):
        if out.get("door_no") is None and out.get("building") is None and marker != "":
            return "door_no"
        if marker == "号" and out.get("building") is None and out.get("door_no"):
            return "building"  # 669弄14号: the house 14 in lane 669
        if marker == "" and out.get("door_no") is None and out.get("road") and not name_before:
            return "door_no"  # 上兴镇老明路88: a door without 号 at the end of a road
        # a bare number after the building, unit or floor is the room (2单元5楼502)
        if out.get("room") is None and (out.get("building") or out.get("unit") or out.get("floor")):
            return "room"
        return None
    field_name = _MARKER_FIELD[marker]
    return field_name if out.get(field_name) is None else None


def _take_local(text: str, names: KnownNames, out: dict[str, str | None]) -> None:
    """Road, door, village and group, 小区/POI, building, unit, floor and room, left to right."""
    tokens = _tokens(text)
    for i, (name, number, marker) in enumerate(tokens):
        name = _split_name(name, out, names)
        if name and marker in ("组", "号") and out.get("village") is None:
            village = _VILLAGE.match(name)
            if village and (marker == "组" or out.get("road") is None):
                out["village"], name = village.group(1), ""
        field_name = _field(marker, name, out) if number else None
        later = any(n and m not in ("号", "弄", "号院", "组") for _, n, m in tokens[i + 1 :])
        numbered = field_name in _NUMBERED_FIELDS or (later and out.get("xiaoqu") is None)
        _place(name, out, names, numbered)
        if field_name is not None:
            out[field_name] = number
        elif number:
            out["rest"] = (out.get("rest") or "") + number + marker


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
    >>> p = parse("联夹大道112号小小熊鞋业")
    >>> p.road, p.door_no, p.poi
    ('联夹大道', '112', '小小熊鞋业')
    """
    names = names or KnownNames()
    text = normalize(text, keep_tail=True)
    out: dict[str, str | None] = {}
    text = _take_admin(text, names, gazetteer, out)
    _take_local(text, names, out)
    return AddressParts(**{k: v or None for k, v in out.items()})
