"""BPMN timers fire at their due time through the sweep: boundary (both kinds), intermediate, dates, variables."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event
import time_machine

from engine import scheduler
from engine.workflow import timers
from engine.platform.errors import ConcurrentUpdate
from engine.platform.models import Instance, utcnow
from engine.platform.db import Database
from tests.timers.conftest import START, TimerHelper, hours


def test_next_timer_at_holds_the_earliest_pending_timer(th: TimerHelper) -> None:
    iid = th.start()
    assert th.instance(iid).next_timer_at.replace(tzinfo=START.tzinfo) == START + hours(2)
    th.complete(iid, "review", "anwen", {"wait_period": "P3D"})
    assert th.instance(iid).next_timer_at.replace(tzinfo=START.tzinfo) == START + timedelta(days=3)


def test_nothing_fires_before_the_due_time(th: TimerHelper, clock: time_machine.Traveller) -> None:
    iid = th.start()
    clock.shift(hours(1.9))
    result = timers.sweep(th.db)
    assert (result.loaded, result.timers_fired) == (0, 0)
    assert set(th.ready(iid)) == {"review"}


def test_non_interrupting_boundary_timer_adds_an_office_followup_and_keeps_the_task(th: TimerHelper, clock: time_machine.Traveller) -> None:
    iid = th.start()
    clock.shift(hours(2) + timedelta(seconds=1))
    result = timers.sweep(th.db)
    assert (result.instances_fired, result.timers_fired) == (1, 1)
    ready = th.ready(iid)
    assert set(ready) == {"review", "office_followup"}
    assert ready["office_followup"].role == "office"
    assert th.timer_events(iid) == ["review_reminder"]
    assert th.instance(iid).next_timer_at.replace(tzinfo=START.tzinfo) == START + timedelta(days=15)
    assert timers.sweep(th.db).timers_fired == 0


def test_interrupting_boundary_timer_cancels_the_task_and_reroutes_to_escalation(th: TimerHelper, clock: time_machine.Traveller) -> None:
    iid = th.start()
    clock.shift(timedelta(days=15, seconds=1))
    result = timers.sweep(th.db)
    assert result.timers_fired == 2  # the 2-hour reminder was also overdue: it fires once, on the same sweep
    assert set(th.ready(iid)) == {"escalation", "office_followup"}
    assert th.task_status(iid, "review") == ["cancelled"]
    assert sorted(th.timer_events(iid)) == ["review_reminder", "review_timeout"]
    assert th.instance(iid).next_timer_at is None


def test_completing_the_task_in_time_disarms_its_boundary_timers(th: TimerHelper, clock: time_machine.Traveller) -> None:
    iid = th.start()
    clock.shift(hours(1))
    th.complete(iid, "review", "anwen", {"wait_period": "PT30M"})
    clock.shift(timedelta(days=20))
    timers.sweep(th.db)
    assert th.timer_events(iid) == ["cooling"]
    assert set(th.ready(iid)) == {"confirm"}


def test_intermediate_timer_takes_its_duration_from_a_variable(th: TimerHelper, clock: time_machine.Traveller) -> None:
    iid = th.start()
    th.complete(iid, "review", "anwen", {"wait_period": "P3D"})
    assert th.ready(iid) == {}
    clock.shift(timedelta(days=2, hours=23))
    assert timers.sweep(th.db).timers_fired == 0
    clock.shift(hours(1) + timedelta(seconds=1))
    assert timers.sweep(th.db).timers_fired == 1
    assert set(th.ready(iid)) == {"confirm"}


def test_date_timer_waits_until_the_date_and_ends_the_process(th: TimerHelper, clock: time_machine.Traveller) -> None:
    iid = th.start()
    th.complete(iid, "review", "anwen", {"wait_period": "PT1H"})
    clock.shift(hours(1) + timedelta(seconds=1))
    timers.sweep(th.db)
    th.complete(iid, "confirm", "anwen", {"deadline": "2026-04-01T09:00:00+08:00"})
    assert th.instance(iid).next_timer_at.replace(tzinfo=START.tzinfo) == START.replace(month=4, day=1)
    clock.shift(timedelta(days=29))
    assert timers.sweep(th.db).timers_fired == 0
    clock.shift(timedelta(days=2))
    assert timers.sweep(th.db).timers_fired == 1
    instance = th.instance(iid)
    assert (instance.status, instance.next_timer_at) == ("completed", None)


def test_the_sweep_loads_only_due_instances(th: TimerHelper, clock: time_machine.Traveller) -> None:
    waiting = [th.start(f"项目{i}") for i in range(6)]
    for iid in waiting[:4]:
        th.complete(iid, "review", "anwen", {"wait_period": "P30D"})
    clock.shift(hours(3))  # the two untouched instances are due (2-hour reminder); four wait 30 days
    loaded: list[int] = []

    def count(target: Instance, _context: object) -> None:
        loaded.append(target.id)

    event.listen(Instance, "load", count)
    try:
        result = timers.sweep(th.db)
    finally:
        event.remove(Instance, "load", count)
    assert sorted(set(loaded)) == sorted(waiting[4:])
    assert result.instances_fired == 2


def test_after_an_outage_every_overdue_timer_fires_once_on_the_first_run(th: TimerHelper, clock: time_machine.Traveller) -> None:
    fresh = [th.start(f"新项目{i}") for i in range(3)]  # reminder at 2 h, escalation at 15 days
    cooling = [th.start(f"冷静期项目{i}") for i in range(3)]
    for iid, period in zip(cooling, ("P1D", "P10D", "P40D")):
        th.complete(iid, "review", "anwen", {"wait_period": period})
    clock.shift(timedelta(days=30))  # the scheduler was down for a month
    result = scheduler.run_once(th.db, ["timers"])["timers"]
    assert result.timers_fired == 3 * 2 + 2
    fired = th.count_timer_events()
    assert [fired.get(i, 0) for i in fresh + cooling] == [2, 2, 2, 1, 1, 0]
    assert scheduler.run_once(th.db, ["timers"])["timers"].timers_fired == 0
    assert th.count_timer_events() == fired
    assert all(set(th.ready(i)) == {"escalation", "office_followup"} for i in fresh)
    assert [set(th.ready(i)) for i in cooling] == [{"confirm"}, {"confirm"}, set()]


def test_a_row_changed_after_the_claim_sends_the_batch_one_by_one_and_each_timer_fires_once(sqlite_db: Database, clock: time_machine.Traveller) -> None:
    """SQLite only: on PostgreSQL the claim locks the rows, so no writer can slip in between."""
    th = TimerHelper(sqlite_db)
    ids = [th.start(f"项目{i}") for i in range(3)]
    clock.shift(hours(3))
    with th.db.session() as batch:
        claimed = timers.due_instances(batch, utcnow(), 10)
        with th.db.session() as other:  # another writer changes one claimed instance
            other.get(Instance, ids[1]).updated_at = utcnow()
        with pytest.raises(ConcurrentUpdate):
            timers._fire_batch(batch, claimed)
        batch.rollback()
    assert th.timer_events() == []
    result = timers.sweep(th.db)
    assert (result.instances_fired, result.failed) == (3, [])
    assert th.count_timer_events() == {iid: 1 for iid in ids}
    assert all(set(th.ready(iid)) == {"review", "office_followup"} for iid in ids)
