"""The four department layers, each drawn independently over the whole district (local metres).

- ``urban_mgmt`` 城管: road blocks (the outline cut by the road network, small blocks merged), coded
  CG + street code + sequence; in open land (a district whose towns are its only built-up land)
  the blocks outside the towns are grouped per street into cells of about
  :data:`OPEN_LAND_CELL_M2`.
- ``emergency`` 应急: each street split into 3–8 big grids.
- ``ecology`` 生态环境: a belt along the river (Qixia: the Yangtze) split into shoreline segments,
  big inland cells.
- ``politics_law`` 政法综治: per community 1–n grids, outer lines on the community boundary.

Each layer is one polygonization (like the unified grids), so before defects are planted it is a
valid coverage of the outline; the differences between layers are the real ones (other seeds,
other sizes, other shapes), which is what a 多网合一 merge has to reconcile.
"""

from __future__ import annotations

import numpy as np
import shapely

from geo_grid.demo import _partition as part
from geo_grid.layers import (
    BUILTIN_LAYERS,
    ECOLOGY,
    EMERGENCY,
    POLITICS_LAW,
    URBAN_MGMT,
)

__all__ = ["build_department_layers"]

_DEPT = {info.key: info.department for info in BUILTIN_LAYERS}
RIVER_BELT_M = 1800.0
#: A 城管 grid of open land (steppe, fields between towns): what a team covers by car.
OPEN_LAND_CELL_M2 = 100e6


def _partition_regions(outline, regions: list, seeds: list, extra_lines=()) -> tuple[list, list]:
    """Split every region by its seeds in one noded polygonization; (cells, region index)."""
    lines = [outline.boundary, *[shapely.boundary(r) for r in regions], *extra_lines]
    for r, s in zip(regions, seeds, strict=True):
        lines.extend(part.voronoi_cut_lines(s, r))
    faces, xy = part.faces_of(lines, outline)
    tree = shapely.STRtree(np.array(regions, dtype=object))
    reg = tree.nearest(shapely.points(xy))  # 0 distance for the region holding the face
    offsets = np.cumsum([0] + [len(s) for s in seeds])
    label = np.empty(len(xy), dtype=np.int64)
    for i, s in enumerate(seeds):
        m = reg == i
        label[m] = offsets[i] + part.nearest(xy[m], s)
    cells = part.assign_faces(faces, label, int(offsets[-1]))
    region_of = np.repeat(np.arange(len(seeds)), [len(s) for s in seeds]).tolist()
    keep = [i for i, c in enumerate(cells) if not c.is_empty]
    return [cells[i] for i in keep], [region_of[i] for i in keep]


def _majority(geoms, parents: dict[str, object]) -> list[str]:
    """Code of the parent holding most of each geometry's area."""
    codes = sorted(parents)
    tree = shapely.STRtree(np.array([parents[c] for c in codes], dtype=object))
    gi, pi = tree.query(np.array(geoms, dtype=object), predicate="intersects")
    area = shapely.area(
        shapely.intersection(np.array(geoms, dtype=object)[gi], tree.geometries[pi])
    )
    best: dict[int, tuple[float, int]] = {}
    for g, p, a in zip(gi, pi, area, strict=True):
        if a > best.get(int(g), (-1.0, 0))[0]:
            best[int(g)] = (float(a), int(p))
    return [codes[best[i][1]] for i in range(len(geoms))]


def _samples(xy: np.ndarray, region) -> np.ndarray:
    return xy[part.inside(region, xy[:, 0], xy[:, 1])]


def _table(layer, codes, names, geoms, streets, comms) -> dict:
    return {
        "code": codes,
        "name": names,
        "layer": [layer] * len(codes),
        "community_code": comms,
        "street_code": streets,
        "households": [None] * len(codes),
        "department": [_DEPT[layer]] * len(codes),
        "geometry": list(geoms),
    }


def _emergency(outline, street_local, street_name, xy, rng) -> dict:
    codes = sorted(street_local)
    areas = np.array([street_local[c].area for c in codes])
    span = areas.max() - areas.min()
    rel = (areas - areas.min()) / span if span > 0 else np.full(len(areas), 0.5)
    k = np.clip(np.round(3 + 5 * rel), 3, 8)
    seeds = [
        part.weighted_kmeans(pts, np.ones(len(pts)), int(n), rng)
        for pts, n in ((_samples(xy, street_local[c]), k_) for c, k_ in zip(codes, k, strict=True))
    ]
    cells, reg = _partition_regions(outline, [street_local[c] for c in codes], seeds)
    seq: dict[str, int] = {}
    out_codes, names, streets = [], [], []
    for r in reg:
        s = codes[r]
        seq[s] = seq.get(s, 0) + 1
        out_codes.append(f"YJ{s}{seq[s]:02d}")
        names.append(f"{street_name[s]}应急第{seq[s]}网格")
        streets.append(s)
    return _table(EMERGENCY, out_codes, names, cells, streets, [None] * len(cells))


