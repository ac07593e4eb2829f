"""Schema upgrades through Alembic: `init-db` and `make run` upgrade an existing database in place."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from engine.platform.db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(db: Database) -> Config:
    """Alembic config pointing at this package's migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def upgrade(db: Database) -> None:
    """Apply every pending migration in one transaction per migration."""
    config = alembic_config(db)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
