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

import threading
from bisect import bisect_left
from collections import Counter, defaultdict
from typing import Any

import numpy as np

__all__ = ["NamePool"]


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
        self._postings = {  # name ids, how often the character is in each, the most of that
            ch: (np.asarray(ids[ch], np.int64), np.asarray(counts[ch], np.float64), max(counts[ch]))
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

    def _counts(self) -> np.ndarray:
        """This thread's buffer of shared-character counts, one per name, all zero between
        calls: a fresh zeroed array of a city's 12,759 names cost ~40 µs (its pages are
        faulted in anew each time), most of a ``bincount``."""
        counts = getattr(self._local, "counts", None)
        if counts is None:
            counts = self._local.counts = np.zeros(len(self._all))
        return counts

    def mask(self, kind: str, subset: list[str]) -> np.ndarray:
        """``subset`` (names of ``kind``) as a boolean mask over the kind's names."""
        out = np.zeros(len(self.names[kind]), dtype=bool)
        where = self.position[kind]
        out[[where[n] for n in subset]] = True
        return out

    def reachable(
        self, query: str, among: dict[str, np.ndarray | None], cutoff: float
    ) -> dict[str, list[str]]:
        """For each kind of ``among``, its names (all with None, else those its boolean mask
        keeps) whose ``fuzz.ratio`` with ``query`` can reach ``cutoff``, in pool order.

        The postings of the query's characters are added up in one ``np.add.at`` into this
        thread's buffer (zeroed again where they touched it; sums of small integers are exact
        in any order, as ``bincount``'s were), and the names that pass are cut into kinds by
        bisecting their positions (each kind's names are one run of the pool). On a loaded
        machine every numpy call costs microseconds and a fresh zeroed array of a city's names
        tens of them, so both are kept few: two calls per query character before, 60-90 µs a
        query on the demo's and a city's pools; one ``bincount`` of a fresh array and a Python
        pass over the passing names per kind, ~60 µs on a city's; ~40 µs now."""
        ids, weights = [], []
        for ch, k in Counter(query).items():
            posting = self._postings.get(ch)
            if posting is not None:
                ids.append(posting[0])
                weights.append(posting[1] if k >= posting[2] else np.minimum(posting[1], k))
        if not ids:
            return {kind: [] for kind in among}
        ids, weights = np.concatenate(ids), np.concatenate(weights)
        shared = self._counts()
        np.add.at(shared, ids, weights)
        try:
            found = np.flatnonzero(shared >= self._needed(cutoff, len(query))).tolist()
        finally:
            shared[ids] = 0.0
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
        cutoff up to float rounding (memoized per cutoff and length)."""
        key = (cutoff, length)
        found = self._thresholds.get(key)
        if found is None:
            found = (cutoff - 1e-6) / 200.0 * (length + self._lengths)
            self._thresholds[key] = found
        return found
