"""Generate a seeded demo of a district from its real outline, streets and communities.

The outline and the list of streets and communities are real (a :class:`DistrictSpec`); everything
inside is synthetic and deterministic for a seed: unified grids that nest exactly in communities
and streets (15-digit codes: the community's 12 digits + a 3-digit sequence), four independently
drawn department layers with recorded defects, roads, buildings, standard addresses under the
district's own prefix, a roster, and a few over-filled grids (> 500 households) for balancing to
split. Geometry is built in the district's Gauss-Krüger zone and converted to storage EPSG:4490
vertex by vertex at the end, so shared vertices stay shared.

The default district is Qixia 栖霞区 (``make demo``): 1,063 unified grids, about 100,000
addresses, hand-placed streets. Any other district is laid out from its outline
(:mod:`._terrain`); :func:`generate_city` generates a city's districts in parallel processes.

Examples
--------
>>> demo = generate_demo()  # doctest: +SKIP
>>> len(demo.grids["unified"]), len(demo.streets), len(demo.communities)  # doctest: +SKIP
(1063, 9, 129)
>>> gusu = generate_demo("320508")  # doctest: +SKIP
>>> gusu.addresses["full_text"].iloc[0][:9]  # doctest: +SKIP
'江苏省苏州市姑苏区'
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_grid.address import LIBRARY_COMPONENTS, DistrictNames
from geo_grid.address.library import ADDRESS_ID_BLOCK
from geo_grid.demo._addresses import build_addresses, build_roster
from geo_grid.demo._buildings import Buildings, build_buildings
from geo_grid.demo._defects import inject_defects
from geo_grid.demo._frame import LocalFrame
from geo_grid.demo._layers import build_department_layers
from geo_grid.demo._names import NamePool
from geo_grid.demo._overfill import overfill
from geo_grid.demo._roads import build_roads
from geo_grid.demo._terrain import build_terrain
from geo_grid.demo._unified import UnifiedLayout, build_unified
from geo_grid.demo.districts import QIXIA, city_districts, load_district
from geo_grid.demo.spec import DistrictSpec
from geo_grid.errors import BadInput
from geo_grid.layers import UNIFIED

__all__ = [
    "DEFAULT_SEED",
    "CityPart",
    "DemoDistrict",
    "generate_city",
    "generate_demo",
    "ground_truth_name",
    "iter_city",
    "write_ground_truth",
]

DEFAULT_SEED = 20261125
STORAGE_CRS = "EPSG:4490"
GRID_COLUMNS = ["code", "name", "layer", "community_code", "street_code", "households", "geometry"]
#: Address ids of a district start at its code × 10⁸ + 1 (:data:`geo_grid.address.library.
#: ADDRESS_ID_BLOCK`, the block an imported library of the district takes too), so districts
#: stored together never share one; ids stay below 2⁵³ for JavaScript.


@dataclass
class DemoDistrict:
    """Everything the demo database holds for one district, as GeoDataFrames in EPSG:4490.

    ``overfilled`` lists the grids over-filled on purpose (code, households before and after);
    ``spec`` is the district the demo was generated for (code, names, outline, local CRS).
    """

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
    overfilled: list[dict] = field(default_factory=list)
    spec: DistrictSpec | None = None

    @property
    def code(self) -> str:
        """The district's 6-digit code."""
        return str(self.district["code"].iloc[0])

    @property
    def local_crs(self) -> str:
        """The district's metric CRS (its Gauss-Krüger zone), for areas and distances."""
        return self.spec.local_crs if self.spec is not None else "EPSG:4549"

    @property
    def district_names(self) -> DistrictNames:
        """The names the district is written with, for :class:`geo_grid.address.Geocoder`."""
        spec = self.spec if self.spec is not None else load_district(self.code)
        return spec.names


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


