"""Fixtures for the target-enterprise database: a prepared database on every backend, a helper, a signed-in web client."""
from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.enterprises import catalog
from engine.platform.db import Database
from engine.enterprises.models import EnterpriseEntry, IndustryTag
from engine.platform.models import Event, Project
from tests.conftest import Helper, web_parts
from tests.webui.conftest import Auth


class EnterpriseHelper(Helper):
    """Helper plus enterprise vocabulary: tags by name, entries made and read, counts of what is stored."""

    def tag(self, name: str) -> int:
        with self.db.session() as s:
            return s.scalars(select(IndustryTag.id).where(IndustryTag.name == name)).one()

    def entry_data(self, **fields: Any) -> dict[str, Any]:
        tag_id = fields["tag_id"] if "tag_id" in fields else self.tag("装备制造")
        data: dict[str, Any] = {"name": "浙江测试装备有限公司", "tag_id": tag_id, "list_kind": "target",
                                "region": "杭州市", "contact_name": "王经理", "contact_phone": "0571-22345678",
                                "planned_investment": "50000", "notes": "", "status": "pending"}
        data.update(fields)
        return data

    def add(self, by: str = "jingshang", **fields: Any) -> int:
        with self.db.session() as s:
            return catalog.create(s, self.entry_data(**fields), s.merge(self.user(by))).id

    def entry(self, entry_id: int) -> EnterpriseEntry:
        with self.db.session() as s:
            return s.get_one(EnterpriseEntry, entry_id)

    def stored(self) -> tuple[int, int, int]:
        """(entries, events, projects): what a refused action must leave unchanged."""
        with self.db.session() as s:
            return (s.scalars(select(func.count(EnterpriseEntry.id))).one(), s.scalars(select(func.count(Event.id))).one(),
                    s.scalars(select(func.count(Project.id))).one())

    def lead_data(self, **fields: Any) -> dict[str, Any]:
        data: dict[str, Any] = {"name": "精密装备生产基地", "investor": "浙江测试装备有限公司", "category": "industrial",
                                "is_manufacturing": "1", "total_investment": "80000", "landing_unit_id": self.unit("jinpan"),
                                "deputy_id": self.user("fx_gongye").id}
        data.update(fields)
        return data


@pytest.fixture
def eh(db: Database) -> EnterpriseHelper:
    return EnterpriseHelper(db)


Web = tuple[FlaskClient, Auth, EnterpriseHelper]


@pytest.fixture
def web(sqlite_db: Database) -> Web:
    """A test client on SQLite: (client, Auth, EnterpriseHelper)."""
    return web_parts(sqlite_db, EnterpriseHelper)
