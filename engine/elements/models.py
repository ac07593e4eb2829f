"""Tables of the elements ledgers (要素保障): office settings, fund disbursements, land supply and revitalisation."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import Date, DateTime, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.platform.models import Base, Money, Project, User, utcnow

Area = Numeric(10, 2)


class ElementSetting(Base):
    """One changed elements setting (fund size, per-project cap, land targets); absent keys keep their default."""

    __tablename__ = "element_setting"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))


class Voidable:
    """A ledger entry is never deleted: a wrong one is voided (冲销) with a reason, stops counting and stays on record."""

    voided_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    voided_by: Mapped[Optional[int]] = mapped_column(ForeignKey("app_user.id"))
    void_reason: Mapped[str] = mapped_column(String(300), default="")


class FundDisbursement(Voidable, Base):
    """One payment of the industrial fund to a project (拨付记录), in 万元."""

    __tablename__ = "fund_disbursement"
    __table_args__ = (
        Index("ix_fund_disbursement_counted", "voided_at", "project_id", "amount"),  # paid totals per project, from the index alone
        Index("ix_fund_disbursement_listed", "voided_at", "paid_on", "id"),  # the newest records first, a page at a time
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    paid_on: Mapped[date] = mapped_column(Date, index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[str] = mapped_column(String(500), default="")
    recorded_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    project: Mapped[Project] = relationship(lazy="select")
    recorder: Mapped[User] = relationship(lazy="select", foreign_keys="FundDisbursement.recorded_by")


class LandSupply(Voidable, Base):
    """One parcel of land supplied in the county (供地记录), industrial or other use, in 亩."""

    __tablename__ = "land_supply"
    id: Mapped[int] = mapped_column(primary_key=True)
    supplied_on: Mapped[date] = mapped_column(Date, index=True)
    parcel: Mapped[str] = mapped_column(String(200))
    area_mu: Mapped[Decimal] = mapped_column(Area)
    land_use: Mapped[str] = mapped_column(String(20))
    project_id: Mapped[Optional[int]] = mapped_column(ForeignKey("project.id"), index=True)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    project: Mapped[Optional[Project]] = relationship(lazy="select")


class LandRevitalisation(Voidable, Base):
    """Idle or low-efficiency land brought back into use (盘活低效用地), in 亩."""

    __tablename__ = "land_revitalisation"
    id: Mapped[int] = mapped_column(primary_key=True)
    done_on: Mapped[date] = mapped_column(Date, index=True)
    description: Mapped[str] = mapped_column(String(200))
    area_mu: Mapped[Decimal] = mapped_column(Area)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
