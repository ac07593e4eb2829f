"""Administrators' repairs: retry with edited data, suspend and resume, terminate, reassign, move the token.

Every repair takes the acting administrator and a written reason, runs in the caller's one
transaction (instance revision guarded, so a concurrent change loses with a clear error),
keeps the task table and the ledger stage in step, and appends an `admin_*` event saying who
did what, when and why. The read side (console, stuck list, instance page) is engine/console.py.
"""
from __future__ import annotations

import math
import re
from copy import deepcopy
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.util.task import TaskState

from engine.workflow import definitions, hooks, runtime, state
from engine.platform import inputs, permissions
from engine.workflow.console import ACTIVE, STATUS_LABELS, activity_type, all_tasks, describe_error, element_name, get_instance
from engine.platform.errors import ConcurrentUpdate, EngineError, InvalidInput, NotFound
from engine.platform.messages import N_, Message
from engine.platform.models import Instance, Project, Task, User, UserRole, utcnow
from engine.workflow.sandbox import active as sandbox_limits
from engine.workflow.sandbox import check_task_data

MAX_REASON = 500
DATA_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class InvalidState(EngineError):
    """The instance or task is not in a state that allows this repair."""

    status = 409


# ---------------------------------------------------------------- repairs


def _require_admin(actor: User) -> None:
    permissions.require(actor, "admin.operate", N_("只有系统管理员可以执行运维操作"))


def _require_reason(reason: str) -> str:
    errors: dict[str, str] = {}
    text = inputs.text(reason, "reason", N_("操作原因"), MAX_REASON, errors, multiline=True)
    if not errors and not text:
        errors["reason"] = Message(N_("操作原因为必填项，请写明为何执行此操作"))
    if errors:
        raise InvalidInput(errors)
    return text


def _project(session: Session, instance: Instance) -> Project:
    project = session.get(Project, instance.project_id)
    assert project is not None
    return project


def _status_is(instance: Instance, allowed: tuple[str, ...], action: str) -> None:
    if instance.status not in allowed:
        wanted = "、".join(STATUS_LABELS[s] for s in allowed)
        raise InvalidState(f"流程当前{STATUS_LABELS.get(instance.status, instance.status)}，只有{wanted}的流程可以{action}")


def _log(session: Session, kind: str, instance: Optional[Instance], project: Optional[Project], actor: User,
         bpmn_id: str, summary: str, reason: str, payload: Optional[dict[str, Any]] = None) -> None:
    runtime.log(session, kind, instance, project, actor, bpmn_id, f"{actor.display_name}{summary}。原因：{reason}",
                 {"reason": reason, **(payload or {})})


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConcurrentUpdate(N_("该流程刚被他人更新，请刷新后重试")) from exc


def validate_edits(edits: Any) -> dict[str, Any]:
    """Task-data edits must be an object of variable names (letters, digits, _) to JSON values."""
    if not isinstance(edits, dict):
        raise InvalidInput({"data": "任务数据必须是 JSON 对象，例如 {\"land_mu\": 20}"})
    bad = [key for key in edits if not isinstance(key, str) or not DATA_KEY.match(key)]
    if bad:
        raise InvalidInput({"data": f"任务数据的字段名无效：{'、'.join(map(str, bad))}（只能用字母、数字和下划线，以字母开头）"})
    problems = [message for key, value in edits.items() for message in _value_problems(value, f"任务数据 {key}")]
    if problems:
        raise InvalidInput({"data": "；".join(problems[:5])})
    try:
        check_task_data(edits, sandbox_limits())
    except EngineError as exc:
        raise InvalidInput({"data": exc.message}) from None
    return edits


