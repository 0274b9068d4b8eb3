"""The city geocoder's answers to a fixed set of queries, saved, so two source trees can be compared.

``python bench/geocode_answers.py --app-dir DIR --out ANSWERS.pkl [--queries Q.pkl] [--n 20000]``
imports ``geo_grid`` from ``DIR`` (a tree checked out or unpacked from a commit: the "before"
of a change), builds the city geocoder as ``bench/geocode.py`` does, and geocodes the queries of
``--queries`` (made once, then reused: both trees answer the very same texts) through
``geocode_many`` and then one ``geocode`` call per text; it saves every answer as a dict with
the build's time and the process's memory. ``python bench/geocode_answers.py --compare A B``
prints how many answers differ, field by field.

The queries: a quarter library texts as stored, a quarter ``homophone`` and ``typo`` (one name
character replaced by a homophone or dropped), half every text kind of hotline noise, and a few
texts outside the city, empty or of noise only.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
_EXTRA = ["", "   ", "楼道堆物", "月球路1号", "浙江省温州市乐清市白石街道中心路12号", "北京市朝阳区建外街道1号",
          "江苏省南京市", "南京市玄武区", "13912345678"]  # fmt: skip


def _import_tree(app_dir: Path) -> None:
    """``geo_grid`` from ``app_dir``, before any bench module puts this tree on the path."""
    sys.path.insert(0, str(app_dir.resolve()))
    import geo_grid

    where = Path(geo_grid.__file__).resolve().parents[1]
    if where != app_dir.resolve():
        raise SystemExit(f"geo_grid imported from {where}, not {app_dir}")
    sys.path.insert(1, str(HERE))


def _rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _make_queries(path: Path, data, names, n: int) -> list[str]:
    from noisy_queries import KINDS, make_queries

    if path.exists():
        return pickle.loads(path.read_bytes())
    lib = data.addresses
    text_kinds = tuple(k for k in KINDS if k not in ("gcj02", "bd09"))
    args = (lib, data.streets, data.communities)
    exact = lib["full_text"].sample(n // 4, random_state=11).tolist()
    fuzzy = make_queries(*args, n // 4, 12, ("homophone", "typo"), names=names)["query"].tolist()
    mix = make_queries(*args, n // 2, 13, text_kinds, names=names)["query"].tolist()
    texts = exact + fuzzy + mix + _EXTRA
    path.write_bytes(pickle.dumps(texts))
    return texts


def answer(args) -> None:
    """Build the city geocoder of ``--app-dir`` and save its answers to the queries."""
    _import_tree(Path(args.app_dir))
    from _city import city_districts_cached, city_frames
    from geocode import build_geocoder
    from noisy_queries import district_names

    demos = city_districts_cached()
    data = city_frames(demos)
    names = district_names([d.spec for d in demos.values()])
    texts = _make_queries(Path(args.queries), data, names, args.n)
    rss0 = _rss_mib()
    start, cpu = time.perf_counter(), time.process_time()
    geocoder, _ = build_geocoder(demos, data)
    build = (time.perf_counter() - start, time.process_time() - cpu)
    rss1 = _rss_mib()
    cpu = time.process_time()
    many = [r.to_dict() for r in geocoder.geocode_many(texts)]
    took = time.process_time() - cpu
    one = [geocoder.geocode(t).to_dict() for t in texts]
    print(f"{args.app_dir}: built in {build[0]:.0f} s ({build[1]:.0f} CPU s), RSS "
          f"{rss0:,.0f} -> {rss1:,.0f} MiB; {len(texts):,} queries in {took:.1f} CPU s; "
          f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    Path(args.out).write_bytes(pickle.dumps({"texts": texts, "many": many, "one": one}))


def compare(a: str, b: str) -> int:
    """Print the answers of two runs that differ (field by field); 1 if any do."""
    left, right = (pickle.loads(Path(p).read_bytes()) for p in (a, b))
    if left["texts"] != right["texts"]:
        raise SystemExit("the two runs answered different queries")
    differ = 0
    for way in ("many", "one"):
        for i, (x, y) in enumerate(zip(left[way], right[way], strict=True)):
            fields = [k for k in x if x[k] != y.get(k)] + [k for k in y if k not in x]
            if fields:
                differ += 1
                if differ <= 20:
                    print(f"{way} {left['texts'][i]!r}: {fields}")
    n = len(left["texts"])
    print(f"{n:,} queries, answered by geocode_many and one call each: {differ} answers differ")
    return 1 if differ else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-dir", default=str(HERE.parent))
    parser.add_argument("--out")
    parser.add_argument("--queries", default=str(HERE.parent / ".geo-grid" / "answers-queries.pkl"))
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"))
    args = parser.parse_args()
    if args.compare:
        raise SystemExit(compare(*args.compare))
    answer(args)


if __name__ == "__main__":
    main()
