"""Normalization of Chinese address text to the key form the geocoder matches on.

A hotline ticket reads "某区某街道某社区 和平路十二号3幢2单元301 楼道堆物 13912345678"; the
standard address library says "尧佳路12号3栋2单元301室". :func:`normalize` brings both to one key form
(half-width, Arabic numbers in numbered positions, one synonym per element, no noise and no
complaint text); :func:`normalize_name` does the same for clean library text without cutting tails.

Examples
--------
>>> normalize("某区某街道某社区 和平路十二号3幢2单元301 楼道堆物 13912345678")
'某区某街道某社区和平路12号3栋2单元301室'
"""

from __future__ import annotations

import re
import unicodedata

from geo_grid.access import PERSONAL_NUMBERS
from geo_grid.address.numerals import chinese_to_arabic

__all__ = ["DESCRIPTION_WORDS", "NOISE_WORDS", "normalize", "normalize_name"]

#: Position words that say nothing about where (removed anywhere in the text).
NOISE_WORDS: tuple[str, ...] = (
    "附近",
    "斜对面",
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
#: what people put before an address: 我家的地址是, 收货地址:, 住在, 家住, 位于, 寄到 ...
_LEADING = re.compile(
    r"^(?:(?:我们?|我家|本人|家里?|公司|单位)?的?(?:详细|家庭|收货|收件|联系|通讯|现|居住|具体|面试|"
    r"办公)?(?:地址|住址)(?:是|为|在)?|所在地区|(?:我们?|我家|本人|家)?(?:住在|家住|位于|在)|"
    r"(?:请)?(?:寄|送|发)到)"
)
#: form labels of a delivery address (收货人: 张三, 手机号码:, 所在地区:, 详细地址:): who, or a label
_LABELS = re.compile(
    r"(?:收货人|收件人|联系人)[:：\s]*[\u4e00-\u9fff]{2,3}(?=[\s,，;；]|\d|$)"
    r"|(?:手机号码|手机号|联系电话|手机|电话|電話)[:：\s]*(?=\d)|(?:所在地区|详细地址|收货地址)[:：]"
)
#: a person's name next to a phone number at either end (王小梅13911111111…, …2033 李玉 139…)
_MOBILE = r"1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)"
_NAMED_PHONE = re.compile(
    rf"^[\u4e00-\u9fff]{{2,3}}[\s,，]*(?={_MOBILE})"
    rf"|[\s,，;；。]+[\u4e00-\u9fff]{{2,3}}[\s,，]*(?={_MOBILE}[\s,，;；。]*$)"
    r"|(?<=\d{4})[\s,，]+[\u4e00-\u9fff]{2,3}[\s,，;；。]*$"
)
#: a landmark in brackets (（星港城对面）, （滇池会展旁）): where to look, not the address
_LANDMARK = re.compile(r"[(（][^()（）]*(?:对面|旁|附近|隔壁|斜对|往|直走|下车)[^()（）]*[)）]")
#: position and distance words the noise list cannot hold alone: 村口, 村东, 东150米, a trailing 旁
_POSITION = re.compile(
    r"(?<=村)村?[口头尾东南西北](?=$|[^\u4e00-\u9fff])|[东南西北]?\d+米|旁$|附\d+号|(?<=\d号)甲"
    r"|(?<=路)[东南西北]$|底楼$"
)
_GROUND = re.compile(r"(\d+)底层")
#: one scan telling whether the label or position rules can apply at all
_LABEL_HINT = re.compile(r"收|联系|手机|电话|電話|所在地区|详细地址")
_POSITION_HINT = re.compile(r"[米旁附甲底]|村[口头尾东南西北村]|[东南西北]$")
_LATIN = re.compile(r"[A-Za-z]")
#: the characters the rarer cleaning rules start from (a label word, a bracket, a position
#: word): one class scan tells whether any can apply; phone numbers are told by _LONG_NUMBER
_RARE = re.compile(r"[(（米旁附甲底收联手电電所详村]")
_LONG_NUMBER = re.compile(r"\d{7}|1[3-9]\d[ -]\d{4}")
#: the first characters a leading phrase can have
_LEADING_FIRST = frozenset("我本家公单的详收联通现居具面办地住所位在请寄送发")
_PUNCT = re.compile(r"[\s,.;:!?，。；：！？、()\[\]（）【】\"'“”‘’<>《》/\\|~·]+")
_DASH3 = re.compile(r"(\d+)-(\d+)-(\d+)(?!\d)")
_HASH = re.compile(r"(\d+)#")
_BUILDING_SYN = re.compile(r"(\d+|(?<![A-Za-z])[A-Za-z])(?:号楼|幢|座|栋)")
_ROOM_SYN = re.compile(r"(\d+)房")
#: a room written without 室 after the unit (2单元301); 2单元5楼 is a floor, not a room
_BARE_ROOM = re.compile(r"(\d+单元)(\d+)(?![\d室号楼层])")
#: a room written without 室 right after the building: 152幢1652, 233栋1351 (3+ digits)
_BUILDING_ROOM = re.compile(r"(\d+栋)(\d{3,4})(?![\d室号楼层单元栋])")
#: two numbers joined by a dash after a place: 21-102 is building 21, room 102
_DASH2 = re.compile(r"(?<![\d-])(\d{1,3})-(\d{3,4})(?![\d-]|号|室)")
#: Tianjin writes the unit as 门 (6号楼1门402室); the northeast writes 组 as 队 (春兴村5队)
_GATE = re.compile(r"(\d+栋)(\d+)门")
_TEAM = re.compile(r"(村)(\d+)队")
#: a name with a title after the address (周女士, 聂小姐): who, not where
_PERSON = re.compile(r"[\u4e00-\u9fff]{1,2}(?:先生|女士|小姐)$")
#: 25F, 2f: a floor
_FLOOR_F = re.compile(r"(\d+)[Ff](?![A-Za-z])")
_ADMIN_SYN = (
    (re.compile(r"社区居民委员会|社区居委会|社区委员会"), "社区"),
    (re.compile(r"居民委员会|居委会"), "社区"),
    (re.compile(r"村?(?:村民委员会|村委会|村委)"), "村"),
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
    return _name_rules(_PUNCT.sub("", unicodedata.normalize("NFKC", text or "")))


def _name_rules(text: str) -> str:
    """:func:`normalize_name` of a text already in NFKC form and without punctuation."""
    # each rewrite runs only when its trigger character is present: library-clean text (the hot
    # path of batch geocoding) then costs a few membership tests instead of nine regex passes
    if _HAS_NUMERAL.search(text):
        text = _numerals_to_arabic(text)
    if "-" in text:
        text = _DASH3.sub(r"\1栋\2单元\3室", text)
        text = _DASH2.sub(r"\1栋\2室", text)
    if "#" in text:
        text = _HASH.sub(r"\1栋", text)
    if "幢" in text or "座" in text or "号楼" in text or ("栋" in text and _LATIN.search(text)):
        text = _BUILDING_SYN.sub(r"\1栋", text)
    if "栋" in text and "室" not in text and "单元" not in text:
        text = _BUILDING_ROOM.sub(r"\1\2室", text)
    if "房" in text:
        text = _ROOM_SYN.sub(r"\1室", text)
    if "门" in text:
        text = _GATE.sub(r"\1\2单元", text)
    if "队" in text:
        text = _TEAM.sub(r"\1\2组", text)
    if "单元" in text:
        text = _BARE_ROOM.sub(r"\1\2室", text)
    if ("F" in text or "f" in text) and _FLOOR_F.search(text):
        text = _FLOOR_F.sub(r"\1层", text)
    if "委" in text:
        for pattern, repl in _ADMIN_SYN:
            text = pattern.sub(repl, text)
    return text


def _clean_input(text: str) -> str:
    """Remove what is not the address: form labels, names with phones, phones, bracketed
    landmarks, punctuation, a leading phrase, a titled name, position and distance words.

    Each rule runs only when its trigger is in the text: a clean query (the hot path of batch
    geocoding) costs a few membership tests, not a dozen regex scans.
    """
    rare = _RARE.search(text) is not None or text.rstrip().endswith(("东", "南", "西", "北"))
    if rare and _LABEL_HINT.search(text):
        text = _LABELS.sub(" ", text)
    if rare and ("(" in text or "（" in text):
        text = _LANDMARK.sub(" ", text)
    if _LONG_NUMBER.search(text):
        text = _PHONE.sub(" ", _NAMED_PHONE.sub(" ", text.strip()))
    text = _PUNCT.sub("", text)
    if text[:1] in _LEADING_FIRST:
        text = _LEADING.sub("", text, count=1)
    if text.endswith(("先生", "女士", "小姐")):
        text = _PERSON.sub("", text)
    if rare and _POSITION_HINT.search(text):
        text = _GROUND.sub(r"\1层", _POSITION.sub("", text))
    return text


def normalize(text: str, *, keep_tail: bool = False) -> str:
    """Bring a free-text address to the key form the geocoder matches on.

    Full-width → half-width (NFKC), punctuation and spaces removed, phone numbers removed, a
    leading phrase (我家的地址是, 收货地址:, 住在) removed, Chinese numerals → Arabic before
    号/栋/单元/室/组/层 (positional or digit by digit), 幢/号楼/座/# → 栋, 房 → 室, 25F → 25层,
    ``3-2-301`` → 3栋2单元301室, a bare room after 单元 or 栋 gets 室, 居委会 forms → 社区, 村委会
    forms → 村, position words (附近, 对面, ...) removed, complaint text after the address cut.
    ``keep_tail`` keeps what follows the last number when it is not complaint text (a shop after
    the door number, 联夹大道112号小小熊鞋业): the parser reads it as a place.

    >>> normalize("尧林仙居二十三号楼一单元一五零二房 附近")
    '尧林仙居23栋1单元1502室'
    >>> normalize("石埠桥村村民委员会 石埠桥村三组十五号门口 垃圾满溢")
    '石埠桥村石埠桥村3组15号'
    >>> normalize("ＸＸ小区３－２－３０１")
    'XX小区3栋2单元301室'
    >>> normalize("我家的地址是江苏淮安清江浦区人民路111号")
    '江苏淮安清江浦区人民路111号'
    """
    text = _clean_input(unicodedata.normalize("NFKC", text or ""))
    text = _NOISE.sub("", text)
    match = _DESCRIPTION.search(text)
    if match and match.start() > 0:
        text = text[: match.start()]
    nfkc = unicodedata.normalize("NFKC", text)  # cutting words may join a combining mark
    text = _name_rules(text if nfkc == text else _PUNCT.sub("", nfkc))
    return text if keep_tail else _cut_description(text)
