"""The district as the generator sees it (:class:`Terrain`): outline, water, parks, where the streets
lie, where people live and how many grids and addresses to make, all in local metres.

A district either has a hand-tuned entry (Qixia, the demo of ``make demo``, whose street anchors,
town centres, parks and river were placed by hand: :mod:`._qixia`) or is laid out automatically
from its outline and its real streets and communities (:func:`auto_terrain`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray

from geo_grid.demo._frame import LocalFrame
from geo_grid.demo.spec import DistrictSpec

__all__ = ["Terrain", "auto_terrain", "build_terrain", "local_outline"]

#: Households of an average 社区 and 村 (a 社区 of 3,000-5,000 households is usual in a Chinese
#: city, a 村 of 800-1,500); with 400 and 180 households per grid these fix the grid count.
URBAN_HOUSEHOLDS = 3600.0
RURAL_HOUSEHOLDS = 1200.0
URBAN_TARGET = 400.0
RURAL_TARGET = 180.0
#: Standard addresses per unified grid (the address book is a sample of every door and room).
ADDRESSES_PER_GRID = 115
#: km² per inland ecology cell (Qixia: 34 cells on 390 km²).
ECOLOGY_CELL_KM2 = 11.5


@dataclass
class Terrain:
    """Where the water, the parks, the streets and the people are (all in local metres)."""

    outline: shapely.Geometry
    river_line: shapely.Geometry  # a river border (empty when the district has none)
    water: shapely.Geometry
    parks: list[tuple[str, shapely.Geometry]]
    land: shapely.Geometry  # outline minus water and parks: where buildings may stand
    anchors: NDArray  # (n, 2) street anchors: street borders are Voronoi edges between streets
    anchor_street: list[str]
    urban_streets: frozenset[str]  # dense built-up streets (high density everywhere)
    town_centres: dict[str, list[tuple[float, float, float]]]  # street → (x, y, sigma_m) peaks
    n_grids: int
    n_addresses: int
    lattice_m: float
    ecology_inland: int
    river_name: str | None = None
    #: draw from ``default_rng(seed)`` rather than ``default_rng([seed, code])`` (Qixia's demo
    #: predates districts; its seed alone keeps giving the same district)
    plain_seed: bool = False
    street_codes: list[str] = field(default_factory=list)
    #: where the towns are built up when the district is open land (branch roads and road-block
    #: 城管 grids only there; the rest of the land in big cells); None: every urban community
    built_up: shapely.Geometry | None = None


def local_outline(spec: DistrictSpec, frame: LocalFrame) -> shapely.Geometry:
    """The district outline in metres: one valid Polygon, or the union of its parts."""
    geom = frame.to_local(spec.outline)
    parts = sorted(shapely.get_parts(geom), key=lambda p: -p.area)
    return shapely.make_valid(parts[0]) if len(parts) == 1 else shapely.union_all(parts)


def grid_estimate(spec: DistrictSpec) -> int:
    """Unified grids for a district: its real communities' households over the grid targets.

    >>> from types import SimpleNamespace as NS
    >>> grid_estimate(NS(communities=[NS(kind="urban")] * 10 + [NS(kind="rural")] * 3))
    110
    """
    n_urban = sum(c.kind == "urban" for c in spec.communities)
    n_rural = len(spec.communities) - n_urban
    return int(
        round(n_urban * URBAN_HOUSEHOLDS / URBAN_TARGET + n_rural * RURAL_HOUSEHOLDS / RURAL_TARGET)
    )


def auto_terrain(spec: DistrictSpec, frame: LocalFrame) -> Terrain:
    """Lay out a district from its outline and its real streets and communities.

    Streets are placed by :func:`._streets.place_streets` (areas from their mix of 社区 and 村,
    urban streets facing the city centre); a street without villages is dense throughout, a street
    with villages has a town centre whose size follows its share of 社区. In open land (more land
    per community than :data:`._streets.URBAN_LAND_MAX_M2`) every street is a town and
    ``built_up`` holds their cores. No water or parks are invented. Grid and address counts
    follow :func:`grid_estimate`; the sample lattice is fine
    enough for ~30 points per grid.
    """
    from geo_grid.demo._streets import place_streets

    outline = local_outline(spec, frame)
    area = float(outline.area)
    n_grids = max(grid_estimate(spec), len(spec.communities))
    core = (
        frame.local_xy([spec.core])[0]
        if spec.core is not None
        else shapely.get_coordinates(shapely.point_on_surface(outline))[0]
    )
    placed = place_streets(outline, spec, core, np.random.default_rng([int(spec.code), 2]))
    urban_streets = frozenset(s for s, p in placed.items() if p.dense)
    cores = [shapely.Point(p.centre).buffer(p.core_m) for p in placed.values() if p.core_m]
    town_centres = {
        s: [(float(p.centre[0]), float(p.centre[1]), p.town_sigma)]
        for s, p in placed.items()
        if s not in urban_streets
    }
    anchors = np.vstack([placed[s].anchors for s in sorted(placed)])
    anchor_street = [s for s in sorted(placed) for _ in range(len(placed[s].anchors))]
    return Terrain(
        outline=outline,
        river_line=shapely.LineString(),
        water=shapely.Polygon(),
        parks=[],
        land=outline,
        anchors=anchors,
        anchor_street=anchor_street,
        urban_streets=urban_streets,
        town_centres=town_centres,
        n_grids=n_grids,
        n_addresses=ADDRESSES_PER_GRID * n_grids,
        lattice_m=float(np.clip(np.sqrt(area / (n_grids * 30.0)), 25.0, 70.0)),
        ecology_inland=int(np.clip(round(area / 1e6 / ECOLOGY_CELL_KM2), 12, 80)),
        street_codes=sorted(placed),
        built_up=shapely.intersection(shapely.union_all(cores), outline) if cores else None,
    )


def build_terrain(spec: DistrictSpec, frame: LocalFrame) -> Terrain:
    """The hand-tuned terrain of a district that has one (Qixia), else :func:`auto_terrain`."""
    from geo_grid.demo import _qixia

    if spec.code == _qixia.CODE:
        return _qixia.terrain(spec, frame)
    return auto_terrain(spec, frame)
