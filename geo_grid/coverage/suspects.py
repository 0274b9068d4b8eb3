"""GEOS's invalid edges of a layer, with GEOS run only where segment keys cannot prove a grid clean.

``shapely.coverage_invalid_edges`` validates every polygon against its neighbours: its cost
follows the layer (11 s for China's districts), while the damage is a few per cent of it. Its
rules (GEOS ``CoveragePolygonValidator``): a segment drawn the other way by a neighbour is
*matched* and valid; an unmatched segment is invalid when it crosses, runs along or touches
(away from a shared end point) a neighbour's segment, or lies inside a neighbour. So a grid is
**proven clean**, and GEOS is not asked about it, when:

* every segment is matched (:meth:`~geo_grid.coverage.edges.Segments.matched`: one other grid
  draws it the other way, none the same way), or is *open* and
* meets the open segments of other grids only at a shared end point, not along a line, and
* lies outside every other grid: tested at one point of each run of open segments;
* and the grid has no repeated point and its rings do not touch each other.

Why one point per run suffices: along an open segment, the number of *other* grids covering a
point changes only where the segment crosses the boundary of their union. That boundary is made
of their open segments (a segment matched between two other grids has one of them on each side)
and of segments they share with this grid, which its own boundary cannot cross and touches only
where its rings touch each other. So a run of open segments meeting no other open segment away
from the run's end points is covered by other grids everywhere or nowhere.

Every other grid is a *suspect*. :func:`invalid_edges` has GEOS validate the suspects together
with every grid whose envelope meets theirs (the neighbours GEOS itself would compare them
with), and its answer for them is the answer of the whole-layer pass. The check itself asks no
GEOS at all (:func:`suspect_edges`): it needs only which grids may be flagged and the lines
along which they may be invalid, and a suspect's open segments hold its invalid edges (GEOS
never marks a matched segment). Equality with the whole-layer pass, of the edges and of the
check's defects, is tested on damaged layers (``tests/geo_grid/test_coverage_suspects.py``).

>>> import numpy as np, shapely
>>> from geo_grid.coverage.edges import Segments, multilines
>>> row = [shapely.box(x, 0, x + 1, 1) for x in range(6)]     # six clean squares in a row
>>> grids = np.array([*row, shapely.box(2.5, 0.2, 3.5, 0.8)])  # and one across two of them
>>> seg, tree = Segments.of(grids), shapely.STRtree(grids)
>>> suspects(grids, seg, tree).nonzero()[0].tolist()   # the row's outline is open, yet proven
[6]
>>> edges = invalid_edges(grids, seg, tree)
>>> [g.wkt for g in edges[5:]]
['LINESTRING EMPTY', 'LINESTRING (3.5 0.2, 3.5 0.8, 2.5 0.8, 2.5 0.2, 3.5 0.2)']
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.coverage.edges import Segments, multilines
from geo_grid.coverage.polygons import meeting_others

__all__ = ["WHOLE_LAYER", "invalid_edges", "suspect_edges", "suspects"]

#: Above this share of suspects and their neighbours, GEOS runs on the whole layer.
WHOLE_LAYER = 0.8
#: Units in the last place of the layer's largest coordinate within which a point is taken as
#: on a line (a computed midpoint is within half a unit of its segment).
_NEAR_ULPS = 64


def invalid_edges(
    geoms: NDArray, seg: Segments, tree: shapely.STRtree, whole_layer: float = WHOLE_LAYER
) -> NDArray:
    """The invalid edges of each grid as ``shapely.coverage_invalid_edges(geoms, gap_width=0)``
    finds them (the same lines; an empty LineString for a valid grid), with GEOS run on the
    suspects and their neighbours only (``seg``: the grids' segments; ``tree``: an STRtree over
    ``geoms``), or on the whole layer when they are more than the share ``whole_layer`` of it.

    A grid whose every segment is matched or drawn the same way by another grid (a duplicate)
    needs no GEOS either: GEOS marks exactly those drawn twice the same way."""
    n = len(geoms)
    if n == 0:
        return np.empty(0, dtype=object)
    suspect, twins = _status(geoms, seg, tree)
    suspect = np.flatnonzero(suspect)
    near = np.unique(np.r_[suspect, tree.query(geoms[suspect])[1]])
    if len(near) > whole_layer * n:
        return shapely.coverage_invalid_edges(geoms, gap_width=0.0)
    out = np.full(n, shapely.LineString(), dtype=object)
    if len(suspect):
        found = shapely.coverage_invalid_edges(geoms[near], gap_width=0.0)
        out[suspect] = found[np.searchsorted(near, suspect)]
    if len(twins):
        owner = seg.owner[twins]
        first = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        rank = np.cumsum(np.r_[True, owner[1:] != owner[:-1]]) - 1
        out[owner[first]] = shapely.multilinestrings(seg.lines(twins), indices=rank)
    return out


def suspect_edges(geoms: NDArray, seg: Segments, tree: shapely.STRtree) -> NDArray:
    """For each grid, the lines along which GEOS's edge check may flag it, found without GEOS:
    the open segments (matched by no neighbour) of each suspect and of each grid whose every
    segment is matched or drawn the same way by another (a duplicate); an empty LineString for
    the others, which GEOS does not flag.

    GEOS marks only open segments invalid, so its edges of a grid are among these and a grid it
    flags has some (the tests check both against the whole-layer pass). What the check needs of
    the edges is which grids they enter (overlap candidates) and which grids have any (flagged),
    and these lines give the same answers without GEOS: on 10,000 grids with 10 % perturbed,
    GEOS flagged every suspect, and the overlap candidates were the same 1,748 pairs. GEOS's
    pass on the suspects had to validate their neighbours too (4,951 grids for 1,691
    suspects): ~75 ms of CPU the check no longer spends.

    >>> import numpy as np, shapely
    >>> grids = np.array([shapely.box(0, 0, 2, 1), shapely.box(1, 0, 3, 1), shapely.box(3, 0, 4, 1)])
    >>> seg = Segments.of(grids)
    >>> [round(g.length, 1) for g in suspect_edges(grids, seg, shapely.STRtree(grids))]
    [6.0, 5.0, 0.0]
    """
    n = len(geoms)
    out = np.full(n, shapely.LineString(), dtype=object)
    if n == 0:
        return out
    suspect, twins = _status(geoms, seg, tree)
    flagged = suspect.copy()
    flagged[seg.owner[twins]] = True
    idx = np.flatnonzero(~seg.matched() & flagged[seg.owner])
    if len(idx) == 0:
        return out
    idx = idx[np.argsort(seg.owner[idx], kind="stable")]  # already so from Segments.of
    owner = seg.owner[idx]
    fresh = np.r_[True, owner[1:] != owner[:-1]]
    out[owner[fresh]] = multilines(seg.xy[seg.ia[idx]], seg.xy[seg.ib[idx]], fresh)
    return out


def suspects(geoms: NDArray, seg: Segments, tree: shapely.STRtree) -> NDArray:
    """Mask of the grids GEOS's edge check may flag and segment keys cannot decide (see the
    module docstring)."""
    return _status(geoms, seg, tree)[0]


def _status(geoms: NDArray, seg: Segments, tree: shapely.STRtree) -> tuple[NDArray, NDArray]:
    """The suspects (mask), and the segments of the grids known to be flagged without GEOS:
    every segment matched or drawn the same way by another grid (those segments, by owner)."""
    n = len(geoms)
    odd = np.zeros(n, dtype=bool)
    odd[_odd_rings(seg)] = True
    matched = seg.matched()
    open_ = np.flatnonzero(~matched)
    if len(open_) == 0:
        return odd, open_
    suspect = np.zeros(n, dtype=bool)
    bad, contact = _contacts(seg, open_)
    suspect[seg.owner[bad]] = True
    heads = _run_heads(seg, open_, contact)
    heads = heads[~suspect[seg.owner[heads]]]  # a suspect already needs no point test
    mid = shapely.points((seg.xy[seg.ia[heads]] + seg.xy[seg.ib[heads]]) / 2)
    owners = seg.owner[heads]
    suspect[owners[meeting_others(tree, geoms, mid, owners)[0]]] = True  # in or on another
    twin = seg.same_side()
    decided = ~odd  # every segment matched or drawn the same way by another grid
    decided[seg.owner[~matched & ~twin]] = False
    return (suspect & ~decided) | odd, np.flatnonzero(twin & decided[seg.owner])


def _odd_rings(seg: Segments) -> NDArray:
    """Grids with a repeated point (a zero-length segment, which GEOS may match with anything
    at that point) or with rings touching each other (a hole pinched against the shell, parts
    meeting at a point), where the module's argument does not hold."""
    many = np.flatnonzero(np.bincount(seg.ring_owner) > 1)
    if len(many) == 0:
        return seg.repeated
    idx = np.flatnonzero(np.isin(seg.ring_owner, many))
    a, b = shapely.STRtree(seg.rings[idx]).query(seg.rings[idx])
    a, b = idx[a], idx[b]
    keep = (a < b) & (seg.ring_owner[a] == seg.ring_owner[b])
    a, b = a[keep], b[keep]
    touch = shapely.intersects(seg.rings[a], seg.rings[b])
    return np.unique(np.r_[seg.repeated, seg.ring_owner[a[touch]]])


