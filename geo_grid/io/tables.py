"""Plain tables a district hands in (its standard address library, its roster): CSV or XLSX.

Grid layers are read by :func:`geo_grid.io.read_layer`; the other files a district brings are
spreadsheets: an export of the 标准地址库 with one address a row, a roster with one person a row.
:func:`read_table` reads either format into a :class:`Table` of text cells (every cell a string,
blank as ``""``) that knows where each cell came from, so a reader's first complaint names the
file, the row as a spreadsheet numbers it (the header is row 1) and the column, in one line:
``roster.xlsx: row 7, column '角色': '村医' is not a role …``.

CSV text is UTF-8 (with or without BOM) or GBK/GB18030, detected from the bytes unless given;
XLSX is read with openpyxl in read-only mode after its zip directory passed the same zip-bomb
checks as a zipped shapefile (:mod:`geo_grid.io.archive`). Both are held to a byte and a row limit.

Examples
--------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = pathlib.Path(tmp, "roster.csv")
...     _ = path.write_bytes("网格编码,姓名\\n110101001001001,张三\\n".encode("gbk"))
...     table = read_table(path, label="roster.csv")
>>> table.encoding, table.column(("grid_code", "网格编码"), "grid_code"), table.cell(0, "姓名")
('gb18030', '网格编码', '张三')
>>> table.fail(0, "姓名", "empty")
Traceback (most recent call last):
...
geo_grid.errors.BadInput: roster.csv: row 2, column '姓名': empty
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

from geo_grid.errors import BadInput
from geo_grid.io.archive import check_zip
from geo_grid.io.encoding import detect_encoding, normalize_encoding
from geo_grid.io.messages import mib, one_line
from geo_grid.io.source import ReadLimits

__all__ = ["TABLE_FORMATS", "Table", "read_table", "sheet_names"]

#: Extensions read as tables.
TABLE_FORMATS: dict[str, str] = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}


@dataclass(frozen=True)
class Table:
    """A table's text cells (``frame``: one column per header, every cell a stripped string) and
    where they came from: ``label`` (the file as the user named it), ``header_row`` (the
    spreadsheet row of the header, 1-based), the sheet of a workbook and a CSV's encoding."""

    label: str
    frame: pd.DataFrame
    header_row: int = 1
    sheet: str | None = None
    encoding: str | None = None

    def row_number(self, i: int) -> int:
        """The spreadsheet row of data row ``i`` (0-based)."""
        return self.header_row + 1 + i

    def column(self, names: Iterable[str], field: str, *, required: bool = True) -> str | None:
        """The first of ``names`` that is a column (ignoring case and spaces); None, or
        :class:`BadInput` naming ``field`` and the columns there are when ``required``."""
        wanted = [n for n in names]
        by_key = {_key(c): c for c in self.frame.columns}
        for name in wanted:
            found = by_key.get(_key(name))
            if found is not None:
                return found
        if not required:
            return None
        there = ", ".join(map(str, self.frame.columns[:20]))
        raise BadInput(
            f"{self.where()}: no {field} column (one of {', '.join(wanted)}; columns: {there})",
            field=field,
        )

    def cell(self, i: int, column: str) -> str:
        """The text of data row ``i`` in ``column`` (``""`` when blank)."""
        return self.frame.iat[i, self.frame.columns.get_loc(column)]

    def where(self, i: int | None = None, column: str | None = None) -> str:
        """How a message names the file (its sheet), a row and a column."""
        text = self.label + (f" [{self.sheet}]" if self.sheet else "")
        if i is not None:
            text += f": row {self.row_number(i)}"
        if column is not None:
            text += f", column {column!r}"
        return text

    def fail(self, i: int, column: str | None, message: str) -> NoReturn:
        """Raise the one-line :class:`BadInput` for a bad cell (``field`` is the column)."""
        raise BadInput(f"{self.where(i, column)}: {message}", field=column or "file")


def _key(name: Any) -> str:
    return "".join(str(name).split()).lower()


def _fmt(path: Path, label: str) -> str:
    fmt = TABLE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BadInput(
            f"{label}: not a table file (give .csv or .xlsx; an .xls workbook must be saved as "
            ".xlsx first)",
            field="file",
        )
    return fmt


def _check_file(path: Path, label: str, limits: ReadLimits) -> None:
    if not path.is_file():
        raise BadInput(f"{label}: no such file", field="file")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise BadInput(
            f"{label}: {mib(size)}, over the {mib(limits.max_bytes)} limit", field="file"
        )


