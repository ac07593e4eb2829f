"""Admin test fixtures: deploy a derived bundle, start projects on it, act as the administrator."""
from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from engine.projects import lifecycle
from engine.workflow import definitions, runtime
from engine.platform.models import Instance, Project, User
from engine.platform.db import Database
from tests.conftest import Helper


class AdminHelper(Helper):
    """Helper plus deploying bundles and looking up instances."""

    def deploy(self, files: dict[str, str], process_id: str = lifecycle.LIFECYCLE) -> int:
        with self.db.session() as s:
            row, _created = definitions.deploy(s, files, process_id)
            return row.id

    def instance(self, project_id: int) -> Instance:
        with self.db.session() as s:
            instance = s.scalars(select(Instance).where(Instance.project_id == project_id).order_by(Instance.id)).first()
            assert instance is not None
            return instance

    def start(self, definition_id: int, project_id: int) -> runtime.Outcome:
        with self.db.session() as s:
            return runtime.start_instance(s, s.get_one(Project, project_id), definition_id, None)

    def admin(self, s: Session) -> User:
        return s.scalars(select(User).where(User.username == "admin")).one()



@pytest.fixture
def ah(db: Database) -> AdminHelper:
    return AdminHelper(db)


@pytest.fixture
def ahs(sqlite_db: Database) -> AdminHelper:
    return AdminHelper(sqlite_db)



class WebAdmin:
    """Signs in through the real form and posts forms with their CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def token(self, path: str) -> str:
        page = self.client.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match, page[:500]
        return match.group(1)

    def login(self, username: str = "admin") -> None:
        from engine.demo import DEMO_PASSWORD

        self.client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": self.token("/login")})

    def post(self, path: str, data: dict[str, Any], page: str = "/admin/") -> TestResponse:
        return self.client.post(path, data={**data, "csrf_token": self.token(page)})


@pytest.fixture
def web(client: FlaskClient) -> WebAdmin:
    return WebAdmin(client)
