"""Seeded noisy queries from an address library, labelled with the true address and grid.

Each query applies one kind of noise a 12345 hotline or a WeChat location really carries, so the
accuracy report says which kind the geocoder handles badly:

numerals   十二号, 三单元, 一五零二室            synonyms   幢/号楼/座, 房, 3-2-301, 居委会
homophone  one name character → a homophone    typo       one name character dropped
prefix     full, partial or no admin prefix     noise      附近/门口, phone numbers, full-width, spaces
hotline    street + community + address + complaint text
gcj02/bd09 the address point as AMap/WeChat or Baidu would report it (answered by the locate index)

Run ``python bench/noisy_queries.py [--n 3000] [--seed 7]`` for the report on the demo library.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo_grid.address import arabic_to_chinese  # noqa: E402
from geo_grid.crs import wgs84_to_bd09, wgs84_to_gcj02  # noqa: E402

__all__ = [
    "KINDS",
    "HOMOPHONES",
    "QIXIA_NAMES",
    "district_names",
    "make_queries",
    "make_drop_queries",
    "evaluate",
    "report",
    "load_library",
    "demo_geocoder",
]

KINDS = (
    "clean",
    "numerals",
    "synonyms",
    "homophone",
    "typo",
    "prefix",
    "noise",
    "hotline",
    "gcj02",
    "bd09",
)
_POINT_KINDS = ("gcj02", "bd09")

#: A small homophone table for characters common in Nanjing place names (pypinyin is not used).
HOMOPHONES: dict[str, str] = {
    "尧": "姚瑶遥",
    "佳": "家嘉加",
    "林": "琳临霖",
    "仙": "先鲜",
    "居": "局聚",
    "新": "欣心馨",
    "大": "达",
    "石": "时实",
    "埠": "步部",
    "桥": "乔侨",
    "文": "闻温",
    "苑": "院园",
    "燕": "艳雁",
    "语": "雨宇",
    "华": "花化",
    "庭": "亭婷",
    "园": "元源",
    "山": "珊",
    "水": "税",
    "金": "今津",
    "城": "成程",
    "东": "冬",
    "西": "希",
    "南": "男",
    "湖": "胡",
    "港": "岗",
    "龙": "隆",
    "马": "码",
    "群": "裙",
    "江": "姜",
    "河": "和",
    "景": "井",
    "安": "按",
    "康": "抗",
    "宁": "凝",
    "福": "富",
    "平": "苹",
    "春": "纯",
    "明": "名",
    "月": "悦",
    "星": "兴",
    "光": "广",
    "中": "忠",
    "泰": "太",
    "德": "得",
    "青": "清",
    "翠": "脆",
    "王": "汪",
    "子": "紫",
    "吴": "无",
    "花": "华",
    "紫": "子",
    "丽": "力",
    "和": "河",
    "阳": "杨",
    "天": "添",
    "海": "海",
}
_NOISE = ("附近", "对面", "旁边", "门口", "楼下")
_DESCRIPTIONS = ("楼道堆物", "垃圾满溢", "噪音扰民", "占道经营", "路灯不亮", "下水道堵塞漏水")
_NUMBERED = re.compile(r"(\d+)(号|栋|单元|室|组)")


def load_library():
    """The demo library, its admin lists and the demo district object."""
    from geo_grid.demo import generate_demo

    demo = generate_demo()
    return demo.addresses, demo.streets, demo.communities, demo


def demo_geocoder(demo, locator):
    """The geocoder the store would serve for the demo: with the national gazetteer (read from
    the data cache, fetched at setup) and the district's names."""
    from geo_grid.address import Geocoder
    from geo_grid.testing import district_gazetteer

    gazetteer = district_gazetteer(demo.district_names.code)
    return Geocoder(
        demo.addresses,
        demo.streets,
        demo.communities,
        locate=locator,
        district=demo.district_names,
        gazetteer=gazetteer,
    )


