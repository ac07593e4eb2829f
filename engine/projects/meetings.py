"""Batched meeting steps (研判小组会议, 领导小组会议, 县长办公会议, 县委常委会).

A user task whose BPMN carries `<spiffworkflow:property name="meeting" value="KIND"/>` is
decided at a meeting of that kind: the secretary (or the office) opens a meeting with its date
and attendees, the agenda is every project waiting at such a step, and one submission records
each project's decision through runtime.complete_task, all in the caller's one transaction.
A major project (重大项目) may also be decided on its own task page, outside the monthly meeting.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Optional

from jsonschema.protocols import Validator

from sqlalchemy import Date, DateTime, ForeignKey, Integer, Select, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.projects import lifecycle
from engine.workflow import definitions, forms, runtime
from engine.platform import inputs, permissions
from engine.projects import queries
from engine.platform.errors import InvalidInput, NotAllowed, NotFound
from engine.platform.messages import N_, Message, label
from engine.platform.models import Base, Definition, Event, Instance, Project, Task, User, utcnow
from engine.platform.org import can_act

KIND_NAMES = {
    "assessment": "研判小组会议",
    "leading_group": "领导小组会议",
    "county_head_meeting": "县长办公会议",
    "standing_committee": "县委常委会",
}
DEFER = "__defer__"
DEFERRED = "deferred"
ALL_DEFERRED = "all_deferred"  # the form field that confirms closing a meeting that deferred every project
HANDLED_ELSEWHERE = "handled_elsewhere"
MAX_ATTENDEES = 2000


class Meeting(Base):
    """One sitting of a meeting body; its items are the agenda and, once closed, the minutes."""

    __tablename__ = "meeting"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    number: Mapped[int] = mapped_column(Integer)
    held_on: Mapped[date] = mapped_column(Date)
    host: Mapped[str] = mapped_column(String(80), default="")
    location: Mapped[str] = mapped_column(String(120), default="")
    attendees: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    opened_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_by: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))


class MeetingItem(Base):
    """One project on a meeting's agenda and the decision the meeting recorded for it."""

    __tablename__ = "meeting_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(40), default="")
    opinion: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class MeetingKind:
    """A kind of meeting as the deployed BPMN defines it: key, name and the role that decides."""

    key: str
    name: str
    role: str


def kind_name(key: str) -> str:
    """Chinese name of a meeting kind (the key itself for a kind a process owner added)."""
    return KIND_NAMES.get(key, key)


