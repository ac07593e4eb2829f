"""The monthly notice (每月通报) per unit, generated on the schedule and frozen for printing and export."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from engine.supervision import assessment, lights
from engine.platform.clock import local_date, local_today
from engine.platform.errors import InvalidInput, NotFound
from engine.platform.models import OrgUnit, Project, utcnow
from engine.platform.paging import Page, page_of
from engine.supervision.progress import LateUpdate
from engine.supervision.models import MonthlyNotice

FOLLOWED_STAGES = ("intent", "feasibility", "assessment", "leading_group", "negotiation", "approval", "signing")
SIGNED_STAGES = ("landing", "construction", "started")
PER_PAGE = 24  # two years of months on a page of the list
COLUMNS = [  # key, Chinese header officials use
    ("unit_name", "单位"),
    ("planned", "谋划项目数"),
    ("followed", "盯引项目数"),
    ("signed", "签约项目数"),
    ("landed", "落地项目数"),
    ("started", "开工项目数"),
    ("funds_in_place", "到位资金(万元)"),
    ("red", "红灯数"),
    ("yellow", "黄灯数"),
    ("late_updates", "进展未及时更新(次)"),
    ("score", "当月得分"),
]


def month_range(year: int, month: int) -> tuple[date, date]:
    """First and last day of a month."""
    if not (1 <= month <= 12 and 2000 <= year <= 2100):
        raise InvalidInput({"month": f"月份无效：{year}年{month}月"})
    start = date(year, month, 1)
    end = (date(year + (month == 12), 1 if month == 12 else month + 1, 1)) - timedelta(days=1)
    return start, end


def _blank(unit: OrgUnit) -> dict[str, Any]:
    """A unit's notice row before anything is counted."""
    return {"unit_id": unit.id, "unit_name": unit.name, "planned": 0, "followed": 0, "signed": 0, "landed": 0,
            "started": 0, "funds_in_place": 0.0, "red": 0, "yellow": 0, "late_updates": 0, "score": 0.0,
            "project_ids": {k: [] for k in ("planned", "followed", "signed", "landed", "started", "red", "yellow")}}


def _rows(session: Session, year: int, month: int, now: datetime) -> list[dict[str, Any]]:
    """One row per zone and town (and any department with activity): the notice's figures."""
    start, end = month_range(year, month)
    units = {u.id: u for u in session.scalars(select(OrgUnit).where(OrgUnit.kind.in_(assessment.ASSESSED_KINDS)).order_by(OrgUnit.id))}
    rows = {uid: _blank(u) for uid, u in units.items() if u.kind != "department"}

    def row(unit_id: int) -> dict[str, Any]:
        if unit_id not in rows:
            rows[unit_id] = _blank(units.get(unit_id) or session.get_one(OrgUnit, unit_id))
        return rows[unit_id]

    for project in session.scalars(select(Project)):
        credited = list(dict.fromkeys([project.attracting_unit_id, project.landing_unit_id]))
        registered = local_date(project.registered_at)
        landed = local_date(project.landed_at)
        marks = {
            "planned": registered is not None and start <= registered <= end,
            "followed": project.status == "active" and project.stage in FOLLOWED_STAGES,
            "signed": project.signed_date is not None and start <= project.signed_date <= end,
            "landed": landed is not None and start <= landed <= end,
            "started": project.start_date is not None and start <= project.start_date <= end,
        }
        for unit_id in credited:
            r = row(unit_id)
            for key, hit in marks.items():
                if hit:
                    r[key] += 1
                    r["project_ids"][key].append(project.id)
            if project.stage in SIGNED_STAGES:
                r["funds_in_place"] += float(project.funds_in_place or 0)
    for light in lights.project_lights(session, now).values():
        if light.light in ("red", "yellow"):
            r = row(light.unit_id)
            r[light.light] += 1
            r["project_ids"][light.light].append(light.project_id)
    for record in session.scalars(select(LateUpdate).where(LateUpdate.recorded_on.between(start, end))):
        row(record.unit_id)["late_updates"] += 1
    for line in assessment.score_lines(session, start, end):
        row(line.unit_id)["score"] += line.points
    result = sorted(rows.values(), key=lambda r: (units[r["unit_id"]].kind != "zone" if r["unit_id"] in units else True, r["unit_id"]))
    for r in result:
        r["funds_in_place"] = round(r["funds_in_place"], 2)
        r["score"] = round(r["score"], 2)
    return result


def generate(session: Session, year: int, month: int, now: Optional[datetime] = None) -> MonthlyNotice:
    """Generate (or regenerate) the notice of a month from the ledger as it stands at `now`."""
    now = now or utcnow()
    rows = _rows(session, year, month, now)
    notice = session.scalars(select(MonthlyNotice).where(MonthlyNotice.year == year, MonthlyNotice.month == month)).first()
    if notice is None:
        notice = MonthlyNotice(year=year, month=month)
        session.add(notice)
    notice.rows, notice.generated_at = rows, now
    session.flush()
    return notice


def generate_due(session: Session, now: Optional[datetime] = None) -> Optional[MonthlyNotice]:
    """Scheduler entry point: on or after the 1st, generate last month's notice once; returns it when made."""
    today = local_today(now)
    last = today.replace(day=1) - timedelta(days=1)
    exists = session.scalars(select(MonthlyNotice.id).where(MonthlyNotice.year == last.year, MonthlyNotice.month == last.month)).first()
    if exists is not None:
        return None
    return generate(session, last.year, last.month, now)


def get(session: Session, year: int, month: int) -> MonthlyNotice:
    """A generated notice, or NotFound with how to make it."""
    notice = session.scalars(select(MonthlyNotice).where(MonthlyNotice.year == year, MonthlyNotice.month == month)).first()
    if notice is None:
        raise NotFound(f"{year}年{month}月的通报尚未生成")
    return notice


def listing(session: Session, page: int, per_page: int = PER_PAGE) -> Page[MonthlyNotice]:
    """One page of generated notices, newest first, with the total: their months and times only, never their rows."""
    query = (
        select(MonthlyNotice)
        .options(load_only(MonthlyNotice.year, MonthlyNotice.month, MonthlyNotice.generated_at))
        .order_by(MonthlyNotice.year.desc(), MonthlyNotice.month.desc())
    )
    return page_of(session, query, page, per_page)
