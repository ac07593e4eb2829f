"""Excel in and out: the ledger, the monthly notice and the ranking as .xlsx; projects imported all-or-nothing."""
from __future__ import annotations

import difflib
import io
from itertools import islice
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Optional

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.projects import record
from engine.workflow import runtime
from engine.supervision.assessment import UnitScore
from engine.platform.errors import InvalidInput
from engine.platform.models import OrgUnit, Project, User
from engine.supervision.notices import COLUMNS as NOTICE_COLUMNS
from engine.supervision.models import MonthlyNotice

LEDGER_COLUMNS = [  # header, how to read the value from a project
    ("序号", None),
    ("项目名称", "name"),
    ("投资方", "investor"),
    ("产业类别", "category"),
    ("是否制造业", "is_manufacturing"),
    ("总投资(万元)", "total_investment"),
    ("利用外资(万元)", "foreign_capital"),
    ("省外内资(万元)", "out_of_province_capital"),
    ("到位资金(万元)", "funds_in_place"),
    ("招引单位", "attracting_unit"),
    ("落地单位", "landing_unit"),
    ("分管县领导", "deputy"),
    ("当前阶段", "stage"),
    ("签约日期", "signed_date"),
    ("开工日期", "start_date"),
]
IMPORT_HEADERS = {  # Chinese header -> registration field
    "项目名称": "name",
    "投资方": "investor",
    "产业类别": "category",
    "是否制造业": "is_manufacturing",
    "总投资(万元)": "total_investment",
    "固定资产投资(万元)": "fixed_asset_investment",
    "利用外资(万元)": "foreign_capital",
    "省外内资(万元)": "out_of_province_capital",
    "是否供地": "needs_land",
    "用地面积(亩)": "land_mu",
    "招引方式": "source_channel",
    "招引单位": "attracting_unit_id",
    "落地单位": "landing_unit_id",
    "分管县领导": "deputy_id",
    "联系人": "contact_name",
    "联系电话": "contact_phone",
}
REQUIRED_HEADERS = ("项目名称", "投资方", "产业类别", "总投资(万元)", "落地单位", "分管县领导")
SIMILAR = 0.8
MAX_ROWS = 2000
HEADER_SEARCH = 5  # the header row is looked for among the first lines (a caption may stand above it)
YES = {"是": True, "否": False, "": False}


Sheet = tuple[str, str, list[str], list[list[Any]]]  # sheet title, caption line, headers, rows


def workbook(sheets: list[Sheet]) -> bytes:
    """An .xlsx with one sheet per table: a caption line, bold Chinese headers, the rows, the heads frozen."""
    book = Workbook()
    book.remove(book.active)
    for title, caption, headers, rows in sheets:
        ws = book.create_sheet(title[:31])
        ws.append([caption])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append(headers)
        for cell in ws[2]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center")
        for row in rows:
            ws.append(row)
            for cell in ws[ws.max_row]:
                if cell.data_type == "f":  # text an official typed that starts with "=" stays text, never a formula
                    cell.data_type = "s"
        for index, header in enumerate(headers, start=1):
            ws.column_dimensions[ws.cell(row=2, column=index).column_letter].width = max(10, len(header) * 2 + 2)
        ws.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(title: str, headers: list[str], rows: Iterable[list[Any]], caption: str) -> bytes:
    """One-sheet workbook of `rows` under a caption and headers."""
    return workbook([(title, caption, headers, list(rows))])


def ledger_rows(projects_: list[Project]) -> list[list[Any]]:
    """The ledger's cells in Chinese: labels for codes, 万元 as numbers."""
    rows = []
    for index, p in enumerate(projects_, start=1):
        rows.append([
            index, p.name, p.investor, record.CATEGORIES.get(p.category, p.category), "是" if p.is_manufacturing else "否",
            float(p.total_investment or 0), float(p.foreign_capital or 0), float(p.out_of_province_capital or 0),
            float(p.funds_in_place or 0), p.attracting_unit.name, p.landing_unit.name, p.deputy.display_name,
            record.STAGES.get(p.stage, p.stage), p.signed_date.isoformat() if p.signed_date else "",
            p.start_date.isoformat() if p.start_date else "",
        ])
    return rows


def ledger_xlsx(projects_: list[Project], caption: str = "招商引资项目台账") -> bytes:
    """The project ledger as .xlsx."""
    return _sheet("项目台账", [h for h, _ in LEDGER_COLUMNS], ledger_rows(projects_), caption)


def notice_xlsx(notice: MonthlyNotice) -> bytes:
    """A monthly notice as .xlsx, the same columns as the page."""
    rows = [[r[key] for key, _ in NOTICE_COLUMNS] for r in notice.rows]
    return _sheet(f"{notice.year}年{notice.month}月通报", [h for _, h in NOTICE_COLUMNS], rows,
                  f"{notice.year}年{notice.month}月招商引资工作通报")


