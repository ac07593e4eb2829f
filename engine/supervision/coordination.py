"""Coordination items (交办单): submit a problem, mirror the list and its reports, overdue lights, 通报批评."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any, Optional
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.workflow import definitions, hooks, runtime
from engine.platform import attachments, inputs, notifications, permissions
from engine.platform.attachments import Attachment, FileStore, Upload
from engine.platform.clock import local_time, local_today, zone
from engine.platform.errors import InvalidInput, NotAllowed, NotFound
from engine.platform.messages import N_, Message
from engine.platform.paging import Page, page_of
from engine.platform.models import Event, Instance, OrgUnit, Project, Task, User, UserRole, utcnow
from engine.supervision.models import CoordinationCase, CoordinationItem, Criticism

COORDINATION = "coordination_item"
WARN_DAYS = 3
CASE_STATUS = {
    "review_submission": "reviewing",
    "revise_submission": "returned",
    "leader_approval": "approving",
    "issue_list": "issuing",
    "report_item": "in_progress",
    "verify_close": "verifying",
}
CASE_STATUS_LABELS = {
    "reviewing": "办公室审核",
    "returned": "退回补充材料",
    "approving": "县主要领导审定",
    "issuing": "督考办交办",
    "in_progress": "责任单位办理",
    "verifying": "办公室核验",
    "closed": "已办结",
    "rejected": "未予协调",
}
ITEM_STATUS_LABELS = {"open": "办理中", "reported": "已报告", "closed": "已办结"}
LIGHT_LABELS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}
UNIT_KINDS_RESPONSIBLE = ("zone", "town", "department", "office")


def deadline_end(day: date) -> datetime:
    """The last second of a deadline day in county time, as an aware datetime."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone()).astimezone(timezone.utc)


def item_light(item: CoordinationItem, today: date) -> str:
    """Red once an unreported item passes its deadline, yellow within WARN_DAYS of it, else green."""
    if item.status != "open":
        return "green"
    if today > item.deadline:
        return "red"
    if (item.deadline - today).days <= WARN_DAYS:
        return "yellow"
    return "green"


def was_late(item: CoordinationItem) -> bool:
    """True when the item was not reported by its deadline (still open after it, or reported after it)."""
    if item.reported_at is None:
        return item.overdue_at is not None
    return local_time(item.reported_at).date() > item.deadline


def grant_responsible_role(session: Session) -> int:
    """Give the `responsible_unit` role to staff of zones, towns and departments who act for their unit."""
    acting = permissions.roles_for("coordination.respond")
    count = 0
    users = session.scalars(select(User).join(OrgUnit, User.unit_id == OrgUnit.id).where(OrgUnit.kind.in_(UNIT_KINDS_RESPONSIBLE)))
    for user in users:
        if user.roles & acting and "responsible_unit" not in user.roles:
            user.role_rows.append(UserRole(role="responsible_unit"))
            count += 1
    session.flush()
    return count


def submit(session: Session, project_id: int, actor: User, data: dict[str, Any]) -> CoordinationCase:
    """The landing unit reports a problem with written material; starts a coordination_item process."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(N_("项目 %(id)s 不存在"), id=project_id)
    permissions.require(actor, "coordination.submit", N_("只有该项目落地单位的招商人员可以报送县级协调问题"), units=(project.landing_unit_id,))
    errors: dict[str, str] = {}
    values = {field: inputs.text(data.get(field), field, label, limit, errors, required=True, multiline=field != "title")
              for field, label, limit in (("title", N_("问题标题"), 200), ("problem", N_("问题说明"), 4000), ("material", N_("书面材料"), 8000))}
    if errors:
        raise InvalidInput(errors)
    outcome = runtime.start_instance(session, project, definitions.latest_id(session, COORDINATION), actor, data=values, summary=f"报送县级协调问题：{values['title']}")
    case = CoordinationCase(
        instance_id=outcome.instance_id,
        project_id=project.id,
        unit_id=project.landing_unit_id,
        title=values["title"],
        problem=values["problem"],
        material=values["material"],
        status="reviewing",
        submitted_by=actor.id,
        submitted_at=utcnow(),
    )
    session.add(case)
    session.flush()
    return case


def _line(index: int, text: str) -> str:
    """“第2项：…”: a field title or message about one line of a 交办单."""
    return Message(N_("第%(index)s项：%(text)s"), index=index, text=Message(text))


def validate_items(session: Session, items: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """Check a 交办单's lines (named unit, date not in the past) and number them; raise InvalidInput per line."""
    errors: dict[str, str] = {}
    clean = []
    if not items:
        errors["items"] = Message(N_("交办单至少要有一项交办事项(items)"))
    for index, raw in enumerate(items, start=1):
        key = f"items.{index}."
        title = inputs.text(raw.get("title"), key + "title", _line(index, N_("交办事项")), 200, errors, required=True)
        unit_id = inputs.identifier(raw.get("responsible_unit_id"))
        unit = session.get(OrgUnit, unit_id) if unit_id is not None else None
        if unit is None:
            errors[key + "responsible_unit_id"] = _line(index, N_("责任单位不存在"))
        deadline = inputs.day(raw.get("deadline"), key + "deadline", _line(index, N_("办结时限")), errors, required=True) or today
        if deadline < today:
            errors[key + "deadline"] = _line(index, N_("办结时限不能早于今天"))
        clean.append({"seq": index, "title": title, "responsible_unit_id": unit.id if unit else 0, "deadline": deadline.isoformat()})
    if errors:
        raise InvalidInput(errors)
    return clean


