"""One district's speed on two source trees, measured the same way: geocode, locate, check, merge.

``python bench/before_after.py [--app-dir DIR] [--district CODE] [--n 20000] [--points 200000]
[--repeat 3] [--json OUT]``, after the tree's ``geo-grid db start`` and ``geo-grid demo load``
(its store: ``GEO_GRID_HOME`` or ``GEO_GRID_DATABASE_URL`` of the environment, as its CLI finds
it). ``--app-dir`` imports the library from another tree, a commit checked out with ``git
worktree add`` (d208fb7: the last commit before districts became data, the "before" of issue 14),
so that one script measures both; the few names that moved between them are looked up in either
place. ``--district`` picks one district of a store serving several (a tree that knows only one
district ignores it, except on the command line of ``check`` and ``merge``).

Measured in this process, each ``--repeat`` times (the best is printed, the machine is shared):

geocode
    the store's geocoder as the API serves it (``services.index.get_geocoder``, asked for
    ``--district`` as an account of that district asks it; its build and first answer timed once), ``geocode`` one text at a time on ``--n`` library texts as stored
    (``exact``) and on ``--n // 4`` texts with one character of their road or 小区 name dropped
    (``drop``: the hotline caller of issue 14), both drawn with a fixed seed, and the share
    matched to the very address (exact) or to the grid of the text it came from (drop);
locate
    the store's locate index (``services.index.get_locator``) over every layer: ``locate_many`` on
    ``--points`` seeded random points in the bounding box of the district's addresses, and
    ``locate`` one point at a time on 2,000 of them;

and in a subprocess of that tree's command line, wall time of one run each: ``geo-grid check
--layer urban_mgmt --refresh --json`` (the coverage check of a stored department layer, with its
defects) and ``geo-grid merge --layers politics_law,urban_mgmt,emergency,ecology --out TMP``
(多网合一). Ratios of two runs are the figures: ``--json`` keeps one run's.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEPARTMENTS = "politics_law,urban_mgmt,emergency,ecology"


def _import_tree(app_dir: Path) -> None:
    """Import ``geo_grid`` from ``app_dir`` (before this tree and the installed package)."""
    sys.path.insert(0, str(app_dir))
    import geo_grid

    where = Path(geo_grid.__file__).resolve().parents[1]
    if where != app_dir.resolve():
        raise SystemExit(f"geo_grid imported from {where}, not {app_dir}")


def _repo():
    """The module of the address library and admin areas: ``repo`` before, ``repos.district``."""
    try:
        from geo_grid.db import repo  # d208fb7
    except ImportError:
        from geo_grid.db.repos import district as repo
    return repo


def _library(district: str | None):
    from geo_grid.db.session import session_scope

    repo = _repo()
    with session_scope() as session:
        try:
            return repo.read_address_library(session, district=district)
        except TypeError:  # one district per store: no district argument
            return repo.read_address_library(session)


def _dropped(library, n: int, seed: int) -> tuple[list[str], list[str]]:
    """Texts with one character of the road or 小区 name dropped, and the texts they came from."""
    rng = np.random.default_rng(seed)
    rows = library.sample(n, replace=True, random_state=seed)
    texts, sources = [], []
    for row in rows.itertuples(index=False):
        name = row.xiaoqu if isinstance(row.xiaoqu, str) and row.xiaoqu else row.road
        if not isinstance(name, str) or len(name) < 3 or name not in row.full_text:
            continue
        k = int(rng.integers(0, len(name) - 1))  # not the suffix (路, 苑 …)
        texts.append(row.full_text.replace(name, name[:k] + name[k + 1 :], 1))
        sources.append(row.full_text)
    return texts, sources


class _Scoped:
    """A store's geocoder asked as an account of one district asks it (the API passes the
    caller's districts); a tree with one district per store has nothing to scope."""

    def __init__(self, geocoder, district: str) -> None:
        self._geocoder, self._districts = geocoder, [district]

    def geocode(self, text: str):
        return self._geocoder.geocode(text, districts=self._districts)


