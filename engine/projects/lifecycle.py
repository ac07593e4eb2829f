"""The project lifecycle on the workflow core: registering a lead starts it, and the ledger record follows it.

`install` tells the core what every workflow of a project starts with (the record's facts),
how a completed form updates the record, that a major project may be decided outside a
meeting, and how the lifecycle's tier decision, stages and end reach the record.
"""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.platform import db, permissions
from engine.platform.messages import N_
from engine.platform.inputs import Number
from engine.platform.models import Instance, Project, Task, User, utcnow
from engine.projects import record
from engine.workflow import definitions, hooks, runtime

LIFECYCLE = "project_lifecycle"
SUCCESS_END = "end_started"
STAGE_DATES = {"feasibility": "intent_at", "leading_group": "assessed_at", "signing": "approved_at", "construction": "landed_at"}


def register(session: Session, data: dict[str, Any], actor: User, definition_id: Optional[int] = None) -> runtime.Outcome:
    """Validate a lead, store it and start its lifecycle, all in one transaction.

    The lifecycle runs on `definition_id` when a caller registering many leads in one transaction
    has looked up the newest definition once, else on the newest definition.
    """
    permissions.require(actor, "project.register", N_("只有落地单位、驻外招商联络处、行业主管部门和领导小组办公室可以登记项目线索"))
    validated = record.validate(session, data)
    now = utcnow()
    project = db.insert_row(session, Project, {**validated.values, "registered_by": actor.id, "registered_at": now, "last_progress_at": now})
    for name, unit in validated.units.items():  # the units just read, as loaded: the workflow's facts need not read them again
        set_committed_value(project, name, unit)
    if definition_id is None:
        definition_id = definitions.latest_id(session, LIFECYCLE)
    return runtime.start_instance(session, project, definition_id, actor)


def refresh_facts(session: Session, project: Project) -> None:
    """Give the ready tasks of the project's running lifecycle the record's current facts (corrections reach later steps and the tier decision)."""
    instance = session.scalars(
        select(Instance).where(Instance.project_id == project.id, Instance.process_id == LIFECYCLE,
                               Instance.status.in_(("running", "error", "suspended")))
    ).first()
    if instance is not None:
        runtime.update_ready_data(session, instance, record.workflow_facts(project))


def fact_catalog() -> list[hooks.Fact]:
    """The record's facts by name and kind, with the categories a decision may compare against."""
    facts = []
    for key, value in record.workflow_facts(Project()).items():
        kind = "boolean" if isinstance(value, bool) else "number" if isinstance(value, (int, float)) else "string"
        facts.append(hooks.Fact(key, kind, tuple(record.CATEGORIES) if key == "category" else None))
    return facts


def ledger_number_rule(field: str) -> Optional[Number]:
    """The record's rule for a form field that updates one of its numbers, None for any other field."""
    return record.number_rule(field) if field in record.LEDGER_NUMBERS else None


def is_major(project: Project) -> bool:
    """A major project (重大项目) is decided whenever it is ready, not only at the meeting."""
    return bool(project.is_major)


def record_tier(project: Project, spiff_task: Any) -> None:
    """The tier decision's output becomes the record's approval tier."""
    project.tier = spiff_task.data.get("tier") or ""


def close(project: Project, end: Any, workflow: Any) -> None:
    """Mark the ledger record started or closed according to the end event reached."""
    if end is not None and end.task_spec.bpmn_id == SUCCESS_END:
        project.status, project.stage = "started", "started"
        return
    data = end.data if end is not None else workflow.data
    reason = data.get("reason") or data.get("opinion") or ""
    name = end.task_spec.bpmn_name if end is not None else "流程结束"
    project.status, project.stage = "closed", "closed"
    project.close_reason = f"{name}：{reason}" if reason else name


def follow_stage(_session: Session, _instance: Instance, project: Project, _workflow: Any, ready: list[Task]) -> None:
    """The ledger stage follows the current task; key dates are stamped on first entry."""
    if not ready or project.status != "active":
        return
    stage = ready[0].stage or project.stage
    if stage != project.stage:
        date_field = STAGE_DATES.get(stage)
        if date_field and getattr(project, date_field) is None:
            setattr(project, date_field, utcnow())
        project.stage = stage


def terminated(project: Project, reason: str) -> None:
    """An administrator's termination closes the record with the reason."""
    project.status, project.stage = "closed", "closed"
    project.close_reason = f"管理员终止：{reason}"[:500]


def install() -> None:
    """Register the project as the core's subject and the lifecycle's hooks."""
    hooks.register_subject(hooks.Subject(
        facts=record.workflow_facts,
        catalog=fact_catalog,
        number_rule=ledger_number_rule,
        form_completed=record.apply_form_fields,
        label=record.label,
        meeting_exempt=is_major,
    ))
    hooks.register_process(LIFECYCLE, hooks.ProcessHooks(decided=record_tier, ended=close, advanced=follow_stage, terminated=terminated))
