"""The migrations create exactly what the models declare: tables, columns, types, nullability, indexes, on both backends."""
from __future__ import annotations

import pathlib
import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Index, text
from sqlalchemy.schema import CreateIndex

import engine
from engine import tables
from engine.platform.db import Database


def expression_indexes() -> list[Index]:
    """The declared indexes over expressions: reflection cannot read these back word for word, so they are checked apart."""
    return [ix for table in tables.metadata().tables.values() for ix in table.indexes
            if any(not isinstance(element, Column) for element in ix.expressions)]


def plain(_obj: object, name: str | None, type_: str, _reflected: bool, _compare_to: object) -> bool:
    """Alembic's filter: everything but the expression indexes."""
    return not (type_ == "index" and name in {ix.name for ix in expression_indexes()})


def test_the_migrated_schema_matches_every_model(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": plain})
        differences = compare_metadata(context, tables.metadata())
        names = set(conn.dialect.get_table_names(conn))
    assert differences == []
    assert {"published_ranking", "fund_disbursement", "land_supply", "enterprise_entry", "industry_tag"} <= names


def test_the_migrations_build_each_expression_index_the_models_declare(db: Database) -> None:
    declared = expression_indexes()
    assert declared, "the enterprise history index at least"
    with db.engine.connect() as conn:
        for index in declared:
            if db.is_sqlite:
                built = conn.scalar(text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n"), {"n": index.name})
                assert built == str(CreateIndex(index).compile(db.engine)), index.name
            else:
                built = conn.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": index.name})
                wanted = str(CreateIndex(index).compile(db.engine)).lower()
                words = set(re.findall(r"[a-z_]+", wanted)) - {"create", "index", "on", "cast", "as", "where", "and"}
                assert built is not None and words <= set(re.findall(r"[a-z_]+", built.lower())), (index.name, built)


def test_every_module_that_declares_a_table_or_an_index_is_listed() -> None:
    root = pathlib.Path(engine.__file__).parent
    declaring = {
        "engine." + ".".join(path.relative_to(root).with_suffix("").parts)
        for path in root.rglob("*.py")
        if ("__tablename__" in path.read_text(encoding="utf-8") or "\nIndex(" in path.read_text(encoding="utf-8"))
        and "migrations" not in path.parts
    }
    assert declaring == set(tables.MODULES)


def test_the_planner_has_statistics_after_an_upgrade_and_the_scheduler_keeps_them_fresh(db: Database) -> None:
    from engine import scheduler
    if not db.is_sqlite:
        assert db.refresh_statistics() == 0  # PostgreSQL's autovacuum keeps its own
        return
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")) == 1
    assert scheduler.run_once(db, ["statistics"]) == {"statistics": 1}
