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

__all__ = ["LayerIndex", "LocateIndex", "LocateResult", "RosterEntry"]

#: The order roster entries are listed in; other roles follow alphabetically.
ROLE_ORDER: tuple[str, ...] = ("网格长", "grid_leader", "专职网格员", "网格员", "grid_worker")


@dataclass(frozen=True)
class RosterEntry:
    """One person responsible for a grid."""

    person_id: Any
    name: str
    phone: str | None
    role: str
    layer: str
    grid_code: str


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


@dataclass
class LayerIndex:
    """One layer's polygons, an STRtree over them, and codes ranked for the boundary tie-break."""

    codes: np.ndarray
    names: np.ndarray | None
    geoms: np.ndarray
    tree: shapely.STRtree = field(repr=False)
    rank: np.ndarray = field(repr=False)
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
        return cls(codes, names, geoms, shapely.STRtree(geoms), rank, districts)

    def lookup(
        self, points: np.ndarray, xs: np.ndarray, ys: np.ndarray, within: np.ndarray | None = None
    ) -> np.ndarray:
        """Index of the polygon holding each point (smallest code on boundaries), -1 for none.

        ``within`` (one district code per point, ``""`` for none) keeps each point to the
        polygons of its own district."""
        out = np.full(len(points), -1, dtype=np.int64)
        if len(self.codes) == 0 or len(points) == 0:
            return out
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
        for rec in rows.itertuples(index=False):
            phone = getattr(rec, "phone", None)
            entry = RosterEntry(
                rec.person_id,
                str(rec.name),
                None if phone is None or pd.isna(phone) else str(phone),
                str(rec.role),
                str(rec.layer),
                str(rec.grid_code),
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
        points = shapely.points(xs, ys)
        found: dict[str, np.ndarray] = {}
        within = None
        if self.districts is not None:
            hit = found["_district"] = self.districts.lookup(points, xs, ys)
            within = np.full(len(xs), "", dtype=object)
            within[hit >= 0] = self.districts.codes[hit[hit >= 0]]
        for key, layer in self.layers.items():
            found[key] = layer.lookup(points, xs, ys, within)
        for key, layer in (("_community", self.communities), ("_street", self.streets)):
            if layer is not None:
                found[key] = layer.lookup(points, xs, ys, within)
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
        xs, ys = points_to_storage(np.atleast_1d(lons), np.atleast_1d(lats), crs)
        if xs.shape != ys.shape:
            raise BadInput("lons and lats differ in length", field="lats")
        found = self._lookup(xs, ys)
        data: dict[str, Any] = {"lon": xs, "lat": ys}
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
        # object dtype keeps None for "no grid" (pandas would otherwise turn it into NaN)
        return pd.DataFrame(
            {
                k: pd.Series(v, dtype=object if v.dtype == object else v.dtype)
                for k, v in data.items()
            }
        )

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
        found = self._lookup(xs, ys)
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
