"""What the city geocoder holds in memory, structure by structure, built and loaded from a snapshot.

``python bench/geocode_memory.py [--city 3201] [--snapshot PATH] [--keep]`` builds the geocoder
of ``bench/geocode.py`` (the whole city's library, the national gazetteer, every layer's grids)
and prints, in this process: the resident memory (VmRSS of ``/proc/self/status``) before and
after the build (after ``gc`` and ``malloc_trim``, the city's frames still held), the build's
peak (VmHWM) and each attribute's deep size (``sys.getsizeof`` over everything it reaches, an
object shared by two attributes counted with the first). It then pickles the geocoder and loads
it in a **fresh process**, which prints its VmRSS after the imports and after the load: that
difference is what a process holding only the geocoder pays (the figure of docs/scaling.md,
2,380 MiB on 7 December before issue 16's memory work, with the locate index and gazetteer it
reaches).

``--store URL`` measures instead what a server holds: the locate index and every district's
geocoder built from a store as ``services.index`` builds them (``get_locator``,
``warm_geocoders``), VmRSS after each. The URL's transactions are made read-only
(``default_transaction_read_only``): the bench never writes to the store it reads.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import importlib
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def vm(field: str = "VmRSS") -> float:
    """A ``/proc/self/status`` figure in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def settle() -> None:
    """Collect garbage and give freed heap pages back, so VmRSS shows what is held."""
    gc.collect()
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def deep_size(obj, seen: set[int]) -> int:
    """Bytes of ``obj`` and of everything it reaches that ``seen`` does not hold yet (modules,
    classes and functions are not followed)."""
    total, stack = 0, [obj]
    skip = (type, type(sys), type(deep_size), type(len))
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, skip):
            continue
        seen.add(id(o))
        if isinstance(o, np.ndarray):
            total += sys.getsizeof(o) if o.base is None else o.nbytes + 112
            if o.dtype == object:
                stack.extend(o.ravel().tolist())
            continue
        total += sys.getsizeof(o)
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, list | tuple | set | frozenset):
            stack.extend(o)
        elif isinstance(o, str | int | float | bytes | bool) or o is None:
            continue
        else:
            stack.extend(gc.get_referents(o))
    return total


def breakdown(geocoder) -> list[tuple[str, float]]:
    """Deep MiB of each attribute of the geocoder, largest first."""
    seen: set[int] = {id(geocoder), id(geocoder.__dict__)}
    rows = [(name, deep_size(value, seen) / 2**20) for name, value in vars(geocoder).items()]
    return sorted(rows, key=lambda r: -r[1])


def load(path: str) -> None:
    """In a fresh process: the VmRSS the loaded snapshot adds to the imports."""
    import geo_grid.address  # noqa: F401 (the imports a server has before its geocoder)
    import geo_grid.locate  # noqa: F401

    settle()
    before = vm()
    start = time.perf_counter()
    with open(path, "rb") as f:
        geocoder = pickle.load(f)  # noqa: S301 (written by this bench)
    took = time.perf_counter() - start
    settle()
    after = vm()
    print(f"  loaded in a fresh process in {took:.0f} s: VmRSS {before:,.0f} -> {after:,.0f} MiB, "
          f"the geocoder {after - before:,.0f} MiB", flush=True)  # fmt: skip
    del geocoder


def from_store(url: str) -> None:
    """VmRSS of the imports, the locate index and every district's geocoder of a store."""
    sep = "&" if "?" in url else "?"
    os.environ["GEO_GRID_DATABASE_URL"] = (
        f"{url}{sep}options=-c%20default_transaction_read_only%3Don"
    )
    from geo_grid.services import index

    print(f"geo_grid from {Path(index.__file__).parents[1]}", flush=True)
    settle()
    start = vm()
    t = time.perf_counter()
    index.get_locator()
    settle()
    located = vm()
    print(f"  locate index in {time.perf_counter() - t:.0f} s: VmRSS {start:,.0f} -> "
          f"{located:,.0f} MiB (+{located - start:,.0f})", flush=True)  # fmt: skip
    t, cpu = time.perf_counter(), time.process_time()
    index.warm_geocoders()
    wall, busy = time.perf_counter() - t, time.process_time() - cpu
    settle()
    built = vm()
    n = len(index.get_geocoder().codes)
    print(f"  {n} districts' geocoders in {wall:.0f} s ({busy:.0f} CPU s): VmRSS {located:,.0f} -> "
          f"{built:,.0f} MiB (+{built - located:,.0f}); peak VmHWM {vm('VmHWM'):,.0f} MiB; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", default="3201")
    parser.add_argument("--snapshot", default="/tmp/geocode_memory.pkl")
    parser.add_argument("--keep", action="store_true", help="keep the snapshot file")
    parser.add_argument("--store", help="a store's database URL: what a server builds from it")
    parser.add_argument("--load", help=argparse.SUPPRESS)  # the fresh process's part
    args = parser.parse_args()
    if args.load:
        load(args.load)
        return
    if args.store:
        from_store(args.store)
        return
    # geo_grid first: bench/_city.py puts this tree on the path, PYTHONPATH may name another
    geo_grid = importlib.import_module("geo_grid")
    from _city import city_districts_cached, city_frames
    from geocode import build_geocoder

    print(f"geo_grid from {Path(geo_grid.__file__).parent}; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    demos = city_districts_cached(args.city)
    data = city_frames(demos)
    settle()
    before = vm()
    start, cpu = time.perf_counter(), time.process_time()
    geocoder, _ = build_geocoder(demos, data)
    wall, busy = time.perf_counter() - start, time.process_time() - cpu
    settle()
    after = vm()
    print(f"  built in {wall:.0f} s ({busy:.0f} CPU s): VmRSS {before:,.0f} -> {after:,.0f} MiB "
          f"(+{after - before:,.0f}), peak VmHWM {vm('VmHWM'):,.0f} MiB", flush=True)  # fmt: skip
    for name, mib in breakdown(geocoder):
        if mib >= 1:
            print(f"    {name:24s} {mib:8,.1f} MiB", flush=True)
    start = time.perf_counter()
    with open(args.snapshot, "wb") as f:
        pickle.dump(geocoder, f, protocol=pickle.HIGHEST_PROTOCOL)
    size = os.path.getsize(args.snapshot) / 2**20
    print(f"  snapshot {size:,.0f} MiB written in {time.perf_counter() - start:.0f} s", flush=True)
    del geocoder, demos, data
    settle()
    subprocess.run([sys.executable, __file__, "--load", args.snapshot], check=True)
    if not args.keep:
        os.remove(args.snapshot)
    print(f"  load average {os.getloadavg()[0]:.1f} at the end", flush=True)


if __name__ == "__main__":
    main()
