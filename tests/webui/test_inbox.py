"""我的待办, 已办 and the task page as an official sees them through the web."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy.orm import Session
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.platform import db as unit_of_work
from tests.conftest import FEASIBLE, INTENT, Helper, approval_form
from tests.webui.conftest import Auth, csrf_token


def _text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def test_header_badge_counts_my_tasks_on_every_page(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    for i in range(3):
        hw.register(by="anwen", name=f"徽标项目{i}")
    hw.register(by="xinwo", name="别的街道项目")
    auth.switch("anwen")
    for path in ("/", "/done", "/projects"):
        assert re.search(r'id="inbox-badge"[^>]*>3<', _text(client.get(path))), path
    auth.switch("xinwo")
    assert re.search(r'id="inbox-badge"[^>]*>1<', _text(client.get("/projects")))


def test_the_ledger_and_the_done_list_render_their_second_pages(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    for i in range(23):
        hw.complete(hw.register(by="anwen", name=f"台账分页{i:02d}"), "anwen", INTENT)
    auth.switch("anwen")
    for path in ("/projects", "/done"):
        first, second = _text(client.get(path)), _text(client.get(f"{path}?page=2"))
        assert "第 1 / 2 页" in first and 'rel="next"' in first and first.count("台账分页") == 20, path
        assert "第 2 / 2 页" in second and 'rel="prev"' in second and second.count("台账分页") == 3, path


def test_inbox_pages_filters_and_search(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    for i in range(25):
        hw.register(by="anwen", name=f"分页项目{i:02d}")
    first = hw.register(by="anwen", name="论证阶段项目")
    hw.complete(first, "anwen", INTENT)
    auth.switch("anwen")
    page1 = _text(client.get("/"))
    assert 'id="inbox-count">25<' in page1 and "第 1 / 2 页" in page1 and 'rel="next"' in page1
    page2 = _text(client.get("/?page=2"))
    assert page2.count('class="task-link"') == 5 and 'rel="prev"' in page2
    assert _text(client.get("/?page=abc")).count('class="task-link"') == 20
    found = _text(client.get("/?q=项目07"))
    assert found.count('class="task-link"') == 1 and "分页项目07" in found
    assert "没有符合条件的待办事项" in _text(client.get("/?stage=signing"))
    assert _text(client.get("/?stage=bogus")).count('class="task-link"') == 20
    newest = _text(client.get("/?sort=new"))
    assert newest.index("分页项目24") < newest.index("分页项目23")
    deputy_inbox = (auth.switch("fx_gongye"), _text(client.get("/")))[1]
    assert "论证阶段项目" in deputy_inbox and "可行性论证" in deputy_inbox


def test_overdue_tasks_are_marked_with_days_overdue(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    hw.register(by="anwen", name="到期项目")
    auth.switch("anwen")
    assert 'class="overdue"' not in _text(client.get("/")) and "逾期" not in _text(client.get("/")).split("</form>")[-1]
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(days=35), tick=False):
        auth.switch("anwen")  # a signed session cookie lives 31 days
        page = _text(client.get("/"))
        assert 'class="overdue"' in page and "逾期5天" in page and "已逾期 1 件" in page
        assert _text(client.get("/?overdue=1")).count('class="task-link"') == 1


def test_done_lists_what_i_completed_with_opinion_and_time(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    pid = hw.register(by="anwen", name="已办项目")
    auth.switch("anwen")
    task = hw.only_ready(pid)
    token = csrf_token(client, f"/tasks/{task.id}")
    client.post(f"/tasks/{task.id}", data={"has_intent": "true", "opinion": "投资方已到现场考察", "csrf_token": token})
    page = _text(client.get("/done"))
    assert "已办项目" in page and "确认投资意向" in page and "投资方已到现场考察" in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", page)
    assert "已办项目" not in _text(client.get("/"))


def test_task_page_shows_summary_form_earlier_opinions_and_diagram(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    pid = hw.register(by="anwen", name="审批表项目", total_investment=35000)
    hw.complete(pid, "anwen", {"has_intent": True, "opinion": "意向明确，拟投资3.5亿元"})
    hw.complete(pid, "fx_gongye", {"decision": "pass", "opinion": "符合产业导向，同意"})
    task = hw.only_ready(pid)
    auth.switch("anwen")
    page = _text(client.get(f"/tasks/{task.id}"))
    assert "填写落地审批表" in page and "3.5亿元" in page
    assert "意向明确，拟投资3.5亿元" in page and "符合产业导向，同意" in page and "王志刚" in page
    assert 'name="needs_land" value="true"' in page and '<span class="unit">亩</span>' in page
    assert '<span class="req"' in page and f'data-url="/projects/{pid}/diagram.json"' in page
    assert "build/viewer.js" in page


def test_bad_value_keeps_input_shows_message_and_saves_nothing(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    pid = hw.register(by="anwen", name="校验项目")
    hw.complete(pid, "anwen", INTENT)
    hw.complete(pid, "fx_gongye", FEASIBLE)
    task = hw.only_ready(pid)
    auth.switch("anwen")
    token = csrf_token(client, f"/tasks/{task.id}")
    bad = client.post(
        f"/tasks/{task.id}",
        data={"needs_land": "true", "land_mu": "四十亩", "one_case_support": "false", "summary": "新建厂房", "csrf_token": token},
    )
    page = _text(bad)
    assert bad.status_code == 422
    assert "用地面积必须是0到99999999.99之间的数字（亩），收到“四十亩”" in page and 'value="四十亩"' in page and "新建厂房</textarea>" in page
    assert hw.only_ready(pid).id == task.id and hw.project(pid).land_mu == 0
    ok = client.post(
        f"/tasks/{task.id}",
        data={"needs_land": "true", "land_mu": "40", "one_case_support": "false", "summary": "新建厂房", "csrf_token": token},
    )
    assert ok.status_code == 303 and hw.only_ready(pid).bpmn_id == "assessment_meeting"


def test_completed_task_is_read_only_and_hidden_from_other_towns(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    pid = hw.register(by="anwen", name="只读项目")
    task = hw.only_ready(pid)
    hw.complete(pid, "anwen", {"has_intent": True, "opinion": "同意推进"})
    auth.switch("anwen")
    page = _text(client.get(f"/tasks/{task.id}"))
    assert "已由 钱芳 于" in page and "同意推进" in page and "<form class=\"card task-form\"" not in page
    auth.switch("xinwo")
    assert client.get(f"/tasks/{task.id}").status_code == 403
    auth.switch("bangongshi")
    assert client.get(f"/tasks/{task.id}").status_code == 200


def test_meeting_step_of_an_ordinary_project_goes_to_the_meeting(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    ordinary = hw.register(by="anwen", name="普通项目")
    major = hw.register(by="anwen", name="重大项目", is_major=True)
    for pid in (ordinary, major):
        hw.complete(pid, "anwen", INTENT)
        hw.complete(pid, "fx_gongye", FEASIBLE)
        hw.complete(pid, "anwen", approval_form(True, 40))
    auth.switch("yanpan")
    task = hw.only_ready(ordinary)
    page = _text(client.get(f"/tasks/{task.id}"))
    assert "须提交会议集中审议" in page and 'href="/meetings"' in page
    token = csrf_token(client, "/")
    refused = client.post(f"/tasks/{task.id}", data={"decision": "pass", "opinion": "同意", "csrf_token": token})
    assert refused.status_code == 409 and hw.only_ready(ordinary).id == task.id
    major_task = hw.only_ready(major)
    assert "随时单独研判" in _text(client.get(f"/tasks/{major_task.id}"))
    done = client.post(f"/tasks/{major_task.id}", data={"decision": "pass", "opinion": "重大项目研判通过", "csrf_token": token})
    assert done.status_code == 303 and hw.only_ready(major).bpmn_id == "leading_group_review"


def test_error_pages_speak_chinese_and_sign_in_returns_to_the_page(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    pid = hw.register(by="anwen", name="回跳项目")
    to_login = client.get(f"/projects/{pid}")
    assert to_login.status_code == 302 and "next=" in to_login.headers["Location"]
    token = csrf_token(client, "/login")
    back = client.post(f"/login?next=/projects/{pid}", data={"username": "anwen", "password": "zhikong2026", "csrf_token": token})
    assert back.headers["Location"] == f"/projects/{pid}"
    auth.logout()
    token = csrf_token(client, "/login")
    elsewhere = client.post("/login?next=//evil.example/", data={"username": "anwen", "password": "zhikong2026", "csrf_token": token})
    assert elsewhere.headers["Location"] == "/"
    missing = client.get("/tasks/999999")
    assert missing.status_code == 404 and "页面不存在" in _text(missing)
    wrong_method = client.delete("/")
    assert wrong_method.status_code == 405 and "不支持的操作" in _text(wrong_method)
    task = hw.only_ready(pid)
    expired = client.post(f"/tasks/{task.id}", data={"has_intent": "true", "csrf_token": "stale"})
    assert expired.status_code == 400 and "页面已过期" in _text(expired) and "没有保存" in _text(expired)
    assert hw.only_ready(pid).id == task.id


def test_completing_a_task_through_the_page_is_one_unit_of_work(client: FlaskClient, auth: Auth, hw: Helper,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    pid = hw.register(by="anwen", name="一次提交项目")
    auth.switch("anwen")
    task = hw.only_ready(pid)
    token = csrf_token(client, f"/tasks/{task.id}")
    commits: list[Session] = []
    real = unit_of_work.commit

    def counted(session: Session) -> None:
        commits.append(session)
        real(session)

    monkeypatch.setattr(unit_of_work, "commit", counted)
    done = client.post(f"/tasks/{task.id}", data={"has_intent": "true", "opinion": "一次办结", "csrf_token": token})
    assert len(commits) == 2  # the sign-in's user load, then the completion with every check in it
    assert done.status_code == 303 and hw.only_ready(pid).bpmn_id == "feasibility_review"
