"""Normalization of Chinese address text to the key form the geocoder matches on.

A hotline ticket reads "栖霞区尧化街道尧新社区 尧佳路十二号3幢2单元301 楼道堆物 13912345678"; the
standard address library says "尧佳路12号3栋2单元301室". :func:`normalize` brings both to one key form
(half-width, Arabic numbers in numbered positions, one synonym per element, no noise and no
complaint text); :func:`normalize_name` does the same for clean library text without cutting tails.

Examples
--------
>>> normalize("栖霞区尧化街道尧新社区 尧佳路十二号3幢2单元301 楼道堆物 13912345678")
'栖霞区尧化街道尧新社区尧佳路12号3栋2单元301室'
"""

from __future__ import annotations

import re
import unicodedata

from geo_grid.address.numerals import chinese_to_arabic

__all__ = ["DESCRIPTION_WORDS", "NOISE_WORDS", "normalize", "normalize_name"]

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
_PHONE = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")
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
