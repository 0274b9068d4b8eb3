"""The library's rows by their named parts (road and door, 小区 and building, unit, room …), held
as sorted integer keys instead of a dict of tuples.

The geocoder looks rows up by a kind and a chain of parts: ``("road", 平江路)``, ``("road", 平江路,
12)``, ``("xq", 某某苑, 3, 2, 301)``, ``("v", 上坝村, 3, 12)``. As a dict of tuples to lists of row
numbers, a city's 1.2 M addresses held ~330 MB: one tuple, one list and one int object per key
and row. Here each part's values are numbered (1, 2, … per column; 0 is "none"), a key is the
mixed-radix number of its parts' numbers, and each kind and depth keeps its distinct keys sorted
(``int64``) with the rows of each (``int32``, library order): ~20 bytes a row and depth. A
lookup numbers the query's parts (a value no row has is no key), bisects, and reads the rows.

The parts themselves are kept the same way (:class:`CodedColumn`: an ``int32`` number per row and
each distinct value once, where a list of a city's rows was 9.6 MB of pointers a column).

>>> columns = {"road": CodedColumn(["尧佳路", "尧佳路", None]), "door_no": CodedColumn(["12", "14", "3"])}
>>> index = ComponentIndex({"road": ("road", "door_no")}, columns)
>>> index[("road", "尧佳路")], index[("road", "尧佳路", "14")], ("road", "月球路") in index
([0, 1], [1], False)
>>> ("road", "尧佳路", "3") in index   # the row of door 3 names no road
False
>>> columns["road"][2], list(columns["door_no"])
(None, ['12', '14', '3'])
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["CodedColumn", "ComponentIndex"]

#: Keys with at least this many rows keep their row list once read (a road's thousands of rows
#: cost ~100 µs to turn into a list), up to _MEMO_ROWS rows in all.
_MEMO_LEAST = 64
_MEMO_ROWS = 1_000_000


class CodedColumn:
    """A column of part values (None or a non-empty text) as a number per row (0 for None)
    and the values by number; ``column[i]`` and iteration give the values."""

    def __init__(self, values: Iterable[str | None]) -> None:
        self.values: list[str | None] = [None]
        self.number: dict[str, int] = {}
        self.codes = array("i")
        number, append = self.number, self.codes.append
        for value in values:
            if value:
                code = number.get(value)
                if code is None:
                    code = number[value] = len(self.values)
                    self.values.append(value)
                append(code)
            else:
                append(0)

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i: int) -> str | None:
        return self.values[self.codes[i]]

    def __iter__(self) -> Iterator[str | None]:
        return map(self.values.__getitem__, self.codes)


class ComponentIndex:
    """Rows by kind and chain of parts (see the module docstring): ``index[key]`` (a list of row
    numbers, not to be changed; empty when no row has the key), ``key in index``, ``index.get``.

    ``chains`` maps each kind to the columns of its chain, outermost first; a row holds the key
    of every depth of its kind's chain down to its first missing part (a 小区 row without a
    building holds only ``(xq, 小区)``)."""

    def __init__(
        self, chains: Mapping[str, Sequence[str]], columns: Mapping[str, CodedColumn]
    ) -> None:
        self._chains = {kind: tuple(cols) for kind, cols in chains.items()}
        used = sorted({c for cols in self._chains.values() for c in cols})
        self._numbers = {col: columns[col].number for col in used}
        codes = {col: np.frombuffer(columns[col].codes, np.int32).astype(np.int64) for col in used}
        self._radix = {col: len(self._numbers[col]) + 1 for col in used}
        self._levels: dict[tuple[str, int], _Level] = {}
        for kind, cols in self._chains.items():
            key = np.zeros(len(codes[cols[0]]), np.int64)
            held = np.ones(len(key), bool)
            for depth, col in enumerate(cols, 1):
                _check_radix(self._radix, cols[:depth])
                key = key * self._radix[col] + codes[col]
                held &= codes[col] > 0
                self._levels[(kind, depth)] = _Level(key, np.flatnonzero(held))
        self._memo: dict[tuple, list[int]] = {}
        self._memo_rows = 0
        #: the last key looked up and its rows: the geocoder asks ``key in index`` and then
        #: ``index[key]`` (one tuple, so a thread never reads one key's rows for another's)
        self._last: tuple[tuple | None, Any] = (None, None)
        self._plan_steps()

    def _plan_steps(self) -> None:
        """Per kind, each part's numbers and radix in chain order, and the levels by depth:
        what a lookup reads, one dict lookup per kind instead of three per part."""
        self._steps = {
            kind: (
                tuple((self._numbers[c], self._radix[c]) for c in cols),
                (None, *(self._levels[(kind, d)] for d in range(1, len(cols) + 1))),
            )
            for kind, cols in self._chains.items()
        }

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the memo of long row lists and the steps (rebuilt on load)."""
        state = self.__dict__.copy()
        state["_memo"], state["_memo_rows"], state["_last"] = {}, 0, (None, None)
        state.pop("_steps", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._plan_steps()

    def get(self, key: tuple, default: Any = None) -> list[int] | Any:
        """The rows holding ``key`` (library order), else ``default``."""
        last = self._last
        if last[0] == key:
            return default if last[1] is None else last[1]
        found = self._rows(key)
        self._last = (key, found)
        return default if found is None else found

    def _rows(self, key: tuple) -> list[int] | None:
        """The rows of ``key`` read from the sorted keys (kept when long), else None."""
        found = self._memo.get(key)
        if found is not None:
            return found
        steps = self._steps.get(key[0])
        if steps is None or not 1 < len(key) <= len(steps[0]) + 1:
            return None
        parts, levels = steps
        code = 0
        for (numbers, radix), value in zip(parts, key[1:], strict=False):
            number = numbers.get(value)
            if number is None:
                return None
            code = code * radix + number
        level = levels[len(key) - 1]
        at = level.find(code)
        if at < 0:
            return None
        found = level.rows[level.starts[at] : level.starts[at + 1]].tolist()
        if len(found) >= _MEMO_LEAST:
            if self._memo_rows + len(found) > _MEMO_ROWS:
                self._memo.clear()
                self._memo_rows = 0
            self._memo[key] = found
            self._memo_rows += len(found)
        return found

    def __getitem__(self, key: tuple) -> list[int]:
        """The rows holding ``key``; an empty list when none does (as the ``defaultdict`` this
        replaces answered)."""
        return self.get(key, [])

    def __contains__(self, key: tuple) -> bool:
        return self.get(key) is not None


def _check_radix(radix: Mapping[str, int], cols: Sequence[str]) -> None:
    """Refuse a chain whose keys would not fit 63 bits (the product of its columns' counts of
    distinct values)."""
    total = 1
    for col in cols:
        total *= radix[col]
    if total >= 2**63:
        raise ValueError(f"too many distinct values of {'/'.join(cols)} to number as one key")


#: An odd 64-bit multiplier: ``code · _MIX mod 2⁶⁴`` is a bijection of 64-bit codes that spreads
#: mixed-radix codes (clustered by their leading part) evenly over the buckets of its top bits.
_MIX = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1


class _Level:
    """The keys of one kind and depth: their mixed codes sorted (``array`` of ``uint64``), where
    each bucket of the top bits starts, and the rows of each key (library order, a stable
    sort). A lookup bisects a bucket of a few keys in Python (~0.4 µs; numpy's searchsorted
    over all the keys cost ~1.3 µs a call here, a fuzzy query making 10-20 of them)."""

    def __init__(self, key: np.ndarray, held: np.ndarray) -> None:
        mixed = key[held].astype(np.uint64) * np.uint64(_MIX)  # wraps mod 2**64, as _MASK
        order = np.argsort(mixed, kind="stable")
        mixed = mixed[order]
        first = np.flatnonzero(np.r_[True, mixed[1:] != mixed[:-1]]) if len(order) else order
        self.starts = array("q", np.append(first, len(order)).astype(np.int64).tobytes())
        # an array, not numpy: a lookup slices one run of rows into a list (~0.3 µs less)
        wide = len(key) >= 2**31
        self.rows = array(
            "q" if wide else "i", held[order].astype(np.int64 if wide else np.int32).tobytes()
        )
        distinct = mixed[first]
        bits = max(len(distinct).bit_length() - 2, 1)
        self.shift = 64 - bits
        top = distinct >> np.uint64(self.shift)
        starts = np.searchsorted(top, np.arange(2**bits + 1, dtype=np.uint64))
        self.buckets = array("q", starts.astype(np.int64).tobytes())
        self.mixed = array("Q", distinct.tobytes())

    def find(self, code: int) -> int:
        """The position of key ``code`` (in ``starts``), else -1."""
        mixed = (code * _MIX) & _MASK
        bucket = mixed >> self.shift
        high = self.buckets[bucket + 1]
        at = bisect_left(self.mixed, mixed, self.buckets[bucket], high)
        return at if at < high and self.mixed[at] == mixed else -1
