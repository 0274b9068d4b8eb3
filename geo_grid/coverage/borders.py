"""Which grids border a defect piece (the neighbours a gap report names).

A grid borders a piece when more than a point of the piece's boundary runs along the grid's:
within ``tol`` metres of it, for longer than ``4·tol`` in one stretch. Borders a grid draws with the piece's own
vertices (all of a hole of the clean grids) are found by segment keys
(:class:`geo_grid.coverage.edges.Segments`); only grids within ``tol`` of some other border
segment, and flagged grids (which may run along a border another grid draws exactly), are
measured: first along the lines they share with the piece between other vertices (numpy,
:func:`_along`), then, where that does not prove them, with a buffer, each grid buffered once.

>>> import numpy as np, shapely
>>> from geo_grid.coverage.layer import Measure, edge_layer
>>> grids = np.array([shapely.box(0, 0, 10, 10), shapely.box(11, 0, 20, 10)])
>>> layer, _ = edge_layer(grids)
>>> gap = np.array([shapely.box(10, 0, 11, 10)])
>>> bordering(gap, layer, 0.05, Measure("EPSG:4547", "EPSG:4547", 0.01, 0.05))
[[0, 1]]
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.coverage.edges import Segments, lookup, spans
from geo_grid.coverage.layer import Layer, Measure

__all__ = ["bordering"]


def bordering(
    pieces: NDArray, layer: Layer, tol: float, measure: Measure, metric: NDArray | None = None
) -> list[list[int]]:
    """For each piece, the sorted grid indices sharing more than a point of border with it
    (``metric``: the pieces in metres, ``measure(pieces)``, when the caller has them)."""
    if len(pieces) == 0:
        return []
    n = len(layer.geoms)
    metric = measure(pieces) if metric is None else metric
    seg = Segments.of(pieces)
    per_metre = _units_per_metre(pieces, metric)
    near = _candidates(shapely.bounds(pieces), layer, tol * per_metre * 2)
    exact, matched = _shared_exactly(seg, metric, layer, measure, np.unique(near[1]))
    known = exact[exact[:, 2] > 4 * tol, :2].astype(np.int64)
    pairs = _loose_pairs(pieces, seg, matched, layer, tol * per_metre * 2, near, known)
    eps = tol * 1e-3 * per_metre
    along = _along(seg, np.flatnonzero(~matched), metric, layer, pairs, eps)
    along += _exact_length(exact, pairs, n)
    sure = along > 4 * tol * (1 + 1e-6)  # a margin for the projection's curvature
    test = np.flatnonzero(~sure)
    sure[test] = _long_borders(metric, layer, pairs[test], tol, measure)
    long = pairs[sure]
    found = np.unique(np.r_[known[:, 0] * n + known[:, 1], long[:, 0] * n + long[:, 1]])
    cuts = np.searchsorted(found // n, np.arange(len(pieces) + 1))
    grids = (found % n).tolist()
    return [grids[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]


def _shared_exactly(
    seg: Segments, metric: NDArray, layer: Layer, measure, near: NDArray
) -> tuple[NDArray, NDArray]:
    """Rows ``(piece, grid, metric length)`` of the borders a grid draws segment for segment (the
    reverse way: it lies on the other side), and which piece segments are so drawn. Lengths come
    from the pieces' own metric coordinates (``metric``, in the order of ``seg.xy``): projecting
    each segment anew as a line cost ~6 ms of the 10 % layer's 37 ms of neighbours. The grids'
    keys are sorted by quicksort and looked up in order (:func:`~geo_grid.coverage.edges.lookup`):
    a stable argsort and lookups in random order cost 2.4 of this function's 4.6 ms there.
    ``near``: grids whose envelopes meet the pieces' (a grid drawing a piece's segment does;
    the keys decide exactly), as :func:`_candidates` found them for :func:`_loose_pairs`."""
    theirs = layer.seg.of_owners(near)
    order = np.argsort(theirs.key)  # twins are different grids, rows of different pairs
    lo, hi = lookup(theirs.key[order], seg.back)
    matched = hi > lo
    k, at = spans(lo[matched], hi[matched])
    s = np.flatnonzero(matched)[k]
    if len(s) == 0:
        return np.empty((0, 3)), matched
    grid = theirs.owner[order[at]]
    length = _lengths(seg, s, metric, measure)
    n = len(layer.geoms)
    pair, inverse = np.unique(seg.owner[s].astype(np.int64) * n + grid, return_inverse=True)
    total = np.bincount(inverse, weights=length, minlength=len(pair))
    return np.column_stack([pair // n, pair % n, total]), matched


def _lengths(seg: Segments, s: NDArray, metric: NDArray, measure) -> NDArray:
    """Metric length of segments ``s``: from ``metric``'s coordinates where they are the
    segments' own, one by one, else each segment projected as a line."""
    xy = shapely.get_coordinates(metric)
    if xy.shape != seg.xy.shape:  # not the same coordinates (not expected): project anew
        return shapely.length(measure(seg.lines(s)))
    return np.hypot(*(xy[seg.ib[s]] - xy[seg.ia[s]]).T)


