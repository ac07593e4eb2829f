"""Land ledger (土地要素台账): yearly supply and its industrial share, revitalised land against the target,
and the land requests of waiting projects with major manufacturing projects first.

Policy (二): industrial land ≥ 50% of the county's yearly supply; ≥ 300 亩 of idle or low-efficiency
land revitalised per year; industrial land reserved first for major manufacturing projects. Both
figures are office settings (engine/elements.py).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional, Unpack, cast

from sqlalchemy import Select, case, extract, func, select, type_coerce
from sqlalchemy.orm import Session

from engine.elements import common
from engine.projects import record
from engine.platform import xlsx
from engine.platform import inputs, permissions
from engine.platform.clock import CENT, local_today, monthly_plan
from engine.platform.paging import Page, page_number
from engine.elements.models import Area, LandRevitalisation, LandSupply
from engine.elements.common import fmt
from engine.platform.errors import InvalidInput, NotFound
from engine.platform.messages import N_, Message
from engine.platform.models import Event, OrgUnit, Project, User, utcnow

USES = {"industrial": N_("工业用地"), "other": N_("其他用地")}
PRIORITY_LABELS = ("7亿元以上制造业", "3亿元以上工业", "制造业", "其他")
MAX_AREA = Decimal(100_000)
BATCH = 1000  # records an export reads from the database at a time
SUPPLY_HEADERS = ["供地日期", "地块/说明", "面积(亩)", "用途", "关联项目"]
REVITALISE_HEADERS = ["盘活日期", "说明", "面积(亩)"]
PLAN_HEADERS = ["月份", "计划累计(亩)", "完成累计(亩)"]
WAITING_HEADERS = ["优先序", "项目名称", "落地单位", "保障类别", "当前阶段", "用地面积(亩)", "已供地(亩)", "待供地(亩)"]


@dataclass
class PlanMonth:
    """Revitalisation by the end of a month: the backwards plan and the actual (None for months still ahead)."""

    month: int
    plan: Decimal
    actual: Optional[Decimal]

    @property
    def behind(self) -> bool:
        """True when the actual is known and below the plan."""
        return self.actual is not None and self.actual < self.plan


@dataclass
class WaitingProject:
    """A project that needs land and has not landed: what it asked for and what was supplied so far."""

    project_id: int
    name: str
    unit_name: str
    stage: str
    priority: int
    requested: Decimal
    supplied: Decimal

    @property
    def outstanding(self) -> Decimal:
        """Area still to supply."""
        return self.requested - self.supplied

    @property
    def priority_label(self) -> str:
        """Chinese name of the project's priority class."""
        return PRIORITY_LABELS[self.priority]


@dataclass
class LandYear:
    """One year of the land ledger with its figures (summed in the database) against the targets, and the warnings to show."""

    year: int
    total_mu: Decimal
    industrial_mu: Decimal
    revitalised_mu: Decimal
    share_target: Decimal
    revitalise_target: Decimal
    plan: list[PlanMonth]
    waiting: list[WaitingProject]
    waiting_total: int
    due_month: int
    warnings: list[str] = field(default_factory=list)

    @property
    def share(self) -> Optional[Decimal]:
        """Industrial share of the supply in percent (two decimals), None before any supply."""
        if not self.total_mu:
            return None
        return (self.industrial_mu * 100 / self.total_mu).quantize(CENT)

    @property
    def share_low(self) -> bool:
        """True when there is supply and its industrial share is below the target."""
        return self.share is not None and self.share < self.share_target

    @property
    def progress(self) -> Optional[Decimal]:
        """Revitalised area as a percentage of the yearly target (None without a target)."""
        if not self.revitalise_target:
            return None
        return (self.revitalised_mu * 100 / self.revitalise_target).quantize(CENT)


def _year_range(year: int) -> tuple[date, date]:
    """First and last day of a year."""
    return date(year, 1, 1), date(year, 12, 31)


