"""Administrators' read side: the instances console, stuck detection with reasons in words,
the instance page (token states, data, tasks, events) and the per-activity heat of a definition.

Console, counts and the stuck list read the task and instance tables; only the instance page
and the dead-wait check restore workflows, from stored state (never the shared live object).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import ColumnElement, Exists, and_, func, or_, select
from sqlalchemy.orm import Session, aliased
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask
from SpiffWorkflow.bpmn.specs.mixins.none_task import NoneTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptEngineTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.util.task import TaskState

from engine.workflow import definitions, state, step_times
from engine.platform import permissions, sqltime
from engine.platform.config import Settings
from engine.platform.errors import EngineError, NotFound
from engine.workflow.health import as_utc
from engine.platform.models import Definition, Event, Instance, OrgUnit, Project, Task, User, UserRole, utcnow
from engine.workflow.orphans import reason as orphan_reason

STATUS_LABELS = {
    "running": "运行中",
    "timer": "等待定时器",
    "error": "出错",
    "suspended": "已挂起",
    "completed": "已完成",
    "terminated": "已终止",
}
STUCK_LABELS = {
    "error": "执行出错",
    "orphaned": "无人可办",
    "overdue": "严重超期",
    "no_way_on": "等待无出口",
    "idle": "长期无活动",
}
ACTIVITY_TYPES: tuple[tuple[type, str], ...] = (
    (UserTask, "用户任务"),
    (BusinessRuleTaskMixin, "业务规则任务"),
    (ScriptEngineTask, "脚本任务"),
    (ManualTask, "人工任务"),
    (NoneTask, "任务"),
    (SubWorkflowTask, "子流程"),
)
ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class AdminSettings:
    """Stuck thresholds, from the settings so the office can change them without code."""

    overdue_days: int = 7
    idle_days: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> "AdminSettings":
        """ZHIKONG_STUCK_OVERDUE_DAYS (overdue beyond due date) and ZHIKONG_STUCK_IDLE_DAYS (no activity)."""
        return cls(overdue_days=settings.stuck_overdue_days, idle_days=settings.stuck_idle_days)


# ---------------------------------------------------------------- console


def get_instance(session: Session, instance_id: int) -> Instance:
    """The instance or NotFound."""
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    return instance


@dataclass
class ConsoleFilter:
    """What the instances console narrows to; empty fields do not filter."""

    status: str = ""
    definition_id: Optional[int] = None
    activity: str = ""
    unit_id: Optional[int] = None
    deputy_id: Optional[int] = None
    overdue: bool = False


@dataclass
class InstanceRow:
    """One line of the console."""

    id: int
    project_id: int
    project_name: str
    process_id: str
    version: int
    status: str
    activities: list[str]
    unit_name: str
    deputy_name: str
    updated_at: datetime
    overdue_days: Optional[int]
    orphaned: bool
    error: Optional[dict[str, Any]]


def _has_ready() -> Exists:
    return select(Task.id).where(Task.instance_id == Instance.id, Task.status == "ready").exists()


def _status_condition(status: str) -> ColumnElement[bool]:
    """SQL for a console status; 'timer' is a running instance with no ready task and a timer pending."""
    waiting = and_(Instance.status == "running", ~_has_ready(), Instance.next_timer_at.is_not(None))
    if status == "timer":
        return waiting
    if status == "running":
        return and_(Instance.status == "running", ~waiting)
    return Instance.status == status


def display_status(instance: Instance, has_ready: bool) -> str:
    """The console's status key of one instance."""
    if instance.status == "running" and not has_ready and instance.next_timer_at is not None:
        return "timer"
    return instance.status


def counts(session: Session) -> dict[str, int]:
    """Instances per console status (running excludes those only waiting on a timer)."""
    by_status = dict(session.execute(select(Instance.status, func.count()).group_by(Instance.status)).all())
    waiting = session.scalar(select(func.count()).select_from(Instance).where(_status_condition("timer"))) or 0
    result = {key: int(by_status.get(key, 0)) for key in STATUS_LABELS}
    result["timer"] = waiting
    result["running"] = int(by_status.get("running", 0)) - waiting
    return result


