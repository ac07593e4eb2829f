"""How long each step of a definition usually takes, summed as tasks complete, so the heat view reads a few rows, not every completed task.

The `step_times` job adds the tasks completed since its mark to per-step sums and moves the
mark, staying `MARGIN` behind the clock so that a transaction still open when it runs is
counted on the next run. Readers add the few tasks completed after the mark live. Each task
counts under the definition its instance ran when the job saw it.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.platform import sqltime
from engine.platform.models import Instance, JobMark, StepTime, Task

JOB = "step_times"
MARGIN = timedelta(minutes=10)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
Sums = dict[str, tuple[int, float]]


def roll_up(session: Session, now: datetime) -> int:
    """Add the tasks completed between the mark and `now - MARGIN` to the sums and move the mark; the tasks added.

    The mark moves by compare-and-set, so of two schedulers running this at once one adds and the other finds nothing to do.
    """
    through = _mark(session)
    until = now - MARGIN
    if until <= through:
        return 0
    claim = update(JobMark).where(JobMark.name == JOB, JobMark.through == through).values(through=until)
    if session.connection().execute(claim).rowcount != 1:
        return 0
    session.expire_all()
    added = 0
    existing = {(row.definition_id, row.bpmn_id): row for row in session.scalars(select(StepTime))}
    for (definition_id, bpmn_id), (count, seconds) in _completed(session, through, until).items():
        row = existing.get((definition_id, bpmn_id))
        if row is None:
            session.add(StepTime(definition_id=definition_id, bpmn_id=bpmn_id, done=count, done_seconds=seconds))
        else:
            row.done, row.done_seconds = row.done + count, row.done_seconds + seconds
        added += count
    return added


def of_definition(session: Session, definition_id: int, now: datetime) -> Sums:
    """Per step of the definition: (tasks completed, their seconds summed), the job's sums plus what completed since its mark."""
    sums: Sums = {row.bpmn_id: (row.done, row.done_seconds)
                  for row in session.scalars(select(StepTime).where(StepTime.definition_id == definition_id))}
    mark = session.get(JobMark, JOB)
    tail = _completed(session, mark.through if mark is not None else EPOCH, now)
    for (definition, bpmn_id), (count, seconds) in tail.items():
        if definition == definition_id:
            done, total = sums.get(bpmn_id, (0, 0.0))
            sums[bpmn_id] = (done + count, total + seconds)
    return sums


def _mark(session: Session) -> datetime:
    """The job's mark, created at the epoch on its first run (by one scheduler, if two start together)."""
    mark = session.get(JobMark, JOB)
    if mark is None:
        try:
            with session.begin_nested():
                session.add(JobMark(name=JOB, through=EPOCH))
        except IntegrityError:
            pass
        mark = session.get(JobMark, JOB)
        assert mark is not None  # inserted just now, by this transaction or the other scheduler's
    through = mark.through
    return through if through.tzinfo is not None else through.replace(tzinfo=timezone.utc)


def _completed(session: Session, after: datetime, until: datetime) -> dict[tuple[int, str], tuple[int, float]]:
    """(definition, step) → (count, seconds) of the tasks completed after `after` and by `until`.

    A range bounded on both sides is what makes SQLite read it through the completed-at index; the
    status is compared through coalesce and the definition grouped on, not filtered, so that no
    planner starts from their indexes instead.
    """
    seconds = sqltime.seconds_between(session, Task.created_at, Task.completed_at)
    query = (
        select(Instance.definition_id, Task.bpmn_id, func.count(), func.sum(seconds))
        .join(Instance, Instance.id == Task.instance_id)
        .where(Task.completed_at > sqltime.moment(session, after), Task.completed_at <= sqltime.moment(session, until),
               func.coalesce(Task.status, "") == "completed")
        .group_by(Instance.definition_id, Task.bpmn_id)
    )
    return {(definition, bpmn_id): (int(count), float(total or 0.0)) for definition, bpmn_id, count, total in session.execute(query)}
