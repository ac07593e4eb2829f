"""Migration 0008 creates exactly what the models declare, with default tags; the demo county carries the lists."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from engine import demo
from engine.enterprises import catalog
from engine.enterprises.models import EnterpriseEntry
from engine.platform.models import Base, OrgUnit, Project, User
from tests.enterprises.conftest import EnterpriseHelper

OWN_TABLES = {"industry_tag", "enterprise_entry"}


def test_migration_matches_the_models_and_seeds_default_tags(eh: EnterpriseHelper) -> None:
    with eh.db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if any(table in repr(d) for table in OWN_TABLES)] == []
    with eh.db.session() as s:
        tags = catalog.tags(s)
    assert len(tags) == 7 and all(t.active for t in tags)
    assert [t.group_name for t in tags].count("1 主导产业") == 1


def test_demo_lists_are_loaded_once_with_one_entry_already_a_lead(eh: EnterpriseHelper) -> None:
    with eh.db.session() as s:
        assert demo.load_projects(s) == 12
    with eh.db.session() as s:
        assert demo.load_projects(s) == 0 and demo.load_enterprises(s) == 0 and not demo.load_org(s)
        entries = list(s.scalars(select(EnterpriseEntry)))
        assert len(entries) == len(demo.ENTERPRISES) == 15
        assert {e.list_kind for e in entries} == set(catalog.LIST_KINDS)
        assert len({e.source_unit_id for e in entries}) >= 9
        converted = [e for e in entries if e.status == "converted"]
        assert [(e.name, e.project.name) for e in converted] == [("磐五味药业股份有限公司", "中药材精深加工产业园")]
        talent = s.scalars(select(User).where(User.username == "rencaiban")).one()
        assert talent.unit.name == "县委组织部（人才办）" and catalog.may_create(talent)
        assert s.scalars(select(func.count(Project.id))).one() == 12


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
