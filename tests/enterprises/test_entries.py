"""Entries and tags in the engine: who may write what, every bad field named with nothing stored, history, filters."""
from __future__ import annotations

from typing import Any

import pytest

from engine.platform import audit
from engine.enterprises import catalog
from engine.enterprises.models import IndustryTag
from engine.platform.errors import InvalidInput, NotAllowed
from tests.enterprises.conftest import EnterpriseHelper


def test_units_write_their_own_entries_and_the_office_writes_any(eh: EnterpriseHelper) -> None:
    own = eh.add(by="jingshang")
    assert eh.entry(own).source_unit_id == eh.unit("jsj")
    for_zycy = eh.add(by="bangongshi", name="中药测试企业", source_unit_id=eh.unit("zycy"))
    assert eh.entry(for_zycy).source_unit_id == eh.unit("zycy")
    before = eh.stored()
    with eh.db.session() as s:
        with pytest.raises(NotAllowed, match="只能维护本单位（县经商局）"):
            catalog.create(s, eh.entry_data(name="别家企业", source_unit_id=eh.unit("jinpan")), s.merge(eh.user("jingshang")))
    with eh.db.session() as s:
        with pytest.raises(NotAllowed):
            catalog.create(s, eh.entry_data(name="县长录入"), s.merge(eh.user("xianzhang")))
    with eh.db.session() as s:
        with pytest.raises(NotAllowed):
            catalog.edit(s, own, eh.entry_data(status="following"), s.merge(eh.user("jinpan")))
    assert eh.stored() == before
    with eh.db.session() as s:
        assert not catalog.may_maintain(s.merge(eh.user("jinpan")), eh.unit("jsj"))
        assert catalog.may_maintain(s.merge(eh.user("bangongshi")), eh.unit("jsj"))


def test_edits_are_kept_as_history_in_the_hash_chained_log(eh: EnterpriseHelper) -> None:
    entry_id = eh.add(by="jingshang")
    with eh.db.session() as s:
        catalog.edit(s, entry_id, eh.entry_data(status="following", planned_investment="60000"), s.merge(eh.user("jingshang")))
    with eh.db.session() as s:  # an unchanged save writes no history line
        catalog.edit(s, entry_id, eh.entry_data(status="following", planned_investment="60000.00"), s.merge(eh.user("bangongshi")))
    with eh.db.session() as s:
        lines = catalog.history(s, entry_id)
        assert [line.actor for line in lines] == ["罗军", "罗军"]
        assert "录入招引企业“浙江测试装备有限公司”" in lines[0].summary
        assert "跟进状态：待跟进 → 跟进中" in lines[1].summary and "计划投资(万元)：50000.00 → 60000" in lines[1].summary
        assert audit.verify(s).ok
    entry = eh.entry(entry_id)
    assert entry.status == "following" and entry.updated_by == eh.user("jingshang").id


BAD_INPUT = [
    ({"name": "  "}, "name", "企业名称不能为空"),
    ({"name": "企" * 201}, "name", "企业名称不能超过200个字"),
    ({"tag_id": ""}, "tag_id", "产业标签为必填项"),
    ({"tag_id": "999"}, "tag_id", "产业标签不存在：999"),
    ({"list_kind": "vip"}, "list_kind", "名单类别无效：“vip”"),
    ({"planned_investment": "五亿"}, "planned_investment", "计划投资(万元)必须是0到999999999999.99之间的数字，收到“五亿”"),
    ({"planned_investment": "-1"}, "planned_investment", "计划投资(万元)必须是0到999999999999.99之间的数字，收到“-1”"),
    ({"planned_investment": "NaN"}, "planned_investment", "计划投资(万元)必须是0到999999999999.99之间的数字，收到“NaN”"),
    ({"planned_investment": "12.345678"}, "planned_investment", "最多保留2位小数"),
    ({"planned_investment": "999999999999.999"}, "planned_investment", "计划投资(万元)必须是0到999999999999.99之间的数字"),
    ({"status": "converted"}, "status", "跟进状态“已转线索”只能通过“转为项目线索”设置"),
    ({"status": "done"}, "status", "跟进状态无效：“done”"),
    ({"contact_phone": "1" * 41}, "contact_phone", "联系电话不能超过40个字"),
    ({"region": "地" * 101}, "region", "所在地区不能超过100个字"),
    ({"notes": "备" * 2001}, "notes", "备注不能超过2000个字"),
    ({"name": "浙江测试装备（集团）有限公司"}, "name", "企业名称“浙江测试装备(集团)有限公司”已在企业库中（来源：县经商局"),
]


@pytest.mark.parametrize(("fields", "field", "message"), BAD_INPUT)
def test_bad_input_names_its_field_and_stores_nothing(eh: EnterpriseHelper, fields: dict[str, Any], field: str, message: str) -> None:
    eh.add(by="jingshang", name="浙江测试装备(集团)有限公司")
    before = eh.stored()
    with eh.db.session() as s:
        with pytest.raises(InvalidInput) as refused:
            catalog.create(s, eh.entry_data(**fields), s.merge(eh.user("jingshang")))
    assert message in refused.value.errors[field]
    assert eh.stored() == before


