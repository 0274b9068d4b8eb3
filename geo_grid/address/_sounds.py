"""The toneless pinyin of a name, so homophones compare equal (姚佳路 and 尧佳路: yao jia lu).

pypinyin's ``lazy_pinyin`` segments a text into the phrases of its phrase table (a character
reads differently in some of them: 乐 is le4 alone, lao4 in 乐亭) and reads every other character
by the first reading of its character table. It costs 40-60 µs a call, most of a fuzzy geocode
on a city's library, where every query's name is new. So a text none of whose substrings is a
phrase of that table is read character by character, each character's syllable memoized: the
same syllables, computed once per character. Tested equal to ``lazy_pinyin`` on every name of the
demo and on random texts of characters that form phrases (``tests/geo_grid/test_geocode.py``).

>>> sound("姚佳路") == sound("尧佳路"), sound("乐亭")
(True, 'lao ting')
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["sound"]


@functools.lru_cache(maxsize=65536)
def sound(text: str) -> str:
    """The toneless pinyin of ``text``, syllables joined by spaces ("" without pypinyin)."""
    tables = _tables()
    if tables is None or not text:
        return ""
    lazy_pinyin, chars, phrases, longest = tables
    if all(ord(ch) in chars for ch in text) and not _holds_phrase(text, phrases, longest):
        return " ".join(_syllable(ch) for ch in text)
    return " ".join(lazy_pinyin(text))


def _holds_phrase(text: str, phrases: Any, longest: int) -> bool:
    """Whether some substring of two characters or more is a phrase of pypinyin's table."""
    n = len(text)
    return any(
        text[i:j] in phrases for i in range(n - 1) for j in range(i + 2, min(n, i + longest) + 1)
    )


@functools.cache
def _syllable(ch: str) -> str:
    """The syllable of one character outside any phrase: its first reading."""
    tables = _tables()
    assert tables is not None
    return tables[0](ch)[0]


@functools.cache
def _tables() -> tuple[Callable[[str], list[str]], Any, Any, int] | None:
    """pypinyin's ``lazy_pinyin``, character table, phrase table and longest phrase, imported on
    first use (its dictionaries take 0.3 s to load, a cost every importer of
    :mod:`geo_grid.address` would otherwise pay); None when pypinyin is absent."""
    try:  # homophones (姚/尧) compare by sound when pypinyin is present; otherwise by characters
        from pypinyin import lazy_pinyin
        from pypinyin.constants import PHRASES_DICT, PINYIN_DICT
    except ImportError:  # pragma: no cover - optional dependency
        return None
    return lazy_pinyin, PINYIN_DICT, PHRASES_DICT, max(map(len, PHRASES_DICT), default=2)
