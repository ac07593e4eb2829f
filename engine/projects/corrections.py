"""Corrections to a project's ledger record after registration, with the workflow and task table kept in step.

Who may change what:
- the office changes every registration field;
- staff of the project's landing or attracting unit correct the descriptive fields
  (name, investor, channel, investment figures, contacts); once the project is signed, the
  fields that decide its assessment class (manufacturing, total investment) are the office's.
Fields that decide the approval tier (category, land, 一事一议, landing unit and platform) are
locked once the tier has been decided. Changing a unit or the deputy in charge, or an assessed
field of a signed project, needs a reason; ready tasks held by the old unit, platform or deputy
move to the new one. Every change is logged with its old and new values.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.projects import lifecycle
from engine.workflow import definitions, runtime
from engine.platform import inputs, permissions
from engine.projects import record
from engine.platform.errors import InvalidInput, NotAllowed, NotFound
from engine.platform.messages import N_, Message, joined
from engine.platform.models import Event, Instance, OrgUnit, Project, Task, User, utcnow

DESCRIPTIVE = (
    "name", "investor", "source_channel", "is_manufacturing", "total_investment", "fixed_asset_investment",
    "foreign_capital", "out_of_province_capital", "contact_name", "contact_phone",
)
OFFICE_ONLY = (
    "category", "needs_land", "land_mu", "one_case_support", "one_case_amount", "fund_request",
    "landing_unit_id", "attracting_unit_id", "landing_platform_id", "deputy_id",
)
EDITABLE = DESCRIPTIVE + OFFICE_ONLY
NEEDS_REASON = ("landing_unit_id", "attracting_unit_id", "landing_platform_id", "deputy_id")
ASSESSED = ("is_manufacturing", "total_investment")  # they decide a signed project's assessment class and points
UNIT_FIELDS = ("landing_unit_id", "attracting_unit_id", "landing_platform_id")


@dataclass
class Change:
    """One field's old and new value, for the log and the confirmation message."""

    field: str
    old: Any
    new: Any


def may_edit(actor: User, project: Project) -> tuple[str, ...]:
    """The fields this official may change on this project (none when they may not edit it)."""
    if permissions.county_wide(actor, "project.correct"):
        return EDITABLE
    if permissions.allowed(actor, "project.correct", units=(project.landing_unit_id, project.attracting_unit_id)):
        return tuple(f for f in DESCRIPTIVE if not (f in ASSESSED and scored(project)))
    return ()


def scored(project: Project) -> bool:
    """The project has been signed, so its class already counts in the units' assessment."""
    return project.signed_date is not None


def tier_fields(session: Session, project: Project) -> tuple[str, ...]:
    """Record fields the project's lifecycle decisions read: from the input columns of its definition's decision tables."""
    instance = session.scalars(
        select(Instance).where(Instance.project_id == project.id, Instance.process_id == lifecycle.LIFECYCLE).order_by(Instance.id.desc())
    ).first()
    definition_id = instance.definition_id if instance is not None else definitions.latest_id(session, lifecycle.LIFECYCLE)
    loaded = definitions.load(session, definition_id)
    facts = {name for spec in loaded.spec.task_specs.values() if getattr(spec, "dmnEngine", None) is not None
             for name in runtime.decision_inputs(spec.dmnEngine)}
    return tuple(field for field in record.fields_behind(facts) if field in EDITABLE)


def locked(project: Project, decided_by: tuple[str, ...]) -> dict[str, str]:
    """Fields that cannot change at the project's point in the lifecycle, with the reason in words.

    `decided_by` are the fields the tier decision read (tier_fields), locked once the tier is decided."""
    reasons: dict[str, str] = {}
    if project.tier:
        for field in decided_by:
            reasons[field] = Message(N_("已完成审批层级判定（%(tier)s），%(title)s决定审批路径，不能再修改"), tier=project.tier,
                                     title=record.label(field))
    if project.status != "active":
        ended = N_("项目已开工，%(title)s不能再修改") if project.status == "started" else N_("项目已中止，%(title)s不能再修改")
        for field in NEEDS_REASON:
            reasons.setdefault(field, Message(ended, title=record.label(field)))
    return reasons


def current_values(project: Project) -> dict[str, Any]:
    """The record's registration fields as the form shows them."""
    return {field: getattr(project, field) for field in EDITABLE + ("is_major",)}


