"""The project record (SPEC §2): field rules, validation with named messages, derived facts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from collections.abc import Callable
from typing import Any, Iterable, Optional

from sqlalchemy.orm import Session

from engine.platform import inputs, messages, org, permissions
from engine.platform.errors import EngineError, InvalidInput
from engine.platform.messages import N_, Message
from engine.platform.models import OrgUnit, Project

CATEGORIES = {
    "industrial": "工业",
    "tourism": "文旅",
    "health": "康养(含养老)",
    "services": "服务业",
    "agriculture": "农业",
    "commerce": "商业",
    "other": "其他",
}
SOURCE_CHANNELS = {
    "team": "小分队招商",
    "kinship": "亲情招商",
    "resident": "驻点招商",
    "entrusted": "委托招商",
    "business": "以商引商",
    "other": "其他",
}
STAGES = {
    "lead": "谋划/信息收集",
    "intent": "意向",
    "feasibility": "论证",
    "assessment": "研判",
    "leading_group": "领导小组审议",
    "negotiation": "盯引洽谈/考察",
    "approval": "审批",
    "signing": "签约",
    "landing": "落地",
    "construction": "开工准备",
    "started": "已开工",
    "closed": "已中止",
}
FIELD_LABELS = {
    "name": "项目名称",
    "investor": "投资方",
    "source_channel": "招引方式",
    "attracting_unit_id": "招引单位",
    "landing_unit_id": "落地单位",
    "landing_platform_id": "落地平台",
    "category": "产业类别",
    "is_manufacturing": "是否制造业",
    "total_investment": "总投资",
    "fixed_asset_investment": "固定资产投资",
    "foreign_capital": "利用外资",
    "out_of_province_capital": "省外内资",
    "funds_in_place": "到位资金",
    "needs_land": "是否供地",
    "land_mu": "用地面积",
    "one_case_support": "一事一议财政资金扶持",
    "one_case_amount": "一事一议扶持金额",
    "fund_request": "申请产业基金",
    "deputy_id": "分管县领导",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "is_major": "重大项目",
    "signed_date": "签约日期",
    "start_date": "开工日期",
    "contract_amount": "签约金额",
}
MONEY_FIELDS = (
    "total_investment",
    "fixed_asset_investment",
    "foreign_capital",
    "out_of_province_capital",
    "funds_in_place",
    "one_case_amount",
    "fund_request",
    "contract_amount",
)
BOOL_FIELDS = ("is_manufacturing", "needs_land", "one_case_support", "is_major")
# Form fields that, when a task submits them, update the ledger record of the same name.
FORM_FIELDS_ON_PROJECT = (
    "needs_land",
    "land_mu",
    "one_case_support",
    "one_case_amount",
    "fund_request",
    "signed_date",
    "contract_amount",
    "start_date",
    "funds_in_place",
)
LEDGER_NUMBERS = tuple(field for field in FORM_FIELDS_ON_PROJECT if field in MONEY_FIELDS or field == "land_mu")
TEXT_FIELDS = ("name", "investor", "contact_name", "contact_phone")
FUND_CAP_SOURCE: list[Callable[[Session], Decimal]] = []  # set by use_fund_cap


def label(field: str) -> str:
    """The field's Chinese label, as every message names it (a label the web edge translates)."""
    return messages.label(FIELD_LABELS.get(field, field))


def number_rule(field: str) -> inputs.Number:
    """What a numeric field of the record accepts: not negative, within its column, in 亩 or 万元."""
    return inputs.column_number(Project.__table__.c[field], unit="亩" if field == "land_mu" else "万元")


def _bool(raw: Any, field: str, errors: dict[str, str]) -> bool:
    if raw in (None, "", False, "false", "0", 0, "no", "off"):
        return False
    if raw in (True, "true", "1", 1, "yes", "on"):
        return True
    errors[field] = Message(N_("%(title)s必须是“是”或“否”"), title=label(field))
    return False


