"""Targets, the backwards monthly plan, and scores from the editable DMN table with every point explained."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Iterable, Optional

from lxml import etree
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.workflow import definitions
from engine.platform import inputs, permissions
from engine.platform.clock import LOCAL, local_date, monthly_plan
from engine.platform.errors import InvalidInput
from engine.platform.models import OrgUnit, Project, User, utcnow
from engine.workflow.parser import parse_xml
from engine.supervision.progress import LateUpdate
from engine.workflow.sandbox import SCRIPT_ENGINE
from engine.supervision.models import CoordinationItem, CoordinationCase, Criticism, UnitTarget

SCORING = "assessment_scoring"
DMN_FILE = "assessment_scoring.dmn"
DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"
ASSESSED_KINDS = ("zone", "town", "department")
EVENT_LABELS = {
    "signed": "签约",
    "landed": "落地",
    "started": "开工",
    "late_update": "进展未及时更新",
    "item_overdue": "交办事项逾期",
    "criticised": "通报批评",
}
CLASS_LABELS = {"mfg_7yi": "7亿元以上制造业", "ind_3yi": "3亿元以上重大产业", "yi_plus": "亿元以上", "other": "其他"}
TARGET_FIELDS = {
    "mfg_7yi": ("7亿元以上制造业项目", "个"),
    "ind_3yi": ("3亿元以上产业项目", "个"),
    "yi_plus": ("亿元以上项目", "个"),
    "foreign_capital": ("利用外资", "万元"),
    "out_of_province_capital": ("省外内资", "万元"),
    "mfg_funds": ("制造业项目到位资金", "万元"),
}
COUNT_TARGETS = ("mfg_7yi", "ind_3yi", "yi_plus")
POINTS = inputs.Number(Decimal(-1000), Decimal(1000))  # what one rule of the scoring table may give or take


def project_class(project: Project) -> str:
    """The highest assessment class a project falls in (7亿+ manufacturing > 3亿+ industrial > 亿元以上 > other)."""
    if project.is_7yi_manufacturing:
        return "mfg_7yi"
    if project.is_3yi_industrial:
        return "ind_3yi"
    if project.is_yi_plus:
        return "yi_plus"
    return "other"


def quarter_range(year: int, quarter: int) -> tuple[date, date]:
    """First and last day of a quarter."""
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1) - timedelta(days=1)
    return start, end


@dataclass
class ScoreLine:
    """One explained point entry: which unit, which project, which rule, how many points, when."""

    unit_id: int
    on: date
    event: str
    points: float
    rule: str
    rule_id: str
    project_id: Optional[int] = None
    project_name: str = ""
    shared: bool = False

    @property
    def event_label(self) -> str:
        """Chinese name of the event."""
        return EVENT_LABELS.get(self.event, self.event)


@dataclass
class UnitScore:
    """A unit's total with every line behind it."""

    unit_id: int
    unit_name: str
    unit_kind: str
    lines: list[ScoreLine] = field(default_factory=list)
    rank: int = 0
    rating: str = ""
    rating_reason: str = ""

    @property
    def total(self) -> float:
        """Sum of the lines' points."""
        return round(sum(line.points for line in self.lines), 2)

    def count(self, event: str) -> int:
        """How many distinct projects (or records) gave the unit lines of this event."""
        return len({(line.project_id, line.on, line.rule) for line in self.lines if line.event == event})


class Scorer:
    """Evaluates the deployed assessment_scoring table; keeps the version it used for the record."""

    def __init__(self, session: Session) -> None:
        row = definitions.latest(session, SCORING)
        self.definition_id, self.version = row.id, row.version
        self.engine = definitions.load(session, row.id).spec

    def rules(self, event: str, cls: str) -> list[tuple[str, float, str]]:
        """(rule id, points, rule label) for every rule matching the event and project class (COLLECT)."""
        task = SimpleNamespace(data={"event": event, "project_class": cls}, workflow=SimpleNamespace(script_engine=SCRIPT_ENGINE))
        found = []
        for rule in self.engine.decide(task):
            out = rule.output_as_dict(task)
            found.append((rule.id, float(out.get("points") or 0), str(out.get("rule") or rule.description or rule.id)))
        return found


def _credited(project: Project) -> list[int]:
    """The attracting and landing unit each get the same credit (once when they are one unit)."""
    return list(dict.fromkeys([project.attracting_unit_id, project.landing_unit_id]))