def _months_known(year: int, today: date) -> tuple[int, int]:
    """(months with actuals, months whose plan is due): a past year 12 and 12, this year up to the current
    and up to the last complete month, a year ahead none."""
    if year < today.year:
        return 12, 12
    return (today.month, today.month - 1) if year == today.year else (0, 0)


def _plan(by_month: dict[int, Decimal], target: Decimal, known: int) -> list[PlanMonth]:
    """倒排: the cumulative plan spread evenly back from December beside the cumulative actuals (`by_month`: area revitalised per month)."""
    plan, running = [], Decimal(0)
    for month in range(1, 13):
        running += by_month.get(month, Decimal(0))
        actual = running if month <= known else None
        plan.append(PlanMonth(month, monthly_plan(target, month, count=False), actual))
    return plan


def _waiting_keys() -> Select[Unpack[tuple[Any, ...]]]:
    """Active projects that need land, have not landed and still lack land, with their priority and order (no names yet).

    Read from ix_project_land_waiting alone, the supplied area summed per project.
    """
    supplied = (select(LandSupply.project_id, func.sum(LandSupply.area_mu).label("area"))
                .where(LandSupply.project_id.is_not(None), LandSupply.voided_at.is_(None))
                .group_by(LandSupply.project_id).subquery())
    area = func.coalesce(supplied.c.area, 0)
    priority = case((Project.is_7yi_manufacturing, 0), (Project.is_3yi_industrial, 1), (Project.is_manufacturing.is_(True), 2), else_=3)
    return (select(Project.id.label("id"), priority.label("priority"), Project.approved_at.is_(None).label("unapproved"),
                   Project.registered_at.label("registered_at"), Project.land_mu.label("land_mu"), area.label("area"))
            .outerjoin(supplied, supplied.c.project_id == Project.id)
            .where(Project.needs_land.is_(True), Project.status == "active", Project.landed_at.is_(None), Project.land_mu > area))


def waiting_projects(session: Session, limit: Optional[int] = None) -> tuple[list[WaitingProject], int]:
    """The waiting projects in the order land should go to them (the first `limit` when given) and how many wait in all.

    Major manufacturing first (工业用地优先保障重大制造业项目): 7亿+ manufacturing, 3亿+ industrial,
    other manufacturing, the rest; approved projects before pending ones; then by registration.
    The projects are chosen, counted and ordered from the index; only those listed read their
    name, stage and landing unit. With `limit` 0 only the count is read.
    """
    keys = _waiting_keys().subquery()
    if limit == 0:
        return [], session.scalar(select(func.count()).select_from(keys)) or 0
    order = (keys.c.priority, keys.c.unapproved, keys.c.registered_at, keys.c.id)
    chosen = select(keys, func.count().over().label("total")).order_by(*order).limit(limit).subquery()
    query = (select(chosen.c.id, Project.name, OrgUnit.name, Project.stage, chosen.c.priority, type_coerce(chosen.c.land_mu, Area),
                    type_coerce(chosen.c.area, Area), chosen.c.total)
             .join(Project, Project.id == chosen.c.id).join(OrgUnit, OrgUnit.id == Project.landing_unit_id)
             .order_by(chosen.c.priority, chosen.c.unapproved, chosen.c.registered_at, chosen.c.id))
    rows = session.execute(query).all()
    lines = [WaitingProject(pid, name, unit_name, record.STAGES.get(stage, stage), int(priority), Decimal(land_mu or 0), Decimal(area or 0))
             for pid, name, unit_name, stage, priority, land_mu, area, _total in rows]
    return lines, int(rows[0][-1]) if rows else 0


