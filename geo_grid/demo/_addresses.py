"""The standard address book (标准地址库) and the grid roster, drawn from buildings and roads.

Three address forms, as people write them: 道路+门牌 ('尧佳路12号': odd numbers on the left of the
road's direction, even on the right, growing along it), 小区+栋+单元+室 ('尧林仙居3栋2单元301室') and
村+组+号 ('石埠桥村三组15号'). Every village house gets an address; flats are a seeded sample so the
book holds about ``target`` entries (a district's book is never complete either).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geo_grid.address import LIBRARY_COMPONENTS
from geo_grid.demo._buildings import Buildings
from geo_grid.demo._names import person_names, phone_numbers

__all__ = ["build_addresses", "build_roster"]

DOOR_STEP_M = 10.0  # one door-number step per 10 m of road


def _points_in_rects(rects, rng: np.random.Generator, n_per: np.ndarray) -> np.ndarray:
    """``n_per[i]`` random points well inside rectangle ``rects[i]`` (first 4 corners)."""
    corners = shapely.get_coordinates(rects).reshape(len(rects), 5, 2)
    rep = np.repeat(np.arange(len(rects)), n_per)
    a = rng.uniform(0.15, 0.85, len(rep))[:, None]
    b = rng.uniform(0.15, 0.85, len(rep))[:, None]
    c0, c1, c3 = corners[rep, 0], corners[rep, 1], corners[rep, 3]
    return c0 + a * (c1 - c0) + b * (c3 - c0)


class _DoorBook:
    """Door numbers per (road, side), strictly increasing with the distance along the road.

    Plates are collected first and numbered at the end: number step n ≈ distance / 10 m, bumped
    past the previous plate on the same side, odd on the left (2n+1), even on the right (2n+2).
    """

    def __init__(self):
        self.plates: list[tuple[int, int, float, int]] = []  # road, side, s, row

    def take(self, road: int, side: int, s: float, row: int) -> None:
        self.plates.append((road, side, s, row))

    def numbers(self) -> dict[int, int]:
        out: dict[int, int] = {}
        last: dict[tuple[int, int], int] = {}
        for road, side, s, row in sorted(self.plates):
            n = max(int(round(s / DOOR_STEP_M)), last.get((road, side), -1) + 1)
            last[(road, side)] = n
            out[row] = 2 * n + 1 if side == 0 else 2 * n + 2
        return out


def _road_frame(lines, idx: np.ndarray, xy: np.ndarray):
    """Distance along road ``idx`` of the projection of ``xy`` and the side (0 left, 1 right)."""
    pts = shapely.points(xy)
    s = shapely.line_locate_point(lines[idx], pts)
    p0 = shapely.get_coordinates(shapely.line_interpolate_point(lines[idx], np.maximum(s - 1, 0)))
    p1 = shapely.get_coordinates(
        shapely.line_interpolate_point(lines[idx], np.minimum(s + 1, shapely.length(lines[idx])))
    )
    t = p1 - p0
    r = xy - p0
    side = np.where(t[:, 0] * r[:, 1] - t[:, 1] * r[:, 0] > 0, 0, 1)
    return s, side


def build_addresses(
    b: Buildings,
    grid_codes: list[str],
    grid_geoms,
    grid_comm: dict[str, str],
    comm_street: dict[str, str],
    comm_short: dict[str, str],
    comm_kind: dict[str, str],
    street_name: dict[str, str],
    road_names: list[str],
    road_geoms,
    land,
    rng: np.random.Generator,
    *,
    prefix: str,
    target: int = 100_000,
    first_id: int = 1,
) -> pd.DataFrame:
    """Address rows with local (metric) coordinates ``x``, ``y``; ids in generation order.

    ``prefix`` is the district's administrative prefix ('江苏省南京市栖霞区'); ids run from
    ``first_id`` so that districts stored together do not share one.
    """
    rows: dict[str, list] = {
        k: [] for k in ["local_text", *LIBRARY_COMPONENTS, "building_code", "grid_code", "x", "y"]
    }

    def add(n: int, **cols) -> None:
        for key in rows:
            value = cols.get(key)
            rows[key].extend(value if isinstance(value, list | np.ndarray) else [value] * n)

    kind = np.array(b.kind)
    rects = np.array(b.geometry, dtype=object)
    codes = np.array(b.code)
    book = _DoorBook()

    # village houses: one address each
    vil = np.flatnonzero(kind == "village")
    pts = _points_in_rects(rects[vil], rng, np.ones(len(vil), dtype=int))
    add(
        len(vil),
        local_text=[b.name[i] for i in vil],
        door_no=[str(b.house_no[i]) for i in vil],
        village=[b.village[i] for i in vil],
        group_no=[str(b.group_no[i]) for i in vil],
        building_code=list(codes[vil]),
        grid_code=[b.grid_code[i] for i in vil],
        x=list(pts[:, 0]),
        y=list(pts[:, 1]),
    )

    # commercial buildings: a door plate on the nearest road, the point inside the building
    tree = shapely.STRtree(road_geoms)
    com = np.flatnonzero(kind == "commercial")
    if len(com):
        cxy = shapely.get_coordinates(shapely.centroid(rects[com]))
        near = tree.nearest(shapely.points(cxy))
        s, side = _road_frame(road_geoms, near, cxy)
        for i, r, si, sd, (x, y) in zip(com, near, s, side, cxy, strict=True):
            book.take(int(r), int(sd), float(si), len(rows["x"]))
            add(
                1,
                road=road_names[r],
                building_code=codes[i],
                grid_code=b.grid_code[i],
                x=x,
                y=y,
            )

    # frontage door plates along roads (shops, gates), in built-up grids
    grid_arr = np.array(grid_geoms, dtype=object)
    grid_tree = shapely.STRtree(grid_arr)
    bld_tree = shapely.STRtree(rects)
    urban_grid = np.array([comm_kind[grid_comm[c]] == "urban" for c in grid_codes])
    total_len = float(shapely.length(road_geoms).sum())
    spacing = max(40.0, 2 * total_len / max(1, 14_000 * target // 100_000))
    fr_road, fr_s, fr_side, fr_xy = [], [], [], []
    for r, line in enumerate(road_geoms):
        s = np.arange(spacing / 2, line.length - 5, spacing)
        if len(s) == 0:
            continue
        p = shapely.get_coordinates(shapely.line_interpolate_point(line, s))
        q = shapely.get_coordinates(shapely.line_interpolate_point(line, s + 1))
        t = (q - p) / np.maximum(np.linalg.norm(q - p, axis=1), 1e-9)[:, None]
        normal = np.column_stack([-t[:, 1], t[:, 0]])
        for sd, sign in ((0, 1.0), (1, -1.0)):
            fr_road.append(np.full(len(s), r))
            fr_s.append(s)
            fr_side.append(np.full(len(s), sd))
            fr_xy.append(p + sign * 12.0 * normal)
    fr_road = np.concatenate(fr_road)
    fr_s = np.concatenate(fr_s)
    fr_side = np.concatenate(fr_side)
    fr_xy = np.concatenate(fr_xy)
    fpts = shapely.points(fr_xy)
    pi, gi = grid_tree.query(fpts, predicate="within")
    grid_of = np.full(len(fpts), -1)
    grid_of[pi] = gi
    on_land = shapely.contains_xy(land, fr_xy[:, 0], fr_xy[:, 1])
    in_bld = np.zeros(len(fpts), dtype=bool)
    bi, _ = bld_tree.query(fpts, predicate="dwithin", distance=2.0)
    in_bld[bi] = True
    keep = (grid_of >= 0) & on_land & ~in_bld
    keep &= np.where(grid_of >= 0, urban_grid[grid_of], False) | (rng.random(len(fpts)) < 0.25)
    for k in np.flatnonzero(keep):
        r = int(fr_road[k])
        book.take(r, int(fr_side[k]), float(fr_s[k]), len(rows["x"]))
        add(
            1,
            road=road_names[r],
            grid_code=grid_codes[grid_of[k]],
            x=fr_xy[k, 0],
            y=fr_xy[k, 1],
        )

    for row, no in book.numbers().items():
        rows["door_no"][row] = str(no)
        rows["local_text"][row] = f"{rows['road'][row]}{no}号"

    # flats: a seeded sample of every residential building's rooms
    res = np.flatnonzero(kind == "residential")
    rooms = np.array([b.households[i] for i in res])
    p = min(1.0, max(0.0, (target - len(rows["x"])) / max(int(rooms.sum()), 1)))
    take = rng.binomial(rooms, p)
    pts = _points_in_rects(rects[res], rng, take)
    pos = 0
    for i, m, n_rooms in zip(res, take, rooms, strict=True):
        if m == 0:
            continue
        pick = np.sort(rng.choice(n_rooms, size=m, replace=False))
        f, k = b.floors[i], b.flats[i]
        unit = pick // (f * k) + 1
        floor = (pick // k) % f + 1
        flat = pick % k + 1
        room = [f"{fl}{fa:02d}" for fl, fa in zip(floor, flat, strict=True)]
        xq, no = b.xiaoqu[i], b.building_no[i]
        add(
            int(m),
            local_text=[f"{xq}{no}栋{u}单元{r}室" for u, r in zip(unit, room, strict=True)],
            xiaoqu=xq,
            building=str(no),
            unit=[str(u) for u in unit],
            room=room,
            building_code=codes[i],
            grid_code=b.grid_code[i],
            x=list(pts[pos : pos + m, 0]),
            y=list(pts[pos : pos + m, 1]),
        )
        pos += m

    df = pd.DataFrame(rows)
    df["community_code"] = df["grid_code"].map(grid_comm)
    df["street_code"] = df["community_code"].map(comm_street)
    short = df["community_code"].map(comm_short)
    # a village address already starts with the village ('石埠桥村三组15号'): name it once
    repeat = pd.Series(
        [lt.startswith(s) for lt, s in zip(df["local_text"], short, strict=True)], index=df.index
    )
    df["full_text"] = (
        prefix + df["street_code"].map(street_name) + short.where(~repeat, "") + df["local_text"]
    )
    df.insert(0, "address_id", np.arange(first_id, first_id + len(df), dtype=np.int64))
    return df


def build_roster(
    grid_codes: list[str],
    grid_comm: dict[str, str],
    comm_kind: dict[str, str],
    dept_grids: list[tuple[str, str, str]],
    rng: np.random.Generator,
    *,
    police: str,
    id_prefix: str = "P",
) -> pd.DataFrame:
    """People on duty per grid: leader, workers, police, party households, department members.

    ``dept_grids`` lists (layer, grid code, department name) of the department layers; ``police``
    names the police sub-bureau ('栖霞公安分局'); person ids are ``id_prefix`` + 7 digits.
    """
    recs: list[tuple] = []  # role, layer, grid_code, department, linked_households
    by_comm: dict[str, list[str]] = {}
    for code in grid_codes:
        by_comm.setdefault(grid_comm[code], []).append(code)
        recs.append(("grid_leader", "unified", code, None, None))
        for _ in range(int(rng.integers(1, 3))):
            recs.append(("grid_worker", "unified", code, None, None))
        if comm_kind[grid_comm[code]] == "urban":
            for _ in range(int(rng.integers(1, 4))):
                recs.append(("party_household", "unified", code, None, int(rng.integers(8, 13))))
    police_rows: list[tuple[int, str]] = []  # (officer index, grid)
    officer = 0
    for comm in sorted(by_comm):
        codes = by_comm[comm]
        i = 0
        while i < len(codes):
            size = int(rng.integers(1, 4))
            for code in codes[i : i + size]:
                police_rows.append((officer, code))
            officer += 1
            i += size
    for layer, code, dept in dept_grids:
        recs.append(("dept_member", layer, code, dept, None))

    n_people = len(recs) + officer
    names = person_names(rng, n_people)
    phones = phone_numbers(rng, n_people)
    out = []
    for k, (role, layer, code, dept, linked) in enumerate(recs):
        out.append(
            (f"{id_prefix}{k + 1:07d}", names[k], phones[k], role, layer, code, dept, linked)
        )
    base = len(recs)
    for off, code in police_rows:
        k = base + off
        out.append(
            (
                f"{id_prefix}{k + 1:07d}",
                names[k],
                phones[k],
                "police",
                "unified",
                code,
                police,
                None,
            )
        )
    df = pd.DataFrame(
        out,
        columns=[
            "person_id",
            "name",
            "phone",
            "role",
            "layer",
            "grid_code",
            "department",
            "linked_households",
        ],
    )
    df["linked_households"] = df["linked_households"].astype("Int64")
    return df
