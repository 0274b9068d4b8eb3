"""Geocoder throughput on the demo store: exact and fuzzy paths, addresses/s, vs pg_trgm.

``python bench/geocode.py [--n 20000] [--baseline-n 100]`` after ``geo-grid db start && geo-grid
demo load``. The geocoder is the one the API serves (``services.index.get_geocoder``, built from the
store). The baseline is the obvious database-only design run on the same store: one pg_trgm
``similarity()`` query per address against the library's ``full_text`` with a GIN trigram index
(a temp table copied from ``address``, so the store's schema is untouched).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from noisy_queries import make_queries  # noqa: E402

_TRGM = (
    "SELECT id, similarity(full_text, %s) AS s FROM bench_address "
    "WHERE full_text %% %s ORDER BY s DESC LIMIT 1"
)


def _rate(func, items) -> float:
    start = time.perf_counter()
    func(items)
    return len(items) / (time.perf_counter() - start)


def libpq_url() -> str:
    """The store's URL as libpq takes it (the SQLAlchemy driver suffix dropped)."""
    from geo_grid.db.session import database_url

    return database_url().replace("postgresql+psycopg2://", "postgresql://", 1)


def pg_trgm_rates(url: str, batches: dict[str, list[str]]) -> dict[str, float]:
    """Addresses/s of one pg_trgm similarity query per address, for each batch of queries."""
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cur.execute("CREATE TEMP TABLE bench_address AS SELECT id, full_text FROM address")
        cur.execute("CREATE INDEX ON bench_address USING gin (full_text gin_trgm_ops)")
        cur.execute("ANALYZE bench_address")
        rates = {}
        for name, queries in batches.items():
            start = time.perf_counter()
            for q in queries:
                cur.execute(_TRGM, (q, q))
                cur.fetchone()
            rates[name] = len(queries) / (time.perf_counter() - start)
        conn.rollback()
        return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--baseline-n", type=int, default=100)
    args = parser.parse_args()
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope
    from geo_grid.services.index import get_geocoder

    start = time.perf_counter()
    geocoder = get_geocoder()
    build = time.perf_counter() - start
    with session_scope() as session:
        library = repos.district.read_address_library(session)
        streets = repos.district.read_admin_areas(session, level="street")
        communities = repos.district.read_admin_areas(session, level="community")
    library["grid_code"] = None  # labels are not needed to measure speed
    exact = library["full_text"].sample(args.n, replace=True, random_state=1).tolist()
    fuzzy_q = make_queries(library, streets, communities, args.n // 4, 3, ("homophone", "typo"))
    fuzzy = fuzzy_q["query"].tolist()
    # geocode() per text, so repeated strings are not served from geocode_many's memo
    exact_rate = _rate(lambda xs: [geocoder.geocode(x) for x in xs], exact)
    fuzzy_rate = _rate(lambda xs: [geocoder.geocode(x) for x in xs], fuzzy)
    base = pg_trgm_rates(
        libpq_url(), {"exact": exact[: args.baseline_n], "fuzzy": fuzzy[: args.baseline_n]}
    )
    print(f"library {len(library)} addresses (geocoder built from the store in {build:.1f} s)")
    print(
        f"exact path: {exact_rate:,.0f} addresses/s (goal 20,000); pg_trgm one query per "
        f"address {base['exact']:,.1f}/s; x{exact_rate / base['exact']:.0f}"
    )
    print(
        f"fuzzy path: {fuzzy_rate:,.0f} addresses/s (goal 2,000); pg_trgm one query per "
        f"address {base['fuzzy']:,.1f}/s; x{fuzzy_rate / base['fuzzy']:.0f}"
    )


if __name__ == "__main__":
    main()
