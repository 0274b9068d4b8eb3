"""Chinese numerals both ways, for the numbered parts of an address (号, 栋, 单元, 室, 组).

Callers write numbers two ways: positionally (二十三栋, 三百零一室) and digit by digit (一五零二室, the
way a phone operator reads a room number). Both must land on the same Arabic key, and the noisy-query
bench needs the way back to produce realistic input.

Examples
--------
>>> chinese_to_arabic("二十三"), chinese_to_arabic("一五零二"), chinese_to_arabic("三百零一")
('23', '1502', '301')
>>> arabic_to_chinese(12), arabic_to_chinese(301), arabic_to_chinese(1502, style="digits")
('十二', '三百零一', '一五零二')
"""

from __future__ import annotations

__all__ = ["CHINESE_DIGITS", "arabic_to_chinese", "chinese_to_arabic"]

CHINESE_DIGITS: dict[str, int] = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_DIGIT_CHARS = "零一二三四五六七八九"


def chinese_to_arabic(text: str) -> str:
    """Return the Arabic digits of a Chinese numeral, positional or digit-by-digit.

    Digit-by-digit input keeps its length (so 零一 stays '01'); positional input is evaluated.
    Characters that are not numerals raise :class:`ValueError`.

    >>> chinese_to_arabic("十"), chinese_to_arabic("十二"), chinese_to_arabic("两千零五")
    ('10', '12', '2005')
    """
    if not text:
        raise ValueError("empty numeral")
    if not any(ch in _UNITS for ch in text):
        return "".join(str(CHINESE_DIGITS[ch]) for ch in text)
    total = 0
    current = 0
    for ch in text:
        if ch in CHINESE_DIGITS:
            current = CHINESE_DIGITS[ch]
        elif ch in _UNITS:
            total += (current or 1) * _UNITS[ch]
            current = 0
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    return str(total + current)


def arabic_to_chinese(number: int | str, style: str = "positional") -> str:
    """Write a non-negative integer in Chinese, ``positional`` (十二) or ``digits`` (一二).

    >>> arabic_to_chinese(10), arabic_to_chinese(110), arabic_to_chinese(2005)
    ('十', '一百一十', '两千零五')
    """
    text = str(number)
    if not text.isdigit():
        raise ValueError(f"not a non-negative integer: {number!r}")
    if style == "digits":
        return "".join(_DIGIT_CHARS[int(d)] for d in text)
    value = int(text)
    if value == 0:
        return "零"
    if value >= 10000:
        return "".join(_DIGIT_CHARS[int(d)] for d in text)
    parts: list[str] = []
    pending_zero = False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = value // unit % 10
        if digit == 0:
            pending_zero = bool(parts)
            continue
        if pending_zero:
            parts.append("零")
            pending_zero = False
        word = "两" if digit == 2 and unit >= 1000 else _DIGIT_CHARS[digit]
        if unit == 10 and digit == 1 and not parts:
            word = ""
        parts.append(word + name)
    return "".join(parts)
