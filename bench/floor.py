"""The least any durable engine can cost on the T3 route: raw SpiffWorkflow plus bare SQL per step.

The registration and each of the 14 completions commit the minimum `bench/engine.py`'s target
still asks for, through the database driver on the migrated schema, with no ORM, no checks and
no audit chain. Registering inserts the project, its instance with its state, the first ready
task and one event; completing claims the task row, inserts the next ready task, updates the
instance's state and revision and inserts one event. One commit each. Printed as ratios to raw
SpiffWorkflow in the same process. Every path starts from the task data the engine starts the
lifecycle with, and on SQLite the write-ahead log is checkpointed between lifecycles, untimed
(`lifecycle.checkpoint`). The time each path's statements spent in the driver is printed too;
`--walk N` walks N small objects before each statement, to show what other code running between
the statements costs them.

A last path adds, by hand, the statements of the checks the engine keeps: a completion first
reads its task with its instance, project and the instance's other ready tasks; each new task's
role holders are read (the orphan check); the project's clock, due tasks and progress thresholds
are read and its light stamps written; the event is hashed into a chain whose head is moved in
the same transaction (on a head row of its own, so that the engine's chain in the same database
is left alone). What the engine costs above this row is its own work around those statements.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine import wiring  # noqa: E402
from engine.platform import audit  # noqa: E402
from engine.workflow import state  # noqa: E402
from engine.platform.db import Database, with_defaults  # noqa: E402
from engine.platform.models import Instance, Project, User, utcnow  # noqa: E402
from lifecycle import T3_STEPS, arguments, checkpoint, deployed, prepared, run_raw  # noqa: E402

CLAIM = "UPDATE task SET status='completed', completed_by=?, completed_at=?, data=? WHERE id=? AND status='ready'"
INSERT_TASK = (
    "INSERT INTO task (instance_id, project_id, spiff_task_id, bpmn_id, name, lane, role, scope, stage, form, created_at, status)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ready') RETURNING id"
)
SAVE_STATE = "UPDATE instance SET state=?, revision=revision+1, updated_at=? WHERE id=? AND revision=?"
CHECKED = "+ the checks' statements"
LOG = "INSERT INTO event (at, kind, project_id, instance_id, actor_id, bpmn_id, summary, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
READ_TASK = (
    "SELECT task.status, task.role, task.unit_id, task.assignee_id, task.claimed_by, instance.status, instance.revision, project.stage"
    " FROM task JOIN instance ON instance.id = task.instance_id JOIN project ON project.id = task.project_id"
    " WHERE task.instance_id = ? AND (task.id = ? OR task.status = 'ready')"
)
HOLDERS = ("SELECT app_user.id, app_user.unit_id, app_user.display_name FROM app_user JOIN user_role ON user_role.user_id = app_user.id"
           " WHERE user_role.role = ? AND app_user.active")
READ_STAMPS = (
    "SELECT coalesce(project.last_progress_at, project.registered_at), project.yellow_at, project.red_at, task.due_at, task.created_at,"
    " (SELECT value FROM warning_setting WHERE warning_setting.\"key\" = 'progress_yellow_days'),"
    " (SELECT value FROM warning_setting WHERE warning_setting.\"key\" = 'progress_red_days')"
    " FROM project LEFT JOIN task ON task.project_id = project.id AND task.status = 'ready' AND task.due_at IS NOT NULL WHERE project.id = ?"
)
RESTAMP = "UPDATE project SET yellow_at=?, red_at=? WHERE id=?"
BENCH_HEAD = 2  # the checked path's own chain position
NEW_HEAD = "INSERT INTO audit_head (id, seq, hash) VALUES (?, 0, ?) ON CONFLICT (id) DO NOTHING"
READ_HEAD = "SELECT seq, hash FROM audit_head WHERE id=?"
MOVE_HEAD = "UPDATE audit_head SET seq=?, hash=? WHERE id=? AND seq=? AND hash=?"
LOG_CHAINED = ("INSERT INTO event (at, kind, project_id, instance_id, actor_id, bpmn_id, summary, payload, prev_hash, hash)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def full_row(model: type[Any], sqlite_driver: bool, **values: Any) -> tuple[str, dict[str, Any]]:
    """An INSERT … RETURNING id of every column of the model's table, in the driver's named style, and its values.

    The model's Python-side defaults are what the ORM would send (`db.with_defaults`); they are evaluated once here.
    """
    dialect = sqlite.dialect(paramstyle="named") if sqlite_driver else postgresql.psycopg.dialect(paramstyle="pyformat")
    table = model.__table__
    compiled = insert(table).values(**with_defaults(model, values)).returning(table.c.id).compile(dialect=dialect)
    return compiled.string, dict(compiled.params)


class BareStore:
    """The minimal transactions of a lifecycle, by hand, on the engine's schema: one new project and instance per lifecycle."""

    def __init__(self, connection: Any, db: Database, registration: dict[str, Any], actors: list[User], with_state: bool = True,
                 checked: bool = False) -> None:
        """Write through driver `connection` into `db` (prepared by `lifecycle.prepared`), registering as its first official."""
        definition_id, self.loaded = deployed(db)
        sqlite = db.is_sqlite
        self.db = connection
        self.project = full_row(Project, sqlite, attracting_unit_id=registration["landing_unit_id"], **registration)
        self.instance = full_row(Instance, sqlite, project_id=0, process_id=self.loaded.process_id, definition_id=definition_id,
                                 state="", revision=1)
        self.actor_id = actors[0].id
        self.with_state = with_state
        self.placeholder = (lambda sql: sql) if sqlite else (lambda sql: sql.replace("?", "%s"))
        self.project_id = self.instance_id = self.task_id = self.revision = 0
        self.checked = checked
        self.walked: list[dict[str, int]] = []  # objects walked before each statement (`floor.py --walk`)
        self.in_statements = 0.0  # seconds the driver took to execute this store's statements (not its commits)
        self.new_roles: list[str] = []
        self.head: tuple[int, str] = (0, audit.GENESIS)
        if checked:
            cur = connection.cursor()
            self.execute(cur, NEW_HEAD, (BENCH_HEAD, audit.GENESIS))
            self.head = tuple(self.execute(cur, READ_HEAD, (BENCH_HEAD,)).fetchone())
            connection.commit()

    def use(self, connection: Any) -> None:
        """Run the next lifecycles on this driver connection."""
        self.db = connection

    def execute(self, cursor: Any, sql: str, values: tuple) -> Any:
        """Run one statement with the driver's own placeholders (after walking `walked`), and count the time the driver took."""
        for item in self.walked:
            item.get("n")
        started = time.perf_counter()
        result = cursor.execute(self.placeholder(sql), values)
        self.in_statements += time.perf_counter() - started
        return result

    def insert_ready(self, cursor: Any, wf: BpmnWorkflow, now: str) -> None:
        """Insert the workflow's ready user tasks."""
        self.new_roles = []
        for ready in wf.get_tasks(state=TaskState.READY, manual=True):
            meta = self.loaded.user_tasks[ready.task_spec.bpmn_id]
            self.new_roles.append(meta.role)
            self.execute(cursor, INSERT_TASK, (self.instance_id, self.project_id, str(ready.id), meta.bpmn_id, meta.name,
                                               meta.lane, meta.role, meta.scope, meta.stage, meta.form, now))
            self.task_id = cursor.fetchone()[0]

    def started(self, wf: BpmnWorkflow) -> None:
        """Insert the project, the instance with its state, the first ready task and the start event; commit."""
        now = utcnow().isoformat()
        cur = self.db.cursor()
        self.project_id = cur.execute(self.project[0], self.project[1]).fetchone()[0]
        instance = {**self.instance[1], "project_id": self.project_id, "state": self.dumped(wf)}
        self.instance_id = cur.execute(self.instance[0], instance).fetchone()[0]
        self.revision = 1
        self.insert_ready(cur, wf, now)
        self.log(cur, "start", "", "登记", None)
        self.db.commit()

    def completed(self, wf: BpmnWorkflow, done: Any, data: dict) -> None:
        """Claim, insert the next ready row, save state and revision, log, commit."""
        now = utcnow().isoformat()
        payload = json.dumps(data, ensure_ascii=False)
        cur = self.db.cursor()
        if self.checked:
            self.execute(cur, READ_TASK, (self.instance_id, self.task_id)).fetchall()
        self.execute(cur, CLAIM, (self.actor_id, now, payload, self.task_id))
        self.insert_ready(cur, wf, now)
        self.execute(cur, SAVE_STATE, (self.dumped(wf), now, self.instance_id, self.revision))
        self.revision += 1
        self.log(cur, "complete", done.task_spec.bpmn_id, "办理", payload)
        self.db.commit()

    def log(self, cur: Any, kind: str, bpmn_id: str, summary: str, payload: Any) -> None:
        """Insert the step's event; on the checked path, the checks' statements first and the event hashed into the chain."""
        at = utcnow()
        if not self.checked:
            self.execute(cur, LOG, (at.isoformat(), kind, self.project_id, self.instance_id, self.actor_id, bpmn_id, summary, payload))
            return
        for role in self.new_roles:
            self.execute(cur, HOLDERS, (role,)).fetchall()
        self.execute(cur, READ_STAMPS, (self.project_id,)).fetchall()
        self.execute(cur, RESTAMP, (at.isoformat(), at.isoformat(), self.project_id))
        entry = audit.Entry(kind, at, self.project_id, self.instance_id, self.actor_id, bpmn_id, summary, payload)
        seq, previous = self.head
        digest = audit.entry_hash(entry, seq + 1, previous)
        self.execute(cur, MOVE_HEAD, (seq + 1, digest, BENCH_HEAD, seq, previous))
        self.execute(cur, LOG_CHAINED, (at.isoformat(), kind, self.project_id, self.instance_id, self.actor_id, bpmn_id, summary, payload,
                                        previous, digest))
        self.head = (seq + 1, digest)

    def dumped(self, wf: BpmnWorkflow) -> str:
        """The workflow's stored state, or nothing on the path without state."""
        return state.dump(wf) if self.with_state else ""


