"""Which attribute is the grid code, name and household count, and how to read their values.

Shared by the reader and the writer of :mod:`geo_grid.io`. Files from district offices name these
fields in pinyin initials (``WGBM`` 网格编码, ``WGMC`` 网格名称), in Chinese, or in English; codes
arrive as text, integers or dBASE floats (``123456001001.0``) and must all come out as the same
text.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence

from geo_grid.errors import BadInput

__all__ = [
    "CODE_FIELDS",
    "HOUSEHOLDS_FIELDS",
    "NAME_FIELDS",
    "SHAPEFILE_NAMES",
    "code_text",
    "is_missing",
    "name_text",
    "resolve_field",
    "restore_shapefile_names",
    "shapefile_field_names",
    "whole_number",
]

#: Field names tried, in order and ignoring case, when no ``code_field`` is given.
CODE_FIELDS: tuple[str, ...] = (
    "code",
    "grid_code",
    "gridcode",
    "wgbm",
    "网格编码",
    "网格代码",
    "网格编号",
    "网格编",  # 网格编码 cut to 10 UTF-8 bytes by a shapefile writer
    "编码",
    "代码",
    "bm",
    "id",
)
#: Field names tried for the grid name when no ``name_field`` is given.
NAME_FIELDS: tuple[str, ...] = (
    "name",
    "grid_name",
    "gridname",
    "wgmc",
    "网格名称",
    "网格名",  # 网格名称 cut to 10 UTF-8 bytes
    "名称",
    "mc",
)
#: Field names tried for the household count when no ``households_field`` is given.
HOUSEHOLDS_FIELDS: tuple[str, ...] = ("households", "hh", "户数", "总户数", "hs")

#: Our own columns whose names exceed the shapefile's 10-byte limit, and what they are written as.
#: Reading a shapefile maps them back; every other long name is truncated (see
#: :func:`shapefile_field_names`) and stays truncated.
SHAPEFILE_NAMES: dict[str, str] = {
    "community_code": "comm_code",
    "community_name": "comm_name",
    "street_code": "strt_code",
    "street_name": "strt_name",
    "district_code": "dist_code",
    "district_name": "dist_name",
    "generation_id": "gen_id",
    "linked_households": "linked_hh",
}


def _fields_list(columns: Iterable[str]) -> str:
    return ", ".join(str(c) for c in columns) or "(none)"


def resolve_field(
    columns: Sequence[str],
    explicit: str | None,
    candidates: Sequence[str],
    *,
    param: str,
    label: str,
    required: bool,
) -> str | None:
    """Name of the column that plays a role, from the caller's choice or the usual names.

    An explicit name must exist (exactly, or ignoring case if that is unambiguous); otherwise the
    first candidate present wins. A required role with nothing found raises :class:`BadInput`.

    >>> resolve_field(["OBJECTID", "WGBM", "WGMC"], None, CODE_FIELDS, param="code_field",
    ...               label="x.shp", required=True)
    'WGBM'
    """
    if explicit is not None:
        if explicit in columns:
            return explicit
        folded = [c for c in columns if str(c).casefold() == explicit.casefold()]
        if len(folded) == 1:
            return folded[0]
        raise BadInput(
            f"{label}: no field {explicit!r} (given as {param}); "
            f"available fields: {_fields_list(columns)}",
            field=param,
        )
    by_fold = {}
    for column in columns:
        by_fold.setdefault(str(column).casefold(), column)
    for candidate in candidates:
        if candidate.casefold() in by_fold:
            return by_fold[candidate.casefold()]
    if required:
        raise BadInput(
            f"{label}: no grid code field found (looked for {', '.join(candidates)}); "
            f"pass {param}= naming one of: {_fields_list(columns)}",
            field=param,
        )
    return None


def is_missing(value: object) -> bool:
    """True for None, NaN, pandas NA/NaT and blank text.

    >>> [is_missing(v) for v in (None, float("nan"), "  ", "0", 0)]
    [True, True, True, False, False]
    """
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(value != value)  # NaN, NaT and pd.NA compare unequal to themselves
    except TypeError:  # pd.NA raises on bool()
        return True


def code_text(value: object) -> str | None:
    """A code as text: integers and integral floats lose the ``.0`` dBASE gives them.

    >>> code_text(123456001001.0), code_text(" 0012 "), code_text(7), code_text(None)
    ('123456001001', '0012', '7', None)
    """
    if is_missing(value):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def name_text(value: object) -> str | None:
    """A name as text, or None when blank.

    >>> name_text(" 尧化一网格 "), name_text(""), name_text(float("nan"))
    ('尧化一网格', None, None)
    """
    if is_missing(value):
        return None
    return code_text(value) if isinstance(value, numbers.Real) else str(value).strip()


def whole_number(value: object) -> int | None:
    """A household count: a whole number ≥ 0 or None; anything else raises ValueError.

    >>> whole_number("12"), whole_number(12.0), whole_number(""), whole_number(None)
    (12, 12, None, None)
    """
    if is_missing(value):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, str):
        value = float(value.strip()) if not value.strip().lstrip("+").isdigit() else int(value)
    integral = isinstance(value, numbers.Integral) or (
        isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer()
    )
    if not integral:
        raise ValueError(value)
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


def _fit(name: str, limit: int) -> str:
    """Longest prefix of ``name`` whose UTF-8 form fits ``limit`` bytes (never splits a character)."""
    out = ""
    for char in name:
        if len((out + char).encode("utf-8")) > limit:
            break
        out += char
    return out


def shapefile_field_names(columns: Sequence[str]) -> dict[str, str]:
    """Map column names to dBASE field names of at most 10 UTF-8 bytes, unique ignoring case.

    Our own long names use :data:`SHAPEFILE_NAMES`; other long names are cut to 10 bytes on a
    character boundary, and a clash gets ``_1``, ``_2``… in column order, so the same columns
    always give the same names.

    >>> shapefile_field_names(["code", "community_code", "网格名称备注", "area_m2_total", "area_m2_totalx"])
    {'code': 'code', 'community_code': 'comm_code', '网格名称备注': '网格名', 'area_m2_total': 'area_m2_to', 'area_m2_totalx': 'area_m2__1'}
    """
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for column in columns:
        name = str(column)
        if len(name.encode("utf-8")) > 10:
            name = SHAPEFILE_NAMES.get(name, _fit(name, 10))
        candidate, n = name, 0
        while candidate.casefold() in taken:
            n += 1
            suffix = f"_{n}"
            candidate = _fit(name, 10 - len(suffix)) + suffix
        taken.add(candidate.casefold())
        mapping[str(column)] = candidate
    return mapping


def restore_shapefile_names(columns: Sequence[str]) -> dict[str, str]:
    """Renames that undo :data:`SHAPEFILE_NAMES` on read, skipping any that would clash.

    >>> restore_shapefile_names(["code", "comm_code", "strt_code", "street_code"])
    {'comm_code': 'community_code'}
    """
    reverse = {short: long for long, short in SHAPEFILE_NAMES.items()}
    present = {str(c) for c in columns}
    return {
        str(c): reverse[str(c)]
        for c in columns
        if str(c) in reverse and reverse[str(c)] not in present
    }