def update(session: Session, project_id: int, data: dict[str, Any], actor: User, reason: str = "") -> list[Change]:
    """Apply submitted corrections in one transaction; refuse naming every bad field and store nothing."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(N_("项目 %(id)s 不存在"), id=project_id)
    allowed = may_edit(actor, project)
    if not allowed:
        raise NotAllowed(N_("只有领导小组办公室或该项目的招引、落地单位可以修改项目信息"))
    submitted = {field: data[field] for field in EDITABLE if field in data}
    values, invalid = record.check(session, {**current_values(project), **submitted})
    changes = [Change(f, getattr(project, f), values[f]) for f in EDITABLE if f in submitted and values[f] != getattr(project, f)]
    refused = [Message(N_("您不能修改%(title)s（仅领导小组办公室可以修改）"), title=record.label(c.field))
               for c in changes if c.field not in allowed]
    if refused:
        raise NotAllowed(joined(refused))
    errors = {f: msg for f, msg in invalid.items() if f in submitted}  # a stored value the actor cannot change does not block
    if errors:
        raise InvalidInput(errors)
    errors = {c.field: msg for c in changes if (msg := locked(project, tier_fields(session, project)).get(c.field))}
    reason = inputs.text(reason, "reason", N_("修改原因"), 300, errors)
    explained = NEEDS_REASON + (ASSESSED if scored(project) else ())
    if not errors and not reason and any(c.field in explained for c in changes):
        errors["reason"] = Message(N_("修改招引单位、落地单位、落地平台或分管县领导，或修改已签约项目的考核口径（是否制造业、总投资），须填写修改原因"))
    if errors:
        raise InvalidInput(errors)
    if not changes:
        return []
    for change in changes:
        setattr(project, change.field, change.new)
    _move_ready_tasks(session, project, {c.field: c.old for c in changes})
    lifecycle.refresh_facts(session, project)
    session.add(Event(kind="project_edit", at=utcnow(), project_id=project.id, actor_id=actor.id,
                      summary=_summary(session, actor, changes, reason)[:300],
                      payload={"reason": reason, "changes": {c.field: [_plain(c.old), _plain(c.new)] for c in changes}}))
    session.flush()
    return changes


def _move_ready_tasks(session: Session, project: Project, old: dict[str, Any]) -> None:
    """Ready tasks held by the old landing unit, platform or deputy go to the new one; personal assignments stay."""
    if not {"landing_unit_id", "landing_platform_id", "deputy_id"} & set(old):
        return
    before = {field: old.get(field, getattr(project, field)) for field in ("landing_unit_id", "landing_platform_id", "deputy_id")}
    held = {  # scope → (what the old record named, what the record names now)
        "landing_unit": (before["landing_unit_id"], project.landing_unit_id),
        "platform": (before["landing_platform_id"] or before["landing_unit_id"], project.landing_platform_id or project.landing_unit_id),
    }
    for task in session.scalars(select(Task).where(Task.project_id == project.id, Task.status == "ready")):
        if task.scope in held and task.assignee_id is None and task.unit_id == held[task.scope][0]:
            task.unit_id = held[task.scope][1]
        elif task.scope == "deputy" and task.assignee_id == before["deputy_id"]:
            task.assignee_id = project.deputy_id


def _summary(session: Session, actor: User, changes: list[Change], reason: str) -> str:
    """修改项目信息：总投资 50000→60000；… (reason)."""
    parts = [f"{record.FIELD_LABELS[c.field]} {shown(session, c.field, c.old)}→{shown(session, c.field, c.new)}" for c in changes]
    return f"{actor.display_name}修改项目信息：{'；'.join(parts)}" + (f"（原因：{reason}）" if reason else "")


def shown(session: Session, field: str, value: Any) -> str:
    """A value as officials read it: unit and official names, 是/否, categories in Chinese."""
    if value is None or value == "":
        return "空"
    if field in UNIT_FIELDS:
        unit = session.get(OrgUnit, value)
        return unit.name if unit else str(value)
    if field == "deputy_id":
        user = session.get(User, value)
        return user.display_name if user else str(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if field == "category":
        return str(record.CATEGORIES.get(value, value))
    if field == "source_channel":
        return str(record.SOURCE_CHANNELS.get(value, value))
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def _plain(value: Any) -> Any:
    """A JSON-ready value for the event payload."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value
