"""Instance state without the spec: the spec is re-attached from the per-process cache on load."""
from __future__ import annotations

import json
import threading
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.platform.errors import LimitExceeded
from engine.workflow.sandbox import SCRIPT_ENGINE

STATE_FORMAT = "zhikong-1"


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Converts a workflow's tasks and data only; the spec is supplied when restoring."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        """Everything the base converter writes except `spec` and `subprocess_specs`."""
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> BpmnWorkflow:
        """Rebuild a workflow over the cached spec objects."""
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


REGISTRY = BpmnWorkflowSerializer.configure({**SPIFF_CONFIG, BpmnWorkflow: SpeclessWorkflowConverter})
"""SpiffWorkflow's converters with the spec-free workflow converter: what state is written and read with, and what migration diffs specs with."""


def dump(workflow: BpmnWorkflow) -> str:
    """Serialize a workflow's own state as JSON (no spec)."""
    dct = REGISTRY.convert(workflow)
    dct["format"] = STATE_FORMAT
    return json.dumps(dct, ensure_ascii=False, separators=(",", ":"))


def check_size(dumped: str, ceiling: int) -> None:
    """Refuse to store an instance whose state passed the ceiling (the change rolls back)."""
    if len(dumped) > ceiling:
        raise LimitExceeded(f"流程实例存储的数据达到 {len(dumped) // 1024} KB，超过上限 {ceiling // 1024} KB，本次操作未保存")


def restore(text: str, spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
    """Rebuild a workflow from stored state over the given spec, with the sandbox attached."""
    dct = json.loads(text)
    dct.pop("format", None)
    workflow = REGISTRY.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = SCRIPT_ENGINE
    return workflow


class WorkflowCache:
    """Live workflows by instance id and revision, so a task completion need not deserialize.

    Entries are taken out while in use (one writer per object) and put back only after the
    transaction that changed them commits; a stale revision is never served.
    """

    def __init__(self, capacity: int = 2000) -> None:
        self._items: dict[int, tuple[int, BpmnWorkflow]] = {}
        self._lock = threading.Lock()
        self._capacity = capacity

    def take(self, instance_id: int, revision: int) -> BpmnWorkflow | None:
        """Remove and return the cached workflow if it is at `revision`."""
        with self._lock:
            item = self._items.pop(instance_id, None)
        if item is not None and item[0] == revision:
            return item[1]
        return None

    def put(self, instance_id: int, revision: int, workflow: BpmnWorkflow) -> None:
        """Store a committed workflow, evicting the oldest entry when full."""
        with self._lock:
            if len(self._items) >= self._capacity:
                self._items.pop(next(iter(self._items)))
            self._items[instance_id] = (revision, workflow)

    def clear(self) -> None:
        """Drop every entry (tests use this to force a restore from the database)."""
        with self._lock:
            self._items.clear()


WORKFLOWS = WorkflowCache()
