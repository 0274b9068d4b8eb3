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

from collections import Counter, defaultdict

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

        The postings of the query's characters are counted in one ``bincount`` and the few
        names that pass are sorted into kinds in Python: on a loaded machine every numpy call
        costs microseconds, so the calls are kept few (two per query character before: 60-90
        µs a query on the demo's and a city's pools, 25-35 µs now)."""
        ids, weights = [], []
        for ch, k in Counter(query).items():
            posting = self._postings.get(ch)
            if posting is not None:
                ids.append(posting[0])
                weights.append(posting[1] if k >= posting[2] else np.minimum(posting[1], k))
        if not ids:
            return {kind: [] for kind in among}
        shared = np.bincount(
            np.concatenate(ids), weights=np.concatenate(weights), minlength=len(self._all)
        )
        found = np.flatnonzero(shared >= self._needed(cutoff, len(query))).tolist()
        out = {}
        for kind, keep in among.items():
            start, names = self._offset[kind], self.names[kind]
            end = start + len(names)
            out[kind] = [
                names[i - start]
                for i in found
                if start <= i < end and (keep is None or keep[i - start])
            ]
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
