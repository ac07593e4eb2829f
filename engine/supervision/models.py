"""Tables of supervision and assessment: coordination cases and items, criticisms, targets, monthly notices."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from engine.platform.models import Base, Definition, Money, OrgUnit, Project, utcnow


class CoordinationCase(Base):
    """A problem a landing unit raised for county-level coordination; one coordination_item process."""

    __tablename__ = "coordination_case"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    title: Mapped[str] = mapped_column(String(200))
    problem: Mapped[str] = mapped_column(Text)
    material: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="submitted", index=True)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    project: Mapped[Project] = relationship(lazy="select")
    unit: Mapped[OrgUnit] = relationship(lazy="select")
    items: Mapped[list["CoordinationItem"]] = relationship(
        lazy="selectin", order_by="CoordinationItem.seq", back_populates="case"
    )


class CoordinationItem(Base):
    """One line of a 交办单: what, which department, by when; its report and its light."""

    __tablename__ = "coordination_item"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("coordination_case.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    responsible_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    light: Mapped[str] = mapped_column(String(10), default="green")
    report: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    reported_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    overdue_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("task.id"))
    case: Mapped[CoordinationCase] = relationship(lazy="select", back_populates="items")
    responsible_unit: Mapped[OrgUnit] = relationship(lazy="select")


class Criticism(Base):
    """A 通报批评 of a unit for an assigned task not finished on time: 一票否优 for that year."""

    __tablename__ = "criticism"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    item_id: Mapped[Optional[int]] = mapped_column(ForeignKey("coordination_item.id"))
    reason: Mapped[str] = mapped_column(String(500))
    recorded_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    unit: Mapped[OrgUnit] = relationship(lazy="select")


class UnitTarget(Base):
    """A unit's annual targets: project counts and indicator amounts (万元)."""

    __tablename__ = "unit_target"
    __table_args__ = (UniqueConstraint("year", "unit_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    mfg_7yi: Mapped[int] = mapped_column(Integer, default=0)
    ind_3yi: Mapped[int] = mapped_column(Integer, default=0)
    yi_plus: Mapped[int] = mapped_column(Integer, default=0)
    foreign_capital: Mapped[Decimal] = mapped_column(Money, default=0)
    out_of_province_capital: Mapped[Decimal] = mapped_column(Money, default=0)
    mfg_funds: Mapped[Decimal] = mapped_column(Money, default=0)
    updated_by: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    unit: Mapped[OrgUnit] = relationship(lazy="select")


class MonthlyNotice(Base):
    """The 每月通报 as generated at month end: one row per unit, frozen for printing and export."""

    __tablename__ = "monthly_notice"
    __table_args__ = (UniqueConstraint("year", "month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    generated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    rows: Mapped[list[Any]] = mapped_column(JSON)


class PublishedRanking(Base):
    """A quarter's or year's ranking as the office finalised it (定稿): frozen with the rule version it used."""

    __tablename__ = "published_ranking"
    __table_args__ = (UniqueConstraint("year", "quarter", "edition"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)  # 1-4, or 0 for the annual assessment
    edition: Mapped[int] = mapped_column(Integer)  # 1 for the first 定稿, 2 … for each 重新定稿
    rule_definition_id: Mapped[int] = mapped_column(ForeignKey("definition.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    published_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    rows: Mapped[list[Any]] = mapped_column(JSON)  # every unit's total, counts, rank and rating; their lines are PublishedRankingUnit rows
    # the version number of that scoring table, read with the row (a definition's version never changes)
    rule_version: Mapped[int] = column_property(
        select(Definition.version).where(Definition.id == rule_definition_id).correlate_except(Definition).scalar_subquery()
    )


class PublishedRankingUnit(Base):
    """One unit's explained lines as a finalised edition froze them, read only where a page or export shows that unit's lines."""

    __tablename__ = "published_ranking_unit"
    __table_args__ = (UniqueConstraint("ranking_id", "unit_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ranking_id: Mapped[int] = mapped_column(ForeignKey("published_ranking.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    lines: Mapped[list[Any]] = mapped_column(JSON)


LAST_ACTIVITY = func.coalesce(Project.last_progress_at, Project.registered_at)
"""When a project last showed progress (its registration until the first note): what the progress lights read."""
Index("ix_project_last_activity", Project.status, LAST_ACTIVITY)
"""The active projects silent since a date, without reading every active project."""
