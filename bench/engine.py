"""Full T3 lifecycles: raw SpiffWorkflow in memory vs the engine with SQLite persistence.

Prints per-instance times and their ratios, the engine against `bench/floor.py`'s floor with
state measured in the same process, interleaved (the machine's load moves both alike; target:
at most 2.5×), and against that floor with the statements of the engine's checks added by hand
(what the engine costs above it is its own work around those statements), every path on the
one pooled connection; and the cost of the expression sandbox: the same completion path with
the checked, guarded environment against SpiffWorkflow's plain one (a switch that exists only
here; target: checks add at most 10 %).
Timing starts after the warm-up and `heap.settle()`, as a served worker's requests do
(zhikong/server.py). On SQLite the write-ahead log is checkpointed after every lifecycle of every
path, outside its timing, and those checkpoints are printed apart (`lifecycle.checkpoint`). Run:
`make bench`.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment  # noqa: E402

from engine import wiring  # noqa: E402
from engine.platform import heap  # noqa: E402
from engine.platform.db import Database  # noqa: E402
from engine.workflow.sandbox import SCRIPT_ENGINE  # noqa: E402
from floor import BareStore  # noqa: E402
from lifecycle import T3_STEPS, all_started, arguments, checkpoint, prepared, run_lifecycle, run_raw  # noqa: E402


def on_pool(db: Database, store: BareStore) -> None:
    """One raw lifecycle on the connection the engine's own units of work check out, handed back to the pool after.

    Every path then runs on one SQLite connection. With the floor on a second one, each side's
    commits emptied the other's page cache (SQLite re-reads its pages once another connection
    has written), and in the interleaved order that cost fell on the engine path alone: about
    3 ms a lifecycle, measured as the same engine lifecycle run after the floor against after itself.
    """
    raw = db.engine.raw_connection()
    store.use(raw.driver_connection)
    try:
        run_raw(store.loaded, store)
    finally:
        raw.close()


def main() -> None:
    """Measure both paths in one process and print the ratio."""
    wiring.install()
    args = arguments("bench_engine")
    with tempfile.TemporaryDirectory() as tmp:
        db, registration, actors = prepared(tmp, "bench_engine", args.pg)
        raw_connection = db.engine.raw_connection()
        floor = BareStore(raw_connection.driver_connection, db, registration, actors)
        checked = BareStore(raw_connection.driver_connection, db, registration, actors, checked=True)
        raw_connection.close()  # back to the pool: every path takes the one pooled connection in turn
        checked_env, plain_env = SCRIPT_ENGINE.environment, TaskDataEnvironment()

        projects: list[int] = []

        def unchecked() -> None:
            SCRIPT_ENGINE.environment = plain_env
            try:
                projects.append(run_lifecycle(db, registration, actors))
            finally:
                SCRIPT_ENGINE.environment = checked_env

        paths: dict[str, Callable[[], None]] = {
            "checks": lambda: on_pool(db, checked),
            "floor": lambda: on_pool(db, floor),
            "raw": lambda: run_raw(floor.loaded),
            "engine": lambda: projects.append(run_lifecycle(db, registration, actors)),
            "cold": lambda: projects.append(run_lifecycle(db, registration, actors, cold=True)),
            "unchecked": unchecked,
        }
        times: dict[str, list[float]] = {name: [] for name in paths}
        checkpoints: dict[str, list[float]] = {name: [] for name in paths}
        for round_ in range(args.n + 10):
            if round_ == 10:  # the first ten warm every path up
                heap.settle()  # as each served worker does once it has started (zhikong/server.py)
            for name, run in paths.items():
                t0 = time.perf_counter()
                run()
                elapsed = time.perf_counter() - t0
                raw = db.engine.raw_connection()
                copied = checkpoint(raw.driver_connection)  # untimed: see lifecycle.checkpoint
                raw.close()
                if round_ >= 10:
                    times[name].append(elapsed)
                    checkpoints[name].append(copied)
        assert all_started(db, projects), "an engine lifecycle did not leave its project started"
        db.dispose()
    r, f, k, e, c, u = (statistics.median(times[name]) * 1000 for name in ("raw", "floor", "checks", "engine", "cold", "unchecked"))
    ck = {name: statistics.median(values) * 1000 for name, values in checkpoints.items()}
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
    if not args.pg:
        print(f"WAL checkpoint, not timed   : {ck['engine']:8.2f} ms after an engine lifecycle, {ck['floor']:.2f} after the floor's, "
              f"{ck['checks']:.2f} after the checks' (copied between lifecycles: see bench/lifecycle.py)")
    print(f"load average (1, 5, 15 min) : {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