def _repair(geoms: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Storage geometries made valid again where the conversion broke them (but ``keep``).

    A cut can leave a spike a few nanometres wide, valid in metres, that crosses itself once
    converted to degrees. Only such polygons are rebuilt (their polygonal parts, the spike
    dropped); the planted invalid rings (``keep``) stay as they are.
    """
    bad = ~shapely.is_valid(geoms)
    if keep is not None:
        bad &= ~keep
    if not bad.any():
        return geoms
    out = geoms.copy()
    for i in np.flatnonzero(bad):
        fixed = shapely.make_valid(geoms[i], method="structure", keep_collapsed=False)
        polys = [p for p in shapely.get_parts(fixed) if p.geom_type == "Polygon"]
        out[i] = shapely.multipolygons(polys)
    return out


def _gdf(df: dict | pd.DataFrame, geoms) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(df), geometry=list(geoms), crs=STORAGE_CRS)


def _spec(district: DistrictSpec | str | None) -> DistrictSpec:
    if district is None:
        return load_district(QIXIA)
    if isinstance(district, DistrictSpec):
        return district
    if isinstance(district, str):
        return load_district(district)
    raise TypeError(
        f"district: a DistrictSpec, a district code or None, not {type(district).__name__} "
        "(pass the seed as seed=...)"
    )


def _grid_codes(lay: UnifiedLayout, comm_short: dict[str, str]) -> tuple[list[str], list[str]]:
    """Unified grid codes (community code + 3-digit sequence, in the layout's order) and names."""
    seq: dict[str, int] = {}
    codes, names = [], []
    for comm in lay.grid_community:
        seq[comm] = seq.get(comm, 0) + 1
        if seq[comm] > 999:
            raise ValueError(f"community {comm} has more than 999 grids")
        codes.append(f"{comm}{seq[comm]:03d}")
        names.append(f"{comm_short[comm]}第{seq[comm]}网格")
    return codes, names


def generate_demo(
    district: DistrictSpec | str | None = None,
    seed: int = DEFAULT_SEED,
    *,
    n_grids: int | None = None,
) -> DemoDistrict:
    """Build the demo of ``district`` for ``seed`` (same inputs → same district, to the last bit).

    Parameters
    ----------
    district
        A :class:`DistrictSpec`, the code of a district in ``data/``
        (:func:`geo_grid.demo.districts.known_districts`), or None for Qixia 栖霞区.
    seed
        Seed of the random streams every choice draws from.
    n_grids
        Number of unified grids (at least one per community); by default from the district's
        communities (Qixia: 1,063).

    The steps share one random stream, so their order is part of the result: unified grids, roads
    (the 城管 blocks and door plates use them), buildings, addresses, department layers, defects,
    roster.
    """
    spec = _spec(district)
    frame = LocalFrame(spec.local_crs)
    terrain = build_terrain(spec, frame)
    n_grids = _n_grids(n_grids, terrain.n_grids, len(spec.communities))
    rng = np.random.default_rng(seed if terrain.plain_seed else [seed, int(spec.code)])
    pool = NamePool(rng)
    lay = build_unified(rng, n_grids, terrain, spec.communities_by_street)
    comm_short = {c.code: c.short_name for c in spec.communities}
    comm_kind = {c.code: c.kind for c in spec.communities}
    comm_street = {c.code: c.street_code for c in spec.communities}
    grid_codes, grid_names = _grid_codes(lay, comm_short)
    grid_comm = dict(zip(grid_codes, lay.grid_community, strict=True))
    land_for_roads = shapely.difference(terrain.outline, terrain.water)
    urban_local = shapely.union_all(
        [
            g
            for g, c in zip(lay.grid_geoms, lay.grid_community, strict=True)
            if comm_kind[c] == "urban"
        ]
    )
    if terrain.built_up is not None:  # open land: branch roads in the towns only
        urban_local = shapely.intersection(urban_local, terrain.built_up)
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
        b, grid_codes, lay.grid_geoms, grid_comm, comm_street, comm_short, comm_kind,
        spec.street_names, road_names, road_geoms, land_for_roads, rng,
        prefix=spec.prefix, target=terrain.n_addresses,
        first_id=int(spec.code) * ADDRESS_ID_BLOCK + 1,
    )  # fmt: skip
    # its own stream: the over-filled grids leave every other draw of the district as it was
    grid_kind = {g: comm_kind[c] for g, c in grid_comm.items()}
    overfilled = overfill(
        b, grid_codes, grid_kind, np.random.default_rng([seed, int(spec.code), 7])
    )
    comm_local, street_local = _parents_local(lay, comm_street, spec)
    dept = build_department_layers(
        terrain, lay, street_local, comm_local, comm_short, spec.street_names, road_geoms, spec, rng
    )
    defects = _to_lonlat(inject_defects(dept, comm_local, rng, frame), frame)
    roster = build_roster(
        sorted(grid_codes), grid_comm, comm_kind, _dept_grids(dept), rng,
        police=f"{spec.short}公安分局", id_prefix=f"P{spec.code}",
    )  # fmt: skip
    roads = _gdf({"name": road_names, "kind": road_kinds}, frame.from_local(road_geoms))
    demo = _assemble(spec, frame, lay, (grid_codes, grid_names), b, addr, dept, roads, roster)
    _repair_grids(demo, defects)
    demo.defects, demo.seed, demo.overfilled = defects, seed, overfilled
    return demo


def _n_grids(n_grids: int | None, default: int, n_comm: int) -> int:
    """The number of unified grids asked for (``default``: the terrain's), one per community at
    least."""
    n_grids = n_grids if n_grids is not None else default
    if n_grids < n_comm:
        raise BadInput(
            f"n_grids={n_grids}: need at least one grid per community ({n_comm})", field="n_grids"
        )
    return n_grids


def _parents_local(lay: UnifiedLayout, comm_street: dict[str, str], spec: DistrictSpec) -> tuple:
    """Communities and streets in metres, as coverage unions of the unified grids (the department
    layers are drawn within them)."""
    gc = np.array(lay.grid_community)
    grid_arr = np.array(lay.grid_geoms, dtype=object)
    comm_local = {c: shapely.coverage_union_all(grid_arr[gc == c]) for c in lay.community_codes}
    street_local = {
        s: shapely.coverage_union_all(
            [comm_local[c] for c in lay.community_codes if comm_street[c] == s]
        )
        for s in sorted(spec.street_names)
    }
    return comm_local, street_local


def _to_lonlat(defects: list[dict], frame: LocalFrame) -> list[dict]:
    """The defect records with their local ``xy`` replaced by a storage ``point`` [lon, lat]."""
    for d in defects:
        lon, lat = frame.lonlat([d.pop("xy")])[0]
        d["point"] = [round(float(lon), 7), round(float(lat), 7)]
    return defects


def _dept_grids(dept: dict[str, dict]) -> list[tuple[str, str, str]]:
    """(layer, grid code, department) of every department grid, for the roster."""
    return [
        (layer, code, dept_name)
        for layer, table in dept.items()
        for code, dept_name in zip(table["code"], table["department"], strict=True)
    ]


def _repair_grids(demo: DemoDistrict, defects: list[dict]) -> None:
    """Make every stored grid valid again (:func:`_repair`) except the planted bow-ties."""
    planted = {(d["layer"], d["ids"][0]) for d in defects if d["kind"] == "invalid_geometry"}
    for layer, grids in demo.grids.items():
        keep = np.array([(layer, c) in planted for c in grids["code"]], dtype=bool)
        fixed = _repair(np.asarray(grids.geometry.array, dtype=object), keep)
        grids["geometry"] = gpd.GeoSeries(fixed, index=grids.index, crs=grids.crs)


def _admin(spec: DistrictSpec, frame: LocalFrame, lay: UnifiedLayout, grids_4490) -> tuple:
    """District, streets and communities (EPSG:4490) as coverage unions of the stored grids."""
    comm_info = {c.code: c for c in spec.communities}
    gc = np.array(lay.grid_community)
    comm_geoms = {c: shapely.coverage_union_all(grids_4490[gc == c]) for c in lay.community_codes}
    comm_order = sorted(lay.community_codes)
    s_codes = sorted(spec.street_names)
    street_geoms = {
        s: shapely.coverage_union_all(
            [comm_geoms[c] for c in comm_order if comm_info[c].street_code == s]
        )
        for s in s_codes
    }
    district_geom = shapely.coverage_union_all(list(street_geoms.values()))
    district = _gdf(
        {"code": [spec.code], "name": [spec.name], "level": ["district"],
         "parent_code": [spec.city_code]},
        _multi([district_geom]),
    )  # fmt: skip
    streets = _gdf(
        {"code": s_codes, "name": [spec.street_names[s] for s in s_codes], "level": "street",
         "parent_code": spec.code},
        _multi([street_geoms[s] for s in s_codes]),
    )  # fmt: skip
    communities = _gdf(
        {
            "code": comm_order,
            "name": [comm_info[c].name for c in comm_order],
            "short_name": [comm_info[c].short_name for c in comm_order],
            "level": "community",
            "parent_code": [comm_info[c].street_code for c in comm_order],
            "kind": [comm_info[c].kind for c in comm_order],
        },
        _multi([comm_geoms[c] for c in comm_order]),
    )
    return district, streets, communities


def _buildings_gdf(b: Buildings, frame: LocalFrame) -> gpd.GeoDataFrame:
    return _gdf(
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
        frame.from_local(np.array(b.geometry, dtype=object)),
    )


def _addresses_gdf(addr: pd.DataFrame, frame: LocalFrame) -> gpd.GeoDataFrame:
    lonlat = shapely.get_coordinates(frame.from_local(shapely.points(addr[["x", "y"]].to_numpy())))
    addr = addr.drop(columns=["x", "y"])
    addr["lon"], addr["lat"] = lonlat[:, 0], lonlat[:, 1]
    cols = [
        "address_id", "full_text", "local_text", "street_code", "community_code",
        *LIBRARY_COMPONENTS, "building_code", "grid_code", "lon", "lat",
    ]  # fmt: skip
    return gpd.GeoDataFrame(
        addr[cols], geometry=gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs=STORAGE_CRS
    )


def _assemble(spec, frame, lay, codes_names, b, addr, dept, roads, roster) -> DemoDistrict:
    """The district's tables in storage coordinates (defects and over-filled grids come after)."""
    grid_codes, grid_names = codes_names
    comm_street = {c.code: c.street_code for c in spec.communities}
    households = pd.Series(b.households).groupby(pd.Series(b.grid_code)).sum()
    grids_4490 = _repair(frame.from_local(np.array(lay.grid_geoms, dtype=object)))
    district, streets, communities = _admin(spec, frame, lay, grids_4490)
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
            _multi(frame.from_local(np.array(table["geometry"], dtype=object))),
        )
    return DemoDistrict(
        district=district,
        streets=streets,
        communities=communities,
        grids=grids,
        buildings=_buildings_gdf(b, frame),
        addresses=_addresses_gdf(addr, frame),
        roads=roads,
        roster=roster,
        spec=spec,
    )


