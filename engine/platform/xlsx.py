"""Excel building blocks: a styled workbook from tables, and an upload's first sheet read as rows under its headers."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Iterable

from openpyxl import Workbook, load_workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

MAX_ROWS = 2000
HEADER_SEARCH = 5  # the header row is looked for among the first lines (a caption may stand above it)

Sheet = tuple[str, str, list[str], Iterable[list[Any]]]  # sheet title, caption line, headers, rows (read once, as written)
CAPTION_FONT = Font(bold=True, size=14)
HEADER_FONT = Font(bold=True)
CENTERED = Alignment(horizontal="center")


def workbook(sheets: Iterable[Sheet]) -> bytes:
    """An .xlsx with one sheet per table: a caption line, bold Chinese headers, the rows, the heads frozen.

    Written in openpyxl's write-only mode: each row goes to the file as it is read, so a
    generator of 100,000 rows costs the memory of one row, not of the table.
    """
    book = Workbook(write_only=True)
    for title, caption, headers, rows in sheets:
        ws = book.create_sheet(title[:31])
        for index, header in enumerate(headers, start=1):
            ws.column_dimensions[get_column_letter(index)].width = max(10, len(header) * 2 + 2)
        ws.freeze_panes = "A3"
        ws.append([_styled(ws, caption, CAPTION_FONT)])
        ws.append([_styled(ws, header, HEADER_FONT, CENTERED) for header in headers])
        for row in rows:
            ws.append([_as_text(ws, value) if isinstance(value, str) and value.startswith("=") else value for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _styled(ws: Any, value: Any, font: Font, alignment: Alignment | None = None) -> Cell:
    cell = WriteOnlyCell(ws, value=value)
    cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    return cell


def _as_text(ws: Any, value: str) -> Cell:
    """Text an official typed that starts with "=" stays text, never a formula."""
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    return cell


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
