"""Migration 0009 creates exactly the tables, columns, types, nullability and indexes the models declare."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.db import Database
from engine.element_models import ElementSetting, FundDisbursement, LandRevitalisation, LandSupply
from engine.models import Base

TABLES = {model.__tablename__ for model in (ElementSetting, FundDisbursement, LandRevitalisation, LandSupply)}


def test_the_migrated_schema_matches_the_models(edb: Database) -> None:
    with edb.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        assert TABLES <= set(conn.dialect.get_table_names(conn))
    assert [d for d in differences if any(table in repr(d) for table in TABLES)] == []
