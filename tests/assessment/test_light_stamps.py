"""Each project's stored light stamps give the light rule's answer after every kind of change and at any later moment, on both backends."""
from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from engine.platform import db as unit_of_work
from engine.platform import warning_settings
from engine.platform.db import Database
from engine.platform.models import Project, Task, utcnow
from engine.supervision import coordination, lights, progress, stamps
from tests.assessment.conftest import SupervisionHelper
from tests.conftest import FEASIBLE, INTENT, PG_URL, Helper

LATER = (0, 1, 4, 8, 11, 16, 31, 46, 61, 400)  # days after now at which the stamps and the rule are compared


def agree(h: Helper) -> None:
    """At every moment in LATER, each active project's light from its stamps is the rule's, and so are the counts by unit."""
    with h.db.session() as s:
        active = {pid: unit for pid, unit in s.execute(select(Project.id, Project.landing_unit_id).where(Project.status == "active"))}
        for days in LATER:
            at = utcnow() + timedelta(days=days)
            flagged = lights.project_lights(s, at)
            rule = {pid: flagged[pid].light if pid in flagged else lights.GREEN for pid in active}
            assert lights.lights_of(s, list(active), at) == rule, days
            counts: dict[int, Counter[str]] = {}
            for pid, light in rule.items():
                if light != lights.GREEN:
                    counts.setdefault(active[pid], Counter())[light] += 1
            assert lights.counts_by_unit(s, at) == counts, days
            board = lights.board(s, at)
            assert (board.totals.red, board.totals.yellow) == (sum(c["red"] for c in counts.values()),
                                                               sum(c["yellow"] for c in counts.values())), days
            for light in (lights.RED, lights.YELLOW, lights.GREEN):
                shown = set(s.scalars(select(Project.id).where(*lights.LEDGER.matching(at, light))))
                assert shown == {pid for pid, ruled in rule.items() if ruled == light}, (days, light)


def test_the_stamps_follow_registration_completions_progress_deadlines_and_thresholds(h: Helper) -> None:
    projects = [h.register(name=f"灯号{n}") for n in range(3)]
    agree(h)
    h.complete(projects[0], "anwen", INTENT, "confirm_intent")
    h.complete(projects[1], "anwen", INTENT, "confirm_intent")
    h.complete(projects[1], "fx_gongye", FEASIBLE, "feasibility_review")
    agree(h)
    with h.db.session() as s:  # a deadline moved into the past, as an administrator's repair or a timer would
        task = s.scalars(select(Task).where(Task.project_id == projects[2], Task.status == "ready")).one()
        task.created_at, task.due_at = utcnow() - timedelta(days=9), utcnow() - timedelta(days=2)
        s.get_one(Project, projects[1]).last_progress_at = utcnow() - timedelta(days=40)
    agree(h)
    with h.db.session() as s:
        progress.post_note(s, projects[1], s.merge(h.user("anwen")), {"content": "厂房主体封顶"})
    agree(h)
    with h.db.session() as s:
        warning_settings.update(s, {"progress_yellow_days": "3", "progress_red_days": "10"}, s.merge(h.user("bangongshi")))
    agree(h)
    with h.db.session() as s:
        assert stamps.restamp(s, None) == 0  # nothing was left for a full pass to correct


def test_progress_written_past_the_flush_moves_the_stamps(h: Helper) -> None:
    """A record written by `db.save_changes` (as a completion writes it) is judged by the same fields as a flushed one."""
    pid = h.register(name="过去写入的进展")
    with h.db.session() as s:
        before = s.get_one(Project, pid).yellow_at
    with h.db.session() as s:
        project = s.get_one(Project, pid)
        project.last_progress_at = utcnow() - timedelta(days=40)
        unit_of_work.save_changes(s, project)
        assert not s.dirty  # nothing was left for a flush to show the watchers
    with h.db.session() as s:
        assert s.get_one(Project, pid).yellow_at != before
    agree(h)


def test_a_completion_that_ends_a_process_moves_the_stamp_back(sh: SupervisionHelper) -> None:
    pid = sh.register(name="协调被退回")
    with sh.db.session() as s:
        case = coordination.submit(s, pid, s.merge(sh.user("anwen")), {"title": "用地受阻", "problem": "林地指标不足", "material": "说明"})
        review = s.scalars(select(Task).where(Task.instance_id == case.instance_id, Task.status == "ready")).one()
        review.created_at, review.due_at = utcnow() - timedelta(days=30), utcnow() - timedelta(days=20)
    with sh.db.session() as s:
        assert lights.lights_of(s, [pid], utcnow())[pid] == lights.RED
    outcome = sh.act(sh.task(case.instance_id, "review_submission"), "bangongshi", {"decision": "reject", "opinion": "不予受理"})
    assert outcome.ready == []  # the case ended: no task was written, only the completed one changed
    with sh.db.session() as s:
        assert lights.lights_of(s, [pid], utcnow())[pid] == lights.GREEN
    agree(sh)


def blocked_on_a_lock(db: Database) -> bool:
    """Whether some session of this database waits for a row lock."""
    with db.engine.connect() as conn:
        return bool(conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND wait_event_type = 'Lock'")))


@pytest.mark.skipif(not PG_URL, reason="needs ZHIKONG_TEST_PG")
@pytest.mark.parametrize("sdb", ["postgresql"], indirect=True)
@pytest.mark.parametrize("edits_the_record", [False, True], ids=["locks-to-restamp", "already-holds-the-row"])
def test_two_units_of_work_restamping_one_project_take_turns_and_keep_both_changes(sdb: Database, edits_the_record: bool) -> None:
    """The second waits for the project's row: at its restamp's lock, or, when it has updated the record itself (and so holds the
    row from then on, with no lock statement of its own), at that UPDATE."""
    h = SupervisionHelper(sdb)
    pid = h.register(name="两处同时办理")
    with sdb.session() as s:  # a second process on the project: its review task is another ready row
        case = coordination.submit(s, pid, s.merge(h.user("anwen")), {"title": "用地受阻", "problem": "林地指标不足", "material": "说明"})
    review = h.task(case.instance_id, "review_submission").id
    with sdb.session() as first:  # restamps the project and holds it, uncommitted, while the second unit of work runs
        task = first.scalars(select(Task).where(Task.project_id == pid, Task.status == "ready", Task.id != review)).one()
        task.created_at, task.due_at = utcnow() - timedelta(days=30), utcnow() - timedelta(days=20)
        first.flush()
        stamps.restamp(first, [pid])
        second = threading.Thread(target=lambda: extend(sdb, review, pid if edits_the_record else None))
        second.start()
        deadline = time.monotonic() + 30
        while not blocked_on_a_lock(sdb):  # the second unit of work waits for the project's row
            assert time.monotonic() < deadline and second.is_alive()
            time.sleep(0.02)
    second.join(timeout=30)
    with sdb.session() as s:
        assert lights.lights_of(s, [pid], utcnow())[pid] == lights.RED  # the overdue task the first committed
        assert stamps.restamp(s, None) == 0  # and the second's later deadline: nothing left to correct


def extend(db: Database, task_id: int, edited: int | None = None) -> None:
    """Give a task a later deadline in a unit of work of its own; with `edited`, that project's record is updated first (else it
    touches no project row before its restamp)."""
    with db.session() as s:
        if edited is not None:
            project = s.get_one(Project, edited)
            project.contact_name = "李四"
            unit_of_work.save_changes(s, project)
            assert ("project", edited) in unit_of_work.updated_rows(s)
        s.get_one(Task, task_id).due_at = utcnow() + timedelta(days=30)
