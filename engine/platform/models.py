"""SQLAlchemy 2.0 models: organisation, definitions, projects, instances, task table, event log."""
from __future__ import annotations

from contextvars import ContextVar
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from collections.abc import Iterable
from typing import Any, ClassVar, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    case,
    or_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


CLOCK_BEHIND: ContextVar[timedelta] = ContextVar("clock_behind", default=timedelta(0))
"""How far the engine's clock runs behind the wall clock here: zero, except inside `clock.as_of` (the demo county's past)."""


def utcnow() -> datetime:
    """Timezone-aware now in UTC (the engine's clock: the wall clock, or `clock.as_of`'s moment); every stored timestamp is UTC."""
    return datetime.now(timezone.utc) - CLOCK_BEHIND.get()


class Base(DeclarativeBase):
    """Declarative base with a JSON type that works on SQLite and PostgreSQL."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}
    __table__: ClassVar[Table]  # every model names its own table, so each maps a Table, not any FromClause


Money = Numeric(14, 2)


class OrgUnit(Base):
    """An organisation unit: zone, town, department, the office, leadership bodies."""

    __tablename__ = "org_unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    is_dev_zone: Mapped[bool] = mapped_column(Boolean, default=False)


class User(Base):
    """A signed-in official; belongs to one unit and holds roles."""

    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(80), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    unit: Mapped[OrgUnit] = relationship(lazy="select")
    role_rows: Mapped[list["UserRole"]] = relationship(lazy="selectin", cascade="all, delete-orphan")

    @property
    def roles(self) -> set[str]:
        """The role keys this user holds."""
        return {r.role for r in self.role_rows}


class UserRole(Base):
    """One role held by one user."""

    __tablename__ = "user_role"
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)


class Definition(Base):
    """A deployed, versioned bundle of BPMN, DMN, forms and lane mapping."""

    __tablename__ = "definition"
    __table_args__ = (UniqueConstraint("process_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    files: Mapped[dict[str, Any]] = mapped_column(JSON)
    deployed_by: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    deployed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    note: Mapped[str] = mapped_column(String(200), default="")


class Project(Base):
    """The project ledger record (项目台账) of SPEC §2; amounts in 万元, areas in 亩."""

    __tablename__ = "project"
    __table_args__ = (
        Index("ix_project_stage_money", "stage", "status", "total_investment", "is_manufacturing"),  # the cockpit's stage totals and 7亿+ count, index only
        Index("ix_project_investor", "investor", "status", "name"),  # an import's duplicate check: an investor's open projects by name, index only
        Index("ix_project_fund_ledger", "fund_request", "status", "approved_at", "registered_at"),  # the fund ledger's lines, index only
        Index("ix_project_land_waiting", "needs_land", "status", "landed_at", "land_mu", "is_manufacturing", "category",
              "total_investment", "approved_at", "registered_at"),  # the projects waiting for land, chosen and ordered from the index
        # the projects that signed, landed or started in a period with their class and credited units: the ranking, index only
        *(Index(f"ix_project_{name}_scoring", column, "is_manufacturing", "total_investment", "category", "attracting_unit_id", "landing_unit_id")
          for name, column in (("signed", "signed_date"), ("landed", "landed_at"), ("started", "start_date"))),
        # the flagged projects in progress (yellow_at passed) with what their counts group and filter by: the cockpit,
        # the warning board and the ledger's light filter, index only
        Index("ix_project_light", "status", "yellow_at", "red_at", "landing_unit_id", "attracting_unit_id", "deputy_id"),
        # a project's assessment class by its id, index only: the quarter's late updates each look theirs up (PostgreSQL
        # otherwise hashes every project for a few thousand lookups)
        Index("ix_project_class", "id", "is_manufacturing", "total_investment", "category"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    investor: Mapped[str] = mapped_column(String(200), default="")
    source_channel: Mapped[str] = mapped_column(String(20), default="other")
    attracting_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    landing_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    landing_platform_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_unit.id"))
    category: Mapped[str] = mapped_column(String(20))
    is_manufacturing: Mapped[bool] = mapped_column(Boolean, default=False)
    total_investment: Mapped[Decimal] = mapped_column(Money)
    fixed_asset_investment: Mapped[Decimal] = mapped_column(Money, default=0)
    foreign_capital: Mapped[Decimal] = mapped_column(Money, default=0)
    out_of_province_capital: Mapped[Decimal] = mapped_column(Money, default=0)
    funds_in_place: Mapped[Decimal] = mapped_column(Money, default=0)
    needs_land: Mapped[bool] = mapped_column(Boolean, default=False)
    land_mu: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=0)
    one_case_support: Mapped[bool] = mapped_column(Boolean, default=False)
    one_case_amount: Mapped[Decimal] = mapped_column(Money, default=0)
    fund_request: Mapped[Decimal] = mapped_column(Money, default=0)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    contact_name: Mapped[str] = mapped_column(String(80), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    is_major: Mapped[bool] = mapped_column(Boolean, default=False)
    stage: Mapped[str] = mapped_column(String(20), default="lead", index=True)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    close_reason: Mapped[str] = mapped_column(String(500), default="")
    registered_by: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    intent_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    assessed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    approved_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    signed_date: Mapped[Optional[date]] = mapped_column(Date)  # the dashboard's monthly trend reads one year's range
    landed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    start_date: Mapped[Optional[date]] = mapped_column(Date)
    contract_amount: Mapped[Decimal] = mapped_column(Money, default=0)
    tier: Mapped[str] = mapped_column(String(4), default="")
    last_progress_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    # when the project's light turns yellow and red if nothing changes (engine/supervision/stamps.py keeps them)
    yellow_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    red_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    landing_unit: Mapped[OrgUnit] = relationship(foreign_keys=[landing_unit_id], lazy="select")
    attracting_unit: Mapped[OrgUnit] = relationship(foreign_keys=[attracting_unit_id], lazy="select")
    landing_platform: Mapped[Optional[OrgUnit]] = relationship(foreign_keys=[landing_platform_id], lazy="select")
    deputy: Mapped[User] = relationship(foreign_keys=[deputy_id], lazy="select")

    @hybrid_property
    def is_7yi_manufacturing(self) -> bool:
        """制造业 and total ≥ 7亿元 (70,000 万元): a unit of assessment."""
        return bool(self.is_manufacturing and self.total_investment >= 70000)

    @is_7yi_manufacturing.inplace.expression
    @classmethod
    def _is_7yi_manufacturing(cls) -> ColumnElement[bool]:
        return and_(cls.is_manufacturing.is_(True), cls.total_investment >= 70000)

    @hybrid_property
    def is_3yi_industrial(self) -> bool:
        """Industrial category and total ≥ 3亿元 (30,000 万元): a major industrial project."""
        return bool(self.category == "industrial" and self.total_investment >= 30000)

    @is_3yi_industrial.inplace.expression
    @classmethod
    def _is_3yi_industrial(cls) -> ColumnElement[bool]:
        return and_(cls.category == "industrial", cls.total_investment >= 30000)

    @hybrid_property
    def is_yi_plus(self) -> bool:
        """亿元以上项目: total ≥ 10,000 万元."""
        return bool(self.total_investment >= 10000)

    @is_yi_plus.inplace.expression
    @classmethod
    def _is_yi_plus(cls) -> ColumnElement[bool]:
        return cls.total_investment >= 10000

    @hybrid_property
    def assessment_class(self) -> str:
        """The highest class the project is scored in: 7亿+ manufacturing > 3亿+ industrial > 亿元以上 > other."""
        if self.is_7yi_manufacturing:
            return "mfg_7yi"
        if self.is_3yi_industrial:
            return "ind_3yi"
        if self.is_yi_plus:
            return "yi_plus"
        return "other"

    @assessment_class.inplace.expression
    @classmethod
    def _assessment_class(cls) -> ColumnElement[str]:
        return case((cls.is_7yi_manufacturing, "mfg_7yi"), (cls.is_3yi_industrial, "ind_3yi"), (cls.is_yi_plus, "yi_plus"), else_="other")

    @classmethod
    def of_units(cls, unit_ids: Iterable[int]) -> ColumnElement[bool]:
        """Projects these units attracted or land: what a unit's officials see (both are credited equally)."""
        ids = list(unit_ids)
        return or_(cls.landing_unit_id.in_(ids), cls.attracting_unit_id.in_(ids))