def _value_problems(value: Any, title: str) -> list[str]:
    """Numbers must be finite and text free of control characters, at any depth (PostgreSQL refuses NaN and NUL in JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{title}必须是有限的数字，收到“{value}”"]
    if isinstance(value, str):
        message = inputs.text_problem(value, title, multiline=True)
        return [message] if message else []
    if isinstance(value, dict):
        return [m for key, item in value.items() for m in _value_problems(item, f"{title}.{key}")]
    if isinstance(value, list):
        return [m for index, item in enumerate(value) for m in _value_problems(item, f"{title}[{index}]")]
    return []


def retry(session: Session, instance_id: int, actor: User, reason: str, edits: Optional[dict[str, Any]] = None) -> runtime.Outcome:
    """Apply data edits to the errored task and run it again; the instance goes on or errors anew."""
    _require_admin(actor)
    reason = _require_reason(reason)
    edits = validate_edits(edits or {})
    instance = get_instance(session, instance_id)
    _status_is(instance, ("error",), "重试")
    project = _project(session, instance)
    loaded = definitions.load(session, instance.definition_id)
    workflow = runtime.checkout(instance, loaded)
    errored = [t for t in all_tasks(workflow) if t.has_state(TaskState.ERROR)]
    before = {}
    element = (instance.error or {}).get("element_name") or (instance.error or {}).get("bpmn_id", "")
    for task in errored:
        workflow.reset_from_task_id(task.id)
        again = workflow.get_task_from_id(task.id)
        before.update({key: again.data.get(key) for key in edits})
        again.set_data(**deepcopy(edits))
    changes = {key: {"before": before.get(key), "after": value} for key, value in edits.items()}
    detail = "修改任务数据并重试" if edits else "重试"
    _log(session, "admin_retry", instance, project, actor, (instance.error or {}).get("bpmn_id", ""),
         f"{detail}“{element}”", reason, {"changes": changes, "error": instance.error})
    return runtime.advance(session, instance, project, workflow, loaded, actor)


def suspend(session: Session, instance_id: int, actor: User, reason: str) -> None:
    """Stop an instance: its tasks leave every inbox, timers wait, nobody can complete anything."""
    _require_admin(actor)
    reason = _require_reason(reason)
    instance = get_instance(session, instance_id)
    _status_is(instance, ("running", "error"), "挂起")
    for task in session.scalars(select(Task).where(Task.instance_id == instance.id, Task.status == "ready")):
        task.status = "suspended"
    instance.status, instance.updated_at = "suspended", utcnow()
    _log(session, "admin_suspend", instance, _project(session, instance), actor, "", "挂起流程", reason)
    _flush(session)


def resume(session: Session, instance_id: int, actor: User, reason: str) -> None:
    """Let a suspended instance go on: its tasks return to the inboxes, due timers fire on the next sweep."""
    _require_admin(actor)
    reason = _require_reason(reason)
    instance = get_instance(session, instance_id)
    _status_is(instance, ("suspended",), "恢复")
    for task in session.scalars(select(Task).where(Task.instance_id == instance.id, Task.status == "suspended")):
        task.status = "ready"
    instance.status, instance.updated_at = ("error" if instance.error else "running"), utcnow()
    _log(session, "admin_resume", instance, _project(session, instance), actor, "", "恢复流程", reason)
    _flush(session)


def terminate(session: Session, instance_id: int, actor: User, reason: str) -> None:
    """End an instance for good: workflow cancelled, tasks cancelled, the project closed with the reason."""
    _require_admin(actor)
    reason = _require_reason(reason)
    instance = get_instance(session, instance_id)
    _status_is(instance, ("running", "error", "suspended"), "终止")
    project = _project(session, instance)
    loaded = definitions.load(session, instance.definition_id)
    workflow = runtime.checkout(instance, loaded)
    workflow.cancel()
    for task in session.scalars(select(Task).where(Task.instance_id == instance.id, Task.status.in_(("ready", "suspended")))):
        task.status = "cancelled"
    instance.status, instance.next_timer_at, instance.updated_at = "terminated", None, utcnow()
    instance.state = state.dump(workflow)
    closing = hooks.process(instance.process_id).terminated
    if closing is not None:
        closing(project, reason)
    _log(session, "admin_terminate", instance, project, actor, "", "终止流程", reason)
    _flush(session)


def reassign(session: Session, task_id: int, user_id: int, actor: User, reason: str) -> Task:
    """Give a waiting task to one named official; from then on only that official's inbox shows it."""
    _require_admin(actor)
    reason = _require_reason(reason)
    task = session.get(Task, task_id, with_for_update=True)
    if task is None:
        raise NotFound(f"任务 {task_id} 不存在")
    if task.status not in ("ready", "suspended"):
        raise InvalidState(f"任务“{task.name}”已不在待办状态，不能改派")
    person = session.get(User, user_id) if user_id else None
    if person is None or not person.active:
        raise InvalidInput({"user_id": "改派对象不存在或账号已停用，请选择在岗人员"})
    previous = session.get(User, task.assignee_id) if task.assignee_id else None
    task.assignee_id = person.id
    note = "" if task.role in person.roles else f"（注意：{person.display_name}不持有该任务的角色 {task.role}）"
    instance = session.get(Instance, task.instance_id)
    _log(session, "admin_reassign", instance, session.get(Project, task.project_id), actor, task.bpmn_id,
         f"将“{task.name}”改派给{person.display_name}{note}", reason,
         {"task_id": task.id, "from": previous.id if previous else None, "to": person.id})
    session.flush()
    return task


@dataclass
class MovePlan:
    """What moving the token would do: tokens cancelled, tasks that become ready, any error it runs into."""

    target: str
    target_name: str
    cancelled: list[str]
    ready: list[str]
    status: str
    error: Optional[str] = None


def _target_spec(loaded: definitions.LoadedDefinition, target: str) -> Any:
    spec = next((s for s in loaded.spec.task_specs.values() if getattr(s, "bpmn_id", None) == target and activity_type(s)), None)
    if spec is None:
        raise InvalidInput({"target": f"目标环节(target)“{target}”不是本流程中的活动"})
    return spec


