"""Targets, the backwards monthly plan, and scores from the editable DMN table with every point explained."""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from types import SimpleNamespace
from typing import Any, Collection, Iterable, Literal, Optional, Union

from lxml import etree
from sqlalchemy import ColumnElement, Date, DateTime, String, bindparam, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from engine.workflow import definitions
from engine.platform import inputs, permissions, revisions
from engine.platform.clock import CENT, day_starts, local_date, local_time, monthly_plan
from engine.platform.errors import InvalidInput
from engine.platform.messages import N_, Message
from engine.platform.models import Definition, OrgUnit, Project, User, utcnow
from engine.workflow.feel import Compare, FeelError, parse_unary_tests
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
    "mfg_7yi": (N_("7亿元以上制造业项目"), N_("个")),
    "ind_3yi": (N_("3亿元以上产业项目"), N_("个")),
    "yi_plus": (N_("亿元以上项目"), N_("个")),
    "foreign_capital": (N_("利用外资"), "万元"),
    "out_of_province_capital": (N_("省外内资"), "万元"),
    "mfg_funds": (N_("制造业项目到位资金"), "万元"),
}
COUNT_TARGETS = ("mfg_7yi", "ind_3yi", "yi_plus")
POINTS = inputs.Number(Decimal(-1000), Decimal(1000))  # what one rule of the scoring table may give or take




def quarter_range(year: int, quarter: int) -> tuple[date, date]:
    """First and last day of a quarter."""
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1) - timedelta(days=1)
    return start, end


def exact(points: float) -> Decimal:
    """A line's points as the decimal written in the scoring table."""
    return Decimal(repr(points))


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

    @property
    def explanation(self) -> str:
        """Why the line counts, in words: what happened to which project, the rule applied, the points, and the shared credit."""
        subject = f"“{self.project_name}”" if self.project_name else "本单位"
        points = format(Decimal(str(self.points)).normalize(), "f")
        text = f"{subject}{self.event_label}，按计分规则“{self.rule}”计{'+' if self.points > 0 else ''}{points}分"
        return text + ("；招引单位与落地单位同等计分" if self.shared else "")

    @property
    def key(self) -> tuple[Optional[int], date, str]:
        """What makes lines of one event count as different records of a unit (UnitScore.count)."""
        return self.project_id, self.on, self.rule


@dataclass
class Tally:
    """What a unit's explained lines add up to: the exact sum of their points and, per event, how many records they count."""

    points: Decimal = Decimal(0)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, event: str, points: Decimal, records: int) -> None:
        """Add points and records of one event."""
        self.points += points
        self.counts[event] = self.counts.get(event, 0) + records

    def merge(self, other: "Tally") -> None:
        """Add another tally (of a disjoint period) to this one."""
        self.points += other.points
        for event, records in other.counts.items():
            self.counts[event] = self.counts.get(event, 0) + records


def tally(lines: Iterable[ScoreLine]) -> dict[int, Tally]:
    """Per unit, what its lines add up to (the units that have a line)."""
    points: dict[int, Decimal] = {}
    keys: dict[int, dict[str, set[tuple[Optional[int], date, str]]]] = {}
    for line in lines:
        points[line.unit_id] = points.get(line.unit_id, Decimal(0)) + exact(line.points)
        keys.setdefault(line.unit_id, {}).setdefault(line.event, set()).add(line.key)
    return {unit_id: Tally(points[unit_id], {event: len(found) for event, found in events.items()}) for unit_id, events in keys.items()}


@dataclass
class UnitScore:
    """A unit's total and counts, with the lines behind them when they were asked for (or frozen)."""

    unit_id: int
    unit_name: str
    unit_kind: str
    lines: list[ScoreLine] = field(default_factory=list)
    rank: int = 0
    rating: str = ""
    rating_reason: str = ""
    points: Decimal = Decimal(0)  # the exact sum of every line's points, built or not
    counts: dict[str, int] = field(default_factory=dict)  # per event, the records behind its lines

    @property
    def total(self) -> float:
        """Sum of the lines' points, to the cent."""
        return float(self.points.quantize(CENT, ROUND_HALF_EVEN))

    def count(self, event: str) -> int:
        """How many distinct projects (or records) gave the unit lines of this event."""
        return self.counts.get(event, 0)


