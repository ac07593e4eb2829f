"""委托: one task or a leave period handed to a colleague of the same role and unit; the inbox, completion, audit and taking back."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.platform.clock import local_today
from engine.platform.errors import NotAllowed
from engine.platform.models import Delegation, Event, Task, User, UserRole, utcnow
from engine.platform.org import can_act, count_ready, delegated_to, ready_tasks_page
from engine.projects import queries
from tests.ready import ready_tasks_query
from engine.workflow import handover, runtime
from tests.conftest import FEASIBLE, INTENT, Helper


def deputy_task(h: Helper) -> Task:
    """A project's feasibility review, assigned to its deputy 王志刚 (fx_gongye) personally."""
    project_id = h.register()
    h.complete(project_id, "anwen", INTENT, "confirm_intent")
    task = h.only_ready(project_id)
    assert task.bpmn_id == "feasibility_review" and task.assignee_id == h.user("fx_gongye").id
    return task


def inbox_ids(h: Helper, username: str) -> list[int]:
    """The ready tasks listed for `username`, checked against the badge count."""
    with h.db.session() as s:
        user = s.merge(h.user(username))
        delegated = delegated_to(s, user)
        ids = [t.id for t in s.scalars(ready_tasks_query(user, delegated))]
        ready = s.scalars(select(Task).where(Task.status == "ready"))
        assert set(ids) == {t.id for t in ready if can_act(user, t, delegated)}  # the SQL branches are the rule of can_act
        assert count_ready(s, user) == len(ids)
        assert list(s.execute(ready_tasks_page(user, delegated, [], ("id", "due_at", "created_at"), queries.INBOX_ORDERS["due"], 100, 0)).scalars()) == ids
        return ids


def test_a_delegated_task_is_in_the_delegates_inbox_and_completed_on_behalf_of_the_delegator(h: Helper) -> None:
    task = deputy_task(h)
    assert task.id not in inbox_ids(h, "fx_wenlv")
    with h.db.session() as s:
        handover.delegate_task(s, task.id, h.user("fx_wenlv").id, s.merge(h.user("fx_gongye")), "出差")
    assert task.id in inbox_ids(h, "fx_wenlv") and task.id in inbox_ids(h, "fx_gongye")
    assert task.id not in inbox_ids(h, "fx_nongye")
    with h.db.session() as s:
        me = s.merge(h.user("fx_wenlv"))
        page = queries.inbox(s, me, queries.InboxFilter(), utcnow())
        assert [(r.task_id, r.on_behalf_of) for r in page.rows] == [(task.id, "王志刚")]
        runtime.complete_task(s, task.id, me, FEASIBLE)
    with h.db.session() as s:
        done = s.get_one(Task, task.id)
        assert done.status == "completed" and done.completed_by == h.user("fx_wenlv").id
        event = s.scalars(select(Event).where(Event.kind == "complete", Event.payload["task_id"].as_integer() == task.id)).one()
        assert event.actor_id == h.user("fx_wenlv").id and event.payload["on_behalf_of"] == h.user("fx_gongye").id
        assert event.summary.startswith("李红梅（受王志刚委托）办理“")
        given = s.scalars(select(Event).where(Event.kind == "delegate")).one()
        assert "王志刚将" in given.summary and "委托李红梅办理（出差）" in given.summary


def test_taking_a_delegation_back_returns_the_task_at_once(h: Helper) -> None:
    task = deputy_task(h)
    with h.db.session() as s:
        row = handover.delegate_task(s, task.id, h.user("fx_wenlv").id, s.merge(h.user("fx_gongye")))
    with h.db.session() as s, pytest.raises(NotAllowed):
        handover.revoke(s, row.id, s.merge(h.user("fx_wenlv")))  # only the delegator (or an administrator)
    with h.db.session() as s:
        handover.revoke(s, row.id, s.merge(h.user("fx_gongye")))
    assert task.id not in inbox_ids(h, "fx_wenlv")
    with h.db.session() as s, pytest.raises(NotAllowed):
        runtime.complete_task(s, task.id, s.merge(h.user("fx_wenlv")), FEASIBLE)
    with h.db.session() as s:
        assert "收回委托李红梅办理的“" in s.scalars(select(Event).where(Event.kind == "delegation_revoked")).one().summary
        with pytest.raises(handover.Refused, match="已经收回"):
            handover.revoke(s, row.id, s.merge(h.user("fx_gongye")))


