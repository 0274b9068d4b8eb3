"""Spreadsheets a district office hands on: 红绿指标 and case lists as XLSX workbooks (openpyxl).

Pure: rows in (what :func:`geo_grid.cases.indicators.indicators` and the case views give), bytes
out. Everything a person reads is Chinese: column headings, colours (红/黄/绿), whose colour a
thin grid shows, why a unit is red (:func:`geo_grid.cases.indicators.explain`); times are the
district's local time (北京时间), written as Excel date-times without a zone, the zone named in the
heading; rates are numbers formatted as percentages, so they sort and sum.

Examples
--------
>>> import io, openpyxl
>>> data = indicators_workbook([{"code": "990101001001001", "colour": "red", "due": 6,
...     "ontime_rate": 0.5, "reasons": ["ontime_rate"], "colour_source": "own"}],
...     level="grid", period="2026-11-01 至 2026-11-30 (北京时间)", thresholds=Thresholds(),
...     names={"990101001001001": "示例社区第1网格"})
>>> sheet = openpyxl.load_workbook(io.BytesIO(data))["红绿指标"]
>>> [c.value for c in sheet[3]][:5]
['编码', '名称', '所属社区', '所属街道', '指标']
>>> [c.value for c in sheet[4]][:5]
['990101001001001', '示例社区第1网格', None, None, '红']
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from geo_grid.cases.indicators import COLOUR_SOURCE, RATES, Thresholds, explain
from geo_grid.labels import INDICATOR_COLOUR, INDICATOR_RATE
from geo_grid.timefmt import to_local, zone_name

__all__ = ["CASE_COLUMNS", "INDICATOR_COLUMNS", "cases_workbook", "indicators_workbook"]

#: Units of a level, as a heading names them.
LEVEL_ZH = {"grid": "网格", "community": "社区", "street": "街道", "department": "部门"}
#: The indicator sheet's columns after 编码, 名称, 所属社区, 所属街道: (row key, heading).
INDICATOR_COLUMNS: tuple[tuple[str, str], ...] = (
    ("colour", "指标"),
    ("colour_source", "颜色来源"),
    ("why", "原因"),
    ("received", "受理"),
    ("due", "到期"),
    ("closed", "结案"),
    ("closed_on_time", "按期结案"),
    ("overdue", "超期"),
    *((rate, label) for rate, label in INDICATOR_RATE.items()),
    ("mean_hours", "平均办结时长（小时）"),
)
#: The case sheet's columns: (case view key, heading); times in the district's zone.
CASE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("number", "编号"),
    ("category_name", "类别"),
    ("category_major", "大类"),
    ("status_zh", "状态"),
    ("channel_zh", "渠道"),
    ("received_at", "受理时间"),
    ("due_at", "处置期限"),
    ("closed_at", "结案时间"),
    ("overdue", "超期"),
    ("address_text", "地址"),
    ("description", "描述"),
    ("grid_code", "网格"),
    ("community_code", "社区编码"),
    ("street_code", "街道编码"),
    ("department", "责任部门"),
    ("assignee_name", "处置人"),
    ("level_zh", "层级"),
    ("reporter_name", "反映人"),
    ("reporter_phone", "联系电话"),
)
_TIMES = {"received_at", "due_at", "closed_at"}
_FILLS = {
    "red": PatternFill("solid", fgColor="F4A6A6"),
    "yellow": PatternFill("solid", fgColor="FBE38E"),
    "green": PatternFill("solid", fgColor="A8D5A2"),
}
_BOLD = Font(bold=True)


def _save(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(book: Workbook, title: str, heading: str, columns: Sequence[str]):
    """A sheet with a heading in A1 and the column headings in row 3 (frozen below them)."""
    sheet = book.create_sheet(title)
    sheet["A1"] = heading
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([])
    sheet.append(list(columns))
    for cell in sheet[3]:
        cell.font = _BOLD
        cell.alignment = Alignment(horizontal="center")
    sheet.freeze_panes = "A4"
    return sheet


def _widths(sheet, widths: Iterable[int]) -> None:
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width


def _local(value: Any) -> datetime | None:
    """An instant as the district's wall-clock time without a zone (what Excel can hold)."""
    if value is None or value == "":
        return None
    return to_local(value).replace(tzinfo=None)