def _move(workflow: BpmnWorkflow, spec: Any) -> list[str]:
    """Cancel every active token and start before `spec` with the current data; returns cancelled names."""
    tokens = [t for t in workflow.tasks.values() if t.has_state(ACTIVE | TaskState.ERROR) and t.parent is not None]
    if not tokens:
        raise InvalidState("流程没有可移动的令牌")
    first = next((t for t in tokens if t.has_state(TaskState.ERROR | TaskState.READY)), tokens[0])
    anchor = first.parent
    while isinstance(anchor.task_spec, BoundaryEventSplit) and anchor.parent is not None:
        anchor = anchor.parent
    data = deepcopy(first.data)
    cancelled = []
    for token in tokens:
        if token.id not in workflow.tasks:
            continue
        if getattr(token.task_spec, "bpmn_id", None) and activity_type(token.task_spec):
            cancelled.append(element_name(token.task_spec))
        if token.has_state(TaskState.ERROR):
            token._set_state(TaskState.CANCELLED)
            token._drop_children(force=True)
        else:
            token.cancel()
    entry = workflow.spec.task_specs.get(f"{spec.name}.BoundaryEventSplit", spec)
    started = anchor._add_child(entry, TaskState.FUTURE)
    started.data = data
    entry._predict(started, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)
    entry._update(started)
    return cancelled


def plan_move(session: Session, instance_id: int, target: str) -> MovePlan:
    """Dry-run a move on a private copy of the instance's state; nothing is stored."""
    instance = get_instance(session, instance_id)
    _status_is(instance, ("running", "error"), "移动令牌")
    loaded = definitions.load(session, instance.definition_id)
    spec = _target_spec(loaded, target)
    workflow = state.restore(instance.state, loaded.spec, loaded.subprocess_specs)
    cancelled = _move(workflow, spec)
    failure = runtime.run_engine_steps(workflow, [])
    error = describe_error(failure) if failure else None
    ready = [element_name(t.task_spec) for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
    status = "error" if error else ("completed" if workflow.completed else "running")
    return MovePlan(target, element_name(spec), cancelled, ready, status, error)


def move_token(session: Session, instance_id: int, target: str, actor: User, reason: str) -> runtime.Outcome:
    """Cancel the instance's active tokens and start it again before `target`, keeping its data."""
    _require_admin(actor)
    reason = _require_reason(reason)
    instance = get_instance(session, instance_id)
    _status_is(instance, ("running", "error"), "移动令牌")
    project = _project(session, instance)
    loaded = definitions.load(session, instance.definition_id)
    spec = _target_spec(loaded, target)
    workflow = runtime.checkout(instance, loaded)
    cancelled = _move(workflow, spec)
    _log(session, "admin_move", instance, project, actor, spec.bpmn_id,
         f"将流程令牌从“{'、'.join(cancelled) or '（无）'}”移至“{element_name(spec)}”", reason,
         {"cancelled": cancelled, "target": spec.bpmn_id})
    return runtime.advance(session, instance, project, workflow, loaded, actor)


# ---------------------------------------------------------------- officials


def set_user_active(session: Session, user_id: int, active: bool, actor: User, reason: str) -> User:
    """Deactivate or reactivate an official; tasks only they could do are flagged orphaned at once."""
    _require_admin(actor)
    reason = _require_reason(reason)
    person = session.get(User, user_id)
    if person is None:
        raise NotFound(f"用户 {user_id} 不存在")
    if person.id == actor.id and not active:
        raise InvalidInput({"active": "不能停用自己的账号"})
    person.active = active
    _log(session, "admin_user", None, None, actor, "", f"{'启用' if active else '停用'}账号 {person.username}（{person.display_name}）",
         reason, {"user_id": person.id, "active": active})
    session.flush()
    return person


def set_user_roles(session: Session, user_id: int, roles: list[str], known: set[str], actor: User, reason: str) -> User:
    """Replace an official's roles (each must be a known role key); orphaned tasks are judged at once."""
    _require_admin(actor)
    reason = _require_reason(reason)
    person = session.get(User, user_id)
    if person is None:
        raise NotFound(f"用户 {user_id} 不存在")
    unknown = sorted(set(roles) - known)
    if unknown:
        raise InvalidInput({"roles": f"角色(roles)无效：{'、'.join(unknown)}"})
    before = sorted(person.roles)
    person.role_rows = [r for r in person.role_rows if r.role in roles] + [
        UserRole(role=r) for r in sorted(set(roles) - person.roles)
    ]
    _log(session, "admin_user", None, None, actor, "", f"调整 {person.username}（{person.display_name}）的角色",
         reason, {"user_id": person.id, "before": before, "after": sorted(roles)})
    session.flush()
    return person
