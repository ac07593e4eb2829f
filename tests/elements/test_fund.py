"""Industrial fund ledger: commitments follow real projects, disbursement limits, warnings, notifications, settings."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.elements import common, fund
from engine.platform.clock import local_today
from engine.elements.models import FundDisbursement
from engine.platform.errors import InvalidInput, NotAllowed
from engine.platform.models import Event
from engine.platform.notifications import Notification
from tests.elements.conftest import ElementsHelper


def ledger(eh: ElementsHelper) -> fund.FundLedger:
    with eh.db.session() as s:
        return fund.ledger(s)


def lines(eh: ElementsHelper) -> list[fund.FundLine]:
    """Every line of the ledger, in ledger order."""
    with eh.db.session() as s:
        return fund.view(s, 1, 1000).lines.rows


def line(eh: ElementsHelper, project_id: int) -> fund.FundLine:
    """One project's ledger line."""
    with eh.db.session() as s:
        found = fund.line(s, fund.ledger(s), project_id)
    assert found is not None
    return found


def pay(eh: ElementsHelper, project_id: Any, amount: Any, by: str = "bangongshi", **extra: Any) -> None:
    with eh.db.session() as s:
        fund.record_disbursement(s, eh.as_user(s, by), {"project_id": project_id, "amount": amount,
                                                        "paid_on": local_today().isoformat(), **extra})


def configure(eh: ElementsHelper, **values: Any) -> None:
    with eh.db.session() as s:
        common.update_settings(s, values, eh.as_user(s, "bangongshi"))
        fund.scan(s)


def count(eh: ElementsHelper, model: Any, *where: Any) -> int:
    with eh.db.session() as s:
        return s.scalars(select(func.count()).select_from(model).where(*where)).one()


def test_commitments_and_remaining_follow_projects_through_their_lifecycle(eh: ElementsHelper) -> None:
    a = eh.register(name="甲精密制造项目", fund_request=8000)
    b = eh.register(name="乙新材料项目", fund_request=9000)
    eh.register(name="丙无基金项目")
    fresh = ledger(eh)
    assert [(item.name, item.state, item.committed) for item in lines(eh)] == [("甲精密制造项目", "pending", 0), ("乙新材料项目", "pending", 0)]
    assert (fresh.fund_size, fresh.committed, fresh.remaining, fresh.pending) == (20000, 0, 20000, 17000)
    assert fresh.warnings == []

    eh.approve(a, fund_request=7000)  # the approval form lowers the request
    eh.approve(b)
    approved = ledger(eh)
    assert {item.name: (item.state, item.requested, item.committed) for item in lines(eh)} == {
        "甲精密制造项目": ("committed", 7000, 7000), "乙新材料项目": ("committed", 9000, 9000)}
    assert (approved.committed, approved.remaining, approved.balance) == (16000, 4000, 20000)

    c = eh.register(name="丁生物医药项目", fund_request=5000)
    waiting = ledger(eh)
    assert line(eh, c).exceeds_remaining and waiting.alert_count == 1
    assert waiting.warnings == ["“丁生物医药项目”申请产业基金5000万元，超过基金可承诺余额4000万元"]
    with eh.db.session() as s:
        assert fund.scan(s) == 1
        assert fund.scan(s) == 0  # each warning reaches the office once
    office = eh.user("bangongshi").id
    assert count(eh, Notification, Notification.user_id == office, Notification.kind == "fund_warning") == 1

    pay(eh, a, 3000, note="首期")
    eh.close(a)
    closed = ledger(eh)
    released = line(eh, a)
    assert (released.state, released.committed, released.disbursed) == ("released", 3000, 3000)  # released down to what was paid
    assert (closed.committed, closed.disbursed, closed.remaining, closed.balance) == (12000, 3000, 8000, 17000)
    assert not line(eh, c).exceeds_remaining and closed.warnings == [] and closed.alert_count == 0


def test_a_disbursement_cannot_exceed_the_commitment_or_the_balance_and_a_refusal_stores_nothing(eh: ElementsHelper) -> None:
    configure(eh, fund_size=6000, fund_project_cap=5000)
    a = eh.register(name="甲项目", fund_request=5000)
    b = eh.register(name="乙项目", fund_request=5000)
    pending = eh.register(name="丙项目", fund_request=1000)
    eh.approve(a)
    eh.approve(b)
    assert ledger(eh).warnings == ["已承诺金额10000万元超过产业基金规模6000万元，超出4000万元",
                                   "“丙项目”申请产业基金1000万元，超过基金可承诺余额0万元"]

    with pytest.raises(InvalidInput) as too_much:
        pay(eh, a, "5000.01")
    assert too_much.value.errors == {"amount": "拨付金额5000.01万元超过该项目承诺未拨付金额5000万元"}
    with pytest.raises(InvalidInput) as not_approved:
        pay(eh, pending, 100)
    assert not_approved.value.errors["project_id"] == "项目“丙项目”待审批，没有可拨付的承诺金额"
    pay(eh, a, 5000)
    with pytest.raises(InvalidInput) as over_balance:
        pay(eh, b, 2000)
    assert over_balance.value.errors == {"amount": "拨付金额2000万元超过产业基金余额1000万元"}
    pay(eh, b, 1000)
    assert count(eh, FundDisbursement) == 2
    assert count(eh, Event, Event.kind == "fund") == 2
    assert ledger(eh).balance == 0