def test_a_leave_period_hands_over_every_own_task_until_it_ends(h: Helper) -> None:
    first, second = deputy_task(h), deputy_task(h)
    today = local_today()
    with h.db.session() as s:
        row = handover.delegate_period(s, h.user("fx_nongye").id, today, today + timedelta(days=6), s.merge(h.user("fx_gongye")), "休假")
        row_id = row.id
    assert {first.id, second.id} <= set(inbox_ids(h, "fx_nongye"))
    with h.db.session() as s:  # a single task delegated too is listed once
        handover.delegate_task(s, first.id, h.user("fx_nongye").id, s.merge(h.user("fx_gongye")))
    assert sorted(inbox_ids(h, "fx_nongye")) == sorted({first.id, second.id})
    with h.db.session() as s:
        assert can_act(s.merge(h.user("fx_nongye")), s.get_one(Task, second.id), delegated_to(s, s.merge(h.user("fx_nongye"))))
        s.get_one(Delegation, row_id).ends_at = utcnow() - timedelta(minutes=1)  # the period is over
    assert inbox_ids(h, "fx_nongye") == [first.id]  # the single delegation holds until taken back
    with h.db.session() as s:
        assert handover.listing(s, s.merge(h.user("fx_gongye"))).given[1].state == "ended"
        with pytest.raises(handover.Refused, match="已到期"):
            handover.revoke(s, row_id, s.merge(h.user("fx_gongye")))


def test_a_delegate_who_leaves_the_unit_or_the_role_no_longer_holds_the_task(h: Helper) -> None:
    task = deputy_task(h)
    with h.db.session() as s:
        handover.delegate_task(s, task.id, h.user("fx_wenlv").id, s.merge(h.user("fx_gongye")))
    with h.db.session() as s:
        s.merge(h.user("fx_wenlv")).unit_id = h.unit("xw")
    assert task.id not in inbox_ids(h, "fx_wenlv")
    with h.db.session() as s:
        person = s.merge(h.user("fx_wenlv"))
        person.unit_id = h.unit("xzf")
        person.role_rows = [UserRole(role="county_head")]
    assert task.id not in inbox_ids(h, "fx_wenlv")


@pytest.mark.parametrize("delegate, message", [
    ("anwen", "只能委托给本单位（县人民政府）的同事：钱芳属于安文街道"),
    ("xianzhang", "只能委托给持有相同角色的同事：郑国强不持有“分管副县长”角色"),
    ("fx_gongye", "不能委托给自己"),
])
def test_delegating_outside_the_role_and_unit_is_refused(h: Helper, delegate: str, message: str) -> None:
    task = deputy_task(h)
    with h.db.session() as s, pytest.raises(handover.Refused, match=message):
        handover.delegate_task(s, task.id, h.user(delegate).id, s.merge(h.user("fx_gongye")))
    with h.db.session() as s:
        assert s.scalars(select(Delegation)).all() == []


def test_only_the_assignee_delegates_a_task_and_group_tasks_need_none(h: Helper) -> None:
    task = deputy_task(h)
    with h.db.session() as s, pytest.raises(NotAllowed):
        handover.delegate_task(s, task.id, h.user("fx_nongye").id, s.merge(h.user("fx_wenlv")))
    project_id = h.register()
    group = h.only_ready(project_id)
    with h.db.session() as s, pytest.raises(handover.Refused, match="请先认领再委托"):
        handover.delegate_task(s, group.id, h.user("anwen").id, s.merge(h.user("anwen")))


def test_period_refusals(h: Helper) -> None:
    today = local_today()
    with h.db.session() as s:
        me = s.merge(h.user("fx_gongye"))
        wenlv = h.user("fx_wenlv").id
        with pytest.raises(handover.Refused, match="结束日期不能早于开始日期"):
            handover.delegate_period(s, wenlv, today + timedelta(days=2), today, me)
        with pytest.raises(handover.Refused, match="结束日期不能早于今天"):
            handover.delegate_period(s, wenlv, today - timedelta(days=5), today - timedelta(days=1), me)
        with pytest.raises(handover.Refused, match="不持有您的角色（分管副县长）"):
            handover.delegate_period(s, h.user("xianzhang").id, today, today, me)
        handover.delegate_period(s, wenlv, today, today + timedelta(days=3), me)
        with pytest.raises(handover.Refused, match="重叠"):
            handover.delegate_period(s, h.user("fx_nongye").id, today + timedelta(days=3), today + timedelta(days=9), me)
        later = handover.delegate_period(s, h.user("fx_nongye").id, today + timedelta(days=4), today + timedelta(days=9), me)
        assert handover.listing(s, me).given[0].state == "upcoming" and later.delegate_id == h.user("fx_nongye").id
        with pytest.raises(handover.Refused, match="受托人不存在或账号已停用"):
            person = s.scalars(select(User).where(User.username == "fx_nongye")).one()
            person.active = False
            handover.delegate_period(s, person.id, today + timedelta(days=20), today + timedelta(days=21), me)
