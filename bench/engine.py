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

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine import definitions, runtime  # noqa: E402
from engine.sandbox import SCRIPT_ENGINE  # noqa: E402
from lifecycle import T3_STEPS, prepared, run_lifecycle  # noqa: E402


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


def main() -> None:
    """Measure both paths in one process and print the ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200, help="lifecycles per path")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, registration, actors = prepared(tmp, "bench")
        with db.session() as s:
            loaded = definitions.load(s, definitions.latest(s, runtime.LIFECYCLE).id)
        facts = {"category": "industrial", "needs_land": False, "land_mu": 0.0, "dev_zone": False, "one_case_support": False}
        for _ in range(10):  # warm-up both paths
            run_raw(loaded, facts)
            run_lifecycle(db, registration, actors)
        raw, eng, cold = [], [], []
        for _ in range(args.n):
            t0 = time.perf_counter()
            run_raw(loaded, facts)
            t1 = time.perf_counter()
            run_lifecycle(db, registration, actors)
            t2 = time.perf_counter()
            run_lifecycle(db, registration, actors, cold=True)
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