Explain = Union[Collection[int], Literal["all"]]  # whose lines to build: these units' ids, or "all"; () for totals only


def deployed(session: Session) -> tuple[int, int]:
    """Id and version of the scoring table in force, read without its files."""
    query = select(Definition.id, Definition.version).where(Definition.process_id == SCORING)
    found = session.execute(query.order_by(Definition.version.desc()).limit(1)).first()
    if found is None:
        row = definitions.latest(session, SCORING)  # raises NotFound, saying how to deploy it
        return row.id, row.version
    return found[0], found[1]


Rule = tuple[str, float, str]  # rule id, points, rule label
# per parsed table (a redeploy parses a new one), its matching rules per (event, project class): the table is evaluated once
_DECIDED: "weakref.WeakKeyDictionary[Any, dict[tuple[str, str], list[Rule]]]" = weakref.WeakKeyDictionary()


class Scorer:
    """Evaluates the deployed assessment_scoring table once per (event, class) and parsed table; keeps the version it used for the record."""

    def __init__(self, session: Session) -> None:
        self.definition_id, self.version = deployed(session)
        self.engine = definitions.load(session, self.definition_id).spec
        self.known = _DECIDED.setdefault(self.engine, {})
        self.weights: dict[tuple[str, str], tuple[Decimal, int]] = {}

    def rules(self, event: str, cls: str) -> list[Rule]:
        """(rule id, points, rule label) for every rule matching the event and project class (COLLECT)."""
        found = self.known.get((event, cls))
        if found is None:
            task = SimpleNamespace(data={"event": event, "project_class": cls}, workflow=SimpleNamespace(script_engine=SCRIPT_ENGINE))
            found = []
            for rule in self.engine.decide(task):
                out = rule.output_as_dict(task)
                found.append((rule.id, float(out.get("points") or 0), str(out.get("rule") or rule.description or rule.id)))
            self.known[(event, cls)] = found
        return found

    def weight(self, event: str, cls: str) -> tuple[Decimal, int]:
        """What one record of an event and class gives: the exact sum of its rules' points, and how many distinct lines it makes."""
        found = self.weights.get((event, cls))
        if found is None:
            rules = self.rules(event, cls)
            found = sum((exact(points) for _id, points, _label in rules), Decimal(0)), len({label for _id, _points, label in rules})
            self.weights[(event, cls)] = found
        return found

    def add(self, into: dict[int, Tally], unit_id: int, event: str, cls: str, rows: int, records: int) -> None:
        """Count `rows` records of an event (`records` of them distinct) of one class for a unit, as their lines would add up."""
        points, lines = self.weight(event, cls)
        if rows and lines:
            into.setdefault(unit_id, Tally()).add(event, rows * points, records * lines)


