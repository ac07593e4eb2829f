"""A year of county activity under time travel: monthly notices, quarterly scores with reasons, 一票评优 and 一票否优."""
from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import Any

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import select

from engine.supervision import assessment, coordination, notices, progress
from engine.supervision import excel
from engine.platform.errors import InvalidInput, NotAllowed
from engine.supervision.models import CoordinationItem, UnitTarget
from tests.assessment.conftest import SupervisionHelper
from tests.conftest import APPROVE, approval_form, drive_to_tier

YEAR = 2026


def at(month: int, day: int) -> datetime:
    """10:00 county time on a day of the test year."""
    return datetime(YEAR, month, day, 2, 0, tzinfo=timezone.utc)


def points(sh: SupervisionHelper) -> dict[str, float]:
    """The deployed table's points per rule id (expectations follow whatever the table says)."""
    with sh.db.session() as s:
        return {r["id"]: float(r["points"]) for r in assessment.rule_table(s)[1]}


class County:
    """Drives projects through the real lifecycle on given days."""

    def __init__(self, sh: SupervisionHelper, clock: time_machine.Traveller | None) -> None:
        self.sh, self.clock = sh, clock

    def day(self, month: int, day: int) -> None:
        self.clock.move_to(at(month, day))

    def lead(self, by: str, **fields: Any) -> int:
        return self.sh.register(by=by, **fields)

    def approve(self, pid: int, by: str) -> None:
        drive_to_tier(self.sh, pid, by, approval_form(False))
        if self.sh.only_ready(pid).bpmn_id == "z1_zone_approval":
            self.sh.complete(pid, "jinpan", APPROVE, "z1_zone_approval")
            return
        self.sh.complete(pid, "xianzhang", APPROVE, "t1_head_consent")
        self.sh.complete(pid, "fx_gongye", APPROVE, "t1_deputy_approval")

    def sign(self, pid: int, by: str, on: str) -> None:
        self.sh.complete(pid, by, {"signed_date": on, "contract_amount": 50000, "opinion": "已签约"}, "sign_contract")

    def land(self, pid: int, by: str) -> None:
        self.sh.complete(pid, by, {"company_registered": True, "opinion": "已注册公司"}, "project_landing")

    def start(self, pid: int, by: str, on: str, funds: float) -> None:
        self.sh.complete(pid, by, {"start_date": on, "funds_in_place": funds, "opinion": "已开工"}, "construction_start")


