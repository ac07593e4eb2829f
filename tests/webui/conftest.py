"""Web fixtures: an app over the prepared SQLite database, a client and a sign-in helper."""
from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.demo import DEMO_PASSWORD
from engine.platform.db import Database
from tests.conftest import Helper



def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


class Auth:
    """Signs officials in and out through the real login form."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str, password: str = DEMO_PASSWORD) -> TestResponse:
        token = csrf_token(self.client, "/login")
        return self.client.post("/login", data={"username": username, "password": password, "csrf_token": token})

    def logout(self) -> TestResponse:
        page = self.client.get("/", follow_redirects=True).get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, page[:500]
        return self.client.post("/logout", data={"csrf_token": token.group(1)})

    def switch(self, username: str) -> TestResponse:
        """Sign out whoever is signed in and sign `username` in."""
        self.logout()
        return self.login(username)


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


@pytest.fixture
def hw(sqlite_db: Database) -> Helper:
    return Helper(sqlite_db)


@pytest.fixture(autouse=True, scope="session")
def compiled_catalogs() -> None:
    """Compile the .po catalogs as `make install` does, when a checkout has not done it yet."""
    import os
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in Path("webui/translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            partial = mo.with_name(f"{mo.name}.{os.getpid()}")
            with po.open("rb") as source, partial.open("wb") as target:
                write_mo(target, read_po(source))
            partial.replace(mo)  # parallel workers never read a half-written catalog