def _credited(project: Project) -> list[int]:
    """The attracting and landing unit each get the same credit (once when they are one unit)."""
    return list(dict.fromkeys([project.attracting_unit_id, project.landing_unit_id]))


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start, end] in county time as UTC instants, from start's midnight to the midnight after end (SQLite compares them as
    the naive UTC text it stores, so they must be UTC)."""
    return day_starts(start), day_starts(end + timedelta(days=1))


START, END = bindparam("start", type_=Date), bindparam("end", type_=Date)  # a period's first and last day
FIRST, AFTER = bindparam("first", type_=DateTime(timezone=True)), bindparam("after", type_=DateTime(timezone=True))  # as instants
WINDOWS: dict[str, ColumnElement[bool]] = {  # per project event, the projects that reached it in the period (county time)
    "signed": Project.signed_date.between(START, END),
    "landed": (Project.landed_at >= FIRST) & (Project.landed_at < AFTER),
    "started": Project.start_date.between(START, END),
}
IN_PERIOD = or_(*WINDOWS.values())


def _period(start: date, end: date) -> dict[str, Any]:
    """The values of START, END, FIRST and AFTER for [start, end]."""
    first, after = _bounds(start, end)
    return {"start": start, "end": end, "first": first, "after": after}


_EVENTS = union_all(*(
    select(literal_column(f"'{event}'", String).label("event"), Project.attracting_unit_id, Project.landing_unit_id,
           Project.assessment_class.label("cls")).where(window)
    for event, window in WINDOWS.items()
)).subquery()
PROJECT_TALLY = (  # per event, the projects of each class and pair of credited units, from one read of each date's index
    select(_EVENTS.c.event, _EVENTS.c.attracting_unit_id, _EVENTS.c.landing_unit_id, _EVENTS.c.cls, func.count())
    .group_by(_EVENTS.c.event, _EVENTS.c.attracting_unit_id, _EVENTS.c.landing_unit_id, _EVENTS.c.cls)
)
_LATE = (
    select(LateUpdate.unit_id, LateUpdate.project_id, LateUpdate.recorded_on, LateUpdate.reason, Project.assessment_class.label("cls"))
    .join(Project, Project.id == LateUpdate.project_id)
    .where(LateUpdate.recorded_on.between(START, END))
    .subquery()
)
_LATE_RECORDS = (  # one row per distinct (project, day, reason) of a unit: what its lines count as one record
    select(_LATE.c.unit_id, _LATE.c.cls, func.count().label("rows"))
    .group_by(_LATE.c.unit_id, _LATE.c.project_id, _LATE.c.recorded_on, _LATE.c.reason, _LATE.c.cls)
    .subquery()
)
LATE_TALLY = select(_LATE_RECORDS.c.unit_id, _LATE_RECORDS.c.cls, func.sum(_LATE_RECORDS.c.rows), func.count()).group_by(
    _LATE_RECORDS.c.unit_id, _LATE_RECORDS.c.cls)


def _project_events(session: Session, start: date, end: date, unit_id: Optional[int] = None) -> Iterable[tuple[Project, str, date]]:
    """Signing, landing and start dates of projects that fall in [start, end] (of projects one unit is credited with, when given)."""
    query = select(Project).where(IN_PERIOD)
    if unit_id is not None:
        query = query.where(Project.of_units([unit_id]))
    for project in session.scalars(query, _period(start, end)):
        if project.signed_date and start <= project.signed_date <= end:
            yield project, "signed", project.signed_date
        landed = local_date(project.landed_at)
        if landed and start <= landed <= end:
            yield project, "landed", landed
        if project.start_date and start <= project.start_date <= end:
            yield project, "started", project.start_date


RANKING_INPUTS = revisions.Watch("ranking_inputs", (
    # a project counts in a period by its dates, its credited units and its class; a new one only once it has a date
    revisions.Watched(Project, ("signed_date", "landed_at", "start_date", "attracting_unit_id", "landing_unit_id",
                                "is_manufacturing", "total_investment", "category"), ("signed_date", "landed_at", "start_date")),
    revisions.Watched(LateUpdate),
    revisions.Watched(CoordinationItem, ("overdue_at", "responsible_unit_id", "case_id", "seq", "title"), ("overdue_at",)),
    revisions.Watched(CoordinationCase, ("project_id", "title"), ()),
    revisions.Watched(Criticism),
))
"""What the periods' tallies are counted from (the scoring table's version is part of each kept tally's key)."""


def _copied(found: dict[int, Tally]) -> dict[int, Tally]:
    return {unit_id: Tally(t.points, dict(t.counts)) for unit_id, t in found.items()}