def _project_events(session: Session, start: date, end: date) -> Iterable[tuple[Project, str, date]]:
    """Signing, landing and start dates of projects that fall in [start, end]."""
    s_at = datetime.combine(start, time.min, tzinfo=LOCAL)
    e_at = datetime.combine(end + timedelta(days=1), time.min, tzinfo=LOCAL)
    query = select(Project).where(
        or_(
            Project.signed_date.between(start, end),
            Project.start_date.between(start, end),
            (Project.landed_at >= s_at) & (Project.landed_at < e_at),
        )
    )
    for project in session.scalars(query):
        if project.signed_date and start <= project.signed_date <= end:
            yield project, "signed", project.signed_date
        landed = local_date(project.landed_at)
        if landed and start <= landed <= end:
            yield project, "landed", landed
        if project.start_date and start <= project.start_date <= end:
            yield project, "started", project.start_date


def score_lines(session: Session, start: date, end: date, scorer: Optional[Scorer] = None) -> list[ScoreLine]:
    """Every explained point entry of every unit in [start, end]."""
    scorer = scorer or Scorer(session)
    lines: list[ScoreLine] = []
    for project, event, on in _project_events(session, start, end):
        units = _credited(project)
        for rule_id, points, label in scorer.rules(event, project_class(project)):
            for unit_id in units:
                lines.append(ScoreLine(unit_id, on, event, points, label, rule_id, project.id, project.name, len(units) > 1))
    late = session.scalars(select(LateUpdate).where(LateUpdate.recorded_on.between(start, end)))
    for record in late:
        project = session.get_one(Project, record.project_id)
        for rule_id, points, label in scorer.rules("late_update", project_class(project)):
            lines.append(ScoreLine(record.unit_id, record.recorded_on, "late_update", points, f"{label}：{record.reason}", rule_id, project.id, project.name))
    s_at = datetime.combine(start, time.min, tzinfo=LOCAL)
    e_at = datetime.combine(end + timedelta(days=1), time.min, tzinfo=LOCAL)
    overdue = session.scalars(select(CoordinationItem).where(CoordinationItem.overdue_at >= s_at, CoordinationItem.overdue_at < e_at))
    for item in overdue:
        assert item.overdue_at is not None  # read by its overdue time
        case = session.get_one(CoordinationCase, item.case_id)
        for rule_id, points, label in scorer.rules("item_overdue", "other"):
            lines.append(ScoreLine(item.responsible_unit_id, local_date(item.overdue_at), "item_overdue", points,
                                   f"{label}：{case.title} 第{item.seq}项“{item.title}”", rule_id, case.project_id, case.project.name))
    for row in session.scalars(select(Criticism).where(Criticism.recorded_at >= s_at, Criticism.recorded_at < e_at)):
        for rule_id, points, label in scorer.rules("criticised", "other"):
            lines.append(ScoreLine(row.unit_id, local_date(row.recorded_at), "criticised", points, f"{label}：{row.reason}", rule_id))
    lines.sort(key=lambda line: (line.on, line.project_id or 0, line.event))
    return lines


def _assessed_units(session: Session) -> dict[int, OrgUnit]:
    return {u.id: u for u in session.scalars(select(OrgUnit).where(OrgUnit.kind.in_(ASSESSED_KINDS)).order_by(OrgUnit.id))}


def scores(session: Session, start: date, end: date, lines: Optional[list[ScoreLine]] = None) -> list[UnitScore]:
    """Ranked unit scores for a period (of `lines` when given): zones and towns always listed, departments when they score."""
    units = _assessed_units(session)
    table = {uid: UnitScore(uid, u.name, u.kind) for uid, u in units.items() if u.kind != "department"}
    for line in score_lines(session, start, end) if lines is None else lines:
        unit = units.get(line.unit_id) or session.get_one(OrgUnit, line.unit_id)
        table.setdefault(line.unit_id, UnitScore(line.unit_id, unit.name, unit.kind)).lines.append(line)
    ranked = sorted(table.values(), key=lambda s: (-s.total, s.unit_id))
    previous, rank = None, 0
    for index, score in enumerate(ranked, start=1):
        if score.total != previous:
            rank, previous = index, score.total
        score.rank = rank
    return ranked


def quarterly_ranking(session: Session, year: int, quarter: int) -> list[UnitScore]:
    """季度赛拼 ranking of one quarter."""
    if quarter not in (1, 2, 3, 4):
        raise InvalidInput({"quarter": f"季度(quarter)须为1-4，收到 {quarter}"})
    return scores(session, *quarter_range(year, quarter))


