"""Leader dashboard (驾驶舱): stage funnel, money by stage, lights by unit, ranking, monthly trend; numbers click through."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from engine.platform import clock, paging
from engine.supervision import dashboard, rankings
from engine.projects import queries
from engine.platform.errors import InvalidInput, NotFound
from engine.platform.models import OrgUnit, Project, utcnow
from engine.projects.record import CATEGORIES, STAGES

from .guard import requires, signed_in
from .params import int_arg, required_number, year_arg
from .services import db

bp = Blueprint("dashboard", __name__)
NAV = [(5, "驾驶舱", "dashboard.cockpit", "dashboard.view")]
CENT_OF_YI = Decimal("0.01")
PROJECTS_PER_PAGE = 50
FUNNEL = ("lead", "intent", "feasibility", "assessment", "leading_group", "negotiation", "approval", "signing", "landing", "construction", "started")


def dashboard_data(session: Session, year: int) -> dict[str, Any]:
    """Every figure of the dashboard with the link behind it (amounts in 亿元 as exact decimals)."""
    unit = queries.visible_unit_for(current_user)
    figures = dashboard.figures(session, year, utcnow(), unit)
    funnel = [{"name": STAGES[s], "value": figures.by_stage.get(s, 0), "link": url_for("projects.ledger", stage=s)} for s in FUNNEL]
    money_rows = [{"name": STAGES[s], "value": _yi(figures.money_by_stage.get(s, Decimal(0))), "link": url_for("projects.ledger", stage=s)}
                  for s in FUNNEL]
    by_unit = figures.lights_by_unit
    units = {u.id: u.name for u in session.scalars(select(OrgUnit).where(OrgUnit.id.in_(list(by_unit))))}
    light_units = sorted(by_unit, key=lambda u: (-by_unit[u]["red"], -by_unit[u]["yellow"]))
    ledger = url_for("projects.ledger")  # built once: a county has a hundred units or more, two links each (unit ids need no quoting)
    lights_rows = {
        "units": [units[u] for u in light_units],
        "red": [{"value": by_unit[u]["red"], "link": f"{ledger}?unit={int(u)}&light=red"} for u in light_units],
        "yellow": [{"value": by_unit[u]["yellow"], "link": f"{ledger}?unit={int(u)}&light=yellow"} for u in light_units],
    }
    quarter = (clock.local_today().month - 1) // 3 + 1 if year == clock.local_today().year else 4
    try:
        ranked = rankings.ranking(session, year, quarter)[0]
    except NotFound:  # no scoring table deployed yet: the rest of the dashboard still stands
        ranked = []
    shown = [r for r in ranked if unit is None or r.unit_id == unit][:12]
    ranking = [{"name": r.unit_name, "value": r.total, "link": url_for("assessment.unit_score", unit_id=r.unit_id, year=year, quarter=quarter)}
               for r in shown]
    trend = {
        label: [{"value": count, "link": url_for("dashboard.projects", event=event, year=year, month=month) if count else ""}
                for month, count in enumerate(figures.trend[label], start=1)]
        for event, label in dashboard.TREND_EVENTS
    }
    totals = {"projects": figures.projects, "investment_yi": _yi(figures.investment), "mfg_7yi": figures.mfg_7yi, "red": figures.red}
    links = {
        "projects": url_for("projects.ledger"),
        "investment_yi": url_for("projects.ledger"),
        "mfg_7yi": url_for("projects.ledger", m7=1),
        "red": url_for("projects.ledger", light="red"),
    }
    return {"year": year, "quarter": quarter, "funnel": funnel, "money": money_rows, "lights": lights_rows, "ranking": ranking,
            "trend": trend, "months": [f"{m}月" for m in range(1, 13)], "totals": totals, "links": links}


def _yi(wan: Decimal) -> Decimal:
    """万元 as 亿元 to the cent of a 亿, exactly."""
    return (Decimal(wan) / 10000).quantize(CENT_OF_YI)


@bp.route("/dashboard")
@requires("dashboard.view")
def cockpit() -> ResponseReturnValue:
    """The 驾驶舱 page; charts are drawn by static/build/dashboard.js from the embedded figures."""
    with db().session() as s:
        data = dashboard_data(s, year_arg())
    return render_template("dashboard/cockpit.html", data=data)


@bp.route("/dashboard/projects")
@signed_in
def projects() -> ResponseReturnValue:
    """The projects behind a dashboard or notice number, limited to what the viewer may see, a page at a time.

    Either listed by `ids` (at most 500), or the projects that reached a trend `event` in a `month` of a `year`.
    """
    event = request.args.get("event", "")
    if event:
        if event not in dict(dashboard.TREND_EVENTS):
            raise InvalidInput({"统计事项": "只能是签约、落地或开工"})
        month = required_number(request.args.get("month", ""))
        if not 1 <= month <= 12:
            raise InvalidInput({"月份": "须在1到12之间"})
        chosen = dashboard.month_window(event, year_arg(), month)
    else:
        chosen = Project.id.in_([required_number(x) for x in request.args.get("ids", "").split(",") if x.strip()][:500])
    unit = queries.visible_unit_for(current_user)  # the rule of queries.can_view_project, as SQL
    visible = (Project.of_units([unit]),) if unit is not None else ()
    listed = (select(Project).where(chosen, *visible).order_by(Project.id)
              .options(selectinload(Project.landing_unit), selectinload(Project.attracting_unit)))
    with db().session() as s:
        page = paging.page_of(s, listed, int_arg("page") or 1, PROJECTS_PER_PAGE)
        view = [(p, p.landing_unit.name, p.attracting_unit.name) for p in page.rows]
    return render_template("dashboard/projects.html", rows=view, page=page, stages=STAGES, categories=CATEGORIES)
