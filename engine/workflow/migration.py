"""Move running instances to a newer definition version after a per-instance compatibility check.

SpiffWorkflow's workflow diff aligns each task of the instance with the new spec. An instance
is refused when a task it has completed or is working on was removed, or changed in anything
but its presentation (name, lane, documentation, due duration, form, stage): the path it took
or the step it is on would no longer mean the same. Three changes do not count: new or
removed incoming flows of a task that is not a gateway (they change neither what it did nor
what it does), the outgoing flows of the step it is on (the branch after it is predicted
afresh from the new version), and a changed decision table of a decision already made (its
result is recorded and stands; a decision made again after a return uses the new table). Presentation changes follow into the task table
(names, lanes and scopes, forms, due dates from the task's creation time).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from engine.workflow import definitions, runtime, state
from engine.workflow.definitions import LoadedDefinition
from engine.platform.errors import ConcurrentUpdate, NotAllowed, NotFound
from engine.platform.models import Definition, Instance, Project, Task, User
from engine.platform.org import scope_of

CHECKED_STATES = TaskState.COMPLETED | TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.ERROR
PRESENTATION = {"bpmn_name", "lane", "documentation"}
ATTRIBUTE_LABELS = {
    "typename": "元素类型",
    "inputs": "入口连线",
    "outputs": "出口连线",
    "cond_task_specs": "分支条件",
    "default_task_spec": "默认路径",
    "decision_table": "决策表",
    "extensions": "扩展属性（如调用的决策）",
    "script": "脚本",
    "prescript": "前置脚本",
    "postscript": "后置脚本",
    "event_definition": "事件定义",
    "manual": "是否人工任务",
    "name": "元素编号",
    "bpmn_id": "元素编号",
}


@dataclass
class Compatibility:
    """Whether one instance can move to a target version, and why not."""

    instance_id: int
    project_id: int
    project_name: str
    from_definition_id: int
    from_version: int
    to_definition_id: int
    to_version: int
    current: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    migrated: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing blocks the migration."""
        return not self.reasons


def _spec_changes(spec_diff: SpecDiff, task_spec: Any, current: bool) -> list[str]:
    """The behaviour-relevant attributes of an aligned task spec that changed."""
    changed = spec_diff.changed.get(task_spec, [])
    gateway = "Gateway" in type(task_spec).__name__
    relevant = []
    for key in changed:
        if key in PRESENTATION or (key == "inputs" and not gateway) or (key == "outputs" and current and not gateway):
            continue
        if key == "decision_table" and not current:
            continue
        if key == "extensions":
            old = dict(task_spec.extensions or {})
            new = dict(spec_diff.alignment[task_spec].extensions or {})
            old.pop("properties", None)
            new.pop("properties", None)
            if old == new:
                continue
        relevant.append(ATTRIBUTE_LABELS.get(key, key))
    return relevant


def _task_label(task_spec: Any) -> str:
    name = getattr(task_spec, "bpmn_name", None) or getattr(task_spec, "bpmn_id", None) or task_spec.name
    bpmn_id = getattr(task_spec, "bpmn_id", None) or task_spec.name
    return f"“{name}”（{bpmn_id}）"


def _workflow_reasons(workflow: Any, spec_diff: SpecDiff) -> list[str]:
    reasons = []
    diff = WorkflowDiff(workflow, spec_diff)
    for task in workflow.get_tasks(state=CHECKED_STATES, skip_subprocesses=True):
        doing = "已办理" if task.state == TaskState.COMPLETED else "正在办理"
        if task in diff.removed:
            reasons.append(f"{doing}的步骤{_task_label(task.task_spec)}在新版本中已删除")
            continue
        changes = _spec_changes(spec_diff, task.task_spec, current=task.state != TaskState.COMPLETED)
        if changes:
            reasons.append(f"{doing}的步骤{_task_label(task.task_spec)}在新版本中修改了{'、'.join(changes)}")
    return reasons


