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

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Optional, Unpack

from sqlalchemy import ColumnElement, DateTime, Integer, Row, Select, and_, case, cast, func, literal, null, or_, select, true, type_coerce, union_all
from sqlalchemy.orm import Session

from engine.elements import common
from engine.projects import record
from engine.platform import inputs, notifications, permissions, xlsx
from engine.platform.paging import Page, page_number
from engine.elements.common import fmt
from engine.elements.models import FundDisbursement
from engine.platform.errors import InvalidInput, NotFound
from engine.platform.messages import N_, Message, label
from engine.platform.models import Event, Money, OrgUnit, Project, User, utcnow

STATE_LABELS = {"committed": N_("已承诺"), "pending": N_("待审批"), "released": N_("已释放（项目中止）")}
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
    """The ledger lines as one select's columns: which project, its state rank, request, paid total, commitment and sort date."""

    query: Select[Unpack[tuple[Any, ...]]]
    id: ColumnElement[int]
    rank: ColumnElement[int]
    requested: ColumnElement[Decimal]
    disbursed: ColumnElement[Decimal]
    committed: ColumnElement[Decimal]
    since: ColumnElement[Any]


def _columns() -> _Columns:
    """Every project with a request or a counted disbursement, joined to its paid total (no columns chosen yet).

    The paid totals are summed once (ix_fund_disbursement_counted alone), the projects with a
    request are read from ix_project_fund_ledger alone; the few paid without one (a request
    lowered after payment) are looked up by id.
    """
    counted = FundDisbursement.voided_at.is_(None)
    paid = (select(FundDisbursement.project_id, func.round(func.sum(FundDisbursement.amount), 2).label("total"))
            .where(counted).group_by(FundDisbursement.project_id).cte("fund_paid"))
    funded = Project.fund_request > 0
    keys = (Project.id, Project.status, Project.approved_at, Project.registered_at, Project.fund_request)
    paid_only = select(paid.c.project_id).except_(select(Project.id).where(funded))
    base = union_all(select(*keys).where(funded), select(*keys).where(Project.id.in_(paid_only))).subquery()
    rank = case((base.c.status == "closed", 2), (base.c.approved_at.is_not(None), 0), else_=1)
    requested = type_coerce(func.coalesce(base.c.fund_request, 0), Money)
    disbursed = type_coerce(func.coalesce(paid.c.total, 0), Money)
    committed = type_coerce(case((and_(rank == 0, requested > disbursed), requested), else_=disbursed), Money)
    query = select(base.c.id).select_from(base).outerjoin(paid, paid.c.project_id == base.c.id)
    return _Columns(query, base.c.id, rank, requested, disbursed, committed, func.coalesce(base.c.approved_at, base.c.registered_at))


def _lines(c: _Columns, *where: ColumnElement[bool], extra: tuple[ColumnElement[Any], ...] = (), offset: int = 0,
           limit: Optional[int] = None) -> Select[Unpack[tuple[Any, ...]]]:
    """The ledger lines of `c` (those matching `where`, built on `c`'s columns) with what a line shows and `extra`, in ledger order.

    The lines are chosen, ordered and cut to `offset`/`limit` first; only those read their project's name, stage and unit.
    """
    chosen = (c.query.with_only_columns(c.id.label("id"), c.rank.label("rank"), c.requested.label("requested"), c.committed.label("committed"),
                                        c.disbursed.label("disbursed"), c.since.label("since"), *(column.label(f"extra_{n}") for n, column in enumerate(extra)))
              .where(*where).order_by(c.rank, c.since, c.id).offset(offset).limit(limit).subquery())
    return (select(chosen.c.id, Project.name, OrgUnit.name, Project.stage, chosen.c.rank, type_coerce(chosen.c.requested, Money),
                   type_coerce(chosen.c.committed, Money), type_coerce(chosen.c.disbursed, Money), *(chosen.c[f"extra_{n}"] for n in range(len(extra))))
            .join(Project, Project.id == chosen.c.id).join(OrgUnit, OrgUnit.id == Project.landing_unit_id)
            .order_by(chosen.c.rank, chosen.c.since, chosen.c.id))


def _line(fund: FundLedger, row: Sequence[Any]) -> FundLine:
    """One line of `_lines`, flagged against the fund's cap and remaining."""
    pid, name, unit_name, stage, rank, requested, committed, disbursed = row[:8]
    state, requested = STATES[rank], Decimal(requested)
    return FundLine(pid, name, unit_name, record.STAGES.get(stage, stage), state, requested, Decimal(committed), Decimal(disbursed),
                    over_cap=requested > fund.project_cap, exceeds_remaining=state == "pending" and requested > fund.remaining)


def _named(ids: ColumnElement[int], text: str) -> list[ColumnElement[bool]]:
    """Lines (by their project `ids`) whose project name contains `text` (every line for none)."""
    return [ids.in_(select(Project.id).where(Project.name.contains(text.strip(), autoescape=True)))] if text.strip() else []