def _numerals(text: str, rng: np.random.Generator) -> str:
    def sub(m: re.Match) -> str:
        style = "digits" if m.group(2) == "室" and rng.random() < 0.5 else "positional"
        return arabic_to_chinese(m.group(1), style) + m.group(2)

    return _NUMBERED.sub(sub, text)


def _synonyms(text: str, rng: np.random.Generator) -> str:
    m = re.search(r"(\d+)栋(\d+)单元(\d+)室", text)
    if m and rng.random() < 0.35:
        return text[: m.start()] + f"{m.group(1)}-{m.group(2)}-{m.group(3)}" + text[m.end() :]
    text = text.replace("栋", str(rng.choice(["幢", "号楼", "座"])))
    text = text.replace("室", str(rng.choice(["房", "室", ""])))
    return text


def _name_of(row) -> str | None:
    for col in ("xiaoqu", "road", "village"):
        value = row.get(col)
        if isinstance(value, str) and value and value in row["local_text"]:
            return value
    return None


def _homophone(text: str, name: str | None, rng: np.random.Generator) -> str:
    if not name:
        return text
    idx = [i for i, ch in enumerate(name[:-1]) if ch in HOMOPHONES]
    if not idx:
        return text
    i = int(rng.choice(idx))
    alt = str(rng.choice(list(HOMOPHONES[name[i]])))
    return text.replace(name, name[:i] + alt + name[i + 1 :], 1)


def _typo(text: str, name: str | None, rng: np.random.Generator) -> str:
    if not name or len(name) < 4:
        return _homophone(text, name, rng)
    i = int(rng.integers(0, len(name) - 1))
    return text.replace(name, name[:i] + name[i + 1 :], 1)


def make_drop_queries(
    library: pd.DataFrame, streets: pd.DataFrame, communities: pd.DataFrame, n: int, seed: int
) -> pd.DataFrame:
    """``n`` queries with one character dropped from the road or 小区 name (乐城路 → 乐路), any
    position, names of 3 characters or more, with a random admin prefix (kind ``drop``).

    The ``typo`` kind drops characters of 4+ character names only; short road names are where a
    dropped character most often leaves another real name or nothing close.
    """
    rng = np.random.default_rng(seed)
    street_names = dict(zip(streets["code"].astype(str), streets["name"], strict=True))
    short = communities["short_name"] if "short_name" in communities else communities["name"]
    community_names = dict(zip(communities["code"].astype(str), short, strict=True))
    out = []
    while len(out) < n:
        row = library.iloc[int(rng.integers(0, len(library)))]
        names = [row.get(c) for c in ("xiaoqu", "road")]
        names = [v for v in names if isinstance(v, str) and len(v) >= 3 and v in row["local_text"]]
        if not names:
            continue
        name = names[0]
        i = int(rng.integers(0, len(name)))
        query = _prefix(row, street_names, community_names, rng).replace(
            name, name[:i] + name[i + 1 :], 1
        )
        out.append(
            dict(kind="drop", query=query, lon=None, lat=None, crs=None,
                 address_id=int(row["address_id"]), grid_code=str(row["grid_code"]))
        )  # fmt: skip
    return pd.DataFrame(out)


#: The names of the demo's district, Qixia, as a caller writes them (see :func:`district_names`).
QIXIA_NAMES = {
    "district": "栖霞区", "district_short": "栖霞", "city": "南京市", "city_short": "南京",
    "province": "江苏省",
}  # fmt: skip


def district_names(specs) -> dict[str, dict[str, str]]:
    """district code → the names a caller writes (full, short, city, province), from the
    :class:`geo_grid.demo.DistrictSpec` of each district: queries of a city's library are written
    with the prefix of the row's own district (its street code's first six digits)."""
    return {
        spec.code: {
            "district": spec.name,
            "district_short": spec.short,
            "city": spec.city or "",
            "city_short": spec.city_short or "",
            "province": spec.province,
        }
        for spec in specs
    }