def list_instances(
    session: Session, filters: ConsoleFilter, now: Optional[datetime] = None, limit: int = 50, offset: int = 0,
    status_counts: Optional[dict[str, int]] = None,
) -> tuple[list[InstanceRow], int]:
    """A page of instances matching the filters, newest activity first, and the total count.

    `status_counts` are the console's counts (`counts`) when the caller read them: a list
    narrowed by status alone, or not at all, takes its total from them instead of counting again."""
    now = now or utcnow()
    unit, deputy = aliased(OrgUnit), aliased(User)
    conditions = []
    if filters.status in STATUS_LABELS:
        conditions.append(_status_condition(filters.status))
    if filters.definition_id:
        conditions.append(Instance.definition_id == filters.definition_id)
    if filters.activity:
        conditions.append(
            select(Task.id).where(Task.instance_id == Instance.id, Task.status == "ready", Task.bpmn_id == filters.activity).exists()
        )
    if filters.unit_id:
        conditions.append(Project.landing_unit_id == filters.unit_id)
    if filters.deputy_id:
        conditions.append(Project.deputy_id == filters.deputy_id)
    if filters.overdue:
        conditions.append(select(Task.id).where(Task.instance_id == Instance.id, Task.status == "ready", Task.due_at < now).exists())
    if status_counts is not None and replace(filters, status="") == ConsoleFilter():
        total = status_counts[filters.status] if filters.status else sum(status_counts.values())
    else:
        counted = select(func.count()).select_from(Instance).where(*conditions)
        if filters.unit_id or filters.deputy_id:
            counted = counted.join(Project, Instance.project_id == Project.id)
        total = session.scalar(counted) or 0
    page = (  # the page's instances first, newest activity first (an index walk), then their names
        select(Instance.id)
        .join(Project, Instance.project_id == Project.id)
        .where(*conditions)
        .order_by(Instance.updated_at.desc(), Instance.id.desc())
        .limit(limit)
        .offset(offset)
    ).subquery()
    found = session.execute(
        select(Instance, Project.name, Definition.process_id, Definition.version, unit.name, deputy.display_name)
        .join(page, page.c.id == Instance.id)
        .join(Project, Instance.project_id == Project.id)
        .join(Definition, Instance.definition_id == Definition.id)
        .join(unit, Project.landing_unit_id == unit.id)
        .join(deputy, Project.deputy_id == deputy.id)
        .order_by(Instance.updated_at.desc(), Instance.id.desc())
    ).all()
    ids = [row[0].id for row in found]
    ready: dict[int, list[Task]] = {i: [] for i in ids}
    if ids:  # by instance alone (its index), the few rows of each then kept by status
        for task in session.scalars(select(Task).where(Task.instance_id.in_(ids))):
            if task.status in ("ready", "suspended"):
                ready[task.instance_id].append(task)
    rows = []
    for instance, project_name, process_id, version, unit_name, deputy_name in found:
        tasks = ready[instance.id]
        due = [as_utc(t.due_at) for t in tasks if t.due_at is not None and as_utc(t.due_at) < now]
        rows.append(
            InstanceRow(
                id=instance.id,
                project_id=instance.project_id,
                project_name=project_name,
                process_id=process_id,
                version=version,
                status=display_status(instance, any(t.status == "ready" for t in tasks)),
                activities=[t.name for t in tasks],
                unit_name=unit_name,
                deputy_name=deputy_name,
                updated_at=as_utc(instance.updated_at),
                overdue_days=(now - min(due)).days if due else None,
                orphaned=any(t.orphaned_at is not None and t.status == "ready" for t in tasks),
                error=instance.error if instance.status == "error" else None,
            )
        )
    return rows, total


def filter_choices(session: Session) -> dict[str, list[tuple[Any, str]]]:
    """Options for the console's selects: definitions with versions, their user tasks, units, deputies."""
    defs = session.execute(select(Definition.id, Definition.process_id, Definition.version).order_by(Definition.process_id, Definition.version)).all()
    activities: dict[str, str] = {}
    for definition in defs:
        try:
            metas = definitions.load(session, definition.id).user_tasks.values()
        except EngineError:  # a version that no longer builds still lists in the console, without its steps
            continue
        for meta in metas:
            activities.setdefault(meta.bpmn_id, meta.name)
    units = session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.kind.in_(("zone", "town"))).order_by(OrgUnit.id)).all()
    deputies = session.execute(
        select(User.id, User.display_name)
        .where(User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(sorted(permissions.roles_for("project.take_charge"))))))
        .order_by(User.id)
    ).all()
    return {
        "definitions": [(d.id, f"{d.process_id} 第{d.version}版") for d in defs],
        "activities": [(key, f"{name}（{key}）") for key, name in sorted(activities.items(), key=lambda item: item[1])],
        "units": [(u.id, u.name) for u in units],
        "deputies": [(d.id, d.display_name) for d in deputies],
    }