TOTALS, PAGE, ALERTS, PAYABLE = range(4)  # what a row of `_read` is


def _read(session: Session, fund: FundLedger, alert_limit: Optional[int] = None, search: str = "", page: Optional[tuple[int, int]] = None,
          payable_limit: Optional[int] = None) -> dict[int, tuple[list[FundLine], int]]:
    """Fill `fund`'s totals and warnings and read what is asked for, in one statement over the lines computed once.

    Read with the totals: the lines with a warning (the first `alert_limit`), the lines of a page
    (`page` as offset and size) and the first `payable_limit` lines with money still to pay, the
    last two among names containing `search`; each with how many lines match (for the warnings,
    how many messages they make), counted in the totals' single pass. The warnings compare each
    request with what remains after the totals, computed in the same statement (sums rounded to
    the cent, so SQLite's binary sums compare as the exact amounts do).
    """
    c = _columns()
    lines = c.query.with_only_columns(c.id.label("id"), c.rank.label("rank"), c.requested.label("requested"), c.committed.label("committed"),
                                      c.disbursed.label("disbursed"), c.since.label("since")).cte("fund_lines")
    committed = select(func.coalesce(func.sum(lines.c.committed), 0)).scalar_subquery()
    exceeds = and_(lines.c.rank == 1, lines.c.requested > func.round(literal(fund.fund_size, Money) - committed, 2))
    capped = and_(lines.c.rank != 2, lines.c.requested > literal(fund.project_cap, Money))
    named = and_(true(), *_named(lines.c.id, search))
    wanted = {ALERTS: (or_(exceeds, capped), 0, alert_limit, case((exceeds, 1), else_=0) + case((capped, 1), else_=0))}
    if page is not None:
        wanted[PAGE] = (named, page[0], page[1], case((named, 1), else_=0))
    if payable_limit is not None:
        payable = and_(lines.c.rank == 0, lines.c.committed > lines.c.disbursed, named)
        wanted[PAYABLE] = (payable, 0, payable_limit, case((payable, 1), else_=0))
    counts = {kind: func.sum(counted).label(f"n{kind}") for kind, (_w, _o, _l, counted) in wanted.items()}
    nothing = cast(null(), Integer)  # typed, so PostgreSQL matches the parts' columns
    parts = [select(literal(TOTALS).label("kind"), nothing.label("id"), nothing.label("rank"),
                    func.sum(case((lines.c.rank == 1, lines.c.requested), else_=0)).label("requested"), func.sum(lines.c.committed).label("committed"),
                    func.sum(lines.c.disbursed).label("disbursed"), cast(null(), DateTime(timezone=True)).label("since"), func.count().label("n"),
                    *(counts.get(kind, nothing) for kind in (PAGE, ALERTS, PAYABLE)))]
    for kind, (where, offset, limit, _counted) in wanted.items():
        parts.append(select(select(literal(kind), lines.c.id, lines.c.rank, lines.c.requested, lines.c.committed, lines.c.disbursed, lines.c.since,
                                   *(nothing for _ in range(4)))
                            .where(where).order_by(lines.c.rank, lines.c.since, lines.c.id).offset(offset).limit(limit).subquery()))
    read = union_all(*parts).subquery()
    columns = list(read.c)
    query = (select(columns[0], columns[1], Project.name, OrgUnit.name, Project.stage, columns[2], *(type_coerce(col, Money) for col in columns[3:6]),
                    *columns[7:])
             .select_from(read).outerjoin(Project, Project.id == columns[1]).outerjoin(OrgUnit, OrgUnit.id == Project.landing_unit_id)
             .order_by(columns[0], columns[2], columns[6], columns[1]))
    found: dict[int, tuple[list[FundLine], int]] = {kind: ([], 0) for kind in (PAGE, ALERTS, PAYABLE)}
    for kind, *row in session.execute(query.execution_options(yield_per=BATCH)):
        if kind == TOTALS:
            fund.pending, fund.committed, fund.disbursed = Decimal(row[5] or 0), Decimal(row[6] or 0), Decimal(row[7] or 0)
            fund.line_count = int(row[8])
            found = {kind: ([], int(row[9 + n] or 0)) for n, kind in enumerate((PAGE, ALERTS, PAYABLE))}
        else:
            found[kind][0].append(_line(fund, row))
    _warn(fund, *found[ALERTS], alert_limit)
    return found


