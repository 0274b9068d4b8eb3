"""The unified (全科) grid tessellation of a district, bottom-up so that nesting is exact.

Streets come from anchor points (:class:`._terrain.Terrain`), communities from a density-weighted
k-means inside each street, grids from a density-weighted k-means inside each community, with the
number of grids per community allocated from its estimated households (urban grids hold ~300–500
households, rural ones ~80–300). All cuts are noded and polygonized together once (see
:mod:`._partition`), so a grid is a union of faces, a community the union of its grids and a
street the union of its communities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.demo import _partition as part
from geo_grid.demo._terrain import RURAL_TARGET, URBAN_TARGET, Terrain
from geo_grid.demo.spec import Community

__all__ = ["UnifiedLayout", "allocate", "build_unified"]


@dataclass
class UnifiedLayout:
    """Unified grids and their parents, in local metres, with the labels that tie them together."""

    grid_geoms: list  # Polygon/MultiPolygon per grid
    grid_community: list[str]  # community code per grid
    grid_seed: NDArray
    community_codes: list[str]
    community_kind: dict[str, str]
    sample_xy: NDArray  # lattice points with their density, street and community
    sample_w: NDArray
    sample_street: NDArray
    sample_comm: NDArray  # index into community_codes


def density(xy: NDArray, street: NDArray, terrain: Terrain, rng: np.random.Generator) -> NDArray:
    """Relative household density at sample points (1 ≈ dense urban)."""
    w = np.full(len(xy), 0.07)
    dense = np.isin(street, sorted(terrain.urban_streets))
    w[dense] = 1.0
    for code, centres in terrain.town_centres.items():
        mask = street == code
        for x, y, sigma in centres:
            c = np.array([x, y])
            d2 = ((xy[mask] - c) ** 2).sum(axis=1)
            w[mask] += 1.0 * np.exp(-d2 / (2 * sigma**2))
    w *= rng.uniform(0.75, 1.25, len(xy))
    in_water = shapely.contains_xy(terrain.water, xy[:, 0], xy[:, 1])
    w[in_water] *= 0.02
    for _, park in terrain.parks:
        w[shapely.contains_xy(park, xy[:, 0], xy[:, 1])] *= 0.08
    return w


def allocate(need: NDArray, total: int) -> NDArray:
    """Integers ≥ 1 proportional to ``need`` that sum to ``total`` (largest remainder).

    >>> allocate(np.array([1.0, 1.0, 8.0]), 10).tolist()
    [1, 1, 8]
    >>> int(allocate(np.array([0.1, 5.0, 7.3]), 20).sum())
    20
    """
    if total < len(need):
        raise ValueError(f"cannot give {len(need)} units at least one each out of {total}")
    lo, hi = 0.0, total / max(need.min(), 1e-9) + 1.0
    for _ in range(100):  # scale so that sum(max(1, floor(s*need))) <= total, as large as possible
        mid = (lo + hi) / 2
        if np.maximum(1, np.floor(mid * need)).sum() <= total:
            lo = mid
        else:
            hi = mid
    base = np.maximum(1, np.floor(lo * need)).astype(int)
    rest = total - int(base.sum())
    frac = lo * need - np.floor(lo * need)
    frac[base == 1] = np.where(lo * need[base == 1] < 1, -1, frac[base == 1])
    for i in np.argsort(-frac, kind="stable")[:rest]:
        base[i] += 1
    return base


@dataclass
class _Communities:
    """Communities laid out inside the streets: codes in layout order, their kind, k-means seed and
    region, and the community (index into ``codes``) of every sample point."""

    codes: list[str]
    kind: dict[str, str]
    seeds: dict[str, NDArray]
    region: dict[str, object]
    sample: NDArray


def build_unified(
    rng: np.random.Generator,
    n_grids: int,
    terrain: Terrain,
    comms: dict[str, list[Community]],
) -> UnifiedLayout:
    """Streets → communities → grids, as one noded polygonization.

    ``comms`` maps each street code to its real communities (code order). Every step adds its cut
    lines to ``lines``, polygonized once at the end, so the levels nest exactly.
    """
    outline = terrain.outline
    xy = part.lattice(outline, terrain.lattice_m, rng)
    anchor_street = np.array(terrain.anchor_street)
    street = anchor_street[part.nearest(xy, terrain.anchors)]
    w = density(xy, street, terrain, rng)
    minx, miny, maxx, maxy = outline.bounds
    extent = shapely.box(minx - 5e4, miny - 5e4, maxx + 5e4, maxy + 5e4)
    street_codes = sorted(terrain.street_codes)
    lines = [outline.boundary]
    street_region = _street_regions(terrain, street_codes, extent, lines)
    cm = _Communities([], {}, {}, {}, np.full(len(xy), -1))
    for code in street_codes:
        samples = (xy, w, street == code)
        _street_communities(cm, comms[code], samples, street_region[code], extent, rng, lines)
    grid_seed, grid_comm = _grid_seeds(cm, xy, w, n_grids, rng, lines)
    faces, fxy = part.faces_of(lines, outline)
    f_grid = _face_grids(fxy, terrain, street_codes, comms, cm, grid_seed)
    return UnifiedLayout(
        grid_geoms=part.assign_faces(faces, f_grid, n_grids),
        grid_community=grid_comm,
        grid_seed=np.vstack(grid_seed),
        community_codes=cm.codes,
        community_kind=cm.kind,
        sample_xy=xy,
        sample_w=w,
        sample_street=street,
        sample_comm=cm.sample,
    )


def _street_regions(terrain: Terrain, street_codes: list[str], extent, lines: list) -> dict:
    """Each street's region: the union of its anchors' Voronoi cells within the outline; the
    borders between cells of different streets go into ``lines``."""
    outline = terrain.outline
    anchor_street = np.array(terrain.anchor_street)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(terrain.anchors), extend_to=extent, ordered=True
        )
    )
    street_region = {}
    for code in street_codes:
        merged = shapely.union_all(cells[anchor_street == code])
        lines.append(shapely.intersection(merged.boundary, shapely.buffer(outline, 1.0)))
        street_region[code] = shapely.intersection(merged, outline)
    return street_region


def _street_communities(
    cm: _Communities, members: list[Community], samples, region, extent, rng, lines: list
) -> None:
    """Lay out one street's communities: a weighted k-means of its sample points, the densest
    clusters to its urban communities (in random order), the rest to its villages."""
    xy, w, in_street = samples
    mask = np.flatnonzero(in_street)
    k = len(members)
    seeds = part.weighted_kmeans(xy[mask], np.sqrt(w[mask]), k, rng)
    lab = part.nearest(xy[mask], seeds)
    dens = np.bincount(lab, weights=w[mask], minlength=k) / np.maximum(
        np.bincount(lab, minlength=k), 1
    )
    order = np.argsort(-dens, kind="stable")
    urban = [c for c in members if c.kind == "urban"]
    rural = [c for c in members if c.kind == "rural"]
    urban = [urban[i] for i in rng.permutation(len(urban))]
    rural = [rural[i] for i in rng.permutation(len(rural))]
    ranked = urban + rural
    comm_of_cluster = {int(order[i]): ranked[i] for i in range(k)}
    cluster_cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=extent, ordered=True)
    )
    lines.extend(part.voronoi_cut_lines(seeds, region))
    base = len(cm.codes)
    for ci in range(k):
        c = comm_of_cluster[ci]
        cm.codes.append(c.code)
        cm.kind[c.code] = c.kind
        cm.seeds[c.code] = seeds[ci]
        cm.region[c.code] = shapely.intersection(cluster_cells[ci], region)
    cm.sample[mask] = base + lab


def _grid_seeds(cm: _Communities, xy, w, n_grids: int, rng, lines: list) -> tuple[list, list]:
    """Grid seeds per community (counts allocated from its estimated households, numbered north
    to south then west to east) and the community of every grid; cut lines go into ``lines``."""
    mass = np.bincount(cm.sample, weights=w, minlength=len(cm.codes))
    target = np.array([URBAN_TARGET if cm.kind[c] == "urban" else RURAL_TARGET for c in cm.codes])
    counts = allocate(mass / target, n_grids)
    grid_seed, grid_comm = [], []
    for ci, code in enumerate(cm.codes):
        mask = np.flatnonzero(cm.sample == ci)
        k = int(min(counts[ci], len(mask)))
        seeds = part.weighted_kmeans(xy[mask], w[mask], k, rng) if k > 1 else xy[mask][:1]
        if len(mask) == 0:  # a community with no sample point: seed at its region
            seeds = shapely.get_coordinates(shapely.point_on_surface(cm.region[code]))
        seeds = seeds[np.lexsort((seeds[:, 0], -np.round(seeds[:, 1], -2)))]
        lines.extend(part.voronoi_cut_lines(seeds, cm.region[code]))
        grid_seed.append(seeds)
        grid_comm.extend([code] * len(seeds))
    if len(grid_comm) != n_grids:
        raise RuntimeError(f"allocated {len(grid_comm)} grids instead of {n_grids}")
    return grid_seed, grid_comm


def _face_grids(fxy, terrain: Terrain, street_codes, comms, cm: _Communities, grid_seed) -> NDArray:
    """The grid (index in layout order) of every face: its street by the nearest anchor, then the
    nearest community seed of that street, then the nearest grid seed of that community."""
    anchor_street = np.array(terrain.anchor_street)
    f_street = anchor_street[part.nearest(fxy, terrain.anchors)]
    f_grid = np.full(len(fxy), -1)
    comm_index = {c: i for i, c in enumerate(cm.codes)}
    offsets = np.cumsum([0] + [len(s) for s in grid_seed])
    for code in street_codes:
        fm = np.flatnonzero(f_street == code)
        members = [c.code for c in comms[code]]
        cs = np.array([cm.seeds[c] for c in members])
        f_comm = part.nearest(fxy[fm], cs)
        for j, ccode in enumerate(members):
            gm = fm[f_comm == j]
            ci = comm_index[ccode]
            f_grid[gm] = offsets[ci] + part.nearest(fxy[gm], grid_seed[ci])
    return f_grid
