"""Corrections to a registered project: who may change what, tasks follow the new unit or deputy, the tier sees the facts."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from engine.platform import audit
from engine.elements import common
from engine.projects import corrections
from engine.platform.errors import InvalidInput, NotAllowed
from engine.platform.models import Event, Project
from tests.conftest import INTENT, Helper, approval_form, drive_to_tier


def edit(h: Helper, pid: int, username: str, reason: str = "", **data: Any) -> list[corrections.Change]:
    with h.db.session() as s:
        return corrections.update(s, pid, data, s.merge(h.user(username)), reason)


def logged(h: Helper, pid: int) -> list[Event]:
    with h.db.session() as s:
        return list(s.scalars(select(Event).where(Event.project_id == pid, Event.kind == "project_edit").order_by(Event.id)))


def test_the_landing_unit_corrects_descriptive_fields_and_nothing_else(h: Helper) -> None:
    pid = h.register(by="anwen", investor="浙江某某公司", contact_phone="0579-84661111")
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
    assert set(bad.value.errors) == {"total_investment", "name"} and "总投资必须是0到999999999999.99之间的数字（万元），收到“-5”" == bad.value.errors["total_investment"]
    assert h.project(pid).investor == "浙江某某科技有限公司" and len(logged(h, pid)) == 1
    assert edit(h, pid, "anwen", investor="浙江某某科技有限公司") == []
    with h.db.session() as s:
        assert audit.verify(s).ok


def test_a_new_deputy_or_landing_unit_takes_over_the_ready_tasks_with_a_reason(h: Helper) -> None:
    pid = h.register(by="anwen")
    assert h.actors_for(pid) == ["anwen"]
    with pytest.raises(InvalidInput) as unexplained:
        edit(h, pid, "bangongshi", landing_unit_id=h.unit("xinwo"))
    assert "修改原因" in unexplained.value.errors["reason"]
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


def test_a_town_project_on_the_zone_platform_is_approved_by_the_zone_and_the_platform_locks(h: Helper) -> None:
    """最优落地平台: a project landing in a town on the 金磐开发区 platform takes the zone's delegated approval."""
    pid = h.register(by="anwen", landing_platform_id=h.unit("jinpan"))
    drive_to_tier(h, pid, "anwen", approval_form(True, 40))
    assert h.project(pid).tier == "Z1" and h.actors_for(pid) == ["jinpan"]
    with pytest.raises(InvalidInput) as late:
        edit(h, pid, "bangongshi", "改回街道", landing_platform_id=h.unit("anwen"))
    assert "已完成审批层级判定（Z1）" in late.value.errors["landing_platform_id"]


def test_a_signed_projects_assessed_fields_belong_to_the_office_with_a_reason(h: Helper) -> None:
    pid = h.register(by="anwen", total_investment=50000)
    with h.db.session() as s:
        s.get_one(Project, pid).signed_date = date(2026, 10, 1)
    assert "total_investment" not in corrections.may_edit(h.user("anwen"), h.project(pid))
    with pytest.raises(NotAllowed) as refused:
        edit(h, pid, "anwen", total_investment="90000", is_manufacturing="1")
    assert "总投资" in refused.value.message and float(h.project(pid).total_investment) == 50000
    edit(h, pid, "anwen", contact_phone="0579-84660001")
    with pytest.raises(InvalidInput) as unexplained:
        edit(h, pid, "bangongshi", total_investment="90000")
    assert "考核口径" in unexplained.value.errors["reason"]
    edit(h, pid, "bangongshi", "合同金额核实后更正", total_investment="90000")
    assert float(h.project(pid).total_investment) == 90000


def test_a_stored_value_the_unit_cannot_change_does_not_block_its_corrections(h: Helper) -> None:
    pid = h.register(by="anwen", fund_request=8000)
    with h.db.session() as s:
        common.update_settings(s, {"fund_project_cap": 5000}, s.merge(h.user("bangongshi")))
    edit(h, pid, "anwen", contact_phone="0579-84660002")
    assert h.project(pid).contact_phone == "0579-84660002"
    with pytest.raises(InvalidInput) as capped:
        edit(h, pid, "bangongshi", fund_request="6000")
    assert "不能超过5000万元" in capped.value.errors["fund_request"]