# ---------------------------------------------------------------- stuck detection


@dataclass
class Stuck:
    """One reason an instance is stuck, in words."""

    kind: str
    instance_id: int
    project_id: int
    project_name: str
    reason: str
    since: Optional[datetime]
    bpmn_id: str = ""
    task_id: Optional[int] = None

    @property
    def label(self) -> str:
        """The kind in Chinese."""
        return STUCK_LABELS[self.kind]


def describe_error(error: dict[str, Any]) -> str:
    """An Instance.error dict as one sentence: element, exception type and message, script line."""
    element = error.get("element_name") or error.get("bpmn_id") or "未知环节"
    kind = error.get("type", "")
    message = (error.get("message") or "").strip()
    if kind and message.startswith(f"{kind}:"):
        message = message[len(kind) + 1:].strip()
    text = f"“{element}”（{error.get('bpmn_id', '')}）执行出错：{kind}：{message}"
    if error.get("line_number"):
        text += f"；第 {error['line_number']} 行"
        if error.get("error_line"):
            text += f"：{error['error_line'].strip()}"
    return text


def find_stuck(
    session: Session, settings: Optional[AdminSettings] = None, now: Optional[datetime] = None, limit: int = 200
) -> list[Stuck]:
    """Every stuck instance with its reasons: errors, orphaned and long-overdue tasks, dead waits, idleness."""
    settings = settings or AdminSettings.from_settings(Settings.load())
    now = now or utcnow()
    found: list[Stuck] = []
    errored = session.execute(
        select(Instance, Project.name).join(Project, Instance.project_id == Project.id).where(Instance.status == "error").limit(limit)
    ).all()
    for instance, name in errored:
        error = instance.error or {}
        found.append(Stuck("error", instance.id, instance.project_id, name, describe_error(error), as_utc(instance.updated_at), error.get("bpmn_id", "")))
    orphaned = session.execute(
        select(Task, Project.name).join(Project, Task.project_id == Project.id)
        .where(Task.status == "ready", Task.orphaned_at.is_not(None)).order_by(Task.orphaned_at).limit(limit)
    ).all()
    for task, name in orphaned:
        text = f"“{task.name}”无人可办，任何人的待办中都看不到它：{orphan_reason(session, task)}"
        found.append(Stuck("orphaned", task.instance_id, task.project_id, name, text, as_utc(task.orphaned_at), task.bpmn_id, task.id))
    limit_due = now - timedelta(days=settings.overdue_days)
    overdue = session.execute(
        select(Task, Project.name).join(Project, Task.project_id == Project.id)
        .where(Task.status == "ready", Task.due_at < limit_due).order_by(Task.due_at).limit(limit)
    ).all()
    for task, name in overdue:
        assert task.due_at is not None  # the query kept only tasks past their due time
        days = (now - as_utc(task.due_at)).days
        text = f"“{task.name}”已超期 {days} 天（应于 {as_utc(task.due_at):%Y-%m-%d} 前办理，超期阈值 {settings.overdue_days} 天）"
        found.append(Stuck("overdue", task.instance_id, task.project_id, name, text, as_utc(task.due_at), task.bpmn_id, task.id))
    found.extend(_dead_waits(session, limit))
    idle_since = now - timedelta(days=settings.idle_days)
    idle = session.execute(  # longest unmoved first, walking the instances' update index until the page is full
        select(Instance, Project.name, Project.last_progress_at).join(Project, Instance.project_id == Project.id)
        # status through coalesce: SQLite would otherwise read every running instance by status and sort them
        .where(func.coalesce(Instance.status, "") == "running", Instance.updated_at < idle_since, or_(Project.last_progress_at.is_(None), Project.last_progress_at < idle_since))
        .order_by(Instance.updated_at, Instance.id).limit(limit)
    ).all()
    for instance, name, progress_at in idle:
        last = max(t for t in (as_utc(instance.updated_at), as_utc(progress_at)) if t is not None)
        text = f"已连续 {(now - last).days} 天没有任何办理、流程推进或进展更新（阈值 {settings.idle_days} 天）"
        found.append(Stuck("idle", instance.id, instance.project_id, name, text, last))
    return found


