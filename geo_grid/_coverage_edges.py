"""Boundary segments as hashed keys: which edges are shared, free, or line a parent from inside.

Why hashing: in a layer whose neighbours share vertices (what GEOS's edge check proves for every
unflagged grid), a shared edge is the same segment drawn twice in opposite directions, and an edge
of the union is a segment whose reverse nobody draws. Comparing 64-bit keys of exact coordinates
finds both in one vectorized pass, where an overlay (union, difference, ``covers``) would re-node
millions of vertices to learn the same thing. Rings are oriented with the interior on the right
(shells clockwise, holes counter-clockwise, as ``shapely.normalize`` would), so a segment also says
on which side its polygon lies.

Lookups sort the keys once and search sorted queries (sequential memory access): on millions of
keys a hash table or ``np.isin`` spends its time on cache misses.

>>> import shapely
>>> a, b = shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)
>>> seg = Segments.of([a, b])
>>> len(seg), int(seg.free().sum())
(8, 6)
>>> shapely.area(union_faces(seg, seg.free())).tolist()
[2.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

__all__ = ["Segments", "edge_drawn", "isin", "union_faces"]

_C1, _C2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(z: NDArray) -> NDArray:
    """splitmix64's finalizer: every input bit reaches every output bit (round coordinates such
    as 380000.0 have 40 zero low bits, which a plain multiply would keep)."""
    z = (z ^ (z >> np.uint64(30))) * _C1
    z = (z ^ (z >> np.uint64(27))) * _C2
    return z ^ (z >> np.uint64(31))


def _point_keys(xy: NDArray) -> NDArray:
    """64-bit key of each point from the bits of its two coordinates."""
    bits = np.ascontiguousarray(xy, dtype=np.float64).view(np.uint64).reshape(-1, 2)
    return _mix(bits[:, 0] * _GOLDEN + bits[:, 1])


def _rotl(z: NDArray) -> NDArray:
    return (z << np.uint64(21)) | (z >> np.uint64(43))


def _segment_keys(pa: NDArray, pb: NDArray) -> NDArray:
    """Key of the directed segment a→b from its end points' keys (the rotation orders them)."""
    return _rotl(pa) ^ pb


def isin(values: NDArray, pool: NDArray, *, pool_sorted: NDArray | None = None) -> NDArray:
    """``np.isin`` for 64-bit keys: both sorted, sorted queries searched, then the answer mapped
    back through whichever of the found / not-found value sets is smaller."""
    if len(values) == 0 or len(pool) == 0:
        return np.zeros(len(values), dtype=bool)
    pool_sorted = np.sort(pool) if pool_sorted is None else pool_sorted
    asked = np.unique(values)
    at = np.minimum(np.searchsorted(pool_sorted, asked), len(pool_sorted) - 1)
    hit = pool_sorted[at] == asked
    if hit.sum() <= len(asked) // 2:
        return _member(values, asked[hit])
    return ~_member(values, asked[~hit])


def _member(values: NDArray, small_sorted: NDArray) -> NDArray:
    """``values`` in a small sorted array (binary search stays in cache)."""
    if len(small_sorted) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(small_sorted, values), len(small_sorted) - 1)
    return small_sorted[at] == values


def _once(keys: NDArray) -> NDArray:
    """Sorted values occurring exactly once in ``keys``."""
    s = np.sort(keys)
    if len(s) < 2:
        return s
    differs = s[1:] != s[:-1]
    alone = np.r_[True, differs] & np.r_[differs, True]
    return s[alone]


