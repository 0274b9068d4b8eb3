"""The names a fuzzy query can reach: rapidfuzz then compares the query with those only.

On a city's library (6,500 roads, 5,900 小区 on Nanjing's eleven districts) ``process.extract``
over every name was three quarters of a fuzzy geocode. Most names share too few characters with
the query to reach the score cutoff at all, and that can be counted without comparing: rapidfuzz's
``fuzz.ratio`` is ``200 · LCS / (len₁ + len₂)``, and a longest common subsequence holds no more
of a character than either string does. So a name passes when
``200 · Σ_c min(count_query(c), count_name(c)) ≥ cutoff · (len₁ + len₂)``; the names that do
not pass would have scored below the cutoff, and the ones that pass keep their order, so
``process.extract`` returns the same names, scores and tie order as over the whole pool.

>>> pool = NamePool({"road": ["尧佳路", "尧新路", "仙林大道", "学衡路"], "xq": ["佳园"]})
>>> pool.reachable("尧家路", {"road": None, "xq": None}, 55.0)
{'road': ['尧佳路', '尧新路'], 'xq': []}
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections import Counter, defaultdict
from typing import Any

import numpy as np

__all__ = ["NamePool"]

#: Up to this many names holding the query's rarest characters are counted one by one
_FEW_SEEDS = 32


class NamePool:
    """Character postings over every kind's names (each kind kept in the caller's order), so
    one pass over the postings serves all the kinds a query is compared with."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.position = {kind: {n: i for i, n in enumerate(ns)} for kind, ns in names.items()}
        everything = [n for ns in names.values() for n in ns]
        starts = np.cumsum([0, *(len(ns) for ns in names.values())])
        self._offset = dict(zip(names, starts[:-1].tolist(), strict=True))
        self._all = everything
        self._lengths = np.fromiter((len(n) for n in everything), np.float64, len(everything))
        ids: dict[str, list[int]] = defaultdict(list)
        counts: dict[str, list[int]] = defaultdict(list)
        for i, name in enumerate(everything):
            for ch, k in Counter(name).items():
                ids[ch].append(i)
                counts[ch].append(k)
        self._thresholds: dict[tuple[float, int], np.ndarray] = {}
        self._plans: dict[tuple[float, int], tuple[int | None, dict[int, float]]] = {}
        self._name_lengths = np.unique(self._lengths)
        self._dtype = _count_type(self._lengths)
        self._postings = {  # name ids, how often the character is in each, the most of that
            ch: (
                np.asarray(ids[ch], np.int32),
                np.asarray(counts[ch], self._dtype),
                max(counts[ch]),
            )
            for ch in ids
        }
        self._local = threading.local()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the per-thread count buffers."""
        state = self.__dict__.copy()
        del state["_local"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()
        if "_dtype" not in self.__dict__:  # a pool pickled before counts were integers
            self._plans, self._thresholds = {}, {}
            self._name_lengths = np.unique(self._lengths)
            self._dtype = _count_type(self._lengths)
            self._postings = {
                ch: (ids.astype(np.int32), counts.astype(self._dtype), most)
                for ch, (ids, counts, most) in self._postings.items()
            }

    def _counts(self) -> np.ndarray:
        """This thread's buffer of shared-character counts, one per name, all zero between
        calls: a fresh zeroed array of a city's 12,759 names cost ~40 µs (its pages are
        faulted in anew each time), most of a ``bincount``."""
        counts = getattr(self._local, "counts", None)
        if counts is None:
            counts = self._local.counts = np.zeros(len(self._all), self._dtype)
        return counts

    def mask(self, kind: str, subset: list[str]) -> np.ndarray:
        """``subset`` (names of ``kind``) as a boolean mask over the kind's names."""
        out = np.zeros(len(self.names[kind]), dtype=bool)
        where = self.position[kind]
        out[[where[n] for n in subset]] = True
        return out

    def reachable(
        self, query: str, among: dict[str, np.ndarray | bytes | None], cutoff: float
    ) -> dict[str, list[str]]:
        """For each kind of ``among``, its names (all with None, else those its boolean mask
        keeps: a numpy bool array or ``bytes`` of 0 and 1) whose ``fuzz.ratio`` with ``query``
        can reach ``cutoff``, in pool order.

        A name that passes shares at least ``least`` characters with the query (the fewest any
        name length allows), so it holds one of any set of the query's characters that make up
        ``len(query) - least + 1`` of its characters: the names holding the query's rarest
        such characters are the only candidates. When they are few (a homophone's cutoff of 87
        lets a three-character query reach only names of three characters sharing all three:
        one name holding its rarest character, often none) each is counted in Python; else the
        postings of every query character are added up over the whole pool
        (:meth:`_count_all`). The same names either way: 34-36 against 26-28 µs a call on a
        city's fuzzy batch (load 2.6)."""
        chars = list(Counter(query).items())
        least, needed = self._plan(cutoff, len(query))
        if least is None:  # no name length can reach the cutoff
            return {kind: [] for kind in among}
        seeds = self._seeds(chars, len(query) - least + 1)
        if seeds is None:
            found = self._count_all(chars, cutoff, len(query))
        else:
            found = self._count_few(seeds, chars, needed)
        return self._by_kind(found, among)

    def _plan(self, cutoff: float, length: int) -> tuple[int | None, dict[int, float]]:
        """``(least, needed)`` for a query of ``length``: ``needed`` maps each name length
        that can reach ``cutoff`` to the shared characters it needs (the bound of
        :meth:`_needed`, the same floats), ``least`` is the fewest of them rounded up (None
        when no length can: a name shares at most ``min(length, its length)``). Memoized."""
        key = (cutoff, length)
        found = self._plans.get(key)
        if found is None:
            bound = ((cutoff - 1e-6) / 200.0 * (length + self._name_lengths)).tolist()
            needed = {
                m: b
                for m, b in zip(self._name_lengths.astype(int).tolist(), bound, strict=True)
                if b <= min(length, m)
            }
            least = min((math.ceil(b) for b in needed.values()), default=None)
            found = self._plans[key] = (least, needed)
        return found

    def _seeds(self, chars: list[tuple[str, int]], cover: int) -> list[np.ndarray] | None:
        """The postings of the query's rarest characters making up ``cover`` of its
        characters (a character in no name needs none), or None when they hold more than
        :data:`_FEW_SEEDS` names."""
        postings, seeds, size = self._postings, [], 0
        for ch, k in sorted(chars, key=lambda t: self._posting_size(t[0])):
            if cover <= 0:
                break
            posting = postings.get(ch)
            if posting is not None:
                size += len(posting[0])
                if size > _FEW_SEEDS:
                    return None
                seeds.append(posting[0])
            cover -= k
        return seeds

    def _posting_size(self, ch: str) -> int:
        posting = self._postings.get(ch)
        return 0 if posting is None else len(posting[0])

    def _count_few(
        self, seeds: list[np.ndarray], chars: list[tuple[str, int]], needed: dict[int, float]
    ) -> list[int]:
        """The names of the seeds' postings that share enough characters, counted one by one
        (pool positions, sorted)."""
        names, found = self._all, []
        for i in sorted({i for seed in seeds for i in seed.tolist()}):
            name = names[i]
            bound = needed.get(len(name))
            if bound is not None and sum(min(k, name.count(ch)) for ch, k in chars) >= bound:
                found.append(i)
        return found

    def _count_all(self, chars: list[tuple[str, int]], cutoff: float, length: int) -> list[int]:
        """The names that share enough characters, counted over the whole pool: the postings
        of the query's characters are added up in one ``np.add.at`` into this thread's buffer
        (zeroed whole after the call: 25 KB of ``uint16`` for a city, where zeroing 100 KB of
        float64 where the postings touched it cost more; sums of integers are exact in any
        order, as ``bincount``'s were). On a loaded machine every numpy call costs
        microseconds and a fresh zeroed array of a city's names tens of them, so both are kept
        few (``nonzero`` as a method: ``np.flatnonzero`` is three Python calls)."""
        ids, weights = [], []
        for ch, k in chars:
            posting = self._postings.get(ch)
            if posting is not None:
                ids.append(posting[0])
                weights.append(posting[1] if k >= posting[2] else np.minimum(posting[1], k))
        if not ids:
            return []
        ids, weights = np.concatenate(ids), np.concatenate(weights)
        shared = self._counts()
        np.add.at(shared, ids, weights)
        try:
            return (shared >= self._needed(cutoff, length)).nonzero()[0].tolist()
        finally:
            shared.fill(0)

    def _by_kind(
        self, found: list[int], among: dict[str, np.ndarray | bytes | None]
    ) -> dict[str, list[str]]:
        """The passing pool positions cut into kinds by bisecting (each kind's names are one
        run of the pool), kept where the kind's mask says."""
        out = {}
        for kind, keep in among.items():
            start, names = self._offset[kind], self.names[kind]
            low = bisect_left(found, start)
            high = bisect_left(found, start + len(names), low)
            if keep is None:
                out[kind] = [names[i - start] for i in found[low:high]]
            else:
                out[kind] = [names[i - start] for i in found[low:high] if keep[i - start]]
        return out

    def _needed(self, cutoff: float, length: int) -> np.ndarray:
        """The shared characters each name needs to reach ``cutoff`` with a query of
        ``length``: 200·shared ≥ cutoff·(len₁ + len₂), the 1e-6 keeping a bound equal to the
        cutoff up to float rounding; a count is an integer, so it reaches the bound when it
        reaches the bound rounded up (memoized per cutoff and length, in the counts' type:
        a bound past its largest value is one no name reaches, being shorter)."""
        key = (cutoff, length)
        found = self._thresholds.get(key)
        if found is None:
            bound = np.ceil((cutoff - 1e-6) / 200.0 * (length + self._lengths))
            top = 2**16 - 1 if self._dtype == np.uint16 else 2**53  # exact as floats
            found = np.minimum(bound, top).astype(self._dtype)
            self._thresholds[key] = found
        return found


def _count_type(lengths: np.ndarray) -> type:
    """The integer type of shared-character counts: ``uint16`` (a name shares at most its
    length, and a buffer of a city's names is then 25 KB where float64 was 100 KB, zeroed
    whole after each call), ``int64`` for a name of 65,535 characters or more."""
    return np.uint16 if len(lengths) == 0 or lengths.max() < 2**16 - 1 else np.int64
