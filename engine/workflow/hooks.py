"""What the domain packages tell the workflow core, registered by process id, so the core never imports them.

Every instance runs for one subject row (today a project: the schema's `project_id`). The subject's
package says what a workflow starts with and how the record follows a completed form; each
process's owner says how its ledger follows the workflow. `engine.wiring.install` registers them
all before the first request, command or job; the core refuses to run without them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy.orm import Session

from engine.platform.errors import EngineError
from engine.platform.inputs import Number
from engine.platform.models import Instance, Project, Task


@dataclass(frozen=True)
class Fact:
    """A variable every workflow starts with: its name, kind (boolean, number, string) and allowed values."""

    name: str
    kind: str
    allowed: Optional[tuple[str, ...]] = None


@dataclass(frozen=True)
class Subject:
    """What the core asks of the record its instances run for."""

    facts: Callable[[Project], dict[str, Any]]
    """The values a workflow starts with and a correction refreshes."""
    catalog: Callable[[], list[Fact]]
    """The facts' names and kinds, for the deploy checks (read without a record)."""
    number_rule: Callable[[str], Optional[Number]]
    """The rule of a form field that updates the record, None for a field that does not."""
    form_completed: Callable[[Project, dict[str, Any]], dict[str, list[str]]]
    """Copy a completed form's fields that belong to the record onto it; the values it changed, [old, new] by field."""
    label: Callable[[str], str]
    """A record field's name as messages show it."""
    meeting_exempt: Callable[[Project], bool]
    """True when a step decided at a meeting may be completed alone (重大项目随时研判)."""


@dataclass(frozen=True)
class ProcessHooks:
    """How one process's owner keeps its ledger in step with the workflow; every hook is optional."""

    decided: Optional[Callable[[Project, Any], None]] = None
    """A business rule task finished (the Spiff task, its outputs in `data`)."""
    ended: Optional[Callable[[Project, Any, Any], None]] = None
    """The workflow completed: the last end event's Spiff task (or None) and the workflow."""
    advanced: Optional[Callable[[Session, Instance, Project, Any, list[Task]], None]] = None
    """After each advance, with the workflow and the instance's ready task rows."""
    terminated: Optional[Callable[[Project, str], None]] = None
    """An administrator ended the instance for good, with the reason."""


_SUBJECT: list[Subject] = []
_PROCESSES: dict[str, ProcessHooks] = {}
NO_HOOKS = ProcessHooks()


def register_subject(subject: Subject) -> None:
    """Name the subject the core's instances run for (once; a second call replaces the first)."""
    _SUBJECT[:] = [subject]


def register_process(process_id: str, hooks: ProcessHooks) -> None:
    """Register a process's hooks (a second call for the same process replaces the first)."""
    _PROCESSES[process_id] = hooks


def subject() -> Subject:
    """The registered subject; the core does not run without one."""
    if not _SUBJECT:
        raise EngineError("流程引擎尚未初始化（缺少项目档案的挂接），请联系系统管理员")
    return _SUBJECT[0]


def process(process_id: str) -> ProcessHooks:
    """The hooks of a process, or none at all."""
    return _PROCESSES.get(process_id, NO_HOOKS)
