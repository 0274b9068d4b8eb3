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
>>> rings, clockwise = boundary_rings(seg, seg.free())
>>> shapely.area(shapely.polygons(rings)).tolist(), clockwise.tolist()
([2.0], [True])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

__all__ = [
    "Segments",
    "boundary_rings",
    "components",
    "edge_drawn",
    "isin",
    "lookup",
    "multilines",
    "occurs_once",
    "spans",
]

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


def spans(lo: NDArray, hi: NDArray) -> tuple[NDArray, NDArray]:
    """``(k, at)``: every position ``lo[k] <= at < hi[k]``, with its ``k``, runs in order. What
    a lookup of many keys in a sorted array by ``searchsorted`` (left, right) finds, flattened
    without a Python loop.

    >>> k, at = spans(np.array([2, 5, 0]), np.array([4, 5, 1]))
    >>> k.tolist(), at.tolist()
    ([0, 0, 2], [2, 3, 0])
    """
    count = hi - lo
    k = np.repeat(np.arange(len(lo)), count)
    at = np.repeat(lo - np.cumsum(np.r_[0, count[:-1]]), count) + np.arange(count.sum())
    return k, at


def components(n: int, a: NDArray, b: NDArray) -> NDArray:
    """Connected-component label of each of ``n`` nodes linked by edges ``a[k]-b[k]`` (min-label
    propagation with pointer jumping: a handful of vectorized rounds for gap clusters, grids
    meeting in a hole, and the grids of a parent joined by their shared edges in
    :mod:`geo_grid.coverage.nesting`); a label is its component's smallest node.

    >>> components(4, np.array([2]), np.array([3])).tolist()
    [0, 1, 2, 2]
    """
    label = np.arange(n)
    while True:
        before = label.copy()
        low = np.minimum(label[a], label[b])
        np.minimum.at(label, a, low)
        np.minimum.at(label, b, low)
        label = label[label]
        if np.array_equal(label, before):
            return label


def isin(values: NDArray, pool: NDArray, *, pool_sorted: NDArray | None = None) -> NDArray:
    """``np.isin`` for 64-bit keys: the queries are put in (nearly) sorted order by
    :func:`_high_order` and searched in the sorted pool, so the binary searches walk the pool
    in order instead of jumping around it, and the answers go back by the same order."""
    if len(values) == 0 or len(pool) == 0:
        return np.zeros(len(values), dtype=bool)
    pool_sorted = np.sort(pool) if pool_sorted is None else pool_sorted
    order, _ = _high_order(values)
    asked = values[order]
    at = np.minimum(np.searchsorted(pool_sorted, asked), len(pool_sorted) - 1)
    out = np.empty(len(values), dtype=bool)
    out[order] = pool_sorted[at] == asked
    return out


def lookup(pool_sorted: NDArray, keys: NDArray) -> tuple[NDArray, NDArray]:
    """``searchsorted`` left and right of each of ``keys`` in ``pool_sorted`` (64-bit keys),
    the keys asked in the order of their high bits (:func:`_high_order`): binary searches for
    keys in random order jump around the pool (two lookups of 7,900 keys: 1.9 against 0.4 ms).

    >>> lo, hi = lookup(np.array([3, 5, 5, 9], dtype=np.uint64), np.array([5, 4], dtype=np.uint64))
    >>> lo.tolist(), hi.tolist()
    ([1, 1], [3, 1])
    """
    order, _ = _high_order(keys)
    asked = keys[order]
    lo, hi = np.empty(len(keys), dtype=np.intp), np.empty(len(keys), dtype=np.intp)
    lo[order] = np.searchsorted(pool_sorted, asked, "left")
    hi[order] = np.searchsorted(pool_sorted, asked, "right")
    return lo, hi


def _high_order(keys: NDArray) -> tuple[NDArray, NDArray]:
    """An order of ``keys`` sorted by their high bits, and those high bits in that order.

    One sort of 64-bit words that carry the key's high bits and the element's index in the low
    bits: an argsort at the price of a sort (numpy's argsort of millions of keys costs several
    times its sort), after which no lookup jumps around memory. Keys equal in their high bits
    but not in full are rare and left for the caller to tell apart."""
    n = len(keys)
    low = np.uint64((1 << max(1, (n - 1).bit_length())) - 1)
    packed = (keys & ~low) | np.arange(n, dtype=np.uint64)
    packed.sort()
    return (packed & low).astype(np.intp), packed & ~low