def _names_of(row, names: dict[str, dict[str, str]] | None) -> dict[str, str]:
    if names is None:
        return QIXIA_NAMES
    return names[str(row["street_code"])[:6]]


def _prefix(
    row, streets: dict, communities: dict, rng: np.random.Generator, names: dict | None = None
) -> str:
    street = streets.get(row["street_code"], "")
    community = communities.get(row["community_code"], "")
    n = _names_of(row, names)
    options = [
        "",
        n["district"],
        f"{n['city']}{n['district']}",
        f"{n['city_short']}{n['district_short']}",
        street,
        community,
        f"{street}{community}",
        f"{n['province']}{n['city']}{n['district']}{street}{community}",
    ]
    return str(rng.choice(options)) + row["local_text"]


def _noise(text: str, rng: np.random.Generator) -> str:
    choice = int(rng.integers(0, 4))
    if choice == 0:
        return text + str(rng.choice(_NOISE))
    if choice == 1:
        return f"{text} 联系人 1{rng.integers(3, 10)}{rng.integers(10**8, 10**9)}"
    if choice == 2:
        return text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789-"})
    return " ".join(text[i : i + 3] for i in range(0, len(text), 3))


def make_queries(
    library: pd.DataFrame,
    streets: pd.DataFrame,
    communities: pd.DataFrame,
    n: int = 2000,
    seed: int = 0,
    kinds: tuple[str, ...] = KINDS,
    names: dict[str, dict[str, str]] | None = None,
) -> pd.DataFrame:
    """``n`` labelled noisy queries: ``kind, query, lon, lat, crs, address_id, grid_code``.

    Text kinds fill ``query``; point kinds fill ``lon``/``lat`` in their CRS. ``names``
    (:func:`district_names`) writes each query with its own district's names, for a library of
    several districts; by default every query is written as in Qixia, the demo's district.
    """
    rng = np.random.default_rng(seed)
    street_names = dict(zip(streets["code"].astype(str), streets["name"], strict=True))
    short = communities["short_name"] if "short_name" in communities else communities["name"]
    community_names = dict(zip(communities["code"].astype(str), short, strict=True))
    picks = rng.integers(0, len(library), n)
    rows = library.iloc[picks].to_dict("records")  # one pass; iloc per row is slow on a city
    out = []
    for k, row in enumerate(rows):
        kind = kinds[k % len(kinds)]
        local = row["local_text"]
        name = _name_of(row)
        query, lon, lat, crs = None, None, None, None
        if kind == "clean":
            query = row["full_text"]
        elif kind == "numerals":
            query = _numerals(_prefix(row, street_names, community_names, rng, names), rng)
        elif kind == "synonyms":
            query = _synonyms(_prefix(row, street_names, community_names, rng, names), rng)
        elif kind == "homophone":
            query = _homophone(_prefix(row, street_names, community_names, rng, names), name, rng)
        elif kind == "typo":
            query = _typo(_prefix(row, street_names, community_names, rng, names), name, rng)
        elif kind == "prefix":
            query = _prefix(row, street_names, community_names, rng, names)
        elif kind == "noise":
            query = _noise(_prefix(row, street_names, community_names, rng, names), rng)
        elif kind == "hotline":
            street = street_names.get(row["street_code"], "")
            community = community_names.get(row["community_code"], "")
            district = _names_of(row, names)["district"]
            query = f"{district}{street}{community} {local} {rng.choice(_DESCRIPTIONS)}"
        elif kind == "gcj02":
            lon, lat = (float(v[0]) for v in wgs84_to_gcj02([row["lon"]], [row["lat"]]))
            crs = "gcj02"
        elif kind == "bd09":
            lon, lat = (float(v[0]) for v in wgs84_to_bd09([row["lon"]], [row["lat"]]))
            crs = "bd09"
        out.append(
            dict(
                kind=kind,
                query=query,
                lon=lon,
                lat=lat,
                crs=crs,
                address_id=int(row["address_id"]),
                grid_code=str(row["grid_code"]),
            )
        )
    return pd.DataFrame(out)


