"""Running workflows: start, load, complete, advance and log; every BPMN process runs through these.

The core knows no domain: what a workflow starts with and how a record follows a completed
form come from the subject hooks, and how a process's ledger follows its workflow (a
decision, a stage, an end) from that process's hooks (engine.workflow.hooks).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Optional
from uuid import UUID

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.platform import audit, db, permissions
from engine.workflow import definitions, forms, handover, hooks, state
from engine.workflow.definitions import LoadedDefinition
from engine.workflow.due import next_timer_at
from engine.platform.errors import AlreadyCompleted, ConcurrentUpdate, DecidedAtMeeting, EngineError, InvalidInput, LimitExceeded, NotAllowed, NotFound
from engine.platform.messages import N_, Message, label
from engine.platform.models import Instance, Project, Task, User, utcnow
from engine.platform.org import acts_in_own_right, delegated_to, scope_of
from engine.platform.prepared import Prepared, attached, column_keys, prebuilt
from engine.workflow.sandbox import SCRIPT_ENGINE, check_task_data
from engine.workflow.sandbox import active as sandbox_limits
from engine.workflow.sandbox.steps import StepGuard

_READ = ((Task, column_keys(Task)), (Instance, column_keys(Instance, leave_out=("state",))), (Project, column_keys(Project)))
"""What a completion reads of each model: every column but the instance's stored state."""
_TASK_AND_SIBLINGS = Prepared(
    select(*(getattr(model, key) for model, keys in _READ for key in keys))
    .join(Instance, Task.instance_id == Instance.id)
    .join(Project, Task.project_id == Project.id)
    .where(
        Task.instance_id == select(Task.instance_id).where(Task.id == bindparam("task_id")).scalar_subquery(),
        or_(Task.id == bindparam("task_id"), Task.status == "ready"),
    )
)
"""A task with its instance and project, and the instance's other ready rows (what the completion re-syncs), in one prebuilt read.

The stored state is read only when the live workflow is not in this process's cache.
"""


def task_and_siblings(session: Session, task_id: int) -> tuple[Optional[tuple[Task, Instance, Project]], list[Task]]:
    """The task with its instance and project, and the instance's other ready tasks, as the session's loaded objects."""
    found, siblings = None, []
    task_keys, instance_keys, project_keys = (keys for _, keys in _READ)
    split, end = len(task_keys), len(task_keys) + len(instance_keys)
    rows = _TASK_AND_SIBLINGS.rows(session, {"task_id": task_id})
    if not rows:
        return None, []
    instance = attached(session, Instance, dict(zip(instance_keys, rows[0][split:end])))
    project = attached(session, Project, dict(zip(project_keys, rows[0][end:])))
    for row in rows:
        task = attached(session, Task, dict(zip(task_keys, row[:split])))
        if task.id == task_id:
            found = (task, instance, project)
        else:
            siblings.append(task)
    return found, siblings


_CLAIM = Prepared(
    update(Task.__table__)
    .where(Task.__table__.c.id == bindparam("task_id"), Task.__table__.c.status == "ready")
    .values(status=bindparam("status"), completed_by=bindparam("completed_by"),
            completed_at=bindparam("completed_at"), data=bindparam("data"))
)
"""Claim a ready task: matches no row when another request completed it first."""


INSTANCES_READ = "runtime_instances_read"  # session.info: instance id → the instance row read in this unit of work
STATE_COLUMNS = ("state", "status", "error", "next_timer_at", "updated_at")
"""What advancing an instance changes on its row."""
SETTLED_COLUMNS = ("status", "error", "next_timer_at")
"""Of those, the ones most advances leave as they were: written only when they changed, since SQLite rewrites the entries of
every index on a column an UPDATE names (the timer sweep's and the status indexes), changed or not."""

_TASK_COLUMNS = column_keys(Task, leave_out=("id",))
_INSERT_TASK = Prepared(insert(Task.__table__).values({key: bindparam(key) for key in _TASK_COLUMNS}).returning(Task.__table__.c.id))
"""A new task row, its id returned."""