KEPT_TALLIES: revisions.Kept[dict[int, Tally]] = revisions.Kept(RANKING_INPUTS.name, _copied)
"""The periods' tallies by (first day, last day, scoring table), kept while the ranking inputs stand: the cockpit and the
assessment pages show the live quarter on every visit, and recounting it reads every signing, landing and start of the quarter."""


def tallies(session: Session, start: date, end: date, scorer: Optional[Scorer] = None) -> dict[int, Tally]:
    """Per unit, what its lines of [start, end] add up to, counted by the database without building a line (or kept, see KEPT_TALLIES)."""
    scorer = scorer or Scorer(session)
    return KEPT_TALLIES.get(session, (start, end, scorer.definition_id), lambda: recount(session, start, end, scorer))


def recount(session: Session, start: date, end: date, scorer: Scorer) -> dict[int, Tally]:
    """The tallies of [start, end] as the database counts them now (never kept)."""
    found: dict[int, Tally] = {}
    period = _period(start, end)
    for event, attracting, landing, cls, rows in session.execute(PROJECT_TALLY, period):
        for unit_id in dict.fromkeys([attracting, landing]):
            scorer.add(found, unit_id, event, cls, rows, rows)
    for unit_id, cls, rows, distinct in session.execute(LATE_TALLY, period):
        scorer.add(found, unit_id, "late_update", cls, int(rows), distinct)
    for line_source in (_overdue(session, start, end, None), _criticisms(session, start, end, None)):
        rows_of: dict[tuple[int, str], int] = {}
        keys_of: dict[tuple[int, str], set[tuple[Any, ...]]] = {}
        for unit_id, event, key, _row in line_source:
            rows_of[(unit_id, event)] = rows_of.get((unit_id, event), 0) + 1
            keys_of.setdefault((unit_id, event), set()).add(key)
        for (unit_id, event), rows in rows_of.items():
            scorer.add(found, unit_id, event, "other", rows, len(keys_of[(unit_id, event)]))
    return found


Record = tuple[int, str, tuple[Any, ...], Any]  # unit, event, what tells records apart, the row that explains it


def _overdue(session: Session, start: date, end: date, units: Optional[Collection[int]]) -> Iterable[Record]:
    """交办 items that went overdue in [start, end], with their case and project."""
    query = (
        select(CoordinationItem.responsible_unit_id, CoordinationItem.overdue_at, CoordinationItem.seq, CoordinationItem.title,
               CoordinationCase.title, CoordinationCase.project_id, Project.name)
        .join(CoordinationCase, CoordinationCase.id == CoordinationItem.case_id)
        .join(Project, Project.id == CoordinationCase.project_id)
        .where(CoordinationItem.overdue_at >= FIRST, CoordinationItem.overdue_at < AFTER)
        .order_by(CoordinationItem.id)
    )
    if units is not None:
        query = query.where(CoordinationItem.responsible_unit_id.in_(list(units)))
    for row in session.execute(query, _period(start, end)):
        unit_id, overdue_at, seq, title, case_title, project_id, _name = row
        yield unit_id, "item_overdue", (project_id, local_date(overdue_at), case_title, seq, title), row


def _criticisms(session: Session, start: date, end: date, units: Optional[Collection[int]]) -> Iterable[Record]:
    """通报批评 recorded in [start, end]."""
    query = select(Criticism.unit_id, Criticism.recorded_at, Criticism.reason).where(Criticism.recorded_at >= FIRST, Criticism.recorded_at < AFTER)
    if units is not None:
        query = query.where(Criticism.unit_id.in_(list(units)))
    for row in session.execute(query.order_by(Criticism.id), _period(start, end)):
        yield row[0], "criticised", (local_date(row[1]), row[2]), row


