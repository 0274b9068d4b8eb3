"""Geocoder throughput: exact path and fuzzy path, addresses/s; pg_trgm baseline with a URL.

``python bench/geocode.py [--n 20000] [--database-url postgresql://...]``. The baseline is the
obvious database-only design: one ``similarity()`` query per address against a table
``address(full_text)`` with a pg_trgm GIN index (the script creates a temp table from the library).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from noisy_queries import load_library, make_queries  # noqa: E402

from geo_grid.geocode import Geocoder  # noqa: E402


def _rate(func, items) -> float:
    start = time.perf_counter()
    func(items)
    return len(items) / (time.perf_counter() - start)


def pg_trgm_rate(url: str, library, queries: list[str]) -> float:
    """Addresses/s of one pg_trgm similarity query per address (the database-only design)."""
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cur.execute("CREATE TEMP TABLE bench_address (address_id bigint, full_text text)")
        cur.executemany(
            "INSERT INTO bench_address VALUES (%s, %s)",
            list(zip(library["address_id"].astype(int), library["full_text"], strict=True)),
        )
        cur.execute("CREATE INDEX ON bench_address USING gin (full_text gin_trgm_ops)")
        cur.execute("ANALYZE bench_address")
        start = time.perf_counter()
        for q in queries:
            cur.execute(
                "SELECT address_id, similarity(full_text, %s) AS s FROM bench_address "
                "WHERE full_text %% %s ORDER BY s DESC LIMIT 1",
                (q, q),
            )
            cur.fetchone()
        return len(queries) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    library, streets, communities, _ = load_library()
    geocoder = Geocoder(library, streets, communities)
    exact = library["full_text"].sample(args.n, replace=True, random_state=1).tolist()
    fuzzy_q = make_queries(library, streets, communities, args.n // 4, 3, ("homophone", "typo"))
    fuzzy = fuzzy_q["query"].tolist()
    # geocode() per text, so repeated strings are not served from geocode_many's memo
    exact_rate = _rate(lambda xs: [geocoder.geocode(x) for x in xs], exact)
    fuzzy_rate = _rate(lambda xs: [geocoder.geocode(x) for x in xs], fuzzy)
    print(f"library {len(library)} addresses")
    print(f"exact path: {exact_rate:,.0f} addresses/s (goal 20,000)")
    print(f"fuzzy path: {fuzzy_rate:,.0f} addresses/s (goal 2,000)")
    if args.database_url:
        base = pg_trgm_rate(args.database_url, library, fuzzy[:2000])
        print(
            f"pg_trgm one query per address: {base:,.0f}/s; exact x{exact_rate / base:.1f}, "
            f"fuzzy x{fuzzy_rate / base:.1f}"
        )


if __name__ == "__main__":
    main()