@dataclass
class Segments:
    """Every boundary segment of an array of polygons: end points, owner, directed keys."""

    xy: NDArray  # all ring coordinates
    ia: NDArray  # start of each segment (index into xy)
    ib: NDArray  # end of each segment
    owner: NDArray  # index of the polygon in the input array
    key: NDArray  # directed key a→b
    back: NDArray  # key of the reverse b→a
    _cache: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.owner)

    @classmethod
    def of(cls, geoms) -> Segments:
        """Segments of (multi)polygons, interior on the right; None and empty ones have none."""
        arr = np.asarray(geoms, dtype=object)
        parts, part_of = shapely.get_parts(arr, return_index=True)
        rings, ring_of = shapely.get_rings(parts, return_index=True)
        first = np.r_[True, ring_of[1:] != ring_of[:-1]]  # a polygon's first ring is its shell
        flip = shapely.is_ccw(rings) == first  # shells must run clockwise, holes anti-clockwise
        xy, at = shapely.get_coordinates(rings, return_index=True)
        pk = _point_keys(xy)
        i = np.flatnonzero((at[:-1] == at[1:]) & (pk[:-1] != pk[1:]))
        ring = at[i]
        swap = flip[ring]
        ia, ib = np.where(swap, i + 1, i), np.where(swap, i, i + 1)
        pa, pb = pk[ia], pk[ib]
        owner = part_of[ring_of[ring]]
        return cls(xy, ia, ib, owner, _segment_keys(pa, pb), _segment_keys(pb, pa))

    def subset(self, mask: NDArray) -> Segments:
        return Segments(
            self.xy,
            self.ia[mask],
            self.ib[mask],
            self.owner[mask],
            self.key[mask],
            self.back[mask],
        )

    def of_owners(self, owners: NDArray) -> Segments:
        """The segments of the polygons ``owners`` (indices)."""
        table = np.zeros(int(self.owner.max(initial=-1)) + 1, dtype=bool)
        table[owners[owners < len(table)]] = True
        return self.subset(table[self.owner]) if len(table) else self

    def free(self) -> NDArray:
        """Segments drawn once, in either direction: the edges of the union (valid coverage)."""
        undirected = self.key ^ self.back
        return _member(undirected, _once(undirected))

    def sorted_key(self) -> NDArray:
        """The directed keys, sorted (once)."""
        if "sorted" not in self._cache:
            self._cache["sorted"] = np.sort(self.key)
        return self._cache["sorted"]

    def same_side(self) -> NDArray:
        """Segments another polygon draws the same way (mask)."""
        s = self.sorted_key()
        return _member(self.key, np.unique(s[1:][s[1:] == s[:-1]]))

    def found_in(self, other: Segments) -> NDArray:
        """Segments ``other`` draws the same way (its polygon on the same side)."""
        return isin(self.key, other.key, pool_sorted=other.sorted_key())

    def lines(self, mask: NDArray | None = None) -> NDArray:
        """The segments (or those under ``mask``) as two-point LineStrings."""
        ia = self.ia if mask is None else self.ia[mask]
        ib = self.ib if mask is None else self.ib[mask]
        coords = np.stack([self.xy[ia], self.xy[ib]], axis=1).reshape(-1, 2)
        return shapely.linestrings(coords, indices=np.repeat(np.arange(len(ia)), 2))

    def frame(self) -> pd.DataFrame:
        """``key``/``owner`` rows, for joins on small subsets."""
        return pd.DataFrame({"key": self.key, "grid": self.owner})


def edge_drawn(a: NDArray, b: NDArray, seg: Segments) -> NDArray:
    """Whether each directed segment ``a[k]→b[k]`` is drawn, the same way, in ``seg``."""
    return isin(_segment_keys(_point_keys(a), _point_keys(b)), seg.key)


def union_faces(seg: Segments, free: NDArray) -> NDArray:
    """Faces enclosed by the free segments: the union's polygons and its holes, each a face.

    Free segments of polygons that share their vertices meet only at vertices, so they are noded
    already and ``polygonize`` needs no overlay. Consecutive free segments of a ring are joined
    into one line first (breaking where more than two free segments meet), so ``polygonize``
    gets a few long lines instead of every segment. A hole with an island comes out as the hole
    minus the island, and the island as its own face.
    """
    if not free.any():
        return np.empty(0, dtype=object)
    return shapely.get_parts(shapely.polygonize(_runs(seg.subset(free))))


def _runs(seg: Segments) -> NDArray:
    """Chains of consecutive segments (same ring, sharing an end point of degree two)."""
    lo = np.minimum(seg.ia, seg.ib)
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], np.maximum(seg.ia, seg.ib)[order]
    ends = _point_keys(seg.xy[np.r_[lo, hi]])
    busy = _repeated_more_than(ends, 2)
    joined = (lo[1:] == hi[:-1]) & ~_member(_point_keys(seg.xy[lo[1:]]), busy)
    run = np.r_[0, np.cumsum(~joined)]
    starts = np.flatnonzero(np.r_[True, ~joined])
    coords_idx = np.concatenate([lo, hi[np.r_[starts[1:] - 1, len(lo) - 1]]])
    coords_run = np.concatenate([run, run[np.r_[starts[1:] - 1, len(lo) - 1]]])
    position = np.concatenate([np.arange(len(lo)), np.r_[starts[1:] - 1, len(lo) - 1] + 0.5])
    order = np.lexsort((position, coords_run))
    return shapely.linestrings(seg.xy[coords_idx[order]], indices=coords_run[order])


def _repeated_more_than(keys: NDArray, n: int) -> NDArray:
    """Sorted values occurring more than ``n`` times."""
    s = np.sort(keys)
    if len(s) <= n:
        return s[:0]
    same = s[n:] == s[:-n]
    return np.unique(s[n:][same])
