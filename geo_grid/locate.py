"""Point → every layer's grid, community, street and the people on duty, from memory.

A dispatcher's WeChat location must resolve in well under a millisecond, and a batch of case points
must resolve at hundreds of thousands per second, so one published generation of every layer is
held in a :class:`LocateIndex`: an STRtree per layer over prepared polygons. PostGIS stays the source
of truth; the service rebuilds the index when a generation is published and compares
:attr:`LocateIndex.key` with :meth:`LocateIndex.key_for` of the published generations to know.

Points on a shared boundary touch two grids; the answer is the **smallest code** among the grids
whose closure contains the point, so the same point always gets the same grid whatever the order the
polygons were loaded in. A point in no polygon of a layer gets ``None`` for that layer, and
``inside_district`` is False when it is outside every street (or, without streets, every unified
grid).

One index may hold several districts (a store serving them): given their outlines, a point lies in
exactly one district (``district_code``) and only that district's grids answer it (a department
grid drawn past its district's edge does not answer for the neighbour), when the layer frames carry
a ``district_code`` column.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> grids = gpd.GeoDataFrame({"code": ["G2", "G1"]}, geometry=[box(1, 0, 2, 1), box(0, 0, 1, 1)],
...                          crs=4490)
>>> index = LocateIndex({"unified": grids}, generation={"unified": 7})
>>> index.locate(1.0, 0.5, crs="cgcs2000").grids   # on the shared edge: smallest code wins
{'unified': 'G1'}
>>> index.locate(5.0, 5.0, crs="cgcs2000").inside_district
False
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

from geo_grid.crs import points_to_storage
from geo_grid.errors import BadInput
from geo_grid.layers import UNIFIED
from geo_grid.roster import role_label

__all__ = ["CellRaster", "LayerIndex", "LocateIndex", "LocateResult", "RosterEntry"]

#: The order roster entries are listed in; other roles follow alphabetically.
ROLE_ORDER: tuple[str, ...] = ("网格长", "grid_leader", "专职网格员", "网格员", "grid_worker")


@dataclass(frozen=True)
class RosterEntry:
    """One person responsible for a grid.

    ``role`` is the role's key, ``role_name`` its district's Chinese name for it and ``duty`` what
    the system does with its people (roles are data per district: 楼栋长, 网格指导员, a
    department's 报到 members …; :mod:`geo_grid.roster`).

    >>> RosterEntry(1, "王", None, "grid_guide", "unified", "g1", "网格指导员").role_zh
    '网格指导员'
    >>> RosterEntry(1, "王", None, "grid_leader", "unified", "g1").role_zh   # no name: the default's
    '网格长'
    """

    person_id: Any
    name: str
    phone: str | None
    role: str
    layer: str
    grid_code: str
    role_name: str | None = None
    duty: str | None = None

    @property
    def role_zh(self) -> str:
        """The role as people read it: the district's name, else the default role's, else the key."""
        return role_label(self.role, self.role_name)


@dataclass(frozen=True)
class LocateResult:
    """Everything a dispatcher needs about one point (coordinates in storage CRS EPSG:4490)."""

    lon: float
    lat: float
    grids: dict[str, str | None]
    community_code: str | None
    community_name: str | None
    street_code: str | None
    street_name: str | None
    roster: tuple[RosterEntry, ...]
    inside_district: bool
    generation: Any = None
    district_code: str | None = None
    district_name: str | None = None

    @property
    def grid_code(self) -> str | None:
        """The unified (全科) grid's code."""
        return self.grids.get(UNIFIED)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict for JSON answers."""
        out = asdict(self)
        out["grid_code"] = self.grid_code
        return out


#: The roster columns the index keeps (``role_name`` and ``duty`` may be missing).
_ROSTER_FIELDS = ("person_id", "name", "phone", "role", "layer", "grid_code", "role_name", "duty")


def _text_or_none(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


#: Most cells a layer's raster may have (int16 each, int32 past 32,767 polygons): <= 32 MB.
RASTER_CELLS = 16_000_000
#: Cells per polygon across, aimed at (finer cells: fewer points need GEOS, more memory).
RASTER_DETAIL = 32


@dataclass(frozen=True)
class CellRaster:
    """A regular raster over one layer whose cells say which polygon holds *every* point in them.

    A cell that no polygon boundary comes near (within a small margin) has the same set of
    containing polygons at every point, so its answer (the smallest code among them, or none) is
    computed once, at build time, and a point in it is answered by two floor divisions and an
    array read. Cells that a boundary crosses are ``MIXED``: their points go to GEOS as before.
    So the answers are the exact ones; the raster only decides who needs the exact test.
    """

    x0: float
    y0: float
    size: float
    cells: np.ndarray = field(repr=False)  # (ny, nx): polygon index, NONE or MIXED

    NONE = -1
    MIXED = -2

    def lookup(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Polygon index, ``NONE`` or ``MIXED`` per point (outside the raster: ``NONE``;
        a non-finite coordinate: ``MIXED``, left to GEOS)."""
        ny, nx = self.cells.shape
        with np.errstate(invalid="ignore"):
            fx = np.floor((xs - self.x0) / self.size)
            fy = np.floor((ys - self.y0) / self.size)
        finite = np.isfinite(fx) & np.isfinite(fy)
        inside = finite & (fx >= 0) & (fx < nx) & (fy >= 0) & (fy < ny)
        out = np.full(len(xs), self.NONE, dtype=np.int64)
        out[~finite] = self.MIXED
        ix, iy = fx[inside].astype(np.int64), fy[inside].astype(np.int64)
        out[inside] = self.cells[iy, ix]
        return out

    @classmethod
    def build(cls, geoms: np.ndarray, exact) -> CellRaster | None:
        """The raster of ``geoms``; ``exact(xs, ys)`` answers the cells' representative points.

        Boundaries are densified to samples at most a quarter cell apart (GEOS ``segmentize``),
        so every boundary point lies within an eighth of a cell of a sample; each sample marks
        the cells within an eighth of a cell plus a margin of it. Runs of unmarked cells along a row share one
        answer (no boundary separates them), computed at the run's first cell.
        """
        if len(geoms) == 0:
            return None
        minx, miny, maxx, maxy = shapely.total_bounds(geoms)
        size = _cell_size(geoms, (maxx - minx) * (maxy - miny))
        if not size > 0:
            return None
        x0, y0 = minx - size, miny - size
        nx = int(np.ceil((maxx - x0) / size)) + 2
        ny = int(np.ceil((maxy - y0) / size)) + 2
        mixed = _mark_boundaries(geoms, x0, y0, size, (ny, nx))
        # a run starts at an unmarked cell whose left neighbour is marked or off the raster
        left = np.ones((ny, 1), dtype=bool)
        is_start = (~mixed & np.concatenate([left, mixed[:, :-1]], axis=1)).ravel()
        flat = mixed.ravel()
        starts = np.flatnonzero(is_start)
        run = np.cumsum(is_start, dtype=np.int32) - 1
        sx = x0 + (starts % nx + 0.5) * size
        sy = y0 + (starts // nx + 0.5) * size
        answers = exact(sx, sy)
        dtype = np.int16 if len(geoms) < np.iinfo(np.int16).max else np.int32
        cells = np.full(flat.size, cls.MIXED, dtype=dtype)
        cells[~flat] = answers[run[~flat]]
        return cls(float(x0), float(y0), float(size), cells.reshape(ny, nx))


def _cell_size(geoms: np.ndarray, extent_area: float) -> float:
    """The cell side: a :data:`RASTER_DETAIL` th of the median polygon's side, no finer than
    :data:`RASTER_CELLS` cells allow over the layer's extent."""
    b = shapely.bounds(geoms)
    side = np.median(np.sqrt(np.maximum((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), 0.0)))
    floor = np.sqrt(extent_area / RASTER_CELLS) if extent_area > 0 else 0.0
    return float(max(side / RASTER_DETAIL, floor))


def _mark_boundaries(geoms: np.ndarray, x0: float, y0: float, size: float, shape) -> np.ndarray:
    """True for every cell within an eighth of a cell (plus a margin) of any boundary sample:
    every cell a boundary passes through or near (within the margin), and a few beside them."""
    parts = shapely.get_parts(geoms)
    while np.isin(shapely.get_type_id(parts), (4, 5, 6, 7)).any():  # collections from make_valid
        parts = shapely.get_parts(parts)
    kind = shapely.get_type_id(parts)
    lines = [shapely.get_rings(parts[kind == 3]), parts[(kind != 3) & (kind != 7)]]
    samples = shapely.get_coordinates(shapely.segmentize(np.concatenate(lines), size / 4))
    margin = size / 8 + size * 1e-3  # the 1e-3 cell absorbs the rounding of the floor divisions
    ny, nx = shape
    mixed = np.zeros(shape, dtype=bool)
    lo = np.floor((samples - margin - (x0, y0)) / size).astype(np.int64)
    hi = np.floor((samples + margin - (x0, y0)) / size).astype(np.int64)
    for ix in (lo[:, 0], hi[:, 0]):
        for iy in (lo[:, 1], hi[:, 1]):
            mixed[np.clip(iy, 0, ny - 1), np.clip(ix, 0, nx - 1)] = True
    return mixed


@dataclass
class LayerIndex:
    """One layer's polygons, an STRtree over them, codes ranked for the boundary tie-break, and a
    :class:`CellRaster` that answers most points without GEOS."""

    codes: np.ndarray
    names: np.ndarray | None
    geoms: np.ndarray
    tree: shapely.STRtree = field(repr=False)
    rank: np.ndarray = field(repr=False)
    #: the cells each holding one answer for all its points (None: every point goes to GEOS)
    raster: CellRaster | None = field(default=None, repr=False)
    #: each polygon's district code (``district_code`` column), or None: one district
    districts: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def build(cls, frame, code_col: str = "code", name_col: str | None = None) -> LayerIndex:
        """Index a (Geo)DataFrame with a code column and polygon geometry.

        Invalid polygons are repaired with :func:`shapely.make_valid` (a self-touching ring would
        otherwise miss points); empty ones are dropped.
        """
        if code_col not in frame.columns:
            raise BadInput(f"layer frame: no column {code_col!r}", field=code_col)
        crs = getattr(frame, "crs", None)
        if crs is not None and crs.to_epsg() not in (4490, 4326):
            frame = frame.to_crs(4490)
        geoms = np.asarray(frame.geometry.values, dtype=object)
        invalid = ~shapely.is_valid(geoms)
        if invalid.any():
            geoms = geoms.copy()
            geoms[invalid] = shapely.make_valid(geoms[invalid])
        keep = ~(shapely.is_empty(geoms) | shapely.is_missing(geoms))
        geoms = geoms[keep]
        codes = np.asarray(frame[code_col].astype(str).values)[keep]
        names = None
        if name_col and name_col in frame.columns:
            names = np.asarray(frame[name_col].values, dtype=object)[keep]
        districts = None
        if "district_code" in frame.columns:
            districts = np.asarray(frame["district_code"].astype(str).values)[keep]
        shapely.prepare(geoms)
        order = np.argsort(codes, kind="stable")
        rank = np.empty(len(codes), dtype=np.int64)
        rank[order] = np.arange(len(codes))
        index = cls(codes, names, geoms, shapely.STRtree(geoms), rank, districts=districts)
        index.raster = CellRaster.build(geoms, index._exact_xy)
        return index

    def lookup(
        self,
        points: np.ndarray | None,
        xs: np.ndarray,
        ys: np.ndarray,
        within: np.ndarray | None = None,
    ) -> np.ndarray:
        """Index of the polygon holding each point (smallest code on boundaries), -1 for none.

        ``points`` are the shapely points of ``xs, ys`` if the caller has them (None: made here
        for the few points the raster leaves to GEOS). ``within`` (one district code per point,
        ``""`` for none) keeps each point to the polygons of its own district: a raster answer of
        another district (grids of two districts overlapping at their border) goes to GEOS too.
        """
        if len(self.codes) == 0 or len(xs) == 0:
            return np.full(len(xs), -1, dtype=np.int64)
        if self.raster is None:
            pts = shapely.points(xs, ys) if points is None else points
            return self._exact(pts, xs, ys, within)
        out = self.raster.lookup(xs, ys)
        slow = out == CellRaster.MIXED
        if within is not None and self.districts is not None:
            known = np.flatnonzero(out >= 0)
            slow[known] = (within[known] != "") & (self.districts[out[known]] != within[known])
        slow = np.flatnonzero(slow)
        if len(slow):
            pts = shapely.points(xs[slow], ys[slow]) if points is None else points[slow]
            out[slow] = self._exact(
                pts, xs[slow], ys[slow], None if within is None else within[slow]
            )
        return out

    def lookup_one(self, x: float, y: float, within: str | None = None) -> int:
        """:meth:`lookup` of one point with the raster read in plain Python (the same floor
        divisions), so a single locate pays no numpy overhead per layer."""
        raster = self.raster
        if len(self.codes) == 0:
            return -1
        if raster is not None and math.isfinite(x) and math.isfinite(y):
            ny, nx = raster.cells.shape
            ix = math.floor((x - raster.x0) / raster.size)
            iy = math.floor((y - raster.y0) / raster.size)
            if not (0 <= ix < nx and 0 <= iy < ny):
                return CellRaster.NONE
            found = int(raster.cells[iy, ix])
            if found == CellRaster.NONE or (
                found >= 0
                and (not within or self.districts is None or self.districts[found] == within)
            ):
                return found
        xs, ys = np.array([x], dtype=float), np.array([y], dtype=float)
        chosen = None if not within else np.array([within], dtype=object)
        return int(self._exact(shapely.points(xs, ys), xs, ys, chosen)[0])

    def _exact_xy(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        return self._exact(shapely.points(xs, ys), xs, ys)

    def _exact(
        self, points: np.ndarray, xs: np.ndarray, ys: np.ndarray, within: np.ndarray | None = None
    ) -> np.ndarray:
        """GEOS: the STRtree's candidates, each tested (in the point's district, ``within``),
        the smallest code kept."""
        out = np.full(len(points), -1, dtype=np.int64)
        pi, gi = self.tree.query(points)
        if len(pi) == 0:
            return out
        hit = shapely.intersects_xy(self.geoms[gi], xs[pi], ys[pi])
        if within is not None and self.districts is not None:
            hit &= (within[pi] == "") | (self.districts[gi] == within[pi])
        pi, gi = pi[hit], gi[hit]
        if len(pi) == 0:
            return out
        order = np.lexsort((self.rank[gi], pi))
        pi, gi = pi[order], gi[order]
        first = np.ones(len(pi), dtype=bool)
        first[1:] = pi[1:] != pi[:-1]
        out[pi[first]] = gi[first]
        return out


class LocateIndex:
    """Every layer of one published generation, ready for point lookups.

    Parameters
    ----------
    layers
        ``{layer_key: GeoDataFrame(code, geometry)}`` in EPSG:4490 (or 4326).
    communities, streets
        GeoDataFrames with ``code``, ``name`` and polygon geometry, or None.
    roster
        DataFrame ``person_id, name, phone, role, layer, grid_code``; the unified grid's people are
        returned with each point.
    generation
        What this index was built from (e.g. ``{layer_key: generation_id}``); see :attr:`key`.
    districts
        The districts' outlines (``code``, ``name``, geometry), when the index holds several:
        each point then answers with its district and that district's grids only.
    """

    def __init__(
        self,
        layers: Mapping[str, Any],
        communities=None,
        streets=None,
        roster: pd.DataFrame | None = None,
        generation: Any = None,
        districts=None,
    ) -> None:
        if not layers:
            raise BadInput("layers: at least one layer is needed", field="layers")
        self.layers: dict[str, LayerIndex] = {k: LayerIndex.build(v) for k, v in layers.items()}
        self.communities = (
            LayerIndex.build(communities, name_col="name") if communities is not None else None
        )
        self.streets = LayerIndex.build(streets, name_col="name") if streets is not None else None
        self.districts = (
            LayerIndex.build(districts, name_col="name") if districts is not None else None
        )
        self.generation = generation
        self._roster = self._group_roster(roster)

    @staticmethod
    def key_for(generation: Any) -> tuple:
        """The cache key of a generation description (a mapping is keyed by its sorted items)."""
        if isinstance(generation, Mapping):
            return tuple(sorted((str(k), v) for k, v in generation.items()))
        return (generation,)

    @property
    def key(self) -> tuple:
        """Equal to ``key_for(published)`` exactly when this index is current."""
        return self.key_for(self.generation)

    @staticmethod
    def _group_roster(roster: pd.DataFrame | None) -> dict[str, tuple[RosterEntry, ...]]:
        if roster is None or len(roster) == 0:
            return {}
        missing = {"person_id", "name", "role", "layer", "grid_code"} - set(roster.columns)
        if missing:
            raise BadInput(f"roster: missing columns {sorted(missing)}", field="roster")
        rows = roster[roster["layer"] == UNIFIED]
        order = {role: i for i, role in enumerate(ROLE_ORDER)}
        out: dict[str, list[RosterEntry]] = {}
        # plain lists: iterating rows of arrow-backed strings costs seconds on a city's roster
        cols = [
            rows[c].astype(object).tolist() if c in rows.columns else [None] * len(rows)
            for c in _ROSTER_FIELDS
        ]
        for person_id, name, phone, role, layer, grid_code, role_name, duty in zip(
            *cols, strict=True
        ):
            entry = RosterEntry(
                person_id,
                str(name),
                None if phone is None or pd.isna(phone) else str(phone),
                str(role),
                str(layer),
                str(grid_code),
                _text_or_none(role_name),
                _text_or_none(duty),
            )
            out.setdefault(entry.grid_code, []).append(entry)
        return {
            code: tuple(sorted(v, key=lambda e: (order.get(e.role, len(order)), e.role, e.name)))
            for code, v in out.items()
        }

    def roster_for(self, grid_code: str | None) -> tuple[RosterEntry, ...]:
        """The people of a unified grid, leader first."""
        return self._roster.get(grid_code, ()) if grid_code else ()

    def _lookup(self, xs: np.ndarray, ys: np.ndarray) -> dict[str, np.ndarray]:
        # no shapely points up front: each layer makes them only for what its raster leaves
        found: dict[str, np.ndarray] = {}
        within = None
        if self.districts is not None:
            hit = found["_district"] = self.districts.lookup(None, xs, ys)
            within = np.full(len(xs), "", dtype=object)
            within[hit >= 0] = self.districts.codes[hit[hit >= 0]]
        for key, layer in self.layers.items():
            found[key] = layer.lookup(None, xs, ys, within)
        for key, layer in (("_community", self.communities), ("_street", self.streets)):
            if layer is not None:
                found[key] = layer.lookup(None, xs, ys, within)
        return found

    def locate_many(self, lons: ArrayLike, lats: ArrayLike, crs: str = "wgs84") -> pd.DataFrame:
        """Locate many points at once: one row per point, one column per layer.

        Columns: ``lon, lat`` (storage), each layer key, ``community_code, street_code,
        district_code, inside_district``. Missing values are None.

        >>> import geopandas as gpd
        >>> from shapely.geometry import box
        >>> g = gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(0, 0, 1, 1)], crs=4490)
        >>> LocateIndex({"unified": g}).locate_many([0.5, 3], [0.5, 3], "cgcs2000")["unified"].tolist()
        ['A', None]
        """
        data = self.locate_columns(lons, lats, crs)
        # object dtype keeps None for "no grid" (pandas would otherwise turn it into NaN)
        return pd.DataFrame(
            {
                k: pd.Series(v, dtype=object if v.dtype == object else v.dtype)
                for k, v in data.items()
            }
        )

    def locate_columns(
        self, lons: ArrayLike, lats: ArrayLike, crs: str = "wgs84"
    ) -> dict[str, np.ndarray]:
        """:meth:`locate_many`'s columns as arrays, without the frame: a case writer placing a
        batch of twenty reports spent more on building the frame than on the lookup."""
        xs, ys = points_to_storage(np.atleast_1d(lons), np.atleast_1d(lats), crs)
        if xs.shape != ys.shape:
            raise BadInput("lons and lats differ in length", field="lats")
        found = self._lookup(xs, ys)
        data: dict[str, np.ndarray] = {"lon": xs, "lat": ys}
        for key, layer in self.layers.items():
            data[key] = _codes(layer.codes, found[key], len(xs))
        data["community_code"] = _codes(
            self.communities.codes if self.communities else None, found.get("_community"), len(xs)
        )
        data["street_code"] = _codes(
            self.streets.codes if self.streets else None, found.get("_street"), len(xs)
        )
        data["district_code"] = _codes(
            self.districts.codes if self.districts else None, found.get("_district"), len(xs)
        )
        data["inside_district"] = self._inside(found)
        return data

    def _inside(self, found: dict[str, np.ndarray]) -> np.ndarray:
        if "_street" in found:
            return found["_street"] >= 0
        if "_district" in found:
            return found["_district"] >= 0
        if UNIFIED in found:
            return found[UNIFIED] >= 0
        return np.any(np.vstack([v for k, v in found.items() if not k.startswith("_")]) >= 0, 0)

    def grids_at(self, lon: float, lat: float, crs: str = "cgcs2000") -> dict[str, str | None]:
        """Every layer's grid code at one point (storage CRS by default, for the geocoder)."""
        return self.locate(lon, lat, crs).grids

    def locate(self, lon: float, lat: float, crs: str = "wgs84") -> LocateResult:
        """Locate one point: every layer's grid, community, street, roster, inside_district."""
        if lon is None or lat is None or not (np.isfinite(lon) and np.isfinite(lat)):
            raise BadInput(f"lon/lat: not a finite point ({lon!r}, {lat!r})", field="lon")
        xs, ys = points_to_storage(np.array([lon], float), np.array([lat], float), crs)
        x, y = float(xs[0]), float(ys[0])
        found: dict[str, np.ndarray] = {}
        within = None
        if self.districts is not None:
            hit = self.districts.lookup_one(x, y)
            found["_district"] = np.array([hit])
            within = str(self.districts.codes[hit]) if hit >= 0 else None
        for key, layer in self.layers.items():
            found[key] = np.array([layer.lookup_one(x, y, within)])
        for key, layer in (("_community", self.communities), ("_street", self.streets)):
            if layer is not None:
                found[key] = np.array([layer.lookup_one(x, y, within)])
        grids = {
            key: (str(layer.codes[found[key][0]]) if found[key][0] >= 0 else None)
            for key, layer in self.layers.items()
        }
        community = _one(self.communities, found.get("_community"))
        street = _one(self.streets, found.get("_street"))
        district = _one(self.districts, found.get("_district"))
        unified = grids.get(UNIFIED)
        return LocateResult(
            lon=float(xs[0]),
            lat=float(ys[0]),
            grids=grids,
            community_code=community[0],
            community_name=community[1],
            street_code=street[0],
            street_name=street[1],
            roster=self.roster_for(unified),
            inside_district=bool(self._inside(found)[0]),
            generation=self.generation,
            district_code=district[0],
            district_name=district[1],
        )


def _codes(codes: np.ndarray | None, idx: np.ndarray | None, n: int) -> np.ndarray:
    out = np.full(n, None, dtype=object)
    if codes is None or idx is None:
        return out
    hit = idx >= 0
    out[hit] = codes[idx[hit]]
    return out


def _one(layer: LayerIndex | None, idx: np.ndarray | None) -> tuple[str | None, str | None]:
    if layer is None or idx is None or idx[0] < 0:
        return None, None
    name = layer.names[idx[0]] if layer.names is not None else None
    return str(layer.codes[idx[0]]), (None if name is None else str(name))