def occurs_once(keys: NDArray) -> NDArray:
    """Mask of the keys occurring exactly once in ``keys``.

    Keys are grouped by their high bits (:func:`_high_order`); in a group of two the full keys
    are compared, and the rare groups of three or more (a segment drawn by three grids, or high
    bits shared by chance) are counted exactly on their own.

    >>> occurs_once(np.array([5, 9, 5, 7], dtype=np.uint64)).tolist()
    [False, True, False, True]
    """
    n = len(keys)
    if n < 2:
        return np.ones(n, dtype=bool)
    idx, high = _high_order(keys)
    out = np.empty(n, dtype=bool)
    out[idx] = _once_in_order(keys, idx, high)
    return out


def _once_in_order(keys: NDArray, idx: NDArray, high: NDArray) -> NDArray:
    """Whether each of ``keys[idx]`` occurs once among them, ``high`` sorted and equal for
    equal keys (:func:`_high_order`'s order, or a subsequence of it)."""
    n = len(idx)
    if n < 2:
        return np.ones(n, dtype=bool)
    full = keys[idx]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(high[1:], high[:-1], out=new[1:])
    start = np.flatnonzero(new)
    size = np.diff(np.r_[start, n])
    per = np.repeat(size, size)
    once = per == 1
    pair = start[size == 2]
    apart = pair[full[pair] != full[pair + 1]]
    once[apart] = once[apart + 1] = True
    crowd = np.flatnonzero(per >= 3)
    if len(crowd):
        _, inverse, counts = np.unique(full[crowd], return_inverse=True, return_counts=True)
        once[crowd] = counts[inverse] == 1
    return once


