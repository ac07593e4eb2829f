"""Full T3 lifecycles: raw SpiffWorkflow in memory vs the engine with SQLite persistence.

Prints per-instance times and their ratio (target: engine/raw ≤ 2.0). Run: `make bench`.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402
from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine import definitions, demo, runtime, schema, state  # noqa: E402
from engine.config import PROJECT_ROOT  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.models import Project, Task, User  # noqa: E402
from engine.org import can_act  # noqa: E402
from engine.sandbox import SCRIPT_ENGINE  # noqa: E402

INTENT = {"has_intent": True, "opinion": "有意向"}
PASS = {"decision": "pass", "opinion": "同意"}
FORM = {"needs_land": True, "land_mu": 60, "one_case_support": False, "summary": "概况", "opinion": "请审议"}
T3_STEPS = [
    INTENT,
    {"decision": "pass", "opinion": "论证通过"},
    FORM,
    PASS,
    PASS,
    {"decision": "continue", "opinion": "洽谈完成"},
    {"decision": "pass", "opinion": "联审同意"},
    *[{"decision": "approve", "opinion": "同意"}] * 4,
    {"signed_date": "2026-10-01", "contract_amount": 48000},
    {"company_registered": True},
    {"start_date": "2026-11-20"},
]


def run_raw(loaded: definitions.LoadedDefinition, facts: dict) -> None:
    """One lifecycle in memory: the same spec, sandbox and task data, no persistence."""
    wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=SCRIPT_ENGINE)
    wf.get_tasks(state=TaskState.READY)[0].data.update(facts)
    wf.do_engine_steps()
    for data in T3_STEPS:
        task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
        task.set_data(**data)
        task.run()
        wf.do_engine_steps()
    assert wf.completed


def run_engine(db: Database, registration: dict, actors: list[User], cold: bool = False) -> None:
    """One lifecycle through the engine: a transaction per registration and per task.

    With `cold`, the live-workflow cache is emptied before every task, so each completion
    restores the instance from its stored state (as after a restart or on another node).
    """
    with db.session() as s:
        outcome = runtime.register_project(s, registration, s.get(User, actors[0].id))
    for data in T3_STEPS:
        if cold:
            state.WORKFLOWS.clear()
        with db.session() as s:
            task = s.scalars(select(Task).where(Task.project_id == outcome.project_id, Task.status == "ready")).one()
            actor = next(u for u in actors if can_act(u, task))
            runtime.complete_task(s, task.id, s.get(User, actor.id), data)
    with db.session() as s:
        assert s.get(Project, outcome.project_id).status == "started"


def main() -> None:
    """Measure both paths in one process and print the ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200, help="lifecycles per path")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        schema.upgrade(db)
        with db.session() as s:
            demo.load_org(s)
            definition, _ = definitions.deploy(s, definitions.read_bundle(PROJECT_ROOT / "bpmn"), runtime.LIFECYCLE)
            loaded = definitions.load(s, definition.id)
            actors = list(s.scalars(select(User)))
        anwen = next(u for u in actors if u.username == "anwen")
        registration = {
            "name": "基准项目", "category": "industrial", "total_investment": 50000,
            "landing_unit_id": anwen.unit_id, "deputy_id": next(u.id for u in actors if u.username == "fx_gongye"),
        }
        actors.sort(key=lambda u: u.username != "anwen")
        facts = {"category": "industrial", "needs_land": False, "land_mu": 0.0, "dev_zone": False, "one_case_support": False}
        for _ in range(10):  # warm-up both paths
            run_raw(loaded, facts)
            run_engine(db, registration, actors)
        raw, eng, cold = [], [], []
        for _ in range(args.n):
            t0 = time.perf_counter()
            run_raw(loaded, facts)
            t1 = time.perf_counter()
            run_engine(db, registration, actors)
            t2 = time.perf_counter()
            run_engine(db, registration, actors, cold=True)
            t3 = time.perf_counter()
            raw.append(t1 - t0)
            eng.append(t2 - t1)
            cold.append(t3 - t2)
        db.dispose()
    r, e, c = (statistics.median(x) * 1000 for x in (raw, eng, cold))
    tasks = len(T3_STEPS)
    print(f"T3 lifecycle, {tasks} user tasks, n={args.n} (median per instance)")
    print(f"raw SpiffWorkflow in memory : {r:8.2f} ms  ({r / tasks:.3f} ms/task)")
    print(f"engine + SQLite persistence : {e:8.2f} ms  ({e / tasks:.3f} ms/task)")
    print(f"engine, state restored/task : {c:8.2f} ms  ({c / tasks:.3f} ms/task)")
    print(f"ratio engine/raw            : {e / r:8.2f}  (target <= 2.0)")
    print(f"ratio restored/raw          : {c / r:8.2f}")


if __name__ == "__main__":
    main()
