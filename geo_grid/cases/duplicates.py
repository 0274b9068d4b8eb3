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
...     "lon": [114.3, 114.3003, 114.31], "lat": [30.6, 30.6, 30.6],
...     "received_at": [t - pd.Timedelta(hours=5)] * 3})
>>> [int(i) for i in duplicate_candidates("E0101", 114.3, 30.6, t, recent)["case_id"]]
[1, 2]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DUPLICATE_HOURS",
    "DUPLICATE_METRES",
    "duplicate_candidates",
    "duplicates_among",
    "search_window",
]

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

    >>> box, since = search_window(114.3, 30.6, datetime(2026, 3, 3))
    >>> round(box[2] - box[0], 4), since.day
    (0.0012, 1)
    """
    d = 0.0006  # ≈ 57 m of longitude at 32°N and 67 m of latitude: always ⊇ the 50 m circle
    return (lon - d, lat - d, lon + d, lat + d), at - timedelta(hours=DUPLICATE_HOURS)


def duplicates_among(
    category_code: str,
    lon: float,
    lat: float,
    at: datetime,
    recent: Sequence[Mapping[str, Any]],
    *,
    metres: float = DUPLICATE_METRES,
    hours: float = DUPLICATE_HOURS,
) -> list[dict[str, Any]]:
    """The records of ``recent`` (``case_id, category_code, lon, lat, received_at``) that look the
    same, each with ``distance_m``, nearest first.

    Plain Python over the few dozen rows the store's pre-filter returns: this runs on every
    intake, where building a DataFrame would cost more than the rule itself.
    """
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    since = at - timedelta(hours=hours)
    rows = [
        r
        for r in recent
        if r["category_code"] == category_code and since <= _aware(r["received_at"]) <= at
    ]
    if not rows:
        return []
    dist = _metres([r["lon"] for r in rows], [r["lat"] for r in rows], lon, lat).round(1)
    out = [{**r, "distance_m": float(d)} for r, d in zip(rows, dist, strict=True) if d <= metres]
    return sorted(out, key=lambda r: (r["distance_m"], r["case_id"]))


def _aware(t: Any) -> datetime:
    t = pd.Timestamp(t).to_pydatetime() if not isinstance(t, datetime) else t
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


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
    """:func:`duplicates_among` for a DataFrame; returns the rows with ``distance_m``."""
    found = duplicates_among(
        category_code, lon, lat, at, recent.to_dict("records"), metres=metres, hours=hours
    )
    if not found:
        return recent.iloc[:0].assign(distance_m=pd.Series(dtype=float))
    return pd.DataFrame(found, columns=[*recent.columns, "distance_m"])
