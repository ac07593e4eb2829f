"""The migrations create exactly what the models declare: tables, columns, types, nullability, indexes, on both backends."""
from __future__ import annotations

import pathlib

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import engine
from engine import tables
from engine.platform.db import Database


def test_the_migrated_schema_matches_every_model(db: Database) -> None:
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), tables.metadata())
        names = set(conn.dialect.get_table_names(conn))
    assert differences == []
    assert {"published_ranking", "fund_disbursement", "land_supply", "enterprise_entry", "industry_tag"} <= names


def test_every_module_that_declares_a_table_or_an_index_is_listed() -> None:
    root = pathlib.Path(engine.__file__).parent
    declaring = {
        "engine." + ".".join(path.relative_to(root).with_suffix("").parts)
        for path in root.rglob("*.py")
        if ("__tablename__" in path.read_text(encoding="utf-8") or "\nIndex(" in path.read_text(encoding="utf-8"))
        and "migrations" not in path.parts
    }
    assert declaring == set(tables.MODULES)
