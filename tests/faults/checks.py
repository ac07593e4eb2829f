"""What every fault test ends by checking: no acknowledged completion lost, every instance's stored state restores and agrees with its task rows."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from SpiffWorkflow.util.task import TaskState

from engine.platform.db import Database
from engine.platform.models import Instance, Task
from engine.workflow import definitions, state


def completed(db: Database) -> int:
    """How many tasks the database holds as completed."""
    with db.session() as s:
        return s.scalars(select(func.count()).select_from(Task).where(Task.status == "completed")).one()


def lost_completions(db: Database, acknowledged: Iterable[int]) -> list[int]:
    """The acknowledged tasks the database does not hold as completed."""
    wanted = set(acknowledged)
    with db.session() as s:
        completed = set(s.scalars(select(Task.id).where(Task.id.in_(wanted), Task.status == "completed")))
    return sorted(wanted - completed)


def unrestorable_instances(db: Database) -> list[tuple[int, str]]:
    """Every instance restored from its stored state alone; those that fail, or whose ready user tasks differ from their ready task rows."""
    failures: list[tuple[int, str]] = []
    with db.session() as s:
        ready: dict[int, set[str]] = {}
        for instance_id, spiff_id in s.execute(select(Task.instance_id, Task.spiff_task_id).where(Task.status == "ready")):
            ready.setdefault(instance_id, set()).add(spiff_id)
        for instance in s.scalars(select(Instance).order_by(Instance.id)):
            loaded = definitions.load(s, instance.definition_id)
            try:
                workflow = state.restore(instance.state, loaded.spec, loaded.subprocess_specs)
            except Exception as exc:  # noqa: BLE001 - any failure to load is what is counted
                failures.append((instance.id, f"{type(exc).__name__}: {exc}"))
                continue
            waiting = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.manual}
            if waiting != ready.get(instance.id, set()):
                failures.append((instance.id, f"ready in the workflow {sorted(waiting)}, in the task rows {sorted(ready.get(instance.id, set()))}"))
    return failures
