"""Fixtures for supervision and assessment: every process of bpmn/ deployed, unit staff hold responsible_unit."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.supervision import coordination
from engine.workflow import definitions, runtime
from engine.platform.db import Database
from engine.platform.models import Instance, Task
from tests.conftest import BACKENDS, BPMN_DIR, Helper, prepared_database, web_parts
from tests.webui.conftest import Auth

PROCESSES = ("project_lifecycle", "coordination_item", "assessment_scoring")


def deploy_all(db: Database) -> None:
    """Deploy the coordination process and the scoring table beside the lifecycle; grant unit roles (done once, in a template)."""
    with db.session() as s:
        files = definitions.read_bundle(BPMN_DIR)
        for process in PROCESSES:
            definitions.deploy(s, files, process)
        coordination.grant_responsible_role(s)


class SupervisionHelper(Helper):
    """Helper plus coordination steps; `ready` lists the lifecycle's tasks only (a project may run other processes)."""

    def ready(self, project_id: int) -> list[Task]:
        with self.db.session() as s:
            query = select(Task).join(Instance, Task.instance_id == Instance.id).where(
                Task.project_id == project_id, Task.status == "ready", Instance.process_id == "project_lifecycle"
            )
            return list(s.scalars(query))

    def task(self, instance_id: int, bpmn_id: str, unit: int | None = None) -> Task:
        with self.db.session() as s:
            query = select(Task).where(Task.instance_id == instance_id, Task.bpmn_id == bpmn_id, Task.status == "ready")
            if unit is not None:
                query = query.where(Task.unit_id == unit)
            return s.scalars(query).one()

    def act(self, task: Task, username: str, data: dict[str, Any]) -> runtime.Outcome:
        with self.db.session() as s:
            return runtime.complete_task(s, task.id, s.merge(self.user(username)), data, at_meeting=True)


@pytest.fixture(params=BACKENDS)
def sdb(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = prepared_database(request.param, tmp_path, deploy_all)
    yield database
    database.dispose()


@pytest.fixture
def ssqlite(tmp_path: Path) -> Iterator[Database]:
    database = prepared_database("sqlite", tmp_path, deploy_all)
    yield database
    database.dispose()


@pytest.fixture
def sh(sdb: Database) -> SupervisionHelper:
    return SupervisionHelper(sdb)


@pytest.fixture
def shs(ssqlite: Database) -> SupervisionHelper:
    return SupervisionHelper(ssqlite)



Web = tuple[FlaskClient, Auth, SupervisionHelper]


@pytest.fixture
def web(ssqlite: Database) -> Web:
    """A test client on SQLite with every process deployed: (client, Auth, SupervisionHelper)."""
    return web_parts(ssqlite, SupervisionHelper)