def test_a_year_of_activity_scores_notices_and_votes(sh: SupervisionHelper) -> None:
    p = points(sh)
    units = {code: sh.unit(code) for code in ("jinpan", "xincheng", "anwen", "gyyq", "dapan")}
    with time_machine.travel(at(1, 5), tick=False) as clock:
        county = County(sh, clock)
        with sh.db.session() as s:
            office = s.merge(sh.user("bangongshi"))
            assessment.set_target(s, office, YEAR, units["jinpan"], {"mfg_7yi": 1, "ind_3yi": 1, "foreign_capital": 12000})
            assessment.set_target(s, office, YEAR, units["gyyq"], {"mfg_7yi": 2, "ind_3yi": 1})
        a = county.lead("jinpan", name="高端装备制造项目", investor="甲装备集团", is_manufacturing=True, total_investment=80000,
                        attracting_unit_id=units["xincheng"], foreign_capital=6000)
        b = county.lead("jinpan", name="新能源电池项目", investor="乙能源公司", is_manufacturing=True, total_investment=75000,
                        attracting_unit_id=units["anwen"])
        c = county.lead("gyyq", name="中药饮片产业园", investor="丙药业", total_investment=35000)
        county.lead("dapan", name="山地民宿项目", investor="丁旅游", category="tourism", total_investment=3000)
        county.approve(a, "jinpan")
        county.approve(b, "jinpan")
        county.approve(c, "gyyq")
        with sh.db.session() as s:
            assert notices.generate_due(s) is not None  # December of last year: scheduler's first run
        county.day(2, 1)
        with sh.db.session() as s:
            january = notices.generate_due(s)
            assert (january.year, january.month) == (YEAR, 1)
            assert notices.generate_due(s) is None
            jan = {r["unit_name"]: r for r in january.rows}
        assert jan["金磐开发区"]["planned"] == 2 and jan["新城开发建设中心"]["planned"] == 1 and jan["大盘镇"]["planned"] == 1
        assert jan["金磐开发区"]["followed"] == 2 and jan["金磐开发区"]["signed"] == 0
        county.day(3, 1)
        with sh.db.session() as s:
            assert progress.scan(s, at(3, 1)) >= 1  # the lead at 大盘镇 has had no progress update since January
        county.day(3, 15)
        county.sign(a, "jinpan", "2026-03-15")
        county.day(4, 8)
        county.sign(c, "gyyq", "2026-04-08")
        county.day(5, 20)
        county.land(a, "jinpan")
        with sh.db.session() as s:
            case = coordination.submit(s, c, s.merge(sh.user("gyyq")), {"title": "电力增容", "problem": "需110kV增容", "material": "供电方案"})
        sh.act(sh.task(case.instance_id, "review_submission"), "bangongshi", {"decision": "forward", "opinion": "报审"})
        sh.act(sh.task(case.instance_id, "leader_approval"), "xianzhang", {"decision": "approve", "opinion": "同意"})
        with sh.db.session() as s:
            coordination.issue_list(s, sh.task(case.instance_id, "issue_list").id, s.merge(sh.user("dukao")),
                                    [{"title": "完成园区土地平整", "responsible_unit_id": units["gyyq"], "deadline": "2026-06-30"}])
        county.day(7, 2)
        with sh.db.session() as s:
            assert [i.title for i in coordination.sweep_overdue(s)] == ["完成园区土地平整"]
            item_id = case.id and s.scalars(select(CoordinationItem.id)).one()
            coordination.record_criticism(s, s.merge(sh.user("bangongshi")), units["gyyq"], "交办事项逾期未完成，影响重大项目推进", item_id)
        county.day(7, 10)
        county.sign(b, "jinpan", "2026-07-10")
        county.day(8, 1)
        county.start(a, "jinpan", "2026-08-01", 30000)
        county.day(9, 3)
        county.land(c, "gyyq")
        county.day(10, 12)
        county.land(b, "jinpan")
        county.day(11, 1)
        with sh.db.session() as s:
            october = notices.generate_due(s)
            oct_rows = {r["unit_name"]: r for r in october.rows}
        assert oct_rows["金磐开发区"]["landed"] == 1 and oct_rows["安文街道"]["landed"] == 1
        assert oct_rows["金磐开发区"]["project_ids"]["landed"] == [b]
        assert oct_rows["金磐开发区"]["funds_in_place"] == 30000
        assert oct_rows["大盘镇"]["followed"] == 1 and oct_rows["金磐开发区"]["followed"] == 0

    with sh.db.session() as s:
        q1, q2, q3, q4 = (assessment.quarterly_ranking(s, YEAR, q, "all") for q in (1, 2, 3, 4))
        year = assessment.annual_assessment(s, YEAR, "all")

    def by(ranking: list[assessment.UnitScore]) -> dict[str, assessment.UnitScore]:
        return {x.unit_name: x for x in ranking}

    # Q1: A signed (7亿+ manufacturing): landing 金磐 and attracting 新城 get the same credit.
    # 金磐's two leads had no progress update for 55 days by the March scan: one deduction each, landing unit only.
    assert by(q1)["金磐开发区"].count("late_update") == 2 and by(q1)["新城开发建设中心"].count("late_update") == 0
    assert by(q1)["金磐开发区"].total == p["score_rule_1"] + 2 * p["score_rule_9"]
    assert by(q1)["新城开发建设中心"].total == p["score_rule_1"]
    line = by(q1)["新城开发建设中心"].lines[0]
    assert (line.project_name, line.rule, line.points, line.shared) == ("高端装备制造项目", "签约7亿元以上制造业项目", p["score_rule_1"], True)
    assert q1[0].unit_name == "新城开发建设中心" and q1[0].rank == 1 and by(q1)["安文街道"].total == 0
    dapan = by(q1)["大盘镇"]
    assert dapan.total == p["score_rule_9"] and dapan.lines[0].project_name == "山地民宿项目"
    assert "未更新" in dapan.lines[0].rule and dapan.count("late_update") == 1
    # Q2: A landed (+ landing rule) and C signed (3亿+ industrial).
    assert by(q2)["金磐开发区"].total == p["score_rule_2"]
    assert by(q2)["磐安工业园区"].total == p["score_rule_4"]
    # Q3: A started, B signed; C landed; 工业园区 overdue item and criticism deducted with reasons.
    assert by(q3)["金磐开发区"].total == p["score_rule_3"] + p["score_rule_1"]
    gyyq = by(q3)["磐安工业园区"]
    assert gyyq.total == p["score_rule_5"] + p["score_rule_10"] + p["score_rule_11"]
    reasons = [x.rule for x in gyyq.lines]
    assert any("完成园区土地平整" in r for r in reasons) and any("通报批评" in r for r in reasons)
    # Q4: B landed: 金磐 (landing) and 安文 (attracting) equal.
    assert by(q4)["金磐开发区"].total == by(q4)["安文街道"].total == p["score_rule_2"]
    # Year: totals are the sum of the quarters, ranking is ordered, votes applied.
    for unit in ("金磐开发区", "新城开发建设中心", "安文街道", "磐安工业园区"):
        assert by(year)[unit].total == sum(by(q)[unit].total for q in (q1, q2, q3, q4))
    assert [x.total for x in year] == sorted((x.total for x in year), reverse=True)
    assert by(year)["金磐开发区"].rating == "一票评优" and "目标1个，完成2个" in by(year)["金磐开发区"].rating_reason
    assert by(year)["安文街道"].rating == "一票评优" and "无招引任务" in by(year)["安文街道"].rating_reason
    assert by(year)["磐安工业园区"].rating == "一票否优" and "取消当年优秀单位评选资格" in by(year)["磐安工业园区"].rating_reason
    assert by(year)["大盘镇"].rating == ""
    with sh.db.session() as s:
        target, plan = assessment.plan_against_actuals(s, YEAR, units["jinpan"])
    assert [row.plan["mfg_7yi"] for row in plan] == [0] * 11 + [1]
    assert [row.plan["foreign_capital"] for row in plan][2] == 3000
    assert [row.actual["mfg_7yi"] for row in plan][3:6] == [0, 1, 1] and plan[-1].actual["mfg_7yi"] == 2
    assert plan[2].actual["foreign_capital"] == 6000

    # The ranking export opens in openpyxl and carries the page's rows and every explained line.
    data = excel.ranking_xlsx(year, f"{YEAR}年度招商引资考核排名")
    wb = load_workbook(io.BytesIO(data))
    sheet = [list(r) for r in wb["排名"].iter_rows(min_row=3, values_only=True)]
    assert sheet == [[None if v == "" else v for v in row] for row in excel.ranking_cells(year)]
    assert wb["排名"]["A2"].value == "名次" and wb["排名"]["I2"].value == "评优评定"
    detail = list(wb["得分明细"].iter_rows(min_row=2, values_only=True))
    assert len(detail) == sum(len(x.lines) for x in year)