def landed_7yi(session: Session, year: int) -> dict[int, list[Project]]:
    """7亿+ manufacturing projects landed in the year, per credited unit."""
    found: dict[int, list[Project]] = {}
    for project, event, _on in _project_events(session, date(year, 1, 1), date(year, 12, 31)):
        if event == "landed" and project.is_7yi_manufacturing:
            for unit_id in _credited(project):
                found.setdefault(unit_id, []).append(project)
    return found


def annual_assessment(session: Session, year: int, lines: Optional[list[ScoreLine]] = None) -> list[UnitScore]:
    """The year's ranking (of `lines` when given) with 一票评优 and 一票否优 applied as SPEC §6 says (a veto beats 评优)."""
    ranked = scores(session, date(year, 1, 1), date(year, 12, 31), lines)
    targets = {t.unit_id: t for t in session.scalars(select(UnitTarget).where(UnitTarget.year == year))}
    landed = landed_7yi(session, year)
    criticised: dict[int, list[Criticism]] = {}
    for row in session.scalars(select(Criticism).where(Criticism.year == year)):
        criticised.setdefault(row.unit_id, []).append(row)
    for score in ranked:
        target = targets.get(score.unit_id)
        goal = target.mfg_7yi if target else 0
        done = landed.get(score.unit_id, [])
        names = "、".join(p.name for p in done)
        if score.unit_id in criticised:
            score.rating = "一票否优"
            score.rating_reason = "；".join(f"{c.recorded_at.astimezone(LOCAL) if c.recorded_at.tzinfo else c.recorded_at:%Y-%m-%d}通报批评：{c.reason}" for c in criticised[score.unit_id]) + "（取消当年优秀单位评选资格）"
        elif goal > 0 and len(done) > goal:
            score.rating = "一票评优"
            score.rating_reason = f"超额完成年度7亿元以上制造业项目招引落地任务（目标{goal}个，完成{len(done)}个：{names}）"
        elif goal == 0 and done:
            score.rating = "一票评优"
            score.rating_reason = f"无招引任务，招引7亿元以上制造业项目签约落地{len(done)}个：{names}"
    return ranked


def _number(raw: Any, field: str, integer: bool, errors: dict[str, str]) -> Decimal:
    """One submitted target: a count that fits an Integer column or an amount that fits its Numeric one; 0 when empty."""
    label, unit = TARGET_FIELDS[field]
    if integer:
        rule = inputs.Number(Decimal(0), Decimal(inputs.INT_MAX), 0, unit=unit)
    else:
        rule = inputs.column_number(UnitTarget.__table__.c[field], unit=unit)
    return inputs.decimal(raw, field, label, rule, errors) or Decimal(0)


def set_target(session: Session, actor: User, year: int, unit_id: int, data: dict[str, Any]) -> UnitTarget:
    """The office sets a unit's annual targets; bad numbers are named and nothing is stored."""
    permissions.require(actor, "assessment.edit", "只有领导小组办公室可以下达年度目标")
    errors: dict[str, str] = {}
    unit = session.get(OrgUnit, unit_id)
    if unit is None or unit.kind not in ASSESSED_KINDS:
        errors["unit_id"] = f"考核单位(unit_id)不存在：{unit_id}"
    if not 2000 <= year <= 2100:
        errors["year"] = f"年度(year)无效：{year}"
    values = {f: _number(data.get(f), f, f in COUNT_TARGETS, errors) for f in TARGET_FIELDS}
    if errors:
        raise InvalidInput(errors)
    row = session.scalars(select(UnitTarget).where(UnitTarget.year == year, UnitTarget.unit_id == unit_id)).first()
    if row is None:
        row = UnitTarget(year=year, unit_id=unit_id)
        session.add(row)
    for f, value in values.items():
        setattr(row, f, int(value) if f in COUNT_TARGETS else value)
    row.updated_by, row.updated_at = actor.id, utcnow()
    session.flush()
    return row


@dataclass
class PlanRow:
    """One month of a unit's plan against its actuals, cumulative from January."""

    month: int
    plan: dict[str, float]
    actual: dict[str, float]

    def behind(self, field_name: str) -> bool:
        """True when the actual is below the plan for that indicator."""
        return self.actual[field_name] < self.plan[field_name]


