"""Stuck detection: every stuck instance is listed with its reason in words; healthy ones are not."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from engine.workflow import admin, console
from engine.platform.models import Instance, Project, Task, utcnow
from tests.admin.bundles import MESSAGE_WAIT, SIGNAL_WAIT, with_division_script
from tests.admin.conftest import AdminHelper
from tests.conftest import INTENT

SETTINGS = console.AdminSettings(overdue_days=7, idle_days=30)


def _stuck(h: AdminHelper, kind: str | None = None) -> list[console.Stuck]:
    with h.db.session() as s:
        found = console.find_stuck(s, SETTINGS)
    return [x for x in found if kind is None or x.kind == kind]


def test_fresh_healthy_projects_are_not_stuck(ah: AdminHelper) -> None:
    pid = ah.register()
    ah.complete(pid, "anwen", INTENT)
    assert _stuck(ah) == []


def test_errored_instance_is_listed_with_element_exception_and_line(ah: AdminHelper) -> None:
    ah.deploy(with_division_script())
    pid = ah.register(name="除零项目")
    [item] = _stuck(ah, "error")
    assert item.project_id == pid and item.project_name == "除零项目" and item.label == "执行出错"
    assert item.bpmn_id == "calc_density"
    assert "“计算亩均投资”（calc_density）执行出错：ZeroDivisionError" in item.reason
    assert "第 2 行：investment_per_mu = base / land_mu" in item.reason


def test_task_overdue_beyond_the_threshold(ah: AdminHelper) -> None:
    pid = ah.register()
    task = ah.only_ready(pid)
    with ah.db.session() as s:
        s.execute(update(Task).where(Task.id == task.id).values(due_at=utcnow() - timedelta(days=6)))
    assert _stuck(ah, "overdue") == []
    with ah.db.session() as s:
        s.execute(update(Task).where(Task.id == task.id).values(due_at=utcnow() - timedelta(days=9, hours=1)))
    [item] = _stuck(ah, "overdue")
    assert item.task_id == task.id and "“确认投资意向”已超期 9 天" in item.reason and "超期阈值 7 天" in item.reason


def test_no_activity_for_n_days(ah: AdminHelper) -> None:
    pid = ah.register()
    iid = ah.instance(pid).id
    old = utcnow() - timedelta(days=45)
    with ah.db.session() as s:
        s.execute(update(Instance).where(Instance.id == iid).values(updated_at=old))
        s.execute(update(Project).where(Project.id == pid).values(last_progress_at=old))
    [item] = _stuck(ah, "idle")
    assert item.instance_id == iid and "已连续 45 天没有任何办理" in item.reason
    with ah.db.session() as s:
        s.execute(update(Project).where(Project.id == pid).values(last_progress_at=utcnow() - timedelta(days=2)))
    assert _stuck(ah, "idle") == []


def test_waiting_with_no_task_no_timer_and_no_message(ah: AdminHelper) -> None:
    pid = ah.register()
    signal_def = ah.deploy(SIGNAL_WAIT, "signal_wait")
    message_def = ah.deploy(MESSAGE_WAIT, "message_wait")
    signal = ah.start(signal_def, pid)
    message = ah.start(message_def, pid)
    assert signal.status == message.status == "running"
    dead = _stuck(ah, "no_way_on")
    assert [d.instance_id for d in dead] == [signal.instance_id]
    assert "“等待外部事件”（SignalEventDefinition）等待事件" in dead[0].reason
    assert "没有待办任务，也没有待触发的定时器或消息" in dead[0].reason


def test_ready_step_missing_from_the_task_table_is_reported(ah: AdminHelper) -> None:
    pid = ah.register()
    task = ah.only_ready(pid)
    with ah.db.session() as s:
        s.execute(update(Task).where(Task.id == task.id).values(status="cancelled"))
    [item] = _stuck(ah, "no_way_on")
    assert "“确认投资意向”处于待办状态，但任务表中没有对应待办" in item.reason


def test_orphaned_task_is_listed_with_its_reason(ah: AdminHelper) -> None:
    pid = ah.register(by="anwen")
    with ah.db.session() as s:
        admin.set_user_active(s, ah.user("anwen").id, False, ah.admin(s), "调离")
    [item] = _stuck(ah, "orphaned")
    assert item.project_id == pid
    assert item.reason == "“确认投资意向”无人可办，任何人的待办中都看不到它：安文街道没有在岗且持有“落地单位”角色的人员"


def test_console_filters_and_counts(ah: AdminHelper) -> None:
    first = ah.register(by="anwen", name="安文项目")
    second = ah.register(by="xinwo", name="新渥项目", deputy_id=ah.user("fx_wenlv").id)
    ah.complete(second, "xinwo", INTENT)
    ah.deploy(with_division_script())
    broken = ah.register(by="anwen", name="出错项目")
    with ah.db.session() as s:
        admin.suspend(s, ah.instance(first).id, ah.admin(s), "暂缓")
        s.execute(update(Task).where(Task.project_id == second).values(due_at=utcnow() - timedelta(days=1)))
    with ah.db.session() as s:
        assert console.counts(s) == {"running": 1, "timer": 0, "error": 1, "suspended": 1, "completed": 0, "terminated": 0}

        counts = console.counts(s)

        def names(**kw: Any) -> list[str]:
            rows, total = console.list_instances(s, console.ConsoleFilter(**kw))
            assert total == len(rows)
            # the console page passes its status counts: the same total, unfiltered or narrowed by status alone
            assert console.list_instances(s, console.ConsoleFilter(**kw), status_counts=counts)[1] == total
            return sorted(r.project_name for r in rows)

        assert names() == ["出错项目", "安文项目", "新渥项目"]
        assert names(status="error") == ["出错项目"]
        assert names(status="suspended") == ["安文项目"]
        assert names(status="running") == ["新渥项目"]
        assert names(activity="feasibility_review") == ["新渥项目"]
        assert names(unit_id=ah.user("anwen").unit_id) == ["出错项目", "安文项目"]
        assert names(deputy_id=ah.user("fx_wenlv").id) == ["新渥项目"]
        assert names(overdue=True) == ["新渥项目"]
        assert names(definition_id=ah.instance(broken).definition_id) == ["出错项目"]
        rows, _ = console.list_instances(s, console.ConsoleFilter(status="running"))
        assert rows[0].activities == ["可行性论证"] and rows[0].overdue_days == 1 and rows[0].version == 1


def test_waiting_on_a_timer_is_its_own_status(ah: AdminHelper) -> None:
    pid = ah.register()
    iid = ah.instance(pid).id
    with ah.db.session() as s:
        s.execute(update(Task).where(Task.project_id == pid).values(status="cancelled"))
        s.execute(update(Instance).where(Instance.id == iid).values(next_timer_at=utcnow() + timedelta(days=3)))
    with ah.db.session() as s:
        assert console.counts(s)["timer"] == 1 and console.counts(s)["running"] == 0
        rows, total = console.list_instances(s, console.ConsoleFilter(status="timer"), status_counts=console.counts(s))
        assert [r.id for r in rows] == [iid] and rows[0].status == "timer" and total == 1


def test_heat_counts_running_instances_and_time_spent(ah: AdminHelper) -> None:
    first = ah.register()
    second = ah.register(name="第二个")
    ah.complete(first, "anwen", INTENT)
    with ah.db.session() as s:
        s.execute(update(Task).where(Task.project_id == first, Task.bpmn_id == "confirm_intent")
                  .values(created_at=utcnow() - timedelta(hours=30), completed_at=utcnow() - timedelta(hours=6)))
        s.execute(update(Task).where(Task.project_id == second).values(created_at=utcnow() - timedelta(hours=10)))
    with ah.db.session() as s:
        cells = console.heat(s, ah.instance(first).definition_id)
    assert cells["confirm_intent"].running == 1 and cells["confirm_intent"].done == 1
    assert cells["confirm_intent"].avg_done_hours == 24.0
    assert 9.9 <= cells["confirm_intent"].avg_wait_hours <= 10.1
    assert cells["feasibility_review"].running == 1
