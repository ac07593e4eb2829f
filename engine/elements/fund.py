"""Industrial fund ledger (产业基金台账): requests, commitments, disbursements, balance and warnings.

Commitment rule: a project's request (Project.fund_request) is committed once its approval is
granted (approved_at set, i.e. the lifecycle reached signing) and stays committed while the
project is active or started. A closed project releases its commitment down to what was already
disbursed (money paid out cannot be uncommitted). Before approval a request is pending.
Remaining (可承诺余额) = fund size − committed; balance (资金余额) = fund size − disbursed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.elements import common
from engine.projects import record
from engine.platform import inputs, notifications, permissions, xlsx
from engine.elements.common import fmt
from engine.elements.models import FundDisbursement
from engine.platform.errors import InvalidInput, NotFound
from engine.platform.models import Event, Project, User, utcnow

STATE_LABELS = {"committed": "已承诺", "pending": "待审批", "released": "已释放（项目中止）"}
STATE_ORDER = {"committed": 0, "pending": 1, "released": 2}
HEADERS = ["序号", "项目名称", "落地单位", "当前阶段", "承诺状态", "申请金额(万元)", "承诺金额(万元)", "已拨付(万元)", "承诺未拨付(万元)"]
MONEY_COLUMNS = (5, 6, 7, 8)
DISBURSEMENT_HEADERS = ["拨付日期", "项目名称", "拨付金额(万元)", "备注", "登记人"]


@dataclass
class FundLine:
    """One project on the ledger: what it asked for, what is promised and what was paid."""

    project_id: int
    name: str
    unit_name: str
    stage: str
    state: str
    requested: Decimal
    committed: Decimal
    disbursed: Decimal
    over_cap: bool = False
    exceeds_remaining: bool = False

    @property
    def undisbursed(self) -> Decimal:
        """Committed but not yet paid out: the most a new disbursement may be."""
        return self.committed - self.disbursed

    @property
    def state_label(self) -> str:
        """Chinese name of the commitment state."""
        return STATE_LABELS[self.state]


@dataclass
class FundLedger:
    """The whole fund: settings, a line per project, totals and the warnings to show."""

    fund_size: Decimal
    project_cap: Decimal
    lines: list[FundLine]
    alerts: list[tuple[Optional[str], str]] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """Every warning message, in the order the page shows them."""
        return [message for _key, message in self.alerts]

    @property
    def committed(self) -> Decimal:
        """Sum of every project's commitment."""
        return sum((line.committed for line in self.lines), Decimal(0))

    @property
    def disbursed(self) -> Decimal:
        """Sum of every disbursement."""
        return sum((line.disbursed for line in self.lines), Decimal(0))

    @property
    def pending(self) -> Decimal:
        """Requests of projects not yet approved."""
        return sum((line.requested for line in self.lines if line.state == "pending"), Decimal(0))

    @property
    def remaining(self) -> Decimal:
        """Fund size less commitments: what new approvals can still be promised (negative when over-committed)."""
        return self.fund_size - self.committed

    @property
    def balance(self) -> Decimal:
        """Fund size less disbursements: money not yet paid out."""
        return self.fund_size - self.disbursed

    def line(self, project_id: int) -> Optional[FundLine]:
        """The ledger line of one project, if it is on the ledger."""
        return next((line for line in self.lines if line.project_id == project_id), None)


def _state(project: Project) -> str:
    """pending before approval, committed after it, released once the project closed."""
    if project.status == "closed":
        return "released"
    return "committed" if project.approved_at is not None else "pending"


def _disbursed_by_project(session: Session) -> dict[int, Decimal]:
    """Total disbursed per project."""
    query = (select(FundDisbursement.project_id, func.sum(FundDisbursement.amount))
             .where(FundDisbursement.voided_at.is_(None)).group_by(FundDisbursement.project_id))
    return {pid: Decimal(total or 0) for pid, total in session.execute(query)}


def _sort_key(project: Project, state: str) -> tuple[int, datetime, int]:
    """Committed first, then pending, then released; earliest approval (or registration) first."""
    return STATE_ORDER[state], project.approved_at or project.registered_at, project.id


def ledger(session: Session) -> FundLedger:
    """Every project with a fund request or a disbursement, with totals and warnings under the current settings."""
    settings = common.get_all(session)
    paid = _disbursed_by_project(session)
    query = select(Project).where(or_(Project.fund_request > 0, Project.id.in_(list(paid) or [-1])))
    found = [(p, _state(p)) for p in session.scalars(query)]
    found.sort(key=lambda item: _sort_key(*item))
    lines = []
    for project, state in found:
        requested, disbursed = Decimal(project.fund_request or 0), paid.get(project.id, Decimal(0))
        committed = max(requested, disbursed) if state == "committed" else disbursed
        lines.append(FundLine(project.id, project.name, project.landing_unit.name, record.STAGES.get(project.stage, project.stage),
                              state, requested, committed, disbursed, over_cap=requested > settings["fund_project_cap"]))
    result = FundLedger(settings["fund_size"], settings["fund_project_cap"], lines)
    _warn(result)
    return result


def _warn(fund: FundLedger) -> None:
    """Over-commitment and pending requests larger than what remains (both notified once), requests above the cap."""
    if fund.committed > fund.fund_size:
        fund.alerts.append((f"fund:over:{fmt(fund.committed)}:{fmt(fund.fund_size)}",
                            f"已承诺金额{fmt(fund.committed)}万元超过产业基金规模{fmt(fund.fund_size)}万元，超出{fmt(fund.committed - fund.fund_size)}万元"))
    for line in fund.lines:
        if line.state == "pending" and line.requested > fund.remaining:
            line.exceeds_remaining = True
            fund.alerts.append((f"fund:pending:{line.project_id}:{fmt(line.requested)}:{fmt(fund.fund_size)}",
                                f"“{line.name}”申请产业基金{fmt(line.requested)}万元，超过基金可承诺余额{fmt(max(fund.remaining, Decimal(0)))}万元"))
        if line.over_cap and line.state != "released":
            fund.alerts.append((None, f"“{line.name}”申请产业基金{fmt(line.requested)}万元，超过单个项目支持上限{fmt(fund.project_cap)}万元"))


