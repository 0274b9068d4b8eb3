"""Batch geocoding of a million addresses: dask-geopandas partitions vs the single-process path.

``python bench/dask_geocode.py [--n 1000000] [--workers 2] [--partitions 16] [--seed 7]
[--work-dir DIR]`` after
``geo-grid db start`` (the demo is loaded if absent). Needs the ``scale`` extra
(``dask-geopandas``, ``dask[distributed]``).

The queries are ``--n`` addresses drawn from the store's address library, each with one seeded kind
of hotline noise (``bench/noisy_queries.py``: clean, numerals, synonyms, homophone, typo, prefix,
noise, hotline). Both paths answer them all:

single process
    ``services.geocoding.geocode_batch(texts, limit=None)``, what ``geo-grid geocode --batch`` runs:
    the geocoder built from the store, chunks of 500, one row per address with every layer's grid.

dask
    a ``distributed.LocalCluster`` (``--workers`` processes, one thread each); the queries staged as
    ``--partitions`` parquet files and read as a dask DataFrame (one partition per file), as a
    national batch would arrive; ``map_partitions`` geocodes each with the geocoder
    loaded from a pickled snapshot of the same geocoder, once per worker process (a worker plugin
    holds it); the matched answers become a dask-geopandas GeoDataFrame of points
    (``points_from_xy``) that is Hilbert-shuffled into compact spatial partitions and joined with
    ``dask_geopandas.sjoin`` to every published layer's grids (themselves spatially partitioned),
    a point on a shared edge taking the smallest code, as the locate index does.

The department-layer grids of the dask answer come from that spatial join; the unified grid is
the library's own assignment carried by the geocoder (authoritative, as in the single path), and the
join's unified grid is only compared with it. The run fails (exit 1) unless every answer of the two
paths is identical. Printed: wall time and addresses/s of both, the ratio, the agreement, and the
peak resident memory (this process; each worker).

The snapshot is keyed by the published generations, a hash of the address library and a hash of
the geocoder's source, so a publish, an address import or a geocoder upgrade names a new file: a
worker that is handed a new snapshot path loads it and drops the old geocoder. Rewriting the same
file in place (a new mtime) also reloads it.
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
def build_queries(library, streets, communities, n: int, seed: int) -> list[str]:
    """``n`` seeded noisy query texts, generated in blocks (the helper walks rows one by one)."""
    out: list[str] = []
    block = 100_000
    for k, start in enumerate(range(0, n, block)):
        size = min(block, n - start)
        frame = make_queries(library, streets, communities, size, seed + k, _TEXT_KINDS)
        out += frame["query"].tolist()
    return out


# ------------------------------------------------------------------------------ single
def single_path(texts: list[str]) -> pd.DataFrame:
    """The CLI's batch path: ``geocode_batch`` in this process (geocoder already built)."""
    from geo_grid.services import geocoding

    rows = geocoding.geocode_batch(texts, limit=None)
    return pd.DataFrame(rows).drop(columns=["query"])


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
    out = pd.DataFrame(rows, index=frame.index, columns=list(ANSWER_COLUMNS))
    return out.astype({"address_id": "Int64", "confidence": float, "lon": float, "lat": float})


def _matched_xy(frame: pd.DataFrame) -> pd.DataFrame:
    """Row number and point of each matched answer (the others carry no point to join)."""
    m = frame["status"] == "matched"
    return pd.DataFrame(
        {"row": frame.index[m].to_numpy(np.int64), "lon": frame["lon"][m], "lat": frame["lat"][m]}
    ).reset_index(drop=True)


def _grids_frame(locator):
    """Every published layer's grids (as the locate index holds them: repaired, non-empty)."""
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


