"""红绿指标: how grids, communities, streets and departments are doing over a period.

Definitions (a case is *due* in the period when its closure deadline falls inside ``[start, end)``
and it was not rejected: a duplicate or a report outside the government's remit 不予受理 is nobody's
work to close, so it counts as received and nothing else):

=============  ==================================================================================
received       cases received in the period
accepted       received cases not rejected
closure_rate   结案率: due cases closed (by ``end``) ÷ due cases
ontime_rate    按期结案率: due cases closed by their deadline ÷ due cases
rework_rate    返工率: closed due cases that were reopened after verification ÷ closed due cases
extension_rate 延期率: due cases that were suspended/extended ÷ due cases
overdue        due cases not closed by their deadline (still open or closed late)
mean_hours     mean hours from receipt to closure of the closed due cases
response_rate  响应率: accepted cases whose reporter was contacted within the limit ÷ accepted
solve_rate     解决率: rated cases marked resolved ÷ rated cases
satisfaction   满意率: rated cases marked satisfied ÷ rated cases
=============  ==================================================================================

Colours come from :class:`Thresholds` (configuration, not code): a rate is green at or above its
green bound, yellow at or above its yellow bound, red below; for "lower is better" rates the bounds
are maxima. A unit's colour is its worst colour, and ``reasons`` names the rates that gave it (what
a leader asks first of a red grid). A rate computed over fewer than ``Thresholds.min_cases`` cases
(its denominator: due, closed, received or rated cases) is reported but not coloured: one late case
out of two must not paint a grid red on a leader's map. Such a grid is not left grey either:
:func:`inherit_colours` gives it its community's colour, marked as borrowed (``colour_source``).

>>> import pandas as pd
>>> t = pd.Timestamp("2026-01-10", tz="UTC")
>>> cases = pd.DataFrame({"grid_code": ["G1", "G1"], "received_at": [t, t],
...     "due_at": [t + pd.Timedelta(hours=48)] * 2,
...     "closed_at": [t + pd.Timedelta(hours=10), pd.NaT]})
>>> row = indicators(cases, "grid", pd.Timestamp("2026-01-01", tz="UTC"),
...                  pd.Timestamp("2026-02-01", tz="UTC"), Thresholds(min_cases=1)).iloc[0]
>>> int(row["received"]), float(row["closure_rate"]), int(row["overdue"]), row["colour"]
(2, 0.5, 1, 'red')
>>> row["response_rate"] is None   # no responded_at column: no rate, not a zero
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from geo_grid.errors import BadInput
from geo_grid.labels import INDICATOR_RATE

__all__ = [
    "COLOUR_SOURCE",
    "COUNTS",
    "LEVEL_COLUMNS",
    "RATES",
    "Thresholds",
    "colour_of",
    "explain",
    "indicators",
    "inherit_colours",
]

#: Aggregation level → the case column that names the unit.
LEVEL_COLUMNS: dict[str, str] = {
    "grid": "grid_code",
    "community": "community_code",
    "street": "street_code",
    "department": "department",
}
#: The rates, with True when higher is better.
RATES: dict[str, bool] = {
    "closure_rate": True,
    "ontime_rate": True,
    "rework_rate": False,
    "extension_rate": False,
    "response_rate": True,
    "solve_rate": True,
    "satisfaction": True,
}
_RANK = {"green": 0, "yellow": 1, "red": 2}
#: Whose colour a grid with too few cases shows (``colour_source`` of :func:`inherit_colours`),
#: as a person reads it.
COLOUR_SOURCE = {"community": "社区", "street": "街道"}
#: The case counts of a row (zero for a unit with no case in the period).
COUNTS = ("received", "accepted", "due", "closed", "closed_on_time", "reopened", "extended", "overdue",
          "responded", "rated", "resolved", "satisfied")  # fmt: skip


@dataclass(frozen=True)
class Thresholds:
    """``{rate: (green_bound, yellow_bound)}``; bounds are minima, or maxima for lower-is-better."""

    bounds: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: {
            "closure_rate": (0.95, 0.85),
            "ontime_rate": (0.90, 0.80),
            "rework_rate": (0.05, 0.10),
            "extension_rate": (0.05, 0.10),
            "response_rate": (0.95, 0.85),
            "solve_rate": (0.90, 0.80),
            "satisfaction": (0.90, 0.80),
        }
    )
    response_hours: float = 2.0
    #: fewer cases than this behind a rate: the rate is shown but gets no colour
    min_cases: int = 5

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> Thresholds:
        """Defaults overridden by ``config`` (e.g. parsed from settings JSON), validated."""
        base = cls()
        if not config:
            return base
        bounds = dict(base.bounds)
        for rate, pair in dict(config.get("bounds", config)).items():
            if rate in ("response_hours", "min_cases"):
                continue
            if rate not in RATES:
                raise BadInput(f"thresholds: unknown rate {rate!r}", field="thresholds")
            green, yellow = (float(v) for v in pair)
            if (green < yellow) if RATES[rate] else (green > yellow):
                raise BadInput(
                    f"thresholds.{rate}: green bound must be stricter than yellow", field=rate
                )
            bounds[rate] = (green, yellow)
        hours = float(config.get("response_hours", base.response_hours))
        min_cases = int(config.get("min_cases", base.min_cases))
        if min_cases < 1:
            raise BadInput("thresholds.min_cases: must be at least 1", field="min_cases")
        return cls(bounds=bounds, response_hours=hours, min_cases=min_cases)


#: the count each rate is a share of: too few of them and the rate is not coloured
_DENOMINATORS: dict[str, str] = {
    "closure_rate": "due",
    "ontime_rate": "due",
    "rework_rate": "closed",
    "extension_rate": "due",
    "response_rate": "accepted",
    "solve_rate": "rated",
    "satisfaction": "rated",
}


def colour_of(rate: str, value: float | None, thresholds: Thresholds) -> str | None:
    """green/yellow/red for one rate value (None when there is no value or no bound).

    >>> colour_of("ontime_rate", 0.85, Thresholds()), colour_of("rework_rate", 0.2, Thresholds())
    ('yellow', 'red')
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if rate not in thresholds.bounds:
        return None
    green, yellow = thresholds.bounds[rate]
    if RATES[rate]:
        return "green" if value >= green else "yellow" if value >= yellow else "red"
    return "green" if value <= green else "yellow" if value <= yellow else "red"


