"""The target-enterprise database (招引企业数据库, SPEC §8): tags, entries, Excel in and out, turning an entry into a lead.

Who may do what (checked here, not in the web layer):
- every signed-in official reads every entry: the database is shared for attraction work;
- staff of a unit holding `landing_unit` or `industry_dept` create and edit the entries their own
  unit supplied (source unit = their unit), import their own list and turn their entries into leads;
- the office (`office`) edits every entry, keeps the "1+3+3" industry tags and picks the landing unit
  and platform of a major project (最优落地平台优先).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from collections.abc import Iterator
from typing import Any, Optional

from sqlalchemy import ColumnElement, func, literal, select, update
from sqlalchemy.orm import Session

from engine.projects import lifecycle
from engine.platform import inputs, permissions
from engine.platform.db import matched_rows
from engine.projects import record
from engine.workflow import runtime
from engine.enterprises.models import EVENT_KIND, EnterpriseEntry, IndustryTag, entry_of
from engine.platform import messages
from engine.platform.errors import AlreadyCompleted, InvalidInput, NotAllowed, NotFound
from engine.platform.messages import N_, Message
from engine.platform.xlsx import ImportPreview, ImportRow, read_table, sheet
from engine.platform.models import Event, OrgUnit, Project, User, utcnow
from engine.platform.paging import Page, page_of

LIST_KINDS = {
    "target": N_("目标招引企业"),
    "intent": N_("意向招引企业"),
    "soe": N_("央企合作"),
    "military_civil": N_("军民融合"),
    "talent": N_("人才信息"),
}
STATUSES = {"pending": N_("待跟进"), "following": N_("跟进中"), "converted": N_("已转线索"), "abandoned": N_("已放弃")}
SETTABLE_STATUSES = ("pending", "following", "abandoned")  # 已转线索 only through convert_to_lead
FIELD_LABELS = {
    "name": N_("企业名称"),
    "tag_id": N_("产业标签"),
    "source_unit_id": N_("来源单位"),
    "list_kind": N_("名单类别"),
    "region": N_("所在地区"),
    "contact_name": N_("联系人"),
    "contact_phone": N_("联系电话"),
    "planned_investment": N_("计划投资(万元)"),
    "notes": N_("备注"),
    "status": N_("跟进状态"),
    "group_name": N_("所属层级"),
    "sort_order": N_("排序"),
    "category": N_("对应项目产业类别"),
}
TEXT_LIMITS = {"name": 200, "region": 100, "contact_name": 80, "contact_phone": 40, "notes": 2000}
SOURCE_UNIT_KINDS = ("office", "zone", "town", "department")
TAG_EVENT_KIND = "enterprise_tag"
LEAD_FIELDS = (
    "name", "investor", "source_channel", "landing_unit_id", "landing_platform_id", "category", "is_manufacturing",
    "total_investment", "fixed_asset_investment", "foreign_capital", "out_of_province_capital", "needs_land", "land_mu",
    "one_case_support", "one_case_amount", "fund_request", "deputy_id", "contact_name", "contact_phone", "is_major",
)
EXPORT_COLUMNS = ["序号", "企业名称", "产业标签", "来源单位", "名单类别", "所在地区", "联系人", "联系电话", "计划投资(万元)",
                  "跟进状态", "备注", "转化项目"]
IMPORT_HEADERS = {  # column header -> entry field
    "企业名称": "name",
    "产业标签": "tag_id",
    "来源单位": "source_unit_id",
    "名单类别": "list_kind",
    "所在地区": "region",
    "联系人": "contact_name",
    "联系电话": "contact_phone",
    "计划投资(万元)": "planned_investment",
    "跟进状态": "status",
    "备注": "notes",
}
REQUIRED_HEADERS = ("企业名称", "产业标签", "名单类别")


def label(field: str) -> str:
    """The field's Chinese label, as every message names it (a label the web edge translates)."""
    return messages.label(FIELD_LABELS.get(field, field))


def name_key(name: str) -> str:
    """The name as compared for duplicates: full-width forms folded (（）→()), spaces dropped, case ignored."""
    return "".join(unicodedata.normalize("NFKC", name).split()).lower()


