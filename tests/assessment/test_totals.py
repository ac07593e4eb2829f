"""Rankings counted by the database add up exactly as the explained lines do; the class rule reads the same in SQL and Python."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from engine.platform.clock import zone
from engine.platform.db import Database
from engine.platform.models import Instance, OrgUnit, Project, User
from engine.supervision import assessment, coordination
from engine.supervision.models import CoordinationCase, CoordinationItem, Criticism
from engine.supervision.progress import LateUpdate
from engine.workflow import definitions

YEAR = 2026
Q2 = assessment.quarter_range(YEAR, 2)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A county-time moment as the UTC instant that is stored."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone()).astimezone(timezone.utc)


def fill(db: Database, projects: int = 300, seed: int = 16) -> None:
    """A few hundred projects around the second quarter: every class at its boundaries, shared and single credit, late updates
    (some repeated on one day with one reason), overdue items, criticisms, and moments just either side of the quarter's edges."""
    rng = random.Random(seed)
    with db.session() as s:
        units = list(s.scalars(select(OrgUnit.id).where(OrgUnit.kind.in_(assessment.ASSESSED_KINDS)).order_by(OrgUnit.id)))
        deputy = s.scalars(select(User.id).order_by(User.id)).first()
        definition_id = definitions.latest(s, coordination.COORDINATION).id
        first_id = (s.scalar(select(Project.id).order_by(Project.id.desc()).limit(1)) or 0) + 1
    edges = [Q2[0] - timedelta(days=1), Q2[0], Q2[1], Q2[1] + timedelta(days=1)]
    amounts = [Decimal("9999.99"), Decimal(10000), Decimal(29999), Decimal(30000), Decimal(69999.99), Decimal(70000), Decimal(120000)]

    def day() -> date:
        return rng.choice(edges) if rng.random() < 0.3 else Q2[0] + timedelta(days=rng.randint(-20, 110))

    rows: list[dict[str, Any]] = []
    late: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    instances: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    criticisms: list[dict[str, Any]] = []
    for n in range(projects):
        pid = first_id + n
        attracting = rng.choice(units)
        landing = attracting if rng.random() < 0.3 else rng.choice(units)
        landed_day = day()
        rows.append(dict(id=pid, name=f"合计测试项目{n:03d}", attracting_unit_id=attracting, landing_unit_id=landing,
                         category=rng.choice(["industrial", "service", "agriculture"]), is_manufacturing=rng.random() < 0.5,
                         total_investment=rng.choice(amounts), deputy_id=deputy, stage="construction",
                         signed_date=day() if rng.random() < 0.7 else None,
                         landed_at=local(landed_day, rng.choice([0, 7, 12, 23]), 30) if rng.random() < 0.6 else None,
                         start_date=day() if rng.random() < 0.5 else None))
        on = day()
        for k in range(rng.choice([0, 0, 1, 2, 3])):
            on = on if k == 1 else day()  # a second record on the first one's day, with its reason: one record as the lines count
            late.append(dict(unit_id=landing, project_id=pid, recorded_on=on, days=40, last_update_at=local(on, 9) - timedelta(days=40, minutes=k),
                             reason="超过30天未更新进展" if k < 2 else "连续未更新"))
        if n % 25 == 0:
            case_id = len(cases) + 1 + pid * 10
            instances.append(dict(id=case_id, project_id=pid, process_id=coordination.COORDINATION, definition_id=definition_id,
                                  state="{}", revision=1, status="running"))
            cases.append(dict(id=case_id, instance_id=case_id, project_id=pid, unit_id=landing, title="协调用地", problem="说明",
                              status="in_progress", submitted_by=deputy))
            for seq in (1, 2):
                on = day()
                items.append(dict(case_id=case_id, seq=seq, title="落实事项", responsible_unit_id=rng.choice(units), deadline=on,
                                  status="open", light="red", overdue_at=local(on, rng.choice([0, 18]))))
        if n % 40 == 0:
            criticisms.append(dict(unit_id=rng.choice(units), year=YEAR, reason="交办事项未按时办结", recorded_by=deputy,
                                   recorded_at=local(day(), rng.choice([1, 15]))))
    with db.engine.begin() as conn:
        for model, batch in ((Project, rows), (LateUpdate, late), (Instance, instances), (CoordinationCase, cases),
                             (CoordinationItem, items), (Criticism, criticisms)):
            if batch:
                conn.execute(insert(model), batch)


