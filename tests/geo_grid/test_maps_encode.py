"""The compact layer encoding (``geo_grid/maps/encode.py``): what the page decodes, and its cost."""

from __future__ import annotations

import time

import numpy as np
import shapely
from shapely import box

from geo_grid.maps.encode import Cursor, encode_geometry, encode_layer

N_CASES = 20_000


def _one_by_one(geoms: list, rows: list) -> dict:
    """What ``encode_layer`` wrote geometry by geometry (its definition: one running cursor)."""
    cur, out_g, out_p = Cursor(), [], []
    for geom, row in zip(geoms, rows, strict=True):
        if geom is None or geom.is_empty:
            continue
        out_g.append(encode_geometry(geom, cur))
        out_p.append(list(row))
    return {"s": 1_000_000, "f": ["i"], "p": out_p, "g": out_g}


def _cases(n: int) -> list:
    rng = np.random.default_rng(20261207)
    return list(shapely.points(rng.uniform(118.8, 119.2, n), rng.uniform(32.0, 32.3, n)))


def test_points_are_packed_as_they_were_one_by_one() -> None:
    """A layer of points (the case dots and the heat map) is packed in one pass; the text is the
    same as geometry by geometry, missing and empty points dropped with their rows, Z ignored,
    and a layer of mixed types is packed as before."""
    points = _cases(500)
    points[3], points[8] = None, shapely.Point()
    points[11] = shapely.Point(118.9, 32.1, 15.0)
    points[12] = shapely.Point(118.9, 32.1)  # the same place twice: a step of zero
    rows = [[i] for i in range(len(points))]
    assert encode_layer(points, ["i"], rows) == _one_by_one(points, rows)
    mixed = [*points[:20], box(118.9, 32.1, 118.91, 32.11), *points[20:40]]
    rows = [[i] for i in range(len(mixed))]
    assert encode_layer(mixed, ["i"], rows) == _one_by_one(mixed, rows)
    assert encode_layer([], ["i"], [])["g"] == []


def test_the_points_of_every_demo_case_are_packed_in_a_fraction_of_a_second() -> None:
    """The map of every case of the demo's six months draws 20,000 points twice (dots and heat
    map): packed one by one that took 1.4 s of CPU each time, several seconds of the page's
    build in a worker process sharing two cores (schemathesis: the page over 10 s)."""
    points = _cases(N_CASES)
    rows = [[i] for i in range(N_CASES)]
    spent = []
    for _ in range(3):
        started = time.process_time()
        encode_layer(points, ["i"], rows)
        spent.append(time.process_time() - started)
    assert min(spent) < 0.3, spent


def test_the_times_of_every_demo_case_are_written_in_one_pass() -> None:
    """The case dots' popups carry each case's time as people read it: written one by one
    (``format_time`` of a pandas Timestamp), 20,000 took 0.65 s of CPU, a third of the map's
    build; a column is written at once, the same text, a missing time None."""
    import pandas as pd

    from geo_grid.timefmt import format_time, format_times

    start = pd.Timestamp("2026-06-01T00:00:00Z")
    times = pd.Series(start + pd.to_timedelta(np.arange(N_CASES) * 937, unit="s"))
    times.iloc[5] = None
    expected = [None if pd.isna(t) else format_time(t) for t in times.tolist()]
    spent = []
    for _ in range(3):
        started = time.process_time()
        written = format_times(times)
        spent.append(time.process_time() - started)
    assert written == expected
    naive = pd.Series([pd.Timestamp("2026-06-01 08:00")])  # no offset: the district's own time
    assert format_times(naive, suffix=False) == ["2026-06-01 08:00"]
    assert min(spent) < 0.15, spent
