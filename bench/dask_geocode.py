"""Batch geocoding of a city's addresses on dask-geopandas vs one process, at 1 and 2 workers.

``python bench/dask_geocode.py [--city 3201 | --store] [--n 300000] [--workers 1 2]
[--partitions 16] [--join broadcast|spatial] [--seed 7] [--work-dir DIR]``. Needs the ``scale``
extra (``dask-geopandas``, ``dask[distributed]``). ``--city`` (default): the geocoder over every
address of the city, built as ``bench/geocode.py`` builds it (no store needed); ``--store``: the
store's geocoder (``services.index``), after ``geo-grid db start``.

The queries are ``--n`` addresses drawn from the library, each with one seeded kind of hotline
noise (``bench/noisy_queries.py``, written with the address's own district: clean, numerals,
synonyms, homophone, typo, prefix, noise, hotline). Both paths answer them all:

single process
    the loop of ``services.geocoding.geocode_batch`` (what ``geo-grid geocode --batch`` runs):
    chunks of 500, ``geocode_many`` each, one row per address with every layer's grid.

dask
    a ``distributed.LocalCluster`` (``--workers`` processes, one thread each); the queries
    staged as ``--partitions`` parquet files, read as a dask DataFrame (one partition per file),
    as a batch would arrive; ``map_partitions`` geocodes each with the geocoder loaded from a
    pickled snapshot once per worker process (a worker plugin holds it). An answer at a door
    plate (``address_id`` set) carries its library row's grids, known since the geocoder was
    built: it needs no spatial step at all. Only the other matched answers (a 小区, road,
    community or street: a mean point) are joined to every layer's grids with
    ``dask_geopandas.sjoin``, a point on a shared edge taking the smallest code as the locate
    index does: against the grids as one partition (``--join broadcast``: a city's grids are a
    few MB) or after Hilbert-shuffling points and grids into spatial partitions (``spatial``,
    what a national layer needs).

The run fails (exit 1) unless every answer of the two paths is identical. Printed per worker
count: wall time and addresses/s, the ratio to the single process, each step's time, CPU of the
workers and of this process, peak memory.

The snapshot is keyed by what the geocoder was built from (the published generations or the
city and seed, a hash of the address library, a hash of the geocoder's source), so a publish, an
address import or a geocoder upgrade names a new file: a worker that is handed a new snapshot
path loads it and drops the old geocoder. Rewriting the same file in place (a new mtime) also
reloads it.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import logging
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, ensure_demo, read_library  # noqa: E402
from distributed import WorkerPlugin  # noqa: E402
from noisy_queries import KINDS, make_queries  # noqa: E402

__all__ = ["ANSWER_COLUMNS", "GeocoderSnapshot", "dask_path", "single_path", "write_snapshot"]

#: Columns both paths answer (``grid_<layer>`` columns are added per published layer).
ANSWER_COLUMNS = (
    "status", "grid_code", "match_level", "confidence", "lon", "lat", "address_id",
    "matched_text", "reason",
)  # fmt: skip
_TEXT_KINDS = tuple(k for k in KINDS if k not in ("gcj02", "bd09"))
_PLUGIN = "geo-grid-geocoder"
#: Modules whose classes a snapshot pickles (their source is part of the snapshot's name).
_SNAPSHOT_CODE = (
    "geo_grid.address.geocode",
    "geo_grid.address.normalize",
    "geo_grid.address.numerals",
    "geo_grid.address.parse",
    "geo_grid.locate",
)
_CHUNK = 500  # geocode_batch's chunk: the geocoder memoizes repeats within one chunk only


# ------------------------------------------------------------------------------ memory
def peak_rss_mib() -> float:
    """This process's peak resident memory so far (MiB): exact, and no sampler stealing CPU.

    ``VmHWM`` rather than ``getrusage``: a spawned worker inherits its parent's ``ru_maxrss``.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s() -> float:
    """CPU seconds (user + system) this process has used: set against wall time, it shows how
    much of the machine a path actually got (others share these cores)."""
    return time.process_time()