class Instance(Base):
    """One running process (a lifecycle, a coordination item …) linked to a project; own state only, never the spec."""

    __tablename__ = "instance"
    __table_args__ = (
        Index("ix_instance_timer_due", "status", "next_timer_at"),  # the timer sweep's range scan
        Index("ix_instance_updated", "updated_at", "id"),  # the admin console's newest-first pages
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(80), default="project_lifecycle", index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition.id"), index=True)
    state: Mapped[str] = mapped_column(Text, deferred=True)
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    error: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    next_timer_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    project: Mapped[Project] = relationship(lazy="select")
    definition: Mapped[Definition] = relationship(lazy="select")
    __mapper_args__ = {"version_id_col": revision}


class Task(Base):
    """A mirrored user task: the inbox, counts and lights read this table, never a workflow."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_inbox_role", "status", "role", "scope", "unit_id", "due_at"),
        Index("ix_task_inbox_assignee", "status", "assignee_id", "due_at"),
        Index("ix_task_instance_status", "instance_id", "status"),
        Index("ix_task_completed_by", "completed_by", "completed_at"),
        # overdue ready tasks and their lights, and the tasks waiting at each step of a definition (the heat view), index only
        Index("ix_task_status_due", "status", "due_at", "project_id", "created_at", "bpmn_id", "instance_id"),
        # the tasks completed since the step-time rollup last ran
        Index("ix_task_completed_at", "completed_at", sqlite_where=text("completed_at IS NOT NULL"),
              postgresql_where=text("completed_at IS NOT NULL")),
        Index("ix_task_step_status", "bpmn_id", "status"),  # the ready tasks at one step (a meeting's agenda); led by the step, so status-only counts keep their own indexes
        # the few orphaned tasks among a million, by status then time: led by status, a planner without statistics
        # prefers it to the other status-led indexes for "ready and orphaned"
        Index("ix_task_orphaned", "status", "orphaned_at", sqlite_where=text("orphaned_at IS NOT NULL"),
              postgresql_where=text("orphaned_at IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36), unique=True)
    bpmn_id: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(120))
    lane: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_unit.id"))
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    stage: Mapped[str] = mapped_column(String(20), default="")
    form: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default="ready")
    completed_by: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    completed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    data: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    orphaned_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    # 认领: a task shown to a group, taken by one of them so the others see who is on it (engine/workflow/handover.py)
    claimed_by: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    claimed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    project: Mapped[Project] = relationship(lazy="select")


class StepTime(Base):
    """Per step of a definition: how many of its tasks were completed and their seconds from creation to completion, summed.

    Added to by the `step_times` job for the tasks completed since its mark (engine/workflow/step_times.py),
    so the heat view reads a few rows instead of every completed task.
    """

    __tablename__ = "step_time"
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition.id"), primary_key=True)
    bpmn_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    done_seconds: Mapped[float] = mapped_column(Float, default=0.0)


class JobMark(Base):
    """How far a background job that adds up what changed has got: it has counted everything up to `through`."""

    __tablename__ = "job_mark"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    through: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Delegation(Base):
    """Tasks an official hands to a colleague of the same role and unit: one task, or all their own tasks for a leave period.

    Nothing is copied onto the task: the inbox and `org.can_act` read the delegations in force
    at the moment they ask, so a period that ends hands the tasks back by itself, and a
    delegation taken back (`revoked_at`) stops at once.
    """

    __tablename__ = "delegation"
    __table_args__ = (
        # a delegate's delegations in force, read beside every inbox query: led by the delegate, only those not taken back
        Index("ix_delegation_delegate", "delegate_id", "task_id", "starts_at", "ends_at", "unit_id", "delegator_id",
              sqlite_where=text("revoked_at IS NULL"), postgresql_where=text("revoked_at IS NULL")),
        Index("ix_delegation_delegator", "delegator_id", "created_at"),  # 我的委托, and the delegations of an official gone
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    delegator_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    delegate_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))  # the unit both belong to; a delegate who leaves it no longer holds the tasks
    task_id: Mapped[Optional[int]] = mapped_column(ForeignKey("task.id"))  # one task; none: every own task of the period
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))  # none: until taken back (one task)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))


class Event(Base):
    """Append-only log: starts, completions, decisions, deploys, errors, admin actions."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_kind", "kind", "id"),)  # one kind's events among the years of all (refusals, locks, tags)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(30))
    project_id: Mapped[Optional[int]] = mapped_column(ForeignKey("project.id"), index=True)
    instance_id: Mapped[Optional[int]] = mapped_column(ForeignKey("instance.id"), index=True)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    bpmn_id: Mapped[str] = mapped_column(String(80), default="")
    summary: Mapped[str] = mapped_column(String(300), default="")
    payload: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    # Hash chain, filled by engine/audit.py when the transaction commits: position, previous hash, own hash.
    seq: Mapped[Optional[int]] = mapped_column(Integer, unique=True, index=True)
    prev_hash: Mapped[Optional[str]] = mapped_column(String(64))
    hash: Mapped[Optional[str]] = mapped_column(String(64))


class LoginThrottle(Base):
    """Sign-in attempts not yet known good in the current window: per (username key, client address), or per address alone (username_key '').

    Counted before the password is checked, so parallel guesses cannot pass the limit; the
    username is kept as a SHA-256 key, never as typed (people type passwords into it).
    """

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("username_key", "client_addr", name="uq_login_throttle_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username_key: Mapped[str] = mapped_column(String(64))
    client_addr: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    locked_until: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
