"""Supervision, assessment and dashboard pages: sign-in, role and unit checks, CSRF, exports that match the page."""
from __future__ import annotations

import io
import re
import threading
from datetime import datetime, timezone

import pytest
import time_machine
from openpyxl import load_workbook
from flask.testing import FlaskClient
from sqlalchemy import insert, inspect

from engine.platform import clock
from engine.supervision import coordination, notices
from engine.supervision.models import MonthlyNotice
from tests.assessment.conftest import SupervisionHelper, Web
from tests.assessment.test_excel import count, workbook
from tests.conftest import web_parts
from tests.webui.conftest import Auth, csrf_token


PAGES = ["/supervision", "/supervision/targets", "/assessment", "/assessment/rules", "/notices", "/dashboard", "/ledger.xlsx"]


def test_every_page_needs_sign_in(web: Web) -> None:
    client, _auth, _h = web
    for path in PAGES + ["/import", "/dashboard/projects?ids=1"]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_pages_render_for_the_office_and_units_are_refused_office_actions(web: Web) -> None:
    client, auth, h = web
    auth.login("bangongshi")
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'id="dashboard-data"' in page and "build/dashboard.js" in page
    rules = client.get("/assessment/rules").get_data(as_text=True)
    assert '<td title="&#34;signed&#34;">签约</td><td title="&#34;mfg_7yi&#34;">7亿元以上制造业</td>' in rules  # words, the FEEL as a tip
    assert "<td>&#34;signed&#34;</td>" not in rules
    year = clock.local_today().year
    target = {"csrf_token": csrf_token(client, "/supervision/targets"), "unit_id": h.unit("anwen"), "year": year, "mfg_7yi": "12",
              "ind_3yi": "0", "yi_plus": "0", "foreign_capital": "1000", "out_of_province_capital": "0", "mfg_funds": "0"}
    assert client.post("/supervision/targets", data=target).status_code in (302, 303)
    plan = client.get(f"/supervision/targets/{h.unit('anwen')}?year={year}").get_data(as_text=True)
    assert re.search(r"<td>1月</td>\s*<td[^>]*>1 / ", plan) and "83.33 / " in plan and "1.0 /" not in plan  # counts whole, 万元 to the cent
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    auth.login("anwen")
    assert client.get("/import").status_code == 403
    token = csrf_token(client, "/supervision")
    assert client.post("/assessment/rules", data={"csrf_token": token, "points_score_rule_1": "99"}).status_code == 403
    assert client.post("/supervision/targets", data={"csrf_token": token, "unit_id": h.unit("anwen"), "mfg_7yi": "5"}).status_code == 403
    assert client.get(f"/supervision/targets/{h.unit('jinpan')}").status_code == 403
    assert client.get(f"/supervision/targets/{h.unit('anwen')}").status_code == 200
    assert client.post("/assessment/rules", data={"points_score_rule_1": "99"}).status_code == 400


