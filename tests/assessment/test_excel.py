"""Excel import: a preview names every bad row and duplicate; the import is all-or-nothing. Ledger export opens."""
from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, insert, select

from engine.platform import xlsx
from engine.projects import excel
from engine.platform.errors import InvalidInput
from engine.platform.models import Project
from tests.assessment.conftest import SupervisionHelper

HEADERS = ["序号", "项目名称", "投资方", "产业类别", "是否制造业", "总投资(万元)", "落地单位", "分管县领导", "招引方式"]


def workbook(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["招商引资项目线索导入表"])
    ws.append(HEADERS)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def count(sh: SupervisionHelper) -> int:
    with sh.db.session() as s:
        return s.scalars(select(func.count(Project.id))).one()


def test_bad_rows_and_duplicates_are_reported_and_nothing_is_stored(shs: SupervisionHelper) -> None:
    shs.register(by="anwen", name="高山茶文化旅游小镇", investor="上海茗途文旅")
    before = count(shs)
    data = workbook([
        [1, "新材料产业园", "浙江某材料公司", "工业", "是", 80000, "金磐开发区", "王志刚", "以商引商"],
        [2, "康养综合体", "杭州某集团", "康养(含养老)", "否", "三亿", "大盘镇", "王志刚", ""],
        [3, "", "某公司", "火箭", "也许", 100, "不存在镇", "张三", ""],
        [4, "高山茶文化旅游小镇二期", "上海茗途文旅", "文旅", "否", 5000, "安文街道", "李红梅", ""],
        [5, "新材料产业园项目", "浙江某材料公司", "工业", "是", 80000, "金磐开发区", "王志刚", ""],
    ])
    with shs.db.session() as s:
        preview = excel.preview(s, data)
    assert not preview.ok
    by_row = {r.row: r for r in preview.rows}
    assert not by_row[3].errors and not by_row[3].duplicates
    assert "total_investment" in by_row[4].errors and "必须是0到999999999999.99之间的数字" in by_row[4].errors["total_investment"]
    assert {"name", "category", "is_manufacturing", "landing_unit_id", "deputy_id"} <= set(by_row[5].errors)
    assert "不存在镇" in by_row[5].errors["landing_unit_id"]
    assert any("高山茶文化旅游小镇" in d for d in by_row[6].duplicates)
    assert any("第3行" in d for d in by_row[7].duplicates)
    with shs.db.session() as s:
        with pytest.raises(InvalidInput) as refused:
            excel.commit(s, data, s.merge(shs.user("bangongshi")))
    assert set(refused.value.errors) == {"第4行", "第5行", "第6行", "第7行"}
    assert count(shs) == before


def test_a_clean_file_registers_every_row_and_the_ledger_exports(shs: SupervisionHelper) -> None:
    data = workbook([
        [1, "新材料产业园", "浙江某材料公司", "工业", "是", 80000, "金磐开发区", "王志刚", "以商引商"],
        [2, "康养综合体", "杭州某集团", "康养(含养老)", "否", 30000, "大盘镇", "李红梅", "亲情招商"],
    ])
    with shs.db.session() as s:
        assert excel.preview(s, data).ok
        ids = excel.commit(s, data, s.merge(shs.user("bangongshi")))
    assert len(ids) == 2 and shs.only_ready(ids[0]).bpmn_id == "confirm_intent"
    with shs.db.session() as s:
        rows = list(s.scalars(select(Project).order_by(Project.id)))
        assert rows[1].category == "health" and rows[1].source_channel == "kinship"
        content = excel.ledger_xlsx(s)
        expected = list(excel.ledger_rows(s))
    ws = load_workbook(io.BytesIO(content)).active
    assert [c.value for c in ws[2]][:3] == ["序号", "项目名称", "投资方"]
    got = [list(r) for r in ws.iter_rows(min_row=3, values_only=True)]
    assert got == [[None if v == "" else v for v in row] for row in expected]
    assert got[0][1] == "新材料产业园" and got[0][3] == "工业" and got[0][10] == "金磐开发区"


def test_a_file_that_is_not_excel_is_refused_with_a_message(shs: SupervisionHelper) -> None:
    with shs.db.session() as s:
        preview = excel.preview(s, b"name,investor\nx,y\n")
    assert not preview.ok and "不是有效的 Excel" in preview.problems[0]


def test_text_that_starts_with_an_equals_sign_is_exported_as_text_not_a_formula(shs: SupervisionHelper) -> None:
    pid = shs.register(by="anwen", name='=HYPERLINK("http://example.invalid","点击")', investor="=1+1")
    with shs.db.session() as s:
        content = excel.ledger_xlsx(s, s.get_one(Project, pid).landing_unit_id)
    row = next(r for r in load_workbook(io.BytesIO(content)).active.iter_rows(min_row=3) if r[2].value == "=1+1")
    assert [(c.value, c.data_type) for c in row[1:3]] == [('=HYPERLINK("http://example.invalid","点击")', "s"), ("=1+1", "s")]


def test_the_streamed_ledger_export_holds_every_row_with_exact_money_and_chinese_text(shs: SupervisionHelper) -> None:
    count = 3000
    with shs.db.session() as s:
        before = s.scalars(select(func.count()).select_from(Project)).one()
        deputy = shs.user("fx_gongye").id
        s.execute(insert(Project), [
            {"name": f"台账项目{n}号", "investor": "某投资集团", "category": "industrial", "attracting_unit_id": shs.unit("anwen"),
             "landing_unit_id": shs.unit("jinpan"), "deputy_id": deputy, "total_investment": Decimal("12345.67") + n,
             "funds_in_place": Decimal("0.01") * n, "stage": "signing"}
            for n in range(count)
        ])
    with shs.db.session() as s:
        content = excel.ledger_xlsx(s)
    ws = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    lines = list(ws.iter_rows(values_only=True))
    assert list(lines[1]) == excel.LEDGER_HEADERS
    body = lines[2:]
    assert len(body) == before + count and [line[0] for line in body] == list(range(1, before + count + 1))
    last = body[-1]
    assert last[1] == f"台账项目{count - 1}号" and last[3] == "工业" and last[10] == "金磐开发区" and last[12] == "签约"
    assert Decimal(str(last[5])) == Decimal("12345.67") + count - 1 and Decimal(str(last[8])) == Decimal("29.99")



def test_a_file_of_up_to_ten_thousand_rows_is_read_and_one_more_is_refused(shs: SupervisionHelper, monkeypatch: pytest.MonkeyPatch) -> None:
    assert xlsx.MAX_ROWS == 10_000
    monkeypatch.setattr(xlsx, "MAX_ROWS", 30)  # the same rule on a file a test can build quickly
    line = ["", "", "", "", "", "", "", "", ""]  # empty lines count against the limit but register nothing
    with shs.db.session() as s:
        fits = excel.preview(s, workbook([["1", "茶旅小镇", "浙江茶旅公司", "旅游", "否", "5000", "高山镇", "范副县长", ""]] + [line] * 29))
        over = excel.preview(s, workbook([line] * 31))
    assert fits.problems == [] and len(fits.rows) == 1
    assert over.problems == ["一次最多导入30行"]