def _contacts(seg: Segments, open_: NDArray) -> tuple[NDArray, NDArray]:
    """Among open segments of different grids whose envelopes meet: those that may meet
    otherwise than at one shared end point (crossing, along a line, an end on the other's
    interior), and the xy index of each end point at which two meet.

    Orientations are computed in floating point and trusted only well above their rounding
    error (a filtered predicate), and a point within a few units in the last place of the
    coordinates from the other segment's line is taken as on it: a vertex put in the middle of
    a neighbour's edge, ``(a + b) / 2``, lies up to half a unit off that edge, and the test
    point of a run so close to another grid's boundary cannot say on which side it lies. A pair
    too close to call is taken as meeting badly, which only makes a grid a suspect, for GEOS
    to decide.

    Each test runs only on the pairs it decides (sharing no end point: crossing; one: running
    along; two: a segment drawn twice, bad as it is): on 10,000 grids with 10 % perturbed,
    12,982 pairs of which 5,342 share no end point and 6,591 one."""
    lines = seg.lines(open_)
    near = _NEAR_ULPS * np.finfo(float).eps * float(np.abs(seg.xy).max(initial=0.0))
    i, j = shapely.STRtree(lines).query(lines)
    keep = (i < j) & (seg.owner[open_[i]] != seg.owner[open_[j]])
    s, t = open_[i[keep]], open_[j[keep]]
    ends = seg.ia[s], seg.ib[s], seg.ia[t], seg.ib[t]  # s0, s1, t0, t1
    # points compared as one complex number each, not two columns, and the coordinates gathered
    # only for the pairs each test decides: 3.8 -> 2.4 ms for the 12,982 pairs of the 10 % layer
    point = np.ascontiguousarray(seg.xy).view(np.complex128)[:, 0]
    eq = [point[p] == point[q] for p in ends[:2] for q in ends[2:]]  # s0t0, s0t1, s1t0, s1t1
    shared = np.sum(eq, axis=0)
    meets_badly = shared >= 2
    apart = np.flatnonzero(shared == 0)
    meets_badly[apart] = _cross_or_doubt(*(seg.xy[e[apart]] for e in ends), near)
    one = np.flatnonzero(shared == 1)
    s0, s1, t0, t1 = (seg.xy[e[one]] for e in ends)
    at_s0, at_t0 = (eq[0] | eq[1])[one], (eq[0] | eq[2])[one]
    vertex = np.where(at_s0[:, None], s0, s1)
    d1 = np.where(at_s0[:, None], s1, s0) - vertex
    d2 = np.where(at_t0[:, None], t1, t0) - vertex
    along = _close(_cross(d1, d2), d1, d2, near) & ((d1 * d2).sum(axis=1) > 0)
    meets_badly[one] = along
    ok = one[~along]
    ends_s = np.where(at_s0[~along], seg.ia[s[ok]], seg.ib[s[ok]])
    ends_t = np.where(at_t0[~along], seg.ia[t[ok]], seg.ib[t[ok]])
    return np.r_[s[meets_badly], t[meets_badly]], np.r_[ends_s, ends_t]


