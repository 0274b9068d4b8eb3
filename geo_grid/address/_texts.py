"""Many short texts held as one string and offsets, and looked up by hash, not as Python objects.

A city's library is 1.2 M full texts and as many normalized full and local keys. As ``str``
objects in dicts of lists each costs its object header (~80 bytes), a dict slot, a list and an
int: ~0.5 GB for the keys alone. Here a column of texts is one string (2 bytes a character for
Chinese text) with ``int64`` offsets, and a lookup bisects the sorted hashes of the texts within
the bucket of the hash's top bits, the text itself compared with the stored one (a hash alone
could collide). A text outside the Basic Multilingual Plane makes the joined string 4 bytes a
character. Python's ``hash`` of a ``str`` differs between processes, so the hashes are not
pickled but computed again on load (~0.3 s per million texts).

>>> keys = TextIndex(["和平路12号", "和平苑3栋", "和平路12号"])
>>> keys.get("和平路12号"), keys.get("月球路1号"), keys.key_of(1)
([0, 2], None, '和平苑3栋')
>>> texts = TextColumn(["甲路1号", "乙路2号"])
>>> texts[1], TextRows(texts, [1]).get("乙路2号"), TextRows(texts, [1]).get("甲路1号")
('乙路2号', 1, None)
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

__all__ = ["TextColumn", "TextIndex", "TextRows"]


class TextColumn:
    """Texts by position, held as one joined string and the offsets where each begins and
    ends (an ``array`` of ``int64``: reading one offset makes no numpy scalar)."""

    def __init__(self, texts: Iterable[str]) -> None:
        texts = list(texts)
        self._text = "".join(texts)
        bounds = np.cumsum([0, *(len(t) for t in texts)], dtype=np.int64)
        self._bounds = array("q", bounds.tobytes())

    def __len__(self) -> int:
        return len(self._bounds) - 1

    def __getitem__(self, i: int) -> str:
        return self._text[self._bounds[i] : self._bounds[i + 1]]

    def __iter__(self) -> Iterator[str]:
        text, bounds = self._text, self._bounds
        for start, end in zip(bounds, bounds[1:], strict=False):
            yield text[start:end]

    def hashes(self, positions: np.ndarray) -> np.ndarray:
        """``hash()`` of the texts at ``positions``, as ``int64``."""
        text, bounds = self._text, self._bounds
        return np.fromiter(
            (hash(text[bounds[i] : bounds[i + 1]]) for i in positions.tolist()),
            np.int64,
            len(positions),
        )


class _Hashed:
    """Positions of a :class:`TextColumn` sorted by their texts' hashes (computed again when
    unpickled: ``hash`` of a text differs between processes)."""

    _column: TextColumn
    _positions: np.ndarray

    def _sort(self) -> None:
        """The hashes sorted, their positions, and where each bucket of hashes starts (the
        top bits of the hash, ~4 hashes a bucket): a lookup bisects a few entries in Python
        (~0.3 µs) instead of calling numpy's ``searchsorted`` (~1.3 µs on this machine)."""
        hashes = self._column.hashes(self._positions)
        order = np.argsort(hashes, kind="stable")
        hashes = hashes[order]
        self._hashes = array("q", hashes.tobytes())
        self._by_hash = array("q", self._positions[order].astype(np.int64).tobytes())
        bits = max(len(hashes).bit_length() - 2, 1)
        self._shift = 64 - bits
        # the unsigned order of signed hashes: flip the sign bit
        buckets = (hashes.view(np.uint64) ^ np.uint64(1 << 63)) >> np.uint64(self._shift)
        starts = np.searchsorted(buckets, np.arange(2**bits + 1, dtype=np.uint64))
        self._buckets = array("q", starts.astype(np.int64).tobytes())

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_hashes", "_by_hash", "_shift", "_buckets"):
            del state[name]
        if "_last" in state:
            state["_last"] = (None, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._sort()

    def _find(self, text: str) -> int:
        """The position holding ``text``, else -1."""
        h = hash(text)
        bucket = (h + (1 << 63)) >> self._shift
        hashes, high = self._hashes, self._buckets[bucket + 1]
        at = bisect_left(hashes, h, self._buckets[bucket], high)
        stored, bounds = self._column._text, self._column._bounds
        while at < high and hashes[at] == h:
            position = self._by_hash[at]
            if stored[bounds[position] : bounds[position + 1]] == text:
                return position
            at += 1
        return -1


class TextIndex(_Hashed):
    """Rows by a key text (one key per row; several rows may share a key): ``get(key)`` gives
    the rows (library order) or None, ``key_of(row)`` the row's key."""

    def __init__(self, keys: Sequence[str]) -> None:
        ids: dict[str, int] = {}
        row_key = np.fromiter((ids.setdefault(k, len(ids)) for k in keys), np.int64, len(keys))
        self._column = TextColumn(ids)
        del ids
        wide = len(keys) >= 2**31
        # an array, not numpy: key_of reads one item per exact answer
        self._row_key = array(
            "q" if wide else "i", row_key.astype(np.int64 if wide else np.int32).tobytes()
        )
        order = np.argsort(row_key, kind="stable")
        # arrays, not numpy: a lookup reads two offsets and slices one run of rows
        self._rows = array(
            "q" if wide else "i", order.astype(np.int64 if wide else np.int32).tobytes()
        )
        counts = np.bincount(row_key, minlength=len(self._column))
        self._starts = array("q", np.r_[np.int64(0), np.cumsum(counts, dtype=np.int64)].tobytes())
        self._positions = np.arange(len(self._column), dtype=np.int64 if wide else np.int32)
        self._last: tuple[str | None, list[int] | None] = (None, None)
        self._sort()

    def __len__(self) -> int:
        return len(self._column)

    def get(self, key: str, default: Any = None) -> list[int] | Any:
        """The rows of ``key`` (a list not to be changed), else ``default``. The last key
        asked is kept with its rows: the geocoder asks for a text's key twice."""
        last = self._last
        if last[0] == key:
            return default if last[1] is None else last[1]
        at = self._find(key)
        rows = None if at < 0 else self._rows[self._starts[at] : self._starts[at + 1]].tolist()
        self._last = (key, rows)  # one tuple: a thread never reads one key's rows for another
        return default if rows is None else rows

    def __contains__(self, key: str) -> bool:
        return self._find(key) >= 0

    def key_of(self, row: int) -> str:
        """The key of ``row``."""
        return self._column[self._row_key[row]]

    def unique_rows(self) -> np.ndarray:
        """The rows that are the only row of their key."""
        starts = np.frombuffer(self._starts, np.int64)
        single = np.flatnonzero(np.diff(starts) == 1)
        rows = np.frombuffer(self._rows, np.int64 if self._rows.typecode == "q" else np.int32)
        return np.sort(rows[starts[single]])


class TextRows(_Hashed):
    """Some rows of a :class:`TextColumn` by their text: ``get(text)`` gives the row, or None
    (the rows' texts are distinct)."""

    def __init__(self, column: TextColumn, rows: Iterable[int]) -> None:
        self._column = column
        self._positions = np.fromiter(rows, np.int64)
        self._sort()

    def __len__(self) -> int:
        return len(self._positions)

    def get(self, text: str, default: Any = None) -> int | Any:
        at = self._find(text)
        return default if at < 0 else at

    def __contains__(self, text: str) -> bool:
        return self._find(text) >= 0
