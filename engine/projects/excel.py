"""The project ledger as .xlsx, and leads imported from a spreadsheet all-or-nothing."""
from __future__ import annotations

import difflib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.projects import lifecycle
from engine.projects import record
from engine.platform import xlsx
from engine.platform.errors import InvalidInput
from engine.platform.xlsx import ImportPreview, ImportRow, read_table
from engine.platform.models import OrgUnit, Project, User

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
YES = {"是": True, "否": False, "": False}


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
    return xlsx.sheet("项目台账", [h for h, _ in LEDGER_COLUMNS], ledger_rows(projects_), caption)


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
    return [lifecycle.register(session, r.values, actor).project_id for r in checked.rows]