def year_ledger(session: Session, year: int, today: Optional[date] = None, waiting_limit: Optional[int] = None) -> LandYear:
    """The land ledger of one year under the current settings, with its warnings and the first `waiting_limit` waiting projects (all when None)."""
    if not 2000 <= year <= 2100:
        raise InvalidInput({"year": f"年度(year)无效：{year}"})
    today = today or local_today()
    settings = common.get_all(session)
    start, end = _year_range(year)
    counted = (LandSupply.supplied_on.between(start, end), LandSupply.voided_at.is_(None))
    industrial = case((LandSupply.land_use == "industrial", LandSupply.area_mu), else_=0)
    total, industrial_total = session.execute(select(type_coerce(func.coalesce(func.sum(LandSupply.area_mu), 0), Area),
                                                     type_coerce(func.coalesce(func.sum(industrial), 0), Area)).where(*counted)).one()
    month = extract("month", LandRevitalisation.done_on)
    by_month = {int(m): Decimal(area) for m, area in session.execute(
        select(month, type_coerce(func.sum(LandRevitalisation.area_mu), Area))
        .where(LandRevitalisation.done_on.between(start, end), LandRevitalisation.voided_at.is_(None)).group_by(month))}
    known, due = _months_known(year, today)
    result = LandYear(year, Decimal(total), Decimal(industrial_total), sum(by_month.values(), Decimal(0)), settings["industrial_share_target"],
                      settings["revitalise_target_mu"], _plan(by_month, settings["revitalise_target_mu"], known),
                      *waiting_projects(session, waiting_limit), due)
    _warn(result)
    return result


def _warn(land: LandYear) -> None:
    """Industrial share below the target; revitalisation short of the year's target or behind the last due month's plan."""
    if land.share is not None and land.share_low:
        land.warnings.append(f"{land.year}年工业用地供应占比{fmt(land.share)}%（{fmt(land.industrial_mu)}亩/{fmt(land.total_mu)}亩），"
                             f"低于{fmt(land.share_target)}%的要求")
    if land.due_month == 12 and land.revitalised_mu < land.revitalise_target:
        land.warnings.append(f"{land.year}年盘活低效用地{fmt(land.revitalised_mu)}亩，未完成{fmt(land.revitalise_target)}亩的年度目标")
    elif land.due_month and land.plan[land.due_month - 1].behind:
        month = land.plan[land.due_month - 1]
        actual, plan = month.actual or Decimal(0), month.plan
        land.warnings.append(f"截至{month.month}月底盘活低效用地{fmt(actual)}亩，按计划应完成{fmt(plan)}亩，落后{fmt(plan - actual)}亩")


def _supply_rows(year: int) -> Select[Unpack[tuple[Any, ...]]]:
    """The year's counted supply records with their project's name, by date."""
    start, end = _year_range(year)
    return (select(LandSupply.id, LandSupply.supplied_on, LandSupply.parcel, LandSupply.area_mu, LandSupply.land_use, Project.name)
            .outerjoin(Project, Project.id == LandSupply.project_id)
            .where(LandSupply.supplied_on.between(start, end), LandSupply.voided_at.is_(None)).order_by(LandSupply.supplied_on, LandSupply.id))


def _revitalise_rows(year: int) -> Select[Unpack[tuple[Any, ...]]]:
    """The year's counted revitalisation records, by date."""
    start, end = _year_range(year)
    return (select(LandRevitalisation.id, LandRevitalisation.done_on, LandRevitalisation.description, LandRevitalisation.area_mu)
            .where(LandRevitalisation.done_on.between(start, end), LandRevitalisation.voided_at.is_(None))
            .order_by(LandRevitalisation.done_on, LandRevitalisation.id))


def _supply_cells(row: Sequence[Any]) -> list[Any]:
    """A supply record as the page and the export show it."""
    _id, on, parcel, area, use, project = row
    return [on.isoformat(), parcel, Decimal(area), USES.get(use, use), project or ""]


def _revitalise_cells(row: Sequence[Any]) -> list[Any]:
    """A revitalisation record as the page and the export show it."""
    _id, on, description, area = row
    return [on.isoformat(), description, Decimal(area)]


def _paged(session: Session, query: Select[Unpack[tuple[Any, ...]]], cells: Callable[[Sequence[Any]], list[Any]], page: int,
           per_page: int) -> Page[tuple[int, list[Any]]]:
    """One page of records as (id, cells), with how many there are; an out-of-range page shows the last."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page = page_number(page, per_page, total)
    rows = session.execute(query.offset((page - 1) * per_page).limit(per_page))
    return Page([(row[0], cells(row)) for row in rows], total, page, per_page)


def supplies(session: Session, year: int, page: int, per_page: int) -> Page[tuple[int, list[Any]]]:
    """One page of the year's supply records as (id, cells), by date."""
    return _paged(session, _supply_rows(year), _supply_cells, page, per_page)