def main() -> None:
    """Time raw, raw + bare rows, raw + bare rows + state, and that with the checks' statements, interleaved in one process."""
    wiring.install()
    args = arguments("bench_floor", walk=True)
    with tempfile.TemporaryDirectory() as tmp:
        db, registration, actors = prepared(tmp, "bench_floor", args.pg)
        _, loaded = deployed(db)
        raw_connection = db.engine.raw_connection()  # carries the engine's WAL / synchronous pragmas
        paths = {
            "raw SpiffWorkflow in memory": None,
            "+ bare rows, commit per task": BareStore(raw_connection.driver_connection, db, registration, actors, with_state=False),
            "+ bare rows and state": BareStore(raw_connection.driver_connection, db, registration, actors),
            CHECKED: BareStore(raw_connection.driver_connection, db, registration, actors, checked=True),
        }
        for store in paths.values():
            if store is not None:
                store.walked = [{"n": i} for i in range(args.walk)]
        times: dict[str, list[float]] = {name: [] for name in paths}
        for round_ in range(args.n + 10):
            if round_ == 10:
                for store in paths.values():
                    if store is not None:
                        store.in_statements = 0.0
            for name, persist in paths.items():
                t0 = time.perf_counter()
                run_raw(loaded, persist)
                elapsed = time.perf_counter() - t0
                checkpoint(raw_connection.driver_connection)  # untimed, as bench/engine.py does
                if round_ >= 10:  # the first ten are warm-up
                    times[name].append(elapsed)
        raw_connection.close()
        db.dispose()
    tasks = len(T3_STEPS)
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    base = medians["raw SpiffWorkflow in memory"]
    print(f"T3 lifecycle, {tasks} user tasks, n={args.n} (median per instance), {'PostgreSQL' if args.pg else 'SQLite'}")
    for name, value in medians.items():
        print(f"{name:32s}: {value:7.2f} ms  ({value / tasks:.3f} ms/task)  ratio {value / base:5.2f}")
    for name, store in paths.items():
        if store is not None:
            print(f"{name:32s}: {store.in_statements / args.n * 1000:7.2f} ms a lifecycle in the driver's execute"
                  + (f", {args.walk} objects walked before each statement" if args.walk else ""))
    print(f"load average (1, 5, 15 min)     : {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
