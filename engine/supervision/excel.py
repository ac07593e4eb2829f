"""The monthly notice and the quarterly or annual ranking as .xlsx, the same columns as their pages."""
from __future__ import annotations

import io
from typing import Any, Optional

from openpyxl import load_workbook
from openpyxl.styles import Font

from engine.platform import xlsx
from engine.supervision.assessment import UnitScore
from engine.supervision.models import MonthlyNotice
from engine.supervision.notices import COLUMNS as NOTICE_COLUMNS


def notice_xlsx(notice: MonthlyNotice) -> bytes:
    """A monthly notice as .xlsx, the same columns as the page."""
    rows = [[r[key] for key, _ in NOTICE_COLUMNS] for r in notice.rows]
    return xlsx.sheet(f"{notice.year}年{notice.month}月通报", [h for _, h in NOTICE_COLUMNS], rows,
                      f"{notice.year}年{notice.month}月招商引资工作通报")


RANKING_HEADERS = ["名次", "单位", "总得分", "签约(个)", "落地(个)", "开工(个)", "进展未及时更新(次)", "交办逾期(项)", "评优评定", "评定理由"]


def ranking_cells(ranking: list[UnitScore]) -> list[list[Any]]:
    """The ranking's cells, the same as the page's table."""
    return [[s.rank, s.unit_name, s.total, s.count("signed"), s.count("landed"), s.count("started"), s.count("late_update"),
             s.count("item_overdue"), s.rating, s.rating_reason] for s in ranking]


def ranking_xlsx(ranking: list[UnitScore], caption: str, detail_for: Optional[set[int]] = None) -> bytes:
    """A quarterly or annual ranking as .xlsx with a second sheet of every scored line (of `detail_for` units when given)."""
    data = xlsx.sheet("排名", RANKING_HEADERS, ranking_cells(ranking), caption)
    wb = load_workbook(io.BytesIO(data))
    ws = wb.create_sheet("得分明细")
    ws.append(["单位", "日期", "项目", "事件", "规则", "分值", "招引/落地同等计分", "说明"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for s in ranking:
        if detail_for is not None and s.unit_id not in detail_for:
            continue
        for line in s.lines:
            ws.append([s.unit_name, line.on.isoformat(), line.project_name, line.event_label, line.rule, line.points, "是" if line.shared else "",
                       line.explanation])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
