"""What a district is to geo-grid: its :class:`DistrictProfile`, a value the services pass down.

geo-grid serves any district of China, several in one store (as mySociety MapIt serves any country,
picking its country module by one setting). The facts that differ from one district to the next
are kept in the store, one row per district, and reach the domain functions as arguments:

* its division ``code`` and names (province, city, district; short forms derived by
  :func:`geo_grid.address.short_names`: 江苏/苏州/姑苏, 内蒙古/锡林郭勒/锡林浩特);
* its local metric CRS: the CGCS2000 3-degree Gauss-Krüger zone of its central longitude
  (EPSG:4534–4554, :func:`geo_grid.crs.gauss_kruger_zone`), unless its surveying office fixes
  another one;
* its bounds and map centre (from its outline, EPSG:4490);
* optionally its own time zone, household band (户数 per grid) and 红绿指标 thresholds: ``None``
  means the store-wide default (``GEO_GRID_TIME_ZONE``, ``GEO_GRID_HOUSEHOLD_BAND_MIN/MAX``,
  ``GEO_GRID_CASE_INDICATOR_THRESHOLDS``), so changing a setting reaches every district that did not
  choose its own.

The profile is pure: no database, and no setting read (its time zone goes through the one zone
check, :func:`geo_grid.settings.check_time_zone`). :mod:`geo_grid.services.districts` reads it from
the store and resolves the defaults.

Examples
--------
>>> import shapely
>>> from geo_grid.address import DistrictNames
>>> jiangan = DistrictProfile.from_outline(
...     DistrictNames("420102", "江岸区", "武汉市", "湖北省"), shapely.box(114.25, 30.58, 114.35, 30.70))
>>> jiangan.local_crs, jiangan.centre, jiangan.name
('EPSG:4547', (114.3, 30.64), '江岸区')
>>> jiangan.short_forms
{'province': ('湖北',), 'city': ('武汉',), 'district': ('江岸',)}
>>> DistrictProfile.from_outline(DistrictNames("152502", "锡林浩特市", "锡林郭勒盟", "内蒙古自治区"),
...     shapely.box(115.5, 43.6, 116.9, 44.6)).local_crs     # 116.2°E: zone CM 117°E
'EPSG:4548'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import shapely
from pyproj import CRS

from geo_grid.address.gazetteer import DistrictNames, short_names
from geo_grid.crs import gauss_kruger_zone
from geo_grid.errors import BadInput
from geo_grid.settings import check_time_zone

__all__ = ["DistrictProfile", "check_district_code", "check_outline"]

BBox = tuple[float, float, float, float]


def check_district_code(code: Any, field_name: str = "district") -> str:
    """A 6-digit district division code as text, or :class:`BadInput` naming ``field_name``.

    >>> check_district_code("320508"), check_district_code(320508)
    ('320508', '320508')
    >>> check_district_code("3205")
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: district: '3205' is not a 6-digit district code
    """
    text = str(code).strip() if code is not None else ""
    if not (len(text) == 6 and text.isdigit()):
        raise BadInput(f"{field_name}: {code!r} is not a 6-digit district code", field=field_name)
    return text


def check_outline(outline: Any) -> shapely.MultiPolygon:
    """A district outline as a valid MultiPolygon in lon/lat (EPSG:4490), or :class:`BadInput`.

    >>> check_outline(shapely.box(120.5, 31.2, 120.7, 31.4)).geom_type
    'MultiPolygon'
    >>> check_outline(shapely.box(380000, 3550000, 390000, 3560000))
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: outline: bounds (380000.0, 3550000.0, 390000.0, 3560000.0) are not lon/lat (give it in EPSG:4490)
    """
    if not isinstance(outline, shapely.Geometry) or outline.is_empty:
        raise BadInput("outline: no geometry", field="outline")
    if outline.geom_type not in ("Polygon", "MultiPolygon"):
        raise BadInput(f"outline: a {outline.geom_type}, not a polygon", field="outline")
    minx, miny, maxx, maxy = outline.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise BadInput(
            f"outline: bounds {outline.bounds} are not lon/lat (give it in EPSG:4490)",
            field="outline",
        )
    if not outline.is_valid:
        raise BadInput(f"outline: {shapely.is_valid_reason(outline)}", field="outline")
    return outline if outline.geom_type == "MultiPolygon" else shapely.MultiPolygon([outline])


def _check_crs(local_crs: str) -> str:
    try:
        crs = CRS.from_user_input(local_crs)
    except Exception as exc:  # pyproj raises CRSError, a plain Exception subclass
        raise BadInput(f"local_crs: unknown CRS {local_crs!r}", field="local_crs") from exc
    if not crs.is_projected:
        raise BadInput(f"local_crs: {local_crs!r} is not a metric CRS", field="local_crs")
    return str(local_crs)


@dataclass(frozen=True)
class DistrictProfile:
    """One district's facts, as the store holds them (see the module docstring).

    ``bounds`` are ``(min_lon, min_lat, max_lon, max_lat)`` of its outline in EPSG:4490.
    ``time_zone``, ``household_band`` and ``thresholds`` are None for "the store's default".
    """

    names: DistrictNames
    local_crs: str
    bounds: BBox
    time_zone: str | None = None
    household_band: tuple[int, int] | None = None
    thresholds: Mapping[str, Any] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        check_district_code(self.names.code, "code")
        _check_crs(self.local_crs)
        minx, miny, maxx, maxy = self.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise BadInput(f"bounds: {self.bounds} are not lon/lat", field="bounds")
        if self.time_zone is not None:
            try:
                check_time_zone(self.time_zone)
            except ValueError as exc:
                raise BadInput(f"time_zone: {exc}", field="time_zone") from exc
        if self.household_band is not None:
            low, high = self.household_band
            if not 0 < low <= high:
                raise BadInput(
                    f"household_band: need 0 < min <= max, got {self.household_band}",
                    field="household_band",
                )
        if self.thresholds is not None:
            from geo_grid.cases.indicators import Thresholds

            Thresholds.from_config(self.thresholds)  # refuses unknown rates and bad bounds

    @classmethod
    def from_outline(
        cls,
        names: DistrictNames,
        outline: Any,
        *,
        local_crs: str | None = None,
        time_zone: str | None = None,
        household_band: tuple[int, int] | None = None,
        thresholds: Mapping[str, Any] | None = None,
    ) -> DistrictProfile:
        """A profile from the district's names (e.g. ``DistrictNames.from_gazetteer``) and its
        outline; the local CRS is the Gauss-Krüger zone of the outline's central longitude
        unless ``local_crs`` names the one the district's surveying office uses."""
        geom = check_outline(outline)
        bounds = tuple(float(v) for v in geom.bounds)
        crs = local_crs or gauss_kruger_zone((bounds[0] + bounds[2]) / 2)
        return cls(names, crs, bounds, time_zone, household_band, thresholds)  # type: ignore[arg-type]

    @property
    def code(self) -> str:
        """The 6-digit division code."""
        return self.names.code

    @property
    def name(self) -> str:
        """The district's official name (姑苏区)."""
        return self.names.district

    @property
    def centre(self) -> tuple[float, float]:
        """``(lon, lat)`` where its maps open: the middle of its bounds."""
        minx, miny, maxx, maxy = self.bounds
        return (round((minx + maxx) / 2, 6), round((miny + maxy) / 2, 6))

    @property
    def short_forms(self) -> dict[str, tuple[str, ...]]:
        """The short forms people write for its province, city and district (江苏, 苏州, 姑苏)."""
        levels = (("province", self.names.province), ("city", self.names.city),
                  ("district", self.names.district))  # fmt: skip
        return {level: short_names(name, level) for level, name in levels if name}

    def to_dict(self) -> dict[str, Any]:
        """A plain dict for JSON answers (``GET /api/v1/districts``, ``geo-grid districts``)."""
        return {
            "code": self.code,
            "name": self.name,
            "city": self.names.city,
            "province": self.names.province,
            "short_forms": self.short_forms,
            "local_crs": self.local_crs,
            "bounds": list(self.bounds),
            "centre": list(self.centre),
            "time_zone": self.time_zone,
            "household_band": list(self.household_band) if self.household_band else None,
            "thresholds": dict(self.thresholds) if self.thresholds is not None else None,
        }