def indicators_workbook(
    rows: Iterable[Mapping[str, Any]],
    *,
    level: str,
    period: str,
    thresholds: Thresholds,
    names: Mapping[str, str] | None = None,
) -> bytes:
    """红绿指标 of ``level`` over ``period`` (its text, 北京时间) as an XLSX workbook.

    Sheet 红绿指标: one row per unit (编码, 名称 from ``names``, its community and street, the
    colour filled in, whose colour it is, why, the counts and every rate as a percentage); sheet
    阈值: the thresholds the colours follow.
    """
    names = names or {}
    headings = ["编码", "名称", "所属社区", "所属街道", *(h for _, h in INDICATOR_COLUMNS)]
    title = f"红绿指标（{LEVEL_ZH.get(level, level)}） {period}"
    sheet = _sheet(Workbook(), "红绿指标", title, headings)
    book = sheet.parent
    book.remove(book.worksheets[0])  # the default empty sheet
    rates = set(RATES)
    # the row each unit lands on, counted here: ``sheet.max_row`` scans every cell written so
    # far (1.3 s of CPU for a district's 1,700 grids)
    for at, row in enumerate(rows, start=sheet.max_row + 1):
        colour = row.get("colour")
        cells = [row.get("code"), names.get(str(row.get("code"))),
                 names.get(str(row.get("community_code"))), names.get(str(row.get("street_code")))]  # fmt: skip
        for key, _ in INDICATOR_COLUMNS:
            if key == "colour":
                cells.append(INDICATOR_COLOUR.get(colour, INDICATOR_COLOUR[None]))
            elif key == "colour_source":
                source = row.get("colour_source")
                cells.append(f"沿用{COLOUR_SOURCE[source]}" if source in COLOUR_SOURCE else
                             ("本单元" if source == "own" else None))  # fmt: skip
            elif key == "why":
                cells.append(explain(row, thresholds))
            else:
                cells.append(row.get(key))
        sheet.append(cells)
        if colour in _FILLS:
            sheet.cell(at, 5).fill = _FILLS[colour]
    for i, (key, _) in enumerate(INDICATOR_COLUMNS, start=5):
        if key in rates:
            for (cell,) in sheet.iter_rows(min_row=4, min_col=i, max_col=i):
                cell.number_format = "0.0%"
    _widths(sheet, [18, 20, 14, 12, 8, 10, 60] + [10] * (len(headings) - 7))
    _thresholds_sheet(book, thresholds)
    return _save(book)


def _thresholds_sheet(book: Workbook, thresholds: Thresholds) -> None:
    sheet = _sheet(book, "阈值", "红绿指标阈值", ["指标", "绿", "黄", "方向", "说明"])
    for rate, (green, yellow) in thresholds.bounds.items():
        higher = RATES.get(rate, True)
        sheet.append([
            INDICATOR_RATE.get(rate, rate), green, yellow, "越高越好" if higher else "越低越好",
            f"{'≥' if higher else '≤'}绿色界限为绿，{'≥' if higher else '≤'}黄色界限为黄，否则为红",
        ])  # fmt: skip
        for col in (2, 3):
            sheet.cell(sheet.max_row, col).number_format = "0%"
    sheet.append([])
    sheet.append([f"一项指标的案件少于 {thresholds.min_cases} 件时不评颜色；"
                  "网格各项都不足时沿用所在社区（社区也不足时沿用街道）的颜色"])  # fmt: skip
    _widths(sheet, [14, 8, 8, 10, 48])


def cases_workbook(rows: Iterable[Mapping[str, Any]], *, heading: str) -> bytes:
    """Cases (:func:`geo_grid.services.cases.case_view` rows, masked as the caller may read them)
    as an XLSX workbook: sheet 案件列表 under ``heading``, times in the district's zone."""
    zone = zone_name()
    headings = [f"{h}（{zone}）" if key in _TIMES else h for key, h in CASE_COLUMNS]
    sheet = _sheet(Workbook(), "案件列表", heading, headings)
    book = sheet.parent
    book.remove(book.worksheets[0])
    for row in rows:
        cells = []
        for key, _ in CASE_COLUMNS:
            value = row.get(key)
            if key in _TIMES:
                value = _local(value)
            elif key == "overdue":
                value = "是" if value else "否"
            cells.append(value)
        sheet.append(cells)
    for i, (key, _) in enumerate(CASE_COLUMNS, start=1):
        if key in _TIMES:
            for (cell,) in sheet.iter_rows(min_row=4, min_col=i, max_col=i):
                cell.number_format = "yyyy-mm-dd hh:mm"
    _widths(sheet, [20, 14, 12, 10, 8, 17, 17, 17, 6, 40, 30, 18, 14, 12, 14, 10, 8, 10, 14])
    return _save(book)
