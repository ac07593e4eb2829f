"""Migration 0008 creates exactly what the models declare, with default tags; an older demo database gains the new unit and official."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, literal, select, text

from engine import demo
from engine.enterprises import catalog
from engine.enterprises.models import EVENT_KIND, entry_of
from engine.platform.models import Base, Event, OrgUnit, User
from tests.engine.test_schema import plain
from tests.enterprises.conftest import EnterpriseHelper

OWN_TABLES = {"industry_tag", "enterprise_entry"}


def test_migration_matches_the_models_and_seeds_default_tags(eh: EnterpriseHelper) -> None:
    with eh.db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"include_object": plain}), Base.metadata)
    assert [d for d in diffs if any(table in repr(d) for table in OWN_TABLES)] == []
    with eh.db.session() as s:
        tags = catalog.tags(s)
    assert len(tags) == 7 and all(t.active for t in tags)
    assert [t.group_name for t in tags].count("1 主导产业") == 1
    assert {t.name: t.category for t in tags}["中医药(康养)"] == "health" and all(t.category for t in tags)


def test_an_older_demo_database_gets_only_the_missing_unit_and_official(eh: EnterpriseHelper) -> None:
    with eh.db.session() as s:
        s.delete(s.scalars(select(User).where(User.username == "rencaiban")).one())
        s.delete(s.scalars(select(OrgUnit).where(OrgUnit.code == "zzb")).one())
    with eh.db.session() as s:
        assert demo.load_org(s)
    with eh.db.session() as s:
        assert s.scalars(select(func.count(OrgUnit.id))).one() == len(demo.UNITS)
        assert s.scalars(select(func.count(User.id))).one() == len(demo.USERS)
        assert not demo.load_org(s)


def test_an_entry_history_is_read_through_its_own_index(eh: EnterpriseHelper) -> None:
    """The migration builds the index the model declares, and the history query is written so the database can use it."""
    with eh.db.engine.connect() as conn:
        if eh.db.is_sqlite:
            created = conn.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'ix_event_enterprise_entry'"))
        else:
            created = conn.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_event_enterprise_entry'"))
        assert created is not None and "entry_id" in created and "enterprise" in created
        if eh.db.is_sqlite:
            query = select(Event.id).where(Event.kind == literal(EVENT_KIND, literal_execute=True), entry_of(Event.payload) == 7)
            compiled = query.compile(eh.db.engine, compile_kwargs={"literal_binds": True})
            plan = " ".join(str(row[-1]) for row in conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert "ix_event_enterprise_entry" in plan, plan
