"""Alembic environment: migrates the database named by the connection passed in config."""
from __future__ import annotations

import importlib
import pkgutil

from alembic import context
from sqlalchemy import create_engine

import engine
from engine.models import Base

for _module in pkgutil.iter_modules(engine.__path__):
    importlib.import_module(f"engine.{_module.name}")  # every module's tables join Base.metadata

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Run migrations on the given connection, or on a new engine from sqlalchemy.url."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