def rss_mib() -> float:
    """This process's resident memory now (MiB)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# ------------------------------------------------------------------------------ queries
def build_queries(library, streets, communities, n: int, seed: int, names=None) -> list[str]:
    """``n`` seeded noisy query texts, generated in blocks of 100,000."""
    out: list[str] = []
    block = 100_000
    for k, start in enumerate(range(0, n, block)):
        size = min(block, n - start)
        frame = make_queries(library, streets, communities, size, seed + k, _TEXT_KINDS, names)
        out += frame["query"].tolist()
    return out


# ------------------------------------------------------------------------------ single
def single_path(geocoder, texts: list[str], layers: list[str]) -> pd.DataFrame:
    """The loop of ``services.geocoding.geocode_batch`` (the CLI's batch path) with this
    geocoder: chunks of :data:`_CHUNK`, ``geocode_many`` each, one flat row per address."""
    from geo_grid.services.geocoding import batch_rows

    rows: list[dict] = []
    for start in range(0, len(texts), _CHUNK):
        rows += batch_rows(geocoder.geocode_many(texts[start : start + _CHUNK]), layers)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ sources
def city_source(city_code: str):
    """``(library, streets, communities, names, geocoder, locator, key)`` of a generated city."""
    from _city import city_districts_cached, city_frames
    from geocode import build_geocoder
    from noisy_queries import district_names

    demos = city_districts_cached(city_code)
    city = city_frames(demos)
    geocoder, locator = build_geocoder(demos, city)
    names = district_names([d.spec for d in demos.values()])
    key = ("city", city_code, next(iter(demos.values())).seed)
    return city.addresses, city.streets, city.communities, names, geocoder, locator, key


def store_source():
    """The same from the store: its library and the geocoder the API serves."""
    from geo_grid.services import index

    ensure_demo()
    library, streets, communities = read_library()
    geocoder, locator = index.get_geocoder(), index.get_locator()
    return library, streets, communities, None, geocoder, locator, locator.key


# ------------------------------------------------------------------------------ snapshot
def library_fingerprint(library: pd.DataFrame) -> str:
    """A hash of the library rows the geocoder indexes (any address change changes it)."""
    cols = [c for c in library.columns if c != "grid_code"]
    hashed = pd.util.hash_pandas_object(library[cols], index=False).to_numpy()
    return hashlib.sha1(hashed.tobytes()).hexdigest()[:16]


def write_snapshot(geocoder, generation_key, fingerprint: str, folder: Path) -> Path:
    """Pickle the geocoder (with its locate index) to a file named by what it was built from.

    The name holds the published generations, the library fingerprint and a hash of the modules
    whose objects are pickled: a publish, an address import or a geocoder upgrade gives a new
    name, which is how the workers learn their copy is stale.
    """
    code = hashlib.sha1()
    for module in _SNAPSHOT_CODE:  # a geocoder pickled by older code is not reused either
        code.update(Path(importlib.import_module(module).__file__).read_bytes())
    key = f"{generation_key!r}|{fingerprint}|{code.hexdigest()}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    path = folder / f"geocoder-{digest}.pkl"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(geocoder, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)  # atomic: a worker never reads half a snapshot
        for old in folder.glob("geocoder-*.pkl"):  # superseded snapshots (65 MiB each on the demo)
            if old != path:
                old.unlink(missing_ok=True)
    return path


class GeocoderSnapshot(WorkerPlugin):
    """Worker plugin: the geocoder of one snapshot file, loaded once per worker process.

    Registered with ``client.register_plugin``; each worker keeps its own instance (reachable as
    ``get_worker().plugins[name]``). :meth:`get` reloads when asked for another path, or when the
    file's mtime changed, and keeps only the newest geocoder (one copy per worker).
    """

    name = _PLUGIN

    def __init__(self, path: str) -> None:
        self.path = path
        self._held: tuple[tuple[str, int], object] | None = None

    def setup(self, worker=None) -> None:
        self.get(self.path)  # load at worker start, not inside the first task

    def teardown(self, worker=None) -> None:
        self._held = None

    def get(self, path: str):
        key = (path, os.stat(path).st_mtime_ns)
        if self._held is None or self._held[0] != key:
            with open(path, "rb") as f:
                self._held = (key, pickle.load(f))  # noqa: S301 (our own file)
        return self._held[1]


def _geocode_partition(frame: pd.DataFrame, snapshot: str, layers: list[str]) -> pd.DataFrame:
    """One partition's answers, with the same chunking and row shape as ``geocode_batch``."""
    from distributed import get_worker

    from geo_grid.services.geocoding import batch_rows

    geocoder = get_worker().plugins[_PLUGIN].get(snapshot)
    texts = frame["query"].tolist()
    rows: list[dict] = []
    for start in range(0, len(texts), _CHUNK):
        rows += batch_rows(geocoder.geocode_many(texts[start : start + _CHUNK]), layers)
    columns = [*ANSWER_COLUMNS, *(f"grid_{layer}" for layer in layers)]
    out = pd.DataFrame(rows, index=frame.index, columns=columns)
    return out.astype({"address_id": "Int64", "confidence": float, "lon": float, "lat": float})


def _residue_xy(frame: pd.DataFrame) -> pd.DataFrame:
    """Row number and point of each matched answer without a library row (a 小区, road,
    community or street: its grids are the join's to find); door plates carry theirs."""
    m = (frame["status"] == "matched") & frame["address_id"].isna()
    return pd.DataFrame(
        {"row": frame.index[m].to_numpy(np.int64), "lon": frame["lon"][m], "lat": frame["lat"][m]}
    ).reset_index(drop=True)


def grids_frame(locator):
    """Every layer's grids (as the locate index holds them: repaired, non-empty)."""
    import geopandas as gpd

    frames = [
        gpd.GeoDataFrame(
            {"layer": key, "code": layer.codes.astype(str)}, geometry=layer.geoms, crs=4490
        )
        for key, layer in locator.layers.items()
    ]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4490)


