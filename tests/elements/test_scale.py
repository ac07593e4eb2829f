"""The ledgers with many rows: every list a page at a time, figures over the whole year or fund, and the exports streamed whole."""
from __future__ import annotations

import io
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import insert, select

from engine.elements import fund
from engine.elements.models import FundDisbursement, LandRevitalisation, LandSupply
from engine.platform.models import Project, User
from tests.elements.conftest import ElementsHelper, Web
from tests.webui.conftest import csrf_token
from webui.elements import LINES_PER_PAGE, PAID_PER_PAGE, PAYABLE_SHOWN, RECORDS_PER_PAGE, WARNINGS_SHOWN

APPROVED = datetime(2025, 3, 1, tzinfo=timezone.utc)


def bulk(h: ElementsHelper, projects: int, paid: int, voided: int = 0, request: str = "100.25") -> list[int]:
    """`projects` approved projects asking `request` 万元 each (every third still pending), `paid` disbursements of 0.35 万元 over
    the approved ones and `voided` voided ones; returns the project ids in ledger order of the approved ones."""
    with h.db.session() as s:
        office = s.scalars(select(User.id).where(User.username == "bangongshi")).one()
        deputy = s.scalars(select(User.id).where(User.username == "fx_gongye")).one()
        s.execute(insert(Project), [
            {"name": f"基金项目{n:05d}", "category": "industrial", "attracting_unit_id": h.unit("anwen"), "landing_unit_id": h.unit("anwen"),
             "deputy_id": deputy, "total_investment": 5000, "fund_request": Decimal(request), "stage": "signing",
             "approved_at": None if n % 3 == 2 else APPROVED, "registered_at": APPROVED}
            for n in range(projects)
        ])
        approved = list(s.scalars(select(Project.id).where(Project.approved_at.is_not(None), Project.name.like("基金项目%"))
                                  .order_by(Project.id)))
        s.execute(insert(FundDisbursement), [
            {"project_id": approved[n % len(approved)], "paid_on": date(2025, 1 + n % 12, 1 + n % 28), "amount": Decimal("0.35"),
             "note": f"第{n}期", "recorded_by": office, "recorded_at": APPROVED,
             "voided_at": APPROVED if n >= paid else None, "void_reason": "录入有误" if n >= paid else ""}
            for n in range(paid + voided)
        ])
    return approved