def is_manager(user: User) -> bool:
    """The office keeps the whole database and the tag list."""
    return permissions.allowed(user, "enterprise.manage")


def may_maintain(user: User, source_unit_id: int) -> bool:
    """True when the user may create or edit entries supplied by `source_unit_id`."""
    return permissions.allowed(user, "enterprise.maintain", units=(source_unit_id,))


def may_create(user: User) -> bool:
    """True when the user may add entries at all (the office, or a unit's attraction staff)."""
    return permissions.allowed(user, "enterprise.maintain")


def _refuse_unit(user: User) -> NotAllowed:
    """The refusal for writing another unit's list, naming the user's own unit."""
    return NotAllowed(N_("只能维护本单位（%(unit)s）提供的企业名单；其他单位的名单只读"), unit=user.unit.name)


def source_units(session: Session, user: User) -> list[OrgUnit]:
    """Units the user may name as source: every supplying unit for the office, else only the user's own."""
    if is_manager(user):
        return list(session.scalars(select(OrgUnit).where(OrgUnit.kind.in_(SOURCE_UNIT_KINDS)).order_by(OrgUnit.id)))
    return [user.unit] if may_maintain(user, user.unit_id) else []


# ---------------------------------------------------------------- industry tags


def tags(session: Session, active_only: bool = False) -> list[IndustryTag]:
    """The industry tags in display order (inactive ones too unless `active_only`)."""
    query = select(IndustryTag).order_by(IndustryTag.sort_order, IndustryTag.id)
    if active_only:
        query = query.where(IndustryTag.active.is_(True))
    return list(session.scalars(query))


def tag_usage(session: Session) -> dict[int, int]:
    """Number of entries per tag id (a tag in use cannot be deleted)."""
    rows = session.execute(select(EnterpriseEntry.tag_id, func.count()).group_by(EnterpriseEntry.tag_id))
    return {tag_id: count for tag_id, count in rows}


def _require_manager(actor: User) -> None:
    """Only the office keeps the tag list."""
    if not is_manager(actor):
        raise NotAllowed(N_("只有领导小组办公室可以维护“1+3+3”产业标签"))


def _tag_values(session: Session, data: dict[str, Any], current: Optional[IndustryTag]) -> dict[str, Any]:
    """Validated name, group and order of a tag; InvalidInput naming each bad field."""
    errors: dict[str, str] = {}
    name = inputs.text(data.get("name"), "name", N_("产业标签名称"), 40, errors, required=True)
    if "name" not in errors:
        same = session.scalars(select(IndustryTag).where(IndustryTag.name == name)).first()
        if same is not None and same is not current:
            errors["name"] = Message(N_("产业标签名称“%(name)s”已存在"), name=name)
    group = inputs.text(data.get("group_name"), "group_name", label("group_name"), 40, errors)
    if not group and "group_name" not in errors:
        errors["group_name"] = Message(N_("%(title)s不能为空，例如“1 主导产业”"), title=label("group_name"))
    order = inputs.integer(data.get("sort_order"), "sort_order", label("sort_order"), inputs.ANY_INTEGER, errors) or 0
    category = data.get("category", current.category if current is not None else "") or ""
    if category not in record.CATEGORIES and category != "":
        errors["category"] = inputs.choice_message(label("category"), category, record.CATEGORIES.values())
    if errors:
        raise InvalidInput(errors)
    return {"name": name, "group_name": group, "sort_order": order, "category": category}


def _tag_event(session: Session, actor: User, tag: IndustryTag, summary: str) -> None:
    """A line in the event log for a change of the tag list."""
    session.add(Event(kind=TAG_EVENT_KIND, actor_id=actor.id, summary=summary[:300], payload={"tag_id": tag.id, "name": tag.name}))


def add_tag(session: Session, actor: User, data: dict[str, Any]) -> IndustryTag:
    """The office adds a tag to the industry system."""
    _require_manager(actor)
    tag = IndustryTag(**_tag_values(session, data, None), active=True)
    session.add(tag)
    session.flush()
    _tag_event(session, actor, tag, f"新增产业标签“{tag.name}”（{tag.group_name}）")
    return tag


