"""Every module that declares tables or indexes, listed once: Alembic and the schema check load them all so the metadata is whole."""
from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from engine.platform.models import Base

MODULES = (
    "engine.platform.models",
    "engine.platform.audit",
    "engine.platform.revisions",
    "engine.platform.notifications",
    "engine.platform.attachments",
    "engine.workflow.versions",
    "engine.workflow.health",
    "engine.projects.meetings",
    "engine.projects.queries",
    "engine.projects.comments",
    "engine.supervision.models",
    "engine.supervision.progress",
    "engine.platform.warning_settings",
    "engine.elements.models",
    "engine.enterprises.models",
)


def metadata() -> MetaData:
    """The metadata of every table the product declares."""
    for name in MODULES:
        importlib.import_module(name)
    return Base.metadata