def _unit(session: Session, raw: Any, field: str, errors: dict[str, str], required: bool) -> Optional[OrgUnit]:
    if raw in (None, ""):
        if required:
            errors[field] = inputs.required_message(label(field))
        return None
    unit_id = inputs.identifier(raw)
    unit = session.get(OrgUnit, unit_id) if unit_id is not None else None
    if unit is None:
        errors[field] = inputs.unknown_message(label(field), raw)
    return unit


def _deputy(session: Session, raw: Any, errors: dict[str, str]) -> Optional[int]:
    """The id of the deputy in charge named by id: an active holder of the deputy role (their standing read, not their user row)."""
    if raw in (None, ""):
        errors["deputy_id"] = inputs.required_message(label("deputy_id"))
        return None
    deputy_id = inputs.identifier(raw)
    deputy = org.standing(session, deputy_id) if deputy_id is not None else None
    if deputy is None or not permissions.allowed(deputy, "project.take_charge"):
        errors["deputy_id"] = Message(N_("%(title)s必须是在职的分管副县长：%(received)s"), title=label("deputy_id"), received=inputs.shown(raw))
        return None
    return deputy.id


def _choice(raw: Any, field: str, choices: dict[str, str], errors: dict[str, str]) -> Any:
    """One of the field's choice keys, as submitted."""
    if not isinstance(raw, str) or raw not in choices:
        errors[field] = inputs.choice_message(label(field), raw, choices.values())
    return raw


@dataclass
class ProjectInput:
    """Validated values ready to become a Project row, and the units they name (by relationship), as read."""

    values: dict[str, Any]
    units: dict[str, OrgUnit]


def validate(session: Session, data: dict[str, Any]) -> ProjectInput:
    """Check a lead registration; raise InvalidInput naming every bad field, store nothing."""
    values, errors, units = _checked(session, data)
    if errors:
        raise InvalidInput(errors)
    return ProjectInput(values, units)