@dataclass
class Segments:
    """Every boundary segment of an array of polygons: end points, owner, directed keys."""

    xy: NDArray  # all ring coordinates
    ia: NDArray  # start of each segment (index into xy)
    ib: NDArray  # end of each segment
    owner: NDArray  # index of the polygon in the input array
    key: NDArray  # directed key a→b
    back: NDArray  # key of the reverse b→a
    #: the polygons' rings, the polygon of each, and the polygons with a repeated point (a
    #: zero-length segment, left out above); only on what :meth:`of` built, not on subsets
    rings: NDArray | None = field(default=None, repr=False)
    ring_owner: NDArray | None = field(default=None, repr=False)
    repeated: NDArray | None = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.owner)

    @classmethod
    def of(cls, geoms, *, valid: bool = False) -> Segments:
        """Segments of (multi)polygons, interior on the right; None and empty ones have none.

        ``valid``: the polygons are valid (their rings do not cross themselves), so a small
        one-ring polygon's orientation can come from its signed area (:func:`_simple_rings`).
        """
        arr = np.asarray(geoms, dtype=object)
        xy, pk, at, flip, rings, ring_owner = _ring_table(arr, valid)
        same_ring = at[:-1] == at[1:]
        i = np.flatnonzero(same_ring & (pk[:-1] != pk[1:]))
        ring = at[i]
        swap = flip[ring]
        ia, ib = np.where(swap, i + 1, i), np.where(swap, i, i + 1)
        pa, pb = pk[ia], pk[ib]
        owner = ring_owner[ring]
        repeated = np.unique(ring_owner[at[:-1][same_ring & (pk[:-1] == pk[1:])]])
        keys = _segment_keys(pa, pb), _segment_keys(pb, pa)
        return cls(xy, ia, ib, owner, *keys, rings, ring_owner, repeated)

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
        return self.free_among(np.ones(len(self), dtype=bool))

    def free_among(self, mask: NDArray) -> NDArray:
        """:meth:`free` of the segments under ``mask`` among themselves (False elsewhere), from
        the grouping of all segments by undirected key that :meth:`matched` made: the clean
        grids' free segments of the 10 % layer, 2.3 ms by a subset and its own grouping.

        >>> seg = Segments.of([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
        >>> int(seg.free_among(seg.owner == 0).sum()), int(seg.free_among(seg.owner >= 0).sum())
        (4, 6)
        """
        idx, high = self._grouping()
        keep = mask[idx]
        idx = idx[keep]
        out = np.zeros(len(self), dtype=bool)
        out[idx] = _once_in_order(self.key ^ self.back, idx, high[keep])
        return out

    def _grouping(self) -> tuple[NDArray, NDArray]:
        """The segments in the order of their undirected keys' high bits (:func:`_high_order`),
        and those high bits, computed once."""
        if "grouping" not in self._cache:
            self._cache["grouping"] = _high_order(self.key ^ self.back)
        return self._cache["grouping"]

    def matched(self) -> NDArray:
        """Segments another polygon draws the other way and no other polygon the same way: the
        segments GEOS's coverage validator matches, and so never marks invalid, in the polygon
        that draws them.

        >>> seg = Segments.of([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
        >>> int(seg.matched().sum()), int(Segments.of([shapely.box(0, 0, 1, 1)] * 2).matched().sum())
        (2, 0)

        Computed once per ``Segments`` (the suspects and the check's edges both ask): do not
        modify the returned mask.
        """
        return self._pairing()[0]

    def _pairing(self) -> tuple[NDArray, NDArray]:
        """:meth:`matched` and :meth:`same_side`, from one grouping of the segments by their
        undirected key (a segment and its twins and reverses share it), computed once."""
        if "pairing" not in self._cache:
            n = len(self)
            matched, same = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
            if n >= 2:
                self._pair_up(matched, same)
            matched.flags.writeable = same.flags.writeable = False
            self._cache["pairing"] = matched, same
        return self._cache["pairing"]

    def _pair_up(self, matched: NDArray, same: NDArray) -> None:
        """Fill :meth:`matched` and :meth:`same_side`; keep the pairs of two segments drawn
        each way by two polygons (:meth:`matched_pairs`)."""
        n = len(self)
        idx, high = self._grouping()
        start = np.flatnonzero(np.r_[True, high[1:] != high[:-1]])
        size = np.diff(np.r_[start, n])
        pair = start[size == 2]
        a, b = idx[pair], idx[pair + 1]
        ok = self._reversed(a, b) & (self.owner[a] != self.owner[b])
        matched[a[ok]] = matched[b[ok]] = True
        self._cache["pairs"] = a[ok], b[ok]
        twin = self.key[a] == self.key[b]
        same[a[twin]] = same[b[twin]] = True
        crowd = idx[np.repeat(size > 2, size)]  # drawn three times or more: rare
        if len(crowd):
            matched[crowd], same[crowd] = self._matched_among(crowd)

    def _matched_among(self, group: NDArray) -> tuple[NDArray, NDArray]:
        """:meth:`matched` and :meth:`same_side` for segments whose reverses and twins are all
        in ``group``."""
        order = group[np.argsort(self.key[group], kind="stable")]
        keys = self.key[order]
        lo, hi = (
            np.searchsorted(keys, self.key[group], "left"),
            np.searchsorted(keys, self.key[group], "right"),
        )
        rlo, rhi = (
            np.searchsorted(keys, self.back[group], "left"),
            np.searchsorted(keys, self.back[group], "right"),
        )
        mine, at = spans(rlo, rhi)
        a, b = group[mine], order[at]
        ok = self._reversed(a, b) & (self.owner[a] != self.owner[b])
        found = np.zeros(len(group), dtype=bool)
        found[mine[ok]] = True
        return found & (hi - lo == 1), hi - lo > 1

    def _reversed(self, a: NDArray, b: NDArray) -> NDArray:
        """Whether segment ``b[k]`` runs from the end of ``a[k]`` to its start."""
        return self.key[a] == self.back[b]

    def shapes(self, n: int) -> NDArray:
        """An order-free 64-bit signature of the directed segments of each polygon ``0..n-1``
        (0 for none): polygons drawing the same segments the same way (a duplicated grid; a
        hole and the grid filling it) have the same one, others differ but by chance.

        >>> a, b = shapely.box(0, 0, 1, 1), shapely.Polygon([(1, 1), (1, 0), (0, 0), (0, 1)])
        >>> sig = Segments.of([a, b, shapely.box(0, 0, 2, 1)]).shapes(3)
        >>> bool(sig[0] == sig[1]), bool(sig[0] == sig[2])
        (True, False)
        """
        if ("shapes", n) in self._cache:
            return self._cache["shapes", n]
        out = np.zeros(n, dtype=np.uint64)
        if len(self):
            start = np.flatnonzero(np.r_[True, self.owner[1:] != self.owner[:-1]])
            if (np.diff(self.owner) >= 0).all():  # as :meth:`of` makes them
                out[self.owner[start]] = np.add.reduceat(_mix(self.key), start)
            else:
                np.add.at(out, self.owner, _mix(self.key))
        out.flags.writeable = False  # computed once (the overlaps and the gaps both ask)
        self._cache["shapes", n] = out
        return out

    def sorted_key(self) -> NDArray:
        """The directed keys, sorted (once)."""
        if "sorted" not in self._cache:
            self._cache["sorted"] = np.sort(self.key)
        return self._cache["sorted"]

    def same_side(self) -> NDArray:
        """Segments another polygon draws the same way (mask; computed once per ``Segments``
        with :meth:`matched`, as the suspects and the overlap candidates both ask: do not
        modify it).

        >>> box = shapely.box(0, 0, 1, 1)
        >>> Segments.of([box, box, shapely.box(1, 0, 2, 1)]).same_side().astype(int).tolist()
        [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
        """
        return self._pairing()[1]

    def matched_pairs(self, mask: NDArray) -> tuple[NDArray, NDArray]:
        """``(a, b)`` index pairs of segments under ``mask`` drawn each way by two polygons and
        by no other (the edges two polygons share), from the grouping :meth:`matched` made.
        A segment drawn three times or more, or sharing its key's high bits with another, is
        left out (rare; callers only lose an edge).

        >>> seg = Segments.of([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
        >>> a, b = seg.matched_pairs(np.ones(len(seg), dtype=bool))
        >>> sorted([int(seg.owner[a][0]), int(seg.owner[b][0])])
        [0, 1]
        """
        self._pairing()
        a, b = self._cache.get("pairs", (np.zeros(0, dtype=np.intp),) * 2)
        keep = mask[a] & mask[b]
        return a[keep], b[keep]

    def found_in(self, other: Segments) -> NDArray:
        """Segments ``other`` draws the same way (its polygon on the same side)."""
        return isin(self.key, other.key, pool_sorted=other.sorted_key())

    def index_of(self, a: NDArray, b: NDArray) -> NDArray:
        """Index of a segment drawn ``a[k]→b[k]`` (-1: none), e.g. which polygon a ring walked
        from these segments came from; the first such segment where several are.

        The few asked keys are sorted and every segment's key looked up in them, the segments
        taken in the order of their keys' high bits (:func:`_high_order`), which keeps the
        binary searches in step: a stable argsort of the segments' keys and a lookup cost 1.1
        ms for the 10 % layer's walked holes (14,000 segments, 400 asked).

        >>> seg = Segments.of([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)])
        >>> seg.owner[seg.index_of(np.array([[1.0, 1.0]]), np.array([[1.0, 0.0]]))].tolist()
        [0]
        """
        keys = _segment_keys(_point_keys(np.asarray(a, float)), _point_keys(np.asarray(b, float)))
        n = len(self)
        if n == 0 or len(keys) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        asked = np.sort(keys)
        idx, _ = _high_order(self.key)
        mine = self.key[idx]
        pos = np.minimum(np.searchsorted(asked, mine), len(asked) - 1)
        hit = asked[pos] == mine
        found = np.full(len(asked), n, dtype=np.int64)  # leftmost position of a key: its first
        np.minimum.at(found, pos[hit], idx[hit])
        out = found[np.searchsorted(asked, keys)]
        out[out == n] = -1
        return out

    def lines(self, mask: NDArray | None = None) -> NDArray:
        """The segments (or those under ``mask``) as two-point LineStrings."""
        ia = self.ia if mask is None else self.ia[mask]
        ib = self.ib if mask is None else self.ib[mask]
        # one (n, 2, 2) array, no ragged indices: 2.2 -> 1.5 ms for 8,926 open segments
        return shapely.linestrings(np.stack([self.xy[ia], self.xy[ib]], axis=1))

    def frame(self) -> pd.DataFrame:
        """``key``/``owner`` rows, for joins on small subsets."""
        return pd.DataFrame({"key": self.key, "grid": self.owner})