def _col(frame: pd.DataFrame, name: str, default: Any) -> pd.Series:
    return frame[name] if name in frame.columns else pd.Series(default, index=frame.index)


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    out = num.astype(float) / den.astype(float).where(den > 0)
    return out.round(4)


def indicators(
    cases: pd.DataFrame,
    level: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """One row per unit of ``level`` with the counts, rates and colours over ``[start, end)``.

    ``cases`` needs ``received_at, due_at, closed_at`` and the level's column; optional columns
    ``reopened`` (int), ``extended`` (bool), ``responded_at``, ``rated_at``, ``resolved``,
    ``satisfied`` (bool) feed the other rates; ``status`` (``rejected``) takes rejected cases out of
    every rate.
    """
    key = _level_column(cases, level, start, end)
    thresholds = thresholds or Thresholds()
    f = cases[cases[key].notna()]
    out = _rates(_unit_counts(_case_flags(f, key, start, end, thresholds)), f)
    out = _coloured(out, thresholds)
    out = out.reset_index().rename(columns={"unit": "code"})
    out.insert(0, "level", level)
    return out


def _level_column(cases: pd.DataFrame, level: str, start: pd.Timestamp, end: pd.Timestamp) -> str:
    """The case column naming the units of ``level``; a bad level, period or frame is refused."""
    if level not in LEVEL_COLUMNS:
        raise BadInput(f"level: must be one of {', '.join(LEVEL_COLUMNS)}", field="level")
    if not start < end:
        raise BadInput("from: must be before to", field="from")
    key = LEVEL_COLUMNS[level]
    if key not in cases.columns:
        raise BadInput(f"cases: no column {key!r} for level {level}", field="level")
    return key


def _case_flags(
    f: pd.DataFrame, key: str, start: pd.Timestamp, end: pd.Timestamp, thresholds: Thresholds
) -> pd.DataFrame:
    """One row per case: its unit, whether it counts as each of :data:`COUNTS` in the period, and
    its hours from receipt to closure (closed due cases only)."""
    received_at = pd.to_datetime(f["received_at"], utc=True)
    due_at = pd.to_datetime(f["due_at"], utc=True)
    closed_at = pd.to_datetime(_col(f, "closed_at", pd.NaT), utc=True)
    responded_at = pd.to_datetime(_col(f, "responded_at", pd.NaT), utc=True)
    rated = pd.to_datetime(_col(f, "rated_at", pd.NaT), utc=True)
    in_period = (received_at >= start) & (received_at < end)
    rejected = _col(f, "status", None).eq("rejected")
    accepted = in_period & ~rejected
    due = (due_at >= start) & (due_at < end) & ~rejected
    closed = due & closed_at.notna() & (closed_at < end)
    ontime = closed & (closed_at <= due_at)
    limit = received_at + pd.Timedelta(hours=thresholds.response_hours)
    rated_in = rated.notna() & (rated >= start) & (rated < end)
    return pd.DataFrame(
        {
            "unit": f[key].astype(str),
            "received": in_period,
            "accepted": accepted,
            "due": due,
            "closed": closed,
            "closed_on_time": ontime,
            "reopened": closed & (_col(f, "reopened", 0).fillna(0).astype(int) > 0),
            "extended": due & _col(f, "extended", False).fillna(False).astype(bool),
            "overdue": due & ~ontime,
            "responded": accepted & responded_at.notna() & (responded_at <= limit),
            "rated": rated_in,
            "resolved": rated_in & (_col(f, "resolved", False).fillna(False).astype(bool)),
            "satisfied": rated_in & (_col(f, "satisfied", False).fillna(False).astype(bool)),
            "hours": ((closed_at - received_at).dt.total_seconds() / 3600).where(closed),
        }
    )


def _unit_counts(parts: pd.DataFrame) -> pd.DataFrame:
    """The case flags summed per unit (sorted by unit), with the mean hours to closure."""
    g = parts.groupby("unit", sort=True)
    out = g[[c for c in parts.columns if c not in ("unit", "hours")]].sum().astype(int)
    out["mean_hours"] = g["hours"].mean().round(2)
    return out


def _rates(out: pd.DataFrame, f: pd.DataFrame) -> pd.DataFrame:
    """Each of :data:`RATES` from the counts (None where its denominator is zero, or where the
    cases carry no column to tell it: no ``responded_at``, no ``rated_at``)."""
    out["closure_rate"] = _ratio(out["closed"], out["due"])
    out["ontime_rate"] = _ratio(out["closed_on_time"], out["due"])
    out["rework_rate"] = _ratio(out["reopened"], out["closed"])
    out["extension_rate"] = _ratio(out["extended"], out["due"])
    out["response_rate"] = _ratio(out["responded"], out["accepted"])
    out["solve_rate"] = _ratio(out["resolved"], out["rated"])
    out["satisfaction"] = _ratio(out["satisfied"], out["rated"])
    if "responded_at" not in f.columns:
        out["response_rate"] = np.nan
    if "rated_at" not in f.columns:
        out[["solve_rate", "satisfaction"]] = np.nan
    out[list(RATES)] = out[list(RATES)].astype(object).where(out[list(RATES)].notna(), None)
    return out


def _coloured(out: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """Each rate's colour (none over fewer than ``min_cases`` cases), the unit's worst colour,
    the rates that gave it (``reasons``) and ``colour_source`` ``own`` where it has one."""
    colours = {
        r: [
            colour_of(r, v, thresholds) if n >= thresholds.min_cases else None
            for v, n in zip(out[r], out[_DENOMINATORS[r]], strict=True)
        ]
        for r in RATES
    }
    for rate, values in colours.items():
        out[f"{rate}_colour"] = values
    out["colour"] = [
        max((c for c in row if c), key=_RANK.__getitem__, default=None)
        for row in zip(*colours.values(), strict=True)
    ]
    out["reasons"] = [
        [rate for rate, c in zip(colours, row, strict=True) if c is not None and c == worst]
        for worst, row in zip(out["colour"], zip(*colours.values(), strict=True), strict=True)
    ]
    out["colour_source"] = ["own" if c else None for c in out["colour"]]
    return out


def inherit_colours(
    grids: pd.DataFrame,
    communities: pd.DataFrame,
    grid_community: Mapping[str, str | None],
    streets: pd.DataFrame | None = None,
    community_street: Mapping[str, str | None] | None = None,
) -> pd.DataFrame:
    """Grid rows for every grid of ``grid_community``; a grid too thin to judge borrows its
    community's colour (or, when that is too thin too, its street's: ``streets`` at level
    ``street`` and ``community_street`` mapping community codes to street codes).

    ``grids`` and ``communities`` are :func:`indicators` tables of the same cases at levels
    ``grid`` and ``community``; ``grid_community`` maps each grid code to its community code (a
    grid with no case in the period gets a row of zeros). A grid none of whose rates has
    ``min_cases`` cases behind it takes its community's ``colour`` and ``reasons`` with
    ``colour_source`` ``"community"`` (``"street"`` when it is its street's, ``"own"`` when its
    own rates decide, None when none can); ``community_code`` says whose colour it is and
    ``reason_values`` gives the values of the ``reasons`` rates that decided it. Two late cases of three do not paint a
    grid red, but a grid of a community that closes late is not shown as if nothing were known.

    >>> t = pd.Timestamp("2026-01-10", tz="UTC")
    >>> cases = pd.DataFrame({"grid_code": ["G1"] * 5 + ["G2"], "community_code": ["C"] * 6,
    ...     "received_at": [t] * 6, "due_at": [t + pd.Timedelta(hours=48)] * 6,
    ...     "closed_at": [t + pd.Timedelta(hours=90)] * 6})
    >>> a, b = pd.Timestamp("2026-01-01", tz="UTC"), pd.Timestamp("2026-02-01", tz="UTC")
    >>> rows = inherit_colours(indicators(cases, "grid", a, b),
    ...     indicators(cases, "community", a, b), {"G1": "C", "G2": "C", "G3": "C"})
    >>> rows[["code", "due", "colour", "colour_source"]].values.tolist()
    [['G1', 5, 'red', 'own'], ['G2', 1, 'red', 'community'], ['G3', 0, 'red', 'community']]
    >>> rows.loc[2, "reasons"], rows.loc[2, "reason_values"]
    (['ontime_rate'], {'ontime_rate': 0.0})
    """
    codes = [str(c) for c in grid_community]
    rows = grids.drop_duplicates("code").set_index(grids["code"].astype(str).drop_duplicates())
    rows = rows.reindex(codes)
    present = [c for c in COUNTS if c in rows.columns]
    rows[present] = rows[present].astype(float).fillna(0).astype(int)
    rows = rows.astype(object).where(rows.notna(), None)
    rows["level"], rows["code"] = "grid", codes
    rows["community_code"] = [grid_community[c] for c in codes]
    community_of = _table(communities)
    street_of = _table(streets) if streets is not None else {}
    up = community_street or {}
    picked = [
        _pick(mine, row, community_of.get(str(row["community_code"])),
              street_of.get(str(up.get(row["community_code"]))))
        for mine, row in zip(_cells(rows, "colour"), rows.to_dict("records"), strict=True)
    ]  # fmt: skip
    for i, name in enumerate(("colour", "reasons", "reason_values", "colour_source")):
        rows[name] = pd.Series([p[i] for p in picked], index=rows.index, dtype=object)
    return rows.reset_index(drop=True)


def _table(units: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """An :func:`indicators` table as ``{code: row}``."""
    units = units.drop_duplicates("code")
    return dict(zip(units["code"].astype(str), units.to_dict("records"), strict=True))


def _pick(
    mine: str | None,
    row: Mapping[str, Any],
    community: Mapping[str, Any] | None,
    street: Mapping[str, Any] | None,
) -> tuple[str | None, list[str], dict[str, Any], str | None]:
    """A grid's colour, reasons, the values of those rates and whose they are: its own when its
    rates gave one, else its community's, else its street's, else none."""
    if mine is not None:
        reasons = list(row["reasons"])
        return mine, reasons, {r: row[r] for r in reasons}, "own"
    for source, parent in (("community", community), ("street", street)):
        if parent is not None and isinstance(parent.get("colour"), str):  # NaN: no colour
            reasons = list(parent["reasons"])
            return parent["colour"], reasons, {r: parent[r] for r in reasons}, source
    return None, [], {}, None


def _cells(rows: pd.DataFrame, name: str) -> list[Any]:
    """A column as a list (None for every row when the table has no such column)."""
    return rows[name].tolist() if name in rows.columns else [None] * len(rows)


def _bounds_text(rate: str, thresholds: Thresholds) -> str:
    """A rate's green and yellow bounds as a leader reads them ("绿 ≥90%，黄 ≥80%")."""
    green, yellow = thresholds.bounds[rate]
    sign = "≥" if RATES[rate] else "≤"
    return f"绿 {sign}{100 * green:.0f}%，黄 {sign}{100 * yellow:.0f}%"


def _percent(value: Any) -> str:
    return "—" if value is None or pd.isna(value) else f"{100 * float(value):.0f}%"


def explain(row: Mapping[str, Any], thresholds: Thresholds) -> str | None:
    """Why a unit has its colour, in Chinese: the rates that gave it with their values and
    thresholds, and whose colour it is when the grid has too few cases of its own (an
    :func:`inherit_colours` row; an :func:`indicators` row works too). None without a colour.
    The one wording of the map's tooltip and the spreadsheet's column.

    >>> explain({"colour": "red", "reasons": ["ontime_rate"], "reason_values":
    ...     {"ontime_rate": 0.72}, "colour_source": "community", "due": 2}, Thresholds())
    '本网格案件过少（到期 2 件，不足 5 件），沿用所在社区：按期结案率 72%（绿 ≥90%，黄 ≥80%）'
    >>> explain({"colour": "green", "reasons": [], "colour_source": "own"}, Thresholds())
    '各项指标均达绿色标准'
    """
    colour = row.get("colour")
    if colour not in _RANK:
        return None
    values = row.get("reason_values") or {r: row.get(r) for r in row.get("reasons") or ()}
    if colour == "green":
        text = "各项指标均达绿色标准"
    else:
        text = "；".join(
            f"{INDICATOR_RATE.get(r, r)} {_percent(values.get(r))}（{_bounds_text(r, thresholds)}）"
            for r in row.get("reasons") or ()
            if r in thresholds.bounds
        )
    source = COLOUR_SOURCE.get(row.get("colour_source") or "")
    if source:
        due = row.get("due") or 0
        text = (f"本网格案件过少（到期 {due} 件，不足 {thresholds.min_cases} 件），"
                f"沿用所在{source}：{text}")  # fmt: skip
    return text