def revitalisations(session: Session, year: int, page: int, per_page: int) -> Page[tuple[int, list[Any]]]:
    """One page of the year's revitalisation records as (id, cells), by date."""
    return _paged(session, _revitalise_rows(year), _revitalise_cells, page, per_page)


def _streamed(session: Session, query: Select[Unpack[tuple[Any, ...]]], cells: Callable[[Sequence[Any]], list[Any]]) -> Iterator[list[Any]]:
    """Every record of `query` as the export shows it, read in batches as it is written."""
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        yield cells(row)


def plan_cells(land: LandYear) -> list[list[Any]]:
    """The monthly plan as the page and the export show it (— for months still ahead)."""
    return [[f"{m.month}月", m.plan, "—" if m.actual is None else m.actual] for m in land.plan]


def waiting_cells(land: LandYear) -> list[list[Any]]:
    """Waiting projects in priority order as the page and the export show them."""
    return [[index, w.name, w.unit_name, w.priority_label, w.stage, w.requested, w.supplied, w.outstanding]
            for index, w in enumerate(land.waiting, start=1)]


def _project(session: Session, raw: Any, errors: dict[str, str]) -> Optional[Project]:
    """The optional project a supply went to: it must exist and not be closed."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    project_id = inputs.identifier(raw)
    project = session.get(Project, project_id) if project_id is not None else None
    if project is None:
        errors["project_id"] = inputs.unknown_message(N_("关联项目"), raw)
    elif project.status == "closed":
        errors["project_id"] = Message(N_("关联项目“%(name)s”已中止，不能供地"), name=project.name)
    return project


def record_supply(session: Session, actor: User, data: dict[str, Any]) -> LandSupply:
    """县自然资源和规划局 records land supplied (date, parcel, area, use, optional project); bad input stores nothing."""
    permissions.require(actor, "land.edit", N_("只有要素保障部门（县自然资源和规划局）可以登记供地"))
    errors: dict[str, str] = {}
    supplied_on = common.parse_past_date(data.get("supplied_on"), "supplied_on", N_("供地日期"), errors)
    parcel = inputs.text(data.get("parcel"), "parcel", N_("地块/说明"), 200, errors, required=True)
    area = common.amount(data.get("area_mu"), "area_mu", N_("面积"), LandSupply.__table__.c.area_mu, "亩", errors, MAX_AREA)
    use = data.get("land_use") or ""
    use = use.strip() if isinstance(use, str) else use
    if not isinstance(use, str) or use not in USES:
        errors["land_use"] = Message(N_("用途须为“工业用地”或“其他用地”，收到“%(received)s”"), received=inputs.shown(use))
    project = _project(session, data.get("project_id"), errors)
    if errors:
        raise InvalidInput(errors)
    row = LandSupply(supplied_on=supplied_on, parcel=parcel, area_mu=area, land_use=use, project_id=project.id if project else None,
                     recorded_by=actor.id, recorded_at=utcnow())
    session.add(row)
    target = f"，供{project.name}" if project else ""
    session.add(Event(kind="land", at=row.recorded_at, actor_id=actor.id, project_id=row.project_id,
                      summary=f"登记供地：{parcel} {fmt(area)}亩（{USES[use]}，{supplied_on.isoformat()}）{target}"[:300],
                      payload={"supplied_on": supplied_on.isoformat(), "parcel": parcel, "area_mu": fmt(area), "land_use": use}))
    session.flush()
    return row


def record_revitalisation(session: Session, actor: User, data: dict[str, Any]) -> LandRevitalisation:
    """县自然资源和规划局 records idle or low-efficiency land revitalised (date, description, area)."""
    permissions.require(actor, "land.edit", N_("只有要素保障部门（县自然资源和规划局）可以登记盘活低效用地"))
    errors: dict[str, str] = {}
    done_on = common.parse_past_date(data.get("done_on"), "done_on", N_("盘活日期"), errors)
    description = inputs.text(data.get("description"), "description", N_("说明"), 200, errors, required=True)
    area = common.amount(data.get("area_mu"), "area_mu", N_("面积"), LandRevitalisation.__table__.c.area_mu, "亩", errors, MAX_AREA)
    if errors:
        raise InvalidInput(errors)
    row = LandRevitalisation(done_on=done_on, description=description, area_mu=area, recorded_by=actor.id, recorded_at=utcnow())
    session.add(row)
    session.add(Event(kind="land", at=row.recorded_at, actor_id=actor.id,
                      summary=f"登记盘活低效用地：{description} {fmt(area)}亩（{done_on.isoformat()}）"[:300],
                      payload={"done_on": done_on.isoformat(), "description": description, "area_mu": fmt(area)}))
    session.flush()
    return row


SUMMARY_HEADERS = ["年度", "全年供地(亩)", "其中工业用地(亩)", "工业用地占比(%)", "占比下限(%)", "盘活低效用地(亩)", "年度盘活目标(亩)", "完成进度(%)"]


def summary_cells(land: LandYear) -> list[Any]:
    """The year's figures against the targets as the page and the export show them."""
    def number(value: Optional[Decimal]) -> Any:
        return "—" if value is None else value

    return [land.year, land.total_mu, land.industrial_mu, number(land.share), land.share_target,
            land.revitalised_mu, land.revitalise_target, number(land.progress)]