def check(session: Session, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The registration's values as they would be stored, and a message naming each bad field."""
    values, errors, _ = _checked(session, data)
    return values, errors


def _checked(session: Session, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], dict[str, OrgUnit]]:
    """The registration's values, a message naming each bad field, and the units the values name, by relationship."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for field in TEXT_FIELDS:
        limit = inputs.column_length(Project.__table__.c[field])
        if field == "contact_phone":
            values[field] = inputs.phone(data.get(field), field, label(field), limit, errors)
        else:
            values[field] = inputs.text(data.get(field), field, label(field), limit, errors, required=field == "name")
    values["category"] = _choice(data.get("category"), "category", CATEGORIES, errors)
    values["source_channel"] = _choice(data.get("source_channel") or "other", "source_channel", SOURCE_CHANNELS, errors)
    for field in BOOL_FIELDS:
        values[field] = _bool(data.get(field), field, errors)
    for field in MONEY_FIELDS:
        value = inputs.decimal(data.get(field), field, label(field), number_rule(field), errors, required=field == "total_investment")
        values[field] = Decimal(0) if value is None else value
    cap = fund_project_cap(session)
    if values["fund_request"] > cap:
        errors["fund_request"] = Message(N_("%(title)s不能超过%(cap)s万元（单个项目支持上限，原则上不高于1亿元）"),
                                         title=label("fund_request"), cap=format(cap.normalize(), "f"))
    land = inputs.decimal(data.get("land_mu"), "land_mu", label("land_mu"), number_rule("land_mu"), errors)
    if land is not None and land > 0 and not values["needs_land"]:
        errors["land_mu"] = Message(N_("%(title)s仅在“是否供地”为“是”时填写"), title=label("land_mu"))
    if values["needs_land"] and (land is None or land == 0) and "land_mu" not in errors:
        errors["land_mu"] = Message(N_("%(title)s：供地项目必须填写大于0的用地面积"), title=label("land_mu"))
    values["land_mu"] = land or Decimal(0)
    landing = _unit(session, data.get("landing_unit_id"), "landing_unit_id", errors, required=True)
    attracting = _unit(session, data.get("attracting_unit_id"), "attracting_unit_id", errors, required=False)
    platform = _unit(session, data.get("landing_platform_id"), "landing_platform_id", errors, required=False)
    named = {"landing_unit": landing, "attracting_unit": attracting or landing, "landing_platform": platform or landing}
    values.update({f"{relationship}_id": unit.id if unit else None for relationship, unit in named.items()})
    values["deputy_id"] = _deputy(session, data.get("deputy_id"), errors)
    return values, errors, {relationship: unit for relationship, unit in named.items() if unit is not None}


def use_fund_cap(source: Callable[[Session], Decimal]) -> None:
    """Name where the per-project fund cap comes from (the elements office's settings); the wiring calls it once."""
    FUND_CAP_SOURCE[:] = [source]


def fund_project_cap(session: Session) -> Decimal:
    """The per-project fund cap the office set in the elements settings."""
    if not FUND_CAP_SOURCE:
        raise EngineError(N_("项目档案尚未接入要素保障设置（产业基金单个项目上限），请联系系统管理员"))
    return FUND_CAP_SOURCE[0](session)


def is_dev_zone(project: Project) -> bool:
    """The project lands on 金磐开发区 (delegated approval for ≤ 50 亩)."""
    platform = project.landing_platform or project.landing_unit
    return bool(platform and platform.is_dev_zone)


FACT_FIELDS: dict[str, tuple[str, ...]] = {
    "project_id": (),
    "project_name": ("name",),
    "dev_zone": ("landing_unit_id", "landing_platform_id"),
}
"""Record fields each workflow fact is computed from, where they are not the fact's own name."""


def fields_behind(facts: Iterable[str]) -> tuple[str, ...]:
    """The record fields a set of workflow facts is computed from, in a stable order."""
    found: dict[str, None] = {}
    for fact in sorted(facts):
        found.update(dict.fromkeys(FACT_FIELDS.get(fact, (fact,))))
    return tuple(found)


def workflow_facts(project: Project) -> dict[str, Any]:
    """The project facts a lifecycle's conditions and decisions read from task data."""
    return {
        "project_id": project.id,
        "project_name": project.name,
        "category": project.category,
        "needs_land": bool(project.needs_land),
        "land_mu": float(project.land_mu or 0),
        "dev_zone": is_dev_zone(project),
        "one_case_support": bool(project.one_case_support),
        "total_investment": float(project.total_investment or 0),
        "is_manufacturing": bool(project.is_manufacturing),
        "is_major": bool(project.is_major),
    }


def apply_form_fields(project: Project, data: dict[str, Any]) -> dict[str, list[str]]:
    """Copy submitted form fields that belong to the ledger onto the project record; what changed a value the record
    already held, by field: [old, new] as shown."""
    changed: dict[str, list[str]] = {}
    for field in FORM_FIELDS_ON_PROJECT:
        if field not in data or data[field] is None:
            continue
        value = data[field]
        if field in ("signed_date", "start_date"):
            value = date.fromisoformat(value)
        elif field in BOOL_FIELDS:
            value = bool(value)
        else:
            value = Decimal(str(value))
        _note_change(changed, field, getattr(project, field), value)
        setattr(project, field, value)
    if "needs_land" in data and not data["needs_land"]:
        _note_change(changed, "land_mu", project.land_mu, Decimal(0))
        project.land_mu = Decimal(0)
    return changed


def _note_change(changed: dict[str, list[str]], field: str, old: Any, new: Any) -> None:
    """Remember a field's change when the record held a value and the form gives another."""
    if old is not None and old != new and not (field in MONEY_FIELDS + ("land_mu",) and not old):
        changed[field] = [_shown(old), _shown(new)]


def _shown(value: Any) -> str:
    """A record value as the change log shows it."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def form_defaults(project: Project, fields: Iterable[str]) -> dict[str, Any]:
    """A task form's values taken from the record (the area and fund request given at registration, say), for the
    fields of the form that the record holds a value for; the official may change them."""
    values: dict[str, Any] = {}
    for field in fields:
        if field not in FORM_FIELDS_ON_PROJECT:
            continue
        value = getattr(project, field)
        if value is None or (isinstance(value, Decimal) and not value):
            continue
        values[field] = ("true" if value else "false") if isinstance(value, bool) else _shown(value)
    return values