def _tag(session: Session, tag_id: int) -> IndustryTag:
    """One tag, or NotFound."""
    tag = session.get(IndustryTag, tag_id)
    if tag is None:
        raise NotFound(N_("产业标签 %(id)s 不存在"), id=tag_id)
    return tag


def update_tag(session: Session, actor: User, tag_id: int, data: dict[str, Any]) -> IndustryTag:
    """The office renames, regroups, reorders, deactivates or reactivates a tag (entries keep it)."""
    _require_manager(actor)
    tag = _tag(session, tag_id)
    before = tag.name
    values = _tag_values(session, data, tag)
    active = str(data.get("active", "1")) in ("1", "true", "on")
    for key, value in values.items():
        setattr(tag, key, value)
    tag.active = active
    session.flush()
    renamed = f"“{before}”改名为“{tag.name}”" if before != tag.name else f"“{tag.name}”"
    _tag_event(session, actor, tag, f"修改产业标签{renamed}（{tag.group_name}，{'启用' if active else '停用'}）")
    return tag


def delete_tag(session: Session, actor: User, tag_id: int) -> None:
    """The office deletes an unused tag; a tag that entries carry can only be deactivated."""
    _require_manager(actor)
    tag = _tag(session, tag_id)
    used = tag_usage(session).get(tag.id, 0)
    if used:
        raise InvalidInput({"tag_id": Message(N_("产业标签“%(name)s”已被%(n)s家企业使用，不能删除，只能停用"), name=tag.name, n=used)})
    _tag_event(session, actor, tag, f"删除产业标签“{tag.name}”")
    session.delete(tag)
    session.flush()


# ---------------------------------------------------------------- entries


def _unit(session: Session, raw: Any, errors: dict[str, str]) -> Optional[OrgUnit]:
    """The source unit named by id; an error naming the field when missing or unknown."""
    if raw in (None, ""):
        errors["source_unit_id"] = inputs.required_message(label("source_unit_id"))
        return None
    unit_id = inputs.identifier(raw)
    unit = session.get(OrgUnit, unit_id) if unit_id is not None else None
    if unit is None or unit.kind not in SOURCE_UNIT_KINDS:
        errors["source_unit_id"] = inputs.unknown_message(label("source_unit_id"), raw)
        return None
    return unit


def _tag_for_entry(session: Session, raw: Any, current: Optional[EnterpriseEntry], errors: dict[str, str]) -> Optional[int]:
    """The tag id; a deactivated tag may stay on an entry that has it but is not given to others."""
    if raw in (None, ""):
        errors["tag_id"] = inputs.required_message(label("tag_id"))
        return None
    tag_id = inputs.identifier(raw)
    tag = session.get(IndustryTag, tag_id) if tag_id is not None else None
    if tag is None:
        errors["tag_id"] = inputs.unknown_message(label("tag_id"), raw)
        return None
    if not tag.active and (current is None or current.tag_id != tag.id):
        errors["tag_id"] = Message(N_("%(title)s“%(name)s”已停用，请选择其他标签"), title=label("tag_id"), name=tag.name)
        return None
    return tag.id