_INSERT_INSTANCE = Prepared(insert(Instance.__table__).values({key: bindparam(key) for key in column_keys(Instance, leave_out=("id",))})
                            .returning(Instance.__table__.c.id))
"""A new instance row, its id returned."""

def _save_statement(keys: tuple[str, ...]) -> Prepared:
    """The prebuilt UPDATE that stores an advanced instance's row at the revision it was read at: these state columns, and the
    revision moved."""
    table = Instance.__table__
    return prebuilt(("save_instance", keys), lambda: update(table).where(table.c.id == bindparam("b_id"), table.c.revision == bindparam("b_revision"))
                    .values({key: bindparam(key) for key in (*keys, "revision")}))


@dataclass
class Outcome:
    """What a start or completion left behind: status, the new ready tasks, any error."""

    project_id: int
    instance_id: int
    status: str
    ready: list[Task]
    error: Optional[dict[str, Any]]


def start_instance(
    session: Session,
    project: Project,
    definition_id: int,
    actor: Optional[User],
    data: Optional[dict[str, Any]] = None,
    summary: str = "登记项目线索并启动流程",
) -> Outcome:
    """Create a workflow of the definition's process for the project, its facts plus `data` as start data, and run it to the first wait."""
    loaded = definitions.load(session, definition_id)
    workflow = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=SCRIPT_ENGINE)
    start = workflow.get_tasks(state=TaskState.READY)[0]
    start.data.update(hooks.subject().facts(project))
    start.data.update(data or {})
    now = utcnow()
    row = {"project_id": project.id, "process_id": loaded.process_id, "definition_id": definition_id, "state": "", "status": "running",
           "error": None, "next_timer_at": None, "created_at": now, "updated_at": now, "revision": 1}  # an inserted row's first revision
    ((instance_id,),) = _INSERT_INSTANCE.rows(session, row)
    instance = attached(session, Instance, {"id": instance_id, **row})
    log(session, "start", instance, project, actor, "", f"{summary}（第{definition_id}号定义）", None)
    return advance(session, instance, project, workflow, loaded, actor, ready_rows=[])  # a new instance has no task rows yet


def complete_task(
    session: Session, task_id: int, actor: User, data: dict[str, Any], at_meeting: bool = False
) -> Outcome:
    """Complete a ready task as `actor` with form `data`; one transaction, distinct errors otherwise.

    A step the BPMN marks as decided at a meeting is completed only from that meeting
    (`at_meeting`), unless the subject is exempt (a major project: 重大项目随时研判).
    """
    found, siblings = task_and_siblings(session, task_id)
    if found is None:
        raise NotFound(N_("任务 %(id)s 不存在"), id=task_id)
    task, instance, project = found
    if task.status != "ready":
        raise AlreadyCompleted(_already_done_message(session, task))
    # a colleague's delegations are read only when the actor may not act in their own right
    own_right = acts_in_own_right(actor, task)
    principal_id = None if own_right else delegated_to(session, actor).delegator_of(actor, task)
    if principal_id is None and not own_right:
        raise NotAllowed(N_("您没有办理“%(task)s”的权限（需要%(role)s角色且属于该项目的办理范围）"), task=task.name,
                         role=label(permissions.role_name(task.role)))
    holder = handover.held_by_other(session, task, actor) if task.claimed_by not in (None, actor.id) else None
    if holder is not None:
        raise NotAllowed(N_("“%(task)s”已由%(name)s认领，请与其联系或等待其释放"), task=task.name, name=holder.display_name)
    if instance.status == "suspended":
        raise NotAllowed(N_("该项目流程已被管理员挂起，暂不能办理"))
    loaded = definitions.load(session, instance.definition_id)
    meta = loaded.user_tasks[task.bpmn_id]
    if meta.meeting and not at_meeting and not hooks.subject().meeting_exempt(project):
        raise DecidedAtMeeting(N_("“%(task)s”由会议集体研究决定，请在会议中办理（重大项目可单独办理）"), task=task.name)
    forms.validate(loaded.forms[meta.form], loaded.validator(meta.form), data)
    try:
        check_task_data(data, sandbox_limits())
    except LimitExceeded as exc:
        raise InvalidInput({"表单": exc.message}) from None
    now = utcnow()
    claim = {"task_id": task.id, "status": "completed", "completed_by": actor.id, "completed_at": now, "data": data}
    if _CLAIM.run(session, claim).rowcount != 1:
        session.expire(task)
        raise AlreadyCompleted(_already_done_message(session, task))
    for key in ("status", "completed_by", "completed_at", "data"):
        set_committed_value(task, key, claim[key])
    db.wrote(session, [task])
    workflow = checkout(instance, loaded)
    spiff_task = workflow.get_task_from_id(UUID(task.spiff_task_id))
    if spiff_task is None or spiff_task.state != TaskState.READY:
        raise ConcurrentUpdate(N_("任务“%(task)s”的流程状态已变化，请刷新后重试"), task=task.name)
    changed = hooks.subject().form_completed(project, data)
    spiff_task.set_data(**data)
    failure = run_task(spiff_task)
    principal = session.get(User, principal_id) if principal_id is not None else None
    acted = f"{actor.display_name}（受{principal.display_name}委托）" if principal is not None else actor.display_name
    summary = f"{acted}办理“{task.name}”" + (f"：{data['decision']}" if "decision" in data else "")
    if changed:
        summary += "；修改项目信息：" + "；".join(f"{hooks.subject().label(field)} {old}→{new}" for field, (old, new) in changed.items())
    payload: dict[str, Any] = {"task_id": task.id, "data": data, **({"record_changes": changed} if changed else {})}
    if principal is not None:
        payload["on_behalf_of"] = principal.id
    log(session, "complete", instance, project, actor, task.bpmn_id, summary[:300], payload)
    return advance(session, instance, project, workflow, loaded, actor, ready_rows=siblings, failure=failure)