def test_coordination_through_the_web_with_inline_errors(web: Web) -> None:
    client, auth, h = web
    with time_machine.travel(datetime(2026, 4, 1, 2, tzinfo=timezone.utc), tick=False):
        pid = h.register(by="anwen", name="网页协调项目")
        auth.login("anwen")
        token = csrf_token(client, "/supervision/new")
        bad = client.post("/supervision/new", data={"csrf_token": token, "project_id": pid, "title": "<b>x</b>", "problem": ""})
        assert bad.status_code == 422 and "问题说明不能为空" in bad.get_data(as_text=True)
        ok = client.post("/supervision/new", data={"csrf_token": token, "project_id": pid, "title": "道路接入", "problem": "需县级协调", "material": "书面报告"})
        assert ok.status_code == 303
        case_url = ok.headers["Location"]
        client.post("/logout", data={"csrf_token": token})
        auth.login("xinwo")
        assert client.get(case_url).status_code == 403
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
        case_id = int(case_url.rsplit("/", 1)[1])
        from engine.supervision.models import CoordinationCase
        with h.db.session() as s:
            instance_id = s.get(CoordinationCase, case_id).instance_id
        h.act(h.task(instance_id, "review_submission"), "bangongshi", {"decision": "forward", "opinion": "报审"})
        h.act(h.task(instance_id, "leader_approval"), "xianzhang", {"decision": "approve", "opinion": "同意"})
        task = h.task(instance_id, "issue_list")
        auth.login("dukao")
        issue_url = f"/supervision/tasks/{task.id}/issue"
        token = csrf_token(client, issue_url)
        bad = client.post(issue_url, data={"csrf_token": token, "title_1": "修路", "responsible_unit_id_1": h.unit("zrzy"), "deadline_1": "2020-01-01"})
        assert bad.status_code == 422 and "第1项：办结时限不能早于今天" in bad.get_data(as_text=True)
        good = client.post(issue_url, data={"csrf_token": token, "title_1": "修路", "responsible_unit_id_1": h.unit("zrzy"), "deadline_1": "2026-04-20"})
        assert good.status_code == 303
        page = client.get(case_url).get_data(as_text=True)
        assert "修路" in page and "县自然资源和规划局" in page and 'data-light="green"' in page


def test_case_list_names_the_raising_unit_of_every_case(web: Web) -> None:
    client, auth, h = web
    pid = h.register(by="anwen", name="列表协调项目")
    with h.db.session() as s:
        coordination.submit(s, pid, s.merge(h.user("anwen")), {"title": "供电接入", "problem": "需县级协调", "material": "书面报告"})
    auth.login("bangongshi")
    page = client.get("/supervision")
    assert page.status_code == 200
    assert "供电接入" in page.get_data(as_text=True) and "安文街道" in page.get_data(as_text=True)


def test_case_list_pages_through_more_cases_than_one_page_holds(web: Web) -> None:
    client, auth, h = web
    pid = h.register(by="anwen", name="分页协调项目")
    with h.db.session() as s:
        for n in range(coordination.CASES_PAGE + 1):
            coordination.submit(s, pid, s.merge(h.user("anwen")), {"title": f"协调问题{n:02d}", "problem": "需县级协调", "material": "书面报告"})
    auth.login("bangongshi")
    first = client.get("/supervision").get_data(as_text=True)
    assert "第 1 / 2 页" in first and 'rel="next"' in first
    assert "协调问题30" in first and "协调问题00" not in first  # newest first
    second = client.get("/supervision?page=2").get_data(as_text=True)
    assert "协调问题00" in second and "协调问题30" not in second and 'rel="prev"' in second
    assert client.get("/supervision?page=99").get_data(as_text=True).count("协调问题00") == 1  # past the end: the last page


