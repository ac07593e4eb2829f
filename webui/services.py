"""The web side's handle on the engine database (one unit of work per request action)."""
from __future__ import annotations

from flask import current_app

from engine.platform.db import Database


def db() -> Database:
    """The Database owned by the running app."""
    database: Database = current_app.extensions["zhikong_db"]
    return database