def _dead_waits(session: Session, limit: int) -> list[Stuck]:
    """Running instances with no ready task and no timer: load each and say what it waits on."""
    # the running instances without a timer first (a range of the timer index, each one's ready task looked up by its
    # key), then the few found with their projects: joined at once, PostgreSQL walked every instance in project order
    waiting = select(Instance.id).where(Instance.status == "running", Instance.next_timer_at.is_(None), ~_has_ready()).limit(limit)
    candidates = session.execute(
        select(Instance, Project.name).join(Project, Instance.project_id == Project.id)
        .where(Instance.id.in_(list(session.scalars(waiting)))).order_by(Instance.id)
    ).all()
    found = []
    for instance, name in candidates:
        loaded = definitions.load(session, instance.definition_id)
        workflow = state.restore(instance.state, loaded.spec, loaded.subprocess_specs)
        text = _why_waiting(workflow)
        if text:
            found.append(Stuck("no_way_on", instance.id, instance.project_id, name, text, as_utc(instance.updated_at)))
    return found


def _why_waiting(workflow: BpmnWorkflow) -> Optional[str]:
    """None when the workflow waits on a timer or message; otherwise why it cannot go on."""
    tasks = all_tasks(workflow)
    unmirrored = [t for t in tasks if t.has_state(TaskState.READY) and t.task_spec.manual]
    if unmirrored:
        names = "、".join(element_name(t.task_spec) for t in unmirrored)
        return f"流程中“{names}”处于待办状态，但任务表中没有对应待办，任何人的收件箱都看不到它"
    waiting = [t for t in tasks if t.has_state(TaskState.WAITING) and getattr(t.task_spec, "event_definition", None) is not None]
    if any(isinstance(t.task_spec.event_definition, (TimerEventDefinition, MessageEventDefinition)) for t in waiting):
        return None
    if waiting:
        names = "、".join(f"“{element_name(t.task_spec)}”（{type(t.task_spec.event_definition).__name__}）" for t in waiting)
        return f"流程停在{names}等待事件，没有待办任务，也没有待触发的定时器或消息"
    return "流程在等待，但没有待办任务，也没有待触发的定时器或消息，无法继续推进"


# ---------------------------------------------------------------- instance page


@dataclass
class InstanceDetail:
    """Everything the instance page shows: diagram with token states, data, tasks and events."""

    instance: Instance
    project: Project
    definition: Definition
    bpmn_xml: str
    tokens: dict[str, str]
    data: dict[str, Any]
    errored_data: Optional[dict[str, Any]]
    tasks: list[Task]
    events: list[Event]
    orphan_reasons: dict[int, str]
    move_targets: list[tuple[str, str, str]]
    actors: dict[int, str] = field(default_factory=dict)


def all_tasks(workflow: BpmnWorkflow) -> list[Any]:
    tasks = list(workflow.tasks.values())
    for sub in workflow.subprocesses.values():
        tasks.extend(sub.tasks.values())
    return tasks


def element_name(spec: Any) -> str:
    name: str = getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name
    return name


def token_states(workflow: BpmnWorkflow) -> dict[str, str]:
    """Per BPMN element: errored, active or completed (the strongest state any of its tasks has)."""
    rank = {"completed": 1, "active": 2, "errored": 3}
    result: dict[str, str] = {}
    for task in all_tasks(workflow):
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.has_state(TaskState.ERROR):
            mark = "errored"
        elif task.has_state(ACTIVE):
            mark = "active"
        elif task.has_state(TaskState.COMPLETED):
            mark = "completed"
        else:
            continue
        if rank[mark] > rank.get(result.get(bpmn_id, ""), 0):
            result[bpmn_id] = mark
    return result


def process_xml(definition: Definition) -> str:
    """The BPMN file of a definition bundle that holds its process."""
    marker = f'id="{definition.process_id}"'
    bpmn = [text for name, text in sorted(definition.files.items()) if name.endswith(".bpmn")]
    return next((text for text in bpmn if marker in text), bpmn[0] if bpmn else "")