@pytest.mark.parametrize("data, field, message", [
    ({"amount": "abc"}, "amount", "拨付金额必须是大于0且不超过999999999999.99的数字（万元），收到“abc”"),
    ({"amount": "0"}, "amount", "拨付金额必须是大于0且不超过999999999999.99的数字（万元），收到“0”"),
    ({"amount": "-5"}, "amount", "拨付金额必须是大于0且不超过999999999999.99的数字（万元），收到“-5”"),
    ({"amount": "1.005"}, "amount", "拨付金额最多保留2位小数，收到“1.005”"),
    ({"amount": "1E+26"}, "amount", "拨付金额必须是大于0且不超过999999999999.99的数字（万元），收到“1E+26”"),
    ({"amount": "NaN"}, "amount", "拨付金额必须是大于0且不超过999999999999.99的数字（万元），收到“NaN”"),
    ({"paid_on": "2026/5/1"}, "paid_on", "拨付日期必须是“年-月-日”格式的日期（例如 2026-05-01），收到“2026/5/1”"),
    ({"paid_on": "2099-01-01"}, "paid_on", "拨付日期不能晚于今天"),
    ({"paid_on": "2999-01-01"}, "paid_on", "拨付日期必须在1990-01-01到2100-12-31之间，收到“2999-01-01”"),
    ({"paid_on": ""}, "paid_on", "拨付日期为必填项"),
    ({"project_id": "99999"}, "project_id", "项目不在产业基金台账上：99999"),
    ({"note": "长" * 501}, "note", "备注不能超过500个字"),
    ({"note": "备注\x00"}, "note", "备注不能包含控制字符（U+0000）"),
])
def test_bad_disbursement_input_is_named_and_nothing_is_stored(eh: ElementsHelper, data: dict[str, Any], field: str, message: str) -> None:
    a = eh.register(name="甲项目", fund_request=3000)
    eh.approve(a)
    values = {"project_id": a, "amount": 100, "paid_on": local_today().isoformat(), **data}
    with eh.db.session() as s:
        with pytest.raises(InvalidInput) as refused:
            fund.record_disbursement(s, eh.as_user(s, "bangongshi"), values)
    assert refused.value.errors[field] == message
    assert count(eh, FundDisbursement) == 0 and count(eh, Event, Event.kind == "fund") == 0


def test_only_the_office_records_disbursements_and_changes_settings(eh: ElementsHelper) -> None:
    a = eh.register(name="甲项目", fund_request=3000)
    eh.approve(a)
    for username in ("anwen", "ziranziyuan", "xianzhang", "admin"):
        with pytest.raises(NotAllowed):
            pay(eh, a, 100, by=username)
        with eh.db.session() as s, pytest.raises(NotAllowed):
            common.update_settings(s, {"fund_size": 30000}, eh.as_user(s, username))
    assert count(eh, FundDisbursement) == 0


def test_settings_take_effect_and_are_logged(eh: ElementsHelper) -> None:
    eh.register(name="甲项目", fund_request=8000)
    assert ledger(eh).warnings == []
    configure(eh, fund_project_cap=6000)
    capped = ledger(eh)
    assert capped.project_cap == 6000 and lines(eh)[0].over_cap
    assert capped.warnings == ["“甲项目”申请产业基金8000万元，超过单个项目支持上限6000万元"]
    configure(eh, fund_size="5000", fund_project_cap="5000")
    small = ledger(eh)
    assert (small.fund_size, small.remaining) == (5000, 5000)
    assert "“甲项目”申请产业基金8000万元，超过基金可承诺余额5000万元" in small.warnings
    with eh.db.session() as s:
        summaries = list(s.scalars(select(Event.summary).where(Event.kind == "elements").order_by(Event.id)))
        assert summaries == ["修改要素保障设置：单个项目产业基金支持上限6000万元",
                             "修改要素保障设置：产业基金规模5000万元，单个项目产业基金支持上限5000万元"]
        assert common.get_all(s)["fund_size"] == Decimal(5000)
    with pytest.raises(InvalidInput) as over:
        eh.register(name="乙项目", fund_request=5500)
    assert over.value.errors["fund_request"] == "申请产业基金不能超过5000万元（单个项目支持上限，原则上不高于1亿元）"


@pytest.mark.parametrize("values, field, message", [
    ({"fund_size": "两亿"}, "fund_size", "产业基金规模必须是1到10000000之间的数字（万元），收到“两亿”"),
    ({"fund_size": "0"}, "fund_size", "产业基金规模必须是1到10000000之间的数字（万元），收到“0”"),
    ({"fund_size": "Infinity"}, "fund_size", "产业基金规模必须是1到10000000之间的数字（万元），收到“Infinity”"),
    ({"fund_project_cap": "30000"}, "fund_project_cap", "单个项目产业基金支持上限不能超过产业基金规模"),
    ({"industrial_share_target": "101"}, "industrial_share_target", "工业用地供应占全县供地比例下限必须是0到100之间的数字（%），收到“101”"),
    ({"revitalise_target_mu": "-1"}, "revitalise_target_mu", "每年盘活闲置低效用地目标必须是0到100000之间的数字（亩），收到“-1”"),
    ({"colour": "red"}, "colour", "未知的设置项“colour”"),
])
def test_bad_settings_are_named_and_nothing_changes(eh: ElementsHelper, values: dict[str, Any], field: str, message: str) -> None:
    with eh.db.session() as s, pytest.raises(InvalidInput) as refused:
        common.update_settings(s, {"revitalise_target_mu": "400", **values}, eh.as_user(s, "bangongshi"))
    assert refused.value.errors[field] == message
    with eh.db.session() as s:
        assert common.get_all(s) == common.defaults()
    assert count(eh, Event, Event.kind == "elements") == 0


def test_settings_read_once_in_a_unit_of_work_are_read_afresh_after_it_changes_them(eh: ElementsHelper) -> None:
    with eh.db.session() as s:
        office = s.merge(eh.user("bangongshi"))
        before = common.fund_project_cap(s)
        common.update_settings(s, {"fund_project_cap": str(before - 1)}, office)
        assert common.fund_project_cap(s) == before - 1