def dask_path(queries_dir: Path, snapshot: Path, locator, *, spatial: bool = True) -> pd.DataFrame:
    """Geocode with ``map_partitions``, join the points to the grids with dask-geopandas sjoin.

    Runs on the current ``distributed`` client, whose workers have :class:`GeocoderSnapshot`.

    ``spatial``: Hilbert-shuffle points and grids into spatial partitions first (what a national
    layer needs, since its grids fit no single partition); else one partition of grids is joined
    to each partition of points (enough for a district: its grids are a few MB).
    """
    import dask.dataframe as dd
    import dask_geopandas
    from distributed import wait

    layers = list(locator.layers)
    # divisions from the files' statistics: no pass over the data to index it
    queries = dd.read_parquet(str(queries_dir), index="row", calculate_divisions=True)
    partitions = queries.npartitions
    meta = pd.DataFrame({c: pd.Series(dtype=object) for c in ANSWER_COLUMNS})
    meta = meta.astype({"address_id": "Int64", "confidence": float, "lon": float, "lat": float})
    steps: dict[str, float] = {}
    t = time.perf_counter()
    answers = queries.map_partitions(_geocode_partition, str(snapshot), layers, meta=meta)
    answers = answers.persist()  # geocoded once: used by the join and by the final gather
    wait(answers)
    steps["geocode"], t = time.perf_counter() - t, time.perf_counter()
    xy = answers.map_partitions(_matched_xy, meta=_matched_xy(meta)).persist()
    points = dask_geopandas.from_dask_dataframe(
        xy, geometry=dask_geopandas.points_from_xy(xy, "lon", "lat", crs=4490)
    )[["row", "geometry"]].set_crs(4490, allow_override=True)
    if spatial:  # compact (Hilbert) partitions on both sides: sjoin pairs only those that meet
        points = points.spatial_shuffle(npartitions=partitions).persist()
        grids = dask_geopandas.from_geopandas(
            _grids_frame(locator), npartitions=max(2, partitions // 2)
        ).spatial_shuffle()
    else:  # the grids as one partition, joined to every partition of points where they lie
        points = points.persist()
        grids = dask_geopandas.from_geopandas(_grids_frame(locator), npartitions=1)
    wait(points)
    steps["points"], t = time.perf_counter() - t, time.perf_counter()
    joined = dask_geopandas.sjoin(points, grids, predicate="intersects")
    # a point on a shared edge touches two grids: the smallest code wins, as in LayerIndex.lookup
    found = joined[["row", "layer", "code"]].groupby(["row", "layer"])["code"].min().compute()
    steps["sjoin"], t = time.perf_counter() - t, time.perf_counter()
    frame = answers.compute()
    steps["gather"] = time.perf_counter() - t
    print("  dask steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()), flush=True)
    by_layer = found.unstack("layer")
    for layer in layers:
        col = by_layer[layer] if layer in by_layer else pd.Series(dtype=object)
        frame[f"grid_{layer}"] = col.reindex(frame.index).astype(object)
        frame[f"grid_{layer}"] = frame[f"grid_{layer}"].where(frame[f"grid_{layer}"].notna(), None)
    frame["sjoin_unified"] = frame.pop("grid_unified") if "unified" in layers else None
    if "unified" in layers:
        frame["grid_unified"] = frame["grid_code"]  # the library's assignment is authoritative
    return frame.sort_index()


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--join", choices=["spatial", "broadcast"], default="spatial")
    ap.add_argument("--convert-string", action="store_true", help="let dask use pyarrow strings")
    ap.add_argument(
        "--work-dir", type=Path, default=REPO / ".geo-grid" / "dask-bench",
        help="geocoder snapshots and the staged queries go here",
    )  # fmt: skip
    args = ap.parse_args()

    import dask

    from geo_grid.services import index

    # object strings as the geocoder returns them; pyarrow strings would be converted back and forth
    dask.config.set({"dataframe.convert-string": bool(args.convert_string)})
    ensure_demo()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load}; {args.n:,} addresses; "
          f"{time.strftime('%Y-%m-%d %H:%M')}", flush=True)  # fmt: skip
    t = time.perf_counter()
    library, streets, communities = read_library()
    texts = build_queries(library, streets, communities, args.n, args.seed)
    print(f"queries generated in {time.perf_counter() - t:.1f} s", flush=True)

    t = time.perf_counter()
    geocoder, locator = index.get_geocoder(), index.get_locator()
    build_s = time.perf_counter() - t
    before = rss_mib()
    t, cpu0 = time.perf_counter(), cpu_s()
    single = single_path(texts)
    single_s = time.perf_counter() - t
    single_cpu = cpu_s() - cpu0
    single_peak = peak_rss_mib()
    print(f"single process: geocoder built from the store in {build_s:.1f} s; {args.n:,} "
          f"addresses in {single_s:.1f} s = {args.n / single_s:,.0f}/s ({single_cpu:.1f} CPU s); "
          f"peak memory "
          f"{single_peak:,.0f} MiB ({before:,.0f} MiB before the batch: queries, library, "
          f"geocoder)", flush=True)  # fmt: skip

    from distributed import Client, LocalCluster

    # each shuffle (Hilbert sort of points and grids) logs its start and end at WARNING
    logging.getLogger("distributed.shuffle._scheduler_plugin").setLevel(logging.ERROR)

    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    t = time.perf_counter()
    snapshot = write_snapshot(
        geocoder, locator.key, library_fingerprint(library), args.work_dir / "snapshots"
    )
    snap_s = time.perf_counter() - t
    t = time.perf_counter()
    cluster = LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True,
        dashboard_address=None, memory_limit=0,
    )  # fmt: skip
    client = Client(cluster)
    try:
        client.register_plugin(GeocoderSnapshot(str(snapshot)), name=_PLUGIN)
        setup_s = time.perf_counter() - t
        workers_cpu0, main_cpu0 = sum(client.run(cpu_s).values()), cpu_s()
        t = time.perf_counter()
        staged = stage_queries(texts, args.work_dir / "queries", args.partitions)
        result = dask_path(staged, snapshot, locator, spatial=args.join == "spatial")
        dask_s = time.perf_counter() - t
        workers_cpu = sum(client.run(cpu_s).values()) - workers_cpu0
        main_cpu = cpu_s() - main_cpu0  # the scheduler and client live in this process
        workers_peak = sorted(client.run(peak_rss_mib).values(), reverse=True)
    finally:
        client.close()
        cluster.close()
    each = ", ".join(f"{v:,.0f}" for v in workers_peak)
    print(f"dask ({args.workers} worker processes × 1 thread, {args.partitions} partitions, "
          f"{args.join} join): "
          f"snapshot {snapshot.stat().st_size / 2**20:.0f} MiB written in {snap_s:.1f} s, cluster "
          f"up and geocoder loaded on every worker in {setup_s:.1f} s; {args.n:,} addresses "
          f"geocoded and joined in {dask_s:.1f} s = {args.n / dask_s:,.0f}/s ({workers_cpu:.1f} "
          f"CPU s in the workers, {main_cpu:.1f} in this process); peak memory: "
          f"workers {each} MiB, this process {peak_rss_mib():,.0f} MiB (it also holds the "
          f"single path's answers)")  # fmt: skip
    print(f"ratio: dask {single_s / dask_s:.2f}× the single process (compute only), "
          f"{(single_s + build_s) / (dask_s + setup_s + snap_s):.2f}× end to end "
          f"(single: build + geocode; dask: snapshot + cluster + geocode + join)")  # fmt: skip

    grids_pct, all_pct, diff = compare(single, result)
    matched = result["status"] == "matched"
    sj = (result.loc[matched, "sjoin_unified"] == result.loc[matched, "grid_code"]).mean()
    level = result.loc[matched, "match_level"]
    exact = matched & result["address_id"].notna()
    sj_exact = (result.loc[exact, "sjoin_unified"] == result.loc[exact, "grid_code"]).mean()
    print(f"agreement: grids identical for {grids_pct:.4f}% of addresses, every answer column for "
          f"{all_pct:.4f}% ({len(diff)} differ); matched {matched.mean():.1%}")  # fmt: skip
    print(f"  the join's unified grid = the library's for {100 * sj:.3f}% of matched answers "
          f"({100 * sj_exact:.3f}% of those with one address; area-level answers carry a mean "
          f"point that may lie outside the grid the library assigns; levels: "
          f"{level.value_counts().to_dict()})")  # fmt: skip
    if len(diff):
        print(diff.head(5).to_string())
    return 0 if all_pct == 100 else 1


if __name__ == "__main__":
    sys.exit(main())