def _politics_law(outline, comm_local, comm_short, lay, xy, rng) -> dict:
    codes = sorted(comm_local)
    n_unified = {c: lay.grid_community.count(c) for c in codes}
    seeds = []
    for c in codes:
        mask = part.inside(comm_local[c], xy[:, 0], xy[:, 1])
        pts, w = xy[mask], lay.sample_w[mask]
        k = max(1, int(round(n_unified[c] * rng.uniform(0.7, 1.05))))
        if len(pts) <= 1 or k == 1:
            seeds.append(shapely.get_coordinates(shapely.point_on_surface(comm_local[c])))
        else:
            seeds.append(part.weighted_kmeans(pts, w, min(k, len(pts)), rng, iters=6))
    cells, reg = _partition_regions(outline, [comm_local[c] for c in codes], seeds)
    seq: dict[str, int] = {}
    out_codes, names, comms = [], [], []
    for r in reg:
        c = codes[r]
        seq[c] = seq.get(c, 0) + 1
        out_codes.append(f"ZF{c}{seq[c]:03d}")
        names.append(f"{comm_short[c]}综治第{seq[c]}网格")
        comms.append(c)
    streets = [c[:9] for c in comms]
    return _table(POLITICS_LAW, out_codes, names, cells, streets, comms)


def _merge_small(cells: list, min_area: float) -> list:
    """Merge cells smaller than ``min_area`` into the neighbour they share most boundary with."""
    arr = np.array(cells, dtype=object)
    parent = list(range(len(arr)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    tree = shapely.STRtree(arr)
    area = shapely.area(arr)
    for i in np.argsort(area, kind="stable"):
        if area[i] >= min_area:
            break
        nb = [j for j in tree.query(arr[i], predicate="intersects") if j != i]
        if not nb:
            continue
        shared = shapely.length(shapely.intersection(arr[i].boundary, shapely.boundary(arr[nb])))
        j = nb[int(np.argmax(shared))]
        if shared.max() > 0:
            parent[find(int(i))] = find(int(j))
    groups: dict[int, list[int]] = {}
    for i in range(len(arr)):
        groups.setdefault(find(i), []).append(i)
    return [
        shapely.coverage_union_all(arr[m]) if len(m) > 1 else arr[m[0]]
        for m in sorted(groups.values())
    ]


def _open_land_cells(blocks: list, open_land, street_local, rng) -> tuple[list, list]:
    """The blocks of the towns, and the blocks of ``open_land`` grouped per street into cells of
    about :data:`OPEN_LAND_CELL_M2` (k-means of their centres, each group's parts one cell)."""
    if open_land is None or open_land.is_empty:
        return blocks, []
    arr = np.array(blocks, dtype=object)
    inside = shapely.contains(open_land, shapely.point_on_surface(arr))
    streets = np.array(_majority(list(arr[inside]), street_local))
    opened, cells = arr[inside], []
    for s in sorted(set(streets)):
        mine = opened[streets == s]
        k = int(min(len(mine), max(1, round(shapely.area(mine).sum() / OPEN_LAND_CELL_M2))))
        cxy = shapely.get_coordinates(shapely.centroid(mine))
        lab = part.nearest(cxy, part.weighted_kmeans(cxy, shapely.area(mine), k, rng))
        for i in range(k):
            cells.extend(shapely.get_parts(shapely.coverage_union_all(mine[lab == i])))
    return list(arr[~inside]), cells


def _urban_mgmt(outline, street_local, street_name, road_geoms, xy, rng, open_land) -> dict:
    faces, _ = part.faces_of([outline.boundary, *road_geoms], outline)
    blocks, open_cells = _open_land_cells(
        _merge_small(list(faces), 80_000.0), open_land, street_local, rng
    )
    # very large blocks (fields, river) are split so a 城管 team can still walk them
    big = [b for b in blocks if b.area > 6e6]
    small = [b for b in blocks if b.area <= 6e6] + open_cells  # open land's cells stay whole
    blocks = small
    if big:
        seeds = []
        for b in big:
            pts = _samples(xy, b)
            k = max(2, int(b.area // 3e6))
            seeds.append(part.weighted_kmeans(pts, np.ones(len(pts)), min(k, len(pts)), rng))
        lines = [outline.boundary, *road_geoms, *shapely.boundary(open_cells)]
        for b, s in zip(big, seeds, strict=True):
            lines.extend(part.voronoi_cut_lines(s, b))
        faces, fxy = part.faces_of(lines, outline)
        # keep the small blocks as merged above: regroup faces by block, then by seed
        regions = small + big
        tree = shapely.STRtree(np.array(regions, dtype=object))
        reg = tree.nearest(shapely.points(fxy))
        label = reg.copy()
        nxt = len(regions)
        for bi, s in enumerate(seeds):
            m = reg == len(small) + bi
            label[m] = nxt + part.nearest(fxy[m], s)
            nxt += len(s)
        blocks = [c for c in part.assign_faces(faces, label, nxt) if not c.is_empty]
    streets = _majority(blocks, street_local)
    cxy = shapely.get_coordinates(shapely.point_on_surface(np.array(blocks, dtype=object)))
    order = sorted(range(len(blocks)), key=lambda i: (streets[i], -round(cxy[i, 1], -2), cxy[i, 0]))
    seq: dict[str, int] = {}
    codes, names, out_streets, geoms = [], [], [], []
    for i in order:
        s = streets[i]
        seq[s] = seq.get(s, 0) + 1
        codes.append(f"CG{s}{seq[s]:03d}")
        names.append(f"{street_name[s]}城管第{seq[s]}网格")
        out_streets.append(s)
        geoms.append(blocks[i])
    return _table(URBAN_MGMT, codes, names, geoms, out_streets, [None] * len(geoms))


def _ecology(outline, terrain, street_local, xy, code: str, short: str, rng) -> dict:
    """A belt along the river split into shoreline segments (when there is a river), and
    ``terrain.ecology_inland`` big cells inland."""
    river = terrain.river_line
    regions, seeds, lines = [], [], []
    if not river.is_empty:
        belt_ring = shapely.boundary(shapely.buffer(river, RIVER_BELT_M))
        belt = shapely.intersection(outline, shapely.buffer(river, RIVER_BELT_M))
        inland = shapely.difference(outline, belt)
        # shoreline segments: seeds every ~2.5 km along the river line, pushed into the belt
        merged = shapely.line_merge(river)
        seg_seeds = []
        for line in shapely.get_parts(merged):
            n = max(1, int(line.length // 2500))
            pts = shapely.line_interpolate_point(line, (np.arange(n) + 0.5) / n, normalized=True)
            seg_seeds.append(shapely.get_coordinates(pts))
        regions.append(belt)
        seeds.append(np.vstack(seg_seeds))
        lines.append(shapely.intersection(belt_ring, shapely.buffer(outline, 1.0)))
    else:
        inland = outline
    inland_pts = _samples(xy, inland)
    k = min(terrain.ecology_inland, len(inland_pts))
    regions.append(inland)
    seeds.append(part.weighted_kmeans(inland_pts, np.ones(len(inland_pts)), k, rng))
    cells, reg = _partition_regions(outline, regions, seeds, extra_lines=lines)
    streets = _majority(cells, street_local)
    codes, names = [], []
    n_belt = n_inland = 0
    first_inland = len(regions) - 1
    for r in reg:
        if r < first_inland:
            n_belt += 1
            codes.append(f"ST{code}A{n_belt:03d}")
            names.append(f"{terrain.river_name or ''}岸线第{n_belt}段生态网格")
        else:
            n_inland += 1
            codes.append(f"ST{code}B{n_inland:03d}")
            names.append(f"{short}生态第{n_inland}网格")
    return _table(ECOLOGY, codes, names, cells, streets, [None] * len(cells))


def build_department_layers(
    terrain, lay, street_local, comm_local, comm_short, street_name, road_geoms, spec, rng
) -> dict[str, dict]:
    """The four department layers as column dicts (geometry in local metres).

    ``spec`` gives the district code and short name the ecology layer's codes and names carry.
    """
    outline = terrain.outline
    xy = lay.sample_xy
    built_up = terrain.built_up
    open_land = None if built_up is None else shapely.difference(outline, built_up)
    return {
        POLITICS_LAW: _politics_law(outline, comm_local, comm_short, lay, xy, rng),
        URBAN_MGMT: _urban_mgmt(outline, street_local, street_name, road_geoms, xy, rng, open_land),
        EMERGENCY: _emergency(outline, street_local, street_name, xy, rng),
        ECOLOGY: _ecology(outline, terrain, street_local, xy, spec.code, spec.short, rng),
    }
