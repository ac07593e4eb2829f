"""Step times: the job adds each completed task to its step's sums once, and the heat view adds what completed since."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from engine.platform.models import JobMark, StepTime, Task, utcnow
from engine.workflow import console, step_times
from tests.admin.conftest import AdminHelper
from tests.conftest import INTENT


def _completed_hours_ago(ah: AdminHelper, project_id: int, created: float, completed: float) -> None:
    with ah.db.session() as s:
        s.execute(update(Task).where(Task.project_id == project_id, Task.bpmn_id == "confirm_intent")
                  .values(created_at=utcnow() - timedelta(hours=created), completed_at=utcnow() - timedelta(hours=completed)))


def test_the_job_sums_each_completed_task_once_and_moves_its_mark(ah: AdminHelper) -> None:
    first, second = ah.register(), ah.register(name="第二个")
    ah.complete(first, "anwen", INTENT)
    ah.complete(second, "anwen", INTENT)
    _completed_hours_ago(ah, first, created=30, completed=6)
    _completed_hours_ago(ah, second, created=12, completed=4)
    definition_id = ah.instance(first).definition_id
    with ah.db.session() as s:
        assert step_times.roll_up(s, utcnow()) == 2
    with ah.db.session() as s:
        assert step_times.roll_up(s, utcnow()) == 0  # nothing new: nothing added twice
        (row,) = s.scalars(select(StepTime).where(StepTime.bpmn_id == "confirm_intent"))
        assert (row.definition_id, row.done) == (definition_id, 2)
        assert abs(row.done_seconds - (24 + 8) * 3600) < 5
        assert s.get(JobMark, step_times.JOB) is not None
        cell = console.heat(s, definition_id)["confirm_intent"]
    assert (cell.done, cell.avg_done_hours) == (2, 16.0)


def test_the_heat_view_adds_what_completed_since_the_mark(ah: AdminHelper) -> None:
    first, second = ah.register(), ah.register(name="第二个")
    ah.complete(first, "anwen", INTENT)
    _completed_hours_ago(ah, first, created=30, completed=6)
    with ah.db.session() as s:
        assert step_times.roll_up(s, utcnow()) == 1
    ah.complete(second, "anwen", INTENT)  # completed now: inside the margin, not yet summed by the job
    _completed_hours_ago(ah, second, created=2, completed=0)
    with ah.db.session() as s:
        assert step_times.roll_up(s, utcnow()) == 0
        cell = console.heat(s, ah.instance(first).definition_id)["confirm_intent"]
    assert (cell.done, cell.avg_done_hours) == (2, 13.0)
    with ah.db.session() as s:
        assert step_times.roll_up(s, utcnow() + step_times.MARGIN + timedelta(minutes=1)) == 1



def test_two_schedulers_running_the_job_at_once_add_each_task_once(ah: AdminHelper) -> None:
    project = ah.register()
    ah.complete(project, "anwen", INTENT)
    _completed_hours_ago(ah, project, created=30, completed=6)
    with ah.db.session() as s:
        assert step_times.roll_up(s, utcnow() - timedelta(days=2)) == 0  # the mark exists, two days back
    now = utcnow()
    with ah.db.session() as late:
        seen = late.get(JobMark, step_times.JOB)  # the second scheduler has read the mark two days back (and holds it)
        assert seen is not None
        with ah.db.session() as first:
            assert step_times.roll_up(first, now) == 1  # the first moves it and commits
        assert step_times.roll_up(late, now) == 0  # the second, still holding the old mark, loses the compare-and-set
    with ah.db.session() as s:
        (row,) = s.scalars(select(StepTime).where(StepTime.bpmn_id == "confirm_intent"))
        assert row.done == 1