def test_notice_list_pages_through_the_months_without_reading_their_rows(web: Web) -> None:
    client, auth, h = web
    generated = datetime(2026, 1, 1, 1, tzinfo=timezone.utc)
    months = [(2024 + n // 12, n % 12 + 1) for n in range(notices.PER_PAGE + 2)]
    with h.db.session() as s:
        s.execute(insert(MonthlyNotice), [{"year": y, "month": m, "generated_at": generated, "rows": [{"unit_id": 1}]} for y, m in months])
    with h.db.session() as s:
        listed = notices.listing(s, 1)
        assert (listed.total, len(listed.rows), listed.rows[0].month) == (len(months), notices.PER_PAGE, 2)
        assert all("rows" in inspect(n).unloaded for n in listed.rows)
    auth.login("bangongshi")
    first = client.get("/notices").get_data(as_text=True)
    assert "第 1 / 2 页" in first and "2026年2月通报" in first and "2024年3月通报" in first and "2024年2月通报" not in first
    assert "生成于 2026-01-01 09:00" in first  # county time, not the stored UTC 01:00
    second = client.get("/notices?page=2").get_data(as_text=True)
    assert "2024年2月通报" in second and "2024年1月通报" in second and "2024年3月通报" not in second and 'rel="prev"' in second


def norm(value: object) -> object:
    """A cell as a number when it is one (the page prints 0.0 where the sheet stores 0)."""
    try:
        return float(str(value))
    except ValueError:
        return str(value)


def test_notice_page_and_export_show_the_same_rows_and_units_see_only_their_own(web: Web) -> None:
    client, auth, h = web
    with time_machine.travel(datetime(2026, 5, 10, 2, tzinfo=timezone.utc), tick=False):
        h.register(by="anwen", name="五月线索一")
        h.register(by="jinpan", name="五月线索二")
        with h.db.session() as s:
            notices.generate(s, 2026, 5)
    auth.login("bangongshi")
    page = client.get("/notices/2026/5").get_data(as_text=True)
    table = re.search(r'<table class="list" id="notice">(.*?)</table>', page, re.S).group(1)
    page_rows = [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", r, re.S)] for r in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]
    wb = load_workbook(io.BytesIO(client.get("/notices/2026/5.xlsx").data))
    ws = wb.active
    assert [c.value for c in ws[2]] == ["单位", "谋划项目数", "盯引项目数", "签约项目数", "落地项目数", "开工项目数", "到位资金(万元)", "红灯数", "黄灯数", "进展未及时更新(次)", "当月得分"]
    sheet_rows = [[norm(v) for v in r] for r in ws.iter_rows(min_row=3, values_only=True)]
    normed_rows = [[norm(v) for v in r] for r in page_rows]
    assert sheet_rows == normed_rows and any(r[0] == "安文街道" and r[1] == 1 for r in sheet_rows)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    auth.login("anwen")
    own = client.get("/notices/2026/5").get_data(as_text=True)
    assert "安文街道" in own and "金磐开发区" not in own


def test_two_confirmations_of_one_import_register_its_rows_once(web: Web) -> None:
    """A double click or a second tab: of two confirmations sent together, one imports and the other is told so."""
    client, auth, h = web
    second = web_parts(h.db, SupervisionHelper)[0]
    auth.login("bangongshi")
    Auth(second).login("bangongshi")
    content = workbook([[1, "并发导入测试项目", "浙江某材料公司", "工业", "是", 80000, "金磐开发区", "王志刚", "以商引商"]])
    empty = client.post("/import", data={"csrf_token": csrf_token(client, "/import")}, content_type="multipart/form-data")
    assert empty.status_code == 422 and "上传文件：请选择要导入的 .xlsx 文件" in empty.get_data(as_text=True)
    assert "(file)" not in empty.get_data(as_text=True)
    page = client.post("/import", data={"csrf_token": csrf_token(client, "/import"), "file": (io.BytesIO(content), "leads.xlsx")},
                       content_type="multipart/form-data").get_data(as_text=True)
    token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
    before = count(h)
    forms = [{"csrf_token": csrf_token(c, "/import"), "token": token} for c in (client, second)]
    start = threading.Barrier(2)
    answers: list[int] = []

    def confirm(c: FlaskClient, form: dict[str, str]) -> None:
        start.wait()
        answers.append(c.post("/import", data=form).status_code)

    threads = [threading.Thread(target=confirm, args=pair) for pair in zip((client, second), forms)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [303, 303] and count(h) == before + 1
    assert "已导入或已过期" in second.get("/import", follow_redirects=True).get_data(as_text=True) or \
        "已导入或已过期" in client.get("/import", follow_redirects=True).get_data(as_text=True)


def test_a_units_score_lines_page_through(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    from webui import assessment as pages
    from tests.assessment.test_totals import YEAR, fill
    client, auth, h = web
    fill(h.db, projects=120)
    monkeypatch.setattr(pages, "LINES_PER_PAGE", 3)  # the mechanics of the 200-line pages, with a handful of lines
    auth.login("bangongshi")
    ranking = client.get(f"/assessment?year={YEAR}&quarter=2").get_data(as_text=True)
    unit_id = re.findall(r'/assessment/units/(\d+)\?', ranking)[0]
    first = client.get(f"/assessment/units/{unit_id}?year={YEAR}&quarter=2").get_data(as_text=True)
    (pages_shown,) = re.findall(r"第 1 / (\d+) 页", first)
    assert int(pages_shown) > 1 and 'rel="next"' in first
    (link,) = re.findall(r'href="([^"]*page=2[^"]*)" rel="next"', first)
    second = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert f"第 2 / {pages_shown} 页" in second and 'rel="prev"' in second


def test_the_projects_behind_a_number_are_listed_fifty_to_a_page(web: Web) -> None:
    from engine.platform.models import Project
    client, auth, h = web
    ids = h.register_many([f"分页签约{n:02d}" for n in range(53)])
    with h.db.session() as s:
        for pid in ids:
            s.get_one(Project, pid).signed_date = datetime(2026, 3, 5).date()
    auth.login("xianzhang")
    for listing in ("event=signed&year=2026&month=3", "ids=" + ",".join(map(str, ids))):
        first = client.get(f"/dashboard/projects?{listing}").get_data(as_text=True)
        assert '<span class="count">53</span>' in first and first.count("分页签约") == 50 and "第 1 / 2 页" in first
        (link,) = re.findall(r'href="([^"]*page=2[^"]*)" rel="next"', first)
        second = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
        assert second.count("分页签约") == 3 and "第 2 / 2 页" in second and "分页签约52" in second
        assert client.get(f"/dashboard/projects?{listing}&page=9").get_data(as_text=True).count("分页签约") == 3  # past the end: the last page


def test_the_monthly_trend_counts_each_month_and_its_link_lists_those_projects_as_the_viewer_may_see_them(web: Web) -> None:
    from engine.platform.models import Project
    from engine.supervision import dashboard
    client, auth, h = web
    ours, theirs, late_night = h.register(name="三月签约甲"), h.register(by="xinwo", name="三月签约乙"), h.register(name="月末落地丙")
    with h.db.session() as s:
        s.get(Project, ours).signed_date = datetime(2026, 3, 2).date()
        s.get(Project, theirs).signed_date = datetime(2026, 3, 31).date()
        s.get(Project, late_night).landed_at = datetime(2026, 3, 31, 17, tzinfo=timezone.utc)  # 1 April, 01:00 in the county
    with h.db.session() as s:
        trend = dashboard.figures(s, 2026, datetime(2026, 6, 1, tzinfo=timezone.utc)).trend
        mine = dashboard.figures(s, 2026, datetime(2026, 6, 1, tzinfo=timezone.utc), h.user("anwen").unit_id).trend
    assert trend["签约"][2] == 2 and sum(trend["签约"]) == 2 and trend["落地"][3] == 1 and sum(trend["落地"]) == 1
    assert mine["签约"][2] == 1
    auth.login("xianzhang")
    page = client.get("/dashboard/projects?event=signed&year=2026&month=3").get_data(as_text=True)
    assert "三月签约甲" in page and "三月签约乙" in page and "月末落地丙" not in page
    assert "月末落地丙" in client.get("/dashboard/projects?event=landed&year=2026&month=4").get_data(as_text=True)
    bad = client.get("/dashboard/projects?event=signed&year=2026&month=13")
    assert bad.status_code == 422 and "月份" in bad.get_data(as_text=True)
    assert client.get("/dashboard/projects?event=closed&year=2026&month=3").status_code == 422
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    auth.login("anwen")
    page = client.get("/dashboard/projects?event=signed&year=2026&month=3").get_data(as_text=True)
    assert "三月签约甲" in page and "三月签约乙" not in page
    listed = client.get(f"/dashboard/projects?ids={ours},{theirs}").get_data(as_text=True)  # another town's id is not shown
    assert "三月签约甲" in listed and "三月签约乙" not in listed and '<span class="count">1</span>' in listed