def _loose_pairs(pieces, seg, matched, layer: Layer, reach: float, near, known) -> NDArray:
    """``(piece, grid)`` pairs to measure, of the candidates ``near`` (:func:`_candidates`):
    grids within ``reach`` of a piece segment no grid draws exactly, and flagged grids within
    ``reach`` of the piece (they may run along a border another grid draws exactly); not the
    pairs ``known`` (rows ``piece, grid``) to border already.

    A loose segment's grids are its piece's candidates whose envelopes meet the segment's
    grown envelope (numpy), then ``dwithin``; a flagged grid is tested against the whole piece
    only if no segment of it is near. On the 10 % layer, a tree query with every loose
    segment's box and every flagged candidate tested against its piece took :func:`bordering`
    from 14.1 to 15.9 ms CPU (the same pairs)."""
    n = len(layer.geoms)
    pi, gj = near
    known = np.sort(known[:, 0] * n + known[:, 1])
    key = pi.astype(np.int64) * n + gj  # sorted: the candidates' order
    new = ~_found(known, key)[1]
    pi, gj = pi[new], gj[new]
    k, s = _segments_near(seg, np.flatnonzero(~matched), layer, reach, pi, gj, len(pieces))
    g = gj[k]
    close = shapely.dwithin(seg.lines(s), layer.geoms[g], reach)
    by_segment = np.unique(k[close])  # candidates near one of their loose segments
    rest = np.flatnonzero(layer.flagged[gj])
    rest = rest[~np.isin(rest, by_segment)]
    rest = rest[shapely.dwithin(pieces[pi[rest]], layer.geoms[gj[rest]], reach)]
    found = np.union1d(by_segment, rest)  # candidates in the order of piece·n + grid
    return np.column_stack([pi[found], gj[found]])


def _segments_near(
    seg: Segments, loose: NDArray, layer: Layer, reach: float, pi: NDArray, gj: NDArray, m: int
) -> tuple[NDArray, NDArray]:
    """``(candidate, segment)`` rows: each candidate ``(pi[k], gj[k])`` (sorted by
    ``piece·n + grid``) with each loose segment of its piece whose envelope grown by ``reach``
    meets the grid's envelope (``m`` pieces).

    Every candidate with every loose segment of its piece, filtered in numpy, where that
    product is at most :data:`_MAX_COMBINATIONS` (the 10 % layer's 1,513 rows: 0.24 ms, by the
    tree 1.07); else the layer's tree queried with the segments' grown envelopes (the same rows),
    so a gap with thousands of loose segments and thousands of grids in its envelope (a
    national layer's sea or lost province) costs what its segments meet, not their product."""
    start, count = _ranges_of(seg.owner[loose], m)
    a, b = seg.xy[seg.ia[loose]], seg.xy[seg.ib[loose]]
    box = np.c_[np.minimum(a, b) - reach, np.maximum(a, b) + reach]
    if count[pi].sum() > _MAX_COMBINATIONS:
        at, g = layer.tree.query(shapely.box(*box.T))
        n = len(layer.geoms)
        key, want = pi.astype(np.int64) * n + gj, seg.owner[loose[at]].astype(np.int64) * n + g
        k, hit = _found(key, want)
        order = np.lexsort((at[hit], k[hit]))  # as the product gives them
        return k[hit][order], loose[at[hit][order]]
    k, at = spans(start[pi], start[pi] + count[pi])  # each candidate, each loose segment of it
    grid_box = shapely.bounds(layer.geoms[gj])[k]
    box = box[at]
    meet = (box[:, 0] <= grid_box[:, 2]) & (grid_box[:, 0] <= box[:, 2])
    meet &= (box[:, 1] <= grid_box[:, 3]) & (grid_box[:, 1] <= box[:, 3])
    return k[meet], loose[at[meet]]


def _candidates(bounds: NDArray, layer: Layer, reach: float) -> tuple[NDArray, NDArray]:
    """``(piece, grid)`` pairs whose envelopes meet, the pieces' (``bounds``) grown by
    ``reach``, sorted by ``piece·n + grid``: one tree query for both the exact borders and the
    loose pairs (the known pairs are then searched in step: ``np.isin``'s sort of both cost
    1.3 ms on the 10 % layer)."""
    box = bounds + np.array([-reach, -reach, reach, reach])
    qi, qj = layer.tree.query(shapely.box(*box.T))
    order = np.argsort(qi.astype(np.int64) * len(layer.geoms) + qj)
    return qi[order], qj[order]


