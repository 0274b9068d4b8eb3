"""What an edit is measured against (:class:`PlanContext`, with its household :class:`Bands`) and
what it answers (:class:`EditResult`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping

from geo_grid.crs import resolve_local
from geo_grid.errors import NotFound

__all__ = ["Bands", "EditResult", "PlanContext"]


@dataclass(frozen=True)
class Bands:
    """Target household band per community kind; ``default`` applies to kinds not listed.

    >>> Bands(by_kind={"rural": (100, 300)}).band("rural"), Bands().band("urban")
    ((100, 300), (300, 500))
    """

    default: tuple[int, int] = (300, 500)
    by_kind: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    def band(self, kind: str | None) -> tuple[int, int]:
        """The ``(low, high)`` band of a community kind."""
        low, high = self.by_kind.get(kind or "", self.default)
        return int(low), int(high)


@dataclass
class PlanContext:
    """What an edit is measured against: communities and the people and things inside grids.

    All frames in EPSG:4490. ``communities``: ``code``, ``kind``, geometry. ``buildings``: ``code``,
    ``households``, footprint. ``addresses``: ``address_id``, point. ``cases``: open cases, ``id``,
    point. ``roster``: ``grid_code``, ``person_id``, ``role``. Frames may be limited to the area an
    edit touches. ``reserved_codes`` are codes never to hand out again (those of the base
    generation), so a split never reuses the code of a grid merged away in the same plan.
    ``max_vertices`` caps the vertices of a geometry an edit is given (a split line, a new
    outline); None: no cap.
    """

    communities: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame | None = None
    addresses: gpd.GeoDataFrame | None = None
    cases: gpd.GeoDataFrame | None = None
    roster: pd.DataFrame | None = None
    bands: Bands = field(default_factory=Bands)
    #: the district's metric CRS; ``"auto"``: the Gauss-Krüger zone of the communities
    local_crs: str = "auto"
    unified_codes: bool = True
    reserved_codes: frozenset[str] = frozenset()
    min_part_m2: float = 100.0
    union_tolerance_m2: float = 1.0
    max_vertices: int | None = None

    def __post_init__(self) -> None:
        self._points: dict[str, np.ndarray] = {}
        self.local_crs = resolve_local(self.communities, self.local_crs)

    def points(self, what: str) -> tuple[np.ndarray, pd.DataFrame]:
        """Points of ``buildings`` (a point inside each footprint), ``addresses`` or ``cases``."""
        frame = getattr(self, what)
        if frame is None or len(frame) == 0:
            return np.empty(0, dtype=object), pd.DataFrame()
        if what not in self._points:
            geoms = np.asarray(frame.geometry.array, dtype=object)
            if what == "buildings":
                geoms = shapely.point_on_surface(geoms)
            self._points[what] = geoms
        return self._points[what], frame

    def community(self, code: str):
        """A community's geometry and kind; :class:`NotFound` when unknown."""
        hit = self.communities.loc[self.communities["code"] == code]
        if hit.empty:
            raise NotFound(f"community_code: unknown community {code!r}", field="community_code")
        row = hit.iloc[0]
        return row.geometry, row.get("kind")


@dataclass
class EditResult:
    """The layer after an edit, what it changed and its impact (JSON-ready in ``to_json``)."""

    layer: gpd.GeoDataFrame
    op: str
    params: dict[str, Any]
    added: list[str]
    removed: list[str]
    changed: list[str]
    renames: dict[str, str]
    impact: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def affected(self) -> list[str]:
        """Codes present after the edit whose grid was added or changed."""
        return self.added + self.changed

    def to_json(self) -> dict[str, Any]:
        grids = self.layer.loc[self.layer["code"].isin(self.affected)]
        return {
            "op": self.op,
            "params": self.params,
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "renames": self.renames,
            "impact": self.impact,
            "warnings": self.warnings,
            "grids": [
                {
                    "code": r.code,
                    "name": r.get("name"),
                    "community_code": r.community_code,
                    "households": None if pd.isna(r.households) else int(r.households),
                    "geometry": mapping(r.geometry),
                }
                for _, r in grids.iterrows()
            ],
        }