def test_office_must_name_a_known_source_unit(eh: EnterpriseHelper) -> None:
    before = eh.stored()
    for raw, message in (("", "来源单位为必填项"), ("9999", "来源单位不存在：9999"), ("９", "来源单位不存在：９"),
                         (str(eh.unit("xzf")), "来源单位不存在")):
        with eh.db.session() as s:
            with pytest.raises(InvalidInput) as refused:
                catalog.create(s, eh.entry_data(source_unit_id=raw), s.merge(eh.user("bangongshi")))
        assert message in refused.value.errors["source_unit_id"]
    assert eh.stored() == before


def test_tags_are_edited_by_the_office_and_a_tag_in_use_is_only_deactivated(eh: EnterpriseHelper) -> None:
    with eh.db.session() as s:
        defaults = [(t.group_name, t.name) for t in catalog.tags(s)]
    assert defaults[0] == ("1 主导产业", "中医药(康养)") and ("3 重点产业", "新材料") in defaults
    office = eh.user("bangongshi")
    with eh.db.session() as s:
        with pytest.raises(NotAllowed):
            catalog.add_tag(s, s.merge(eh.user("jingshang")), {"name": "数字经济", "group_name": "3 重点产业"})
    with eh.db.session() as s:
        with pytest.raises(InvalidInput) as refused:
            catalog.add_tag(s, s.merge(office), {"name": "新材料", "group_name": "3 重点产业", "sort_order": "x"})
    assert refused.value.errors["name"] == "产业标签名称“新材料”已存在"
    assert "排序必须是-2147483648到2147483647之间的整数" in refused.value.errors["sort_order"]
    with eh.db.session() as s:
        with pytest.raises(InvalidInput) as refused:
            catalog.add_tag(s, s.merge(office), {"name": "数字经济", "group_name": "3 重点产业", "category": "digital"})
    assert refused.value.errors == {"category": "对应项目产业类别无效：“digital”，可选：工业、文旅、康养(含养老)、服务业、农业、商业、其他"}
    with eh.db.session() as s:
        unused = catalog.add_tag(s, s.merge(office), {"name": "数字经济", "group_name": "3 重点产业", "sort_order": "45",
                                                      "category": "services"}).id
        assert s.get_one(IndustryTag, unused).category == "services"
    entry_id = eh.add(by="jingshang")
    tag_id = eh.tag("装备制造")
    with eh.db.session() as s:
        catalog.update_tag(s, s.merge(office), tag_id, {"name": "高端装备制造", "group_name": "3 重点产业", "sort_order": "20", "active": "0"})
    with eh.db.session() as s:
        assert catalog.get(s, entry_id).tag.name == "高端装备制造"
    with eh.db.session() as s:
        with pytest.raises(InvalidInput) as refused:
            catalog.delete_tag(s, s.merge(office), tag_id)
    assert refused.value.errors["tag_id"] == "产业标签“高端装备制造”已被1家企业使用，不能删除，只能停用"
    with eh.db.session() as s:
        with pytest.raises(InvalidInput) as refused:
            catalog.create(s, eh.entry_data(name="新企业", tag_id=tag_id), s.merge(eh.user("jingshang")))
    assert "产业标签“高端装备制造”已停用" in refused.value.errors["tag_id"]
    with eh.db.session() as s:  # the entry that has the deactivated tag keeps it when edited
        catalog.edit(s, entry_id, eh.entry_data(tag_id=tag_id, notes="继续跟进"), s.merge(eh.user("jingshang")))
        catalog.delete_tag(s, s.merge(office), unused)
    with eh.db.session() as s:
        names = [t.name for t in catalog.tags(s, active_only=True)]
        assert "高端装备制造" not in names and "数字经济" not in names
        assert s.get(IndustryTag, tag_id) is not None and not s.get(IndustryTag, tag_id).active


def test_list_filters_and_pages(eh: EnterpriseHelper) -> None:
    eh.add(by="jingshang", name="甲装备公司")
    eh.add(by="jingshang", name="乙材料公司", tag_id=eh.tag("新材料"), status="following")
    eh.add(by="rencaiban", name="丙人才团队", tag_id=eh.tag("新材料"), list_kind="talent")
    with eh.db.session() as s:
        def names(**flt: Any) -> list[str]:
            return [e.name for e in catalog.listing(s, catalog.EntryFilter(**flt), 1, 20).rows]

        assert names() == ["丙人才团队", "乙材料公司", "甲装备公司"]
        assert names(tag_id=eh.tag("新材料")) == ["丙人才团队", "乙材料公司"]
        assert names(source_unit_id=eh.unit("zzb")) == ["丙人才团队"]
        assert names(list_kind="talent") == ["丙人才团队"]
        assert names(status="following") == ["乙材料公司"]
        assert names(search="装备") == ["甲装备公司"]
        assert names(search="%") == []
        second = catalog.listing(s, catalog.EntryFilter(), 2, 2)
        assert second.total == 3 and second.pages == 2 and [e.name for e in second.rows] == ["甲装备公司"]
        assert catalog.listing(s, catalog.EntryFilter(), 9, 2).page == 2