def evaluate(geocoder, locator, queries: pd.DataFrame) -> pd.DataFrame:
    """Answer every query; add ``status, confidence, answer_grid, grid_correct, wrong_confident``."""
    q = queries.copy()
    q["status"], q["confidence"], q["answer_grid"] = None, 0.0, None
    text = q["query"].notna()
    results = geocoder.geocode_many(q.loc[text, "query"].tolist())
    q.loc[text, "status"] = [r.status for r in results]
    q.loc[text, "confidence"] = [r.confidence for r in results]
    q.loc[text, "answer_grid"] = [r.grid_code for r in results]
    if locator is not None:
        for crs in q.loc[~text, "crs"].unique():
            m = (~text) & (q["crs"] == crs)
            found = locator.locate_many(q.loc[m, "lon"], q.loc[m, "lat"], crs)
            q.loc[m, "answer_grid"] = found["unified"].to_numpy()
            q.loc[m, "status"] = np.where(found["unified"].notna(), "matched", "unmatched")
            q.loc[m, "confidence"] = np.where(found["unified"].notna(), 1.0, 0.0)
    matched = q["status"] == "matched"
    q["grid_correct"] = matched & (q["answer_grid"] == q["grid_code"])
    q["wrong_confident"] = matched & (q["answer_grid"] != q["grid_code"]) & (q["confidence"] >= 0.9)
    return q


def report(evaluated: pd.DataFrame) -> pd.DataFrame:
    """Per noise kind and overall: n, grid-correct %, wrong with confidence ≥ 0.9 %, status %."""

    def summary(g: pd.DataFrame) -> pd.Series:
        return pd.Series(
            {
                "n": len(g),
                "grid_correct_%": 100 * g["grid_correct"].mean(),
                "wrong_conf>=0.9_%": 100 * g["wrong_confident"].mean(),
                "ambiguous_%": 100 * (g["status"] == "ambiguous").mean(),
                "unmatched_%": 100 * (g["status"] == "unmatched").mean(),
            }
        )

    rows = {kind: summary(g) for kind, g in evaluated.groupby("kind", sort=False)}
    rows["ALL"] = summary(evaluated)
    return pd.DataFrame(rows).T.round(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--drop-n", type=int, default=2000, help="one-character-dropped queries")
    args = parser.parse_args()
    from geo_grid.locate import LocateIndex

    library, streets, communities, demo = load_library()
    locator = LocateIndex(demo.grids, demo.communities, demo.streets)
    geocoder = demo_geocoder(demo, locator)
    queries = make_queries(library, streets, communities, args.n, args.seed)
    evaluated = evaluate(geocoder, locator, queries)
    print(f"library: {len(library)} addresses; queries: {len(queries)}; seed {args.seed}")
    print(report(evaluated).to_string())
    bad = evaluated[~evaluated["grid_correct"] & evaluated["query"].notna()]
    print("\nexamples not grid-correct:")
    print(bad[["kind", "query", "status", "confidence"]].head(15).to_string())
    drop = evaluate(
        geocoder, None, make_drop_queries(library, streets, communities, args.drop_n, args.seed)
    )
    matched = drop["status"] == "matched"
    confident = matched & (drop["confidence"] >= 0.9)
    print(
        f"\none character dropped from a road or 小区 name ({len(drop)} queries): matched "
        f"{100 * matched.mean():.1f} %, grid right {100 * drop['grid_correct'].mean():.1f} %, "
        f"matched but wrong {100 * (matched & ~drop['grid_correct']).mean():.2f} %, ambiguous "
        f"{100 * (drop['status'] == 'ambiguous').mean():.1f} %; confidence >= 0.9: "
        f"{int(confident.sum())} answers, {int(drop['wrong_confident'].sum())} wrong"
    )


if __name__ == "__main__":
    main()