def read_table(
    path: str | Path,
    *,
    label: str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    max_rows: int = 1_000_000,
    limits: ReadLimits | None = None,
) -> Table:
    """Read a CSV or XLSX file into a :class:`Table` of text cells (see the module docstring).

    ``sheet`` picks a workbook's sheet (default: the first); ``encoding`` a CSV's text encoding
    (default: UTF-8 when the bytes are, else GBK/GB18030). A file over ``limits.max_bytes`` or
    with more than ``max_rows`` data rows is refused, as is one without a header or rows.
    """
    path = Path(path)
    label = label or str(path)
    limits = limits or ReadLimits()
    fmt = _fmt(path, label)
    _check_file(path, label, limits)
    codec, header, used = None, 1, None
    if fmt == "csv":
        frame, codec = _read_csv(path, label, encoding, max_rows)
    else:
        frame, header, used = _read_xlsx(path, label, sheet, max_rows, limits)
    table = Table(label, frame, header, used, codec)
    if frame.empty:
        raise BadInput(f"{table.where()}: no data rows under the header", field="file")
    return table


def _read_csv(
    path: Path, label: str, encoding: str | None, max_rows: int
) -> tuple[pd.DataFrame, str]:
    data = path.read_bytes()
    codec = normalize_encoding(encoding, label=label) if encoding else detect_encoding(data)
    if codec is None:
        raise BadInput(f"{label}: not UTF-8 or GBK text (give --encoding)", field="encoding")
    try:
        text = data.decode(codec).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{label}: not {codec} text ({exc.reason} at byte {exc.start})",
                       field="encoding") from None  # fmt: skip
    header = next(csv.reader(io.StringIO(text)), [])
    _check_header([h.strip() for h in header], label)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            nrows=max_rows + 1, skipinitialspace=True)  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise BadInput(f"{label}: not a readable CSV ({one_line(exc)})", field="file") from exc
    _check_rows(len(frame), max_rows, label)
    return _clean(frame, label), codec


def sheet_names(path: str | Path, *, label: str | None = None) -> list[str]:
    """The sheets of a workbook (a CSV has none: ``[]``)."""
    path = Path(path)
    label = label or str(path)
    if _fmt(path, label) == "csv":
        return []
    book = _open_book(path, label, ReadLimits())
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def _open_book(path: Path, label: str, limits: ReadLimits):
    import openpyxl

    check_zip(path, label, limits)
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise BadInput(f"{label}: not a readable XLSX workbook ({one_line(exc)})",
                       field="file") from exc  # fmt: skip


def _read_xlsx(
    path: Path, label: str, sheet: str | None, max_rows: int, limits: ReadLimits
) -> tuple[pd.DataFrame, int, str]:
    book = _open_book(path, label, limits)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise BadInput(f"{label}: no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})",
                           field="sheet")  # fmt: skip
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        header, header_row, rows = None, 0, []
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [_text(v) for v in values]
            if header is None:
                if any(cells):
                    header, header_row = cells, number
                continue
            rows.append(cells)
            _check_rows(len(rows), max_rows, label)
    finally:
        book.close()
    if header is None:
        raise BadInput(f"{label} [{ws.title}]: the sheet is empty", field="file")
    while rows and not any(rows[-1]):
        rows.pop()  # rows a spreadsheet formatted but left empty
    _check_header(header, label)
    width = len(header)
    body = [(r + [""] * width)[:width] for r in rows]
    names = [h or f"column {k + 1}" for k, h in enumerate(header)]
    return _clean(pd.DataFrame(body, columns=names, dtype=object), label), header_row, ws.title


def _text(value: Any) -> str:
    """A workbook cell as text: integers without ``.0``, dates as ISO, blanks as ``""``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _check_rows(n: int, max_rows: int, label: str) -> None:
    if n > max_rows:
        raise BadInput(f"{label}: more than {max_rows:,} rows (GEO_GRID_TABLE_MAX_ROWS)",
                       field="file")  # fmt: skip


def _check_header(header: list[str], label: str) -> None:
    """A column name twice would make its cells ambiguous: refused, naming it."""
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise BadInput(f"{label}: column {name!r} appears twice in the header", field=name)
        seen.add(name)


def _clean(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """Every cell a stripped string; header names stripped too."""
    frame = frame.rename(columns=lambda c: str(c).strip())
    return frame.astype(str).apply(lambda col: col.str.strip()).reset_index(drop=True)
