"""Duplicate suggestion: the same category within 50 m and 48 h is probably the same problem.

Ten neighbours phoning 12345 about one overflowing bin should become one case, not ten dispatches;
but only a person may merge them (reject as ``duplicate``), so this module only *suggests*. Distances
are great-circle (haversine) metres, nearest first: at 50 m they agree with the district's metric CRS
to centimetres, and they cost microseconds where a projection of a GeoSeries costs milliseconds on
every intake.

>>> import pandas as pd
>>> from datetime import datetime, timezone
>>> t = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
>>> recent = pd.DataFrame({"case_id": [1, 2, 3], "category_code": ["E0101", "E0101", "E0101"],
...     "lon": [118.9, 118.9003, 118.91], "lat": [32.1, 32.1, 32.1],
...     "received_at": [t - pd.Timedelta(hours=5)] * 3})
>>> [int(i) for i in duplicate_candidates("E0101", 118.9, 32.1, t, recent)["case_id"]]
[1, 2]
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

__all__ = ["DUPLICATE_HOURS", "DUPLICATE_METRES", "duplicate_candidates", "search_window"]

DUPLICATE_METRES = 50.0
DUPLICATE_HOURS = 48.0
_EARTH_RADIUS_M = 6_371_008.8


def _metres(lon, lat, lon0: float, lat0: float) -> np.ndarray:
    lon, lat = np.radians(np.asarray(lon, float)), np.radians(np.asarray(lat, float))
    lon0, lat0 = np.radians(lon0), np.radians(lat0)
    a = np.sin((lat - lat0) / 2) ** 2 + np.cos(lat) * np.cos(lat0) * np.sin((lon - lon0) / 2) ** 2
    return 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


def search_window(lon: float, lat: float, at: datetime) -> tuple[tuple[float, ...], datetime]:
    """A generous lon/lat box and the earliest time for the store's pre-filter (then measured here).

    >>> box, since = search_window(118.9, 32.1, datetime(2026, 3, 3))
    >>> round(box[2] - box[0], 4), since.day
    (0.0012, 1)
    """
    d = 0.0006  # ≈ 57 m of longitude at 32°N and 67 m of latitude: always ⊇ the 50 m circle
    return (lon - d, lat - d, lon + d, lat + d), at - timedelta(hours=DUPLICATE_HOURS)


def duplicate_candidates(
    category_code: str,
    lon: float,
    lat: float,
    at: datetime,
    recent: pd.DataFrame,
    *,
    metres: float = DUPLICATE_METRES,
    hours: float = DUPLICATE_HOURS,
) -> pd.DataFrame:
    """Rows of ``recent`` (``case_id, category_code, lon, lat, received_at``) that look the same.

    Returns them with a ``distance_m`` column, nearest first.
    """
    if recent.empty:
        return recent.assign(distance_m=pd.Series(dtype=float))
    received = pd.to_datetime(recent["received_at"], utc=True)
    at_ts = pd.Timestamp(at)
    at_ts = at_ts.tz_localize("UTC") if at_ts.tzinfo is None else at_ts
    keep = (
        (recent["category_code"] == category_code)
        & (received <= at_ts)
        & (received >= at_ts - pd.Timedelta(hours=hours))
    )
    cand = recent[keep]
    if cand.empty:
        return cand.assign(distance_m=pd.Series(dtype=float))
    out = cand.assign(distance_m=_metres(cand["lon"], cand["lat"], lon, lat).round(1))
    return out[out["distance_m"] <= metres].sort_values(["distance_m", "case_id"])
