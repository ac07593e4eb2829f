"""Fixtures for the elements ledgers: the demo county on every backend, a lifecycle driver and a signed-in web client."""
from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.workflow import admin
from engine.platform.db import Database
from engine.platform.models import User
from tests.conftest import APPROVE, Helper, approval_form, drive_to_tier, web_parts
from tests.webui.conftest import Auth


class ElementsHelper(Helper):
    """Helper plus the steps the ledgers follow: approval granted, project closed by an administrator."""

    def approve(self, project_id: int, unit_user: str = "anwen", **form: Any) -> None:
        """Drive a T1 project through assessment, negotiation and approval (approved_at set, stage signing)."""
        drive_to_tier(self, project_id, unit_user, {**approval_form(False), **form})
        self.complete(project_id, "xianzhang", APPROVE, "t1_head_consent")
        self.complete(project_id, "fx_gongye", APPROVE, "t1_deputy_approval")

    def close(self, project_id: int) -> None:
        """An administrator terminates the project's lifecycle: the project is closed."""
        task = self.only_ready(project_id)
        with self.db.session() as s:
            admin.terminate(s, task.instance_id, s.merge(self.user("admin")), "投资方撤资")

    def as_user(self, session: Session, username: str) -> User:
        """The official as a row of `session`."""
        return session.merge(self.user(username))


@pytest.fixture
def eh(db: Database) -> ElementsHelper:
    return ElementsHelper(db)


Web = tuple[FlaskClient, Auth, ElementsHelper]


@pytest.fixture
def web(sqlite_db: Database) -> Web:
    """A test client on SQLite: (client, Auth, ElementsHelper)."""
    return web_parts(sqlite_db, ElementsHelper)
