"""Full T3 lifecycles: raw SpiffWorkflow in memory vs the engine with SQLite persistence.

Prints per-instance times and their ratios, the engine against `bench/floor.py`'s floor with
state measured in the same process, interleaved (the machine's load moves both alike; target:
at most 2.5×), and against that floor with the statements of the engine's checks added by hand
(what the engine costs above it is Python, not SQL), and the cost of the expression sandbox: the same
completion path with the checked, guarded environment against SpiffWorkflow's plain one
(a switch that exists only here; target: checks add at most 10 %). Timing starts after the warm-up
and `heap.settle()`, as a served worker's requests do (zhikong/server.py). Run: `make bench`.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment  # noqa: E402

from engine import wiring  # noqa: E402
from engine.platform import heap  # noqa: E402
from engine.workflow.sandbox import SCRIPT_ENGINE  # noqa: E402
from floor import BareStore  # noqa: E402
from lifecycle import T3_STEPS, arguments, deployed, prepared, run_lifecycle, run_raw  # noqa: E402


def main() -> None:
    """Measure both paths in one process and print the ratio."""
    wiring.install()
    args = arguments("bench_engine")
    with tempfile.TemporaryDirectory() as tmp:
        db, registration, actors = prepared(tmp, "bench_engine", args.pg)
        definition_id, loaded = deployed(db)
        raw_connection = db.engine.raw_connection()
        floor = BareStore(raw_connection.driver_connection, loaded, registration, actors[0].id, definition_id, with_state=True, sqlite=db.is_sqlite)
        checked = BareStore(raw_connection.driver_connection, loaded, registration, actors[0].id, definition_id, with_state=True,
                            sqlite=db.is_sqlite, checked=True)
        for _ in range(10):  # warm-up every path
            run_raw(loaded)
            run_raw(loaded, floor)
            run_raw(loaded, checked)
            run_lifecycle(db, registration, actors)
        heap.settle()  # as each served worker does once it has started (zhikong/server.py)
        raw, floored, with_checks, eng, cold, unchecked = [], [], [], [], [], []
        checked_env, plain_env = SCRIPT_ENGINE.environment, TaskDataEnvironment()
        for _ in range(args.n):
            t_ = time.perf_counter()
            run_raw(loaded, checked)
            t = time.perf_counter()
            run_raw(loaded, floor)
            t0 = time.perf_counter()
            run_raw(loaded)
            t1 = time.perf_counter()
            run_lifecycle(db, registration, actors)
            t2 = time.perf_counter()
            run_lifecycle(db, registration, actors, cold=True)
            t3 = time.perf_counter()
            SCRIPT_ENGINE.environment = plain_env
            try:
                run_lifecycle(db, registration, actors)
            finally:
                SCRIPT_ENGINE.environment = checked_env
            t4 = time.perf_counter()
            with_checks.append(t - t_)
            floored.append(t0 - t)
            raw.append(t1 - t0)
            eng.append(t2 - t1)
            cold.append(t3 - t2)
            unchecked.append(t4 - t3)
        raw_connection.close()
        db.dispose()
    r, f, k, e, c, u = (statistics.median(x) * 1000 for x in (raw, floored, with_checks, eng, cold, unchecked))
    tasks = len(T3_STEPS)
    print(f"T3 lifecycle, {tasks} user tasks, n={args.n} (median per instance)")
    print(f"raw SpiffWorkflow in memory : {r:8.2f} ms  ({r / tasks:.3f} ms/task)")
    print(f"engine + {'PostgreSQL' if args.pg else 'SQLite'} persistence : {e:8.2f} ms  ({e / tasks:.3f} ms/task)")
    print(f"engine, state restored/task : {c:8.2f} ms  ({c / tasks:.3f} ms/task)")
    print(f"+ bare rows and state       : {f:8.2f} ms  (bench/floor.py's floor, interleaved here)")
    print(f"ratio engine/floor          : {e / f:8.2f}  (target <= 2.5)")
    print(f"+ the checks' statements    : {k:8.2f} ms  (the floor with, by hand, the SQL of the checks the engine keeps)")
    print(f"ratio engine/that           : {e / k:8.2f}  (what the engine's Python costs above its SQL)")
    print(f"ratio engine/raw            : {e / r:8.2f}  (target <= 2.0)")
    print(f"ratio restored/raw          : {c / r:8.2f}")
    print(f"engine, sandbox checks off  : {u:8.2f} ms  (bench-only switch: SpiffWorkflow's plain eval)")
    print(f"sandbox cost checked/off    : {e / u:8.3f}  (target <= 1.10)")
    print(f"load average (1, 5, 15 min) : {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
