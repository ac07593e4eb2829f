"""Pending BPMN timers of a live workflow and when each is due, so the scheduler need not load workflows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


@dataclass(frozen=True)
class PendingTimer:
    """One waiting timer event: its task, BPMN element and due time (UTC)."""

    task_id: str
    bpmn_id: str
    name: str
    due: datetime


def _due_time(value: Any) -> Optional[datetime]:
    """The UTC datetime a timer's stored event value names (a date, or a cycle's next date)."""
    if isinstance(value, dict):
        value = value.get("next")
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    parsed = TimerEventDefinition.parse_time_or_duration(value)
    return parsed if isinstance(parsed, datetime) else None


def pending_timers(workflow: BpmnWorkflow) -> list[PendingTimer]:
    """Every timer the workflow waits on (boundary or intermediate, subprocesses included)."""
    timers = []
    for task in list(workflow.event_manager.tasks.values()):
        definition = task.task_spec.event_definition
        if not isinstance(definition, TimerEventDefinition):
            continue
        due = _due_time(definition.details(task).value)
        if due is not None:
            spec = task.task_spec
            timers.append(PendingTimer(str(task.id), spec.bpmn_id or "", spec.bpmn_name or definition.name or "", due))
    return timers


def next_timer_at(workflow: BpmnWorkflow) -> Optional[datetime]:
    """The earliest due time among the workflow's pending timers, or None when it waits on none."""
    return min((t.due for t in pending_timers(workflow)), default=None)