def _load(session: Session, instance_id: int) -> tuple[Instance, Project]:
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    return instance, instance.project


def check(session: Session, instance: Instance, target: Definition) -> tuple[Compatibility, Optional[BpmnWorkflow]]:
    """Compatibility of one instance with a target version, and its restored workflow when checked."""
    source = session.get(Definition, instance.definition_id)
    assert source is not None
    project = instance.project
    result = Compatibility(
        instance.id, project.id, project.name, source.id, source.version, target.id, target.version,
        current=[t.name for t in session.scalars(select(Task).where(Task.instance_id == instance.id, Task.status == "ready"))],
    )
    if source.process_id != target.process_id:
        result.reasons.append(f"实例运行的是流程 {source.process_id}，不能迁移到 {target.process_id}")
    elif target.version <= source.version:
        result.reasons.append(f"实例已在第{source.version}版，只能迁移到更新的版本")
    if instance.status != "running":
        result.reasons.append(f"实例状态为“{instance.status}”，只有运行中的实例可以迁移")
    if result.reasons:
        return result, None
    old, new = definitions.load(session, source.id), definitions.load(session, target.id)
    workflow = runtime.checkout(instance, old)
    spec_diff = SpecDiff(state.REGISTRY, workflow.spec, new.spec)
    result.reasons += _workflow_reasons(workflow, spec_diff)
    for sub in workflow.subprocesses.values():
        new_sub = new.subprocess_specs.get(sub.spec.name)
        if new_sub is None:
            result.reasons.append(f"子流程 {sub.spec.name} 在新版本中已删除")
        else:
            result.reasons += _workflow_reasons(sub, SpecDiff(state.REGISTRY, sub.spec, new_sub))
    return result, workflow


def migrate(session: Session, instance_id: int, target_definition_id: int, actor: Optional[User]) -> Compatibility:
    """Move one instance to the target version; refused with the reasons when incompatible."""
    instance, project = _load(session, instance_id)
    target = session.get(Definition, target_definition_id)
    if target is None:
        raise NotFound(f"流程定义 {target_definition_id} 不存在")
    result, workflow = check(session, instance, target)
    if not result.ok or workflow is None:
        _return_to_cache(instance, workflow)
        raise NotAllowed(f"项目“{project.name}”不能迁移到第{target.version}版：" + "；".join(result.reasons))
    _apply(session, instance, project, target, workflow, result, actor)
    return result


def _return_to_cache(instance: Instance, workflow: Optional[BpmnWorkflow]) -> None:
    """A workflow only inspected, not changed, goes back into the live cache at its revision."""
    if workflow is not None:
        state.WORKFLOWS.put(instance.id, instance.revision, workflow)


def _apply(
    session: Session,
    instance: Instance,
    project: Project,
    target: Definition,
    workflow: BpmnWorkflow,
    result: Compatibility,
    actor: Optional[User],
) -> None:
    """Migrate a checked workflow, let the task table follow, log it and persist through the runtime."""
    new = definitions.load(session, target.id)
    _migrate_workflow(workflow, new)
    instance.definition_id = target.id
    _follow_task_table(session, instance, project, workflow, new)
    runtime.log(
        session, "migrate", instance, project, actor, "",
        f"流程由第{result.from_version}版迁移到第{result.to_version}版",
        {
            "process_id": target.process_id,
            "from_definition_id": result.from_definition_id,
            "from_version": result.from_version,
            "to_definition_id": result.to_definition_id,
            "to_version": result.to_version,
        },
    )
    runtime.advance(session, instance, project, workflow, new, actor)
    result.migrated = True


