"""Alembic environment: migrates the database named by the connection passed in config."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from engine import tables

config = context.config
target_metadata = tables.metadata()


def run_migrations() -> None:
    """Run migrations on the given connection, or on a new engine from sqlalchemy.url."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic: neither a connection nor sqlalchemy.url was given")
    engine = create_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
