"""Excel in and out: the preview names every bad row's column and every duplicate; import is all-or-nothing; export re-imports."""
from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import insert

from engine.enterprises import catalog
from engine.enterprises.models import EnterpriseEntry
from engine.platform.errors import InvalidInput
from tests.enterprises.conftest import EnterpriseHelper

HEADERS = ["序号", "企业名称", "产业标签", "来源单位", "名单类别", "所在地区", "联系人", "计划投资(万元)", "跟进状态"]


def workbook(rows: list[list[Any]], headers: list[str] = HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["招引企业名单"])
    ws.append(headers)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_preview_names_each_bad_column_and_duplicates_and_nothing_is_stored(eh: EnterpriseHelper) -> None:
    eh.add(by="bangongshi", name="已在库中有限公司", source_unit_id=eh.unit("zycy"))
    data = workbook([
        [1, "甲装备有限公司", "装备制造", "县经商局", "目标招引企业", "杭州市", "王总", 30000, "待跟进"],
        [2, "乙材料有限公司", "火箭", "不存在局", "重点企业", "", "", "三亿", "已转线索"],
        [3, "", "新材料", "县经商局", "目标招引企业", "", "", "", ""],
        [4, "已在库中有限公司", "中医药(康养)", "中药产业促进中心", "目标招引企业", "", "", "", ""],
        [5, "甲装备有限公司", "装备制造", "县经商局", "目标招引企业", "", "", "", ""],
    ])
    before = eh.stored()
    with eh.db.session() as s:
        preview = catalog.preview_import(s, data, s.merge(eh.user("bangongshi")))
    assert not preview.ok
    rows = {r.row: r for r in preview.rows}
    assert not rows[3].errors and not rows[3].duplicates
    assert rows[4].errors == {
        "tag_id": "产业标签“火箭”不存在或已停用",
        "source_unit_id": "来源单位“不存在局”不存在",
        "list_kind": "名单类别无效：“重点企业”，可选：目标招引企业、意向招引企业、央企合作、军民融合、人才信息",
        "planned_investment": "计划投资(万元)必须是0到999999999999.99之间的数字，收到“三亿”",
        "status": "跟进状态“已转线索”只能通过“转为项目线索”设置",
    }
    assert rows[5].errors == {"name": "企业名称不能为空"}
    assert rows[6].duplicates == ["企业名称“已在库中有限公司”已在企业库中（来源：中药产业促进中心）"]
    assert rows[7].duplicates == ["企业名称“甲装备有限公司”与本表第3行重复"]
    with pytest.raises(InvalidInput) as refused, eh.db.session() as s:
        catalog.commit_import(s, data, s.merge(eh.user("bangongshi")))
    assert set(refused.value.errors) == {"第4行", "第5行", "第6行", "第7行"}
    assert eh.stored() == before


def test_a_unit_imports_only_its_own_list(eh: EnterpriseHelper) -> None:
    data = workbook([
        [1, "本单位企业", "装备制造", "", "目标招引企业", "", "", "", ""],
        [2, "别单位企业", "装备制造", "金磐开发区", "目标招引企业", "", "", "", ""],
    ])
    before = eh.stored()
    with eh.db.session() as s:
        preview = catalog.preview_import(s, data, s.merge(eh.user("jingshang")))
    rows = {r.row: r for r in preview.rows}
    assert not rows[3].errors and rows[3].values["source_unit_id"] == eh.unit("jsj")
    assert rows[4].errors == {"source_unit_id": "来源单位“金磐开发区”不是本单位，只能导入本单位（县经商局）的名单"}
    with pytest.raises(InvalidInput), eh.db.session() as s:
        catalog.commit_import(s, data, s.merge(eh.user("jingshang")))
    assert eh.stored() == before


@pytest.mark.parametrize(("content", "problem"), [
    (b"not a workbook", "文件不是有效的 Excel(.xlsx) 文件"),
    (workbook([[1, "x"]], ["序号", "名称"]), "找不到表头行（须包含“企业名称”列）"),
    (workbook([[1, "x"]], ["序号", "企业名称"]), "缺少必填列：产业标签、名单类别"),
    (workbook([]), "表中没有数据行"),
])
def test_unreadable_files_are_refused_with_the_reason(eh: EnterpriseHelper, content: bytes, problem: str) -> None:
    with eh.db.session() as s:
        preview = catalog.preview_import(s, content, s.merge(eh.user("jingshang")))
    assert preview.problems == [problem] and not preview.ok


