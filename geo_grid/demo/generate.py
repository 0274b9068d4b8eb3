"""Generate the seeded demo district: Qixia 栖霞区 with its real streets and communities.

The outline and the list of streets and communities are real (``data/``); everything inside is
synthetic and deterministic for a seed: 1,063 unified grids that nest exactly in communities and
streets, four independently drawn department layers with recorded defects, roads, buildings,
about 100,000 standard addresses and a roster. Geometry is built in EPSG:4549 metres and converted
to storage EPSG:4490 vertex by vertex at the end, so shared vertices stay shared.

Examples
--------
>>> demo = generate_demo()  # doctest: +SKIP
>>> len(demo.grids["unified"]), len(demo.streets), len(demo.communities)  # doctest: +SKIP
(1063, 9, 129)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_grid.address import LIBRARY_COMPONENTS, DistrictNames
from geo_grid.demo import _units as units
from geo_grid.demo._addresses import build_addresses, build_roster
from geo_grid.demo._buildings import build_buildings
from geo_grid.demo._defects import inject_defects
from geo_grid.demo._layers import build_department_layers
from geo_grid.demo._names import NamePool
from geo_grid.demo._roads import build_roads
from geo_grid.demo._unified import build_terrain, build_unified
from geo_grid.layers import UNIFIED

__all__ = ["DEFAULT_SEED", "DemoDistrict", "generate_demo", "write_ground_truth"]

DEFAULT_SEED = 20261125
STORAGE_CRS = "EPSG:4490"
GRID_COLUMNS = ["code", "name", "layer", "community_code", "street_code", "households", "geometry"]


@dataclass
class DemoDistrict:
    """Everything the demo database holds, as GeoDataFrames in EPSG:4490."""

    district: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    grids: dict[str, gpd.GeoDataFrame]
    buildings: gpd.GeoDataFrame
    addresses: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    roster: pd.DataFrame
    defects: list[dict] = field(default_factory=list)
    seed: int = DEFAULT_SEED

    @property
    def district_names(self) -> DistrictNames:
        """The names the district is written with, for :class:`geo_grid.address.Geocoder`."""
        return units.DISTRICT_NAMES


def _multi(geoms) -> np.ndarray:
    """Polygons as one-part MultiPolygons (without validating: a planted bow-tie stays one)."""
    out = []
    for g in geoms:
        if g.geom_type == "MultiPolygon":
            out.append(g)
        elif g.geom_type == "Polygon":
            out.append(shapely.multipolygons([g]))
        else:
            polys = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
            out.append(shapely.multipolygons(polys))
    return np.array(out, dtype=object)


def _gdf(df: dict | pd.DataFrame, geoms) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(df), geometry=list(geoms), crs=STORAGE_CRS)


def generate_demo(seed: int = DEFAULT_SEED, *, n_grids: int = 1063) -> DemoDistrict:
    """Build the demo district for ``seed`` (same seed → same district, to the last bit).

    Parameters
    ----------
    seed
        Seed of the one ``numpy.random.Generator`` every random choice draws from.
    n_grids
        Number of unified grids (at least one per community, so ≥ 129).
    """
    n_comm = sum(len(v) for v in units.communities_by_street().values())
    if n_grids < n_comm:
        raise ValueError(f"n_grids={n_grids}: need at least one grid per community ({n_comm})")
    rng = np.random.default_rng(seed)
    pool = NamePool(rng)
    terrain = build_terrain()
    lay = build_unified(rng, n_grids, terrain)

    comm_info = {c.code: c for cs in units.communities_by_street().values() for c in cs}
    street_name = units.street_names()
    comm_short = {c: comm_info[c].short_name for c in comm_info}
    comm_kind = {c: comm_info[c].kind for c in comm_info}
    comm_street = {c: comm_info[c].street_code for c in comm_info}

    # unified grid codes: community code + 3-digit sequence, in the layout's order
    seq: dict[str, int] = {}
    grid_codes, grid_names = [], []
    for comm in lay.grid_community:
        seq[comm] = seq.get(comm, 0) + 1
        grid_codes.append(f"{comm}{seq[comm]:03d}")
        grid_names.append(f"{comm_short[comm]}第{seq[comm]}网格")
    grid_comm = dict(zip(grid_codes, lay.grid_community, strict=True))

    # roads first (the 城管 blocks and door plates use them), then buildings and addresses
    land_for_roads = shapely.difference(terrain.outline, terrain.water)
    urban_local = shapely.union_all(
        [
            g
            for g, c in zip(lay.grid_geoms, lay.grid_community, strict=True)
            if comm_kind[c] == "urban"
        ]
    )
    road_names, road_kinds, road_geoms = build_roads(land_for_roads, urban_local, rng, pool)
    b = build_buildings(
        lay.grid_geoms,
        grid_codes,
        lay.grid_community,
        comm_kind,
        comm_short,
        terrain.land,
        rng,
        pool,
    )
    addr = build_addresses(
        b,
        grid_codes,
        lay.grid_geoms,
        grid_comm,
        comm_street,
        comm_short,
        comm_kind,
        street_name,
        road_names,
        road_geoms,
        land_for_roads,
        rng,
    )
    households = pd.Series(b.households).groupby(pd.Series(b.grid_code)).sum()

    # department layers and their defects (metres), then everything to storage coordinates
    street_local = {}
    comm_local = {}
    grid_arr = np.array(lay.grid_geoms, dtype=object)
    gc = np.array(lay.grid_community)
    for comm in lay.community_codes:
        comm_local[comm] = shapely.coverage_union_all(grid_arr[gc == comm])
    for street in sorted(street_name):
        members = [c for c in lay.community_codes if comm_street[c] == street]
        street_local[street] = shapely.coverage_union_all([comm_local[c] for c in members])
    dept = build_department_layers(
        terrain, lay, street_local, comm_local, comm_short, street_name, road_geoms, rng
    )
    defects = inject_defects(dept, comm_local, rng)

    grids_4490 = units.from_local(np.array(lay.grid_geoms, dtype=object))
    comm_geoms = {c: shapely.coverage_union_all(grids_4490[gc == c]) for c in lay.community_codes}
    comm_order = sorted(lay.community_codes)
    street_geoms = {
        s: shapely.coverage_union_all([comm_geoms[c] for c in comm_order if comm_street[c] == s])
        for s in sorted(street_name)
    }
    district_geom = shapely.coverage_union_all(list(street_geoms.values()))

    district = _gdf(
        {
            "code": [units.DISTRICT_CODE],
            "name": [units.DISTRICT_NAME],
            "level": ["district"],
            "parent_code": [units.CITY_CODE],
        },
        _multi([district_geom]),
    )
    s_codes = sorted(street_name)
    streets = _gdf(
        {
            "code": s_codes,
            "name": [street_name[s] for s in s_codes],
            "level": "street",
            "parent_code": units.DISTRICT_CODE,
        },
        _multi([street_geoms[s] for s in s_codes]),
    )
    communities = _gdf(
        {
            "code": comm_order,
            "name": [comm_info[c].name for c in comm_order],
            "short_name": [comm_short[c] for c in comm_order],
            "level": "community",
            "parent_code": [comm_street[c] for c in comm_order],
            "kind": [comm_kind[c] for c in comm_order],
        },
        _multi([comm_geoms[c] for c in comm_order]),
    )
    order = np.argsort(grid_codes, kind="stable")
    unified = _gdf(
        {
            "code": [grid_codes[i] for i in order],
            "name": [grid_names[i] for i in order],
            "layer": UNIFIED,
            "community_code": [lay.grid_community[i] for i in order],
            "street_code": [comm_street[lay.grid_community[i]] for i in order],
            "households": [int(households.get(grid_codes[i], 0)) for i in order],
        },
        _multi(grids_4490[order]),
    )
    grids = {UNIFIED: unified}
    for layer, table in dept.items():
        grids[layer] = _gdf(
            {k: table[k] for k in GRID_COLUMNS if k != "geometry"},
            _multi(units.from_local(np.array(table["geometry"], dtype=object))),
        )
    for d in defects:
        lon, lat = shapely.get_coordinates(units.from_local(shapely.Point(d.pop("xy"))))[0]
        d["point"] = [round(float(lon), 7), round(float(lat), 7)]

    buildings = _gdf(
        {
            "code": b.code,
            "name": b.name,
            "community_code": b.community_code,
            "grid_code": b.grid_code,
            "xiaoqu": b.xiaoqu,
            "households": b.households,
            "floors": b.floors,
            "kind": b.kind,
        },
        units.from_local(np.array(b.geometry, dtype=object)),
    )
    lonlat = shapely.get_coordinates(units.from_local(shapely.points(addr[["x", "y"]].to_numpy())))
    addr = addr.drop(columns=["x", "y"])
    addr["lon"], addr["lat"] = lonlat[:, 0], lonlat[:, 1]
    cols = [
        "address_id", "full_text", "local_text", "street_code", "community_code",
        *LIBRARY_COMPONENTS, "building_code", "grid_code", "lon", "lat",
    ]  # fmt: skip
    addresses = gpd.GeoDataFrame(
        addr[cols], geometry=gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs=STORAGE_CRS
    )
    roads = _gdf({"name": road_names, "kind": road_kinds}, units.from_local(road_geoms))

    dept_grids = [
        (layer, code, dept_name)
        for layer, table in dept.items()
        for code, dept_name in zip(table["code"], table["department"], strict=True)
    ]
    roster = build_roster(list(unified["code"]), grid_comm, comm_kind, dept_grids, rng)
    return DemoDistrict(
        district=district,
        streets=streets,
        communities=communities,
        grids=grids,
        buildings=buildings,
        addresses=addresses,
        roads=roads,
        roster=roster,
        defects=defects,
        seed=seed,
    )


def write_ground_truth(demo: DemoDistrict, path: Path) -> None:
    """Write the injected defects as JSON, sorted by layer, kind and ids (byte-stable per seed).

    The file is what a coverage checker is scored against: every defect, with the grids involved,
    its approximate area and width in metres and a point inside it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    defects = sorted(demo.defects, key=lambda d: (d["layer"], d["kind"], d["ids"]))
    body = {
        "district": units.DISTRICT_CODE,
        "seed": demo.seed,
        "crs": STORAGE_CRS,
        "metric_crs": "EPSG:4549",
        "layers": {k: int(len(v)) for k, v in sorted(demo.grids.items())},
        "defects": [{k: d[k] for k in sorted(d)} for d in defects],
    }
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
