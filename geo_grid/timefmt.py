"""Times as people in the district read and write them: Beijing time (北京时间) by default.

The district's time zone is the setting ``GEO_GRID_TIME_ZONE`` (:attr:`Settings.time_zone
<geo_grid.settings.Settings.time_zone>`, ``Asia/Shanghai``), and this module is the one place the
library reads it (:func:`local_zone`): the store keeps ``timestamptz`` and JSON answers carry ISO
8601 with an offset, while everything a person reads (map popups, case pages, the CLI's tables,
exports) goes through :func:`format_time`, and every time a person types without an offset
(``--from 2026-06-01``, ``?from=2026-06-01``) is read in that zone by :func:`assume_local`
(:mod:`geo_grid.periods` parses such text and checks the instants it gives).

Each time a person reads is followed by the zone's name (:func:`zone_suffix`), so nobody wonders
whether it is UTC: ``北京时间`` for the default zone, the IANA name for any other.

Examples
--------
>>> from datetime import UTC, datetime
>>> format_time(datetime(2026, 12, 6, 10, 37, tzinfo=UTC))
'2026-12-06 18:37 (北京时间)'
>>> assume_local(datetime(2026, 6, 1)).isoformat()
'2026-06-01T00:00:00+08:00'
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from geo_grid.settings import Settings, get_settings

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "assume_local",
    "format_date",
    "format_period",
    "format_time",
    "format_times",
    "local_zone",
    "to_local",
    "zone_name",
    "zone_suffix",
]

#: What people call the default zone (``Asia/Shanghai``); any other is named as configured.
_DEFAULT_ZONE_NAME = "北京时间"


def local_zone() -> tzinfo:
    """The district's time zone: ``GEO_GRID_TIME_ZONE`` (Beijing time unless configured)."""
    return get_settings().zone


def zone_name() -> str:
    """``北京时间`` for the default zone; the IANA name of any other (``Asia/Urumqi``)."""
    configured = get_settings().time_zone
    default = Settings.model_fields["time_zone"].default
    return _DEFAULT_ZONE_NAME if configured == default else configured


def zone_suffix() -> str:
    """Written after every time a person reads: ``(北京时间)``."""
    return f"({zone_name()})"


def assume_local(value: datetime) -> datetime:
    """``value`` in the district's zone when it has no offset (as a person means it)."""
    return value.replace(tzinfo=local_zone()) if value.tzinfo is None else value


def to_local(value: datetime | str) -> datetime:
    """The same instant in the district's zone (an ISO string is parsed; no offset: local)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return assume_local(value).astimezone(local_zone())


def format_time(value: datetime | str | None, *, seconds: bool = False, suffix: bool = True) -> str:
    """``2026-12-06 18:37 (北京时间)``; empty for None.

    >>> format_time("2026-12-06T10:37:05+00:00", seconds=True, suffix=False)
    '2026-12-06 18:37:05'
    """
    if value is None:
        return ""
    text = f"{to_local(value):%Y-%m-%d %H:%M{':%S' if seconds else ''}}"
    return f"{text} {zone_suffix()}" if suffix else text


def format_times(values: pd.Series, *, suffix: bool = True) -> list[str | None]:
    """:func:`format_time` of each instant of a column (``None`` where one is missing), in one
    vectorized pass: a map of 20,000 cases spent 0.7 s of CPU formatting its times one by one.

    >>> import pandas as pd
    >>> format_times(pd.Series(["2026-12-06T10:37:05+00:00", None]), suffix=False)
    ['2026-12-06 18:37', None]
    """
    import pandas as pd

    zone = local_zone()
    times = pd.to_datetime(pd.Series(values), utc=False, format="ISO8601")
    if times.dt.tz is None:
        times = times.dt.tz_localize(zone)
    text = times.dt.tz_convert(zone).dt.strftime("%Y-%m-%d %H:%M")
    after = f" {zone_suffix()}" if suffix else ""
    return [None if pd.isna(t) else f"{t}{after}" for t in text]


def format_date(value: datetime | str) -> str:
    """The district's calendar date of an instant: ``2026-12-07`` for 2026-12-06 16:00 UTC.

    >>> from datetime import UTC
    >>> format_date(datetime(2026, 12, 6, 16, tzinfo=UTC))
    '2026-12-07'
    """
    return f"{to_local(value):%Y-%m-%d}"


def format_period(start: datetime, end: datetime) -> str:
    """A period ``[start, end)`` as the days it covers in the district's zone.

    >>> format_period(datetime(2026, 11, 1), datetime(2026, 12, 1))
    '2026-11-01 至 2026-11-30 (北京时间)'
    """
    last = to_local(end) - timedelta(microseconds=1)
    return f"{format_date(start)} 至 {format_date(last)} {zone_suffix()}"
