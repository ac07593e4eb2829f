"""The least any durable engine can cost on the T3 route: raw SpiffWorkflow plus bare SQL per task.

Each of the 14 completions commits the minimum `bench/engine.py`'s target still asks for, through
the stdlib sqlite3 driver on the migrated schema, with no ORM, no checks and no audit chain:
the task row claimed, the next ready task inserted, the instance's state and revision updated,
one event inserted, one commit. Printed as ratios to raw SpiffWorkflow in the same process.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine import wiring  # noqa: E402
from engine.projects import lifecycle  # noqa: E402
from engine.workflow import definitions, state  # noqa: E402
from engine.platform.models import utcnow  # noqa: E402
from lifecycle import T3_STEPS, prepared, run_raw  # noqa: E402

CLAIM = "UPDATE task SET status='completed', completed_by=?, completed_at=?, data=? WHERE id=? AND status='ready'"
INSERT_TASK = (
    "INSERT INTO task (instance_id, project_id, spiff_task_id, bpmn_id, name, lane, role, scope, stage, form, created_at, status)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ready')"
)
SAVE_STATE = "UPDATE instance SET state=?, revision=revision+1, updated_at=? WHERE id=? AND revision=?"
LOG = "INSERT INTO event (at, kind, project_id, instance_id, actor_id, bpmn_id, summary, payload) VALUES (?, 'complete', ?, ?, ?, ?, ?, ?)"


class BareStore:
    """The minimal per-task transaction, by hand, on one instance row of the engine's schema."""

    def __init__(self, connection: Any, loaded: definitions.LoadedDefinition, ids: dict[str, int], with_state: bool, sqlite: bool) -> None:
        self.db = connection
        self.loaded = loaded
        self.ids = ids
        self.with_state = with_state
        # the driver's own placeholders; PostgreSQL returns the new task's id, SQLite's cursor knows it
        self.sql = {name: sql if sqlite else sql.replace("?", "%s") for name, sql in
                    (("claim", CLAIM), ("insert", INSERT_TASK if sqlite else INSERT_TASK + " RETURNING id"), ("save", SAVE_STATE), ("log", LOG))}
        self.sqlite = sqlite
        self.revision = self.db.execute(f"SELECT revision FROM instance WHERE id={int(ids['instance'])}").fetchone()[0]
        self.task_id = self.db.execute("SELECT max(id) FROM task").fetchone()[0]

    def __call__(self, wf: BpmnWorkflow, done: Any, data: dict) -> None:
        """Claim, insert the next ready row, save state and revision, log, commit."""
        now = utcnow().isoformat()
        payload = json.dumps(data, ensure_ascii=False)
        cur = self.db.cursor()
        cur.execute(self.sql["claim"], (self.ids["actor"], now, payload, self.task_id))
        for ready in wf.get_tasks(state=TaskState.READY, manual=True):
            meta = self.loaded.user_tasks[ready.task_spec.bpmn_id]
            cur.execute(self.sql["insert"], (self.ids["instance"], self.ids["project"], str(ready.id), meta.bpmn_id, meta.name,
                                             meta.lane, meta.role, meta.scope, meta.stage, meta.form, now))
            self.task_id = cur.lastrowid if self.sqlite else cur.fetchone()[0]
        text = state.dump(wf) if self.with_state else ""
        cur.execute(self.sql["save"], (text, now, self.ids["instance"], self.revision))
        self.revision += 1
        cur.execute(self.sql["log"], (now, self.ids["project"], self.ids["instance"], self.ids["actor"], done.task_spec.bpmn_id, "办理", payload))
        self.db.commit()


def main() -> None:
    """Time raw, raw + bare rows, raw + bare rows + state, interleaved in one process."""
    wiring.install()
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200, help="lifecycles per path")
    parser.add_argument("--pg", metavar="URL", help="run on PostgreSQL (a database named bench_floor is created there)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, registration, actors = prepared(tmp, "bench_floor", args.pg)
        with db.session() as s:
            outcome = lifecycle.register(s, registration, actors[0])
            loaded = definitions.load(s, definitions.latest(s, lifecycle.LIFECYCLE).id)
        ids = {"instance": outcome.instance_id, "project": outcome.project_id, "actor": actors[0].id}
        raw_connection = db.engine.raw_connection()  # carries the engine's WAL / synchronous pragmas
        paths = {
            "raw SpiffWorkflow in memory": None,
            "+ bare rows, commit per task": BareStore(raw_connection.driver_connection, loaded, ids, with_state=False, sqlite=db.is_sqlite),
            "+ bare rows and state": BareStore(raw_connection.driver_connection, loaded, ids, with_state=True, sqlite=db.is_sqlite),
        }
        times: dict[str, list[float]] = {name: [] for name in paths}
        for round_ in range(args.n + 10):
            for name, persist in paths.items():
                t0 = time.perf_counter()
                run_raw(loaded, persist)
                if round_ >= 10:  # the first ten are warm-up
                    times[name].append(time.perf_counter() - t0)
        raw_connection.close()
        db.dispose()
    tasks = len(T3_STEPS)
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    base = medians["raw SpiffWorkflow in memory"]
    print(f"T3 lifecycle, {tasks} user tasks, n={args.n} (median per instance), {'PostgreSQL' if args.pg else 'SQLite'}")
    for name, value in medians.items():
        print(f"{name:32s}: {value:7.2f} ms  ({value / tasks:.3f} ms/task)  ratio {value / base:5.2f}")
    print(f"load average (1, 5, 15 min)     : {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
