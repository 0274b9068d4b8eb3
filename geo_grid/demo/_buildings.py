"""Building footprints and the households they hold, grid by grid.

Urban grids get 小区 of residential slabs and towers on a rotated lattice (households = units ×
floors × flats per landing), plus a few commercial buildings; rural grids get village houses in
hamlets, one 组 (group) per hamlet. Footprints sit on a lattice wider than the largest footprint and
at least 8 m inside the grid's land, so they never overlap each other or cross a grid line.
A grid's households are the sum over its buildings: the targets (urban 300–500, rural 80–300) are
met by choosing how many buildings and floors, not by a separate number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.demo import _partition as part
from geo_grid.demo._names import NamePool, chinese_numeral

__all__ = ["Buildings", "build_buildings", "rectangles"]

URBAN_BAND = (300, 500)
RURAL_BAND = (80, 300)
_STYLES = (  # (floors lo, hi, units lo, hi, flats per landing lo, hi)
    (5, 7, 2, 4, 2, 2),  # 1980s–90s 新村 walk-ups
    (11, 18, 1, 3, 2, 4),  # mid-rise
    (24, 33, 1, 2, 2, 4),  # towers
)


@dataclass
class Buildings:
    """Column lists of the buildings table (geometry in EPSG:4549)."""

    code: list[str] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    community_code: list[str] = field(default_factory=list)
    grid_code: list[str] = field(default_factory=list)
    xiaoqu: list[str | None] = field(default_factory=list)
    building_no: list[int | None] = field(default_factory=list)
    village: list[str | None] = field(default_factory=list)
    group_no: list[int | None] = field(default_factory=list)
    house_no: list[int | None] = field(default_factory=list)
    households: list[int] = field(default_factory=list)
    floors: list[int] = field(default_factory=list)
    units: list[int] = field(default_factory=list)
    flats: list[int] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    geometry: list = field(default_factory=list)

    def add(self, **row) -> None:
        for key, value in row.items():
            getattr(self, key).append(value)


def rectangles(centres: NDArray, w: NDArray, d: NDArray, angle: float) -> NDArray:
    """Rotated rectangles (w × d metres, long side at ``angle``) around centres.

    >>> r = rectangles(np.array([[0.0, 0.0]]), np.array([20.0]), np.array([10.0]), 0.0)
    >>> float(r[0].area)
    200.0
    """
    c, s = math.cos(angle), math.sin(angle)
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]])
    local = corners[None, :, :] * np.stack([w, d], axis=1)[:, None, :]
    rot = np.stack(
        [local[..., 0] * c - local[..., 1] * s, local[..., 0] * s + local[..., 1] * c], axis=-1
    )
    return shapely.polygons(rot + centres[:, None, :])


def _slots(region, dx: float, dy: float, angle: float, rng: np.random.Generator) -> NDArray:
    """Centres of a rotated lattice inside ``region``."""
    minx, miny, maxx, maxy = region.bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half = np.hypot(maxx - minx, maxy - miny) / 2 + max(dx, dy)
    u = np.arange(-half, half, dx) + rng.uniform(0, dx)
    v = np.arange(-half, half, dy) + rng.uniform(0, dy)
    gu, gv = np.meshgrid(u, v)
    c, s = math.cos(angle), math.sin(angle)
    x = cx + gu.ravel() * c - gv.ravel() * s
    y = cy + gu.ravel() * s + gv.ravel() * c
    keep = part.inside(region, x, y)
    return np.column_stack([x[keep], y[keep]])


def _fit(region, centres, w, d, angle):
    """Footprints among the candidates that lie entirely within ``region``."""
    if len(centres) == 0:
        return centres, w, d, np.array([], dtype=object)
    rects = rectangles(centres, w, d, angle)
    ok = shapely.within(rects, region)
    return centres[ok], w[ok], d[ok], rects[ok]


def _buildable(grid, land) -> object:
    region = shapely.buffer(shapely.intersection(grid, land), -8.0)
    if region.area < 2000.0:
        region = shapely.buffer(grid, -8.0)
    if region.area < 300.0:
        region = shapely.buffer(grid, -2.0)
    shapely.prepare(region)
    return region


def _urban_grid(out, grid, code, comm, comm_short, land, rng, pool, seq_xq) -> None:
    region = _buildable(grid, land)
    angle = float(rng.uniform(0, math.pi / 2))
    target = int(rng.integers(320, 481))
    centres = _slots(region, 58.0, 46.0, angle, rng)
    w = rng.uniform(18.0, 40.0, len(centres))
    d = rng.uniform(11.0, 16.0, len(centres))
    centres, w, d, rects = _fit(region, centres, w, d, angle)
    if len(rects) == 0:  # tiny or odd grid: one compact tower at its most interior point
        p = shapely.get_coordinates(shapely.point_on_surface(region if region.area else grid))
        centres, w, d = p, np.array([14.0]), np.array([12.0])
        rects = rectangles(p, w, d, angle)
    n_xq = 1 if len(rects) < 14 else 2
    hub = centres[rng.choice(len(centres), size=min(n_xq, len(centres)), replace=False)]
    lab = ((centres[:, None, :] - hub[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    dist = ((centres - hub[lab]) ** 2).sum(axis=1)
    order = np.lexsort((dist, lab))
    rows, total = [], 0
    style = [_STYLES[int(rng.integers(len(_STYLES)))] for _ in range(len(hub))]
    for i in order:
        if total >= target:
            break
        f0, f1, u0, u1, k0, k1 = style[lab[i]]
        floors = int(rng.integers(f0, f1 + 1))
        units = int(rng.integers(u0, u1 + 1))
        flats = int(rng.integers(k0, k1 + 1))
        rem = target - total
        if units * floors * flats > rem:
            floors = max(1, math.ceil(rem / (units * flats)))
        rows.append([i, floors, units, flats])
        total += units * floors * flats
    while total < URBAN_BAND[0]:  # too few slots: build higher
        for r in rows:
            if total >= URBAN_BAND[0]:
                break
            if r[1] < 40:
                r[1] += 1
                total += r[2] * r[3]
    used = {r[0] for r in rows}
    names = [pool.xiaoqu() for _ in range(len(hub))]
    counters = [0] * len(hub)
    for i, floors, units, flats in sorted(rows, key=lambda r: (lab[r[0]], dist[r[0]])):
        counters[lab[i]] += 1
        no = counters[lab[i]]
        out.add(
            code=f"B{code}{seq_xq[0]:04d}",
            name=f"{names[lab[i]]}{no}栋",
            community_code=comm,
            grid_code=code,
            xiaoqu=names[lab[i]],
            building_no=no,
            village=None,
            group_no=None,
            house_no=None,
            households=units * floors * flats,
            floors=floors,
            units=units,
            flats=flats,
            kind="residential",
            geometry=rects[i],
        )
        seq_xq[0] += 1
    spare = [i for i in order if i not in used]
    for j, i in enumerate(spare[: int(rng.integers(0, 3))]):
        out.add(
            code=f"B{code}{seq_xq[0]:04d}",
            name=f"{comm_short}商业{j + 1}号楼",
            community_code=comm,
            grid_code=code,
            xiaoqu=None,
            building_no=None,
            village=None,
            group_no=None,
            house_no=None,
            households=0,
            floors=int(rng.integers(2, 7)),
            units=0,
            flats=0,
            kind="commercial",
            geometry=rects[i],
        )
        seq_xq[0] += 1


def _rural_grid(out, grid, code, comm, village, land, rng, group_counter, seq) -> None:
    region = _buildable(grid, land)
    angle = float(rng.uniform(0, math.pi / 2))
    target = int(rng.integers(90, 281))
    centres = _slots(region, 24.0, 21.0, angle, rng)
    if len(centres) == 0:
        p = shapely.get_coordinates(shapely.point_on_surface(region if region.area else grid))
        centres = p
    n_ham = 1 if target < 160 else 2
    hub = centres[rng.choice(len(centres), size=min(n_ham, len(centres)), replace=False)]
    lab = ((centres[:, None, :] - hub[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    dist = ((centres - hub[lab]) ** 2).sum(axis=1)
    pick = np.argsort(dist, kind="stable")[: int(target * 1.3) + 5]
    c, lab_p = centres[pick], lab[pick]
    w = rng.uniform(10.0, 15.0, len(c))
    d = rng.uniform(8.0, 12.0, len(c))
    rects = rectangles(c, w, d, angle)
    ok = shapely.within(rects, region)
    idx = np.flatnonzero(ok)[:target]
    if len(idx) == 0:
        idx = np.array([0])
    per_house = np.ones(len(idx), dtype=int)
    short = target - len(idx)
    # not enough room: some houses hold two or three households (more on a very cramped grid)
    most = max(3, math.ceil(target / len(idx)))
    i = 0
    while short > 0:
        if per_house[i % len(idx)] < most:
            per_house[i % len(idx)] += 1
            short -= 1
        i += 1
    groups: dict[int, int] = {}
    for h in sorted({int(lab_p[j]) for j in idx}):
        group_counter[comm] = group_counter.get(comm, 0) + 1
        groups[h] = group_counter[comm]
    numbers: dict[int, int] = {}
    position = {int(j): k for k, j in enumerate(idx)}
    for j in sorted(idx, key=lambda j: (lab_p[j], c[j, 0], c[j, 1])):
        g = groups[int(lab_p[j])]
        numbers[g] = numbers.get(g, 0) + 1
        hh = int(per_house[position[int(j)]])
        out.add(
            code=f"B{code}{seq[0]:04d}",
            name=f"{village}{chinese_numeral(g)}组{numbers[g]}号",
            community_code=comm,
            grid_code=code,
            xiaoqu=None,
            building_no=None,
            village=village,
            group_no=g,
            house_no=numbers[g],
            households=hh,
            floors=int(rng.integers(1, 4)),
            units=1,
            flats=hh,
            kind="village",
            geometry=rects[j],
        )
        seq[0] += 1


def build_buildings(
    grid_geoms, grid_codes, grid_comm, comm_kind, comm_short, land, rng, pool: NamePool
) -> Buildings:
    """Buildings of every unified grid (EPSG:4549), in grid order."""
    out = Buildings()
    group_counter: dict[str, int] = {}
    shapely.prepare(land)
    for geom, code, comm in zip(grid_geoms, grid_codes, grid_comm, strict=True):
        seq = [1]
        if comm_kind[comm] == "urban":
            _urban_grid(out, geom, code, comm, comm_short[comm], land, rng, pool, seq)
        else:
            _rural_grid(out, geom, code, comm, comm_short[comm], land, rng, group_counter, seq)
    return out
