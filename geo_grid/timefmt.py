"""Times as people in the district read and write them: Beijing time (北京时间, UTC+8).

The store keeps ``timestamptz`` and JSON answers carry ISO 8601 with an offset; everything a
person reads (map popups, case pages, the CLI's tables, exports) goes through :func:`format_time`,
and every time a person types without an offset (``--from 2026-06-01``, ``?from=2026-06-01``) is
read as Beijing time by :func:`assume_beijing`. China has kept UTC+8 without daylight saving since
1991, so a fixed offset is exact and needs no time-zone database.

Examples
--------
>>> from datetime import UTC, datetime
>>> format_time(datetime(2026, 12, 6, 10, 37, tzinfo=UTC))
'2026-12-06 18:37 (北京时间)'
>>> assume_beijing(datetime(2026, 6, 1)).isoformat()
'2026-06-01T00:00:00+08:00'
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from geo_grid.errors import BadInput

__all__ = [
    "BEIJING",
    "SUFFIX",
    "assume_beijing",
    "format_date",
    "format_period",
    "format_time",
    "parse_time",
    "to_beijing",
    "to_utc",
]

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
#: Written after every time a person reads, so nobody wonders whether it is UTC.
SUFFIX = "(北京时间)"


def assume_beijing(value: datetime) -> datetime:
    """``value`` with Beijing time attached when it has no offset (as a person means it)."""
    return value.replace(tzinfo=BEIJING) if value.tzinfo is None else value


def to_utc(value: datetime, field: str) -> datetime:
    """The instant a person gave in ``field``, in UTC (no offset: Beijing time), for the store.

    Python accepts offsets up to ±23:59 but PostgreSQL only ±15:59, so an input time is moved to
    UTC before it reaches a query instead of failing there; an instant whose UTC falls outside
    years 1–9999 is refused naming ``field``.

    >>> to_utc(datetime.fromisoformat("2000-01-01T00:00:00+16:00"), "now").isoformat()
    '1999-12-31T08:00:00+00:00'
    >>> to_utc(datetime(1, 1, 1), "from")
    Traceback (most recent call last):
    geo_grid.errors.BadInput: from: 0001-01-01T00:00:00+08:00 is outside the years 1 to 9999 in UTC
    """
    aware = assume_beijing(value)
    try:
        return aware.astimezone(UTC)
    except OverflowError:
        raise BadInput(
            f"{field}: {aware.isoformat()} is outside the years 1 to 9999 in UTC", field=field
        ) from None


def to_beijing(value: datetime | str) -> datetime:
    """The same instant in Beijing time (an ISO string is parsed; no offset means Beijing)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return assume_beijing(value).astimezone(BEIJING)


def parse_time(text: str, field: str) -> datetime:
    """An ISO date or time a person typed, Beijing time unless it says otherwise.

    >>> parse_time("2026-06-01T08:00:00Z", "from").isoformat()
    '2026-06-01T08:00:00+00:00'
    >>> parse_time("6月1日", "from")
    Traceback (most recent call last):
    geo_grid.errors.BadInput: from: not an ISO date or time: '6月1日'
    """
    try:
        return assume_beijing(datetime.fromisoformat(text))
    except ValueError as exc:
        raise BadInput(f"{field}: not an ISO date or time: {text!r}", field=field) from exc


def format_time(value: datetime | str | None, *, seconds: bool = False, suffix: bool = True) -> str:
    """``2026-12-06 18:37 (北京时间)``; empty for None.

    >>> format_time("2026-12-06T10:37:05+00:00", seconds=True, suffix=False)
    '2026-12-06 18:37:05'
    """
    if value is None:
        return ""
    text = f"{to_beijing(value):%Y-%m-%d %H:%M{':%S' if seconds else ''}}"
    return f"{text} {SUFFIX}" if suffix else text


def format_date(value: datetime | str) -> str:
    """The Beijing calendar date of an instant: ``2026-12-07`` for 2026-12-06 16:00 UTC.

    >>> format_date(datetime(2026, 12, 6, 16, tzinfo=timezone.utc))
    '2026-12-07'
    """
    return f"{to_beijing(value):%Y-%m-%d}"


def format_period(start: datetime, end: datetime) -> str:
    """A period ``[start, end)`` as the days it covers in Beijing time.

    >>> format_period(datetime(2026, 11, 1), datetime(2026, 12, 1))
    '2026-11-01 至 2026-11-30 (北京时间)'
    """
    last = to_beijing(end) - timedelta(microseconds=1)
    return f"{format_date(start)} 至 {format_date(last)} {SUFFIX}"
