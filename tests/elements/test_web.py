"""要素保障 pages through the web client: sign-in, roles, CSRF, refused input, escaping, exports that match the page."""
from __future__ import annotations

import io
import re
from datetime import datetime, timezone
from typing import Any

import time_machine
from openpyxl import load_workbook
from sqlalchemy import func, insert, select

from engine.elements.models import FundDisbursement, LandSupply
from engine.platform.models import Project, User, Base
from tests.webui.conftest import csrf_token
from tests.elements.conftest import Web, ElementsHelper
from webui.elements import WAITING_SHOWN
from webui.i18n import area, money

PAGES = ["/elements", "/elements/fund", "/elements/land", "/elements/land?year=2025", "/elements/fund.xlsx", "/elements/land.xlsx"]
MID_JULY = datetime(2026, 7, 15, 2, tzinfo=timezone.utc)


def table(page: str, table_id: str) -> list[list[str]]:
    """The body rows of a table on the page as cell texts (the void action's cell left out)."""
    body = re.search(rf'<table class="list" id="{table_id}">.*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    cell = r'<td(?![^>]*data-label="冲销")[^>]*>(.*?)</td>'
    return [[re.sub(r"<[^>]+>", " ", c).split("  ")[0].strip() for c in re.findall(cell, row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def sheet(content: bytes, title: str) -> list[list[Any]]:
    """The data rows (below caption and headers) of one sheet of an export."""
    return [list(r) for r in load_workbook(io.BytesIO(content))[title].iter_rows(min_row=3, values_only=True)]


def stored(h: ElementsHelper, model: type[Base]) -> int:
    with h.db.session() as s:
        return s.scalars(select(func.count()).select_from(model)).one()


def test_every_page_needs_sign_in(web: Web) -> None:
    client, _auth, _h = web
    for path in PAGES + ["/elements/settings"]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    for path in ("/elements/fund/disbursements", "/elements/land/supply", "/elements/land/revitalisation", "/elements/settings"):
        assert client.post(path).status_code in (302, 400), path


def test_county_roles_read_only_the_right_role_writes_and_every_form_needs_csrf(web: Web) -> None:
    client, auth, h = web
    pid = h.register(name="基金项目", fund_request=3000)
    h.approve(pid)
    with time_machine.travel(MID_JULY, tick=True):
        pay = {"project_id": pid, "paid_on": "2026-07-01", "amount": "100"}
        plot = {"supplied_on": "2026-07-01", "parcel": "城东地块", "area_mu": "10", "land_use": "industrial"}
        spare = {"done_on": "2026-07-01", "description": "闲置厂房", "area_mu": "5"}
        auth.login("anwen")  # a town: the ledgers name other units' projects and amounts
        assert "要素保障" not in client.get("/").get_data(as_text=True)
        for path in PAGES + ["/elements/settings"]:
            assert client.get(path).status_code == 403, path
        token = csrf_token(client, "/")
        assert client.post("/elements/fund/disbursements", data={"csrf_token": token, **pay}).status_code == 403
        assert client.post("/elements/land/supply", data={"csrf_token": token, **plot}).status_code == 403
        assert client.post("/elements/settings", data={"csrf_token": token, "fund_size": "1"}).status_code == 403
        auth.switch("fx_gongye")  # a deputy reads, writes nothing
        for path in PAGES:
            assert client.get(path).status_code == 200, path
        assert 'id="disburse"' not in client.get("/elements/fund").get_data(as_text=True)
        assert client.get("/elements/settings").status_code == 403
        auth.switch("bangongshi")
        assert client.post("/elements/land/revitalisation", data={"csrf_token": csrf_token(client, "/"), **spare}).status_code == 403
        assert client.post("/elements/fund/disbursements", data=pay).status_code == 400
        assert client.post("/elements/settings", data={"fund_size": "1"}).status_code == 400
        assert client.post("/elements/fund/disbursements", data={"csrf_token": csrf_token(client, "/elements/fund"), **pay}).status_code == 303
        auth.switch("ziranziyuan")
        assert client.post("/elements/land/supply", data=plot).status_code == 400
        token = csrf_token(client, "/elements/land")
        assert client.post("/elements/fund/disbursements", data={"csrf_token": token, **pay}).status_code == 403
        assert client.post("/elements/land/supply", data={"csrf_token": token, **plot}).status_code == 303
        assert client.post("/elements/land/revitalisation", data={"csrf_token": token, **spare}).status_code == 303
    assert stored(h, FundDisbursement) == 1 and stored(h, LandSupply) == 1


def test_refused_input_is_named_on_the_page_with_a_422_and_nothing_stored(web: Web) -> None:
    client, auth, h = web
    pid = h.register(name="基金项目", fund_request=3000)
    h.approve(pid)
    auth.login("bangongshi")
    token = csrf_token(client, "/elements/fund")
    bad = client.post("/elements/fund/disbursements", data={"csrf_token": token, "project_id": pid, "paid_on": "2000-01-01", "amount": "3000.5"})
    assert bad.status_code == 422 and "拨付金额3000.5万元超过该项目承诺未拨付金额3000万元" in bad.get_data(as_text=True)
    settings = client.post("/elements/settings", data={"csrf_token": token, "fund_size": "abc", "fund_project_cap": "10000",
                                                       "industrial_share_target": "50", "revitalise_target_mu": "300"})
    assert settings.status_code == 422 and "产业基金规模必须是1到10000000之间的数字（万元），收到“abc”" in settings.get_data(as_text=True)
    auth.switch("ziranziyuan")
    token = csrf_token(client, "/elements/land")
    page = client.post("/elements/land/supply?year=2026", data={"csrf_token": token, "supplied_on": "2026-01-02", "parcel": "东区",
                                                                "area_mu": "0", "land_use": "industrial"})
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and "面积必须是大于0且不超过100000的数字（亩）" in text and 'value="东区"' in text
    assert client.get("/elements/land?year=²").status_code == 400 and client.get("/elements/land.xlsx?year=²").status_code == 400
    assert stored(h, FundDisbursement) == 0 and stored(h, LandSupply) == 0


def test_settings_changed_on_the_page_take_effect_and_output_is_escaped(web: Web) -> None:
    client, auth, h = web
    h.register(name="<b>粗体</b>项目", fund_request=8000)
    auth.login("bangongshi")
    token = csrf_token(client, "/elements/settings")
    saved = client.post("/elements/settings", data={"csrf_token": token, "fund_size": "5000", "fund_project_cap": "5000",
                                                    "industrial_share_target": "60", "revitalise_target_mu": "300"})
    assert saved.status_code == 303
    page = client.get("/elements").get_data(as_text=True)
    assert "5000万元" in page and "<b>粗体</b>" not in page
    assert "“&lt;b&gt;粗体&lt;/b&gt;项目”申请产业基金8000万元，超过基金可承诺余额5000万元" in page
    assert "下限60%" in page


def test_exports_match_the_pages(web: Web) -> None:
    client, auth, h = web
    with time_machine.travel(MID_JULY, tick=True):
        a = h.register(name="甲项目", fund_request=6000, needs_land=True, land_mu=30, total_investment=80000, is_manufacturing=True)
        h.register(name="乙项目", fund_request=2500, needs_land=True, land_mu="12.5")
        h.approve(a, needs_land=True, land_mu=30)
        auth.login("bangongshi")
        token = csrf_token(client, "/elements/fund")
        client.post("/elements/fund/disbursements", data={"csrf_token": token, "project_id": a, "paid_on": "2026-07-01", "amount": "1234.5", "note": "首期"})
        auth.switch("ziranziyuan")
        token = csrf_token(client, "/elements/land")
        client.post("/elements/land/supply", data={"csrf_token": token, "supplied_on": "2026-05-01", "parcel": "城东地块", "area_mu": "10", "land_use": "industrial", "project_id": a})
        client.post("/elements/land/supply", data={"csrf_token": token, "supplied_on": "2026-06-01", "parcel": "城西地块", "area_mu": "15", "land_use": "other"})
        client.post("/elements/land/revitalisation", data={"csrf_token": token, "done_on": "2026-03-01", "description": "旧厂房", "area_mu": "40"})
        fund_page = client.get("/elements/fund").get_data(as_text=True)
        fund_book = client.get("/elements/fund.xlsx").data
        land_page = client.get("/elements/land?year=2026").get_data(as_text=True)
        land_book = client.get("/elements/land.xlsx?year=2026").data
    with client.application.test_request_context():
        def shown(row: list[Any], money_at: tuple[int, ...] = (), area_at: tuple[int, ...] = ()) -> list[str]:
            return [money(c) if i in money_at else area(c) if i in area_at else ("" if c is None else str(c)) for i, c in enumerate(row)]

        ledger = [shown(r, (5, 6, 7, 8)) for r in sheet(fund_book, "产业基金台账")]
        assert table(fund_page, "fund-ledger") == ledger and [r[1] for r in ledger] == ["甲项目", "乙项目"]
        assert ledger[0][4:] == ["已承诺", "6000万元", "6000万元", "1234.5万元", "4765.5万元"]
        assert table(fund_page, "disbursements") == [shown(r, (2,)) for r in sheet(fund_book, "拨付记录")]
        assert table(fund_page, "fund-totals") == [shown(sheet(fund_book, "汇总")[0], tuple(range(6)))]
        assert table(land_page, "land-supply") == [shown(r, area_at=(2,)) for r in sheet(land_book, "供地记录")]
        assert table(land_page, "land-revitalised") == [shown(r, area_at=(2,)) for r in sheet(land_book, "盘活低效用地")]
        waiting = [shown(r, area_at=(5, 6, 7)) for r in sheet(land_book, "待供地项目")]
        assert table(land_page, "land-waiting") == waiting
        assert [r[1] for r in waiting] == ["甲项目", "乙项目"] and waiting[0][5:] == ["30亩", "10亩", "20亩"]
        plan = [[r[0], area(r[1]), "—" if r[2] == "—" else area(r[2])] for r in sheet(land_book, "盘活月度计划")]
        assert table(land_page, "revitalise-plan") == plan
        summary = sheet(land_book, "汇总")
        assert summary[0] == [2026, 25, 10, 40, 50, 40, 300, 13.33]
        assert [r[0] for r in summary[1:]] == ["预警：2026年工业用地供应占比40%（10亩/25亩），低于50%的要求",
                                               "预警：截至6月底盘活低效用地40亩，按计划应完成150亩，落后110亩"]
        assert "2026年工业用地供应占比40%（10亩/25亩），低于50%的要求" in land_page


def test_the_land_page_lists_the_first_waiting_projects_and_counts_them_all(web: Web) -> None:
    client, auth, h = web
    count = WAITING_SHOWN + 20
    with h.db.session() as s:
        deputy = s.scalars(select(User.id).where(User.username == "fx_gongye")).one()
        s.execute(insert(Project), [
            {"name": f"待供地{n:03d}", "category": "industrial" if n == count - 1 else "services", "attracting_unit_id": h.unit("anwen"),
             "landing_unit_id": h.unit("anwen"), "deputy_id": deputy, "total_investment": 80000 if n == count - 1 else 5000,
             "is_manufacturing": n == count - 1, "needs_land": True, "land_mu": 10, "stage": "approval"}
            for n in range(count)
        ])
    auth.login("bangongshi")
    overview = client.get("/elements").get_data(as_text=True)
    assert f"<dd>{count}个</dd>" in overview
    page = client.get("/elements/land").get_data(as_text=True)
    rows = re.findall(r'<tr data-project="\d+">', page)
    assert len(rows) == WAITING_SHOWN and f"共{count}个" in page
    assert page.index(f"待供地{count - 1:03d}") < page.index("待供地000")  # 7亿+ manufacturing first
    book = load_workbook(io.BytesIO(client.get("/elements/land.xlsx").data), read_only=True)
    assert len(list(book["待供地项目"].iter_rows(min_row=3))) == count
