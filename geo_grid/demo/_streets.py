"""Place a district's real streets inside its outline when nobody has placed them by hand.

Each street gets a share of the district's land from its communities: a village (村) covers about
five times the land of an urban community (社区), so towns with many villages are large and the
built-up streets small. Where that share gives an urban community more than
:data:`URBAN_LAND_MAX_M2` (a district of steppe, desert or mountains, as Xilinhot's 14,784 km²
for 99 communities), no street is built up throughout: each is a town in open land whose size
follows its 社区 at that bound. The shares are met by a capacity-constrained k-means (a power
diagram:
Lloyd's algorithm with an additive weight per cell, raised while the cell is short of its share),
which keeps cells compact. The streets with most 社区 take the cells nearest the city centre.
Each street is then represented by a few anchors (a k-means of its cell, one anchor per ~1/10 of
the average street), whose Voronoi edges become the street borders, as for a hand-placed district.

>>> import numpy as np, shapely
>>> from types import SimpleNamespace as NS
>>> spec = NS(streets=[NS(code="s1"), NS(code="s2")],
...           communities=[NS(street_code="s1", kind="urban")] * 4
...           + [NS(street_code="s2", kind="rural")] * 2)
>>> placed = place_streets(shapely.box(0, 0, 10_000, 5_000), spec, np.array([0.0, 2500.0]),
...                        np.random.default_rng(0))
>>> round(placed["s1"].share, 2), round(placed["s2"].share, 2), bool(placed["s1"].centre[0] < 5000)
(0.29, 0.71, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from geo_grid.demo import _partition as part

__all__ = ["PlacedStreet", "place_streets"]

#: Land of a village relative to an urban community.
RURAL_LAND = 5.0
#: The most built-up land an urban community covers (m²); Nanjing's districts give 0.4–4.1 km².
URBAN_LAND_MAX_M2 = 5e6
#: A town's density falls to half its peak at this many sigmas (sqrt(2 ln 2)).
HALF_PEAK = float(np.sqrt(2 * np.log(2)))
SAMPLES = 40_000
ANCHORS_PER_STREET = 10


@dataclass
class PlacedStreet:
    """Where a street lies: its land share, centre, anchors and town size (metres)."""

    share: float
    urban_share: float  # share of its communities that are 社区
    dense: bool  # built up throughout (only 社区, and their land within URBAN_LAND_MAX_M2)
    centre: NDArray
    anchors: NDArray
    town_sigma: float
    #: a town in open land: the radius of its built-up core (where its density is at least half
    #: the peak's); None where the district's land is not over the bound
    core_m: float | None = None


def _balanced_kmeans(
    xy: NDArray, seeds: NDArray, share: NDArray, spacing2: float, iters: int = 120
) -> NDArray:
    """Labels of a power diagram whose cells hold ``share`` of the points (to ~2 %)."""
    target = share * len(xy)
    w = np.zeros(len(seeds))
    c = seeds.copy()
    lab = np.zeros(len(xy), dtype=np.int64)
    for _ in range(iters):
        d2 = part.squared_distances(xy[:, 0], xy[:, 1], c[:, 0], c[:, 1]) - w
        lab = d2.argmin(axis=1)
        count = np.bincount(lab, minlength=len(c)).astype(float)
        err = (target - count) / target
        if np.abs(err).max() < 0.02:
            break
        has = count > 0
        cx = np.bincount(lab, weights=xy[:, 0], minlength=len(c))
        cy = np.bincount(lab, weights=xy[:, 1], minlength=len(c))
        c[has] = np.column_stack([cx[has] / count[has], cy[has] / count[has]])
        w += 0.5 * np.clip(err, -1.0, 1.0) * spacing2 * share * len(c)
    return lab


def place_streets(
    outline, spec, core: NDArray, rng: np.random.Generator
) -> dict[str, PlacedStreet]:
    """Street code → :class:`PlacedStreet` for every street of ``spec`` inside ``outline``."""
    codes = [s.code for s in spec.streets]
    n_urban = {c: 0 for c in codes}
    n_rural = {c: 0 for c in codes}
    for comm in spec.communities:
        (n_urban if comm.kind == "urban" else n_rural)[comm.street_code] += 1
    land = np.array([n_urban[c] + RURAL_LAND * n_rural[c] for c in codes], dtype=float)
    share = land / land.sum()
    urban_share = np.array([n_urban[c] / max(n_urban[c] + n_rural[c], 1) for c in codes])

    area = float(outline.area)
    per_community = area / land.sum()  # m² of an urban community's land (a village: 5×)
    xy = part.lattice(outline, np.sqrt(area / SAMPLES), rng)
    k = len(codes)
    seeds = part.weighted_kmeans(xy, np.ones(len(xy)), k, rng)
    # the most urban streets (then the smallest) take the seeds nearest the city centre
    by_seed = np.argsort(((seeds - core) ** 2).sum(axis=1), kind="stable")
    by_street = sorted(range(k), key=lambda i: (-urban_share[i], share[i], codes[i]))
    seeds = seeds[by_seed[np.argsort(by_street)]]
    lab = _balanced_kmeans(xy, seeds, share, area / k) if k > 1 else np.zeros(len(xy), int)

    out = {}
    for i, code in enumerate(codes):
        pts = xy[lab == i]
        if len(pts) < 2:  # a starved cell keeps its seed and the sample point next to it
            near = np.argsort(((xy - seeds[i]) ** 2).sum(axis=1))[:2]
            pts = xy[near]
        m = int(min(len(pts), max(2, round(ANCHORS_PER_STREET * k * share[i]))))
        anchors = part.weighted_kmeans(pts, np.ones(len(pts)), m, rng, iters=8)
        centre = pts.mean(axis=0)
        centre = pts[int(((pts - centre) ** 2).sum(axis=1).argmin())]
        urban_land = share[i] * area * n_urban[code] / max(land[i], 1e-9)
        open_land = per_community > URBAN_LAND_MAX_M2
        if open_land:  # a town in open land: its 社区 at the bound
            urban_land = URBAN_LAND_MAX_M2 * n_urban[code]
        sigma = float(max(500.0, np.sqrt(urban_land / np.pi)))
        out[code] = PlacedStreet(
            share=float(share[i]),
            urban_share=float(urban_share[i]),
            dense=bool(urban_share[i] >= 1.0 and per_community <= URBAN_LAND_MAX_M2),
            centre=centre,
            anchors=anchors,
            town_sigma=sigma,
            core_m=HALF_PEAK * sigma if open_land else None,
        )
    return out
