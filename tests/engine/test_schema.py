"""The migrations create exactly what the models declare: tables, columns, types, nullability, indexes, on both backends."""
from __future__ import annotations

import importlib
import pkgutil

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import engine
from engine.db import Database
from engine.models import Base


def test_the_migrated_schema_matches_every_model(db: Database) -> None:
    for module in pkgutil.iter_modules(engine.__path__):
        importlib.import_module(f"engine.{module.name}")  # every module that declares tables
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        tables = set(conn.dialect.get_table_names(conn))
    assert differences == []
    assert {"published_ranking", "fund_disbursement", "land_supply", "enterprise_entry", "industry_tag"} <= tables
