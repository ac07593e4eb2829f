"""Excel building blocks: a styled workbook from tables, and an upload's first sheet read as rows under its headers."""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from itertools import islice
from typing import IO, Any, Iterable
from xml.sax.saxutils import escape, quoteattr

from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

MAX_ROWS = 2000
HEADER_SEARCH = 5  # the header row is looked for among the first lines (a caption may stand above it)
BATCH = 500  # rows joined before each write to the compressed part

Sheet = tuple[str, str, list[str], Iterable[list[Any]]]  # sheet title, caption line, headers, rows (read once, as written)
CAPTION_STYLE, HEADER_STYLE = 1, 2  # indexes into STYLES' cell formats
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONS = "http://schemas.openxmlformats.org/package/2006/relationships"
XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
STYLES = (
    f'{XML}<styleSheet xmlns="{MAIN}">'
    '<fonts count="3"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="14"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1"><alignment horizontal="center"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


def workbook(sheets: Iterable[Sheet]) -> bytes:
    """An .xlsx with one sheet per table: a caption line, bold Chinese headers, the rows, the heads frozen.

    Each sheet's XML is written straight into the compressed file as its rows are read, a few hundred
    rows at a time: a generator of 100,000 rows costs the memory of a batch, not of the table, and
    about a microsecond a cell. Text is always stored as text (never a formula), numbers (Decimal
    included) as numbers; None leaves the cell out.
    """
    out = io.BytesIO()
    titles: list[str] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for title, caption, headers, rows in sheets:
            titles.append(title[:31])
            with book.open(f"xl/worksheets/sheet{len(titles)}.xml", "w") as part:
                _write_sheet(part, caption, headers, rows)
        book.writestr("[Content_Types].xml", _content_types(len(titles)))
        book.writestr("_rels/.rels", f'{XML}<Relationships xmlns="{PACKAGE_RELATIONS}">'
                      f'<Relationship Id="rId1" Type="{RELATIONS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        book.writestr("xl/workbook.xml", f'{XML}<workbook xmlns="{MAIN}" xmlns:r="{RELATIONS}"><bookViews><workbookView/></bookViews><sheets>'
                      + "".join(f'<sheet name={quoteattr(t)} sheetId="{n}" r:id="rId{n}"/>' for n, t in enumerate(titles, start=1))
                      + "</sheets></workbook>")
        book.writestr("xl/_rels/workbook.xml.rels", f'{XML}<Relationships xmlns="{PACKAGE_RELATIONS}">'
                      + "".join(f'<Relationship Id="rId{n}" Type="{RELATIONS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
                                for n in range(1, len(titles) + 1))
                      + f'<Relationship Id="rId{len(titles) + 1}" Type="{RELATIONS}/styles" Target="styles.xml"/></Relationships>')
        book.writestr("xl/styles.xml", STYLES)
    return out.getvalue()


def _content_types(sheets: int) -> str:
    """The package's part list: the workbook, its styles and `sheets` worksheets."""
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    return (f'{XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{kind}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{kind}.styles+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{kind}.worksheet+xml"/>' for n in range(1, sheets + 1))
            + "</Types>")


def _write_sheet(part: IO[bytes], caption: str, headers: list[str], rows: Iterable[list[Any]]) -> None:
    """One worksheet: frozen heads, column widths from the headers, the caption and header lines, then every row."""
    widths = "".join(f'<col min="{n}" max="{n}" width="{max(10, len(h) * 2 + 2)}" customWidth="1"/>' for n, h in enumerate(headers, start=1))
    part.write((f'{XML}<worksheet xmlns="{MAIN}"><sheetViews><sheetView workbookViewId="0">'
                '<pane ySplit="2" topLeftCell="A3" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
                + (f"<cols>{widths}</cols>" if widths else "") + "<sheetData>"
                + _row(1, [caption], CAPTION_STYLE) + _row(2, headers, HEADER_STYLE)).encode())
    batch: list[str] = []
    for number, row in enumerate(rows, start=3):
        batch.append(_row(number, row))
        if len(batch) == BATCH:
            part.write("".join(batch).encode())
            batch.clear()
    part.write(("".join(batch) + "</sheetData></worksheet>").encode())


def _row(number: int, values: list[Any], style: int = 0) -> str:
    """One row's XML; a cell per value that is not None (an empty string is an empty cell and reads back as None)."""
    shown = f' s="{style}"' if style else ""
    cells = "".join(f'<c r="{_column(index)}{number}"{shown}{_cell(value)}'
                    for index, value in enumerate(values, start=1) if value is not None)
    return f'<row r="{number}">{cells}</row>'


@cache
def _column(index: int) -> str:
    """The column letters of a 1-based index (A, B, … AA)."""
    return get_column_letter(index)


def _cell(value: Any) -> str:
    """The rest of a value's cell: booleans, numbers as numbers, anything else as text, with XML's forbidden characters dropped."""
    if isinstance(value, bool):
        return f' t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float, Decimal)):
        return f"><v>{value}</v></c>"
    if value == "":
        return "/>"
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    return f' t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


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