def move_targets(loaded: definitions.LoadedDefinition) -> list[tuple[str, str, str]]:
    """(bpmn_id, name, type) of every activity of the process a token may be moved to."""
    targets = []
    for spec in loaded.spec.task_specs.values():
        kind = activity_type(spec)
        if kind:
            targets.append((spec.bpmn_id, element_name(spec), kind))
    return sorted(targets, key=lambda t: t[1])


def activity_type(spec: Any) -> Optional[str]:
    if not getattr(spec, "bpmn_id", None):
        return None
    return next((label for cls, label in ACTIVITY_TYPES if isinstance(spec, cls)), None)


def instance_detail(session: Session, instance_id: int, event_limit: int = 500) -> InstanceDetail:
    """Load one instance for the admin page (its stored state, never the shared live object)."""
    instance = get_instance(session, instance_id)
    project = session.get(Project, instance.project_id)
    definition = session.get(Definition, instance.definition_id)
    assert project is not None and definition is not None
    loaded = definitions.load(session, instance.definition_id)
    workflow = state.restore(instance.state, loaded.spec, loaded.subprocess_specs)
    errored = [t for t in all_tasks(workflow) if t.has_state(TaskState.ERROR)]
    active = [t for t in all_tasks(workflow) if t.has_state(ACTIVE)]
    current = errored or active
    data = dict(current[0].data) if current else dict(workflow.last_task.data if workflow.last_task else workflow.data)
    tasks = list(session.scalars(select(Task).where(Task.instance_id == instance.id).order_by(Task.id)))
    events = list(
        session.scalars(select(Event).where(Event.instance_id == instance.id).order_by(Event.id.desc()).limit(event_limit))
    )
    actor_ids = {e.actor_id for e in events if e.actor_id} | {t.completed_by for t in tasks if t.completed_by} | {
        t.assignee_id for t in tasks if t.assignee_id
    }
    actors = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(actor_ids))).all()) if actor_ids else {}
    return InstanceDetail(
        instance=instance,
        project=project,
        definition=definition,
        bpmn_xml=process_xml(definition),
        tokens=token_states(workflow),
        data=data,
        errored_data=dict(errored[0].data) if errored else None,
        tasks=tasks,
        events=events,
        orphan_reasons={t.id: orphan_reason(session, t) for t in tasks if t.orphaned_at is not None and t.status == "ready"},
        move_targets=move_targets(loaded),
        actors=actors,
    )


@dataclass
class HeatCell:
    """Per activity of a definition: instances there now, how long they have waited, how long it usually takes."""

    running: int = 0
    errored: int = 0
    avg_wait_hours: Optional[float] = None
    avg_done_hours: Optional[float] = None
    done: int = 0


def heat(session: Session, definition_id: int, now: Optional[datetime] = None) -> dict[str, HeatCell]:
    """Per-activity counts of running instances and average time spent: the waiting tasks from the task table's status index, the completed ones from the step-time sums."""
    now = now or utcnow()
    cells: dict[str, HeatCell] = {}
    # through the status index, which carries the step and the instance: coalesce keeps SQLite from walking each instance's tasks instead
    waiting_of_definition = func.coalesce(Task.instance_id, 0).in_(select(Instance.id).where(Instance.definition_id == definition_id))
    now_value = sqltime.moment(session, now)
    waiting = session.execute(
        select(Task.bpmn_id, func.count(), func.avg(sqltime.seconds_between(session, Task.created_at, now_value)))
        .where(waiting_of_definition, Task.status.in_(("ready", "suspended"))).group_by(Task.bpmn_id)
    ).all()
    for bpmn_id, count, seconds in waiting:
        cell = cells.setdefault(bpmn_id, HeatCell())
        cell.running, cell.avg_wait_hours = int(count), round(float(seconds) / 3600, 1) if seconds is not None else None
    for bpmn_id, (count, seconds) in step_times.of_definition(session, definition_id, now).items():
        cell = cells.setdefault(bpmn_id, HeatCell())
        cell.done, cell.avg_done_hours = count, round(seconds / count / 3600, 1) if count else None
    # the few instances in error first, by the status index: led by the definition, SQLite read every instance of it
    errored = select(Instance.error).where(func.coalesce(Instance.definition_id, 0) == definition_id, Instance.status == "error")
    for (error,) in session.execute(errored):
        bpmn_id = (error or {}).get("bpmn_id")
        if bpmn_id:
            cells.setdefault(bpmn_id, HeatCell()).errored += 1
    return cells