def score_lines(session: Session, start: date, end: date, scorer: Optional[Scorer] = None,
                units: Optional[Collection[int]] = None) -> list[ScoreLine]:
    """Every explained point entry in [start, end], of every unit or of `units`."""
    scorer = scorer or Scorer(session)
    wanted = None if units is None else set(units)
    lines: list[ScoreLine] = []
    query = select(Project.id, Project.name, Project.attracting_unit_id, Project.landing_unit_id, Project.assessment_class,
                   Project.signed_date, Project.landed_at, Project.start_date).where(IN_PERIOD)
    if wanted is not None:
        query = query.where(Project.of_units(wanted))
    period = _period(start, end)
    for project_id, name, attracting, landing, cls, signed, landed_at, started in session.execute(query.order_by(Project.id), period):
        credited = list(dict.fromkeys([attracting, landing]))
        landed = local_date(landed_at)
        for event, on in (("signed", signed), ("landed", landed), ("started", started)):
            if on is None or not start <= on <= end:
                continue
            for rule_id, points, label in scorer.rules(event, cls):
                for unit_id in credited:
                    if wanted is None or unit_id in wanted:
                        lines.append(ScoreLine(unit_id, on, event, points, label, rule_id, project_id, name, len(credited) > 1))
    late = (
        select(LateUpdate.unit_id, LateUpdate.recorded_on, LateUpdate.reason, LateUpdate.project_id, Project.name, Project.assessment_class)
        .join(Project, Project.id == LateUpdate.project_id)
        .where(LateUpdate.recorded_on.between(START, END))
        .order_by(LateUpdate.id)
    )
    if wanted is not None:
        late = late.where(LateUpdate.unit_id.in_(wanted))
    for unit_id, on, reason, project_id, name, cls in session.execute(late, period):
        for rule_id, points, label in scorer.rules("late_update", cls):
            lines.append(ScoreLine(unit_id, on, "late_update", points, f"{label}：{reason}", rule_id, project_id, name))
    for unit_id, _event, (_pid, on, case_title, seq, title), row in _overdue(session, start, end, wanted):
        for rule_id, points, label in scorer.rules("item_overdue", "other"):
            lines.append(ScoreLine(unit_id, on, "item_overdue", points, f"{label}：{case_title} 第{seq}项“{title}”", rule_id, row[5], row[6]))
    for unit_id, _event, (on, reason), _row in _criticisms(session, start, end, wanted):
        for rule_id, points, label in scorer.rules("criticised", "other"):
            lines.append(ScoreLine(unit_id, on, "criticised", points, f"{label}：{reason}", rule_id))
    lines.sort(key=lambda line: (line.on, line.project_id or 0, line.event))
    return lines


def _assessed_units(session: Session, others: Iterable[int] = ()) -> dict[int, tuple[str, str]]:
    """Name and kind of every zone, town and department, and of the other units given."""
    query = select(OrgUnit.id, OrgUnit.name, OrgUnit.kind).where(or_(OrgUnit.kind.in_(ASSESSED_KINDS), OrgUnit.id.in_(list(others))))
    return {uid: (name, kind) for uid, name, kind in session.execute(query.order_by(OrgUnit.id))}


def ranked(session: Session, tallied: dict[int, Tally], lines: Iterable[ScoreLine] = ()) -> list[UnitScore]:
    """Ranked unit scores of these tallies (with these lines): zones and towns always listed, other units when they score."""
    units = _assessed_units(session, tallied)
    table = {uid: UnitScore(uid, name, kind) for uid, (name, kind) in units.items() if kind in ("zone", "town")}
    for uid, counted in tallied.items():
        score = table.setdefault(uid, UnitScore(uid, *units[uid]))
        score.points, score.counts = counted.points, dict(counted.counts)
    for line in lines:
        table[line.unit_id].lines.append(line)
    order = sorted(table.values(), key=lambda s: (-s.total, s.unit_id))
    previous, rank = None, 0
    for index, score in enumerate(order, start=1):
        if score.total != previous:
            rank, previous = index, score.total
        score.rank = rank
    return order


