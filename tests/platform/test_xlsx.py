"""The workbook writer: sheets with a bold caption and headers, frozen heads, typed cells that read back as written."""
from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook

from engine.platform import xlsx


def test_every_sheet_reads_back_with_its_styles_and_typed_cells() -> None:
    cells: list[list[Any]] = [[1, "甲<公司>&乙", Decimal("12345.67"), True, ""], [2, "控制\x07字符", 0.5, False, None], [3, "=1+1", -1, None, "  留空格  "]]
    content = xlsx.workbook([
        ("台账", "项目台账（单位：万元）", ["序号", "名称", "金额", "是否", "备注"], iter(cells)),
        ("汇总", "汇总", ["合计"], [[Decimal("12345.17")]]),
    ])
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["台账", "汇总"]
    ws = book["台账"]
    assert ws.freeze_panes == "A3" and ws["A1"].font.b and ws["A1"].font.sz == 14 and ws["B2"].font.b
    assert ws["B2"].alignment.horizontal == "center" and ws.column_dimensions["B"].width >= 10
    rows = [list(r) for r in ws.iter_rows(min_row=1, values_only=True)]
    assert rows[0][0] == "项目台账（单位：万元）" and rows[1] == ["序号", "名称", "金额", "是否", "备注"]
    assert rows[2] == [1, "甲<公司>&乙", 12345.67, True, None]
    assert rows[3][:4] == [2, "控制字符", 0.5, False] and rows[4] == [3, "=1+1", -1, None, "  留空格  "]
    assert ws["B5"].data_type == "s" and Decimal(str(book["汇总"]["A3"].value)) == Decimal("12345.17")
    header, lines, problems = xlsx.read_table(content, "名称", ["名称"])
    assert not problems and header[1] == "名称" and lines[0] == (3, {"序号": "1", "名称": "甲<公司>&乙", "金额": "12345.67", "是否": "True", "备注": ""})
