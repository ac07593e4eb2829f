"""Corrections to a registered project: who may change what, tasks follow the new unit or deputy, the tier sees the facts."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import audit, project_edits
from engine.errors import InvalidInput, NotAllowed
from engine.models import Event
from tests.conftest import INTENT, Helper, approval_form, drive_to_tier


def edit(h: Helper, pid: int, username: str, reason: str = "", **data) -> list[project_edits.Change]:  # type: ignore[no-untyped-def]
    with h.db.session() as s:
        return project_edits.update(s, pid, data, s.merge(h.user(username)), reason)


def logged(h: Helper, pid: int) -> list[Event]:
    with h.db.session() as s:
        return list(s.scalars(select(Event).where(Event.project_id == pid, Event.kind == "project_edit").order_by(Event.id)))


def test_the_landing_unit_corrects_descriptive_fields_and_nothing_else(h: Helper) -> None:
    pid = h.register(by="anwen", investor="浙江某某公司", contact_phone="0579-1")
    changes = edit(h, pid, "anwen", investor="浙江某某科技有限公司", contact_phone="0579-84660000", total_investment="52000")
    assert [c.field for c in changes] == ["investor", "total_investment", "contact_phone"]
    project = h.project(pid)
    assert (project.investor, project.contact_phone, float(project.total_investment)) == ("浙江某某科技有限公司", "0579-84660000", 52000)
    entry = logged(h, pid)[-1]
    assert entry.actor_id == h.user("anwen").id and "投资方 浙江某某公司→浙江某某科技有限公司" in entry.summary
    assert entry.payload["changes"]["total_investment"] == ["50000.00", "52000"]
    with pytest.raises(NotAllowed) as refused:
        edit(h, pid, "anwen", category="tourism")
    assert "产业类别" in refused.value.message
    with pytest.raises(NotAllowed):
        edit(h, pid, "jinpan", investor="别的单位改的")
    with pytest.raises(InvalidInput) as bad:
        edit(h, pid, "anwen", total_investment="-5", name=" ")
    assert set(bad.value.errors) == {"total_investment", "name"} and "不能为负数" in bad.value.errors["total_investment"]
    assert h.project(pid).investor == "浙江某某科技有限公司" and len(logged(h, pid)) == 1
    assert edit(h, pid, "anwen", investor="浙江某某科技有限公司") == []
    with h.db.session() as s:
        assert audit.verify(s).ok


def test_a_new_deputy_or_landing_unit_takes_over_the_ready_tasks_with_a_reason(h: Helper) -> None:
    pid = h.register(by="anwen")
    assert h.actors_for(pid) == ["anwen"]
    with pytest.raises(InvalidInput) as unexplained:
        edit(h, pid, "bangongshi", landing_unit_id=h.unit("xinwo"))
    assert "修改原因(reason)" in unexplained.value.errors["reason"]
    assert h.actors_for(pid) == ["anwen"]
    edit(h, pid, "bangongshi", "项目选址调整至新渥街道", landing_unit_id=h.unit("xinwo"))
    assert h.actors_for(pid) == ["xinwo"] and h.project(pid).landing_unit_id == h.unit("xinwo")
    h.complete(pid, "xinwo", INTENT, "confirm_intent")
    assert h.actors_for(pid) == ["fx_gongye"]
    edit(h, pid, "bangongshi", "分管领导工作调整", deputy_id=h.user("fx_wenlv").id)
    assert h.actors_for(pid) == ["fx_wenlv"]
    assert "分管县领导 王志刚→李红梅" in logged(h, pid)[-1].summary and "分管领导工作调整" in logged(h, pid)[-1].summary


def test_corrected_facts_reach_the_tier_decision_and_lock_after_it(h: Helper) -> None:
    pid = h.register(by="anwen", category="industrial")
    edit(h, pid, "bangongshi", category="tourism")
    drive_to_tier(h, pid, "anwen", approval_form(True, 25))
    assert h.project(pid).tier == "T2"  # 文旅 25 亩 is T2; 工业 25 亩 would have been T1
    with pytest.raises(InvalidInput) as late:
        edit(h, pid, "bangongshi", category="industrial", investor="改名后的投资方")
    assert "已完成审批层级判定（T2）" in late.value.errors["category"]
    assert h.project(pid).category == "tourism" and h.project(pid).investor == "测试投资方"
