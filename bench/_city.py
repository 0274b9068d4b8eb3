"""A whole city's demo (every district of ``generate_city``) for the city-scale benches, cached.

Generating Nanjing's eleven districts takes ~100 s on two quiet cores (several minutes on this
shared machine), and four benches need them, so the first bench to ask pickles the districts under
``.geo-grid/bench-city/``; the file is named by the city, the seed and a hash of the generator's
source and data files, so a change to the generator names a new file (old ones are removed).

:func:`city_frames` concatenates the districts into the tables a city-wide store would hold:
every layer's grids, streets, communities, the address library (``full_text`` under each
district's own prefix) and the district outlines (``bench/noisy_queries.district_names`` gives
each district's names, for queries written as a caller in that district writes them).
"""

from __future__ import annotations

import hashlib
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

__all__ = ["NANJING", "CityFrames", "city_districts_cached", "city_frames"]

NANJING = "3201"
CACHE = REPO / ".geo-grid" / "bench-city"


def _fingerprint(city: str, seed: int) -> str:
    """Hash of what the demo depends on: the generator's code and the shipped data."""
    digest = hashlib.sha1(f"{city}|{seed}".encode())
    for folder, pattern in ((REPO / "geo_grid" / "demo", "*.py"), (REPO / "data", "*")):
        for path in sorted(folder.glob(pattern)):
            if path.is_file():
                digest.update(path.name.encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def city_districts_cached(city: str = NANJING, seed: int | None = None, processes: int = 2):
    """``{district code: DemoDistrict}`` of a city, generated once and then read from the cache."""
    from geo_grid.demo import DEFAULT_SEED, generate_city

    seed = DEFAULT_SEED if seed is None else seed
    path = CACHE / f"city-{city}-{seed}-{_fingerprint(city, seed)}.pkl"
    if path.exists():
        with path.open("rb") as f:
            return pickle.load(f)  # noqa: S301 (written by this module)
    t = time.perf_counter()
    print(f"generating city {city} on {processes} processes …", flush=True)
    demos = generate_city(city, seed, processes=processes)
    print(f"  generated {len(demos)} districts in {time.perf_counter() - t:.0f} s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump(demos, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    for old in CACHE.glob(f"city-{city}-*.pkl"):
        if old != path:
            old.unlink(missing_ok=True)
    return demos


@dataclass
class CityFrames:
    """A city's demo tables, every district concatenated (EPSG:4490)."""

    grids: dict[str, gpd.GeoDataFrame]
    streets: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    addresses: gpd.GeoDataFrame
    roster: pd.DataFrame


def _concat(frames: list) -> gpd.GeoDataFrame | pd.DataFrame:
    out = pd.concat(frames, ignore_index=True)
    crs = getattr(frames[0], "crs", None)
    return gpd.GeoDataFrame(out, crs=crs) if crs is not None else out


def city_frames(demos: dict) -> CityFrames:
    """The districts' tables concatenated into the city's."""
    parts = list(demos.values())
    layers = sorted({k for d in parts for k in d.grids})
    return CityFrames(
        grids={k: _concat([d.grids[k] for d in parts if k in d.grids]) for k in layers},
        streets=_concat([d.streets for d in parts]),
        communities=_concat([d.communities for d in parts]),
        districts=_concat([d.district for d in parts]),
        addresses=_concat([d.addresses for d in parts]),
        roster=_concat([d.roster for d in parts]),
    )


if __name__ == "__main__":
    demos = city_districts_cached()
    frames = city_frames(demos)
    grids = {k: len(v) for k, v in frames.grids.items()}
    print(f"{len(demos)} districts, {len(frames.addresses):,} addresses, grids {grids}")