def kinds(session: Session) -> dict[str, MeetingKind]:
    """Meeting kinds of the newest lifecycle definition, in BPMN order."""
    loaded = definitions.load(session, definitions.latest_id(session, lifecycle.LIFECYCLE))
    result: dict[str, MeetingKind] = {}
    for meta in loaded.user_tasks.values():
        if meta.meeting and meta.meeting not in result:
            result[meta.meeting] = MeetingKind(meta.meeting, kind_name(meta.meeting), meta.role)
    order = list(KIND_NAMES)
    return dict(sorted(result.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


def meeting_of(session: Session, task: Task) -> str:
    """The meeting kind that decides this task, or "" for an ordinary task."""
    meta = runtime.definition_of(session, task).user_tasks.get(task.bpmn_id)
    return meta.meeting if meta else ""


def individual_decision_allowed(session: Session, task: Task, project: Project) -> bool:
    """An ordinary step, or a meeting step of a major project (重大项目随时研判)."""
    return not meeting_of(session, task) or bool(project.is_major)


def waiting_tasks(session: Session, kind: str) -> list[Task]:
    """Ready tasks at a meeting step of `kind`, across every definition version in use, oldest first."""
    tasks: list[Task] = []
    for definition_id, steps in _steps_in_use(session, kind):
        tasks += session.scalars(_waiting(definition_id, steps)).all()
    return sorted(tasks, key=lambda t: (t.created_at, t.id))


def waiting_names(session: Session, kind: str) -> list[str]:
    """The names of the projects waiting at a meeting step of `kind`, oldest first (the agenda a sitting would get)."""
    rows = [row for definition_id, steps in _steps_in_use(session, kind)
            for row in session.execute(_waiting(definition_id, steps).with_only_columns(Task.created_at, Task.id, Project.name)
                                       .join(Project, Project.id == Task.project_id))]
    return [name for _created, _id, name in sorted(rows, key=lambda row: (row[0], row[1]))]


def waiting_count(session: Session, kind: str) -> int:
    """How many ready tasks wait at a meeting step of `kind` (the meetings page's figure), counted in SQL."""
    return sum(session.scalar(_waiting(definition_id, steps).with_only_columns(func.count())) or 0
               for definition_id, steps in _steps_in_use(session, kind))


def _steps_in_use(session: Session, kind: str) -> list[tuple[int, list[str]]]:
    """Each definition version with a running instance, and its steps decided at a meeting of `kind`."""
    running = select(Instance.id).where(Instance.definition_id == Definition.id, Instance.status == "running").exists()
    found = []
    for definition_id in session.scalars(select(Definition.id).where(running)):
        steps = [m.bpmn_id for m in definitions.load(session, definition_id).user_tasks.values() if m.meeting == kind]
        if steps:
            found.append((definition_id, steps))
    return found


def _waiting(definition_id: int, steps: list[str]) -> Select[Task]:
    """The ready tasks at these steps of one definition version (through the ready-by-step index)."""
    return (
        select(Task)
        .join(Instance, Instance.id == Task.instance_id)
        .where(Task.status == "ready", Task.bpmn_id.in_(steps), Instance.definition_id == definition_id)
    )


def may_convene(user: User, kind: MeetingKind) -> bool:
    """The meeting's secretary (holder of its role) or the office may open a meeting."""
    return permissions.allowed(user, "meeting.convene", meeting=kind.role)


def open_meeting(session: Session, kind_key: str, fields: dict[str, Any], actor: User) -> Meeting:
    """Open a meeting of a kind with its date, host, place and attendees; the agenda is every waiting project."""
    kind = kinds(session).get(kind_key)
    if kind is None:
        raise NotFound(N_("没有“%(kind)s”这种会议"), kind=kind_key)
    if not may_convene(actor, kind):
        raise NotAllowed(N_("只有%(kind)s秘书或领导小组办公室可以召开%(kind)s"), kind=label(kind.name))
    errors: dict[str, str] = {}
    held_on = inputs.day(fields.get("held_on"), "held_on", N_("会议日期"), errors, required=True)
    attendees = inputs.text(fields.get("attendees"), "attendees", N_("参会人员"), MAX_ATTENDEES, errors, required=True, multiline=True)
    host = inputs.text(fields.get("host"), "host", N_("主持人"), 80, errors)
    location = inputs.text(fields.get("location"), "location", N_("会议地点"), 120, errors)
    if errors:
        raise InvalidInput(errors)
    if not waiting_count(session, kind.key):
        raise InvalidInput({"_form": Message(N_("目前没有等待%(kind)s审议的项目，无需召开会议"), kind=label(kind.name))})
    assert held_on is not None
    year_start = date(held_on.year, 1, 1)
    number = (
        session.scalar(
            select(func.count(Meeting.id)).where(Meeting.kind == kind.key, Meeting.held_on >= year_start, Meeting.held_on < date(held_on.year + 1, 1, 1))
        )
        or 0
    ) + 1
    meeting = Meeting(
        kind=kind.key, number=number, held_on=held_on, host=host, location=location, attendees=attendees,
        status="open", opened_by=actor.id, opened_at=utcnow(),
    )
    session.add(meeting)
    session.flush()
    _build_agenda(session, meeting)
    return meeting


def title(meeting: Meeting) -> str:
    """The meeting's name as minutes are headed: 2026年第3次研判小组会议."""
    return f"{meeting.held_on.year}年第{meeting.number}次{kind_name(meeting.kind)}"


def _build_agenda(session: Session, meeting: Meeting) -> None:
    """Put every project waiting at the meeting's step on its agenda, unless another open sitting has it."""
    on_open_agendas = set(
        session.scalars(
            select(MeetingItem.task_id).join(Meeting, Meeting.id == MeetingItem.meeting_id).where(Meeting.status == "open")
        )
    )
    position = 0
    for task in waiting_tasks(session, meeting.kind):
        if task.id in on_open_agendas:
            continue
        position += 1
        session.add(MeetingItem(meeting_id=meeting.id, task_id=task.id, project_id=task.project_id, position=position))
    if not position:
        raise InvalidInput({"_form": Message(N_("等待%(kind)s审议的项目都已列入其他尚未结束的会议"), kind=label(kind_name(meeting.kind)))})
    session.flush()


def agenda(session: Session, meeting_id: int) -> list[MeetingItem]:
    """The meeting's items in agenda order."""
    return list(session.scalars(select(MeetingItem).where(MeetingItem.meeting_id == meeting_id).order_by(MeetingItem.position)))


def get(session: Session, meeting_id: int) -> Meeting:
    """A meeting by id, or NotFound."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(N_("会议 %(id)s 不存在"), id=meeting_id)
    return meeting


def record_decisions(session: Session, meeting_id: int, actor: User, submitted: dict[int, dict[str, Any]],
                     all_deferred_confirmed: bool = False) -> int:
    """Record the meeting's decision for every agenda item and close it, in the caller's one transaction.

    `submitted` maps item id to that project's form data (decision, opinion); a decision of
    DEFER leaves the project waiting for the next meeting. Every item is validated before
    any is completed, so one bad value stores nothing. A meeting that would close having
    deferred every project it could decide is refused unless `all_deferred_confirmed`.
    Returns the number of projects decided.
    """
    meeting = get(session, meeting_id)
    if meeting.status != "open":
        raise InvalidInput({"_form": Message(N_("%(meeting)s已结束，不能再次提交"), meeting=title(meeting))})
    items = agenda(session, meeting.id)
    errors: dict[str, str] = {}
    plan: list[tuple[MeetingItem, Task, dict[str, Any]]] = []
    now = utcnow()
    for item in items:
        task = session.get(Task, item.task_id)
        assert task is not None
        if task.status != "ready":
            item.decision = HANDLED_ELSEWHERE
            continue
        if not can_act(actor, task):
            raise NotAllowed(N_("您没有记录“%(task)s”结果的权限（需要%(role)s角色）"), task=task.name,
                             role=label(permissions.role_name(task.role)))
        raw = submitted.get(item.id, {})
        if raw.get("decision") == DEFER:
            opinion = inputs.text(raw.get("opinion"), f"item-{item.id}-opinion", N_("意见"), 2000, errors, multiline=True)
            item.decision, item.opinion, item.decided_at = DEFERRED, opinion, now
            continue
        schema = runtime.form_schema(session, task)
        data = forms.coerce(schema, raw)
        try:
            forms.validate(schema, _validator(session, task), data)
        except InvalidInput as exc:
            errors.update({f"item-{item.id}-{field}": message for field, message in exc.errors.items()})
            continue
        plan.append((item, task, data))
    if errors:
        raise InvalidInput(errors)
    deferred = [item for item in items if item.decision == DEFERRED]
    if not plan and deferred and not all_deferred_confirmed:
        raise InvalidInput({ALL_DEFERRED: Message(N_("本次会议的%(n)s个项目全部暂缓审议：提交后会议结束，不形成任何审议结果，"
                                                     "项目留待下次会议。确认无误请勾选“确认全部暂缓并结束会议”后再提交"), n=len(deferred))})
    for item, task, data in plan:
        runtime.complete_task(session, task.id, actor, data, at_meeting=True)
        item.decision, item.opinion, item.decided_at = str(data.get("decision", "")), str(data.get("opinion", "")), now
        session.add(
            Event(
                kind="meeting",
                at=utcnow(),
                project_id=task.project_id,
                instance_id=task.instance_id,
                actor_id=actor.id,
                bpmn_id=task.bpmn_id,
                summary=f"{title(meeting)}（{meeting.held_on.isoformat()}）审议：{queries.choice_label(runtime.form_schema(session, task), 'decision', item.decision)}"[:300],
                payload={"meeting_id": meeting.id, "data": data},
            )
        )
    meeting.status, meeting.closed_by, meeting.closed_at = "closed", actor.id, now
    session.flush()
    return len(plan)


def _validator(session: Session, task: Task) -> Validator:
    """The compiled validator of the task's form on its instance's definition version."""
    definition_id = session.execute(select(Instance.definition_id).where(Instance.id == task.instance_id)).scalar_one()
    return definitions.load(session, definition_id).validator(task.form)


def recent(session: Session, limit: int = 30) -> list[Meeting]:
    """Meetings newest first (open ones included)."""
    return list(session.scalars(select(Meeting).order_by(Meeting.held_on.desc(), Meeting.id.desc()).limit(limit)))


def open_meetings(session: Session, kind_key: str) -> list[Meeting]:
    """Meetings of a kind still waiting for their decisions."""
    return list(session.scalars(select(Meeting).where(Meeting.kind == kind_key, Meeting.status == "open").order_by(Meeting.id)))


def set_major(session: Session, project_id: int, major: bool, actor: User) -> Project:
    """The office flags or unflags a project as major (重大项目: may be decided outside the monthly meeting)."""
    permissions.require(actor, "project.flag_major", N_("只有领导小组办公室可以认定重大项目"))
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(N_("项目 %(id)s 不存在"), id=project_id)
    if bool(project.is_major) != major:
        project.is_major = major
        session.add(
            Event(
                kind="major",
                at=utcnow(),
                project_id=project.id,
                actor_id=actor.id,
                summary=f"{actor.display_name}{'认定为重大项目' if major else '取消重大项目认定'}",
            )
        )
    return project