def issue_list(session: Session, task_id: int, actor: User, items: list[dict[str, Any]], opinion: str = "") -> runtime.Outcome:
    """督考办 issues the list: lines validated and numbered, then the issue_list task completes."""
    clean = validate_items(session, items, local_today())
    data: dict[str, Any] = {"items": clean}
    if opinion.strip():
        data["opinion"] = opinion.strip()
    return runtime.complete_task(session, task_id, actor, data)


def sync(session: Session, instance: Instance, _project: Project, workflow: BpmnWorkflow, ready: list[Task]) -> None:
    """Keep the case and its items in step with the process: status, one item per report task, due dates, reports."""
    case = session.scalars(select(CoordinationCase).where(CoordinationCase.instance_id == instance.id)).first()
    if case is None:
        return
    by_seq = {item.seq: item for item in case.items}
    open_by_task = {item.task_id: item for item in case.items if item.status == "open" and item.task_id}
    if open_by_task:
        done = session.scalars(select(Task).where(Task.id.in_(list(open_by_task)), Task.status == "completed"))
        for row in done:
            item = open_by_task[row.id]
            data = row.data or {}
            item.status, item.report, item.evidence = "reported", data.get("report", ""), data.get("evidence", "")
            item.reported_at = row.completed_at or utcnow()
            item.light = "green"
    for row in ready:
        if row.bpmn_id != "report_item":
            continue
        line = workflow.get_task_from_id(UUID(row.spiff_task_id)).data.get("item") or {}
        seq = int(line["seq"])
        if seq not in by_seq:
            by_seq[seq] = CoordinationItem(seq=seq)
            case.items.append(by_seq[seq])
        item = by_seq[seq]
        item.title, item.responsible_unit_id = line["title"], int(line["responsible_unit_id"])
        item.deadline = date.fromisoformat(line["deadline"])
        item.status, item.report, item.evidence, item.reported_at, item.overdue_at = "open", "", "", None, None
        session.flush()
        item.task_id = row.id
        item.light = item_light(item, local_today())
        row.due_at = deadline_end(item.deadline)
    if ready:
        case.status = CASE_STATUS.get(ready[0].bpmn_id, case.status)
    elif workflow.completed:
        ended = {t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED) if isinstance(t.task_spec, EndEvent)}
        case.status = "closed" if "end_closed" in ended else "rejected"
        case.closed_at = utcnow()
        for item in case.items:
            if item.status == "reported" and case.status == "closed":
                item.status = "closed"
    session.flush()



def install() -> None:
    """Register the coordination process's hooks with the workflow core."""
    hooks.register_process(COORDINATION, hooks.ProcessHooks(advanced=sync))

def notify(session: Session, unit_ids: list[int], roles: list[str], title: str, project_id: Optional[int], link: str = "") -> None:
    """Notify every active official of `unit_ids` and every holder of `roles` (in-app, plus external channels)."""
    users = set(session.scalars(select(User.id).where(User.unit_id.in_(unit_ids), User.active.is_(True))))
    for role in roles:
        users |= notifications.users_with_role(session, role)
    notifications.notify(session, users, "coordination", title, link=link, project_id=project_id)


def sweep_overdue(session: Session, now: Optional[datetime] = None) -> list[CoordinationItem]:
    """Light every open item past its deadline red and notify its unit and the office once; called by the scheduler."""
    today = local_today(now)
    items = list(
        session.scalars(
            select(CoordinationItem).where(
                CoordinationItem.status == "open", CoordinationItem.deadline < today, CoordinationItem.overdue_at.is_(None)
            )
        )
    )
    for item in items:
        item.overdue_at, item.light = now or utcnow(), "red"
        case = item.case
        message = f"交办事项逾期：{case.title} 第{item.seq}项“{item.title}”（{item.responsible_unit.name}，时限 {item.deadline:%Y-%m-%d}）"
        notify(session, [item.responsible_unit_id], sorted(permissions.roles_for("coordination.receive_overdue")), message, case.project_id,
               f"/supervision/cases/{case.id}")
        session.add(Event(kind="overdue", at=utcnow(), project_id=case.project_id, instance_id=case.instance_id,
                          bpmn_id="report_item", summary=message[:300], payload={"item_id": item.id}))
    for item in session.scalars(select(CoordinationItem).where(CoordinationItem.status == "open")):
        item.light = item_light(item, today)
    session.flush()
    return items


