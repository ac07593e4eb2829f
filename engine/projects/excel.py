"""The project ledger as .xlsx, and leads imported from a spreadsheet all-or-nothing."""
from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from engine.projects import lifecycle, record
from engine.workflow import definitions
from engine.platform import permissions, xlsx
from engine.platform.errors import InvalidInput
from engine.platform.messages import N_
from engine.platform.xlsx import ImportPreview, ImportRow, read_table
from engine.platform.models import OrgUnit, Project, User

ZERO = Decimal(0)
LEDGER_HEADERS = [
    "序号",
    "项目名称",
    "投资方",
    "产业类别",
    "是否制造业",
    "总投资(万元)",
    "利用外资(万元)",
    "省外内资(万元)",
    "到位资金(万元)",
    "招引单位",
    "落地单位",
    "分管县领导",
    "当前阶段",
    "签约日期",
    "开工日期",
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


def ledger_rows(session: Session, unit_id: Optional[int] = None, batch: int = 1000) -> Iterator[list[Any]]:
    """The ledger's cells in Chinese (labels for codes, 万元 as exact decimals), read in batches as the workbook writes them.

    One joined query, in project order, streamed `batch` rows at a time: no project object and
    no lazy load per row. `unit_id` keeps the projects a unit attracted or lands.
    """
    attracting, landing = aliased(OrgUnit), aliased(OrgUnit)
    query = (
        select(
            Project.name, Project.investor, Project.category, Project.is_manufacturing, Project.total_investment,
            Project.foreign_capital, Project.out_of_province_capital, Project.funds_in_place, attracting.name, landing.name,
            User.display_name, Project.stage, Project.signed_date, Project.start_date,
        )
        .join(attracting, attracting.id == Project.attracting_unit_id)
        .join(landing, landing.id == Project.landing_unit_id)
        .join(User, User.id == Project.deputy_id)
        .order_by(Project.id)
        .execution_options(yield_per=batch)
    )
    if unit_id is not None:
        query = query.where(Project.of_units([unit_id]))
    for index, row in enumerate(session.execute(query), start=1):
        (name, investor, category, manufacturing, total, foreign, out_of_province, in_place, attracting_name, landing_name,
         deputy, stage, signed, started) = row
        yield [
            index, name, investor, record.CATEGORIES.get(category, category), "是" if manufacturing else "否",
            total or ZERO, foreign or ZERO, out_of_province or ZERO, in_place or ZERO, attracting_name, landing_name, deputy,
            record.STAGES.get(stage, stage), signed.isoformat() if signed else "", started.isoformat() if started else "",
        ]


def ledger_xlsx(session: Session, unit_id: Optional[int] = None, caption: str = "招商引资项目台账") -> bytes:
    """The project ledger as .xlsx, written row by row as the query streams (a unit's own projects when `unit_id` is given)."""
    return xlsx.sheet("项目台账", LEDGER_HEADERS, ledger_rows(session, unit_id), caption)


def _similar(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, a, b).ratio() >= SIMILAR


def _open_projects_of(session: Session, investors: set[str], chunk: int = 500) -> dict[str, list[str]]:
    """The names of the open projects of these investors, by investor (read through the investor index, a chunk at a time)."""
    found: dict[str, list[str]] = defaultdict(list)
    names = sorted(investors)
    for start in range(0, len(names), chunk):
        query = select(Project.investor, Project.name).where(Project.investor.in_(names[start:start + chunk]), Project.status != "closed")
        for investor, name in session.execute(query):
            found[investor].append(name)
    return found


def preview(session: Session, content: bytes, county: Optional[list[OrgUnit | User]] = None) -> ImportPreview:
    """Read an .xlsx of leads; every row validated as a registration, duplicates (same investor, similar name) flagged.

    `county`: the units and officials a caller already loaded with `county_rows` (else loaded here).
    """
    headers, lines, problems = read_table(content, "项目名称", REQUIRED_HEADERS)
    if problems:
        return ImportPreview([], problems)
    unknown = [h for h in headers if h and h not in IMPORT_HEADERS and h != "序号"]
    county = county if county is not None else county_rows(session)
    units = {row.name: row.id for row in county if isinstance(row, OrgUnit)}
    deputies = {row.display_name: row.id for row in county if isinstance(row, User) and permissions.allowed(row, "project.take_charge")}
    categories = {label: key for key, label in record.CATEGORIES.items()}
    channels = {label: key for key, label in record.SOURCE_CHANNELS.items()}
    existing = _open_projects_of(session, {cells.get("投资方", "") for _, cells in lines} - {""})
    rows: list[ImportRow] = []
    by_investor: dict[str, list[ImportRow]] = defaultdict(list)
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
        if investor:
            for other_name in existing.get(investor, []):
                if _similar(name, other_name):
                    item.duplicates.append(f"与已有项目“{other_name}”（{investor}）疑似重复")
            for earlier in by_investor[investor]:
                if _similar(name, str(earlier.values.get("name") or "")):
                    item.duplicates.append(f"与本表第{earlier.row}行“{earlier.values.get('name')}”疑似重复")
            by_investor[investor].append(item)
        rows.append(item)
    return ImportPreview(rows, [] if rows else ["表中没有数据行"], [f"未识别的列已忽略：{'、'.join(unknown)}"] if unknown else [])


def commit(session: Session, content: bytes, actor: User) -> list[int]:
    """Register every row of the file in this one transaction, or none: any error or duplicate refuses the whole file."""
    permissions.require(actor, "project.import", N_("只有领导小组办公室可以从Excel导入项目线索"))
    county = county_rows(session)  # held to the end: each registration finds its units and deputy in the session
    checked = preview(session, content, county)
    if not checked.ok:
        errors = {f"第{r.row}行": "；".join(list(r.errors.values()) + r.duplicates) for r in checked.rows if r.errors or r.duplicates}
        errors.update({f"文件{i + 1}": p for i, p in enumerate(checked.problems)})
        raise InvalidInput(errors)
    definition_id = definitions.latest_id(session, lifecycle.LIFECYCLE)  # one transaction: the same newest version for every row
    return [lifecycle.register(session, r.values, actor, definition_id).project_id for r in checked.rows]


def county_rows(session: Session) -> list[OrgUnit | User]:
    """Every unit and official, loaded once; while the caller holds them, looking one up by id costs no query."""
    return [*session.scalars(select(OrgUnit)), *session.scalars(select(User))]
