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


def build_unified(
    rng: np.random.Generator,
    n_grids: int,
    terrain: Terrain,
    comms: dict[str, list[Community]],
) -> UnifiedLayout:
    """Streets → communities → grids, as one noded polygonization.

    ``comms`` maps each street code to its real communities (code order).
    """
    outline = terrain.outline
    xy = part.lattice(outline, terrain.lattice_m, rng)
    anchor_idx = part.nearest(xy, terrain.anchors)
    anchor_street = np.array(terrain.anchor_street)
    street = anchor_street[anchor_idx]
    w = density(xy, street, terrain, rng)

    # street cut lines: borders between anchor cells of different streets
    minx, miny, maxx, maxy = outline.bounds
    extent = shapely.box(minx - 5e4, miny - 5e4, maxx + 5e4, maxy + 5e4)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(terrain.anchors), extend_to=extent, ordered=True
        )
    )
    street_codes = sorted(terrain.street_codes)
    street_region = {}
    lines = [outline.boundary]
    for code in street_codes:
        merged = shapely.union_all(cells[anchor_street == code])
        lines.append(shapely.intersection(merged.boundary, shapely.buffer(outline, 1.0)))
        street_region[code] = shapely.intersection(merged, outline)

    community_codes: list[str] = []
    community_kind: dict[str, str] = {}
    comm_seeds: dict[str, NDArray] = {}
    comm_region: dict[str, object] = {}
    sample_comm = np.full(len(xy), -1)
    for code in street_codes:
        mask = np.flatnonzero(street == code)
        members = comms[code]
        k = len(members)
        seeds = part.weighted_kmeans(xy[mask], np.sqrt(w[mask]), k, rng)
        lab = part.nearest(xy[mask], seeds)
        # densest clusters become the urban communities, the rest the villages
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
        lines.extend(part.voronoi_cut_lines(seeds, street_region[code]))
        base = len(community_codes)
        for ci in range(k):
            c = comm_of_cluster[ci]
            community_codes.append(c.code)
            community_kind[c.code] = c.kind
            comm_seeds[c.code] = seeds[ci]
            comm_region[c.code] = shapely.intersection(cluster_cells[ci], street_region[code])
        sample_comm[mask] = base + lab

    # households and grid counts per community
    n_comm = len(community_codes)
    mass = np.bincount(sample_comm, weights=w, minlength=n_comm)
    target = np.array(
        [URBAN_TARGET if community_kind[c] == "urban" else RURAL_TARGET for c in community_codes]
    )
    counts = allocate(mass / target, n_grids)

    grid_seed, grid_comm = [], []
    for ci, code in enumerate(community_codes):
        mask = np.flatnonzero(sample_comm == ci)
        k = int(min(counts[ci], len(mask)))
        seeds = part.weighted_kmeans(xy[mask], w[mask], k, rng) if k > 1 else xy[mask][:1]
        if len(mask) == 0:  # a community with no sample point: seed at its region
            seeds = shapely.get_coordinates(shapely.point_on_surface(comm_region[code]))
        # stable numbering: north to south, then west to east
        seeds = seeds[np.lexsort((seeds[:, 0], -np.round(seeds[:, 1], -2)))]
        lines.extend(part.voronoi_cut_lines(seeds, comm_region[code]))
        grid_seed.append(seeds)
        grid_comm.extend([code] * len(seeds))
    if len(grid_comm) != n_grids:
        raise RuntimeError(f"allocated {len(grid_comm)} grids instead of {n_grids}")

    faces, fxy = part.faces_of(lines, outline)
    f_street = anchor_street[part.nearest(fxy, terrain.anchors)]
    f_grid = np.full(len(fxy), -1)
    comm_index = {c: i for i, c in enumerate(community_codes)}
    offsets = np.cumsum([0] + [len(s) for s in grid_seed])
    for code in street_codes:
        fm = np.flatnonzero(f_street == code)
        members = [c.code for c in comms[code]]
        cs = np.array([comm_seeds[c] for c in members])
        f_comm = part.nearest(fxy[fm], cs)
        for j, ccode in enumerate(members):
            gm = fm[f_comm == j]
            ci = comm_index[ccode]
            f_grid[gm] = offsets[ci] + part.nearest(fxy[gm], grid_seed[ci])
    grids = part.assign_faces(faces, f_grid, n_grids)
    return UnifiedLayout(
        grid_geoms=grids,
        grid_community=grid_comm,
        grid_seed=np.vstack(grid_seed),
        community_codes=community_codes,
        community_kind=community_kind,
        sample_xy=xy,
        sample_w=w,
        sample_street=street,
        sample_comm=sample_comm,
    )