def rows(page: str, table_id: str) -> list[str]:
    """The body rows of one table on the page."""
    body = re.search(rf'<table class="list[^"]*" id="{table_id}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body is not None, table_id
    return re.findall(r"<tr[^>]*>.*?</tr>", body.group(1), re.S)


def test_every_fund_list_is_paginated_and_counts_cover_the_whole_ledger(web: Web) -> None:
    client, auth, h = web
    projects, paid, voided = 3 * LINES_PER_PAGE + 10, 2 * PAID_PER_PAGE + 7, PAID_PER_PAGE + 3
    approved = bulk(h, projects, paid, voided, request="12000")  # above the default cap of 10000: every live line warns
    auth.login("bangongshi")
    first = client.get("/elements/fund").get_data(as_text=True)
    assert len(rows(first, "fund-ledger")) == LINES_PER_PAGE and "第 1 / 4 页" in first and f"共{projects}个项目" in first
    assert len(rows(first, "disbursements")) == PAID_PER_PAGE and len(rows(first, "voided-disbursements")) == PAID_PER_PAGE
    assert first.count('rel="next"') == 3  # ledger, disbursements and voided records each have a next page
    assert f"共{len(approved)}个项目可拨付，此处列出前{PAYABLE_SHOWN}个" in first
    assert len(re.findall(r"<option value=\"\d+\"", first)) == PAYABLE_SHOWN
    warnings = re.search(r'id="fund-warnings">(.*?)</ul>', first, re.S)
    assert warnings is not None and warnings.group(1).count("<li") == WARNINGS_SHOWN
    assert re.search(r"共(\d+)条预警，此处列出前20条", first) is not None

    assert len(approved) > PAYABLE_SHOWN
    last = client.get("/elements/fund?page=4&paid_page=3&voided_page=2").get_data(as_text=True)
    assert len(rows(last, "fund-ledger")) == projects - 3 * LINES_PER_PAGE and "第 4 / 4 页" in last
    assert len(rows(last, "disbursements")) == paid - 2 * PAID_PER_PAGE
    assert len(rows(last, "voided-disbursements")) == voided - PAID_PER_PAGE
    numbers = [int(re.search(r'<td data-label="序号">(\d+)</td>', row).group(1)) for row in rows(last, "fund-ledger")]
    assert numbers == list(range(3 * LINES_PER_PAGE + 1, projects + 1))
    assert 'href="/elements/fund?page=3&amp;paid_page=3&amp;voided_page=2"' in last  # each pager keeps the others' pages
    beyond = client.get("/elements/fund?page=99").get_data(as_text=True)
    assert "第 4 / 4 页" in beyond and len(rows(beyond, "fund-ledger")) == projects - 3 * LINES_PER_PAGE

    found = client.get("/elements/fund?q=基金项目0001").get_data(as_text=True)  # 基金项目00010 … 00019
    assert len(rows(found, "fund-ledger")) == 10 and "共10个项目" in found and 'rel="next"' not in found.split('id="disburse"')[0]
    assert 'id="payable-more"' not in found and len(re.findall(r"<option value=\"\d+\"", found)) == 7  # of ten, 00011, 00014 and 00017 are pending

    with h.db.session() as s:
        ledger = fund.ledger(s)
    committed = Decimal(12000) * len(approved)
    assert (ledger.committed, ledger.disbursed, ledger.line_count) == (committed, Decimal("0.35") * paid, projects)
    assert ledger.pending == Decimal(12000) * (projects - len(approved))
    assert ledger.alert_count == len(ledger.alerts) == 1 + (projects - len(approved)) * 2 + len(approved)


def test_a_refused_disbursement_keeps_the_page_links_on_the_ledger(web: Web) -> None:
    client, auth, h = web
    approved = bulk(h, LINES_PER_PAGE + 5, 3)
    auth.login("bangongshi")
    token = csrf_token(client, "/elements/fund")
    refused = client.post("/elements/fund/disbursements", data={"csrf_token": token, "project_id": approved[0], "paid_on": "2025-05-01",
                                                                "amount": "100.26"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "拨付金额100.26万元超过该项目承诺未拨付金额" in page
    assert 'href="/elements/fund?page=2"' in page and "/elements/fund/disbursements?page" not in page


def test_the_fund_export_streams_every_line_and_disbursement_with_exact_amounts(web: Web) -> None:
    client, auth, h = web
    projects, paid = 3000, 4000
    approved = bulk(h, projects, paid, 5, request="100.25")
    auth.login("bangongshi")
    response = client.get("/elements/fund.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    ledger = [list(r) for r in book["产业基金台账"].iter_rows(values_only=True)]
    assert ledger[0][0] == "产业基金台账（单位：万元）" and ledger[1] == fund.HEADERS
    assert len(ledger) - 2 == projects
    assert [r[0] for r in ledger[2:]] == list(range(1, projects + 1))
    first = ledger[2]
    paid_first = sum(Decimal("0.35") for n in range(paid) if approved[n % len(approved)] == approved[0])
    assert first[1] == "基金项目00000" and first[2] and first[4] == "已承诺"
    assert [Decimal(str(v)) for v in first[5:]] == [Decimal("100.25"), Decimal("100.25"), paid_first, Decimal("100.25") - paid_first]
    assert {r[4] for r in ledger[2:]} == {"已承诺", "待审批"}
    records = [list(r) for r in book["拨付记录"].iter_rows(values_only=True)]
    assert records[1] == fund.DISBURSEMENT_HEADERS and len(records) - 2 == paid
    assert sum((Decimal(str(r[2])) for r in records[2:]), Decimal(0)) == Decimal("0.35") * paid
    assert all(r[3].startswith("第") and r[3].endswith("期") for r in records[2:])
    dates = [str(r[0]) for r in records[2:]]
    assert dates == sorted(dates, reverse=True)
    summary = [list(r) for r in book["汇总"].iter_rows(min_row=3, values_only=True)]
    totals: list[Any] = summary[0]
    assert Decimal(str(totals[1])) == Decimal("100.25") * len(approved) and Decimal(str(totals[2])) == Decimal("0.35") * paid


def test_land_records_are_listed_a_page_at_a_time_and_the_year_is_summed_whole(web: Web) -> None:
    client, auth, h = web
    supplies, revitalised = 2 * RECORDS_PER_PAGE + 4, RECORDS_PER_PAGE + 2
    with h.db.session() as s:
        recorder = s.scalars(select(User.id).where(User.username == "ziranziyuan")).one()
        s.execute(insert(LandSupply), [
            {"supplied_on": date(2025, 1 + n % 12, 1 + n % 28), "parcel": f"工业地块{n:04d}", "area_mu": Decimal("1.25"),
             "land_use": "industrial" if n % 2 else "other", "recorded_by": recorder, "recorded_at": APPROVED}
            for n in range(supplies)
        ])
        s.execute(insert(LandRevitalisation), [
            {"done_on": date(2025, 1 + n % 12, 3), "description": f"闲置厂房{n:04d}", "area_mu": Decimal("2.5"), "recorded_by": recorder,
             "recorded_at": APPROVED} for n in range(revitalised)
        ])
    auth.login("ziranziyuan")
    first = client.get("/elements/land?year=2025").get_data(as_text=True)
    assert len(rows(first, "land-supply")) == RECORDS_PER_PAGE and len(rows(first, "land-revitalised")) == RECORDS_PER_PAGE
    assert "第 1 / 3 页" in first and "第 1 / 2 页" in first
    assert f"{Decimal('1.25') * supplies:f}".rstrip("0").rstrip(".") + "亩" in first  # the year's total, not the page's
    last = client.get("/elements/land?year=2025&page=3&revitalised_page=2").get_data(as_text=True)
    assert len(rows(last, "land-supply")) == supplies - 2 * RECORDS_PER_PAGE and len(rows(last, "land-revitalised")) == revitalised - RECORDS_PER_PAGE
    assert 'href="/elements/land?year=2025&amp;page=2&amp;revitalised_page=2"' in last
    book = load_workbook(io.BytesIO(client.get("/elements/land.xlsx?year=2025").data), read_only=True)
    listed = [list(r) for r in book["供地记录"].iter_rows(min_row=3, values_only=True)]
    assert len(listed) == supplies and sum((Decimal(str(r[2])) for r in listed), Decimal(0)) == Decimal("1.25") * supplies
    assert len(list(book["盘活低效用地"].iter_rows(min_row=3))) == revitalised
    plan = [list(r) for r in book["盘活月度计划"].iter_rows(min_row=3, values_only=True)]
    assert Decimal(str(plan[-1][2])) == Decimal("2.5") * revitalised