@dataclass
class CityPart:
    """One generated district of a city (:func:`iter_city`): its demo (None when ``then`` kept
    it in the worker), what ``then`` returned, and the seconds generating it took there."""

    code: str
    demo: DemoDistrict | None
    then: Any = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def _one(code: str, seed: int, then: Callable[[DemoDistrict], Any] | None) -> CityPart:
    """Generate one district in a worker process (and hand it to ``then`` there)."""
    started, cpu = time.perf_counter(), time.process_time()
    demo = generate_demo(code, seed)
    part = CityPart(code, demo, None, time.perf_counter() - started, time.process_time() - cpu)
    if then is not None:
        part.then, part.demo = then(demo), None  # the demo stays in the worker
    return part


def iter_city(
    city_code: str,
    seed: int = DEFAULT_SEED,
    *,
    processes: int | None = None,
    codes: Sequence[str] | None = None,
    then: Callable[[DemoDistrict], Any] | None = None,
) -> Iterator[CityPart]:
    """Generate every known district of a city ('3201': Nanjing's eleven), or those of them in
    ``codes``, yielding a :class:`CityPart` as each is done.

    Districts are independent, so they are generated in ``processes`` worker processes (default:
    the CPUs this process may use), the largest first; each gives the same demo as
    :func:`generate_demo` with the same seed. ``then(demo)`` (a module-level function, or a
    ``functools.partial`` of one: it is pickled) runs in the worker right after, and its result
    comes back instead of the demo: a loader stores each district from the process that made it,
    so neither the work nor the hundreds of megabytes of a city's frames pass through one process.
    Workers are spawned, not forked: ``then`` may open its own database connections. When a
    district fails, the districts not started yet are not started; its error is raised once the
    running ones end.
    """
    known = city_districts(city_code)
    if not known:
        raise BadInput(f"city: no district of {city_code!r} in data/", field="city")
    wanted = known if codes is None else [c for c in known if c in set(codes)]
    work = sorted(wanted, key=lambda c: -len(load_district(c).communities))
    n = min(processes or len(os.sched_getaffinity(0)), len(work))
    if n <= 1:
        yield from (_one(c, seed, then) for c in work)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=n, mp_context=context) as pool:
        futures = [pool.submit(_one, c, seed, then) for c in work]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:  # a district failed (or the caller stopped): start no other
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def generate_city(
    city_code: str,
    seed: int = DEFAULT_SEED,
    *,
    processes: int | None = None,
    codes: Sequence[str] | None = None,
) -> dict[str, DemoDistrict]:
    """Every known district of a city (or those in ``codes``), district code → demo (see
    :func:`iter_city`)."""
    parts = iter_city(city_code, seed, processes=processes, codes=codes)
    return dict(sorted((p.code, p.demo) for p in parts))


def ground_truth_name(demo: DemoDistrict) -> str:
    """The ground-truth file of a demo: ``qixia_defects.json`` for Qixia, ``<code>_defects.json``."""
    return "qixia_defects.json" if demo.code == QIXIA else f"{demo.code}_defects.json"


def write_ground_truth(demo: DemoDistrict, path: Path) -> None:
    """Write the injected defects and over-filled grids as JSON (byte-stable per seed).

    The file is what a coverage checker and the balancing are scored against: every defect, with
    the grids involved, its approximate area and width in metres and a point inside it, and every
    grid over-filled on purpose with its households.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    defects = sorted(demo.defects, key=lambda d: (d["layer"], d["kind"], d["ids"]))
    body = {
        "district": demo.code,
        "seed": demo.seed,
        "crs": STORAGE_CRS,
        "metric_crs": demo.local_crs,
        "layers": {k: int(len(v)) for k, v in sorted(demo.grids.items())},
        "defects": [{k: d[k] for k in sorted(d)} for d in defects],
        "overfilled": [{k: d[k] for k in sorted(d)} for d in demo.overfilled],
    }
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
