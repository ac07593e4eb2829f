"""Turning an entry into a project lead: the lifecycle starts in the landing unit's inbox, entry and project are linked, once only."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.enterprises import catalog
from engine.projects import queries
from engine.platform.errors import AlreadyCompleted, InvalidInput, NotAllowed
from engine.platform.models import Project
from tests.ready import ready_tasks_query
from tests.enterprises.conftest import EnterpriseHelper


def test_a_department_turns_its_entry_into_a_lead_that_lands_in_a_zone_inbox(eh: EnterpriseHelper) -> None:
    entry_id = eh.add(by="jingshang")
    with eh.db.session() as s:
        outcome = catalog.convert_to_lead(s, entry_id, eh.lead_data(is_major="1"), s.merge(eh.user("jingshang")))
    project = eh.project(outcome.project_id)
    assert project.attracting_unit_id == eh.unit("jsj") and project.landing_unit_id == eh.unit("jinpan")
    assert project.name == "精密装备生产基地" and not project.is_major  # only the office marks a lead major
    entry = eh.entry(entry_id)
    assert entry.status == "converted" and entry.project_id == outcome.project_id
    with eh.db.session() as s:
        inbox = list(s.scalars(ready_tasks_query(s.merge(eh.user("jinpan")))))
        assert [(t.project_id, t.bpmn_id) for t in inbox] == [(outcome.project_id, "confirm_intent")]
        assert catalog.entry_for_project(s, outcome.project_id).id == entry_id
        timeline = [e.summary for e in queries.timeline(s, outcome.project_id)]
        assert any("由招引企业库“浙江测试装备有限公司”（县经商局提供）转为项目线索“精密装备生产基地”" in line for line in timeline)
        assert "转为项目线索" in catalog.history(s, entry_id)[-1].summary
    before = eh.stored()
    with eh.db.session() as s:
        with pytest.raises(AlreadyCompleted, match="已转为项目线索“精密装备生产基地”"):
            catalog.convert_to_lead(s, entry_id, eh.lead_data(name="第二次"), s.merge(eh.user("bangongshi")))
    assert eh.stored() == before


def test_the_office_marks_a_major_lead_and_picks_its_landing_unit_and_platform(eh: EnterpriseHelper) -> None:
    entry_id = eh.add(by="rencaiban", name="新材料博士团队", tag_id=eh.tag("新材料"), list_kind="talent")
    data = eh.lead_data(is_major="1", landing_unit_id=eh.unit("anwen"), landing_platform_id=eh.unit("gyyq"), total_investment="300000")
    with eh.db.session() as s:
        outcome = catalog.convert_to_lead(s, entry_id, data, s.merge(eh.user("bangongshi")))
    project = eh.project(outcome.project_id)
    assert project.is_major and project.attracting_unit_id == eh.unit("zzb")
    assert project.landing_unit_id == eh.unit("anwen") and project.landing_platform_id == eh.unit("gyyq")


def test_refusals_and_bad_registrations_store_nothing(eh: EnterpriseHelper) -> None:
    entry_id = eh.add(by="jingshang")
    before = eh.stored()
    with eh.db.session() as s:
        with pytest.raises(NotAllowed, match="只有来源单位（县经商局）的招商人员或领导小组办公室"):
            catalog.convert_to_lead(s, entry_id, eh.lead_data(), s.merge(eh.user("jinpan")))
    with pytest.raises(InvalidInput) as refused, eh.db.session() as s:
        catalog.convert_to_lead(s, entry_id, eh.lead_data(deputy_id="", total_investment="-5", category="火箭"),
                                    s.merge(eh.user("jingshang")))
    assert set(refused.value.errors) == {"deputy_id", "total_investment", "category"}
    assert "总投资必须是0到999999999999.99之间的数字（万元）" in refused.value.errors["total_investment"]
    assert eh.stored() == before
    entry = eh.entry(entry_id)
    assert entry.status == "pending" and entry.project_id is None
    with eh.db.session() as s:
        assert s.scalars(select(Project)).first() is None


def test_the_lead_form_is_prefilled_from_the_entry(eh: EnterpriseHelper) -> None:
    zone_entry = eh.add(by="jinpan", name="苏州精密机械有限公司", planned_investment="40000", contact_name="顾总")
    dept_entry = eh.add(by="jingshang", name="杭州芯片有限公司", planned_investment="")
    with eh.db.session() as s:
        zone = catalog.lead_defaults(catalog.get(s, zone_entry))
        dept = catalog.lead_defaults(catalog.get(s, dept_entry))
        tag_category = catalog.get(s, zone_entry).tag.category
    assert tag_category and zone["category"] == tag_category  # the seeded tags name their projects' category
    assert zone["investor"] == "苏州精密机械有限公司" and zone["total_investment"] == "40000.00" and zone["contact_name"] == "顾总"
    assert zone["landing_unit_id"] == str(eh.unit("jinpan")) and dept["landing_unit_id"] == "" and dept["total_investment"] == ""
