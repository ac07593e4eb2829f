"""定稿: a finalised quarter keeps its scores when the office later changes the scoring table."""
from __future__ import annotations

from html import unescape
import io
import re
import threading

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import func, select

from engine.supervision import assessment, rankings
from engine.platform import audit
from engine.platform.errors import ConcurrentUpdate, InvalidInput, NotAllowed
from engine.platform.models import Event
from engine.supervision.models import PublishedRanking
from tests.assessment.conftest import SupervisionHelper, Web
from tests.assessment.test_year import YEAR, County, at, points
from tests.webui.conftest import csrf_token

JINPAN = "金磐开发区"


def signed_in_q1(sh: SupervisionHelper) -> None:
    """A 9亿元 manufacturing project of 金磐开发区 signed on 1 March: points in the first quarter."""
    with time_machine.travel(at(3, 1), tick=False):
        pid = sh.register(by="jinpan", name="定稿测试制造项目", is_manufacturing=True, total_investment=90000)
        County(sh, None).approve(pid, "jinpan")
        County(sh, None).sign(pid, "jinpan", "2026-03-01")


def total(rows: list[assessment.UnitScore], unit: str = JINPAN) -> float:
    return {r.unit_name: r.total for r in rows}[unit]


def stored_editions(sh: SupervisionHelper) -> int:
    with sh.db.session() as s:
        return s.scalars(select(func.count()).select_from(PublishedRanking)).one()


def test_a_finalised_quarter_keeps_its_scores_after_the_rules_change(sh: SupervisionHelper) -> None:
    signed_in_q1(sh)
    office, town = sh.user("bangongshi"), sh.user("jinpan")
    with time_machine.travel(at(3, 20), tick=False), sh.db.session() as s:
        with pytest.raises(InvalidInput) as early:
            rankings.publish(s, s.merge(office), YEAR, 1)
        assert "尚未结束" in early.value.errors["quarter"]
    with time_machine.travel(at(4, 2), tick=False):
        with sh.db.session() as s:
            with pytest.raises(NotAllowed):
                rankings.publish(s, s.merge(town), YEAR, 1)
        assert stored_editions(sh) == 0
        with sh.db.session() as s:
            first = rankings.publish(s, s.merge(office), YEAR, 1)
            assert (first.edition, first.rule_version) == (1, 1)
        frozen = points(sh)["score_rule_1"]
        with sh.db.session() as s:
            assessment.update_points(s, s.merge(office), {"score_rule_1": frozen + 7})
        with sh.db.session() as s:
            shown, published = rankings.ranking(s, YEAR, 1, "all")
            assert published is not None and total(shown) == total(rankings.thaw(s, published))
            assert total(rankings.live(s, YEAR, 1)) == total(shown) + 7
            assert total(rankings.live(s, YEAR, 0)) == total(shown), "the year counts the finalised quarter as frozen"
            assert total(assessment.annual_assessment(s, YEAR)) == total(shown) + 7
            line = next(x for r in shown if r.unit_name == JINPAN for x in r.lines)
            assert line.project_name == "定稿测试制造项目" and line.points == frozen
            with pytest.raises(InvalidInput) as unexplained:
                rankings.publish(s, s.merge(office), YEAR, 1, "  ")
            assert "须说明原因" in unexplained.value.errors["reason"]
        assert stored_editions(sh) == 1
        with sh.db.session() as s:
            second = rankings.publish(s, s.merge(office), YEAR, 1, "市考核办统一调整签约分值")
            assert (second.edition, second.rule_version) == (2, 2)
        with sh.db.session() as s:
            shown, published = rankings.ranking(s, YEAR, 1)
            assert published.edition == 2 and total(shown) == total(rankings.live(s, YEAR, 1))
            assert [e.edition for e in rankings.editions(s, YEAR, 1)] == [1, 2]
            logged = s.scalars(select(Event.summary).where(Event.kind == "ranking_published").order_by(Event.id)).all()
            assert len(logged) == 2 and "重新定稿" in logged[1] and "统一调整" in logged[1]
            assert audit.verify(s).ok


