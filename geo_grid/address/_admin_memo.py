"""The gazetteer's admin prefix of many addresses, kept under the part of the text it read.

A geocoder asks :meth:`Gazetteer.match` for the admin prefix of every query that names a division
(河北省石家庄市长安区…). Kept by whole text, a match is found again only for the very same text,
and on a city's fuzzy queries four in ten were new (the road or 小区 name after the prefix was
misspelled), each matched anew: ~80 µs, a fifth of a fuzzy geocode. The match reads the text only
up to the last position where it looked for a name, and a few probes past it (is a name there,
does a road follow a short form): :meth:`Gazetteer.match_read` gives that position and those
probes, and another text that starts the same and reads the same in every probe
(:meth:`Gazetteer.reads_alike`) goes through the very same steps, so it has the same match.

>>> from geo_grid.address.gazetteer import Gazetteer
>>> g = Gazetteer.from_rows([("13", "河北省"), ("1301", "石家庄市"), ("130102", "长安区")])
>>> memo = AdminMemo(g)
>>> [link.text for link in memo("石家庄市长安区香局华府0栋").links]
['石家庄市', '长安区']
>>> memo("石家庄市长安区湘菊华府0栋") == g.match("石家庄市长安区湘菊华府0栋"), memo.kept_by_prefix
(True, 1)
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geo_grid.address.gazetteer import AdminMatch, Gazetteer

__all__ = ["AdminMemo"]

#: Matches kept by whole text, and by the part read (each with up to _VARIANTS sets of probes)
_TEXTS = 65536
_PREFIXES = 16384
_VARIANTS = 4


class AdminMemo:
    """``memo(text)`` is ``gazetteer.match(text)``, memoized by whole text and by the part of
    the text the match read (see the module docstring). Safe to share between threads: every
    entry is one object replaced at once."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self._gazetteer = gazetteer
        self._read: dict[tuple[int, str], tuple] = {}
        self._cuts: tuple[int, ...] = ()
        #: texts answered from a match kept under the part read (for tests and benches)
        self.kept_by_prefix = 0
        self._by_text = functools.lru_cache(maxsize=_TEXTS)(self._match)

    def __call__(self, text: str) -> AdminMatch:
        return self._by_text(text)

    def cache_info(self) -> Any:
        """The hits and misses of the memo of whole texts (``functools.lru_cache``'s)."""
        return self._by_text.cache_info()

    def _match(self, text: str) -> AdminMatch:
        """The match of a text new to the memo of whole texts."""
        found = self._by_prefix(text)
        if found is not None:
            self.kept_by_prefix += 1
            return found
        found, cut, probes = self._gazetteer.match_read(text)
        key = (cut, text[:cut])
        if len(self._read) >= _PREFIXES:
            self._read = {}
        self._read[key] = ((probes, found), *self._read.get(key, ())[: _VARIANTS - 1])
        if cut not in self._cuts:
            self._cuts = (*self._cuts, cut)
        return found

    def _by_prefix(self, text: str) -> AdminMatch | None:
        """The match kept for a text starting as ``text`` and reading alike, else None."""
        read, alike = self._read, self._gazetteer.reads_alike
        for cut in self._cuts:
            if cut > len(text):
                continue
            for probes, found in read.get((cut, text[:cut]), ()):
                if alike(text, probes):
                    return found
        return None
