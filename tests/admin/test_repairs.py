"""Repairs: each needs a reason, is logged with who and when, runs in one transaction, keeps tasks and stage in step."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engine.workflow import admin, console, runtime, state
from engine.platform.errors import ConcurrentUpdate, InvalidInput, NotAllowed
from engine.platform.models import Event, Instance, Task, User
from tests.ready import ready_tasks_query
from tests.admin.bundles import with_boundary_timer, with_division_script
from tests.admin.conftest import AdminHelper
from tests.conftest import FEASIBLE, INTENT, approval_form


def _events(h: AdminHelper, kind: str) -> list[Event]:
    with h.db.session() as s:
        return list(s.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def _errored_project(h: AdminHelper) -> int:
    h.deploy(with_division_script())
    return h.register(name="亩均投资出错项目")


def test_division_error_is_described_with_element_type_and_line(ah: AdminHelper) -> None:
    pid = _errored_project(ah)
    instance = ah.instance(pid)
    assert instance.status == "error"
    assert instance.error["bpmn_id"] == "calc_density"
    assert instance.error["type"] == "ZeroDivisionError"
    assert instance.error["line_number"] == 2
    assert instance.error is not None
    text = console.describe_error(instance.error)
    assert "计算亩均投资" in text and "ZeroDivisionError" in text and "第 2 行：investment_per_mu = base / land_mu" in text
    assert ah.ready(pid) == []


def test_retry_with_edited_data_proceeds_and_is_logged(ah: AdminHelper) -> None:
    pid = _errored_project(ah)
    iid = ah.instance(pid).id
    with ah.db.session() as s:
        outcome = admin.retry(s, iid, ah.admin(s), "登记时漏填用地面积，按投资方提供的20亩补正", {"land_mu": 20})
    assert outcome.status == "running" and outcome.error is None
    assert ah.only_ready(pid).bpmn_id == "confirm_intent"
    assert ah.project(pid).stage == "intent"
    logged = _events(ah, "admin_retry")[-1]
    assert logged.actor_id == ah.user("admin").id and logged.at is not None
    assert logged.payload["reason"] == "登记时漏填用地面积，按投资方提供的20亩补正"
    assert logged.payload["changes"] == {"land_mu": {"before": 0.0, "after": 20}}
    assert "修改任务数据并重试“计算亩均投资”" in logged.summary
    ah.complete(pid, "anwen", INTENT, "confirm_intent")
    assert ah.only_ready(pid).bpmn_id == "feasibility_review"


def test_retry_without_a_fix_errors_again_and_both_are_logged(ah: AdminHelper) -> None:
    pid = _errored_project(ah)
    iid = ah.instance(pid).id
    state.WORKFLOWS.clear()
    with ah.db.session() as s:
        outcome = admin.retry(s, iid, ah.admin(s), "先按原数据重试一次")
    assert outcome.status == "error" and outcome.error["line_number"] == 2
    assert len(_events(ah, "admin_retry")) == 1
    assert len(_events(ah, "error")) == 2


@pytest.mark.parametrize("reason", ["", "   ", "长" * 501])
def test_every_repair_requires_a_reason_and_stores_nothing(ah: AdminHelper, reason: str) -> None:
    pid = _errored_project(ah)
    iid = ah.instance(pid).id
    before = len(_events(ah, "admin_retry"))
    with pytest.raises(InvalidInput) as caught:
        with ah.db.session() as s:
            admin.retry(s, iid, ah.admin(s), reason, {"land_mu": 20})
    assert "reason" in caught.value.errors and "操作原因" in caught.value.errors["reason"]
    assert ah.instance(pid).status == "error" and len(_events(ah, "admin_retry")) == before


def test_bad_data_edits_name_the_field(ahs: AdminHelper) -> None:
    pid = _errored_project(ahs)
    iid = ahs.instance(pid).id
    hostile: list[Any] = [["land_mu", 20], {"__class__": 1}, {"land mu": 2}, {"land_mu": float("nan")}, {"note": "a\x00b"},
                          {"items": [{"x": float("inf")}]}, {"big": "x" * 1_100_000}, {"s": {1, 2}}]  # not all of them dicts
    for edits in hostile:
        with pytest.raises(InvalidInput) as caught:
            with ahs.db.session() as s:
                admin.retry(s, iid, ahs.admin(s), "修正", edits)
        assert "任务数据" in caught.value.errors["data"]
    with pytest.raises(InvalidInput) as nul:
        with ahs.db.session() as s:
            admin.retry(s, iid, ahs.admin(s), "修\x00正", {})
    assert "操作原因不能包含控制字符" in nul.value.errors["reason"]


def test_only_administrators_may_repair(ahs: AdminHelper) -> None:
    pid = _errored_project(ahs)
    iid = ahs.instance(pid).id
    with pytest.raises(NotAllowed, match="系统管理员"):
        with ahs.db.session() as s:
            admin.retry(s, iid, s.merge(ahs.user("bangongshi")), "我来修", {"land_mu": 20})
    assert ahs.instance(pid).status == "error"


def test_suspended_instance_leaves_every_inbox_and_refuses_completion(ah: AdminHelper) -> None:
    pid = ah.register()
    iid = ah.instance(pid).id
    task = ah.only_ready(pid)
    with ah.db.session() as s:
        admin.suspend(s, iid, ah.admin(s), "投资方要求暂缓，待其董事会决议")
    assert ah.instance(pid).status == "suspended"
    with ah.db.session() as s:
        assert s.scalars(ready_tasks_query(s.merge(ah.user("anwen")))).all() == []
        assert s.get_one(Task, task.id).status == "suspended"
    with pytest.raises(Exception, match="已被管理员挂起"):
        with ah.db.session() as s:
            runtime.complete_task(s, task.id, s.merge(ah.user("anwen")), INTENT)
    with ah.db.session() as s:
        admin.resume(s, iid, ah.admin(s), "董事会已决议继续")
    assert ah.instance(pid).status == "running"
    with ah.db.session() as s:
        assert [t.id for t in s.scalars(ready_tasks_query(s.merge(ah.user("anwen"))))] == [task.id]
    ah.complete(pid, "anwen", INTENT, "confirm_intent")
    kinds = [e.kind for e in _events(ah, "admin_suspend") + _events(ah, "admin_resume")]
    assert kinds == ["admin_suspend", "admin_resume"]


def test_resuming_an_errored_instance_keeps_it_in_error(ahs: AdminHelper) -> None:
    pid = _errored_project(ahs)
    iid = ahs.instance(pid).id
    with ahs.db.session() as s:
        admin.suspend(s, iid, ahs.admin(s), "排查中")
    with ahs.db.session() as s:
        admin.resume(s, iid, ahs.admin(s), "排查完毕")
    assert ahs.instance(pid).status == "error"


def test_terminate_cancels_tasks_and_closes_the_project(ah: AdminHelper) -> None:
    pid = ah.register()
    ah.complete(pid, "anwen", INTENT)
    iid = ah.instance(pid).id
    with ah.db.session() as s:
        admin.terminate(s, iid, ah.admin(s), "重复登记，与项目12为同一项目")
    assert ah.instance(pid).status == "terminated"
    assert ah.ready(pid) == []
    project = ah.project(pid)
    assert project.status == "closed" and project.stage == "closed"
    assert project.close_reason == "管理员终止：重复登记，与项目12为同一项目"
    with pytest.raises(admin.InvalidState, match="已终止"):
        with ah.db.session() as s:
            admin.suspend(s, iid, ah.admin(s), "再挂起")


def test_reassign_shows_the_task_only_in_the_named_inbox(ah: AdminHelper) -> None:
    pid = ah.register()
    task = ah.only_ready(pid)
    assert "anwen" in ah.actors_for(pid)
    target = ah.user("xinwo")
    with ah.db.session() as s:
        admin.reassign(s, task.id, target.id, ah.admin(s), "安文街道招商办人员外派学习，临时由新渥街道代办")
    assert ah.actors_for(pid) == ["xinwo"]
    with ah.db.session() as s:
        assert s.scalars(ready_tasks_query(s.merge(ah.user("anwen")))).all() == []
        assert [t.id for t in s.scalars(ready_tasks_query(s.merge(target)))] == [task.id]
    ah.complete(pid, "xinwo", INTENT, "confirm_intent")
    logged = _events(ah, "admin_reassign")[-1]
    assert logged.payload["to"] == target.id and "改派给黄磊" in logged.summary


def test_reassign_to_an_inactive_user_is_refused(ahs: AdminHelper) -> None:
    pid = ahs.register()
    task = ahs.only_ready(pid)
    with ahs.db.session() as s:
        s.get_one(User, ahs.user("xinwo").id).active = False
    with pytest.raises(InvalidInput) as caught:
        with ahs.db.session() as s:
            admin.reassign(s, task.id, ahs.user("xinwo").id, ahs.admin(s), "代办")
    assert caught.value.errors["user_id"].startswith("改派对象不存在或账号已停用") and "user_id" not in caught.value.errors["user_id"]
    assert ahs.only_ready(pid).assignee_id is None


def test_move_forward_plan_matches_what_happens(ah: AdminHelper) -> None:
    pid = ah.register()
    iid = ah.instance(pid).id
    with ah.db.session() as s:
        plan = admin.plan_move(s, iid, "fill_approval_form")
    assert plan.cancelled == ["确认投资意向"] and plan.ready == ["填写落地审批表"] and plan.error is None
    assert ah.only_ready(pid).bpmn_id == "confirm_intent"  # the plan stored nothing
    with ah.db.session() as s:
        outcome = admin.move_token(s, iid, "fill_approval_form", ah.admin(s), "线下已完成意向确认和论证，补录进度")
    assert [t.bpmn_id for t in outcome.ready] == ["fill_approval_form"]
    assert ah.project(pid).stage == "assessment"
    with ah.db.session() as s:
        statuses = dict(s.execute(select(Task.bpmn_id, Task.status).where(Task.project_id == pid)).all())
    assert statuses == {"confirm_intent": "cancelled", "fill_approval_form": "ready"}
    state.WORKFLOWS.clear()
    ah.complete(pid, "anwen", approval_form(True, 25), "fill_approval_form")
    assert ah.only_ready(pid).bpmn_id == "assessment_meeting"


def test_move_back_to_an_earlier_activity_keeps_the_data(ah: AdminHelper) -> None:
    pid = ah.register()
    ah.complete(pid, "anwen", INTENT)
    ah.complete(pid, "fx_gongye", FEASIBLE)
    iid = ah.instance(pid).id
    with ah.db.session() as s:
        admin.move_token(s, iid, "feasibility_review", ah.admin(s), "论证结论需分管副县长重新确认")
    assert ah.only_ready(pid).bpmn_id == "feasibility_review"
    assert ah.project(pid).stage == "feasibility"
    ah.complete(pid, "fx_gongye", FEASIBLE, "feasibility_review")
    assert ah.only_ready(pid).bpmn_id == "fill_approval_form"


def test_move_to_a_script_shows_its_error_in_the_plan(ahs: AdminHelper) -> None:
    ahs.deploy(with_division_script())
    pid = ahs.register()
    iid = ahs.instance(pid).id
    with ahs.db.session() as s:
        admin.retry(s, iid, ahs.admin(s), "补正用地面积", {"land_mu": 10})
    with ahs.db.session() as s:
        plan = admin.plan_move(s, iid, "calc_density")
    assert plan.error is None and plan.ready == ["确认投资意向"]
    with pytest.raises(InvalidInput, match="目标环节"):
        with ahs.db.session() as s:
            admin.plan_move(s, iid, "gw_intent")


def test_move_into_and_out_of_a_task_with_a_boundary_timer(ahs: AdminHelper) -> None:
    ahs.deploy(with_boundary_timer())
    pid = ahs.register()
    iid = ahs.instance(pid).id
    assert ahs.instance(pid).next_timer_at is None
    with ahs.db.session() as s:
        admin.move_token(s, iid, "feasibility_review", ahs.admin(s), "直接进入论证")
    assert ahs.only_ready(pid).bpmn_id == "feasibility_review"
    assert ahs.instance(pid).next_timer_at is not None
    with ahs.db.session() as s:
        admin.move_token(s, iid, "confirm_intent", ahs.admin(s), "退回确认意向")
    assert ahs.only_ready(pid).bpmn_id == "confirm_intent"
    assert ahs.instance(pid).next_timer_at is None
    ahs.complete(pid, "anwen", INTENT)
    assert ahs.only_ready(pid).bpmn_id == "feasibility_review"
    assert ahs.instance(pid).next_timer_at is not None


def test_a_repair_on_a_stale_instance_loses_with_a_clear_error(ah: AdminHelper) -> None:
    pid = ah.register()
    iid = ah.instance(pid).id
    with pytest.raises(ConcurrentUpdate, match="刚被他人更新"):
        with ah.db.session() as s:
            instance = s.get(Instance, iid)
            assert instance is not None
            with ah.db.session() as other:
                admin.suspend(other, iid, ah.admin(other), "他人先挂起")
            instance.status = "running"
            admin.terminate(s, iid, ah.admin(s), "终止")
    assert ah.instance(pid).status == "suspended"
    assert ah.project(pid).status == "active"

