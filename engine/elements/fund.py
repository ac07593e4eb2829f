"""Industrial fund ledger (产业基金台账): requests, commitments, disbursements, balance and warnings.

Commitment rule: a project's request (Project.fund_request) is committed once its approval is
granted (approved_at set, i.e. the lifecycle reached signing) and stays committed while the
project is active or started. A closed project releases its commitment down to what was already
disbursed (money paid out cannot be uncommitted). Before approval a request is pending.
Remaining (可承诺余额) = fund size − committed; balance (资金余额) = fund size − disbursed.

Every figure is read in SQL: the lines are one query (each project with a request or a counted
disbursement, its paid total summed per project), the totals aggregate it, the page reads one
slice of it in ledger order and the export streams it; no list of every project is built.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Optional, Unpack

from sqlalchemy import ColumnElement, Row, Select, and_, case, func, literal, select, type_coerce, union
from sqlalchemy.orm import Session

from engine.elements import common
from engine.projects import record
from engine.platform import inputs, notifications, permissions, xlsx
from engine.platform.paging import Page, page_number
from engine.elements.common import fmt
from engine.elements.models import FundDisbursement
from engine.platform.errors import InvalidInput, NotFound
from engine.platform.models import Event, Money, OrgUnit, Project, User, utcnow

STATE_LABELS = {"committed": "已承诺", "pending": "待审批", "released": "已释放（项目中止）"}
STATES = ("committed", "pending", "released")  # the ledger's order: committed first, then pending, then released
HEADERS = ["序号", "项目名称", "落地单位", "当前阶段", "承诺状态", "申请金额(万元)", "承诺金额(万元)", "已拨付(万元)", "承诺未拨付(万元)"]
MONEY_COLUMNS = (5, 6, 7, 8)
DISBURSEMENT_HEADERS = ["拨付日期", "项目名称", "拨付金额(万元)", "备注", "登记人"]
ZERO = Decimal(0)
BATCH = 1000  # rows an export reads from the database at a time


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
    """The whole fund: settings, totals over every line, and the warnings (all, or the first ones with their count)."""

    fund_size: Decimal
    project_cap: Decimal
    committed: Decimal
    disbursed: Decimal
    pending: Decimal
    line_count: int
    alerts: list[tuple[Optional[str], str]] = field(default_factory=list)
    alert_count: int = 0

    @property
    def warnings(self) -> list[str]:
        """The warning messages read, in the order the page shows them."""
        return [message for _key, message in self.alerts]

    @property
    def remaining(self) -> Decimal:
        """Fund size less commitments: what new approvals can still be promised (negative when over-committed)."""
        return self.fund_size - self.committed

    @property
    def balance(self) -> Decimal:
        """Fund size less disbursements: money not yet paid out."""
        return self.fund_size - self.disbursed


@dataclass(frozen=True)
class _Columns:
    """The ledger lines as one select's columns: which projects, their state rank, request, paid total and commitment."""

    query: Select[Unpack[tuple[Any, ...]]]
    rank: ColumnElement[int]
    requested: ColumnElement[Decimal]
    disbursed: ColumnElement[Decimal]
    committed: ColumnElement[Decimal]


def _columns() -> _Columns:
    """Every project with a request or a counted disbursement, joined to its paid total (no columns chosen yet)."""
    counted = FundDisbursement.voided_at.is_(None)
    paid = (select(FundDisbursement.project_id, func.sum(FundDisbursement.amount).label("total"))
            .where(counted).group_by(FundDisbursement.project_id).subquery())
    listed = union(select(Project.id.label("id")).where(Project.fund_request > 0),
                   select(FundDisbursement.project_id).where(counted)).subquery()
    rank = case((Project.status == "closed", 2), (Project.approved_at.is_not(None), 0), else_=1)
    requested = type_coerce(func.coalesce(Project.fund_request, 0), Money)
    disbursed = type_coerce(func.coalesce(paid.c.total, 0), Money)
    committed = type_coerce(case((and_(rank == 0, requested > disbursed), requested), else_=disbursed), Money)
    query = (select(Project.id).select_from(listed).join(Project, Project.id == listed.c.id)
             .outerjoin(paid, paid.c.project_id == Project.id))
    return _Columns(query, rank, requested, disbursed, committed)


def _totals(session: Session) -> tuple[Decimal, Decimal, Decimal, int]:
    """Committed, disbursed, pending requests and the number of lines, summed in the database."""
    c = _columns()
    lines = c.query.with_only_columns(c.committed.label("committed"), c.disbursed.label("disbursed"),
                                      case((c.rank == 1, c.requested), else_=0).label("pending")).subquery()
    committed, disbursed, pending, count = session.execute(select(
        type_coerce(func.coalesce(func.sum(lines.c.committed), 0), Money), type_coerce(func.coalesce(func.sum(lines.c.disbursed), 0), Money),
        type_coerce(func.coalesce(func.sum(lines.c.pending), 0), Money), func.count())).one()
    return Decimal(committed), Decimal(disbursed), Decimal(pending), int(count)


