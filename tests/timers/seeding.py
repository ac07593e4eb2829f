"""Bulk seeding for the scale tests and bench/timers.py: projects whose instances wait on one timer each.

Instances are cloned from one workflow run in memory (fresh task ids, own due time), so a
hundred thousand can be written in seconds; they are what the engine itself would store.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.workflow import definitions, state
from engine.platform.db import Database
from engine.platform.models import Instance, Project, utcnow
from engine.workflow.sandbox import SCRIPT_ENGINE

WAIT_BUNDLE = Path(__file__).resolve().parent / "wait_bundle"
WAIT_PROCESS = "timer_wait"
CHUNK = 5000


def deploy_wait(db: Database) -> int:
    """Deploy the one-timer process; returns its definition id."""
    with db.session() as s:
        row, _ = definitions.deploy(s, definitions.read_bundle(WAIT_BUNDLE), WAIT_PROCESS)
        return row.id


def _template(db: Database, definition_id: int) -> tuple[str, list[str], str]:
    """A waiting workflow's stored state, its task ids and its timer's event value."""
    with db.session() as s:
        loaded = definitions.load(s, definition_id)
    workflow = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=SCRIPT_ENGINE)
    workflow.get_tasks(state=TaskState.READY)[0].data.update({"wait": "PT1H"})
    workflow.do_engine_steps()
    text = state.dump(workflow)
    task_ids = list(json.loads(text)["tasks"])
    (waiting,) = [t for t in workflow.get_tasks(state=TaskState.WAITING)]
    return text, task_ids, waiting.internal_data["event_value"]


def seed(db: Database, definition_id: int, due_times: list[datetime], unit_id: int, deputy_id: int) -> None:
    """One project and one instance waiting on its timer per due time (UTC)."""
    template, task_ids, event_value = _template(db, definition_id)
    now = utcnow()
    for start in range(0, len(due_times), CHUNK):
        chunk = due_times[start:start + CHUNK]
        projects: list[dict[str, Any]] = [
            {"name": f"批量项目{start + i}", "attracting_unit_id": unit_id, "landing_unit_id": unit_id,
             "category": "industrial", "total_investment": 1000, "deputy_id": deputy_id, "registered_at": now,
             "last_progress_at": now}
            for i in range(len(chunk))
        ]
        with db.session() as s:
            ids = list(s.scalars(insert(Project).returning(Project.id, sort_by_parameter_order=True), projects))
            rows = []
            for project_id, due in zip(ids, chunk):
                text = template.replace(event_value, due.isoformat())
                for task_id in task_ids:
                    text = text.replace(task_id, str(uuid.uuid4()))
                rows.append({"project_id": project_id, "process_id": WAIT_PROCESS, "definition_id": definition_id,
                             "state": text, "status": "running", "next_timer_at": due, "created_at": now,
                             "updated_at": now, "revision": 1})
            s.execute(insert(Instance), rows)
