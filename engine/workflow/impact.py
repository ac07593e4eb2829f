"""Impact preview of a changed DMN: which running projects would get a different decision, old → new.

Inputs come from what each project has stored: the ledger facts the lifecycle starts with,
overlaid with the instance's own data (form answers such as land area). Both the old table
(the version the instance runs on) and the new one are evaluated by the real DMN engine.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.util.task import TaskState

from engine.workflow import definitions, hooks, runtime, state
from engine.workflow.decide import as_text
from engine.workflow.decision_cases import DecisionError, DecisionRunner
from engine.platform.models import Definition, Instance
from engine.workflow.parser import parsed_files
from engine.workflow.versions import UNFINISHED


@dataclass
class ImpactRow:
    """One running project whose decision would change."""

    project_id: int
    project_name: str
    instance_id: int
    version: int
    decision_id: str
    old: dict[str, Any]
    new: dict[str, Any]
    decided: bool
    inputs: dict[str, Any]

    def show(self, outputs: dict[str, Any]) -> str:
        """Outputs as text for the page (several outputs joined)."""
        return "，".join("（无结果）" if v is None else as_text(v) for v in outputs.values())


def decisions_in(files: dict[str, str]) -> dict[str, str]:
    """Decision id → the text of the DMN file that defines it."""
    found = {}
    for _name, text, root in parsed_files(files, ".dmn"):
        for element in root:
            if etree.QName(element).localname == "decision" and element.get("id"):
                found[element.get("id", "")] = text
    return found


def changed_decisions(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Decisions present in both bundles whose DMN differs."""
    before, after = decisions_in(old), decisions_in(new)
    return sorted(d for d in before.keys() & after.keys() if before[d] != after[d])


def _dmn_files(files: dict[str, str]) -> dict[str, str]:
    return {name: text for name, text in files.items() if name.endswith(".dmn")}


def instance_inputs(session: Session, instance: Instance) -> tuple[dict[str, Any], set[str]]:
    """(the data a decision would read now, the decisions already taken) for one instance."""
    loaded = definitions.load(session, instance.definition_id)
    workflow = runtime.checkout(instance, loaded)
    try:
        ready = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
        data: dict[str, Any] = {}
        for task in ready or [workflow.last_task or workflow.task_tree]:
            data.update(task.data)
        decided = {
            (t.task_spec.extensions or {}).get("calledDecisionId", "")
            for t in workflow.get_tasks(state=TaskState.COMPLETED)
            if getattr(t.task_spec, "dmnEngine", None) is not None
        }
    finally:
        state.WORKFLOWS.put(instance.id, instance.revision, workflow)
    inputs = hooks.subject().facts(instance.project)
    inputs.update(data)
    return inputs, decided


def preview(session: Session, process_id: str, files: dict[str, str]) -> tuple[list[str], list[ImpactRow]]:
    """(decisions changed against the newest version, running projects whose output would change)."""
    latest = definitions.latest(session, process_id)
    changed = changed_decisions(latest.files, files)
    if not changed:
        return [], []
    new_runner = DecisionRunner(_dmn_files(files))
    runners: dict[int, DecisionRunner] = {}
    rows = []
    instances = session.scalars(
        select(Instance)
        .join(Definition, Instance.definition_id == Definition.id)
        .where(Definition.process_id == process_id, Instance.status.in_(UNFINISHED))
        .order_by(Instance.id)
    ).all()
    for instance in instances:
        definition = session.get(Definition, instance.definition_id)
        assert definition is not None
        if definition.id not in runners:
            runners[definition.id] = DecisionRunner(_dmn_files(definition.files))
        old_runner = runners[definition.id]
        inputs, decided = instance_inputs(session, instance)
        for decision in changed:
            if decision not in old_runner.decisions:
                continue
            old, new = _run(old_runner, decision, inputs), _run(new_runner, decision, inputs)
            if old != new:
                rows.append(
                    ImpactRow(
                        instance.project_id, instance.project.name, instance.id, definition.version,
                        decision, old, new, decision in decided,
                        {key: inputs.get(key) for key in new_runner.inputs_of(decision)},
                    )
                )
    return changed, rows


def _run(runner: DecisionRunner, decision: str, inputs: dict[str, Any]) -> dict[str, Any]:
    try:
        return runner.run(decision, inputs)
    except DecisionError as exc:
        return {"错误": str(exc)[:200]}
