"""Reject, return and closing paths of the lifecycle, and the ledger stage that follows them."""
from __future__ import annotations

from sqlalchemy import select

from engine.platform.models import Event, Task
from tests.conftest import APPROVE, FEASIBLE, INTENT, JOINT, NEGOTIATED, PASS, Helper, approval_form, drive_to_tier


def test_no_intent_closes_the_project_with_the_reason(h: Helper) -> None:
    pid = h.register()
    outcome = h.complete(pid, "anwen", {"has_intent": False, "reason": "投资方资金链紧张"}, "confirm_intent")
    project = h.project(pid)
    assert outcome.status == "completed"
    assert project.status == "closed" and project.stage == "closed"
    assert "无投资意向" in project.close_reason and "投资方资金链紧张" in project.close_reason
    assert h.ready(pid) == []


def test_failed_feasibility_closes_and_renegotiation_returns_to_intent(h: Helper) -> None:
    pid = h.register()
    h.complete(pid, "anwen", INTENT, "confirm_intent")
    h.complete(pid, "fx_gongye", {"decision": "renegotiate", "opinion": "补充论证"}, "feasibility_review")
    assert h.only_ready(pid).bpmn_id == "confirm_intent"
    h.complete(pid, "anwen", INTENT)
    h.complete(pid, "fx_gongye", {"decision": "fail", "opinion": "不符合产业导向"}, "feasibility_review")
    project = h.project(pid)
    assert project.status == "closed" and "论证未通过" in project.close_reason and "不符合产业导向" in project.close_reason


def test_meetings_can_ask_for_more_information_or_reject(h: Helper) -> None:
    pid = h.register()
    h.complete(pid, "anwen", INTENT)
    h.complete(pid, "fx_gongye", FEASIBLE)
    h.complete(pid, "anwen", approval_form(True, 10))
    h.complete(pid, "yanpan", {"decision": "more_info", "opinion": "补充用地材料"}, "assessment_meeting")
    assert h.only_ready(pid).bpmn_id == "fill_approval_form"
    h.complete(pid, "anwen", approval_form(True, 12))
    h.complete(pid, "yanpan", PASS, "assessment_meeting")
    h.complete(pid, "lingdao", {"decision": "more_info", "opinion": "补充"}, "leading_group_review")
    assert h.only_ready(pid).bpmn_id == "fill_approval_form"
    h.complete(pid, "anwen", approval_form(True, 12))
    h.complete(pid, "yanpan", PASS)
    h.complete(pid, "lingdao", {"decision": "reject", "opinion": "不符合规划"}, "leading_group_review")
    assert h.project(pid).status == "closed"
    assert float(h.project(pid).land_mu) == 12


def test_assessment_rejection_closes(h: Helper) -> None:
    pid = h.register()
    h.complete(pid, "anwen", INTENT)
    h.complete(pid, "fx_gongye", FEASIBLE)
    h.complete(pid, "anwen", approval_form(False))
    h.complete(pid, "yanpan", {"decision": "reject", "opinion": "亩均效益不达标"}, "assessment_meeting")
    assert "研判" in h.project(pid).close_reason


def test_every_tier_step_rejection_returns_to_negotiation_which_can_abandon(h: Helper) -> None:
    pid = h.register()
    drive_to_tier(h, pid, "anwen", approval_form(True, 60))
    for step, official in [("t3_deputy_review", "fx_gongye"), ("t3_head_meeting", "xzbgh"),
                           ("t3_standing_committee", "changwei"), ("t3_head_approval", "xianzhang")]:
        for earlier, who in [("t3_deputy_review", "fx_gongye"), ("t3_head_meeting", "xzbgh"),
                             ("t3_standing_committee", "changwei"), ("t3_head_approval", "xianzhang")]:
            if earlier == step:
                break
            h.complete(pid, who, APPROVE, earlier)
        h.complete(pid, official, {"decision": "reject", "opinion": "退回重新洽谈"}, step)
        assert h.only_ready(pid).bpmn_id == "negotiation"
        assert h.project(pid).stage == "negotiation"
        h.complete(pid, "anwen", NEGOTIATED)
        h.complete(pid, "anwen", JOINT)
    h.complete(pid, "fx_gongye", {"decision": "reject", "opinion": "退回"}, "t3_deputy_review")
    h.complete(pid, "anwen", {"decision": "abandon", "opinion": "投资方退出", "reason": "投资方退出"}, "negotiation")
    project = h.project(pid)
    assert project.status == "closed" and "洽谈终止" in project.close_reason


def test_joint_inspection_can_send_back_to_negotiation(h: Helper) -> None:
    pid = h.register()
    h.complete(pid, "anwen", INTENT)
    h.complete(pid, "fx_gongye", FEASIBLE)
    h.complete(pid, "anwen", approval_form(False))
    h.complete(pid, "yanpan", PASS)
    h.complete(pid, "lingdao", PASS)
    h.complete(pid, "anwen", NEGOTIATED, "negotiation")
    h.complete(pid, "anwen", {"decision": "renegotiate", "opinion": "要素保障未落实"}, "joint_inspection")
    assert h.only_ready(pid).bpmn_id == "negotiation"


def test_every_step_is_logged_with_who_and_what(h: Helper) -> None:
    pid = h.register()
    h.complete(pid, "anwen", INTENT)
    with h.db.session() as s:
        events = s.scalars(select(Event).where(Event.project_id == pid).order_by(Event.id)).all()
        done = s.scalars(select(Task).where(Task.project_id == pid, Task.status == "completed")).one()
    assert [e.kind for e in events] == ["start", "complete"]
    assert events[1].actor_id == h.user("anwen").id and events[1].payload["data"] == INTENT
    assert done.completed_by == h.user("anwen").id and done.data == INTENT