#: Above this many (piece segment, grid segment) combinations, :func:`_along` leaves every pair to
#: the buffer test (a national layer's districts have thousands of segments each), and above this
#: many (candidate grid, loose segment) ones :func:`_segments_near` asks the layer's tree.
_MAX_COMBINATIONS = 2_000_000


def _exact_length(exact: NDArray, pairs: NDArray, n: int) -> NDArray:
    """The metric length of the border each pair's grid draws exactly (rows of ``exact``)."""
    key = exact[:, 0].astype(np.int64) * n + exact[:, 1].astype(np.int64)
    want = pairs[:, 0].astype(np.int64) * n + pairs[:, 1]
    if len(key) == 0:
        return np.zeros(len(pairs))
    order = np.argsort(key)
    at, hit = _found(key[order], want)
    return np.where(hit, exact[order[at], 2], 0.0)


def _found(sorted_keys: NDArray, want: NDArray) -> tuple[NDArray, NDArray]:
    """The position of each of ``want`` in ``sorted_keys`` (the last one's where it is beyond
    them) and whether it is there."""
    if len(sorted_keys) == 0:
        return np.zeros(len(want), dtype=np.intp), np.zeros(len(want), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, want), len(sorted_keys) - 1)
    return at, sorted_keys[at] == want


def _along(
    seg: Segments, loose: NDArray, metric: NDArray, layer: Layer, pairs: NDArray, eps: float
) -> NDArray:
    """Metres of each pair's grid boundary lying along the piece segments ``loose`` (those no
    grid draws exactly; within ``eps`` layer units of a piece segment's line, inside that
    segment's span; overlapping spans on one grid segment counted once): with the border drawn
    exactly, a lower bound of the length :func:`_long_borders` measures, as those parts lie
    within ``tol`` of the piece. Most pairs a gap's neighbours are measured for share
    a border drawn on the same lines but between different vertices (a difference cuts a grid's
    edge where the gap ends), which this finds in numpy: on 10,000 grids with 10 % perturbed,
    the buffer test (~22 us a pair) ran on all 585 pairs, now on the 56 this does not prove
    (``bordering`` 31 -> 19 ms CPU)."""
    out = np.zeros(len(pairs))
    xy_m = shapely.get_coordinates(metric)
    owners = layer.seg.owner
    if len(pairs) == 0 or xy_m.shape != seg.xy.shape or (np.diff(owners) < 0).any():
        return out
    p_start, p_count = _ranges_of(seg.owner[loose], len(metric))
    g_start, g_count = _ranges_of(owners, len(layer.geoms))
    n_p, n_g = p_count[pairs[:, 0]], g_count[pairs[:, 1]]
    size = n_p * n_g
    if size.sum() > _MAX_COMBINATIONS:
        return out
    k = np.repeat(np.arange(len(pairs)), size)
    r = np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
    s = loose[p_start[pairs[k, 0]] + r // n_g[k]]
    t = g_start[pairs[k, 1]] + r % n_g[k]
    q0 = layer.seg.xy[layer.seg.ia[t]]
    d = layer.seg.xy[layer.seg.ib[t]] - q0
    a, b = seg.xy[seg.ia[s]] - q0, seg.xy[seg.ib[s]] - q0
    length = np.hypot(*d.T)
    ok = length > 0
    length = np.where(ok, length, 1.0)
    on = ok & (np.abs(_cross(d, a)) <= eps * length) & (np.abs(_cross(d, b)) <= eps * length)
    ua, ub = (a * d).sum(axis=1) / length, (b * d).sum(axis=1) / length
    lo = np.clip(np.minimum(ua, ub), 0.0, length)
    hi = np.clip(np.maximum(ua, ub), 0.0, length)
    on &= hi > lo
    k, s, t, lo, hi, length = k[on], s[on], t[on], lo[on], hi[on], length[on]
    if len(k) == 0:
        return out
    scale = np.hypot(*(xy_m[seg.ib[s]] - xy_m[seg.ia[s]]).T) / np.hypot(
        *(seg.xy[seg.ib[s]] - seg.xy[seg.ia[s]]).T
    )
    order = np.lexsort((lo, t, k))
    k, t, lo, hi, scale = k[order], t[order], lo[order], hi[order], scale[order]
    group = np.cumsum(np.r_[True, (k[1:] != k[:-1]) | (t[1:] != t[:-1])]) - 1
    shift = group * (float(length.max()) * 2 + 1)  # spans of one grid segment, apart from others
    reach = np.maximum.accumulate(hi + shift)
    before = np.r_[-np.inf, reach[:-1]]
    before[np.r_[True, group[1:] != group[:-1]]] = -np.inf
    gained = np.maximum(hi + shift - np.maximum(lo + shift, before), 0.0)
    return np.bincount(k, weights=gained * scale, minlength=len(pairs))


def _ranges_of(owner: NDArray, n: int) -> tuple[NDArray, NDArray]:
    """First index and count of each of ``n`` owners' rows in a sorted ``owner`` array."""
    count = np.bincount(owner, minlength=n)
    return np.cumsum(count) - count, count


def _cross(d1: NDArray, d2: NDArray) -> NDArray:
    return d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]


