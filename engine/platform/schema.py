"""Schema upgrades through Alembic: `init-db` and `make run` upgrade an existing database in place."""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from sqlalchemy import Connection

from engine.platform.db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(db: Database) -> Config:
    """Alembic config pointing at this package's migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def upgrade(db: Database) -> None:
    """Apply every pending migration in one transaction per migration, then refresh the planner's statistics."""
    config = alembic_config(db)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
    db.refresh_statistics()


@cache
def scripts() -> ScriptDirectory:
    """The migration scripts this code ships, read once per process."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def behind(connection: Connection) -> Optional[str]:
    """Why the database's schema is not what this code's migrations build (in Chinese), or None when every migration is applied."""
    current = MigrationContext.configure(connection).get_current_heads()
    try:
        applied = {script.revision for script in scripts().iterate_revisions(current, "base")}
    except ResolutionError:
        return f"数据库结构版本 {'、'.join(current)} 不是本程序的迁移（数据库比程序新？）（schema unknown）"
    missing = sorted(known_revisions() - applied)
    if not missing:
        return None
    return f"数据库缺少迁移 {'、'.join(missing)}，请运行 zhikong init-db（schema not at head）"


def known_revisions() -> set[str]:
    """Every schema version this program's migrations know (a database at any other was made by a newer version)."""
    return {script.revision for script in scripts().walk_revisions()}
