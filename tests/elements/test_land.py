"""Land ledger: industrial share against its floor, revitalisation against the yearly target and its monthly plan,
waiting projects with major manufacturing first, named refusals."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from engine.elements import common, land
from engine.elements.models import LandRevitalisation, LandSupply
from engine.platform.errors import InvalidInput, NotAllowed
from engine.platform.models import Event
from tests.elements.conftest import ElementsHelper

MID_JULY = datetime(2026, 7, 15, 2, tzinfo=timezone.utc)


def supply(eh: ElementsHelper, on: str, area: Any, use: str = "industrial", by: str = "ziranziyuan", **extra: Any) -> None:
    with eh.db.session() as s:
        land.record_supply(s, eh.as_user(s, by), {"supplied_on": on, "parcel": f"地块{on}", "area_mu": area, "land_use": use, **extra})


def revitalise(eh: ElementsHelper, on: str, area: Any, by: str = "ziranziyuan") -> None:
    with eh.db.session() as s:
        land.record_revitalisation(s, eh.as_user(s, by), {"done_on": on, "description": f"闲置厂房{on}", "area_mu": area})


def year(eh: ElementsHelper, which: int = 2026, today: date | None = None) -> land.LandYear:
    with eh.db.session() as s:
        return land.year_ledger(s, which, today)


def share_warnings(ledger: land.LandYear) -> list[str]:
    """The industrial-share warnings alone (the revitalisation plan warns on its own)."""
    return [w for w in ledger.warnings if "工业用地供应占比" in w]


def count(eh: ElementsHelper, model: Any, *where: Any) -> int:
    with eh.db.session() as s:
        return s.scalars(select(func.count()).select_from(model).where(*where)).one()


def test_industrial_share_warns_below_the_floor_and_not_at_or_above_it(eh: ElementsHelper) -> None:
    with time_machine.travel(MID_JULY, tick=False):
        assert year(eh).share is None and share_warnings(year(eh)) == []
        supply(eh, "2026-02-10", 50, "industrial")
        supply(eh, "2026-03-10", 50, "other")
        supply(eh, "2025-12-31", 500, "other")  # last year's supply does not count
        at_floor = year(eh)
        assert (at_floor.total_mu, at_floor.industrial_mu, at_floor.share, at_floor.share_low) == (100, 50, 50, False)
        assert share_warnings(at_floor) == []
        supply(eh, "2026-04-01", 1, "other")
        below = year(eh)
        assert below.share_low and below.share == Decimal("49.50")
        assert share_warnings(below) == ["2026年工业用地供应占比49.5%（50亩/101亩），低于50%的要求"]
        with eh.db.session() as s:
            common.update_settings(s, {"industrial_share_target": "45"}, eh.as_user(s, "bangongshi"))
        assert share_warnings(year(eh)) == []
        assert share_warnings(year(eh, 2025)) == ["2025年工业用地供应占比0%（0亩/500亩），低于45%的要求"]


def test_revitalisation_progress_and_the_backwards_monthly_plan(eh: ElementsHelper) -> None:
    with time_machine.travel(MID_JULY, tick=False):
        revitalise(eh, "2026-03-05", 100)
        revitalise(eh, "2026-06-20", "20.5")
        now = year(eh)
        assert (now.revitalised_mu, now.revitalise_target, now.progress) == (Decimal("120.5"), 300, Decimal("40.17"))
        assert [m.plan for m in now.plan] == [25.0 * m for m in range(1, 13)]
        assert [m.actual for m in now.plan[:7]] == [0, 0, 100, 100, 100, 120.5, 120.5]
        assert all(m.actual is None for m in now.plan[7:])
        assert now.due_month == 6 and now.warnings == ["截至6月底盘活低效用地120.5亩，按计划应完成150亩，落后29.5亩"]
        revitalise(eh, "2026-06-30", 30)
        assert year(eh).warnings == []  # 150.5 by the end of June's plan of 150
        after = year(eh, today=date(2027, 1, 10))
        assert after.warnings == ["2026年盘活低效用地150.5亩，未完成300亩的年度目标"]
        with eh.db.session() as s:
            common.update_settings(s, {"revitalise_target_mu": "150"}, eh.as_user(s, "bangongshi"))
        assert year(eh, today=date(2027, 1, 10)).progress == Decimal("100.33")
        assert year(eh, today=date(2027, 1, 10)).warnings == []


def test_waiting_projects_put_major_manufacturing_first_and_leave_once_supplied(eh: ElementsHelper) -> None:
    with time_machine.travel(MID_JULY, tick=False):
        small = eh.register(name="小型加工项目", total_investment=5000, needs_land=True, land_mu=20)
        eh.register(name="无需供地项目", total_investment=90000, is_manufacturing=True)
        big3 = eh.register(name="重大工业项目", total_investment=35000, needs_land=True, land_mu=60)
        big7 = eh.register(name="重大制造业项目", total_investment=80000, is_manufacturing=True, needs_land=True, land_mu=120)
        tourism = eh.register(name="文旅综合体", category="tourism", total_investment=50000, needs_land=True, land_mu=40)
        assert [w.name for w in year(eh).waiting] == ["重大制造业项目", "重大工业项目", "小型加工项目", "文旅综合体"]
        assert [w.priority_label for w in year(eh).waiting] == ["7亿元以上制造业", "3亿元以上工业", "其他", "其他"]
        supply(eh, "2026-07-01", 20, project_id=small)
        supply(eh, "2026-07-02", 50, project_id=big7)
        waiting = year(eh).waiting
        assert [(w.project_id, w.supplied, w.outstanding) for w in waiting] == [(big7, 50, 70), (big3, 0, 60), (tourism, 0, 40)]
        with eh.db.session() as s:
            assert land.supplies(s, 2026, 1, 50).rows[1][1][4] == "重大制造业项目"


@pytest.mark.parametrize("data, field, message", [
    ({"area_mu": "0"}, "area_mu", "面积必须是大于0且不超过100000的数字（亩），收到“0”"),
    ({"area_mu": "-3"}, "area_mu", "面积必须是大于0且不超过100000的数字（亩），收到“-3”"),
    ({"area_mu": "十亩"}, "area_mu", "面积必须是大于0且不超过100000的数字（亩），收到“十亩”"),
    ({"area_mu": ""}, "area_mu", "面积为必填项"),
    ({"area_mu": "200000"}, "area_mu", "面积必须是大于0且不超过100000的数字（亩），收到“200000”"),
    ({"area_mu": "1e30"}, "area_mu", "面积必须是大于0且不超过100000的数字（亩），收到“1e30”"),
    ({"area_mu": "１０"}, "area_mu", "面积必须是大于0且不超过100000的数字（亩），收到“１０”"),
    ({"project_id": "²"}, "project_id", "关联项目不存在：²"),
    ({"project_id": "9" * 400}, "project_id", "关联项目不存在：" + "9" * 20 + "…"),
    ({"land_use": "residential"}, "land_use", "用途须为“工业用地”或“其他用地”，收到“residential”"),
    ({"parcel": "  "}, "parcel", "地块/说明不能为空"),
    ({"parcel": "东区\x00"}, "parcel", "地块/说明不能包含控制字符（U+0000）"),
    ({"supplied_on": "2026-08-01"}, "supplied_on", "供地日期不能晚于今天"),
    ({"supplied_on": "0001-01-01"}, "supplied_on", "供地日期必须在1990-01-01到2100-12-31之间，收到“0001-01-01”"),
    ({"project_id": "424242"}, "project_id", "关联项目不存在：424242"),
])
def test_bad_supply_input_is_named_and_nothing_is_stored(eh: ElementsHelper, data: dict[str, Any], field: str, message: str) -> None:
    values = {"supplied_on": "2026-07-01", "parcel": "城东工业地块", "area_mu": "10", "land_use": "industrial", **data}
    with time_machine.travel(MID_JULY, tick=False):
        with eh.db.session() as s, pytest.raises(InvalidInput) as refused:
            land.record_supply(s, eh.as_user(s, "ziranziyuan"), values)
    assert refused.value.errors[field] == message
    assert count(eh, LandSupply) == 0 and count(eh, Event, Event.kind == "land") == 0


def test_a_closed_project_gets_no_land_and_bad_revitalisation_is_refused(eh: ElementsHelper) -> None:
    pid = eh.register(name="中止项目", needs_land=True, land_mu=10)
    eh.close(pid)
    with time_machine.travel(MID_JULY, tick=False):
        with pytest.raises(InvalidInput) as closed:
            supply(eh, "2026-07-01", 10, project_id=pid)
        assert closed.value.errors == {"project_id": "关联项目“中止项目”已中止，不能供地"}
        with eh.db.session() as s, pytest.raises(InvalidInput) as bad:
            land.record_revitalisation(s, eh.as_user(s, "ziranziyuan"), {"done_on": "7/1", "description": "", "area_mu": "0"})
        assert bad.value.errors == {"done_on": "盘活日期必须是“年-月-日”格式的日期（例如 2026-05-01），收到“7/1”",
                                    "description": "说明不能为空", "area_mu": "面积必须是大于0且不超过100000的数字（亩），收到“0”"}
    assert count(eh, LandSupply) == 0 and count(eh, LandRevitalisation) == 0


def test_only_the_land_department_records_land_and_every_record_is_logged(eh: ElementsHelper) -> None:
    with time_machine.travel(MID_JULY, tick=False):
        for username in ("bangongshi", "anwen", "xianzhang", "admin"):
            with pytest.raises(NotAllowed):
                supply(eh, "2026-07-01", 10, by=username)
            with pytest.raises(NotAllowed):
                revitalise(eh, "2026-07-01", 10, by=username)
        supply(eh, "2026-07-01", "12.5", "other")
        revitalise(eh, "2026-07-02", 8)
    with eh.db.session() as s:
        events = list(s.scalars(select(Event).where(Event.kind == "land").order_by(Event.id)))
        assert [e.summary for e in events] == ["登记供地：地块2026-07-01 12.5亩（其他用地，2026-07-01）",
                                               "登记盘活低效用地：闲置厂房2026-07-02 8亩（2026-07-02）"]
        assert {e.actor_id for e in events} == {eh.user("ziranziyuan").id}