def run_task(spiff_task: Any) -> Optional[dict[str, Any]]:
    """Run one ready task (its post-script included); the error it stopped with, described, or None."""
    try:
        spiff_task.run()
    except SpiffWorkflowException as exc:
        return describe_error(exc)
    except EngineError as exc:
        return describe_refusal(exc, spiff_task.task_spec)
    return None


def _already_done_message(session: Session, task: Task) -> str:
    if task.status == "completed" and task.completed_by:
        who = session.get(User, task.completed_by)
        return Message(N_("任务“%(task)s”已由%(name)s办理完毕"), task=task.name, name=who.display_name if who else Message(N_("他人")))
    if task.status == "suspended":
        return Message(N_("任务“%(task)s”所在流程已被管理员挂起，暂不能办理"), task=task.name)
    return Message(N_("任务“%(task)s”已不在待办状态（%(status)s）"), task=task.name, status=task.status)


def checkout(instance: Instance, loaded: LoadedDefinition) -> BpmnWorkflow:
    """The live workflow at the instance's stored revision: from the cache, else restored."""
    cached = state.WORKFLOWS.take(instance.id, instance.revision)
    if cached is not None:
        return cached
    return state.restore(instance.state, loaded.spec, loaded.subprocess_specs)


def advance(
    session: Session,
    instance: Instance,
    project: Project,
    workflow: BpmnWorkflow,
    loaded: LoadedDefinition,
    actor: Optional[User],
    flush: bool = True,
    ready_rows: Optional[list[Task]] = None,
    failure: Optional[dict[str, Any]] = None,
) -> Outcome:
    """Run engine steps, then persist state, task table and events, and let the process's hooks follow.

    With `flush=False` (a batch of timer firings) the caller flushes once for the whole batch
    and the workflow is not kept in the live cache, since its revision is known only then.
    `ready_rows`, when the caller has read them, are the instance's ready rows of the task table.
    `failure` is the error of a task the caller ran (the instance then stops there).
    """
    finished: list[Any] = []
    process = hooks.process(instance.process_id)
    stored = [stored_values(instance)] if flush else None  # a batch's save finds them in each row's change history instead
    # written now: the row's new values are set as loaded and stored by save_instances below, past the ORM flush
    assign = set_committed_value if flush else setattr
    error = failure if failure is not None else run_engine_steps(workflow, finished)
    for done in finished:
        _log_engine_step(session, instance, project, done, process)
    if error is not None:
        status = "error"
        log(session, "error", instance, project, None, error["bpmn_id"], error["message"][:300], error)
    elif workflow.completed:
        status = "completed"
    else:
        status = "running"
    assign(instance, "status", status)
    assign(instance, "error", error)
    if status == "completed" and process.ended is not None:
        ends = [t for t in finished if isinstance(t.task_spec, EndEvent)]
        process.ended(project, ends[-1] if ends else None, workflow)
    ready = _sync_tasks(session, instance, project, workflow, loaded, ready_rows, write_now=flush)
    if process.advanced is not None:
        process.advanced(session, instance, project, workflow, ready)
    dumped = state.dump(workflow)
    state.check_size(dumped, sandbox_limits().max_state_bytes)
    assign(instance, "state", dumped)
    assign(instance, "next_timer_at", next_timer_at(workflow))
    assign(instance, "updated_at", utcnow())
    if flush:
        save_instances(session, [instance], stored)
        db.save_changes(session, project)
        check_in(session, instance, workflow)
    return Outcome(project.id, instance.id, instance.status, ready, error)