def _actuals_by_month(session: Session, year: int, unit_id: int) -> dict[str, list[float]]:
    """Per-month actuals of each indicator for a unit (credited as attracting or landing unit)."""
    months: dict[str, list[float]] = {f: [0.0] * 13 for f in TARGET_FIELDS}
    for project, event, on in _project_events(session, date(year, 1, 1), date(year, 12, 31)):
        if unit_id not in _credited(project):
            continue
        if event == "landed":
            if project.is_7yi_manufacturing:
                months["mfg_7yi"][on.month] += 1
            if project.is_3yi_industrial:
                months["ind_3yi"][on.month] += 1
        if event == "signed":
            if project.is_yi_plus:
                months["yi_plus"][on.month] += 1
            months["foreign_capital"][on.month] += float(project.foreign_capital or 0)
            months["out_of_province_capital"][on.month] += float(project.out_of_province_capital or 0)
            if project.is_manufacturing:
                months["mfg_funds"][on.month] += float(project.funds_in_place or 0)
    return months


def plan_against_actuals(session: Session, year: int, unit_id: int, upto: Optional[int] = None) -> tuple[Optional[UnitTarget], list[PlanRow]]:
    """The unit's 12-month backwards plan beside cumulative actuals (months after `upto` show plan only)."""
    target = session.scalars(select(UnitTarget).where(UnitTarget.year == year, UnitTarget.unit_id == unit_id)).first()
    monthly = _actuals_by_month(session, year, unit_id)
    rows = []
    running = {f: 0.0 for f in TARGET_FIELDS}
    for month in range(1, 13):
        for f in TARGET_FIELDS:
            running[f] += monthly[f][month]
        plan = {f: monthly_plan(float(getattr(target, f) or 0) if target else 0.0, month, f in COUNT_TARGETS) for f in TARGET_FIELDS}
        actual = {f: round(running[f], 2) for f in TARGET_FIELDS}
        if upto is not None and month > upto:
            actual = {f: float("nan") for f in TARGET_FIELDS}
        rows.append(PlanRow(month, plan, actual))
    return target, rows


def rule_table(session: Session) -> tuple[int, list[dict[str, Any]]]:
    """The deployed scoring table as rows (rule id, description, event cell, class cell, points) and its version."""
    row = definitions.latest(session, SCORING)
    root = parse_xml(row.files[DMN_FILE], DMN_FILE)
    rules = []
    for rule in root.iter(f"{{{DMN_NS}}}rule"):
        entries = [e.findtext(f"{{{DMN_NS}}}text") or "" for e in rule.findall(f"{{{DMN_NS}}}inputEntry")]
        outs = [e.findtext(f"{{{DMN_NS}}}text") or "" for e in rule.findall(f"{{{DMN_NS}}}outputEntry")]
        rules.append({"id": rule.get("id"), "description": rule.findtext(f"{{{DMN_NS}}}description") or "",
                      "event": entries[0], "project_class": entries[1], "points": outs[0]})
    return row.version, rules


def update_points(session: Session, actor: User, points: dict[str, Any]) -> tuple[int, bool]:
    """The office changes rule points; the edited table is validated and deployed as a new version."""
    permissions.require(actor, "assessment.edit", "只有领导小组办公室可以修改计分规则")
    row = definitions.latest(session, SCORING)
    root = parse_xml(row.files[DMN_FILE], DMN_FILE)
    errors: dict[str, str] = {}
    known = {rule.get("id"): rule for rule in root.iter(f"{{{DMN_NS}}}rule")}
    for rule_id, raw in points.items():
        rule = known.get(rule_id)
        if rule is None:
            errors[rule_id] = f"规则 {rule_id} 不存在"
            continue
        label = rule.findtext(f"{{{DMN_NS}}}description") or rule_id
        value = inputs.decimal(raw, rule_id, f"“{label}”的分值", POINTS, errors, required=True)
        if value is None:
            continue
        cell = rule.findall(f"{{{DMN_NS}}}outputEntry")[0].find(f"{{{DMN_NS}}}text")
        assert cell is not None  # every rule of the deployed scoring table has its output cell
        cell.text = format(value.normalize(), "f")
    if errors:
        raise InvalidInput(errors)
    files = dict(row.files)
    files[DMN_FILE] = etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")
    new_row, created = definitions.deploy(session, files, SCORING, deployed_by=actor.id, note="领导小组办公室修改计分分值")
    return new_row.version, created

