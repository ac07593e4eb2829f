"""Orphaned tasks are caught the moment they happen: deactivation, role removal, creation, and cleared on repair."""
from __future__ import annotations

from sqlalchemy import select

from engine.workflow import admin, orphans
from engine.platform.models import Event, Task, User, UserRole
from engine.platform.notifications import Notification
from tests.admin.conftest import AdminHelper
from tests.conftest import INTENT


def _task(h: AdminHelper, task_id: int) -> Task:
    with h.db.session() as s:
        return s.get_one(Task, task_id)


def _kinds(h: AdminHelper, task_id: int) -> list[str]:
    with h.db.session() as s:
        rows = s.scalars(select(Event).where(Event.kind.in_(("orphaned", "orphan_resolved"))).order_by(Event.id))
        return [e.kind for e in rows if e.payload["task_id"] == task_id]


def test_deactivating_the_only_holder_flags_the_task_and_tells_the_office(ah: AdminHelper) -> None:
    pid = ah.register(by="anwen")
    task = ah.only_ready(pid)
    assert task.orphaned_at is None
    with ah.db.session() as s:
        admin.set_user_active(s, ah.user("anwen").id, False, ah.admin(s), "钱芳调离安文街道")
    flagged = _task(ah, task.id)
    assert flagged.orphaned_at is not None
    assert _kinds(ah, task.id) == ["orphaned"]
    with ah.db.session() as s:
        assert orphans.reason(s, flagged) == "安文街道没有在岗且持有“落地单位”角色的人员"
        note = s.scalars(select(Notification).where(Notification.kind == "orphaned_task")).one()
        assert note.user_id == ah.user("bangongshi").id
        assert note.link == f"/admin/instances/{task.instance_id}" and "确认投资意向" in note.title
    with ah.db.session() as s:
        admin.set_user_active(s, ah.user("anwen").id, True, ah.admin(s), "钱芳返岗")
    assert _task(ah, task.id).orphaned_at is None
    assert _kinds(ah, task.id) == ["orphaned", "orphan_resolved"]


def test_any_code_path_that_removes_a_role_is_caught(ah: AdminHelper) -> None:
    pid = ah.register(by="anwen")
    task = ah.only_ready(pid)
    with ah.db.session() as s:
        user = s.scalars(select(User).where(User.username == "anwen")).one()
        user.role_rows = [r for r in user.role_rows if r.role != "landing_unit"]
    assert _task(ah, task.id).orphaned_at is not None
    with ah.db.session() as s:
        s.add(UserRole(user_id=ah.user("anwen").id, role="landing_unit"))
    assert _task(ah, task.id).orphaned_at is None


def test_a_task_created_for_a_departed_deputy_is_orphaned_when_created(ah: AdminHelper) -> None:
    pid = ah.register(by="anwen")
    with ah.db.session() as s:
        s.get_one(User, ah.user("fx_gongye").id).active = False
    ah.complete(pid, "anwen", INTENT, "confirm_intent")
    task = ah.only_ready(pid)
    assert task.bpmn_id == "feasibility_review" and task.orphaned_at is not None
    with ah.db.session() as s:
        assert "王志刚" in orphans.reason(s, task) and "已停用" in orphans.reason(s, task)
    with ah.db.session() as s:
        admin.reassign(s, task.id, ah.user("fx_nongye").id, ah.admin(s), "王志刚离任，由赵永强代为论证")
    assert _task(ah, task.id).orphaned_at is None
    assert ah.actors_for(pid) == ["fx_nongye"]


def test_other_units_are_not_flagged(ahs: AdminHelper) -> None:
    pid_anwen = ahs.register(by="anwen")
    pid_xinwo = ahs.register(by="xinwo", name="新渥项目")
    with ahs.db.session() as s:
        admin.set_user_active(s, ahs.user("anwen").id, False, ahs.admin(s), "调离")
    assert ahs.only_ready(pid_anwen).orphaned_at is not None
    assert ahs.only_ready(pid_xinwo).orphaned_at is None


def test_recheck_all_finds_tasks_orphaned_before_the_watch_existed(ahs: AdminHelper) -> None:
    pid = ahs.register(by="anwen")
    task = ahs.only_ready(pid)
    with ahs.db.engine.begin() as conn:
        conn.execute(User.__table__.update().where(User.id == ahs.user("anwen").id).values(active=False))
    assert _task(ahs, task.id).orphaned_at is None
    with ahs.db.session() as s:
        assert orphans.recheck_all(s) == 1
    assert _task(ahs, task.id).orphaned_at is not None
