"""Shared by the engine benchmarks: a prepared SQLite database and a full T3 lifecycle through the engine."""
from __future__ import annotations

import argparse
import sqlite3
import time
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.engine import make_url
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.projects import lifecycle, record
from engine.workflow import definitions, runtime, state
from engine import demo
from engine.platform import schema
from engine.platform.config import PROJECT_ROOT
from engine.platform.db import Database
from engine.platform.models import Project, User
from engine.platform.org import can_act
from engine.workflow.sandbox import SCRIPT_ENGINE
from filler import pg_database

PASS = {"decision": "pass", "opinion": "同意"}
T3_STEPS = [
    {"has_intent": True, "opinion": "有意向"},
    {"decision": "pass", "opinion": "论证通过"},
    {"needs_land": True, "land_mu": 60, "one_case_support": False, "summary": "概况", "opinion": "请审议"},
    PASS,
    PASS,
    {"decision": "continue", "opinion": "洽谈完成"},
    {"decision": "pass", "opinion": "联审同意"},
    *[{"decision": "approve", "opinion": "同意"}] * 4,
    {"signed_date": "2026-10-01", "contract_amount": 48000},
    {"company_registered": True},
    {"start_date": "2026-11-20"},
]


ACTING: dict[str, User] = {}
"""Who completes each step of the T3 route (by element id), found once among the prepared officials."""

START: dict[str, Any] = {}
"""The task data the engine starts a lifecycle with for the prepared registration: the record's workflow facts of a project it
registered. The raw paths start from the same data, so that their state carries what the engine's does."""


def prepared(tmp: str, name: str, pg_url: str | None = None) -> tuple[Database, dict, list[User]]:
    """A migrated database (SQLite in `tmp`, or a fresh PostgreSQL database named after `name`) with the demo org and bpmn/ deployed; a registration and the officials.

    One project is registered through the engine here, and its start data kept in `START`.
    """
    ACTING.clear()  # the steps' officials are this database's
    db = pg_database(make_url(pg_url).set(database=name).render_as_string(hide_password=False)) if pg_url else Database(f"sqlite:///{tmp}/{name}.db")
    schema.upgrade(db)
    with db.session() as s:
        demo.load_org(s)
        definitions.deploy(s, definitions.read_bundle(PROJECT_ROOT / "bpmn"), lifecycle.LIFECYCLE)
        actors = list(s.scalars(select(User)))
    anwen = next(u for u in actors if u.username == "anwen")
    registration = {"name": "基准项目", "category": "industrial", "total_investment": 50000, "landing_unit_id": anwen.unit_id,
                    "deputy_id": next(u.id for u in actors if u.username == "fx_gongye")}
    actors.sort(key=lambda u: u.username != "anwen")
    with db.session() as s:
        registered = lifecycle.register(s, registration, anwen)
        START.clear()
        START.update(record.workflow_facts(s.get_one(Project, registered.project_id)))
    return db, registration, actors


def arguments(database: str, walk: bool = False) -> argparse.Namespace:
    """The engine benchmarks' options: lifecycles per path, PostgreSQL (a database named `database` there) instead of SQLite,
    and with `walk`, the floor's objects walked between statements."""
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200, help="lifecycles per path")
    parser.add_argument("--pg", metavar="URL", help=f"run on PostgreSQL (a database named {database} is created there)")
    if walk:
        parser.add_argument("--walk", type=int, default=0, metavar="N",
                            help="walk N small Python objects before each statement (what other code between statements costs them)")
    return parser.parse_args()


def deployed(db: Database) -> tuple[int, definitions.LoadedDefinition]:
    """The deployed lifecycle definition's id, and the definition as the engine loads it."""
    with db.session() as s:
        definition_id = definitions.latest(s, lifecycle.LIFECYCLE).id
        return definition_id, definitions.load(s, definition_id)


def run_lifecycle(db: Database, registration: dict, actors: list[User], cold: bool = False) -> int:
    """Register and complete every T3 task, one transaction each, as the official who may act; the project's id.

    With `cold`, the live-workflow cache is emptied before every task, so each completion
    restores the instance from its stored state (as after a restart or on another node).
    The officials are the ones `prepared` loaded, roles included, as a request's sign-in hands
    them over, and each next task is the one the previous completion reported ready. Who acts
    on a step is looked up among them once per step and then remembered, as a request arrives
    from its official: the engine checks every completion's official itself.
    """
    with db.session() as s:
        outcome = lifecycle.register(s, registration, actors[0])
    for data in T3_STEPS:
        if cold:
            state.WORKFLOWS.clear()
        (task,) = outcome.ready
        actor = ACTING.get(task.bpmn_id) or ACTING.setdefault(task.bpmn_id, next(u for u in actors if can_act(u, task)))
        with db.session() as s:
            outcome = runtime.complete_task(s, task.id, actor, data, at_meeting=True)
    assert outcome.status == "completed" and not outcome.ready
    return outcome.project_id


def checkpoint(driver: Any) -> float:
    """Copy SQLite's write-ahead log into the database file now, through a driver connection, between two timed lifecycles; the
    seconds it took (nothing to do on PostgreSQL, whose server checkpoints on its own).

    SQLite checkpoints inside whichever commit takes the log past 1,000 pages. Interleaved, that
    commit fell in about half of one path's lifecycles and in none of another's, by the order the
    paths ran in, and each median then took one side or the other of a 5–10 ms step: the floor
    measured 14.7 and 20.5 ms in two runs back to back. Checkpointed after every lifecycle, no path
    pays for it in its timed part, and each path's checkpoint is timed on its own.
    """
    if not isinstance(driver, sqlite3.Connection):
        return 0.0
    started = time.perf_counter()
    driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    return time.perf_counter() - started


def all_started(db: Database, project_ids: list[int]) -> bool:
    """Whether every one of these projects' records shows it started (checked once after the timed lifecycles, not inside them)."""
    with db.session() as s:
        return set(s.scalars(select(Project.status).where(Project.id.in_(project_ids)).distinct())) == {"started"}


class Store(Protocol):
    """What persists a raw lifecycle: told once the workflow reached its first task, then after each completion."""

    def started(self, wf: BpmnWorkflow) -> None:
        """The new instance ran to its first wait."""

    def completed(self, wf: BpmnWorkflow, done: Any, data: dict) -> None:
        """`done` was completed with `data` and the workflow ran to its next wait."""


def run_raw(loaded: definitions.LoadedDefinition, store: Store | None = None) -> None:
    """One T3 lifecycle in memory: the same spec, sandbox and task data; `store`, if given, persists each step."""
    wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=SCRIPT_ENGINE)
    wf.get_tasks(state=TaskState.READY)[0].data.update(START)
    wf.do_engine_steps()
    if store is not None:
        store.started(wf)
    for data in T3_STEPS:
        task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
        task.set_data(**data)
        task.run()
        wf.do_engine_steps()
        if store is not None:
            store.completed(wf, task, data)
    assert wf.completed