def _lines(c: _Columns, *where: ColumnElement[bool]) -> Select[Unpack[tuple[Any, ...]]]:
    """The ledger lines of `c` (those matching `where`, built on `c`'s columns) with what a line shows, in ledger order."""
    return (c.query.with_only_columns(Project.id, Project.name, OrgUnit.name, Project.stage, c.rank, c.requested, c.committed, c.disbursed)
            .join(OrgUnit, OrgUnit.id == Project.landing_unit_id).where(*where)
            .order_by(c.rank, func.coalesce(Project.approved_at, Project.registered_at), Project.id))


def _line(fund: FundLedger, row: Row[Unpack[tuple[Any, ...]]]) -> FundLine:
    """One line of `_lines`, flagged against the fund's cap and remaining."""
    pid, name, unit_name, stage, rank, requested, committed, disbursed = row[:8]
    state, requested = STATES[rank], Decimal(requested)
    return FundLine(pid, name, unit_name, record.STAGES.get(stage, stage), state, requested, Decimal(committed), Decimal(disbursed),
                    over_cap=requested > fund.project_cap, exceeds_remaining=state == "pending" and requested > fund.remaining)


def _search(text: str) -> list[ColumnElement[bool]]:
    """Lines whose project name contains `text` (every line for none)."""
    return [Project.name.contains(text.strip(), autoescape=True)] if text.strip() else []


def totals(session: Session) -> FundLedger:
    """The fund's settings and totals, without its warnings (what a disbursement is checked against)."""
    settings = common.get_all(session)
    return FundLedger(settings["fund_size"], settings["fund_project_cap"], *_totals(session))


def ledger(session: Session, alert_limit: Optional[int] = None) -> FundLedger:
    """The fund's totals under the current settings, with every warning (the first `alert_limit` when given) and how many there are."""
    fund = totals(session)
    _warn(session, fund, alert_limit)
    return fund


def _warn(session: Session, fund: FundLedger, limit: Optional[int]) -> None:
    """Over-commitment and pending requests larger than what remains (both notified once), requests above the cap."""
    over = fund.committed > fund.fund_size
    if over:
        fund.alerts.append((f"fund:over:{fmt(fund.committed)}:{fmt(fund.fund_size)}",
                            f"已承诺金额{fmt(fund.committed)}万元超过产业基金规模{fmt(fund.fund_size)}万元，超出{fmt(fund.committed - fund.fund_size)}万元"))
    c = _columns()
    exceeds = and_(c.rank == 1, c.requested > literal(fund.remaining, Money))
    capped = and_(c.rank != 2, c.requested > literal(fund.project_cap, Money))
    counted = func.sum(case((exceeds, 1), else_=0) + case((capped, 1), else_=0)).over()
    query = _lines(c, exceeds | capped).add_columns(counted)
    found = 0
    for row in session.execute(query.limit(limit) if limit is not None else query.execution_options(yield_per=BATCH)):
        line, found = _line(fund, row), int(row[-1])
        if line.exceeds_remaining:
            fund.alerts.append((f"fund:pending:{line.project_id}:{fmt(line.requested)}:{fmt(fund.fund_size)}",
                                f"“{line.name}”申请产业基金{fmt(line.requested)}万元，超过基金可承诺余额{fmt(max(fund.remaining, ZERO))}万元"))
        if line.over_cap and line.state != "released":
            fund.alerts.append((None, f"“{line.name}”申请产业基金{fmt(line.requested)}万元，超过单个项目支持上限{fmt(fund.project_cap)}万元"))
    fund.alert_count = int(over) + found
    if limit is not None:
        del fund.alerts[limit:]


def lines(session: Session, fund: FundLedger, page: int, per_page: int, search: str = "") -> Page[FundLine]:
    """One page of the ledger's lines in ledger order (those whose project name contains `search`); an out-of-range page shows the last."""
    where, c = _search(search), _columns()
    total = fund.line_count if not where else session.scalar(select(func.count()).select_from(_lines(c, *where).order_by(None).subquery())) or 0
    page = page_number(page, per_page, total)
    rows = session.execute(_lines(c, *where).offset((page - 1) * per_page).limit(per_page))
    return Page([_line(fund, row) for row in rows], total, page, per_page)


def line(session: Session, fund: FundLedger, project_id: int) -> Optional[FundLine]:
    """The ledger line of one project, if it is on the ledger."""
    row = session.execute(_lines(_columns(), Project.id == project_id)).first()
    return _line(fund, row) if row is not None else None


def payable(session: Session, fund: FundLedger, limit: int, search: str = "") -> tuple[list[FundLine], int]:
    """Committed lines with money still to pay (names containing `search`), the first `limit` in ledger order, and how many there are."""
    c = _columns()
    query = _lines(c, c.rank == 0, c.committed > c.disbursed, *_search(search)).add_columns(func.count().over()).limit(limit)
    rows = session.execute(query).all()
    return [_line(fund, row) for row in rows], int(rows[0][-1]) if rows else 0