def cells(fund: FundLedger) -> list[list[Any]]:
    """The ledger's rows as the page and the export show them (amounts in 万元 as numbers)."""
    return [[index, line.name, line.unit_name, line.stage, line.state_label, float(line.requested), float(line.committed),
             float(line.disbursed), float(line.undisbursed)] for index, line in enumerate(fund.lines, start=1)]


def disbursements(session: Session, project_id: Optional[int] = None, voided: bool = False) -> list[FundDisbursement]:
    """Disbursement records that count (or, with `voided`, those voided), newest first (of one project when given)."""
    query = (select(FundDisbursement).where(FundDisbursement.voided_at.is_not(None) if voided else FundDisbursement.voided_at.is_(None))
             .order_by(FundDisbursement.paid_on.desc(), FundDisbursement.id.desc()))
    if project_id is not None:
        query = query.where(FundDisbursement.project_id == project_id)
    return list(session.scalars(query))


def disbursement_cells(rows: list[FundDisbursement]) -> list[list[Any]]:
    """Disbursement records as the page and the export show them."""
    return [[r.paid_on.isoformat(), r.project.name, float(r.amount), r.note, r.recorder.display_name] for r in rows]


def void_disbursement(session: Session, actor: User, row_id: int, reason: Any) -> FundDisbursement:
    """The office voids a wrong disbursement record with a reason: the project's paid total and the balance go back."""
    common.serialise_writers(session)
    row = session.get(FundDisbursement, row_id)
    if row is None:
        raise NotFound(f"拨付记录 {row_id} 不存在")
    common.void_entry(session, actor, row, "fund.edit", reason, "fund", "拨付记录")
    return row


def record_disbursement(session: Session, actor: User, data: dict[str, Any]) -> FundDisbursement:
    """The office records a payment; it may not exceed the project's undisbursed commitment nor the fund's balance."""
    permissions.require(actor, "fund.edit", "只有领导小组办公室可以登记产业基金拨付")
    common.serialise_writers(session)
    errors: dict[str, str] = {}
    paid_on = common.parse_past_date(data.get("paid_on"), "paid_on", "拨付日期", errors)
    amount = common.amount(data.get("amount"), "amount", "拨付金额", FundDisbursement.__table__.c.amount, "万元", errors)
    note = inputs.text(data.get("note"), "note", "备注", 500, errors)
    fund = ledger(session)
    project_id = inputs.identifier(data.get("project_id")) or 0
    line = fund.line(project_id)
    if line is None:
        errors["project_id"] = f"项目不在产业基金台账上：{inputs.shown(data.get('project_id') or '未选择')}"
    elif line.state != "committed":
        errors["project_id"] = f"项目“{line.name}”{line.state_label}，没有可拨付的承诺金额"
    elif "amount" not in errors and amount > line.undisbursed:
        errors["amount"] = f"拨付金额{fmt(amount)}万元超过该项目承诺未拨付金额{fmt(line.undisbursed)}万元"
    if "amount" not in errors and amount > fund.balance:
        errors["amount"] = f"拨付金额{fmt(amount)}万元超过产业基金余额{fmt(fund.balance)}万元"
    if errors or line is None:
        raise InvalidInput(errors)
    row = FundDisbursement(project_id=project_id, paid_on=paid_on, amount=amount, note=note, recorded_by=actor.id, recorded_at=utcnow())
    session.add(row)
    session.add(Event(kind="fund", at=row.recorded_at, actor_id=actor.id, project_id=project_id,
                      summary=f"产业基金拨付：{line.name} {fmt(amount)}万元（{paid_on.isoformat()}）"[:300],
                      payload={"paid_on": paid_on.isoformat(), "amount": fmt(amount), "note": note}))
    session.flush()
    return row


def scan(session: Session, now: Optional[datetime] = None) -> int:
    """Notify the office once of each fund warning (a scheduler job; also run after settings change); returns how many."""
    fund = ledger(session)
    office = notifications.audience(session, "alerts.receive")
    sent = 0
    for key, message in fund.alerts:
        if key is not None and notifications.claim_alert(session, key[:160]):
            notifications.notify(session, office, "fund_warning", f"产业基金预警：{message}", message, "/elements/fund")
            sent += 1
    return sent


SUMMARY_HEADERS = ["产业基金规模(万元)", "已承诺(万元)", "已拨付(万元)", "可承诺余额(万元)", "资金余额(万元)", "待审批申请(万元)"]


def summary_cells(fund: FundLedger) -> list[Any]:
    """The fund's totals as the page and the export show them."""
    return [float(v) for v in (fund.fund_size, fund.committed, fund.disbursed, fund.remaining, fund.balance, fund.pending)]


def fund_xlsx(fund: FundLedger, rows: list[FundDisbursement]) -> bytes:
    """The fund ledger as .xlsx: projects, disbursements, totals and warnings, the same rows as the page."""
    totals = [summary_cells(fund)] + [[f"预警：{w}"] for w in fund.warnings]
    return xlsx.workbook([
        ("产业基金台账", "产业基金台账（单位：万元）", HEADERS, cells(fund)),
        ("拨付记录", "产业基金拨付记录", DISBURSEMENT_HEADERS, disbursement_cells(rows)),
        ("汇总", "产业基金汇总", SUMMARY_HEADERS, totals),
    ])
