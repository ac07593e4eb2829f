"""Excel building blocks: a styled workbook from tables, and an upload's first sheet read as rows under its headers."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import Any, Iterable

import xlsxwriter  # type: ignore[import-untyped]  # the package ships no type information
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

MAX_ROWS = 10_000
HEADER_SEARCH = 5  # the header row is looked for among the first lines (a caption may stand above it)

Sheet = tuple[str, str, list[str], Iterable[list[Any]]]  # sheet title, caption line, headers, rows (read once, as written)
DATE_FORMAT, DATETIME_FORMAT = "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"


def workbook(sheets: Iterable[Sheet]) -> bytes:
    """An .xlsx with one sheet per table: a caption line, bold Chinese headers, the rows, the heads frozen.

    Written by XlsxWriter in its constant-memory mode: each row goes to the file as it is read,
    so a generator of 100,000 rows costs the memory of one row, not of the table. Text is always
    stored as text (never a formula), numbers (Decimal included) as numbers, dates as dates;
    None and empty text leave the cell out.
    """
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "remove_timezone": True})  # rows go to a temporary file as written
    formats = {
        "caption": book.add_format({"bold": True, "font_size": 14}),
        "header": book.add_format({"bold": True, "align": "center"}),
        "date": book.add_format({"num_format": DATE_FORMAT}),
        "datetime": book.add_format({"num_format": DATETIME_FORMAT}),
    }
    for title, caption, headers, rows in sheets:
        ws = book.add_worksheet(title[:31])
        for index, header in enumerate(headers):
            ws.set_column(index, index, max(10, len(header) * 2 + 2))
        ws.freeze_panes(2, 0)
        ws.write_string(0, 0, caption, formats["caption"])
        for index, header in enumerate(headers):
            ws.write_string(1, index, header, formats["header"])
        for number, row in enumerate(rows, start=2):
            for index, value in enumerate(row):
                _write(ws, number, index, value, formats)
    book.close()
    return out.getvalue()


def _write(ws: Any, row: int, column: int, value: Any, formats: dict[str, Any]) -> None:
    """One cell by its value's type; text with XML's forbidden characters dropped (None and empty text leave the cell out)."""
    if value is None or value == "":
        return
    if isinstance(value, bool):
        ws.write_boolean(row, column, value)
    elif isinstance(value, (int, float, Decimal)):
        ws.write_number(row, column, value)
    elif isinstance(value, datetime):
        ws.write_datetime(row, column, value, formats["datetime"])
    elif isinstance(value, date):
        ws.write_datetime(row, column, value, formats["date"])
    else:
        ws.write_string(row, column, ILLEGAL_CHARACTERS_RE.sub("", str(value)))


def sheet(title: str, headers: list[str], rows: Iterable[list[Any]], caption: str) -> bytes:
    """One-sheet workbook of `rows` under a caption and headers, written as they are read."""
    return workbook([(title, caption, headers, rows)])


@dataclass
class ImportRow:
    """One spreadsheet row: its number, what it will register, its errors and possible duplicates."""

    row: int
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)


@dataclass
class ImportPreview:
    """What an import would do; `ok` only when no row has an error or a duplicate."""

    rows: list[ImportRow]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every row can be registered."""
        return not self.problems and all(not r.errors and not r.duplicates for r in self.rows)


def read_table(content: bytes, key_header: str, required: Iterable[str]) -> tuple[list[str], list[tuple[int, dict[str, str]]], list[str]]:
    """An upload's first sheet: its headers (the line holding `key_header`) and each (row number, cells by header) under them; or what is wrong."""
    try:
        ws = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
    except Exception:  # noqa: BLE001 - any unreadable upload is the same user error
        return [], [], ["文件不是有效的 Excel(.xlsx) 文件"]
    lines = list(islice(ws.iter_rows(values_only=True), HEADER_SEARCH + MAX_ROWS + 1))  # enough to see the limit passed
    header_at = next((i for i, line in enumerate(lines[:HEADER_SEARCH]) if line and key_header in [cell_text(c) for c in line]), None)
    if header_at is None:
        return [], [], [f"找不到表头行（须包含“{key_header}”列）"]
    headers = [cell_text(c) for c in lines[header_at]]
    missing = [h for h in required if h not in headers]
    if missing:
        return [], [], [f"缺少必填列：{'、'.join(missing)}"]
    if len(lines) - header_at - 1 > MAX_ROWS:
        return [], [], [f"一次最多导入{MAX_ROWS}行"]
    rows = [(number, {h: cell_text(v) for h, v in zip(headers, line) if h}) for number, line in enumerate(lines[header_at + 1:], start=header_at + 2)]
    return headers, rows, []


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a form field would carry (whole numbers without .0, dates as ISO)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()
