"""Synthetic but plausible Chinese names: roads, 小区, people, phone numbers, 组 numerals.

Everything draws from a caller's ``numpy.random.Generator`` and a :class:`NamePool` that remembers
what it has handed out, so names are deterministic for a seed and unique within the district.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NamePool", "chinese_numeral", "person_names", "phone_numbers"]

_ROAD_FIRST = (
    "尧仙文学紫金栖燕迈龙马和广齐玄幕甘石樊化兴纬经光华明新宁恒灵青白云月星春秋江滨湖泰康安乐嘉"
)
_ROAD_SECOND = "佳林澜园鹤霞山湖城泉溪峰港湾川河苑兴盛华阳安德庆福康平和宁昌茂隆丰源瑞祥远景晖"
_MAIN_SUFFIX = ("大道", "路", "大街")
_BRANCH_SUFFIX = ("路", "路", "街", "巷")
_XQ_FIRST = "尧仙文翠锦金银碧紫枫桂梅兰竹松柏荷云月星瑞嘉华雅泰康宁恒绿清香丽景明阳"
_XQ_SECOND = "林鹤澜湖园苑庭府轩城居都庭岭湾溪泉峰山水韵晖海庄桥"
_XQ_SUFFIX = (
    "仙居",
    "名苑",
    "花园",
    "雅居",
    "家园",
    "佳园",
    "华府",
    "山庄",
    "新村",
    "雅苑",
    "公寓",
    "嘉园",
    "府",
    "苑",
    "小区",
)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰玉萍红华建国志文斌辉海鹏婷雪琳晨浩宇欣怡子轩梓涵佳琪雨泽思远博文嘉俊凯瑶颖慧云飞鑫宁健晶"
_NUMERALS = "零一二三四五六七八九"
_PHONE_PREFIXES = ("139", "138", "137", "136", "135", "158", "159", "188", "187", "152", "151")


def chinese_numeral(n: int) -> str:
    """1..99 as everyday Chinese numerals, as used in village group names.

    >>> chinese_numeral(3), chinese_numeral(10), chinese_numeral(12), chinese_numeral(20)
    ('三', '十', '十二', '二十')
    """
    if not 1 <= n <= 99:
        raise ValueError(f"numeral out of range: {n}")
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _NUMERALS[tens] + "十")
    return head + ("" if ones == 0 else _NUMERALS[ones])


class NamePool:
    """Hands out unique names of each sort, deterministically for a generator.

    >>> pool = NamePool(np.random.default_rng(0))
    >>> a, b = pool.road("main"), pool.road("branch")
    >>> a != b and a[-1] in "道路街巷" and b[-1] in "路街巷"
    True
    """

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.used: set[str] = set()
        self._crowded: set[str] = set()  # sorts whose first space ran out: straight to ``more``

    def _unique(self, make, more=None, sort: str = "") -> str:
        """A name ``make`` gives that is not used yet; once 10,000 draws found none (a district
        of thousands of roads: 锡林浩特 is 14,800 km²), ``more`` draws from a larger space, then
        and for the rest of the ``sort`` (the draws before are unchanged, and so are the demos
        that never got here)."""
        draws = (more,) if sort in self._crowded else (make, more)
        for draw in draws:
            for _ in range(10_000 if draw is not None else 0):
                name = draw()
                if name not in self.used:
                    self.used.add(name)
                    return name
            self._crowded.add(sort)
        raise RuntimeError("name pool exhausted")

    def _pick(self, chars: str) -> str:
        return chars[int(self.rng.integers(len(chars)))]

    def road(self, kind: str) -> str:
        """A road name: '仙林大道' for main roads, '文澜路' / '尧佳街' for branches."""
        suffixes = _MAIN_SUFFIX if kind == "main" else _BRANCH_SUFFIX

        def make(number: str = "") -> str:
            a, b = self._pick(_ROAD_FIRST), self._pick(_ROAD_SECOND)
            if a == b:
                b = self._pick(_ROAD_SECOND)
            return a + b + number + suffixes[int(self.rng.integers(len(suffixes)))]

        def numbered() -> str:  # 文澜三路: roads numbered in a series, as towns name them
            return make(chinese_numeral(int(self.rng.integers(2, 30))))

        return self._unique(make, numbered, sort=f"road:{kind}")

    def xiaoqu(self) -> str:
        """A residential estate (小区) name: '尧林仙居', '仙鹤名苑'."""

        def make() -> str:
            suffix = _XQ_SUFFIX[int(self.rng.integers(len(_XQ_SUFFIX)))]
            return self._pick(_XQ_FIRST) + self._pick(_XQ_SECOND) + suffix

        return self._unique(make)


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` synthetic personal names (surname + one or two given-name characters).

    >>> names = person_names(np.random.default_rng(0), 3)
    >>> len(names), all(2 <= len(x) <= 3 for x in names)
    (3, True)
    """
    sur = rng.integers(len(_SURNAMES), size=n)
    g1 = rng.integers(len(_GIVEN), size=n)
    g2 = rng.integers(len(_GIVEN), size=n)
    two = rng.random(n) < 0.7
    return [
        _SURNAMES[s] + _GIVEN[a] + (_GIVEN[b] if t else "")
        for s, a, b, t in zip(sur, g1, g2, two, strict=True)
    ]


def phone_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct synthetic mobile numbers ('139xxxxxxxx' style).

    >>> p = phone_numbers(np.random.default_rng(0), 5)
    >>> len(set(p)), all(len(x) == 11 and x.startswith("1") for x in p)
    (5, True)
    """
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        pre = _PHONE_PREFIXES[int(rng.integers(len(_PHONE_PREFIXES)))]
        num = f"{pre}{int(rng.integers(0, 100_000_000)):08d}"
        if num not in seen:
            seen.add(num)
            out.append(num)
    return out