RANKING_HEADERS = ["名次", "单位", "总得分", "签约(个)", "落地(个)", "开工(个)", "进展未及时更新(次)", "交办逾期(项)", "评优评定", "评定理由"]


def ranking_cells(ranking: list[UnitScore]) -> list[list[Any]]:
    """The ranking's cells, the same as the page's table."""
    return [[s.rank, s.unit_name, s.total, s.count("signed"), s.count("landed"), s.count("started"), s.count("late_update"),
             s.count("item_overdue"), s.rating, s.rating_reason] for s in ranking]


def ranking_xlsx(ranking: list[UnitScore], caption: str, detail_for: Optional[set[int]] = None) -> bytes:
    """A quarterly or annual ranking as .xlsx with a second sheet of every scored line (of `detail_for` units when given)."""
    data = _sheet("排名", RANKING_HEADERS, ranking_cells(ranking), caption)
    wb = load_workbook(io.BytesIO(data))
    ws = wb.create_sheet("得分明细")
    ws.append(["单位", "日期", "项目", "事件", "规则", "分值", "招引/落地同等计分"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for s in ranking:
        if detail_for is not None and s.unit_id not in detail_for:
            continue
        for line in s.lines:
            ws.append([s.unit_name, line.on.isoformat(), line.project_name, line.event_label, line.rule, line.points, "是" if line.shared else ""])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


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


def _similar(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, a, b).ratio() >= SIMILAR


def preview(session: Session, content: bytes) -> ImportPreview:
    """Read an .xlsx of leads; every row validated as a registration, duplicates (same investor, similar name) flagged."""
    headers, lines, problems = read_table(content, "项目名称", REQUIRED_HEADERS)
    if problems:
        return ImportPreview([], problems)
    unknown = [h for h in headers if h and h not in IMPORT_HEADERS and h != "序号"]
    units = {u.name: u.id for u in session.scalars(select(OrgUnit))}
    deputies = {u.display_name: u.id for u in session.scalars(select(User)) if "deputy" in u.roles}
    categories = {label: key for key, label in record.CATEGORIES.items()}
    channels = {label: key for key, label in record.SOURCE_CHANNELS.items()}
    existing = [(p.investor, p.name) for p in session.scalars(select(Project).where(Project.status != "closed"))]
    rows: list[ImportRow] = []
    for number, cells in lines:
        if not any(cells.values()):
            continue
        item = ImportRow(number, {})
        data: dict[str, Any] = {}
        for header, field_name in IMPORT_HEADERS.items():
            raw = cells.get(header, "")
            if field_name in ("attracting_unit_id", "landing_unit_id"):
                if raw and raw not in units:
                    item.errors[field_name] = f"{header}“{raw}”不存在"
                data[field_name] = units.get(raw, "")
            elif field_name == "deputy_id":
                if raw and raw not in deputies:
                    item.errors[field_name] = f"{header}“{raw}”不是在职的分管副县长"
                data[field_name] = deputies.get(raw, "")
            elif field_name == "category":
                data[field_name] = categories.get(raw, raw)
            elif field_name == "source_channel":
                data[field_name] = channels.get(raw, raw) if raw else "other"
            elif field_name in ("is_manufacturing", "needs_land"):
                if raw not in YES:
                    item.errors[field_name] = f"{header}须填“是”或“否”，收到“{raw}”"
                data[field_name] = YES.get(raw, False)
            else:
                data[field_name] = raw
        try:
            record.validate(session, data)
        except InvalidInput as exc:
            for key, message in exc.errors.items():
                item.errors.setdefault(key, message)
        item.values = data
        name, investor = str(data.get("name") or ""), str(data.get("investor") or "")
        for other_investor, other_name in existing:
            if investor and other_investor == investor and _similar(name, other_name):
                item.duplicates.append(f"与已有项目“{other_name}”（{other_investor}）疑似重复")
        for earlier in rows:
            if investor and earlier.values.get("investor") == investor and _similar(name, str(earlier.values.get("name") or "")):
                item.duplicates.append(f"与本表第{earlier.row}行“{earlier.values.get('name')}”疑似重复")
        rows.append(item)
    return ImportPreview(rows, [] if rows else ["表中没有数据行"], [f"未识别的列已忽略：{'、'.join(unknown)}"] if unknown else [])


def commit(session: Session, content: bytes, actor: User) -> list[int]:
    """Register every row of the file in this one transaction, or none: any error or duplicate refuses the whole file."""
    checked = preview(session, content)
    if not checked.ok:
        errors = {f"第{r.row}行": "；".join(list(r.errors.values()) + r.duplicates) for r in checked.rows if r.errors or r.duplicates}
        errors.update({f"文件{i + 1}": p for i, p in enumerate(checked.problems)})
        raise InvalidInput(errors)
    return [runtime.register_project(session, r.values, actor).project_id for r in checked.rows]
