"""Periods people ask for (``from`` … ``to``): parsed and checked once for the API and the CLI.

A period typed by a person or sent by a program can go wrong in ways that would otherwise only
surface deep in a query or on a page, as a 500 or as a page that takes seconds to draw:

- an instant PostgreSQL cannot hold: Python accepts UTC offsets up to ±23:59:59.999999,
  PostgreSQL only below ±16:00 and to the whole second (:data:`MAX_UTC_OFFSET`);
- an instant Python cannot move to UTC or to the district's zone (``0001-01-01T00:00+14:00`` is
  in year 0 in UTC): pages show every time in the district's zone;
- an end that is not after the start;
- a period so long that a page would draw every case since 1970 (``?from=-2`` did): refused above
  ``max_days`` (the setting ``GEO_GRID_MAX_PERIOD_DAYS``).

Text is read as ISO 8601 (``2026-06-01``, ``2026-06-01T08:00:00+08:00``, ``…Z``), never as a
count of seconds since 1970 (``-2`` or ``20260101`` are refused instead of meaning 1969 and 1970).
A time without an offset is the district's local time (:func:`geo_grid.timefmt.assume_local`,
``GEO_GRID_TIME_ZONE``: Beijing time by default).

Examples
--------
>>> parse_instant("2026-06-01", "from").isoformat()
'2026-06-01T00:00:00+08:00'
>>> parse_instant("2026-06-01T00:00:00+16:00", "from")
Traceback (most recent call last):
...
geo_grid.errors.BadInput: from: UTC offset +16:00 is out of range (PostgreSQL holds -15:59 … +15:59)
>>> p = check_period(parse_instant("2026-06-01", "from"), parse_instant("2026-07-01", "to"),
...                  max_days=366)
>>> (p.end - p.start).days
30
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from geo_grid.errors import BadInput
from geo_grid.timefmt import assume_local, local_zone

__all__ = [
    "MAX_UTC_OFFSET",
    "Period",
    "check_instant",
    "check_period",
    "days_before",
    "parse_day",
    "parse_instant",
]

#: PostgreSQL refuses a time zone displacement of 16 hours or more (``timestamptz`` input).
MAX_UTC_OFFSET = timedelta(hours=16)
#: The longest text taken as an instant (an ISO 8601 time with offset and microseconds is 32).
_MAX_TEXT = 64


@dataclass(frozen=True)
class Period:
    """``[start, end)``, either end may be open (``None``); both ends are timezone-aware."""

    start: datetime | None = None
    end: datetime | None = None


def _offset_text(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes, seconds = divmod(int(abs(offset).total_seconds()), 60)
    text = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return text + (f":{seconds:02d}" if seconds or abs(offset).microseconds else "")


def check_instant(value: datetime, field: str) -> datetime:
    """``value`` unchanged if PostgreSQL can hold its offset and it can be shown in UTC and in
    the district's zone (years 1 to 9999), else :class:`BadInput` naming ``field``.

    >>> from datetime import timezone
    >>> check_instant(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-15, minutes=-59))),
    ...               "now").isoformat()
    '2026-01-01T00:00:00-15:59'
    >>> check_instant(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))), "from")
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: from: 0001-01-01T00:00:00+14:00 is outside the years 1 to 9999
    """
    offset = value.utcoffset()
    if offset is None:
        return value
    if abs(offset) >= MAX_UTC_OFFSET or offset.microseconds:
        raise BadInput(
            f"{field}: UTC offset {_offset_text(offset)} is out of range "
            "(PostgreSQL holds -15:59 … +15:59)",
            field=field,
        )
    try:
        value.astimezone(UTC), value.astimezone(local_zone())
    except OverflowError:
        raise BadInput(
            f"{field}: {value.isoformat()} is outside the years 1 to 9999", field=field
        ) from None
    return value


def parse_instant(text: str | None, field: str, *, local: bool = True) -> datetime | None:
    """An ISO 8601 date or time as an aware datetime (the district's zone when it has no offset).

    ``None`` or blank text is no instant (an open end). Anything else that is not ISO 8601, or
    that :func:`check_instant` refuses, raises :class:`BadInput` naming ``field``; so does a time
    without an offset when ``local`` is false (the offset is required).

    >>> parse_instant("2026-06-01T08:00:00Z", "to").isoformat()
    '2026-06-01T08:00:00+00:00'
    >>> parse_instant("-2", "from")
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: from: not an ISO 8601 date or time: '-2' (e.g. 2026-06-01 or 2026-06-01T08:00:00+08:00)
    """
    if text is None or not text.strip():
        return None
    try:
        if len(text) > _MAX_TEXT:
            raise ValueError(text)
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        shown = text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"
        raise BadInput(
            f"{field}: not an ISO 8601 date or time: {shown!r} "
            "(e.g. 2026-06-01 or 2026-06-01T08:00:00+08:00)",
            field=field,
        ) from None
    if value.tzinfo is None and not local:
        raise BadInput(
            f"{field}: include a UTC offset, e.g. 2026-06-01T08:00:00+08:00", field=field
        )
    return check_instant(assume_local(value), field)


#: A day as people type it: 2026-12-01, 2026/12/1, 2026.12.1 or 2026年12月1日.
_DAY = re.compile(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*")


def parse_day(text: str | None, field: str) -> datetime | None:
    """The local midnight starting a day a person typed (the separators people use accepted);
    None for no text; :class:`BadInput` naming ``field`` for anything else.

    >>> parse_day("2026/12/1", "from").isoformat(), parse_day("2026年12月01日", "to").day
    ('2026-12-01T00:00:00+08:00', 1)
    >>> parse_day(" ", "from") is None
    True
    >>> parse_day("12/1/2026", "from")
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: from: not a day: '12/1/2026' (write it as 2026-12-01)
    """
    if text is None or not text.strip():
        return None
    found = _DAY.fullmatch(text[:_MAX_TEXT])
    try:
        if found is None:
            raise ValueError(text)
        year, month, day = (int(g) for g in found.groups())
        return check_instant(assume_local(datetime(year, month, day)), field)
    except ValueError:
        shown = text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"
        raise BadInput(
            f"{field}: not a day: {shown!r} (write it as 2026-12-01)", field=field
        ) from None


def check_period(
    start: datetime | None,
    end: datetime | None,
    *,
    max_days: int | None,
    start_field: str = "from",
    end_field: str = "to",
) -> Period:
    """The period ``[start, end)`` if it is one: offsets PostgreSQL holds, start before end, and
    (when both ends are known) no longer than ``max_days`` (``None`` or 0: no limit).

    Messages name the field to fix: the start for an order or length problem.

    >>> from datetime import UTC
    >>> check_period(datetime(2020, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC),
    ...              max_days=366)
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: from: the period 2020-01-01 … 2026-01-01 spans 2192 days, more than the 366 allowed (setting GEO_GRID_MAX_PERIOD_DAYS)
    """
    for value, field in ((start, start_field), (end, end_field)):
        if value is not None:
            check_instant(value, field)
    if start is not None and end is not None:
        if not start < end:
            raise BadInput(f"{start_field}: must be before {end_field}", field=start_field)
        if max_days and end - start > timedelta(days=max_days):
            days = (end - start) / timedelta(days=1)
            shown = f"{days:.0f}" if days == round(days) else f"{days:.2f}"  # never "366 > 366"
            raise BadInput(
                f"{start_field}: the period {start:%Y-%m-%d} … {end:%Y-%m-%d} spans "
                f"{shown} days, more than the {max_days} allowed "
                "(setting GEO_GRID_MAX_PERIOD_DAYS)",
                field=start_field,
            )
    return Period(start, end)


def days_before(end: datetime, days: int, field: str) -> datetime:
    """The start of a default period of ``days`` ending at ``end`` (named ``field``).

    >>> from datetime import UTC
    >>> days_before(datetime(2026, 1, 31, tzinfo=UTC), 30, "to").isoformat()
    '2026-01-01T00:00:00+00:00'
    >>> days_before(datetime(1, 1, 5, tzinfo=UTC), 30, "to")
    Traceback (most recent call last):
    ...
    geo_grid.errors.BadInput: to: no 30 days before 1-01-05
    """
    try:
        return end - timedelta(days=days)
    except OverflowError:  # ``end`` in the first days of year 1: no period fits before it
        raise BadInput(f"{field}: no {days} days before {end:%Y-%m-%d}", field=field) from None
