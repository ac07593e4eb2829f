"""Orphan detection with delegations: a delegate in force keeps a departed assignee's task actionable; a delegate who
departs, or a delegation taken back, leaves it orphaned."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.platform.clock import local_today
from engine.platform.models import Task, User
from engine.workflow import admin, handover, orphans
from tests.conftest import Helper
from tests.handover.test_delegation import deputy_task


def orphaned(h: Helper, task_id: int) -> bool:
    with h.db.session() as s:
        return s.get_one(Task, task_id).orphaned_at is not None


def deactivate(h: Helper, username: str, active: bool = False) -> None:
    with h.db.session() as s:
        root = s.scalars(select(User).where(User.username == "admin")).one()
        admin.set_user_active(s, h.user(username).id, active, root, "调整")


def test_a_delegate_in_force_keeps_the_task_of_a_departed_assignee(h: Helper) -> None:
    task = deputy_task(h)
    with h.db.session() as s:
        row = handover.delegate_task(s, task.id, h.user("fx_wenlv").id, s.merge(h.user("fx_gongye")))
        row_id = row.id
    deactivate(h, "fx_gongye")
    assert not orphaned(h, task.id)
    deactivate(h, "fx_wenlv")  # the delegate departs too: nobody may act
    assert orphaned(h, task.id)
    deactivate(h, "fx_wenlv", True)
    assert not orphaned(h, task.id)
    with h.db.session() as s:  # taken back (by an administrator, the delegator being gone)
        handover.revoke(s, row_id, s.scalars(select(User).where(User.username == "admin")).one())
    assert orphaned(h, task.id)


def test_a_leave_delegation_given_rescues_an_orphaned_task(h: Helper) -> None:
    task = deputy_task(h)
    deactivate(h, "fx_gongye")
    assert orphaned(h, task.id)
    with h.db.session() as s:  # a delegation written for him (the engine call the page makes)
        handover.delegate_period(s, h.user("fx_nongye").id, local_today(), local_today() + timedelta(days=3),
                                 s.merge(h.user("fx_gongye")))
    assert not orphaned(h, task.id)
    with h.db.session() as s:
        assert orphans.recheck_all(s) == 0