def _scoped(geocoder, district: str | None):
    params = inspect.signature(geocoder.geocode).parameters
    return _Scoped(geocoder, district) if district and "districts" in params else geocoder


def _best(func, repeat: int) -> float:
    """Best wall seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def geocode_figures(district: str | None, n: int, repeat: int) -> dict[str, float]:
    from geo_grid.services.index import get_geocoder

    library = _library(district)
    exact = library.sample(n, replace=True, random_state=1)
    start = time.perf_counter()
    geocoder = _scoped(get_geocoder(), district)
    geocoder.geocode(exact["full_text"].iloc[0])
    build = time.perf_counter() - start
    texts, ids = exact["full_text"].tolist(), exact["address_id"].tolist()
    answers: list = []
    exact_s = _best(lambda: answers.__setitem__(slice(None), map(geocoder.geocode, texts)), repeat)
    same = np.mean([a.address_id == i for a, i in zip(answers, ids, strict=True)])
    drop_texts, sources = _dropped(library, n // 4, 3)
    drop_grids = [geocoder.geocode(t).grid_code for t in sources]  # the full text's grid
    drop_s = _best(lambda: answers.__setitem__(slice(None), map(geocoder.geocode, drop_texts)),
                   repeat)  # fmt: skip
    right = np.mean([a.grid_code == g for a, g in zip(answers, drop_grids, strict=True)])
    return {"addresses": len(library), "geocoder_build_s": build,
            "exact_per_s": len(texts) / exact_s, "exact_same_address": float(same),
            "drop_per_s": len(drop_texts) / drop_s, "drop_grid_right": float(right)}  # fmt: skip


def locate_figures(district: str | None, points: int, repeat: int) -> dict[str, float]:
    from geo_grid.services.index import get_locator

    library = _library(district)
    index = get_locator()
    rng = np.random.default_rng(0)
    xs = rng.uniform(library["lon"].min(), library["lon"].max(), points)
    ys = rng.uniform(library["lat"].min(), library["lat"].max(), points)
    index.locate_many(xs[:1000], ys[:1000], "cgcs2000")  # warm up
    batch_s = _best(lambda: index.locate_many(xs, ys, "cgcs2000"), repeat)

    def one_by_one() -> None:
        for x, y in zip(xs[:2000], ys[:2000], strict=True):
            index.locate(x, y, "cgcs2000")

    single_s = _best(one_by_one, repeat)
    return {"locate_many_per_s": points / batch_s, "locate_one_us": single_s / 2000 * 1e6}


def cli_seconds(app_dir: Path, argv: list[str]) -> float:
    """Wall seconds of one run of that tree's ``geo-grid`` (exit 0 or 1: defects are found)."""
    code = "import sys; from geo_grid.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(app_dir)}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *argv], cwd=app_dir, env=env,
                          capture_output=True, text=True)  # fmt: skip
    took = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"geo-grid {' '.join(argv)}: exit {done.returncode}\n{done.stderr}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-dir", type=Path, default=REPO)
    parser.add_argument("--district", default=None)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    app_dir = args.app_dir.resolve()
    _import_tree(app_dir)
    where = ["--district", args.district] if args.district else []
    figures: dict[str, object] = {"app_dir": str(app_dir), "district": args.district}
    figures |= geocode_figures(args.district, args.n, args.repeat)
    figures |= locate_figures(args.district, args.points, args.repeat)
    check = ["check", "--layer", "urban_mgmt", "--refresh", "--json", *where]
    figures["check_urban_mgmt_s"] = cli_seconds(app_dir, check)
    with tempfile.TemporaryDirectory() as out:
        merge = ["merge", "--layers", DEPARTMENTS, "--out", out, *where]
        figures["merge_s"] = cli_seconds(app_dir, merge)
    for key, value in figures.items():
        print(f"{key:>22}: {value:,.3f}" if isinstance(value, float) else f"{key:>22}: {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