def test_the_office_finalises_through_the_page_and_every_view_shows_the_frozen_edition(web: Web) -> None:
    client, auth, h = web
    signed_in_q1(h)
    with time_machine.travel(at(4, 2), tick=False):
        auth.login("jinpan")
        assert "定稿本期排名" not in client.get(f"/assessment?year={YEAR}&quarter=1").get_data(as_text=True)
        token = csrf_token(client, "/assessment")
        assert client.post("/assessment/publish", data={"csrf_token": token, "year": YEAR, "quarter": 1}).status_code == 403
        auth.switch("bangongshi")
        page = client.get(f"/assessment?year={YEAR}&quarter=1").get_data(as_text=True)
        assert "尚未定稿" in page and "定稿本期排名" in page
        assert client.post("/assessment/publish", data={"year": YEAR, "quarter": 1}).status_code == 400
        assert stored_editions(h) == 0
        token = csrf_token(client, "/assessment")
        done = client.post("/assessment/publish", data={"csrf_token": token, "year": YEAR, "quarter": 1}, follow_redirects=True)
        page = done.get_data(as_text=True)
        assert "已定稿（第1版）" in page and "按计分规则第1版计分" in page and "重新定稿原因" in page
        frozen = ranking_total(page)
        with h.db.session() as s:
            assessment.update_points(s, s.merge(h.user("bangongshi")), {"score_rule_1": points(h)["score_rule_1"] + 7})
        page = client.get(f"/assessment?year={YEAR}&quarter=1").get_data(as_text=True)
        assert ranking_total(page) == frozen and "试算的结果与定稿不同" in page
        trial = client.get(f"/assessment?year={YEAR}&quarter=1&live=1").get_data(as_text=True)
        assert ranking_total(trial) == frozen + 7 and "非定稿结果" in trial
        sheet = load_workbook(io.BytesIO(client.get(f"/assessment/export.xlsx?year={YEAR}&quarter=1").data)).active
        assert next(r[2] for r in sheet.iter_rows(values_only=True) if r[1] == JINPAN) == frozen
        unit = client.get(f"/assessment/units/{h.unit('jinpan')}?year={YEAR}&quarter=1").get_data(as_text=True)
        assert "定稿测试制造项目" in unit and f"{frozen:g}" in unit
        assert re.search(r"“定稿测试制造项目”\w+，按计分规则“[^”]+”计[+-]?\d", unescape(unit))  # the 说明 column explains each line
        token = csrf_token(client, "/assessment")
        again = client.post("/assessment/publish", data={"csrf_token": token, "year": YEAR, "quarter": 1, "reason": ""})
        assert again.status_code == 422 and "重新定稿须说明原因" in again.get_data(as_text=True)
        assert stored_editions(h) == 1
        early = client.post("/assessment/publish", data={"csrf_token": token, "year": YEAR, "quarter": 2})
        assert early.status_code == 422 and "尚未结束" in early.get_data(as_text=True)
        assert stored_editions(h) == 1


def ranking_total(page: str, unit: str = JINPAN) -> float:
    """The 总分 cell of a unit in the ranking table of a page."""
    table = re.search(r'<table class="list" id="ranking">(.*?)</table>', page, re.S).group(1)
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if cells and cells[1] == unit:
            return float(cells[2])
    raise AssertionError(f"{unit} not in the ranking")


def test_two_officials_finalising_at_once_store_one_edition_and_the_other_is_told(sh: SupervisionHelper) -> None:
    office = sh.user("bangongshi")
    for quarter in (1, 2, 3, 4, 0):
        start = threading.Barrier(2)
        outcomes: list[str] = []

        def finalise(start: threading.Barrier = start, quarter: int = quarter, outcomes: list[str] = outcomes) -> None:
            start.wait()
            try:
                with sh.db.session() as s:
                    rankings.publish(s, s.merge(office), 2025, quarter)
                outcomes.append("published")
            except (ConcurrentUpdate, InvalidInput) as exc:  # raced at the insert, or saw the first edition already
                outcomes.append(type(exc).__name__)
            except Exception as exc:  # noqa: BLE001 - anything else would be a 500 for the official
                outcomes.append(f"unexpected {exc!r}")

        threads = [threading.Thread(target=finalise) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(outcomes) == 2 and outcomes.count("published") == 1 and not any("unexpected" in o for o in outcomes), outcomes
        with sh.db.session() as s:
            assert [e.edition for e in rankings.editions(s, 2025, quarter)] == [1]