def cells(rows: Iterable[FundLine], start: int = 1) -> Iterator[list[Any]]:
    """Ledger lines as the page and the export show them, numbered from `start` (amounts in 万元, exact decimals)."""
    for index, item in enumerate(rows, start=start):
        yield [index, item.name, item.unit_name, item.stage, item.state_label, item.requested, item.committed, item.disbursed, item.undisbursed]


def _disbursement_rows(voided: bool) -> Select[Unpack[tuple[Any, ...]]]:
    """Disbursement records that count (or, with `voided`, those voided) with their project and recorder, newest first."""
    return (select(FundDisbursement.id, FundDisbursement.paid_on, Project.name, FundDisbursement.amount, FundDisbursement.note,
                   User.display_name, FundDisbursement.void_reason, FundDisbursement.voided_at)
            .join(Project, Project.id == FundDisbursement.project_id).join(User, User.id == FundDisbursement.recorded_by)
            .where(FundDisbursement.voided_at.is_not(None) if voided else FundDisbursement.voided_at.is_(None))
            .order_by(FundDisbursement.paid_on.desc(), FundDisbursement.id.desc()))


@dataclass(frozen=True)
class Paid:
    """One disbursement record as the page lists it: its id, its cells and, once voided, when and why."""

    id: int
    cells: list[Any]
    void_reason: str
    voided_at: Any


def disbursements(session: Session, page: int, per_page: int, voided: bool = False) -> Page[Paid]:
    """One page of disbursement records that count (or, with `voided`, those voided), newest first; an out-of-range page shows the last."""
    counted = FundDisbursement.voided_at.is_not(None) if voided else FundDisbursement.voided_at.is_(None)
    total = session.scalar(select(func.count()).select_from(FundDisbursement).where(counted)) or 0
    page = page_number(page, per_page, total)
    rows = session.execute(_disbursement_rows(voided).offset((page - 1) * per_page).limit(per_page))
    return Page([Paid(row[0], _paid_cells(row), row[6], row[7]) for row in rows], total, page, per_page)


def _paid_cells(row: Row[Unpack[tuple[Any, ...]]]) -> list[Any]:
    """A disbursement row's cells: date, project, amount (exact), note, recorder."""
    return [row[1].isoformat(), row[2], Decimal(row[3]), row[4], row[5]]


def disbursement_cells(session: Session) -> Iterator[list[Any]]:
    """Every counted disbursement record as the export shows it, newest first, read in batches as it is written."""
    for row in session.execute(_disbursement_rows(False).execution_options(yield_per=BATCH)):
        yield _paid_cells(row)


def line_cells(session: Session, fund: FundLedger) -> Iterator[list[Any]]:
    """Every ledger line as the export shows it, in ledger order, read in batches as it is written."""
    rows = session.execute(_lines(_columns()).execution_options(yield_per=BATCH))
    return cells(_line(fund, row) for row in rows)


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
    fund = totals(session)
    project_id = inputs.identifier(data.get("project_id")) or 0
    found = line(session, fund, project_id)
    if found is None:
        errors["project_id"] = f"项目不在产业基金台账上：{inputs.shown(data.get('project_id') or '未选择')}"
    elif found.state != "committed":
        errors["project_id"] = f"项目“{found.name}”{found.state_label}，没有可拨付的承诺金额"
    elif "amount" not in errors and amount > found.undisbursed:
        errors["amount"] = f"拨付金额{fmt(amount)}万元超过该项目承诺未拨付金额{fmt(found.undisbursed)}万元"
    if "amount" not in errors and amount > fund.balance:
        errors["amount"] = f"拨付金额{fmt(amount)}万元超过产业基金余额{fmt(fund.balance)}万元"
    if errors or found is None:
        raise InvalidInput(errors)
    row = FundDisbursement(project_id=project_id, paid_on=paid_on, amount=amount, note=note, recorded_by=actor.id, recorded_at=utcnow())
    session.add(row)
    session.add(Event(kind="fund", at=row.recorded_at, actor_id=actor.id, project_id=project_id,
                      summary=f"产业基金拨付：{found.name} {fmt(amount)}万元（{paid_on.isoformat()}）"[:300],
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


def summary_cells(fund: FundLedger) -> list[Decimal]:
    """The fund's totals as the page and the export show them."""
    return [fund.fund_size, fund.committed, fund.disbursed, fund.remaining, fund.balance, fund.pending]


def fund_xlsx(session: Session) -> bytes:
    """The fund ledger as .xlsx: every line, every counted disbursement, the totals and every warning, streamed as the rows are read."""
    fund = ledger(session)
    summary = [summary_cells(fund)] + [[f"预警：{w}"] for w in fund.warnings]
    return xlsx.workbook([
        ("产业基金台账", "产业基金台账（单位：万元）", HEADERS, line_cells(session, fund)),
        ("拨付记录", "产业基金拨付记录", DISBURSEMENT_HEADERS, disbursement_cells(session)),
        ("汇总", "产业基金汇总", SUMMARY_HEADERS, summary),
    ])