def test_office_changes_points_and_scores_follow_with_a_new_table_version(sh: SupervisionHelper) -> None:
    with time_machine.travel(at(3, 1), tick=False):
        pid = sh.register(by="jinpan", name="测试制造项目", is_manufacturing=True, total_investment=90000)
        County(sh, None).approve(pid, "jinpan")
        County(sh, None).sign(pid, "jinpan", "2026-03-01")
    with sh.db.session() as s:
        before = {x.unit_name: x.total for x in assessment.quarterly_ranking(s, YEAR, 1)}["金磐开发区"]
        with pytest.raises(NotAllowed):
            assessment.update_points(s, s.merge(sh.user("jinpan")), {"score_rule_1": 99})
        with pytest.raises(InvalidInput) as bad:
            assessment.update_points(s, s.merge(sh.user("bangongshi")), {"score_rule_1": "十分"})
        assert "签约7亿元以上制造业项目" in bad.value.errors["score_rule_1"]
    with sh.db.session() as s:
        version, created = assessment.update_points(s, s.merge(sh.user("bangongshi")), {"score_rule_1": 12.5})
        assert created and version == 2
    with sh.db.session() as s:
        after = {x.unit_name: x.total for x in assessment.quarterly_ranking(s, YEAR, 1)}["金磐开发区"]
    assert before == points(sh)["score_rule_1"] - 2.5 and after == 12.5


def test_targets_refuse_bad_numbers_and_units(sh: SupervisionHelper) -> None:
    with sh.db.session() as s:
        with pytest.raises(InvalidInput) as bad:
            assessment.set_target(s, s.merge(sh.user("bangongshi")), YEAR, sh.unit("jinpan"), {"mfg_7yi": "1.5", "foreign_capital": -3})
        assert set(bad.value.errors) == {"mfg_7yi", "foreign_capital"}
        with pytest.raises(NotAllowed):
            assessment.set_target(s, s.merge(sh.user("jinpan")), YEAR, sh.unit("jinpan"), {"mfg_7yi": 1})
    with sh.db.session() as s:
        assert s.scalars(select(UnitTarget)).first() is None