def check_in(session: Session, instance: Instance, workflow: BpmnWorkflow) -> None:
    """Keep the live workflow for the next request once the unit of work commits (a rollback drops it)."""
    db.after_commit(session, partial(state.WORKFLOWS.put, instance.id, instance.revision, workflow))


def run_engine_steps(workflow: BpmnWorkflow, finished: list[Any]) -> Optional[dict[str, Any]]:
    """Run automatic steps within the advance's ceilings; the error that stopped them, described, or None."""
    guard = StepGuard(workflow, finished, sandbox_limits())
    try:
        workflow.do_engine_steps(will_complete_task=guard.before, did_complete_task=guard.after)
    except SpiffWorkflowException as exc:
        return describe_error(exc)
    except EngineError as exc:
        return describe_refusal(exc, guard.current.task_spec if guard.current is not None else None)
    except Exception as exc:  # noqa: BLE001 - whatever a definition makes SpiffWorkflow raise stops this instance only
        failure = EngineError(f"{type(exc).__name__}：{exc}"[:300])
        return {**describe_refusal(failure, guard.current.task_spec if guard.current is not None else None),
                "type": type(exc).__name__}
    return None


def describe_refusal(exc: EngineError, spec: Any) -> dict[str, Any]:
    """A limit or a refusal met while running `spec`, described for the instance and the admin console."""
    return {
        "type": type(exc).__name__,
        "message": f"元素“{element_name(spec)}”：{exc.message}" if spec is not None else exc.message,
        "bpmn_id": _element_id(spec),
        "element_name": getattr(spec, "bpmn_name", "") or "",
        "line_number": None,
        "error_line": None,
    }


def element_name(spec: Any) -> str:
    """An element's name as the process owner wrote it, else its id."""
    return getattr(spec, "bpmn_name", "") or _element_id(spec)


def _element_id(spec: Any) -> str:
    return (getattr(spec, "bpmn_id", "") or getattr(spec, "name", "") or "") if spec is not None else ""