def _warn(fund: FundLedger, lines: list[FundLine], count: int, limit: Optional[int]) -> None:
    """Over-commitment and pending requests larger than what remains (both notified once), requests above the cap."""
    over = fund.committed > fund.fund_size
    if over:
        fund.alerts.append((f"fund:over:{fmt(fund.committed)}:{fmt(fund.fund_size)}",
                            f"已承诺金额{fmt(fund.committed)}万元超过产业基金规模{fmt(fund.fund_size)}万元，超出{fmt(fund.committed - fund.fund_size)}万元"))
    for line in lines:
        if line.exceeds_remaining:
            fund.alerts.append((f"fund:pending:{line.project_id}:{fmt(line.requested)}:{fmt(fund.fund_size)}",
                                f"“{line.name}”申请产业基金{fmt(line.requested)}万元，超过基金可承诺余额{fmt(max(fund.remaining, ZERO))}万元"))
        if line.over_cap and line.state != "released":
            fund.alerts.append((None, f"“{line.name}”申请产业基金{fmt(line.requested)}万元，超过单个项目支持上限{fmt(fund.project_cap)}万元"))
    fund.alert_count = int(over) + count
    if limit is not None:
        del fund.alerts[limit:]


def _empty(session: Session) -> FundLedger:
    """The fund under the current settings, its totals still to read."""
    settings = common.get_all(session)
    return FundLedger(settings["fund_size"], settings["fund_project_cap"], ZERO, ZERO, ZERO, 0)


def ledger(session: Session, alert_limit: Optional[int] = None) -> FundLedger:
    """The fund's totals under the current settings, with every warning (the first `alert_limit` when given) and how many there are."""
    fund = _empty(session)
    _read(session, fund, alert_limit)
    return fund


def totals(session: Session) -> FundLedger:
    """The fund's settings and totals, without its warnings (what a disbursement is checked against)."""
    return ledger(session, alert_limit=0)


@dataclass
class FundView:
    """What the ledger page shows: the fund with its first warnings, one page of lines and the first payable lines with their count."""

    fund: FundLedger
    lines: Page[FundLine]
    payable: list[FundLine]
    payable_total: int


def view(session: Session, page: int, per_page: int, search: str = "", alert_limit: int = 20, payable_limit: int = 100) -> FundView:
    """The ledger page in one statement: totals, first warnings, a page of lines and the first payable lines (names containing `search`).

    An out-of-range page shows the last one (read again).
    """
    fund = _empty(session)
    found = _read(session, fund, alert_limit, search, ((max(1, page) - 1) * per_page, per_page), payable_limit)
    rows, total = found[PAGE]
    last = page_number(page, per_page, total)
    if last != max(1, page):
        rows = _read(session, _empty(session), 0, search, ((last - 1) * per_page, per_page))[PAGE][0]
    payable, payable_total = found[PAYABLE]
    return FundView(fund, Page(rows, total, last, per_page), payable, payable_total)


def line(session: Session, fund: FundLedger, project_id: int) -> Optional[FundLine]:
    """The ledger line of one project, if it is on the ledger."""
    c = _columns()
    row = session.execute(_lines(c, c.id == project_id)).first()
    return _line(fund, row) if row is not None else None


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
        raise NotFound(N_("拨付记录 %(id)s 不存在"), id=row_id)
    common.void_entry(session, actor, row, "fund.edit", reason, "fund", N_("拨付记录"))
    return row


def record_disbursement(session: Session, actor: User, data: dict[str, Any]) -> FundDisbursement:
    """The office records a payment; it may not exceed the project's undisbursed commitment nor the fund's balance."""
    permissions.require(actor, "fund.edit", N_("只有领导小组办公室可以登记产业基金拨付"))
    common.serialise_writers(session)
    errors: dict[str, str] = {}
    paid_on = common.parse_past_date(data.get("paid_on"), "paid_on", N_("拨付日期"), errors)
    amount = common.amount(data.get("amount"), "amount", N_("拨付金额"), FundDisbursement.__table__.c.amount, "万元", errors)
    note = inputs.text(data.get("note"), "note", N_("备注"), 500, errors)
    fund = totals(session)
    project_id = inputs.identifier(data.get("project_id")) or 0
    found = line(session, fund, project_id)
    if found is None:
        errors["project_id"] = Message(N_("项目不在产业基金台账上：%(received)s"),
                                       received=inputs.shown(data.get("project_id")) if data.get("project_id") else Message(N_("未选择")))
    elif found.state != "committed":
        errors["project_id"] = Message(N_("项目“%(name)s”%(state)s，没有可拨付的承诺金额"), name=found.name, state=label(found.state_label))
    elif "amount" not in errors and amount > found.undisbursed:
        errors["amount"] = Message(N_("拨付金额%(amount)s万元超过该项目承诺未拨付金额%(left)s万元"), amount=fmt(amount), left=fmt(found.undisbursed))
    if "amount" not in errors and amount > fund.balance:
        errors["amount"] = Message(N_("拨付金额%(amount)s万元超过产业基金余额%(left)s万元"), amount=fmt(amount), left=fmt(fund.balance))
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