def record_criticism(
    session: Session, actor: User, unit_id: int, reason: str, item_id: Optional[int] = None, now: Optional[datetime] = None
) -> Criticism:
    """The office records a 通报批评 against a unit for an assigned task not finished on time (一票否优 that year)."""
    permissions.require(actor, "coordination.criticise", N_("只有领导小组办公室或县督考办可以记录通报批评"))
    errors: dict[str, str] = {}
    reason = inputs.text(reason, "reason", N_("批评事由"), 500, errors, required=True)
    unit = session.get(OrgUnit, unit_id) if unit_id else None
    if unit is None:
        errors["unit_id"] = Message(N_("被通报单位不存在：%(id)s"), id=unit_id)
    if item_id is not None:
        item = session.get(CoordinationItem, item_id)
        if item is None:
            errors["item_id"] = Message(N_("交办事项不存在：%(id)s"), id=item_id)
        else:
            if unit is not None and item.responsible_unit_id != unit.id:
                errors["item_id"] = Message(N_("所选交办事项的责任单位不是被通报单位"))
            elif not (was_late(item) or (item.status == "open" and local_today(now) > item.deadline)):
                errors["item_id"] = Message(N_("该交办事项未逾期，不能据此通报批评"))
    if errors or unit is None:
        raise InvalidInput(errors)
    at = now or utcnow()
    row = Criticism(unit_id=unit_id, year=local_today(at).year, item_id=item_id, reason=reason, recorded_by=actor.id, recorded_at=at)
    session.add(row)
    session.add(Event(kind="criticism", at=at, actor_id=actor.id, summary=f"通报批评 {unit.name}：{reason}"[:300],
                      payload={"unit_id": unit_id, "item_id": item_id, "year": row.year}))
    notify(session, [unit_id], sorted(permissions.roles_for("alerts.receive")), f"{unit.name}被通报批评：{reason}（当年取消优秀评选资格）", None)
    session.flush()
    return row


CASES_PAGE = 30


def cases_for(session: Session, user: User, page: int = 1, per_page: int = CASES_PAGE) -> Page[CoordinationCase]:
    """A page of the cases a user may see, newest first: county-wide roles see all; a unit sees those it raised or has items in."""
    query = select(CoordinationCase).order_by(CoordinationCase.submitted_at.desc(), CoordinationCase.id.desc())
    if not permissions.allowed(user, "supervision.view_county"):
        in_items = select(CoordinationItem.case_id).where(CoordinationItem.responsible_unit_id == user.unit_id)
        query = query.where((CoordinationCase.unit_id == user.unit_id) | CoordinationCase.id.in_(in_items))
    return page_of(session, query.options(selectinload(CoordinationCase.items)), page, per_page)


def may_see(user: User, case: CoordinationCase) -> bool:
    """County roles see every case; a unit sees the cases it raised or has an item in."""
    return (permissions.allowed(user, "supervision.view_county") or user.unit_id == case.unit_id
            or any(i.responsible_unit_id == user.unit_id for i in case.items))


def may_attach(user: User, case: CoordinationCase) -> bool:
    """Whether `user` may attach files to a 交办单: one who sees it and may attach for its raising or responsible units."""
    units = (case.unit_id, *(item.responsible_unit_id for item in case.items))
    return may_see(user, case) and permissions.allowed(user, "attachment.add", units=units)


def attach(session: Session, store: FileStore, upload: Upload, case_id: int, actor: User, max_bytes: int) -> Attachment:
    """Attach a file to a 交办单: the raising unit, the units with an item in it, or the county bodies that follow it.

    The attachment belongs to the case's project too, so downloading it follows the project's access.
    """
    case = session.get(CoordinationCase, case_id)
    if case is None:
        raise NotFound(N_("交办单 %(id)s 不存在"), id=case_id)
    if not may_attach(actor, case):
        raise NotAllowed(N_("只有报送单位、责任单位或县级有关部门可以为交办单上传附件"))
    return attachments.add(session, store, upload, actor, project_id=case.project_id, case_id=case.id, max_bytes=max_bytes,
                           where=f"（交办单“{case.title}”）")


def titles(session: Session, case_ids: set[int]) -> dict[int, str]:
    """The titles of these cases, for lists of attachments that name where each hangs."""
    if not case_ids:
        return {}
    found = session.execute(select(CoordinationCase.id, CoordinationCase.title).where(CoordinationCase.id.in_(sorted(case_ids))))
    return {case_id: title for case_id, title in found}