def _migrate_workflow(workflow: BpmnWorkflow, new: LoadedDefinition) -> None:
    """Re-point every task at the new spec objects and re-predict what comes next."""
    top = WorkflowDiff(workflow, SpecDiff(state.REGISTRY, workflow.spec, new.spec))
    migrate_workflow(top, workflow, new.spec)
    for sub in workflow.subprocesses.values():
        new_sub = new.subprocess_specs[sub.spec.name]
        migrate_workflow(WorkflowDiff(sub, SpecDiff(state.REGISTRY, sub.spec, new_sub)), sub, new_sub)
    workflow.subprocess_specs = new.subprocess_specs
    stale = [t for t in workflow.get_tasks(skip_subprocesses=True) if t.task_spec is not new.spec.task_specs.get(t.task_spec.name)]
    if stale:
        raise ConcurrentUpdate(f"迁移后仍有步骤引用旧版本：{'、'.join(t.task_spec.name for t in stale)}，已取消迁移")


def _follow_task_table(
    session: Session, instance: Instance, project: Project, workflow: BpmnWorkflow, new: LoadedDefinition
) -> None:
    """Ready task rows take the new version's name, lane, role, scope, form, stage and due date."""
    rows = session.scalars(select(Task).where(Task.instance_id == instance.id, Task.status == "ready")).all()
    for row in rows:
        meta = new.user_tasks.get(row.bpmn_id)
        spiff_task = workflow.get_task_from_id(UUID(row.spiff_task_id))
        if meta is None or spiff_task is None:
            continue
        row.unit_id, row.assignee_id = scope_of(meta.scope, project, spiff_task.data)
        row.name, row.lane, row.role, row.scope = meta.name, meta.lane, meta.role, meta.scope
        row.stage, row.form = meta.stage, meta.form
        row.due_at = row.created_at + meta.due_in if meta.due_in else None


@dataclass
class BulkResult:
    """Per-instance outcomes of a bulk migration."""

    target_version: int
    results: list[Compatibility] = field(default_factory=list)

    @property
    def migrated(self) -> list[Compatibility]:
        """Instances that moved."""
        return [r for r in self.results if r.migrated]

    @property
    def refused(self) -> list[Compatibility]:
        """Instances left where they were, with reasons."""
        return [r for r in self.results if not r.migrated]


def candidates(
    session: Session,
    process_id: str,
    from_definition_id: Optional[int] = None,
    current_tasks: Optional[Sequence[str]] = None,
    instance_ids: Optional[list[int]] = None,
) -> list[Instance]:
    """Running instances of a process on an older version, narrowed by version, the step they wait at (any of
    `current_tasks`, the ids of the steps that share a name) or ids."""
    latest = definitions.latest(session, process_id)
    query = (
        select(Instance)
        .join(Definition, Instance.definition_id == Definition.id)
        .where(Definition.process_id == process_id, Instance.status == "running", Definition.version < latest.version)
        .order_by(Instance.id)
    )
    if from_definition_id is not None:
        query = query.where(Instance.definition_id == from_definition_id)
    if current_tasks is not None:
        ready = select(Task.instance_id).where(Task.status == "ready", Task.bpmn_id.in_(current_tasks))
        query = query.where(Instance.id.in_(ready))
    if instance_ids is not None:
        query = query.where(Instance.id.in_(instance_ids))
    return list(session.scalars(query))


def preview(session: Session, instances: list[Instance], target: Definition) -> list[Compatibility]:
    """The compatibility check for each instance, without changing anything."""
    results = []
    for instance in instances:
        result, workflow = check(session, instance, target)
        _return_to_cache(instance, workflow)
        results.append(result)
    return results


def migrate_many(session: Session, instances: list[Instance], target: Definition, actor: Optional[User]) -> BulkResult:
    """Migrate every compatible instance in one transaction; incompatible ones are listed with reasons."""
    bulk = BulkResult(target.version)
    for instance in instances:
        result, workflow = check(session, instance, target)
        if result.ok and workflow is not None:
            _apply(session, instance, instance.project, target, workflow, result, actor)
        else:
            _return_to_cache(instance, workflow)
        bulk.results.append(result)
    return bulk