def scores(session: Session, start: date, end: date, explain: Explain = (), scorer: Optional[Scorer] = None) -> list[UnitScore]:
    """Ranked unit scores for a period, with the lines of the units `explain` names."""
    scorer = scorer or Scorer(session)
    if isinstance(explain, str):
        lines = score_lines(session, start, end, scorer)
        return ranked(session, tally(lines), lines)
    lines = score_lines(session, start, end, scorer, explain) if explain else []
    return ranked(session, tallies(session, start, end, scorer), lines)


def quarterly_ranking(session: Session, year: int, quarter: int, explain: Explain = ()) -> list[UnitScore]:
    """季度赛拼 ranking of one quarter (with the lines of the units `explain` names)."""
    if quarter not in (1, 2, 3, 4):
        raise InvalidInput({"quarter": f"季度(quarter)须为1-4，收到 {quarter}"})
    return scores(session, *quarter_range(year, quarter), explain)


def landed_7yi(session: Session, year: int) -> dict[int, list[str]]:
    """Names of the 7亿+ manufacturing projects landed in the year, per credited unit."""
    found: dict[int, list[str]] = {}
    query = select(Project.name, Project.attracting_unit_id, Project.landing_unit_id).where(WINDOWS["landed"], Project.is_7yi_manufacturing)
    for name, attracting, landing in session.execute(query.order_by(Project.id), _period(date(year, 1, 1), date(year, 12, 31))):
        for unit_id in dict.fromkeys([attracting, landing]):
            found.setdefault(unit_id, []).append(name)
    return found


def annual_assessment(session: Session, year: int, explain: Explain = ()) -> list[UnitScore]:
    """The year's ranking (with the lines of the units `explain` names), rated."""
    return rate(session, year, scores(session, date(year, 1, 1), date(year, 12, 31), explain))


def rate(session: Session, year: int, ranked_scores: list[UnitScore]) -> list[UnitScore]:
    """The year's ranking with 一票评优 and 一票否优 applied as SPEC §6 says (a veto beats 评优)."""
    targets = {t.unit_id: t for t in session.scalars(select(UnitTarget).where(UnitTarget.year == year))}
    landed = landed_7yi(session, year)
    criticised: dict[int, list[Criticism]] = {}
    for row in session.scalars(select(Criticism).where(Criticism.year == year)):
        criticised.setdefault(row.unit_id, []).append(row)
    for score in ranked_scores:
        target = targets.get(score.unit_id)
        goal = target.mfg_7yi if target else 0
        done = landed.get(score.unit_id, [])
        names = "、".join(done)
        if score.unit_id in criticised:
            score.rating = "一票否优"
            score.rating_reason = "；".join(f"{local_time(c.recorded_at):%Y-%m-%d}通报批评：{c.reason}" for c in criticised[score.unit_id]) + "（取消当年优秀单位评选资格）"
        elif goal > 0 and len(done) > goal:
            score.rating = "一票评优"
            score.rating_reason = f"超额完成年度7亿元以上制造业项目招引落地任务（目标{goal}个，完成{len(done)}个：{names}）"
        elif goal == 0 and done:
            score.rating = "一票评优"
            score.rating_reason = f"无招引任务，招引7亿元以上制造业项目签约落地{len(done)}个：{names}"
    return ranked_scores


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
    permissions.require(actor, "assessment.edit", N_("只有领导小组办公室可以下达年度目标"))
    errors: dict[str, str] = {}
    unit = session.get(OrgUnit, unit_id)
    if unit is None or unit.kind not in ASSESSED_KINDS:
        errors["unit_id"] = Message(N_("考核单位不存在：%(id)s"), id=unit_id)
    if not 2000 <= year <= 2100:
        errors["year"] = Message(N_("年度无效：%(year)s"), year=year)
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
    plan: dict[str, Decimal]
    actual: Optional[dict[str, Decimal]]  # None for months still ahead

    def behind(self, field_name: str) -> bool:
        """True when the actual is known and below the plan for that indicator."""
        return self.actual is not None and self.actual[field_name] < self.plan[field_name]


