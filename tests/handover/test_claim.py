"""认领: a task shown to a group is claimed by one official; the others see who is on it and cannot complete it meanwhile."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.platform.errors import NotAllowed
from engine.platform.models import Event, Task, User, UserRole, utcnow
from engine.platform.notifications import Notification
from engine.projects import queries
from engine.workflow import handover, runtime
from tests.conftest import INTENT, Helper


def second_official(h: Helper, username: str = "anwen2", name: str = "周敏") -> int:
    """Another 安文街道 official with the landing-unit role, so the town's tasks are shown to a group."""
    with h.db.session() as s:
        first = s.scalars(select(User).where(User.username == "anwen")).one()
        person = User(username=username, display_name=name, title="安文街道招商办", password_hash=first.password_hash,
                      unit_id=first.unit_id)
        person.role_rows = [UserRole(role="landing_unit"), UserRole(role="project_team")]
        s.add(person)
        s.flush()
        return person.id


def group_task(h: Helper) -> Task:
    """A project's intent confirmation, shown to 安文街道's landing-unit officials."""
    task = h.only_ready(h.register())
    assert task.assignee_id is None and task.bpmn_id == "confirm_intent"
    return task


def row_of(h: Helper, username: str, task_id: int) -> queries.InboxRow:
    with h.db.session() as s:
        page = queries.inbox(s, s.merge(h.user(username)), queries.InboxFilter(), utcnow())
        return next(r for r in page.rows if r.task_id == task_id)


def test_a_claimed_task_shows_who_is_on_it_and_only_they_complete_it(h: Helper) -> None:
    second_official(h)
    task = group_task(h)
    with h.db.session() as s:
        handover.claim(s, task.id, s.merge(h.user("anwen")))
    mine, theirs = row_of(h, "anwen", task.id), row_of(h, "anwen2", task.id)  # both still see it
    assert mine.claimed_by_me and (theirs.claimed_by, theirs.claimed_by_me) == ("钱芳", False)
    with h.db.session() as s:
        assert handover.held_by_other(s, s.get_one(Task, task.id), s.merge(h.user("anwen2"))).display_name == "钱芳"
        holders = queries.current_tasks(s, task.project_id)[0].holders
        assert holders == ["钱芳（安文街道招商办，已认领）"]
        with pytest.raises(handover.Refused, match="已由钱芳认领"):
            handover.claim(s, task.id, s.merge(h.user("anwen2")))
    with h.db.session() as s, pytest.raises(NotAllowed, match="已由钱芳认领"):
        runtime.complete_task(s, task.id, s.merge(h.user("anwen2")), INTENT)
    with h.db.session() as s, pytest.raises(NotAllowed):
        handover.release(s, task.id, s.merge(h.user("anwen2")))  # only the claimant or an administrator
    with h.db.session() as s:
        runtime.complete_task(s, task.id, s.merge(h.user("anwen")), INTENT)
    with h.db.session() as s:
        kinds = [e.kind for e in s.scalars(select(Event).where(Event.project_id == task.project_id).order_by(Event.id))]
        assert kinds.index("claim") < kinds.index("complete")


def test_released_the_task_is_the_groups_again(h: Helper) -> None:
    second_official(h)
    task = group_task(h)
    with h.db.session() as s:
        handover.claim(s, task.id, s.merge(h.user("anwen")))
    with h.db.session() as s:
        handover.release(s, task.id, s.merge(h.user("anwen")))
    assert row_of(h, "anwen2", task.id).claimed_by == ""
    with h.db.session() as s:
        with pytest.raises(handover.Refused, match="未被认领"):
            handover.release(s, task.id, s.merge(h.user("anwen")))
        handover.claim(s, task.id, s.merge(h.user("anwen2")))
        runtime.complete_task(s, task.id, s.merge(h.user("anwen2")), INTENT)


def test_an_administrator_releases_a_claim_and_the_claimant_is_told(h: Helper) -> None:
    second_official(h)
    task = group_task(h)
    with h.db.session() as s:
        handover.claim(s, task.id, s.merge(h.user("anwen")))
    with h.db.session() as s:
        handover.release(s, task.id, s.merge(h.user("admin")))
        note = s.scalars(select(Notification).where(Notification.user_id == h.user("anwen").id,
                                                    Notification.kind == "claim_released")).one()
        assert "由系统管理员操作" in note.title


def test_a_claim_lapses_with_its_claimant_and_a_delegate_passes_it(h: Helper) -> None:
    second_official(h)
    third = second_official(h, "anwen3", "吴涛")
    task = group_task(h)
    with h.db.session() as s:
        handover.claim(s, task.id, s.merge(h.user("anwen")))
    with h.db.session() as s:  # a claimed group task is the claimant's own: it can be delegated to one colleague
        handover.delegate_task(s, task.id, third, s.merge(h.user("anwen")))
    with h.db.session() as s:
        assert handover.held_by_other(s, s.get_one(Task, task.id), s.get_one(User, third)) is None
        assert handover.held_by_other(s, s.get_one(Task, task.id), s.merge(h.user("anwen2"))) is not None
        s.merge(h.user("anwen")).active = False  # the claimant leaves: the claim holds no one back
    with h.db.session() as s:
        assert handover.held_by_other(s, s.get_one(Task, task.id), s.merge(h.user("anwen2"))) is None
        runtime.complete_task(s, task.id, s.merge(h.user("anwen2")), INTENT)


def test_only_group_tasks_are_claimed(h: Helper) -> None:
    project_id = h.register()
    h.complete(project_id, "anwen", INTENT, "confirm_intent")
    personal = h.only_ready(project_id)
    with h.db.session() as s, pytest.raises(handover.Refused, match="已指定专人办理"):
        handover.claim(s, personal.id, s.merge(h.user("fx_gongye")))
    task = group_task(h)
    with h.db.session() as s, pytest.raises(NotAllowed):
        handover.claim(s, task.id, s.merge(h.user("xinwo")))  # another town's official