def flush_or_conflict(session: Session) -> None:
    """Flush; another writer having changed one of the instances becomes ConcurrentUpdate."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConcurrentUpdate(N_("该项目流程刚被他人更新，请刷新后重试")) from exc


def stored_values(instance: Instance) -> dict[str, Any]:
    """The instance's settled columns as its row holds them: a column set since the row was loaded gives its loaded value, one not
    read yet a marker that equals no value (so it is written)."""
    loaded = instance_state(instance).committed_state
    return {key: loaded.get(key, instance.__dict__.get(key, UNREAD)) for key in SETTLED_COLUMNS}


UNREAD = object()
"""A column whose stored value this unit of work has not read."""


def save_instances(session: Session, instances: list[Instance], stored: Optional[list[dict[str, Any]]] = None) -> None:
    """Write what advancing changed on these instance rows now, in one executemany UPDATE per set of changed columns, each moving
    the revision.

    `stored` holds each row's settled columns as read (`stored_values`, taken before the advance
    set them as loaded); without it they come from each row's change history. The state, its time
    and the revision are always written, the settled columns only when they changed. Each row
    matches only at the revision this transaction read, so another writer's change in between
    makes the count fall short: ConcurrentUpdate. The written values then count as loaded, so the
    unit of work's flush has nothing left to write for them (the ORM would send one UPDATE per
    versioned row).
    """
    if not instances:
        return
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for instance, before in zip(instances, stored or [stored_values(i) for i in instances]):
        values = {key: getattr(instance, key) for key in STATE_COLUMNS}
        keys = ("state", "updated_at", *(key for key in SETTLED_COLUMNS if before[key] != values[key]))
        groups.setdefault(keys, []).append({"b_id": instance.id, "b_revision": instance.revision, **values,
                                            "revision": instance.revision + 1})
    if sum(_save_statement(keys).run_many(session, rows) for keys, rows in groups.items()) != len(instances):
        raise ConcurrentUpdate(N_("该项目流程刚被他人更新，请刷新后重试"))
    for instance in instances:
        pending = instance_state(instance).committed_state  # the columns set since loading (an advance may have set them as loaded already)
        for key in STATE_COLUMNS:
            if key in pending:
                set_committed_value(instance, key, getattr(instance, key))
        set_committed_value(instance, "revision", instance.revision + 1)


def describe_error(exc: SpiffWorkflowException) -> dict[str, Any]:
    """Everything an administrator needs to see why a step failed."""
    task = getattr(exc, "task", None)
    spec = getattr(exc, "task_spec", None) or (task.task_spec if task is not None else None)
    cause = getattr(exc, "exception", None) or exc.__context__
    wrapped = getattr(exc, "error_type", "unknown")  # WorkflowTaskException keeps only the wrapped type's name
    message = str(exc) + ("；" + "；".join(exc.notes) if getattr(exc, "notes", None) else "")
    if isinstance(cause, EngineError):
        message = f"元素“{element_name(spec)}”：{cause.message}"
    return {
        "type": type(cause).__name__ if cause is not None else (wrapped if wrapped != "unknown" else type(exc).__name__),
        "message": message,
        "bpmn_id": _element_id(spec),
        "element_name": getattr(spec, "bpmn_name", "") or "",
        "line_number": getattr(exc, "line_number", None),
        "error_line": getattr(exc, "error_line", None),
    }


def _log_engine_step(session: Session, instance: Instance, project: Project, task: Any, process: hooks.ProcessHooks) -> None:
    """Log decisions (business rule results) and end events reached by engine steps."""
    spec = task.task_spec
    if getattr(spec, "dmnEngine", None) is not None:
        tier = task.data.get("tier")
        inputs = {name: task.data.get(name) for name in decision_inputs(spec.dmnEngine)}
        if process.decided is not None:
            process.decided(project, task)
        log(session, "decision", instance, project, None, spec.bpmn_id, f"{spec.bpmn_name}：{tier}", {"inputs": inputs, "tier": tier})
    elif isinstance(spec, EndEvent):
        log(session, "end", instance, project, None, spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, None)


def decision_inputs(engine: Any) -> list[str]:
    """The variables a decision reads: its table's input expressions, as the process owner drew them."""
    return [column.expression.strip() for column in engine.decision_table.inputs if column.expression]


