"""冲销: a wrong ledger entry is voided with a reason by the department that records it; it stops counting and stays on record."""
from __future__ import annotations

import pytest
import time_machine
from sqlalchemy import select

from engine.platform import audit
from engine.elements import fund, land
from engine.elements.models import FundDisbursement, LandRevitalisation, LandSupply
from engine.platform.errors import AlreadyCompleted, InvalidInput, NotAllowed, NotFound
from engine.platform.models import Event
from tests.elements.conftest import ElementsHelper, Web
from tests.elements.test_fund import ledger, line, pay
from tests.elements.test_land import MID_JULY, revitalise, supply, year
from tests.webui.conftest import csrf_token


def void_payment(eh: ElementsHelper, row_id: int, reason: str, by: str = "bangongshi") -> None:
    with eh.db.session() as s:
        fund.void_disbursement(s, eh.as_user(s, by), row_id, reason)


def test_a_voided_disbursement_gives_back_the_balance_and_stays_on_record(eh: ElementsHelper) -> None:
    pid = eh.register(name="甲项目", fund_request=5000)
    eh.approve(pid)
    pay(eh, pid, 3000, note="误录金额")
    with eh.db.session() as s:
        row_id = s.scalars(select(FundDisbursement.id)).one()
    assert ledger(eh).balance == 17000
    with pytest.raises(NotAllowed):
        void_payment(eh, row_id, "录错了", by="ziranziyuan")
    with pytest.raises(InvalidInput) as unexplained:
        void_payment(eh, row_id, "  ")
    assert unexplained.value.errors == {"reason": "冲销原因不能为空"}
    with pytest.raises(NotFound):
        void_payment(eh, row_id + 99, "录错了")
    assert ledger(eh).balance == 17000
    void_payment(eh, row_id, "金额录入错误，应为300万元")
    after = ledger(eh)
    assert (after.balance, line(eh, pid).disbursed, line(eh, pid).undisbursed) == (20000, 0, 5000)
    with pytest.raises(AlreadyCompleted):
        void_payment(eh, row_id, "再冲一次")
    pay(eh, pid, 300)
    with eh.db.session() as s:
        assert [r.cells[2] for r in fund.disbursements(s, 1, 50).rows] == [300]
        gone = fund.disbursements(s, 1, 50, voided=True).rows
        assert [(r.cells[2], r.void_reason) for r in gone] == [(3000, "金额录入错误，应为300万元")]
        logged = s.scalars(select(Event.summary).where(Event.kind == "fund").order_by(Event.id.desc())).all()
        assert any(text.startswith("冲销拨付记录：甲项目 3000万元") and "金额录入错误" in text for text in logged)
        assert audit.verify(s).ok


def test_voided_land_records_leave_the_years_figures(eh: ElementsHelper) -> None:
    with time_machine.travel(MID_JULY, tick=True):
        supply(eh, "2026-03-01", 60)
        supply(eh, "2026-04-01", 40, use="other")
        revitalise(eh, "2026-05-01", 120)
        before = year(eh)
        assert (before.total_mu, before.industrial_mu, before.revitalised_mu) == (100, 60, 120)
        with eh.db.session() as s:
            wrong = s.scalars(select(LandSupply.id).where(LandSupply.area_mu == 60)).one()
            with pytest.raises(NotAllowed):
                land.void_record(s, eh.as_user(s, "bangongshi"), "supply", wrong, "录错")
        with eh.db.session() as s:
            land.void_record(s, eh.as_user(s, "ziranziyuan"), "supply", wrong, "地块重复登记")
            land.void_record(s, eh.as_user(s, "ziranziyuan"), "revitalisation", s.scalars(select(LandRevitalisation.id)).one(), "面积未经核实")
        after = year(eh)
        assert (after.total_mu, after.industrial_mu, after.revitalised_mu) == (40, 0, 0)
        assert any("工业用地供应占比0%" in w for w in after.warnings)
        with eh.db.session() as s:
            assert [(land.record_label(r), r.void_reason) for r in land.voided(s, 2026)] == [
                ("盘活记录", "面积未经核实"), ("供地记录", "地块重复登记")]


def test_the_office_voids_a_disbursement_on_the_page_with_a_reason(web: Web) -> None:
    client, auth, h = web
    pid = h.register(name="页面项目", fund_request=2000)
    h.approve(pid)
    pay(h, pid, 500)
    with h.db.session() as s:
        row_id = s.scalars(select(FundDisbursement.id)).one()
    auth.login("fx_gongye")
    assert "确认冲销" not in client.get("/elements/fund").get_data(as_text=True)
    assert client.post(f"/elements/fund/disbursements/{row_id}/void", data={"csrf_token": csrf_token(client, "/"),
                                                                         "reason": "录错"}).status_code == 403
    auth.switch("bangongshi")
    assert client.post(f"/elements/fund/disbursements/{row_id}/void", data={"reason": "录错"}).status_code == 400
    token = csrf_token(client, "/elements/fund")
    empty = client.post(f"/elements/fund/disbursements/{row_id}/void", data={"csrf_token": token, "reason": ""})
    assert empty.status_code == 422 and "冲销原因不能为空" in empty.get_data(as_text=True)
    done = client.post(f"/elements/fund/disbursements/{row_id}/void", data={"csrf_token": token, "reason": "重复拨付登记"},
                       follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "已冲销该拨付记录" in page and 'id="voided-disbursements"' in page and "重复拨付登记" in page
    again = client.post(f"/elements/fund/disbursements/{row_id}/void", data={"csrf_token": token, "reason": "再次"})
    assert again.status_code == 409
    supply(h, "2026-03-01", 10)
    with h.db.session() as s:
        plot = s.scalars(select(LandSupply.id)).one()
    assert client.post(f"/elements/land/supply/{plot}/void", data={"csrf_token": token, "reason": "录错"}).status_code == 403
    auth.switch("ziranziyuan")
    token = csrf_token(client, "/elements/land?year=2026")
    moved = client.post(f"/elements/land/supply/{plot}/void", data={"csrf_token": token, "reason": "地块重复"}, follow_redirects=True)
    assert 'id="voided-land"' in moved.get_data(as_text=True) and "地块重复" in moved.get_data(as_text=True)
    assert client.post(f"/elements/land/parcel/{plot}/void", data={"csrf_token": token, "reason": "x"}).status_code == 404
