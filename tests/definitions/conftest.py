"""Web fixtures for the definitions pages: an app over the prepared SQLite database and a signed-in client."""
from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from engine.demo import DEMO_PASSWORD



def sign_in(client: FlaskClient, username: str) -> str:
    """Sign in through the login form; returns a CSRF token for later posts."""
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:500]
    token = match.group(1)
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return token


@pytest.fixture
def owner(client: FlaskClient) -> str:
    """The office director (process owner) signed in; the value is a CSRF token."""
    return sign_in(client, "bangongshi")
