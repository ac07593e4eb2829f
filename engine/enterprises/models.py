"""Tables of the target-enterprise database (招引企业数据库, SPEC §8): industry tags and enterprise entries."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from engine.platform.models import Base, Event, Money, OrgUnit, Project, User, utcnow

EVENT_KIND = "enterprise"
"""The kind of the events that log an entry's changes (their payload names the entry)."""


class entry_of(FunctionElement[int]):  # noqa: N801 - used as a SQL function
    """The entry id an enterprise event's payload names, as SQL the history index and its query share word for word."""

    type = Integer()
    inherit_cache = True


@compiles(entry_of, "sqlite")
def _entry_of_sqlite(element: entry_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(json_extract({compiler.process(element.clauses, **kw)}, '$.entry_id') AS INTEGER)"


@compiles(entry_of, "postgresql")
def _entry_of_postgresql(element: entry_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)} ->> 'entry_id') AS INTEGER)"


class IndustryTag(Base):
    """One tag of the county's "1+3+3" industry system; the office edits the list, a tag in use is only deactivated."""

    __tablename__ = "industry_tag"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    group_name: Mapped[str] = mapped_column(String(40))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    category: Mapped[str] = mapped_column(String(20), default="")  # the project category (产业类别) a lead from this tag starts with; "" when none


class EnterpriseEntry(Base):
    """A target or intended enterprise a unit supplied for attraction; can be turned into a project lead once."""

    __tablename__ = "enterprise_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)  # normalised name: one entry per enterprise
    tag_id: Mapped[int] = mapped_column(ForeignKey("industry_tag.id"), index=True)
    source_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    list_kind: Mapped[str] = mapped_column(String(20), index=True)
    region: Mapped[str] = mapped_column(String(100), default="")
    contact_name: Mapped[str] = mapped_column(String(80), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    planned_investment: Mapped[Optional[Decimal]] = mapped_column(Money)
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    project_id: Mapped[Optional[int]] = mapped_column(ForeignKey("project.id"), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    tag: Mapped[IndustryTag] = relationship(lazy="select")
    source_unit: Mapped[OrgUnit] = relationship(lazy="select")
    project: Mapped[Optional[Project]] = relationship(lazy="select")
    creator: Mapped[User] = relationship(foreign_keys=[created_by], lazy="select")
    updater: Mapped[User] = relationship(foreign_keys=[updated_by], lazy="select")


ENTRY_HISTORY_WHERE = Event.kind == EVENT_KIND
Index("ix_event_enterprise_entry", entry_of(Event.payload), Event.id,
      sqlite_where=ENTRY_HISTORY_WHERE, postgresql_where=ENTRY_HISTORY_WHERE)
"""An entry's history read from its events alone, whatever the years of other events."""