#: A valid polygon with more coordinates than this keeps GEOS's rings: the numpy passes over its
#: coordinates cost more than copying its few rings out (China's 2,875 districts, 4.2 million
#: coordinates: 510 ms for the table with numpy's, 350 ms with GEOS's).
_SMALL = 64


def _ring_table(arr: NDArray, valid: bool) -> tuple[NDArray, ...]:
    """The rings of polygons ``arr`` in order: their coordinates and point keys, the ring of each
    coordinate, whether each ring must be reversed (shells run clockwise, holes anti-clockwise),
    the rings (None where not built) and the polygon of each ring.

    With ``valid`` (multi)polygons, a small one whose coordinates come back to the first only
    at the end has one ring (a valid ring does not touch itself; a second ring would close on
    its own first point), and no ring is built for it: copying every grid's part and ring out
    of a 10,000-grid layer cost more than the rest of the segment table."""
    if valid:
        xy = shapely.get_coordinates(arr)
        pk = _point_keys(xy)
        count = shapely.get_num_coordinates(arr)
        one = _one_ring(pk, count)
    else:
        one = np.zeros(len(arr), dtype=bool)
    other = np.flatnonzero(~one)
    parts, part_of = shapely.get_parts(arr[other], return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    first = np.r_[True, ring_of[1:] != ring_of[:-1]]  # a polygon's first ring is its shell
    if not valid:
        xy, at = shapely.get_coordinates(rings, return_index=True)
        flip = shapely.is_ccw(rings) == first
        return xy, _point_keys(xy), at, flip, rings, other[part_of[ring_of]]
    single = np.flatnonzero(one)
    owner = np.r_[single, other[part_of[ring_of]]]
    order = np.argsort(owner, kind="stable")  # rings polygon by polygon, as get_coordinates
    is_one = np.r_[np.ones(len(single), dtype=bool), np.zeros(len(rings), dtype=bool)][order]
    size = np.r_[count[single], shapely.get_num_coordinates(rings)]
    at = np.repeat(np.arange(len(order)), size[order])
    ccw = np.r_[_simple_rings(xy, count, single), shapely.is_ccw(rings)][order]
    shell = np.r_[np.ones(len(single), dtype=bool), first][order]
    built = np.full(len(order), None, dtype=object)
    built[~is_one] = rings[order[~is_one] - len(single)]
    return xy, pk, at, ccw == shell, built, owner[order]


def _ranges(count: NDArray, which: NDArray) -> tuple[NDArray, NDArray]:
    """Positions of the coordinates of polygons ``which`` (``count`` coordinates each, stored
    one polygon after another), and the rank in ``which`` of each."""
    start = np.cumsum(count) - count
    size = count[which]
    rank = np.repeat(np.arange(len(which)), size)
    return np.repeat(start[which] - np.cumsum(size) + size, size) + np.arange(size.sum()), rank


def _one_ring(pk: NDArray, count: NDArray) -> NDArray:
    """Polygons with at most :data:`_SMALL` coordinates (``count`` each; ``pk`` the keys of all)
    that meet their first point again only at their last."""
    out = np.zeros(len(count), dtype=bool)
    small = np.flatnonzero((count >= 4) & (count <= _SMALL))
    if len(small) == 0:
        return out
    at, rank = _ranges(count, small)
    keys = pk[at]
    start = np.cumsum(count[small]) - count[small]
    again = np.bincount(rank[keys == keys[start][rank]], minlength=len(small))  # first included
    out[small] = (again == 2) & (keys[start + count[small] - 1] == keys[start])
    return out


def _simple_rings(xy: NDArray, count: NDArray, which: NDArray) -> NDArray:
    """Whether the one ring of each polygon ``which`` (``count`` coordinates each in ``xy``)
    runs anti-clockwise, from the sign of its area: right for rings that do not cross themselves.

    Why not ``shapely.is_ccw``: it needs each ring as a geometry, and copying every ring of a
    10,000-grid layer out of its polygon cost ~20 ms, more than the rest of the segment table.
    The shoelace sum is taken relative to the ring's first point and trusted only well above its
    rounding error; the few rings too flat for that are asked of GEOS."""
    n = len(which)
    if n == 0:
        return np.zeros(0, dtype=bool)
    at, rank = _ranges(count, which)
    start = np.cumsum(count[which]) - count[which]
    x, y = xy[at, 0] - xy[at[start], 0][rank], xy[at, 1] - xy[at[start], 1][rank]
    cross = np.where(rank[:-1] == rank[1:], x[:-1] * y[1:] - x[1:] * y[:-1], 0.0)
    area2 = np.bincount(rank[:-1], weights=cross, minlength=n)
    reach = np.zeros(n)
    np.maximum.at(reach, rank, np.maximum(np.abs(x), np.abs(y)))
    doubt = np.abs(area2) <= 16.0 * count[which] * reach**2 * np.finfo(float).eps
    out = area2 > 0
    if doubt.any():
        k = np.isin(rank, np.flatnonzero(doubt))
        ring = np.unique(rank[k], return_inverse=True)[1]
        out[doubt] = shapely.is_ccw(shapely.linearrings(xy[at[k]], indices=ring))
    return out


def multilines(a: NDArray, b: NDArray, first: NDArray) -> NDArray:
    """MultiLineStrings of the segments ``a[k]→b[k]`` (coordinate rows), a new one starting at
    each ``k`` where ``first[k]`` (``first[0]`` must be True), made from the coordinates in one
    call: grouping two-point LineStrings made first cost 2.3× as much (6.3 against 2.7 ms for
    10,000 segments).

    >>> xy = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    >>> [g.wkt for g in multilines(xy[:2], xy[1:], np.array([True, True]))]
    ['MULTILINESTRING ((0 0, 1 0))', 'MULTILINESTRING ((1 0, 2 0))']
    """
    m = len(a)
    if m == 0:
        return np.empty(0, dtype=object)
    coords = np.stack([a, b], axis=1).reshape(-1, 2)
    offsets = (np.arange(0, 2 * m + 1, 2), np.r_[np.flatnonzero(first), m])
    return shapely.from_ragged_array(shapely.GeometryType.MULTILINESTRING, coords, offsets)


def edge_drawn(a: NDArray, b: NDArray, seg: Segments) -> NDArray:
    """Whether each directed segment ``a[k]→b[k]`` is drawn, the same way, in ``seg``."""
    return isin(_segment_keys(_point_keys(a), _point_keys(b)), seg.key)


def boundary_rings(seg: Segments, free: NDArray) -> tuple[NDArray, NDArray] | None:
    """The free segments walked into simple closed rings: (LinearRings, clockwise mask).

    Free segments of polygons that share their vertices are the union's boundary, already
    noded, each with the union on its right. Each segment is followed by the one leaving its end
    point (where several leave, the sharpest right turn, so polygons touching at a point keep
    their own rings), and a ring through a point twice (a hole touching the shell) is split
    there into simple rings. Clockwise rings are the outlines of the union's polygons,
    anti-clockwise ones its holes: no ``polygonize``, no point-in-polygon test. None when the
    segments do not close into rings (a layer that is not a valid coverage).

    >>> import shapely
    >>> ring = shapely.box(0, 0, 4, 4).exterior
    >>> seg = Segments.of([shapely.Polygon(ring, [shapely.box(1, 1, 2, 2).exterior])])
    >>> rings, cw = boundary_rings(seg, seg.free())
    >>> sorted(zip(cw.tolist(), shapely.area(shapely.polygons(rings)).tolist()))
    [(False, 1.0), (True, 16.0)]
    """
    at = np.flatnonzero(free)  # end points only: a subset of every array cost 0.7 ms of 4
    n = len(at)
    if n == 0:
        return np.empty(0, dtype=object), np.zeros(0, dtype=bool)
    a, b = seg.xy[seg.ia[at]], seg.xy[seg.ib[at]]
    start = _point_keys(a)
    succ = _successors(a, b, start)
    if succ is None:
        return None
    ring, position = _cycles(succ)
    segment = _grouped(ring, position)
    loop = _simple_loops(ring[segment], start[segment])
    order = _grouped(loop, np.arange(n))
    rings = shapely.linearrings(a[segment[order]], indices=loop[order])
    return rings, ~shapely.is_ccw(rings)


def _grouped(label: NDArray, rank: NDArray) -> NDArray:
    """The order of elements by ``label``, then ``rank`` (both in ``0..n-1``, no pair twice):
    what ``np.lexsort((rank, label))`` gives (and a stable argsort of ``label`` when ``rank``
    is the position), as one quicksort of the distinct keys ``label·n + rank``: 0.15 against
    0.6 ms for the 7,900 free segments of the 10 % layer's clean grids."""
    return np.argsort(label.astype(np.int64) * len(label) + rank)


def _successors(a: NDArray, b: NDArray, start: NDArray) -> NDArray | None:
    """The segment that follows each segment ``a[k]→b[k]`` (coordinate rows; ``start``: the
    point keys of ``a``): the one leaving its end point, or where several leave, the first
    anti-clockwise from the way back (the sharpest right turn; of two as sharp, the one of
    lower angle, then of lower index).

    The end points are looked up in the sorted start points in the order of their keys' high
    bits (:func:`lookup`), and only the few points where several segments leave sort them by
    angle: a ``lexsort`` by start and angle and a lookup in the ends' own order cost 3.2 of
    this function's 4 ms on the 10 % layer's clean grids."""
    end = _point_keys(b)
    order = np.argsort(start)
    lo, hi = lookup(start[order], end)
    if (hi - lo < 1).any():
        return None
    succ = order[lo]
    several = np.flatnonzero(hi - lo > 1)  # points where the boundary touches itself
    if len(several):
        angle = np.arctan2(b[:, 1] - a[:, 1], b[:, 0] - a[:, 0])
        for e in several:
            out = order[lo[e] : hi[e]]
            out = out[np.lexsort((out, angle[out]))]
            turn = np.mod(angle[out] - (angle[e] + np.pi), 2 * np.pi)
            succ[e] = out[np.argmin(turn)]
    if np.bincount(succ, minlength=len(succ)).max() != 1:
        return None
    return succ


def _cycles(succ: NDArray) -> tuple[NDArray, NDArray]:
    """The cycle of each element of a permutation (its smallest member) and its position after
    that member, by pointer jumping (log₂ of the longest cycle vectorized rounds).

    After round k each label is the least of the 2^k members from there on; a round that
    changes none has every label the least of its whole cycle (the windows of 2^k members
    chain round it), so the rounds stop there, not after log₂ of all elements. The positions
    jump to a sentinel end rather than under masks. On the 10 % layer: 0.41 -> 0.16 ms for the
    holes' 3,600 walked segments, 1.13 -> 0.43 ms for the clean grids' 7,900 free ones."""
    n = len(succ)
    label, jump = np.arange(n), succ.copy()
    for _ in range(max(1, int(n).bit_length())):
        low = np.minimum(label, label[jump])
        if np.array_equal(low, label):
            break
        label, jump = low, jump[jump]
    head = label == np.arange(n)
    link = np.r_[np.where(head[succ], n, succ), n]  # cycles cut before their smallest member,
    left = np.r_[(link[:n] < n).astype(np.int64), 0]  # to an end n that stays (no masks)
    for _ in range(max(1, int(n).bit_length())):
        if (link[:n] == n).all():
            break
        left += left[link]
        link = link[link]
    length = np.bincount(label, minlength=n)[label]
    return label, length - 1 - left[:n]


def _simple_loops(ring: NDArray, keys: NDArray) -> NDArray:
    """Ring number of each segment (in ring order) after rings through a point twice are split
    there into simple rings.

    A ring through a point twice draws its point key twice: such rings are among those whose
    ``(ring, point key)`` signature is not unique (:func:`occurs_once`, exact; a signature
    shared by chance only sends a simple ring to :func:`_split_at_repeats`, which leaves it
    whole). A ``lexsort`` by ring and point took 1.3 ms on the 10 % layer's clean grids."""
    loop = ring.copy()
    twice = ~occurs_once(keys ^ (ring.astype(np.uint64) * _GOLDEN))
    touching = np.unique(ring[twice])
    if len(touching) == 0:
        return _dense(loop)
    fresh = int(ring.max()) + 1
    for r in touching:
        members = np.flatnonzero(ring == r)
        for piece in _split_at_repeats(keys[members])[1:]:
            loop[members[piece]] = fresh
            fresh += 1
    return _dense(loop)


def _split_at_repeats(keys: NDArray) -> list[list[int]]:
    """Positions of a closed walk split into loops at every point it passes twice."""
    loops: list[list[int]] = []
    stack: list[int] = []
    at: dict = {}
    for i, k in enumerate(keys.tolist()):
        if k in at:
            j = at[k]
            loops.append(stack[j:])
            for m in stack[j:]:
                at.pop(keys[m].item(), None)
            del stack[j:]
        at[k] = len(stack)
        stack.append(i)
    return [stack, *loops]


def _dense(labels: NDArray) -> NDArray:
    """Labels renumbered 0..k-1 in order of first appearance, elements of a label contiguous."""
    order = np.argsort(labels, kind="stable")
    out = np.empty(len(labels), dtype=np.int64)
    sorted_labels = labels[order]
    out[order] = np.cumsum(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]]) - 1
    return out