def stage_queries(texts: list[str], folder: Path, partitions: int) -> Path:
    """The queries as ``partitions`` parquet files (``row``, ``query``), as a batch would arrive.

    Workers read them themselves; building the dask DataFrame from the in-memory list instead
    would ship every string inside the task graph.
    """
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    bounds = np.linspace(0, len(texts), partitions + 1).astype(int)
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        part = pd.DataFrame({"row": np.arange(a, b, dtype=np.int64), "query": texts[a:b]})
        part.to_parquet(folder / f"part.{i:04d}.parquet", index=False)
    return folder


def _join_residue(answers, grids, layers: list[str], spatial: bool) -> pd.Series:
    """``(row, layer) → code`` for the residue's points: dask-geopandas sjoin, smallest code."""
    import dask_geopandas

    xy = answers.map_partitions(_residue_xy, meta=_residue_xy(answers._meta))
    points = dask_geopandas.from_dask_dataframe(
        xy, geometry=dask_geopandas.points_from_xy(xy, "lon", "lat", crs=4490)
    )[["row", "geometry"]].set_crs(4490, allow_override=True)
    if spatial:  # compact (Hilbert) partitions on both sides: sjoin pairs only those that meet
        points = points.spatial_shuffle(npartitions=answers.npartitions)
        right = dask_geopandas.from_geopandas(grids, npartitions=8).spatial_shuffle()
    else:  # the grids as one partition, joined to every partition of points: no shuffle
        right = dask_geopandas.from_geopandas(grids, npartitions=1)
    joined = dask_geopandas.sjoin(points, right, predicate="intersects")
    return joined[["row", "layer", "code"]].groupby(["row", "layer"])["code"].min().compute()