def test_a_clean_file_is_stored_whole_and_its_export_reimports_as_duplicates(eh: EnterpriseHelper) -> None:
    data = workbook([
        [1, "甲装备有限公司", "装备制造", "", "目标招引企业", "杭州市", "王总", 30000, "跟进中"],
        [2, "乙材料有限公司", "新材料", "", "意向招引企业", "宁波市", "", "", ""],
    ])
    with eh.db.session() as s:
        ids = catalog.commit_import(s, data, s.merge(eh.user("jingshang")))
    assert len(ids) == 2
    first = eh.entry(ids[0])
    assert (first.name, first.status, first.planned_investment, first.source_unit_id) == ("甲装备有限公司", "following", 30000, eh.unit("jsj"))
    with eh.db.session() as s:
        assert "导入招引企业“甲装备有限公司”" in catalog.history(s, ids[0])[0].summary
        exported = catalog.export_xlsx(s, catalog.EntryFilter())
    sheet = load_workbook(io.BytesIO(exported)).active
    assert [c.value for c in sheet[2]] == catalog.EXPORT_COLUMNS
    assert [c.value for c in sheet[3]][:10] == [1, "乙材料有限公司", "新材料", "县经商局", "意向招引企业", "宁波市", None, None, None, "待跟进"]
    with eh.db.session() as s:
        again = catalog.preview_import(s, exported, s.merge(eh.user("jingshang")))
    assert not again.ok and all(r.duplicates and not r.errors for r in again.rows)


def test_the_streamed_export_holds_every_matching_row_newest_first_with_exact_money_and_chinese_text(eh: EnterpriseHelper) -> None:
    count = 3000
    converted = eh.add(by="jingshang", name="已转线索装备有限公司")
    with eh.db.session() as s:
        catalog.convert_to_lead(s, converted, eh.lead_data(name="精密装备生产基地"), s.merge(eh.user("jingshang")))
    author, unit, tag = eh.user("jingshang").id, eh.unit("jsj"), eh.tag("新材料")
    with eh.db.session() as s:
        s.execute(insert(EnterpriseEntry), [
            {"name": f"批量企业{n}号", "name_key": f"批量企业{n}号", "tag_id": tag, "source_unit_id": unit, "list_kind": "talent",
             "region": "金华市", "contact_name": "李主任", "contact_phone": f"0579-{n:07d}",
             "planned_investment": Decimal("12345.67") + n if n % 2 else None, "notes": "人才团队（备注）", "status": "following",
             "created_by": author, "updated_by": author}
            for n in range(count)
        ])
    with eh.db.session() as s:
        content = catalog.export_xlsx(s, catalog.EntryFilter())
        only_talent = catalog.export_xlsx(s, catalog.EntryFilter(list_kind="talent", search="批量企业299"))
    lines = list(load_workbook(io.BytesIO(content), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert lines[0][0] == "招引企业数据库" and list(lines[1]) == catalog.EXPORT_COLUMNS
    body = lines[2:]
    assert len(body) == count + 1 and [line[0] for line in body] == list(range(1, count + 2))
    newest, oldest = body[0], body[-1]
    assert list(newest[1:11]) == [f"批量企业{count - 1}号", "新材料", "县经商局", "人才信息", "金华市", "李主任", f"0579-{count - 1:07d}",
                                  newest[8], "跟进中", "人才团队（备注）"]
    assert Decimal(str(newest[8])) == Decimal("12345.67") + count - 1 and newest[11] is None
    assert body[1][8] is None and Decimal(str(body[2][8])) == Decimal("12345.67") + count - 3
    assert (oldest[1], oldest[2], oldest[4], oldest[9], oldest[11]) == ("已转线索装备有限公司", "装备制造", "目标招引企业", "已转线索", "精密装备生产基地")
    assert Decimal(str(oldest[8])) == Decimal("50000")
    filtered = list(load_workbook(io.BytesIO(only_talent), read_only=True).worksheets[0].iter_rows(min_row=3, values_only=True))
    assert [(line[0], line[1]) for line in filtered] == list(enumerate((f"批量企业{n}号" for n in (*range(2999, 2989, -1), 299)), start=1))