def land_xlsx(session: Session, land: LandYear) -> bytes:
    """The year's land ledger as .xlsx: supply, revitalisation, monthly plan, waiting projects, figures and warnings, records streamed as read."""
    totals = [summary_cells(land)] + [[f"预警：{w}"] for w in land.warnings]
    return xlsx.workbook([
        ("供地记录", f"{land.year}年供地记录", SUPPLY_HEADERS, _streamed(session, _supply_rows(land.year), _supply_cells)),
        ("盘活低效用地", f"{land.year}年盘活闲置低效用地记录", REVITALISE_HEADERS, _streamed(session, _revitalise_rows(land.year), _revitalise_cells)),
        ("盘活月度计划", f"{land.year}年盘活低效用地月度计划（倒排）与完成情况", PLAN_HEADERS, plan_cells(land)),
        ("待供地项目", "待供地项目（工业用地优先保障重大制造业项目）", WAITING_HEADERS, waiting_cells(land)),
        ("汇总", f"{land.year}年土地要素汇总", SUMMARY_HEADERS, totals),
    ])


def voided(session: Session, year: int) -> list[LandSupply | LandRevitalisation]:
    """The year's voided land records (supply and revitalisation), most recently voided first."""
    start, end = _year_range(year)
    rows: list[LandSupply | LandRevitalisation] = list(session.scalars(
        select(LandSupply).where(LandSupply.supplied_on.between(start, end), LandSupply.voided_at.is_not(None))))
    rows += session.scalars(select(LandRevitalisation).where(LandRevitalisation.done_on.between(start, end),
                                                             LandRevitalisation.voided_at.is_not(None)))
    return sorted(rows, key=lambda row: cast(datetime, row.voided_at), reverse=True)  # every row read is voided


def void_record(session: Session, actor: User, kind: str, row_id: int, reason: Any) -> LandSupply | LandRevitalisation:
    """县自然资源和规划局 voids a wrong supply or revitalisation record with a reason; the year's figures follow."""
    row = session.get(LandSupply, row_id) if kind == "supply" else session.get(LandRevitalisation, row_id)
    if row is None:
        raise NotFound(N_("记录 %(id)s 不存在"), id=row_id)
    common.void_entry(session, actor, row, "land.edit", reason, "land", record_label(row))
    return row


def record_label(row: LandSupply | LandRevitalisation) -> str:
    """What a land record is called: 供地记录 or 盘活记录."""
    return N_("供地记录") if isinstance(row, LandSupply) else N_("盘活记录")