def dask_path(
    queries_dir: Path, snapshot: Path, grids, layers: list[str], *, spatial: bool
) -> tuple[pd.DataFrame, dict[str, float], int]:
    """Geocode with ``map_partitions``; join only the residue (answers without a library row).

    Runs on the current ``distributed`` client, whose workers have :class:`GeocoderSnapshot`.
    Returns the answers, each step's seconds and the residue's size.
    """
    import dask.dataframe as dd
    from distributed import wait

    # divisions from the files' statistics: no pass over the data to index it
    queries = dd.read_parquet(str(queries_dir), index="row", calculate_divisions=True)
    meta = pd.DataFrame({c: pd.Series(dtype=object) for c in ANSWER_COLUMNS})
    meta = meta.astype({"address_id": "Int64", "confidence": float, "lon": float, "lat": float})
    for layer in layers:
        meta[f"grid_{layer}"] = pd.Series(dtype=object)
    steps: dict[str, float] = {}
    t = time.perf_counter()
    answers = queries.map_partitions(_geocode_partition, str(snapshot), layers, meta=meta)
    answers = answers.persist()  # geocoded once: used by the join and by the final gather
    wait(answers)
    steps["geocode"], t = time.perf_counter() - t, time.perf_counter()
    found = _join_residue(answers, grids, layers, spatial)
    steps["join residue"], t = time.perf_counter() - t, time.perf_counter()
    frame = answers.compute()
    steps["gather"] = time.perf_counter() - t
    residue = frame.index[(frame["status"] == "matched") & frame["address_id"].isna()]
    by_layer = found.unstack("layer")
    for layer in layers:
        if layer == "unified":  # the library's assignment is authoritative, as in the single path
            continue
        col = by_layer[layer] if layer in by_layer else pd.Series(dtype=object)
        joined = col.reindex(residue).astype(object)
        frame.loc[residue, f"grid_{layer}"] = joined.where(joined.notna(), None).to_numpy()
    return frame.sort_index(), steps, len(residue)


# ------------------------------------------------------------------------------ compare
def compare(single: pd.DataFrame, dask_frame: pd.DataFrame) -> tuple[float, float, pd.DataFrame]:
    """(% rows with identical grids, % rows identical in every column, the differing rows)."""
    cols = [c for c in single.columns]
    a = single[cols].reset_index(drop=True).astype(object)
    b = dask_frame[cols].reset_index(drop=True).astype(object)
    a, b = a.where(a.notna(), None), b.where(b.notna(), None)
    same = (a == b) | (a.isna() & b.isna())
    grid_cols = [c for c in cols if c.startswith("grid_")]
    grids_ok = same[grid_cols].all(axis=1)
    all_ok = same.all(axis=1)
    diff = pd.concat([a[~all_ok].add_prefix("single_"), b[~all_ok].add_prefix("dask_")], axis=1)
    return 100 * grids_ok.mean(), 100 * all_ok.mean(), diff


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--city", default="3201", help="the generated city (default: Nanjing)")
    ap.add_argument("--store", action="store_true", help="the store's district instead")
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--join", choices=["broadcast", "spatial"], default="broadcast")
    ap.add_argument(
        "--work-dir", type=Path, default=REPO / ".geo-grid" / "dask-bench",
        help="geocoder snapshots and the staged queries go here",
    )  # fmt: skip
    return ap.parse_args()