def _sync_tasks(
    session: Session,
    instance: Instance,
    project: Project,
    workflow: BpmnWorkflow,
    loaded: LoadedDefinition,
    rows: Optional[list[Task]] = None,
    write_now: bool = True,
) -> list[Task]:
    """Mirror READY user tasks into the task table; cancel rows whose task is no longer ready.

    New rows are inserted at once (`write_now`), or left to the caller's flush of a whole batch.
    """
    ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    if rows is None:
        rows = list(session.scalars(select(Task).where(Task.instance_id == instance.id, Task.status == "ready")))
    known = {row.spiff_task_id: row for row in rows}
    for spiff_id, row in known.items():
        if spiff_id not in ready:
            row.status = "cancelled"
    now = utcnow()
    result = [row for spiff_id, row in known.items() if spiff_id in ready]
    new_rows: list[dict[str, Any]] = []
    for spiff_id, spiff_task in ready.items():
        if spiff_id in known:
            continue
        meta = loaded.user_tasks[spiff_task.task_spec.bpmn_id]
        unit_id, assignee_id = scope_of(meta.scope, project, spiff_task.data)
        new_rows.append({
            "instance_id": instance.id,
            "project_id": project.id,
            "spiff_task_id": spiff_id,
            "bpmn_id": meta.bpmn_id,
            "name": meta.name,
            "lane": meta.lane,
            "role": meta.role,
            "scope": meta.scope,
            "unit_id": unit_id,
            "assignee_id": assignee_id,
            "stage": meta.stage,
            "form": meta.form,
            "created_at": now,
            "due_at": now + meta.due_in if meta.due_in else None,
            "status": "ready",
            "completed_by": None,
            "completed_at": None,
            "data": None,
            "orphaned_at": None,
            "claimed_by": None,
            "claimed_at": None,
        })
    if write_now:
        return result + insert_tasks(session, new_rows)
    created = [Task(**row) for row in new_rows]
    session.add_all(created)
    return result + created


def insert_tasks(session: Session, rows: list[dict[str, Any]]) -> list[Task]:
    """Insert new task rows (every column but the id given), one statement each; the session's loaded Task objects for them.

    The unit of work's watchers are told of them (the orphan check judges new ready tasks).
    """
    tasks = []
    for row in rows:
        ((task_id,),) = _INSERT_TASK.rows(session, row)
        tasks.append(attached(session, Task, {"id": task_id, **row}))
    if tasks:
        db.wrote(session, tasks, new=True)
    return tasks


def log(
    session: Session,
    kind: str,
    instance: Optional[Instance],
    project: Optional[Project],
    actor: Optional[User],
    bpmn_id: str,
    summary: str,
    payload: Optional[dict[str, Any]],
) -> None:
    """Append one event to the log (inserted, chained into the audit trail, when the unit of work commits)."""
    audit.append(session, audit.Entry(
        kind=kind,
        at=utcnow(),
        instance_id=instance.id if instance else None,
        project_id=project.id if project else None,
        actor_id=actor.id if actor else None,
        bpmn_id=bpmn_id,
        summary=summary[:300],
        payload=payload,
    ))


def update_ready_data(session: Session, instance: Instance, values: dict[str, Any]) -> None:
    """Give the instance's ready tasks these values (a corrected record reaches later steps and decisions)."""
    workflow = checkout(instance, definitions.load(session, instance.definition_id))
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(values)
    set_committed_value(instance, "state", state.dump(workflow))
    set_committed_value(instance, "updated_at", utcnow())
    save_instances(session, [instance])
    check_in(session, instance, workflow)

def ready_tasks_of(session: Session, project_id: int) -> list[Task]:
    """A project's ready tasks from the task table."""
    return list(session.scalars(select(Task).where(Task.project_id == project_id, Task.status == "ready")))


def definition_of(session: Session, task: Task) -> definitions.LoadedDefinition:
    """The definition version the task's instance runs on (its instance row read once per unit of work, then from the session).

    The session keeps a strong reference to the instance it read (its identity map holds weak ones),
    so a second look in the same unit of work finds it without a statement and sees any change to it.
    """
    held: dict[int, Instance] = session.info.setdefault(INSTANCES_READ, {})
    instance = held.get(task.instance_id) or session.get(Instance, task.instance_id)
    assert instance is not None
    held[task.instance_id] = instance
    return definitions.load(session, instance.definition_id)


def form_schema(session: Session, task: Task) -> dict[str, Any]:
    """The JSON Schema of a task's form, from the definition version its instance runs on."""
    return definition_of(session, task).forms[task.form]
