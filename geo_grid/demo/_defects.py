"""Plant realistic drawing errors in the department layers and record exactly where they are.

Department grids are drawn by hand in different offices, so their layers carry the errors a
coverage check must find: sliver gaps (1–20 m strips lost between neighbours), real gaps, holes,
overlaps, a grid crossing its community line, duplicated grids and codes, and bow-tie rings that
GEOS calls invalid. Each defect is planted at a separate place (≥ 400 m from any other, on grids no
other defect touches) so the ground truth is unambiguous; the record carries the grids involved,
the area and strip width in metres (the district's local CRS) and a point inside the defect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.ops import substring

from geo_grid.demo._frame import LocalFrame
from geo_grid.layers import ECOLOGY, EMERGENCY, POLITICS_LAW, URBAN_MGMT

__all__ = ["PLAN", "bow_tie", "inject_defects"]

#: Which defects go into which layer (``hole`` is recorded as kind ``gap``).
PLAN: dict[str, list[str]] = {
    POLITICS_LAW: [
        "sliver_gap",
        "sliver_gap",
        "gap",
        "overlap",
        "overlap",
        "crosses_parent",
        "crosses_parent",
        "crosses_parent",
        "duplicate_code",
        "duplicate_geometry",
        "invalid_geometry",
    ],
    URBAN_MGMT: [
        "sliver_gap",
        "sliver_gap",
        "gap",
        "overlap",
        "hole",
        "duplicate_geometry",
        "invalid_geometry",
    ],
    EMERGENCY: ["sliver_gap", "gap", "overlap", "duplicate_code"],
    ECOLOGY: ["sliver_gap", "hole", "overlap", "invalid_geometry", "duplicate_geometry"],
}
MIN_APART_M = 400.0


@dataclass(frozen=True)
class _Room:
    """How much room a defect needs: a grid's area and inner distance, a shared edge's length.

    The first pass asks for the room a suburban district like Qixia offers everywhere; a district
    of small, dense grids gets a second, relaxed pass (edges of 100 m or more, the defect on their
    middle 30 %, never more than a quarter of the neighbour taken; grids of 6 ha), so every planned
    defect still finds a place.
    """

    min_area: float = 250_000.0
    min_inner: float = 120.0
    relaxed: bool = False


_FIRST, _RELAXED = _Room(), _Room(min_area=60_000.0, min_inner=60.0, relaxed=True)
_SEQ_DIGITS = {POLITICS_LAW: 3, URBAN_MGMT: 3, EMERGENCY: 2, ECOLOGY: 3}


def bow_tie(poly: shapely.Polygon) -> tuple[shapely.Polygon, np.ndarray]:
    """``poly`` with a small self-crossing loop on its longest edge, and the crossing point.

    >>> bad, at = bow_tie(shapely.box(0, 0, 100, 100))
    >>> bool(bad.is_valid), [float(v) for v in at]
    (False, [92.5, 50.0])
    """
    ring = np.asarray(poly.exterior.coords)
    seg = np.diff(ring, axis=0)
    k = int(np.argmax(np.hypot(seg[:, 0], seg[:, 1])))
    p, q = ring[k], ring[k + 1]
    t = (q - p) / np.hypot(*(q - p))
    n = np.array([-t[1], t[0]])
    m = (p + q) / 2
    if not poly.contains(shapely.Point(m + 2.0 * n)):
        n = -n
    loop = [m - 10 * t, m + 10 * t + 15 * n, m - 10 * t + 15 * n, m + 10 * t]
    new = np.vstack([ring[: k + 1], loop, ring[k + 1 :]])
    return shapely.Polygon(new, [r.coords for r in poly.interiors]), m + 7.5 * n


class _Layer:
    def __init__(self, key: str, table: dict, frame: LocalFrame):
        self.key = key
        self.t = table
        self.frame = frame
        self.touched: set[int] = set()

    @property
    def geoms(self) -> np.ndarray:
        return np.array(self.t["geometry"], dtype=object)

    def next_code(self, code: str) -> str:
        k = _SEQ_DIGITS[self.key]
        prefix = code[:-k]
        n = max(int(c[-k:]) for c in self.t["code"] if c.startswith(prefix) and len(c) == len(code))
        return f"{prefix}{n + 1:0{k}d}"

    def append_copy(self, i: int, code: str, geom) -> None:
        for key, col in self.t.items():
            col.append(code if key == "code" else geom if key == "geometry" else col[i])


def _pairs(layer: _Layer, rng, limit: int | None = 400) -> list[tuple[int, int, object]]:
    """Neighbour pairs (``limit`` of them, all for None) with the longest piece of their shared
    edge, in random order."""
    g = layer.geoms
    tree = shapely.STRtree(g)
    a, b = tree.query(g, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    pick = rng.permutation(len(a))[:limit]
    out = []
    for i, j in zip(a[pick], b[pick], strict=True):
        shared = shapely.line_merge(shapely.intersection(g[i].boundary, g[j].boundary))
        parts = [p for p in shapely.get_parts(shared) if p.geom_type == "LineString"]
        if parts:
            out.append((int(i), int(j), max(parts, key=lambda p: p.length)))
    return out


def _clean(frame: LocalFrame, *geoms) -> bool:
    """True when the modified grids stay valid in storage coordinates too.

    A union or difference can leave a spike a few nanometres wide that is valid in metres but
    crosses itself after the conversion; such a place would plant an unrecorded invalid ring.
    """
    return bool(shapely.is_valid(frame.from_local(np.array(geoms, dtype=object))).all())


def _far(xy, used: list) -> bool:
    return all(np.hypot(*(np.asarray(xy) - u)) >= MIN_APART_M for u in used)


def inject_defects(
    dept: dict[str, dict], comm_local: dict, rng: np.random.Generator, frame: LocalFrame
) -> list[dict]:
    """Modify ``dept`` tables in place; return the defect records (point as local ``xy``).

    ``frame`` converts to storage coordinates, where a planted change must stay valid too.
    """
    used: list[np.ndarray] = []
    records: list[dict] = []
    for key in (POLITICS_LAW, URBAN_MGMT, EMERGENCY, ECOLOGY):
        layer = _Layer(key, dept[key], frame)
        pairs = _pairs(layer, rng)
        every: list | None = None
        for kind in PLAN[key]:
            rec = _plant(layer, kind, pairs, used, rng, _FIRST)
            if rec is None:
                every = every if every is not None else _pairs(layer, rng, limit=None)
                rec = _plant(layer, kind, every, used, rng, _RELAXED)
            if rec is None:
                raise RuntimeError(f"no room to plant {kind} in {key}")
            rec["layer"] = key
            used.append(np.asarray(rec["xy"]))
            records.append(rec)
    return records


def _edge_piece(line, length: float, room: _Room = _FIRST):
    """The middle ``length`` metres of ``line``, or None when the line is too short."""
    if line.length < 3 * length or (room.relaxed and length < 30.0):
        return None
    mid = line.length / 2
    return substring(line, mid - length / 2, mid + length / 2)


def _plant(layer: _Layer, kind: str, pairs, used, rng, room: _Room) -> dict | None:
    g = layer.t["geometry"]
    codes = layer.t["code"]
    if kind in ("hole", "invalid_geometry", "duplicate_geometry"):
        order = rng.permutation(len(g))
        for i in order:
            i = int(i)
            if i in layer.touched or g[i].area < room.min_area:
                continue
            poly = max(shapely.get_parts(g[i]), key=lambda p: p.area)
            centre = shapely.get_coordinates(shapely.ops.polylabel(poly, tolerance=5.0))[0]
            if (
                not _far(centre, used)
                or shapely.distance(shapely.Point(centre), poly.boundary) < room.min_inner
            ):
                continue
            if kind == "hole":
                r = float(rng.uniform(15.0, 35.0))
                hole = shapely.Point(centre).buffer(r, quad_segs=6)
                if not _clean(layer.frame, shapely.difference(g[i], hole)):
                    continue
                g[i] = shapely.difference(g[i], hole)
                layer.touched.add(i)
                return {
                    "kind": "gap",
                    "ids": [codes[i]],
                    "area_m2": round(float(hole.area), 1),
                    "width_m": round(2 * r, 1),
                    "xy": centre,
                    "note": "hole: an interior ring inside the grid that no grid covers",
                }
            if kind == "invalid_geometry":
                if g[i].geom_type != "Polygon" or len(poly.exterior.coords) < 4:
                    continue
                bad, at = bow_tie(poly)
                if not _far(at, used):
                    continue
                g[i] = bad
                layer.touched.add(i)
                return {
                    "kind": "invalid_geometry",
                    "ids": [codes[i]],
                    "area_m2": 150.0,
                    "width_m": None,
                    "xy": at,
                    "note": "bow-tie: the ring crosses itself (GEOS Self-intersection)",
                }
            new = layer.next_code(codes[i])
            layer.append_copy(i, new, g[i])
            layer.touched.update({i, len(g) - 1})
            return {
                "kind": "duplicate_geometry",
                "ids": sorted([codes[i], new]),
                "area_m2": round(float(g[i].area), 1),
                "width_m": None,
                "xy": centre,
                "note": f"{new} is a copy of {codes[i]} (same geometry, new code); the two "
                "overlap completely, recorded only as duplicate_geometry",
            }
        return None  # no grid has room: never fall through to the pair defects below
    for i, j, line in pairs:
        if i in layer.touched or j in layer.touched:
            continue
        if kind == "crosses_parent":
            ci, cj = layer.t["community_code"][i], layer.t["community_code"][j]
            if ci is None or ci == cj:
                continue
        # relaxed: the middle 30 % of whatever edge there is
        sub_len = line.length / 3.2 if room.relaxed else float(rng.uniform(80.0, 180.0))
        sub = _edge_piece(line, sub_len, room)
        if sub is None:
            continue
        mid = shapely.get_coordinates(shapely.line_interpolate_point(sub, 0.5, normalized=True))[0]
        if not _far(mid, used):
            continue
        if kind in ("sliver_gap", "gap"):
            w = float(rng.uniform(2.0, 18.0) if kind == "sliver_gap" else rng.uniform(25.0, 60.0))
            strip = shapely.buffer(sub, w / 2, cap_style="flat")
            lost = shapely.intersection(strip, shapely.union(g[i], g[j]))
            new_i, new_j = shapely.difference(g[i], strip), shapely.difference(g[j], strip)
            if not _clean(layer.frame, new_i, new_j):
                continue
            g[i], g[j] = new_i, new_j
            layer.touched.update({i, j})
            return {
                "kind": kind,
                "ids": sorted([codes[i], codes[j]]),
                "area_m2": round(float(lost.area), 1),
                "width_m": round(w, 2),
                "xy": mid,
                "note": f"a {w:.1f} m strip along {sub.length:.0f} m of the shared edge belongs to "
                "neither grid",
            }
        if kind == "duplicate_code":
            old = codes[j]
            codes[j] = codes[i]
            layer.touched.update({i, j})
            at = shapely.get_coordinates(shapely.point_on_surface(g[j]))[0]
            return {
                "kind": "duplicate_code",
                "ids": [codes[i]],
                "area_m2": round(float(g[j].area), 1),
                "width_m": None,
                "xy": at,
                "note": f"the grid drawn as {old} was saved under its neighbour's code {codes[i]}; "
                "the point is inside the second grid with that code",
            }
        # overlap / crosses_parent: grid i takes a piece of its neighbour j
        w = float(rng.uniform(15.0, 40.0) if kind == "overlap" else rng.uniform(30.0, 70.0))
        piece = shapely.intersection(g[j], shapely.buffer(sub, w, cap_style="flat"))
        piece = max(shapely.get_parts(piece), key=lambda p: p.area)
        if piece.geom_type != "Polygon" or piece.area < 100:
            continue
        if room.relaxed and piece.area > g[j].area / 4:
            continue
        at = shapely.get_coordinates(shapely.point_on_surface(piece))[0]
        new_i = shapely.union(g[i], piece)
        new_j = shapely.difference(g[j], piece) if kind == "crosses_parent" else g[j]
        if not _clean(layer.frame, new_i, new_j):
            continue
        g[i], g[j] = new_i, new_j
        layer.touched.update({i, j})
        note = (
            f"{codes[i]} reaches {w:.0f} m into {codes[j]}"
            if kind == "overlap"
            else f"{codes[i]} ({layer.t['community_code'][i]}) took a {w:.0f} m piece of "
            f"{codes[j]} in community {layer.t['community_code'][j]}; no overlap, no gap"
        )
        return {
            "kind": kind,
            "ids": sorted([codes[i], codes[j]]),
            "area_m2": round(float(piece.area), 1),
            "width_m": round(w, 2),
            "xy": at,
            "note": note,
        }
    return None