def run_dask(workers: int, snapshot: Path, staged: Path, grids, layers, args) -> tuple:
    """One dask run on a fresh LocalCluster of ``workers`` processes; answers and figures."""
    from distributed import Client, LocalCluster

    t = time.perf_counter()
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True,
        dashboard_address=None, memory_limit=0,
    )  # fmt: skip
    client = Client(cluster)
    try:
        client.register_plugin(GeocoderSnapshot(str(snapshot)), name=_PLUGIN)
        setup_s = time.perf_counter() - t
        workers_cpu0, main_cpu0 = sum(client.run(cpu_s).values()), cpu_s()
        t = time.perf_counter()
        frame, steps, residue = dask_path(
            staged, snapshot, grids, layers, spatial=args.join == "spatial"
        )
        took = time.perf_counter() - t
        cpu = (sum(client.run(cpu_s).values()) - workers_cpu0, cpu_s() - main_cpu0)
        peaks = sorted(client.run(peak_rss_mib).values(), reverse=True)
    finally:
        client.close()
        cluster.close()
    return frame, {"setup": setup_s, "took": took, "steps": steps, "residue": residue,
                   "cpu": cpu, "peaks": peaks}  # fmt: skip


def main() -> int:
    args = _args()
    import gc

    import dask

    # object strings as the geocoder returns them; pyarrow strings would be converted back and forth
    dask.config.set({"dataframe.convert-string": False})
    logging.getLogger("distributed.shuffle._scheduler_plugin").setLevel(logging.ERROR)
    t = time.perf_counter()
    source = store_source() if args.store else city_source(args.city)
    library, streets, communities, names, geocoder, locator, key = source
    layers, grids = list(locator.layers), grids_frame(locator)
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores: "
          f"{len(library):,} addresses, geocoder ready in {time.perf_counter() - t:.0f} s",
          flush=True)  # fmt: skip
    t = time.perf_counter()
    texts = build_queries(library, streets, communities, args.n, args.seed, names)
    print(f"{args.n:,} queries generated in {time.perf_counter() - t:.0f} s", flush=True)

    load = os.getloadavg()[0]
    t, cpu0 = time.perf_counter(), cpu_s()
    single = single_path(geocoder, texts, layers)
    single_s, single_cpu = time.perf_counter() - t, cpu_s() - cpu0
    print(f"single process (load {load:.1f}): {single_s:.1f} s = {args.n / single_s:,.0f}/s "
          f"({single_cpu:.1f} CPU s); peak memory {peak_rss_mib():,.0f} MiB", flush=True)  # fmt: skip

    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    t = time.perf_counter()
    snapshot = write_snapshot(
        geocoder, key, library_fingerprint(library), args.work_dir / "snapshots"
    )
    snap_s = time.perf_counter() - t
    del geocoder, locator, source  # the workers hold their own copies from here on
    gc.collect()
    staged = stage_queries(texts, args.work_dir / "queries", args.partitions)
    ok = True
    for n in args.workers:
        load = os.getloadavg()[0]
        frame, r = run_dask(n, snapshot, staged, grids, layers, args)
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in r["steps"].items())
        print(f"dask, {n} worker(s) × 1 thread (load {load:.1f} at start), {args.partitions} "
              f"partitions, residue joined by {args.join}: {r['took']:.1f} s = "
              f"{args.n / r['took']:,.0f}/s, x{single_s / r['took']:.2f} the single process "
              f"({steps}); {r['residue']:,} answers without a library row joined "
              f"({100 * r['residue'] / args.n:.1f}%); cluster up and geocoder loaded in "
              f"{r['setup']:.1f} s (snapshot {snapshot.stat().st_size / 2**20:,.0f} MiB written "
              f"once in {snap_s:.1f} s); CPU {r['cpu'][0]:.1f} s in the workers, {r['cpu'][1]:.1f} "
              f"in this process; worker peaks "
              f"{', '.join(f'{v:,.0f}' for v in r['peaks'])} MiB", flush=True)  # fmt: skip
        grids_pct, all_pct, diff = compare(single, frame)
        ok &= all_pct == 100
        print(f"  agreement: grids identical for {grids_pct:.4f}% of addresses, every column "
              f"for {all_pct:.4f}% ({len(diff)} differ)", flush=True)  # fmt: skip
        if len(diff):
            print(diff.head(5).to_string())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
