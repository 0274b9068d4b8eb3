"""Boundary segments as hashed keys: which edges are shared, free, or line a parent from inside.

Why hashing: in a layer whose neighbours share vertices (what GEOS's edge check proves for every
unflagged grid), a shared edge is the same segment drawn twice in opposite directions, and an edge
of the union is a segment whose reverse nobody draws. Comparing 64-bit keys of exact coordinates
finds both in one vectorized pass, where an overlay (union, difference, ``covers``) would re-node
millions of vertices to learn the same thing. Rings are oriented with the interior on the right
(shells clockwise, holes counter-clockwise, as ``shapely.normalize`` would), so a segment also says
on which side its polygon lies.

>>> import shapely
>>> a, b = shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)
>>> seg = Segments.of([a, b])
>>> len(seg), int(seg.free().sum())
(8, 6)
>>> shapely.area(union_faces(seg, seg.free())).tolist()
[2.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

__all__ = ["Segments", "edge_drawn", "union_faces"]

_C1, _C2, _GOLDEN = (
    np.uint64(0xBF58476D1CE4E5B9),
    np.uint64(0x94D049BB133111EB),
    np.uint64(0x9E3779B97F4A7C15),
)


def _mix(z: NDArray) -> NDArray:
    """splitmix64's finalizer: every input bit reaches every output bit (round coordinates such
    as 380000.0 have 40 zero low bits, which a plain multiply would keep)."""
    z = (z ^ (z >> np.uint64(30))) * _C1
    z = (z ^ (z >> np.uint64(27))) * _C2
    return z ^ (z >> np.uint64(31))


def _keys(a: NDArray, b: NDArray) -> NDArray:
    """64-bit key of each directed segment a→b from the bits of its four coordinates."""
    bits = np.ascontiguousarray(np.column_stack([a, b])).view(np.uint64)
    key = np.zeros(len(bits), dtype=np.uint64)
    for k in range(4):
        key = _mix(key * _GOLDEN + bits[:, k])
    return key


@dataclass
class Segments:
    """Every boundary segment of an array of polygons: start/end points, owner, keys."""

    start: NDArray  # (n, 2)
    end: NDArray  # (n, 2)
    owner: NDArray  # index of the polygon in the input array
    key: NDArray  # directed key a→b
    back: NDArray  # key of the reverse b→a

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
        same = at[:-1] == at[1:]
        a, b, ring = xy[:-1][same], xy[1:][same], at[:-1][same]
        swap = flip[ring]
        a[swap], b[swap] = b[swap], a[swap].copy()
        real = (a != b).any(axis=1)
        a, b, ring = a[real], b[real], ring[real]
        return cls(a, b, part_of[ring_of[ring]], _keys(a, b), _keys(b, a))

    def subset(self, mask: NDArray) -> Segments:
        return Segments(
            self.start[mask], self.end[mask], self.owner[mask], self.key[mask], self.back[mask]
        )

    def free(self, among: Segments | None = None) -> NDArray:
        """Segments whose reverse is not drawn (by ``among``, default these): edges of the union."""
        other = self if among is None else among
        return ~_isin(self.back, other.key)

    def found_in(self, other: Segments) -> NDArray:
        """Segments drawn the same way (same side) by ``other``."""
        return _isin(self.key, other.key)

    def lines(self, mask: NDArray | None = None) -> NDArray:
        """The segments (or those under ``mask``) as two-point LineStrings."""
        a = self.start if mask is None else self.start[mask]
        b = self.end if mask is None else self.end[mask]
        coords = np.stack([a, b], axis=1).reshape(-1, 2)
        return shapely.linestrings(coords, indices=np.repeat(np.arange(len(a)), 2))


def _isin(values: NDArray, pool: NDArray) -> NDArray:
    """``np.isin`` through a hash table (pandas): linear instead of sorting millions of keys."""
    if len(values) == 0 or len(pool) == 0:
        return np.zeros(len(values), dtype=bool)
    return pd.Series(values).isin(pd.Series(pool)).to_numpy()


def edge_drawn(a: NDArray, b: NDArray, seg: Segments) -> NDArray:
    """Whether each directed segment ``a[k]→b[k]`` is drawn, the same way, in ``seg``."""
    return _isin(_keys(a, b), seg.key)


def union_faces(seg: Segments, free: NDArray) -> NDArray:
    """Faces enclosed by the free segments: the union's polygons and its holes, each a face.

    Free segments of polygons that share their vertices meet only at vertices, so they are noded
    already and ``polygonize`` needs no overlay. A hole with an island comes out as the hole minus
    the island, and the island as its own face.
    """
    if not free.any():
        return np.empty(0, dtype=object)
    merged = shapely.line_merge(shapely.multilinestrings(seg.lines(free)))
    return shapely.get_parts(shapely.polygonize(shapely.get_parts(merged)))