def _cross_or_doubt(s0: NDArray, s1: NDArray, t0: NDArray, t1: NDArray, near: float) -> NDArray:
    """Whether segments ``s0-s1`` and ``t0-t1`` sharing no end point cross, or may touch: an
    orientation of one's end to the other's line too small to trust."""
    o = [_cross(s1 - s0, p - s0) for p in (t0, t1)] + [_cross(t1 - t0, p - t0) for p in (s0, s1)]
    doubt = np.zeros(len(s0), dtype=bool)
    for k, (p, q) in enumerate(((s0, s1), (s0, s1), (t0, t1), (t0, t1))):
        doubt |= _close(o[k], q - p, (t0, t1, s0, s1)[k] - p, near)
    cross = (np.sign(o[0]) != np.sign(o[1])) & (np.sign(o[2]) != np.sign(o[3]))
    return doubt | cross


def _cross(d1: NDArray, d2: NDArray) -> NDArray:
    return d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]


def _close(cross: NDArray, d1: NDArray, d2: NDArray, near: float) -> NDArray:
    """Whether a cross product is too small for its sign to be trusted (a bound far above the
    rounding error of the differences and products, ~4.4e-16 of ``|d1|·|d2|``), or says that
    the end of one vector lies within ``near`` of the other's line."""
    l1, l2 = np.hypot(*d1.T), np.hypot(*d2.T)
    return np.abs(cross) <= 1e-12 * l1 * l2 + near * np.maximum(l1, l2)


def _run_heads(seg: Segments, open_: NDArray, contact: NDArray) -> NDArray:
    """The first segment of each run of consecutive open segments of one ring that meets no
    other grid's open segment at the points between them."""
    after = np.full(len(seg.xy), -1, dtype=np.int64)  # the open segment starting at a point
    after[seg.ia[open_]] = open_
    nxt = after[seg.ib[open_]]
    stop = np.zeros(len(seg.xy), dtype=bool)
    stop[contact] = True
    linked = (nxt >= 0) & ~stop[seg.ib[open_]]
    has_prev = np.zeros(len(seg), dtype=bool)
    has_prev[nxt[linked]] = True
    return open_[~has_prev[open_]]