def _long_borders(metric, layer: Layer, pairs: NDArray, tol: float, measure) -> NDArray:
    """Whether each piece's boundary runs within ``tol`` of its grid for more than ``4·tol`` in
    one stretch (``metric``: the pieces in metres; each grid projected and buffered once).

    One stretch, not in all: a grid of several parts meeting a gap at three of its corners ran
    within 5 cm of it for 3 × 0.1 m, and was named a neighbour although it shares no edge with
    it (the lattice property test, seeds 4 and 7). Measured along the piece, whose boundary has
    two edges at a corner, where a grid pinched there has four."""
    out = np.zeros(len(pairs), dtype=bool)
    if len(pairs) == 0:
        return out
    up, pk = np.unique(pairs[:, 0], return_inverse=True)
    ug, gk = np.unique(pairs[:, 1], return_inverse=True)
    grids_m = measure(layer.geoms[ug])
    box = shapely.bounds(grids_m)[gk] + np.array([-tol, -tol, tol, tol])
    maybe = np.flatnonzero(_length_in_box(metric[up], pk, box) >= 4 * tol * (1 - 1e-6))
    if len(maybe) == 0:
        return out
    grown = shapely.buffer(grids_m[gk[maybe]], tol, quad_segs=2)
    lines = shapely.boundary(metric[up])[pk[maybe]]
    near = shapely.line_merge(shapely.intersection(lines, grown))
    parts, which = shapely.get_parts(near, return_index=True)
    longest = np.zeros(len(maybe))
    np.maximum.at(longest, which, shapely.length(parts))
    out[maybe] = longest > 4 * tol
    return out


def _length_in_box(polys: NDArray, which: NDArray, box: NDArray) -> NDArray:
    """For each box ``box[k]`` (xmin, ymin, xmax, ymax), the length of the boundary of
    ``polys[which[k]]`` inside it, segment by segment (Liang-Barsky clipping in numpy): a bound
    of what any buffer the box holds leaves of that boundary, so a pair below ``4·tol`` needs
    no buffer. On the 10 % layer 37 of the 78 pairs :func:`_along` does not prove are so
    settled: :func:`_long_borders` 4.0 -> 3.1 ms CPU, the same answers."""
    parts, part_of = shapely.get_parts(polys, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    xy, at = shapely.get_coordinates(rings, return_index=True)
    i = np.flatnonzero(at[:-1] == at[1:])  # segments xy[i] -> xy[i + 1], ring by ring
    start, count = _ranges_of(part_of[ring_of[at[i]]], len(polys))
    k, s = spans(start[which], start[which] + count[which])
    p0, d = xy[i[s]], xy[i[s] + 1] - xy[i[s]]
    lo, hi = np.zeros(len(s)), np.ones(len(s))
    for axis in (0, 1):
        a, b, step = box[k, axis] - p0[:, axis], box[k, axis + 2] - p0[:, axis], d[:, axis]
        with np.errstate(divide="ignore", invalid="ignore"):
            t1, t2 = a / step, b / step
        flat = step == 0
        inside = (a <= 0) & (b >= 0)  # a segment along the axis: in the slab or not at all
        lo = np.maximum(lo, np.where(flat, np.where(inside, 0.0, 1.0), np.minimum(t1, t2)))
        hi = np.minimum(hi, np.where(flat, np.where(inside, 1.0, 0.0), np.maximum(t1, t2)))
    inner = np.maximum(hi - lo, 0.0) * np.hypot(d[:, 0], d[:, 1])
    return np.bincount(k, weights=inner, minlength=len(which))


def _units_per_metre(geoms: NDArray, metric: NDArray) -> float:
    """How many layer-CRS units make a metre around ``geoms`` (``metric``: them in metres; 1
    for a metric layer)."""
    k = min(len(geoms), 50)
    src, met = shapely.length(geoms[:k]), shapely.length(metric[:k])
    ok = met > 0
    return float(np.max(src[ok] / met[ok])) if ok.any() else 1.0
