"""The named places of a district a person may look for on a map, and its roads drawn from door plates.

A dispatcher types 咏梅社区, 乐城路, 金韵雅苑 or a grid's code into the map's search box, not only a
door plate. :class:`PlaceIndex` answers those: streets and communities (their outlines), unified
grids (by code, or by name), roads, 小区 and villages of the standard address library (where their
door plates and rooms lie), each hit a :class:`Place` with its kind, a confidence, a point inside
it, its extent and the grids it covers. The door plates themselves are the geocoder's
(:mod:`geo_grid.address.geocode`); the search service puts both together.

Roads: the store holds no road centre lines, but a road's door plates are numbered along it (odd
on one side, even on the other, one number step every few metres, GB/T 23705), so
:func:`road_lines` draws each road through the middle of its plates taken in number order: the
base map and a search hit show 乐城路 where it runs.

Examples
--------
>>> import geopandas as gpd, pandas as pd
>>> from shapely import box
>>> streets = gpd.GeoDataFrame({"code": ["990101001"], "name": ["示例街道"]},
...     geometry=[box(100.90, 30.10, 100.92, 30.12)], crs=4490)
>>> communities = gpd.GeoDataFrame({"code": ["990101001001"], "name": ["示例社区"],
...     "short_name": ["示例"], "parent_code": ["990101001"]},
...     geometry=[box(100.90, 30.10, 100.92, 30.12)], crs=4490)
>>> grids = gpd.GeoDataFrame({"code": ["990101001001001"], "name": ["示例第1网格"],
...     "community_code": ["990101001001"], "street_code": ["990101001"]},
...     geometry=[box(100.90, 30.10, 100.92, 30.12)], crs=4490)
>>> points = pd.DataFrame({"kind": ["xiaoqu"] * 2, "name": ["金韵雅苑"] * 2, "door_no": [None] * 2,
...     "community_code": ["990101001001"] * 2, "street_code": ["990101001"] * 2,
...     "lon": [100.905, 100.906], "lat": [30.105, 30.106]})
>>> from geo_grid.crs import local_crs_for  # the Gauss-Krüger zone the places lie in
>>> index = PlaceIndex(streets, communities, grids, points,
...     local_crs=local_crs_for(grids.geometry.array))
>>> [(p.kind, p.name, p.confidence) for p in index.search("示例社区")]
[('community', '示例社区', 1.0)]
>>> hit = index.search("金韵")[0]
>>> hit.kind, hit.grid_code, hit.community_name
('xiaoqu', '990101001001001', '示例社区')
>>> index.search("990101001001001")[0].name
'示例第1网格'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_grid.address.normalize import normalize, normalize_name
from geo_grid.errors import BadInput

__all__ = ["PLACE_KINDS", "Place", "PlaceIndex", "area_name", "named_places", "road_lines"]

#: What a search finds, in the order equal confidences are listed (labels:
#: :data:`geo_grid.labels.PLACE_KIND`).
PLACE_KINDS = ("address", "grid", "xiaoqu", "road", "village", "community", "street")
#: The library's named things: ``kind`` values of the points :class:`PlaceIndex` takes.
LIBRARY_KINDS = ("road", "xiaoqu", "village")
_CODE = re.compile(r"[0-9A-Za-z_-]{6,64}")
_DOOR = re.compile(r"^[0-9]+$")
#: Door-number steps of a road whose plates are averaged into one vertex (a step is one
#: odd/even pair: 13 and 14 face each other).
_SMOOTH = 3


@dataclass(frozen=True)
class Place:
    """One search hit. ``lon, lat`` (EPSG:4490) is a point inside the place (a door or room of a
    小区, the middle of a road's plates, a label point of an area); ``bbox`` its extent;
    ``grid_code`` the one unified grid it lies in when it lies in one, ``grid_codes`` every grid
    it touches; ``geometry`` its outline or line when it has one (EPSG:4490)."""

    kind: str
    name: str
    confidence: float
    lon: float
    lat: float
    bbox: tuple[float, float, float, float]
    code: str | None = None
    community_code: str | None = None
    community_name: str | None = None
    street_code: str | None = None
    street_name: str | None = None
    grid_code: str | None = None
    grid_codes: tuple[str, ...] = ()
    geometry: Any = field(default=None, compare=False, repr=False)


def road_lines(plates: pd.DataFrame, local_crs: str) -> gpd.GeoDataFrame:
    """Each road's line through its door plates, in number order (EPSG:4490).

    ``plates`` has ``name`` (the road), ``door_no`` (digits; others are ignored), ``lon, lat``.
    Plates facing each other (13 and 14: the same step ``(n - 1) // 2``) are averaged, which puts
    the line in the road's middle; a running median of :data:`_SMOOTH` steps keeps a plate set
    back in a courtyard from pulling the line aside. A road with plates at one step only has no
    line. Columns: ``name, plates, geometry``.

    >>> plates = pd.DataFrame({"name": ["乐城路"] * 4, "door_no": ["1", "2", "41", "42"],
    ...     "lon": [100.9000, 100.9000, 100.9040, 100.9040],
    ...     "lat": [30.1001, 30.0999, 30.1001, 30.0999]})
    >>> from geo_grid.crs import local_crs_for
    >>> zone = local_crs_for(gpd.points_from_xy(plates["lon"], plates["lat"]))
    >>> line = road_lines(plates, zone).geometry.iloc[0]
    >>> [(round(x, 4), round(y, 4)) for x, y in line.coords]
    [(100.9, 30.1), (100.904, 30.1)]
    """
    numbered = plates[plates["door_no"].astype(str).str.fullmatch(_DOOR.pattern)]
    if numbered.empty:
        return gpd.GeoDataFrame({"name": [], "plates": []}, geometry=[], crs=4490)
    local = gpd.GeoSeries(gpd.points_from_xy(numbered["lon"], numbered["lat"]), crs=4490).to_crs(
        local_crs
    )
    frame = pd.DataFrame({
        "name": numbered["name"].astype(str).to_numpy(),
        "step": (numbered["door_no"].astype(int).to_numpy() - 1) // 2,
        "x": local.x.to_numpy(), "y": local.y.to_numpy(),
    })  # fmt: skip
    steps = frame.groupby(["name", "step"], sort=True)[["x", "y"]].mean().reset_index()
    plates_of = frame["name"].value_counts()
    road, xy_all = steps["name"].to_numpy(), steps[["x", "y"]].to_numpy()
    cuts = np.flatnonzero(road[1:] != road[:-1]) + 1
    names, counts, lines = [], [], []
    for rows in np.split(np.arange(len(steps)), cuts):
        if len(rows) < 2:
            continue
        name = road[rows[0]]
        xy = _median_filter(xy_all[rows])
        names.append(name)
        counts.append(int(plates_of[name]))
        lines.append(shapely.LineString(xy).simplify(2.0))
    out = gpd.GeoDataFrame({"name": names, "plates": counts}, geometry=lines, crs=local_crs)
    return out.to_crs(4490)


#: What the official name of a neighbourhood committee adds to the community's own name.
_COMMITTEE = ("居民委员会", "村民委员会", "居委会", "村委会")


def area_name(name: str) -> str:
    """A street's or community's name as a map writes it: the committee's official name without
    its committee (咏梅社区 for 咏梅社区居委会, 瑞丰园社区 for 瑞丰园社区居民委员会).

    >>> area_name("咏梅社区居委会"), area_name("瑞丰园社区居民委员会"), area_name("示例街道")
    ('咏梅社区', '瑞丰园社区', '示例街道')
    """
    for suffix in _COMMITTEE:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _median_filter(xy: np.ndarray) -> np.ndarray:
    """Each vertex the median of itself and its :data:`_SMOOTH` - 1 neighbours (the ends repeated,
    so an end stays where it is unless both its neighbours disagree)."""
    half = _SMOOTH // 2
    padded = np.concatenate([np.repeat(xy[:1], half, 0), xy, np.repeat(xy[-1:], half, 0)])
    windows = np.stack([padded[i : i + len(xy)] for i in range(_SMOOTH)])
    return np.median(windows, axis=0)


def _key(text: Any) -> str:
    return normalize_name(str(text)) if text is not None else ""


def _score(query: str, name: str, short: str | None = None) -> float:
    """How well ``query`` names ``name``: 1 the name itself (or its short form), 0.95 the name at
    the end of a longer query (an admin prefix before it), less the shorter a part of the name
    the query is; 0 when neither holds the other."""
    for candidate in (name, short):
        if candidate and query == candidate:
            return 1.0
    if name and query.endswith(name) and len(name) >= 2:
        return 0.95
    if len(query) >= 2 and name and query in name:
        return round(0.5 + 0.45 * len(query) / len(name), 3)
    return 0.0


class PlaceIndex:
    """The named places of one district, for :meth:`search`.

    Parameters
    ----------
    streets, communities
        Admin areas (EPSG:4490) with ``code, name``; communities also ``short_name`` (咏梅 for
        咏梅社区) and ``parent_code``.
    grids
        The published unified grids: ``code, name, community_code, street_code`` and geometry.
    points
        The library's named points: ``kind`` (road, xiaoqu, village), ``name``, ``door_no``
        (roads), ``community_code, street_code, lon, lat`` (EPSG:4490), one row per address.
    local_crs
        The district's metric CRS (roads are drawn and simplified in metres).
    grid_at
        ``(lons, lats) -> unified grid codes`` (EPSG:4490): which grids a place's addresses lie
        in. Without it, the grids are found in ``grids`` here.
    """

    def __init__(
        self,
        streets: gpd.GeoDataFrame,
        communities: gpd.GeoDataFrame,
        grids: gpd.GeoDataFrame,
        points: pd.DataFrame,
        *,
        local_crs: str,
        grid_at: Callable[[np.ndarray, np.ndarray], Sequence[str | None]] | None = None,
    ) -> None:
        missing = {"kind", "name", "community_code", "street_code", "lon", "lat"} - set(points)
        if missing:
            raise BadInput(f"points: missing columns {sorted(missing)}", field="points")
        self.local_crs = local_crs
        self._admin = {
            str(c): area_name(str(n))
            for areas in (streets, communities)
            for c, n in zip(areas["code"], areas["name"], strict=True)
        }
        self._grids = grids.reset_index(drop=True)
        self._grid_at = grid_at or self._grids_here
        #: each road's line through its door plates (:func:`road_lines`): the base map draws them
        self.roads: gpd.GeoDataFrame
        self._entries: list[Place] = []
        self._keys: list[tuple[str, str | None]] = []
        self._add_areas("street", streets)
        self._add_areas("community", communities)
        self._add_grids()
        self._add_library(points)

    # ------------------------------------------------------------------ building
    def _grids_here(self, lons: np.ndarray, lats: np.ndarray) -> list[str | None]:
        tree = shapely.STRtree(np.asarray(self._grids.geometry.array, dtype=object))
        pts, hit = tree.query(shapely.points(lons, lats), predicate="within")
        out: list[str | None] = [None] * len(lons)
        codes = self._grids["code"].astype(str).to_numpy()
        for p, g in zip(pts, hit, strict=True):
            out[p] = codes[g]
        return out

    def _column(self, name: str) -> pd.Series:
        """A column of the grids as text (None throughout when they have none)."""
        if name not in self._grids.columns:
            return pd.Series([None] * len(self._grids), dtype=object)
        return self._grids[name].astype(object).where(self._grids[name].notna(), None)

    def _add(self, place: Place, short: str | None = None) -> None:
        self._entries.append(place)
        self._keys.append((_key(place.name), _key(short) if short else None))

    def _add_areas(self, kind: str, areas: gpd.GeoDataFrame) -> None:
        geoms = np.asarray(areas.geometry.array, dtype=object)
        inside = shapely.point_on_surface(geoms)
        parent = areas["parent_code"] if "parent_code" in areas.columns else [None] * len(areas)
        short = areas["short_name"] if "short_name" in areas.columns else [None] * len(areas)
        column = self._column(f"{kind}_code")
        for i, row in enumerate(zip(areas["code"], areas["name"], parent, short, strict=True)):
            code, name, up, brief = (None if pd.isna(v) else str(v) for v in row)
            name = area_name(name)
            grids = self._grids["code"][column == code].astype(str).tolist()
            self._add(Place(
                kind, name, 0.0, inside[i].x, inside[i].y, tuple(geoms[i].bounds), code=code,
                community_code=code if kind == "community" else None,
                community_name=name if kind == "community" else None,
                street_code=up if kind == "community" else code,
                street_name=self._admin.get(up) if kind == "community" else name,
                grid_code=grids[0] if len(grids) == 1 else None, grid_codes=tuple(grids),
                geometry=geoms[i],
            ), brief)  # fmt: skip

    def _add_grids(self) -> None:
        geoms = np.asarray(self._grids.geometry.array, dtype=object)
        inside = shapely.point_on_surface(geoms)
        names = self._grids["name"] if "name" in self._grids.columns else self._grids["code"]
        rows = zip(self._grids["code"], names, self._column("community_code"),
                   self._column("street_code"), strict=True)  # fmt: skip
        for i, (code, name, comm, street) in enumerate(rows):
            comm, street = (None if pd.isna(v) else str(v) for v in (comm, street))
            self._add(Place(
                "grid", str(name), 0.0, inside[i].x, inside[i].y, tuple(geoms[i].bounds),
                code=str(code), community_code=comm, community_name=self._admin.get(comm),
                street_code=street, street_name=self._admin.get(street), grid_code=str(code),
                grid_codes=(str(code),), geometry=geoms[i],
            ))  # fmt: skip

    def _add_library(self, points: pd.DataFrame) -> None:
        points = points[points["kind"].isin(LIBRARY_KINDS) & points["name"].notna()]
        grids = self._grid_at(points["lon"].to_numpy(float), points["lat"].to_numpy(float))
        roads = points[points["kind"] == "road"]
        self.roads = road_lines(roads, self.local_crs)
        line_of = dict(zip(self.roads["name"], self.roads.geometry, strict=True))
        # a road is one name across the district; a 小区 or village one name in one community
        group = np.where(
            points["kind"].to_numpy() == "road", "",
            points["community_code"].fillna("").astype(str).to_numpy(),
        )  # fmt: skip
        frame = pd.DataFrame({
            "kind": points["kind"].to_numpy(), "name": points["name"].astype(str).to_numpy(),
            "group": group, "lon": points["lon"].to_numpy(float),
            "lat": points["lat"].to_numpy(float),
            "community": points["community_code"].to_numpy(object),
            "street": points["street_code"].to_numpy(object), "grid": list(grids),
        })  # fmt: skip
        for row in _named_places(frame).itertuples(index=False):
            line = line_of.get(row.name) if row.kind == "road" else None
            lon, lat = row.lon, row.lat
            if line is not None:  # the plate nearest the middle of the road's line
                lon, lat = _nearest(row.lons, row.lats, shapely.line_interpolate_point(
                    line, 0.5, normalized=True))  # fmt: skip
            grids = tuple(sorted(row.grids))
            self._add(Place(
                row.kind, row.name, 0.0, lon, lat, (row.minx, row.miny, row.maxx, row.maxy),
                community_code=row.community, community_name=self._admin.get(row.community),
                street_code=row.street, street_name=self._admin.get(row.street),
                grid_code=grids[0] if len(grids) == 1 else None, grid_codes=grids,
                geometry=line,
            ))  # fmt: skip

    # ------------------------------------------------------------------ searching
    def search(self, text: str, limit: int = 10) -> list[Place]:
        """The places ``text`` names, best first (at most ``limit``).

        A code (6 or more letters and digits) finds the grids it starts; a name finds every
        place whose name or short name it is, ends with (an admin prefix typed before it) or is
        a part of (two characters at least). Equal confidences list grids, 小区, roads,
        villages, communities, streets in that order.
        """
        raw = str(text or "").strip()
        if not raw:
            raise BadInput("q: the search text is empty", field="q")
        query = normalize(raw) or _key(raw)
        hits: list[Place] = []
        code = raw.replace(" ", "")
        for place, (name, short) in zip(self._entries, self._keys, strict=True):
            score = _score(query, name, short)
            if place.code and _CODE.fullmatch(code) and place.code.startswith(code):
                score = max(score, 1.0 if place.code == code else 0.6 + 0.4 * len(code) /
                            len(place.code))  # fmt: skip
            if score > 0:
                hits.append(_with(place, confidence=round(score, 3)))
        order = {k: i for i, k in enumerate(PLACE_KINDS)}
        hits.sort(key=lambda p: (-p.confidence, order[p.kind], len(p.name), p.code or p.name))
        return hits[:limit]

    def __len__(self) -> int:
        return len(self._entries)

    def kinds(self) -> Mapping[str, int]:
        """How many places of each kind the index holds."""
        return pd.Series([p.kind for p in self._entries]).value_counts().to_dict()


def named_places(points: pd.DataFrame) -> pd.DataFrame:
    """The label point of each 小区 and village of the library's named ``points`` (see
    :class:`PlaceIndex`): ``kind, name, community_code, lon, lat``, one row per name in a
    community, at the address nearest the middle of its addresses (what the base map writes its
    name at).

    >>> pts = pd.DataFrame({"kind": ["xiaoqu"] * 3, "name": ["金韵雅苑"] * 3,
    ...     "community_code": ["C"] * 3, "street_code": ["S"] * 3,
    ...     "lon": [100.90, 100.91, 100.95], "lat": [30.1, 30.1, 30.1]})
    >>> named_places(pts)[["name", "lon"]].values.tolist()
    [['金韵雅苑', 100.91]]
    """
    named = points[points["kind"].isin(("xiaoqu", "village")) & points["name"].notna()]
    frame = pd.DataFrame({
        "kind": named["kind"].to_numpy(), "name": named["name"].astype(str).to_numpy(),
        "group": named["community_code"].fillna("").astype(str).to_numpy(),
        "lon": named["lon"].to_numpy(float), "lat": named["lat"].to_numpy(float),
        "community": named["community_code"].to_numpy(object),
        "street": named["street_code"].to_numpy(object),
    })  # fmt: skip
    out = _named_places(frame).rename(columns={"community": "community_code"})
    return out[["kind", "name", "community_code", "lon", "lat"]]


def _named_places(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (kind, name, group) of the library's named points: the address nearest the
    group's median (a point of the place itself, never a courtyard between its buildings), the
    extent, the most frequent community and street, the grids its addresses lie in (``grid``,
    when the frame has it), and every point (``lons``, ``lats``)."""
    keys = ["kind", "name", "group"]
    g = frame.groupby(keys, sort=True)
    grids = {"grids": ("grid", lambda s: {str(v) for v in s if isinstance(v, str)})}
    out = g.agg(
        minx=("lon", "min"), miny=("lat", "min"), maxx=("lon", "max"), maxy=("lat", "max"),
        mx=("lon", "median"), my=("lat", "median"), lons=("lon", list), lats=("lat", list),
        **(grids if "grid" in frame.columns else {}),
    )  # fmt: skip
    for col in ("community", "street"):
        top = frame.dropna(subset=[col]).groupby([*keys, col]).size().reset_index(name="n")
        top = top.sort_values("n", ascending=False).drop_duplicates(keys).set_index(keys)[col]
        out[col] = top.reindex(out.index).astype(object).where(lambda s: s.notna(), None)
    nearest = [_nearest(xs, ys, shapely.Point(mx, my))
               for xs, ys, mx, my in zip(out["lons"], out["lats"], out["mx"], out["my"],
                                         strict=True)]  # fmt: skip
    out["lon"], out["lat"] = [p[0] for p in nearest], [p[1] for p in nearest]
    return out.reset_index()


def _nearest(lons: Sequence[float], lats: Sequence[float], at: Any) -> tuple[float, float]:
    """The point of ``lons, lats`` nearest ``at``."""
    xs, ys = np.asarray(lons, float), np.asarray(lats, float)
    i = int(np.argmin((xs - at.x) ** 2 + (ys - at.y) ** 2))
    return float(xs[i]), float(ys[i])


def _with(place: Place, **changes: Any) -> Place:
    return replace(place, **changes)