def _checked(
    session: Session, data: dict[str, Any], actor: User, current: Optional[EnterpriseEntry]
) -> tuple[dict[str, Any], dict[str, str], Optional[OrgUnit]]:
    """(values, errors by field, source unit) of submitted entry data; no permission or duplicate check here."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for field, limit in TEXT_LIMITS.items():
        values[field] = inputs.text(data.get(field), field, label(field), limit, errors,
                                    required=field == "name", multiline=field == "notes")
    values["contact_phone"] = inputs.phone(data.get("contact_phone"), "contact_phone", label("contact_phone"),
                                           TEXT_LIMITS["contact_phone"], errors)
    values["name_key"] = name_key(values["name"])
    raw_unit = data.get("source_unit_id")
    if raw_unit in (None, "") and current is not None:
        raw_unit = current.source_unit_id
    elif raw_unit in (None, "") and not is_manager(actor):
        raw_unit = actor.unit_id
    unit = _unit(session, raw_unit, errors)
    values["source_unit_id"] = unit.id if unit else None
    values["tag_id"] = _tag_for_entry(session, data.get("tag_id"), current, errors)
    kind = str(data.get("list_kind") or "")
    if kind not in LIST_KINDS:
        errors["list_kind"] = inputs.choice_message(label("list_kind"), kind, LIST_KINDS.values())
    values["list_kind"] = kind
    values["planned_investment"] = inputs.decimal(data.get("planned_investment"), "planned_investment", label("planned_investment"),
                                                  inputs.column_number(EnterpriseEntry.__table__.c.planned_investment), errors)
    status = str(data.get("status") or "")
    if current is not None and current.status == "converted":
        if status not in ("", "converted"):
            errors["status"] = Message(N_("%(title)s：已转为项目线索的企业不能更改状态"), title=label("status"))
        values["status"] = "converted"
    elif status == "converted":
        errors["status"] = Message(N_("%(title)s“已转线索”只能通过“转为项目线索”设置"), title=label("status"))
    elif status and status not in SETTABLE_STATUSES:
        errors["status"] = inputs.choice_message(label("status"), status, [STATUSES[key] for key in SETTABLE_STATUSES])
    else:
        values["status"] = status or (current.status if current is not None else "pending")
    return values, errors, unit


def _same_name(session: Session, key: str, exclude_id: Optional[int]) -> Optional[EnterpriseEntry]:
    """The entry already stored under this normalised name, other than `exclude_id`."""
    query = select(EnterpriseEntry).where(EnterpriseEntry.name_key == key)
    if exclude_id is not None:
        query = query.where(EnterpriseEntry.id != exclude_id)
    return session.scalars(query).first()


def _duplicate_message(other: EnterpriseEntry) -> str:
    """The message for a name already in the database, naming who supplied it."""
    return Message(N_("%(title)s“%(name)s”已在企业库中（来源：%(unit)s，编号%(id)s）"), title=label("name"), name=other.name,
                   unit=other.source_unit.name, id=other.id)


def _valid(session: Session, data: dict[str, Any], actor: User, current: Optional[EnterpriseEntry]) -> dict[str, Any]:
    """Values of one entry from a form: unit refusal first (403), then every bad field (422)."""
    values, errors, unit = _checked(session, data, actor, current)
    if unit is not None and not may_maintain(actor, unit.id):
        raise _refuse_unit(actor)
    if values["name"] and "name" not in errors:
        other = _same_name(session, values["name_key"], current.id if current else None)
        if other is not None:
            errors["name"] = _duplicate_message(other)
    if errors:
        raise InvalidInput(errors)
    return values


def _log(session: Session, actor: User, entry: EnterpriseEntry, action: str, summary: str, extra: Optional[dict[str, Any]] = None) -> None:
    """An append-only history line of the entry (hash-chained with the rest of the event log at commit).

    The conversion line carries the project id too, so it also shows in the project's own history.
    """
    payload = {"entry_id": entry.id, "action": action, **(extra or {})}
    project_id = entry.project_id if action == "convert" else None
    session.add(Event(kind=EVENT_KIND, project_id=project_id, actor_id=actor.id, summary=summary[:300], payload=payload))


def _shown(field: str, value: Any, session: Session) -> str:
    """A field value as people read it in the history."""
    if value is None or value == "":
        return "（空）"
    if field == "tag_id":
        tag = session.get(IndustryTag, value)
        return tag.name if tag else str(value)
    if field == "source_unit_id":
        unit = session.get(OrgUnit, value)
        return unit.name if unit else str(value)
    if field == "list_kind":
        return str(LIST_KINDS.get(value, value))
    if field == "status":
        return str(STATUSES.get(value, value))
    return str(value)


def create(session: Session, data: dict[str, Any], actor: User, action: str = "create") -> EnterpriseEntry:
    """Add one entry supplied by a unit (the actor's own unless the actor is the office)."""
    if not may_create(actor):
        raise NotAllowed(N_("只有领导小组办公室和各单位招商人员可以录入招引企业"))
    values = _valid(session, data, actor, None)
    now = utcnow()
    entry = EnterpriseEntry(**values, created_by=actor.id, created_at=now, updated_by=actor.id, updated_at=now)
    session.add(entry)
    session.flush()
    verb = "导入" if action == "import" else "录入"
    _log(session, actor, entry, action, f"{verb}招引企业“{entry.name}”（{entry.source_unit.name}，{LIST_KINDS[entry.list_kind]}）")
    return entry


def get(session: Session, entry_id: int) -> EnterpriseEntry:
    """One entry, or NotFound."""
    entry = session.get(EnterpriseEntry, entry_id)
    if entry is None:
        raise NotFound(N_("招引企业 %(id)s 不存在"), id=entry_id)
    return entry


def edit(session: Session, entry_id: int, data: dict[str, Any], actor: User) -> EnterpriseEntry:
    """Change an entry of the actor's unit (any entry for the office); the history records old → new per field."""
    entry = get(session, entry_id)
    if not may_maintain(actor, entry.source_unit_id):
        raise _refuse_unit(actor)
    values = _valid(session, data, actor, entry)
    changes: dict[str, list[str]] = {}
    for field, value in values.items():
        old = getattr(entry, field)
        if field != "name_key" and old != value:
            changes[field] = [_shown(field, old, session), _shown(field, value, session)]
        setattr(entry, field, value)
    if not changes:
        return entry
    entry.updated_by, entry.updated_at = actor.id, utcnow()
    session.flush()
    summary = "；".join(f"{FIELD_LABELS[f]}：{old} → {new}" for f, (old, new) in changes.items())
    _log(session, actor, entry, "update", f"修改：{summary}", {"changes": changes})
    return entry


@dataclass
class HistoryLine:
    """One line of an entry's history: when, who, what."""

    at: Any
    actor: str
    summary: str


def history(session: Session, entry_id: int) -> list[HistoryLine]:
    """The entry's changes from the event log, oldest first."""
    rows = session.execute(
        select(Event.at, User.display_name, Event.summary)
        .outerjoin(User, User.id == Event.actor_id)
        .where(Event.kind == literal(EVENT_KIND, literal_execute=True), entry_of(Event.payload) == entry_id)  # the index's own words
        .order_by(Event.at, Event.id)
    )
    return [HistoryLine(at, actor or "", summary) for at, actor, summary in rows]


@dataclass(frozen=True)
class EntryFilter:
    """Filters of the list page and the export: tag, source unit, list kind, status, name search."""

    tag_id: Optional[int] = None
    source_unit_id: Optional[int] = None
    list_kind: str = ""
    status: str = ""
    search: str = ""


def _conditions(flt: EntryFilter) -> list[ColumnElement[bool]]:
    """The filter as SQL conditions on the entry table (the page and the export share them)."""
    conditions: list[ColumnElement[bool]] = []
    if flt.tag_id:
        conditions.append(EnterpriseEntry.tag_id == flt.tag_id)
    if flt.source_unit_id:
        conditions.append(EnterpriseEntry.source_unit_id == flt.source_unit_id)
    if flt.list_kind:
        conditions.append(EnterpriseEntry.list_kind == flt.list_kind)
    if flt.status:
        conditions.append(EnterpriseEntry.status == flt.status)
    if flt.search.strip():
        conditions.append(EnterpriseEntry.name.contains(flt.search.strip(), autoescape=True))
    return conditions


def listing(session: Session, flt: EntryFilter, page: int, per_page: int) -> Page[EnterpriseEntry]:
    """One page of matching entries, newest first, with the total; an out-of-range page shows the last one."""
    return page_of(session, select(EnterpriseEntry).where(*_conditions(flt)).order_by(EnterpriseEntry.id.desc()), page, per_page)


def export_rows(session: Session, flt: EntryFilter, batch: int = 1000) -> Iterator[list[Any]]:
    """The export's cells in Chinese (labels for codes, 万元 as exact decimals), in the page's order, read in batches as the workbook writes them.

    One joined query streamed `batch` rows at a time: no entry object and no lookup per row.
    """
    query = (
        select(
            EnterpriseEntry.name, IndustryTag.name, OrgUnit.name, EnterpriseEntry.list_kind, EnterpriseEntry.region,
            EnterpriseEntry.contact_name, EnterpriseEntry.contact_phone, EnterpriseEntry.planned_investment,
            EnterpriseEntry.status, EnterpriseEntry.notes, Project.name,
        )
        .join(IndustryTag, IndustryTag.id == EnterpriseEntry.tag_id)
        .join(OrgUnit, OrgUnit.id == EnterpriseEntry.source_unit_id)
        .outerjoin(Project, Project.id == EnterpriseEntry.project_id)
        .where(*_conditions(flt))
        .order_by(EnterpriseEntry.id.desc())
        .execution_options(yield_per=batch)
    )
    for index, row in enumerate(session.execute(query), start=1):
        name, tag, unit, kind, region, contact, phone, planned, status, notes, project = row
        yield [index, name, tag, unit, LIST_KINDS[kind], region, contact, phone, "" if planned is None else planned,
               STATUSES[status], notes, project or ""]


def export_xlsx(session: Session, flt: EntryFilter, caption: str = "招引企业数据库") -> bytes:
    """Matching entries as .xlsx with the import's column names (an exported sheet can be edited and imported elsewhere), written as the query streams."""
    return sheet("招引企业", EXPORT_COLUMNS, export_rows(session, flt), caption)


# ---------------------------------------------------------------- Excel import


def _row_data(cells: dict[str, str], tags_by_name: dict[str, int], units_by_name: dict[str, int], errors: dict[str, str]) -> dict[str, Any]:
    """One sheet row as form data: names of tags, units, kinds and statuses turned into keys, unknown ones named."""
    data: dict[str, Any] = {}
    kinds = {v: k for k, v in LIST_KINDS.items()}
    statuses = {v: k for k, v in STATUSES.items()}
    for header, field in IMPORT_HEADERS.items():
        raw = cells.get(header, "")
        if field == "tag_id":
            if raw and raw not in tags_by_name:
                errors[field] = f"{header}“{raw}”不存在或已停用"
            data[field] = tags_by_name.get(raw, "")
        elif field == "source_unit_id":
            if raw and raw not in units_by_name:
                errors[field] = f"{header}“{raw}”不存在"
            data[field] = units_by_name.get(raw, "")
        elif field == "list_kind":
            data[field] = kinds.get(raw, raw)
        elif field == "status":
            data[field] = statuses.get(raw, raw)
        else:
            data[field] = raw
    return data


def preview_import(session: Session, content: bytes, actor: User) -> ImportPreview:
    """Read an .xlsx of entries: every row checked as a form would be, duplicates (in the database or the file) flagged."""
    if not may_create(actor):
        raise NotAllowed(N_("只有领导小组办公室和各单位招商人员可以导入招引企业"))
    headers, lines, problems = read_table(content, "企业名称", REQUIRED_HEADERS)
    if problems:
        return ImportPreview([], problems)
    unknown = [h for h in headers if h and h not in IMPORT_HEADERS and h not in EXPORT_COLUMNS]
    tags_by_name = {t.name: t.id for t in tags(session, active_only=True)}
    units_by_name = {u.name: u.id for u in session.scalars(select(OrgUnit).where(OrgUnit.kind.in_(SOURCE_UNIT_KINDS)))}
    rows: list[ImportRow] = []
    seen: dict[str, ImportRow] = {}
    for number, cells in lines:
        if not any(cells.get(h) for h in IMPORT_HEADERS):
            continue
        item = ImportRow(number, {})
        data = _row_data(cells, tags_by_name, units_by_name, item.errors)
        values, errors, unit = _checked(session, data, actor, None)
        for key, message in errors.items():
            item.errors.setdefault(key, message)
        if unit is not None and not may_maintain(actor, unit.id):
            item.errors["source_unit_id"] = f"来源单位“{unit.name}”不是本单位，只能导入本单位（{actor.unit.name}）的名单"
        item.values = {**values, "tag_id": data["tag_id"], "source_unit_id": values["source_unit_id"]}
        key = values["name_key"]
        if key:
            other = _same_name(session, key, None)
            if other is not None:
                item.duplicates.append(f"企业名称“{values['name']}”已在企业库中（来源：{other.source_unit.name}）")
            if key in seen:
                item.duplicates.append(f"企业名称“{values['name']}”与本表第{seen[key].row}行重复")
            else:
                seen[key] = item
        rows.append(item)
    notes = [f"未识别的列已忽略：{'、'.join(unknown)}"] if unknown else []
    return ImportPreview(rows, [] if rows else ["表中没有数据行"], notes)


def commit_import(session: Session, content: bytes, actor: User) -> list[int]:
    """Store every row of the file in this one transaction, or none: any error or duplicate refuses the whole file."""
    checked = preview_import(session, content, actor)
    if not checked.ok:
        errors = {f"第{r.row}行": "；".join(list(r.errors.values()) + r.duplicates) for r in checked.rows if r.errors or r.duplicates}
        errors.update({f"文件{i + 1}": p for i, p in enumerate(checked.problems)})
        raise InvalidInput(errors)
    return [create(session, row.values, actor, action="import").id for row in checked.rows]


# ---------------------------------------------------------------- turning an entry into a project lead


def lead_defaults(entry: EnterpriseEntry) -> dict[str, str]:
    """Registration fields prefilled from the entry: names, contact, planned investment, the category its tag names, the source
    unit as landing unit when it is one."""
    landing = str(entry.source_unit_id) if entry.source_unit.kind in ("zone", "town") else ""
    return {
        "name": entry.name,
        "investor": entry.name,
        "total_investment": f"{entry.planned_investment:f}" if entry.planned_investment is not None else "",
        "contact_name": entry.contact_name,
        "contact_phone": entry.contact_phone,
        "landing_unit_id": landing,
        "attracting_unit_id": str(entry.source_unit_id),
        "category": entry.tag.category,
    }


def converted_message(entry: EnterpriseEntry) -> str:
    """Why a second conversion is refused: the project the entry already became."""
    project = Message(N_("“%(name)s”（编号%(id)s）"), name=entry.project.name, id=entry.project_id) if entry.project else ""
    return Message(N_("招引企业“%(name)s”已转为项目线索%(project)s，不能重复转化"), name=entry.name, project=project)


def convert_to_lead(session: Session, entry_id: int, data: dict[str, Any], actor: User) -> runtime.Outcome:
    """Register a lead from the entry and start its lifecycle, link entry and project and log it, all in one transaction.

    The entry's source unit is the attracting unit (credited equally with the landing unit).
    Only the office marks a lead major and so picks its landing unit and platform for it
    (最优落地平台优先); unit staff choose the landing unit of an ordinary lead.
    """
    entry = get(session, entry_id)
    if not may_maintain(actor, entry.source_unit_id):
        raise NotAllowed(N_("只有来源单位（%(unit)s）的招商人员或领导小组办公室可以将该企业转为项目线索"), unit=entry.source_unit.name)
    if entry.status == "converted":
        raise AlreadyCompleted(converted_message(entry))
    registration = {field: data.get(field, "") for field in LEAD_FIELDS}
    registration["attracting_unit_id"] = entry.source_unit_id
    if not is_manager(actor):
        registration["is_major"] = ""
    record.validate(session, registration)  # refuse bad input before anything is written
    claimed = matched_rows(
        session,
        update(EnterpriseEntry)
        .where(EnterpriseEntry.id == entry.id, EnterpriseEntry.status != "converted")
        .values(status="converted")
        .execution_options(synchronize_session=False),
    )
    if not claimed:  # another official converted it between our read and our write
        session.refresh(entry)
        raise AlreadyCompleted(converted_message(entry))
    outcome = lifecycle.register(session, registration, actor)
    entry.status, entry.project_id = "converted", outcome.project_id
    entry.updated_by, entry.updated_at = actor.id, utcnow()
    session.flush()
    project = session.get_one(Project, outcome.project_id)
    _log(session, actor, entry, "convert", f"由招引企业库“{entry.name}”（{entry.source_unit.name}提供）转为项目线索“{project.name}”",
         {"project_id": outcome.project_id})
    return outcome


def entry_for_project(session: Session, project_id: int) -> Optional[EnterpriseEntry]:
    """The entry a project was turned from, if any (the other direction of the link)."""
    return session.scalars(select(EnterpriseEntry).where(EnterpriseEntry.project_id == project_id)).first()