def counted(scores: list[assessment.UnitScore]) -> dict[int, tuple[float, int, dict[str, int]]]:
    return {s.unit_id: (s.total, s.rank, {e: s.count(e) for e in assessment.EVENT_LABELS}) for s in scores}


def test_the_class_rule_reads_the_same_in_sql_and_in_python(sdb: Database) -> None:
    fill(sdb, projects=120)
    with sdb.session() as s:
        in_sql = {pid: cls for pid, cls in s.execute(select(Project.id, Project.assessment_class))}
        in_python = {p.id: p.assessment_class for p in s.scalars(select(Project))}
    assert in_sql == in_python
    assert set(in_python.values()) == set(assessment.CLASS_LABELS)


def test_totals_counted_by_the_database_equal_the_sum_of_the_lines(sdb: Database) -> None:
    fill(sdb)
    with sdb.session() as s:
        scorer = assessment.Scorer(s)
        for start, end in (Q2, assessment.quarter_range(YEAR, 1), (date(YEAR, 1, 1), date(YEAR, 12, 31))):
            lines = assessment.score_lines(s, start, end, scorer)
            assert len(lines) > 100 and {"signed", "landed", "started", "late_update", "item_overdue"} <= {line.event for line in lines}
            by_sql = assessment.tallies(s, start, end, scorer)
            assert by_sql == assessment.tally(lines)
            for unit_id, tallied in by_sql.items():
                unit_lines = [line for line in lines if line.unit_id == unit_id]
                assert tallied.points == sum((Decimal(repr(line.points)) for line in unit_lines), Decimal(0))
                assert assessment.score_lines(s, start, end, scorer, {unit_id}) == unit_lines
            ranked = assessment.scores(s, start, end, (), scorer)
            explained = assessment.scores(s, start, end, "all", scorer)
            assert counted(ranked) == counted(explained)
            assert all(not score.lines for score in ranked)
            for score in explained:
                assert score.total == round(sum(line.points for line in score.lines), 2)
        late = [line for line in assessment.score_lines(s, *Q2, scorer) if line.event == "late_update"]
        assert len({(line.unit_id, line.key) for line in late}) < len(late), "records of one project, day and reason count once"
        first_day = [line for line in assessment.score_lines(s, *Q2, scorer) if line.event == "landed" and line.on == Q2[0]]
        assert first_day, "landed in the first county-time hours of the quarter counts in the quarter"
        assert not [line for line in assessment.score_lines(s, *assessment.quarter_range(YEAR, 1), scorer)
                    if line.event == "landed" and line.on >= Q2[0]]


def test_the_scoring_table_is_evaluated_once_per_event_and_class(sdb: Database, monkeypatch: Any) -> None:
    fill(sdb, projects=150)
    with sdb.session() as s:
        scorer = assessment.Scorer(s)
        decide = scorer.engine.decide
        calls: list[dict[str, Any]] = []

        def counting(task: Any) -> Any:
            calls.append(task.data)
            return decide(task)

        monkeypatch.setattr(scorer.engine, "decide", counting)
        scorer.known.clear()
        assessment.score_lines(s, *Q2, scorer)
        assessment.tallies(s, *Q2, scorer)
        assert len(calls) == len({(c["event"], c["project_class"]) for c in calls}) <= len(assessment.EVENT_LABELS) * len(assessment.CLASS_LABELS)