def _actuals_by_month(session: Session, year: int, unit_id: int) -> dict[str, list[Decimal]]:
    """Per-month actuals of each indicator for a unit (credited as attracting or landing unit): counts whole, amounts in 万元."""
    months: dict[str, list[Decimal]] = {f: [Decimal(0)] * 13 for f in TARGET_FIELDS}
    for project, event, on in _project_events(session, date(year, 1, 1), date(year, 12, 31), unit_id):
        if event == "landed":
            if project.is_7yi_manufacturing:
                months["mfg_7yi"][on.month] += 1
            if project.is_3yi_industrial:
                months["ind_3yi"][on.month] += 1
        if event == "signed":
            if project.is_yi_plus:
                months["yi_plus"][on.month] += 1
            months["foreign_capital"][on.month] += project.foreign_capital or Decimal(0)
            months["out_of_province_capital"][on.month] += project.out_of_province_capital or Decimal(0)
            if project.is_manufacturing:
                months["mfg_funds"][on.month] += project.funds_in_place or Decimal(0)
    return months


def plan_against_actuals(session: Session, year: int, unit_id: int, upto: Optional[int] = None) -> tuple[Optional[UnitTarget], list[PlanRow]]:
    """The unit's 12-month backwards plan beside cumulative actuals (months after `upto` show plan only)."""
    target = session.scalars(select(UnitTarget).where(UnitTarget.year == year, UnitTarget.unit_id == unit_id)).first()
    monthly = _actuals_by_month(session, year, unit_id)
    rows = []
    running = {f: Decimal(0) for f in TARGET_FIELDS}
    for month in range(1, 13):
        for f in TARGET_FIELDS:
            running[f] += monthly[f][month]
        plan = {f: monthly_plan(Decimal(getattr(target, f) or 0) if target else Decimal(0), month, f in COUNT_TARGETS) for f in TARGET_FIELDS}
        known = upto is None or month <= upto
        rows.append(PlanRow(month, plan, dict(running) if known else None))
    return target, rows


def readable_cell(cell: str, labels: dict[str, str]) -> str:
    """A rule's input cell in words: “任意” for `-`, the labels of the values it lists (“签约、落地”), “除…以外” for not(...);
    a cell of another form (a range, a comparison) as written."""
    try:
        tests = parse_unary_tests(cell)
    except FeelError:
        return cell
    if tests.any:
        return "任意"
    if not all(isinstance(t, Compare) and t.op == "=" and t.literal.kind == "string" for t in tests.tests):
        return cell
    names = "、".join(labels.get(str(t.literal.value), str(t.literal.value)) for t in tests.tests if isinstance(t, Compare))
    return f"除{names}以外" if tests.negated else names


def rule_table(session: Session) -> tuple[int, list[dict[str, Any]]]:
    """The deployed scoring table as rows (rule id, description, event cell, class cell, points; the cells also in words) and its version."""
    row = definitions.latest(session, SCORING)
    root = parse_xml(row.files[DMN_FILE], DMN_FILE)
    rules = []
    for rule in root.iter(f"{{{DMN_NS}}}rule"):
        entries = [e.findtext(f"{{{DMN_NS}}}text") or "" for e in rule.findall(f"{{{DMN_NS}}}inputEntry")]
        outs = [e.findtext(f"{{{DMN_NS}}}text") or "" for e in rule.findall(f"{{{DMN_NS}}}outputEntry")]
        rules.append({"id": rule.get("id"), "description": rule.findtext(f"{{{DMN_NS}}}description") or "",
                      "event": entries[0], "project_class": entries[1], "points": outs[0],
                      "event_text": readable_cell(entries[0], EVENT_LABELS), "class_text": readable_cell(entries[1], CLASS_LABELS)})
    return row.version, rules


def update_points(session: Session, actor: User, points: dict[str, Any]) -> tuple[int, bool]:
    """The office changes rule points; the edited table is validated and deployed as a new version."""
    permissions.require(actor, "assessment.edit", N_("只有领导小组办公室可以修改计分规则"))
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

