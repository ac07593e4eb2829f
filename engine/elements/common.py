"""Elements (要素保障, SPEC §7): the settings the office changes and the input rules both ledgers share.

The industrial fund ledger lives in engine/fund.py, the land ledger in engine/land.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from engine.platform.clock import CENT, local_date, local_today
from engine.elements.models import ElementSetting, FundDisbursement, LandSupply
from engine.platform import inputs, messages, permissions, settings_rows
from engine.platform.errors import AlreadyCompleted, InvalidInput
from engine.platform.messages import N_, Message
from engine.platform.models import Event, User, utcnow

LEDGER_LOCK_KEY = 7_263_009  # PostgreSQL advisory lock held while a ledger entry is checked and written


@dataclass(frozen=True)
class ElementSpec:
    """A numeric setting: key, Chinese label, unit, default and inclusive bounds."""

    key: str
    label: str
    unit: str
    default: Decimal
    minimum: Decimal
    maximum: Decimal


SPECS: tuple[ElementSpec, ...] = (
    ElementSpec("fund_size", N_("产业基金规模"), "万元", Decimal(20000), Decimal(1), Decimal(10_000_000)),
    ElementSpec("fund_project_cap", N_("单个项目产业基金支持上限"), "万元", Decimal(10000), Decimal(1), Decimal(10_000_000)),
    ElementSpec("industrial_share_target", N_("工业用地供应占全县供地比例下限"), "%", Decimal(50), Decimal(0), Decimal(100)),
    ElementSpec("revitalise_target_mu", N_("每年盘活闲置低效用地目标"), "亩", Decimal(300), Decimal(0), Decimal(100_000)),
)
SPEC_BY_KEY = {spec.key: spec for spec in SPECS}


def defaults() -> dict[str, Decimal]:
    """Every setting at its default value."""
    return {spec.key: spec.default for spec in SPECS}


def get_all(session: Session) -> dict[str, Decimal]:
    """Current settings: defaults overlaid with the stored values."""
    return settings_rows.read(session, ElementSetting, defaults(), Decimal)


def fund_project_cap(session: Session) -> Decimal:
    """The per-project fund cap the office set (default 10,000 万元): the project record checks fund requests against it."""
    return get_all(session)["fund_project_cap"]


def fmt(value: Decimal) -> str:
    """A number for a message: two decimals at most, no trailing zeros (5000.00 → 5000, 3.50 → 3.5)."""
    text = f"{Decimal(value).quantize(CENT):f}"
    return text.rstrip("0").rstrip(".")


def amount(raw: Any, field: str, label: str, column: ColumnElement[Any], unit: str, errors: dict[str, str],
           maximum: Optional[Decimal] = None) -> Decimal:
    """A ledger amount above 0 that fits its column (and `maximum`); 0 with a message naming the field in `errors` otherwise."""
    rule = inputs.column_number(column, unit=unit).within(Decimal(0), maximum, exclusive_minimum=True)
    return inputs.decimal(raw, field, label, rule, errors, required=True) or Decimal(0)


def parse_past_date(raw: Any, field: str, label: str, errors: dict[str, str]) -> date:
    """A date (YYYY-MM-DD, see engine.inputs) not after today in county time."""
    value = inputs.day(raw, field, label, errors, required=True)
    if value is not None and value > local_today():
        errors[field] = Message(N_("%(title)s不能晚于今天"), title=messages.label(label))
    return value or date.min


def _coerce(spec: ElementSpec, raw: Any, errors: dict[str, str]) -> Decimal:
    """One submitted setting as a number within its bounds, or a message naming it."""
    rule = inputs.Number(spec.minimum, spec.maximum, 2, unit=spec.unit)
    value = inputs.decimal(raw, spec.key, spec.label, rule, errors, required=True)
    return spec.default if value is None else value


def update_settings(session: Session, submitted: dict[str, Any], actor: User) -> dict[str, Decimal]:
    """The office changes element settings; every bad value is named and nothing is stored on any error."""
    permissions.require(actor, "elements.settings", N_("只有领导小组办公室可以修改要素保障设置"))
    current = get_all(session)
    values, errors = settings_rows.submitted_values(current, submitted, SPEC_BY_KEY, _coerce)
    if not errors and values["fund_project_cap"] > values["fund_size"]:
        errors["fund_project_cap"] = Message(N_("单个项目产业基金支持上限不能超过产业基金规模"))
    if errors:
        raise InvalidInput(errors)
    changed = settings_rows.store(session, ElementSetting, current, values, actor.id)
    if changed:
        summary = "修改要素保障设置：" + "，".join(f"{SPEC_BY_KEY[k].label}{fmt(v)}{SPEC_BY_KEY[k].unit}" for k, v in changed.items())
        session.add(Event(kind="elements", at=utcnow(), actor_id=actor.id, summary=summary[:300],
                          payload={"changed": {k: fmt(v) for k, v in changed.items()}}))
        session.flush()
    return values


def serialise_writers(session: Session) -> None:
    """Make checks-then-writes on the ledgers one at a time: an advisory lock (PostgreSQL) or the write lock (SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(LEDGER_LOCK_KEY)))
    else:
        no_row = update(ElementSetting).where(ElementSetting.key.is_(None)).values(key=ElementSetting.key)
        session.execute(no_row.execution_options(synchronize_session=False))


def void_entry(session: Session, actor: User, row: Any, action: str, reason: Any, kind: str, what: str) -> None:
    """Void (冲销) a wrong ledger entry with a reason: it stops counting but stays on record, and the log says who and why."""
    permissions.require(actor, action, Message(N_("只有登记%(what)s的部门可以冲销%(what)s"), what=messages.label(what)))
    if row.voided_at is not None:
        raise AlreadyCompleted(N_("该%(what)s已于%(day)s冲销（%(reason)s）"), what=messages.label(what), day=local_date(row.voided_at),
                               reason=row.void_reason)
    errors: dict[str, str] = {}
    text = inputs.text(reason, "reason", N_("冲销原因"), 300, errors, required=True)
    if errors:
        raise InvalidInput(errors)
    row.voided_at, row.voided_by, row.void_reason = utcnow(), actor.id, text
    session.add(Event(kind=kind, at=row.voided_at, actor_id=actor.id, project_id=getattr(row, "project_id", None),
                      summary=f"冲销{what}：{describe(row)}（原因：{text}）"[:300], payload={"entry": row.id, "reason": text}))
    session.flush()


def describe(row: Any) -> str:
    """A ledger entry in words for the log: what, how much, which date."""
    if isinstance(row, FundDisbursement):
        return f"{row.project.name} {fmt(row.amount)}万元（{row.paid_on.isoformat()}）"
    if isinstance(row, LandSupply):
        return f"{row.parcel} {fmt(row.area_mu)}亩（{row.supplied_on.isoformat()}）"
    return f"{row.description} {fmt(row.area_mu)}亩（{row.done_on.isoformat()}）"
