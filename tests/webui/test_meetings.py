"""Meetings through the web: open with date and attendees, decide the agenda in one submission, print minutes."""
from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine.platform.models import Event
from engine.projects import meetings
from tests.conftest import FEASIBLE, INTENT, Helper, approval_form
from tests.webui.conftest import Auth, csrf_token


def _text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def _waiting(hw: Helper, name: str, by: str = "anwen") -> int:
    pid = hw.register(by=by, name=name)
    hw.complete(pid, by, INTENT)
    hw.complete(pid, "fx_gongye", FEASIBLE)
    hw.complete(pid, by, approval_form(True, 40))
    return pid


def test_secretary_opens_decides_and_prints_minutes(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    a = _waiting(hw, "冷链物流项目")
    b = _waiting(hw, "新材料项目", by="xinwo")
    auth.login("yanpan")
    index = _text(client.get("/meetings"))
    assert re.search(r'data-kind="assessment">\s*<h2>研判小组会议</h2>\s*<p class="big-number"><b>2</b>', index)
    assert 'data-kind="leading_group"' not in index
    form = _text(client.get("/meetings/new?kind=assessment"))
    assert "冷链物流项目" in form and "新材料项目" in form
    token = csrf_token(client, "/meetings/new?kind=assessment")
    bad = client.post("/meetings/new", data={"kind": "assessment", "held_on": "2026-02-30", "attendees": "", "host": "县委副书记", "csrf_token": token})
    assert bad.status_code == 422 and "会议日期不是有效日期" in _text(bad) and "参会人员不能为空" in _text(bad)
    assert 'value="县委副书记"' in _text(bad)
    with hw.db.session() as s:
        assert meetings.recent(s) == []
    opened = client.post("/meetings/new", data={"kind": "assessment", "held_on": "2026-11-20", "attendees": "县委副书记、发改局、经商局", "csrf_token": token})
    assert opened.status_code == 303
    meeting_url = opened.headers["Location"]
    agenda = _text(client.get(meeting_url))
    assert "2026年第1次研判小组会议" in agenda and agenda.count('class="card agenda-item"') == 2
    items = dict(re.findall(r'id="item-(\d+)" data-project="(\d+)"', agenda))
    by_project = {int(p): i for i, p in items.items()}
    token = csrf_token(client, meeting_url)
    incomplete = client.post(meeting_url, data={
        f"item-{by_project[a]}-decision": "pass", f"item-{by_project[a]}-opinion": "同意",
        f"item-{by_project[b]}-decision": "reject", "csrf_token": token})
    assert incomplete.status_code == 422 and "意见为必填项" in _text(incomplete)
    assert 'value="pass" checked' in _text(incomplete)
    assert [hw.only_ready(p).bpmn_id for p in (a, b)] == ["assessment_meeting"] * 2
    done = client.post(meeting_url, data={
        f"item-{by_project[a]}-decision": "pass", f"item-{by_project[a]}-opinion": "同意提交领导小组审议",
        f"item-{by_project[b]}-decision": "reject", f"item-{by_project[b]}-opinion": "不符合产业导向",
        "csrf_token": token})
    assert done.status_code == 303 and done.headers["Location"].endswith("/minutes")
    minutes = _text(client.get(done.headers["Location"]))
    assert "2026年第1次研判小组会议纪要" in minutes and "县委副书记、发改局、经商局" in minutes
    assert "同意提交领导小组审议" in minutes and "不符合产业导向" in minutes and "不通过" in minutes and "通过" in minutes
    assert hw.only_ready(a).bpmn_id == "leading_group_review" and hw.project(b).status == "closed"
    timeline = _text(client.get(f"/projects/{a}"))
    assert "2026年第1次研判小组会议（2026-11-20）审议：通过" in timeline


def test_office_convenes_secretary_records_others_are_refused(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    _waiting(hw, "办公室召集项目")
    auth.login("anwen")
    assert client.get("/meetings").status_code == 403
    assert client.get("/meetings/new?kind=assessment").status_code == 403
    auth.switch("lingdao")
    assert client.get("/meetings/new?kind=assessment").status_code == 403
    assert client.get("/meetings/new?kind=nonsense").status_code == 404


def test_opening_a_meeting_without_its_kind_offers_the_kinds_one_may_convene(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    _waiting(hw, "选择会议项目")
    auth.login("yanpan")  # the assessment meeting's secretary convenes that kind only
    only = client.get("/meetings/new")
    assert only.status_code == 302 and only.headers["Location"].endswith("/meetings/new?kind=assessment")
    auth.switch("bangongshi")  # the office convenes every kind
    page = _text(client.get("/meetings/new"))
    assert "请选择会议类型" in page and "研判小组会议" in page and "领导小组会议" in page
    assert 'href="/meetings/new?kind=assessment"' in page and "1 个项目待审议" in page
    auth.switch("bangongshi")
    token = csrf_token(client, "/meetings/new?kind=assessment")
    opened = client.post("/meetings/new", data={"kind": "assessment", "held_on": "2026-11-20", "attendees": "研判小组成员", "csrf_token": token})
    meeting_url = opened.headers["Location"]
    page = _text(client.get(meeting_url))
    assert "待会议秘书记录结果" in page and "提交全部会议结果" not in page
    token = csrf_token(client, meeting_url)
    assert client.post(meeting_url, data={"csrf_token": token}).status_code == 403
    auth.switch("yanpan")
    assert "提交全部会议结果" in _text(client.get(meeting_url))


def test_the_approval_form_is_prefilled_from_the_registration_and_a_change_is_logged(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    pid = hw.register(by="anwen", name="预填项目", needs_land=True, land_mu=60, fund_request=500)
    hw.complete(pid, "anwen", INTENT)
    hw.complete(pid, "fx_gongye", FEASIBLE)
    task = hw.only_ready(pid)
    auth.login("anwen")
    page = _text(client.get(f"/tasks/{task.id}"))
    assert 'name="land_mu" inputmode="decimal" autocomplete="off" value="60"' in page
    assert 'name="fund_request" inputmode="decimal" autocomplete="off" value="500"' in page
    assert 'name="needs_land" value="true" checked' in page and 'name="one_case_support" value="false" checked' in page
    form = {"csrf_token": csrf_token(client, f"/tasks/{task.id}"), "needs_land": "true", "land_mu": "55", "one_case_support": "false",
            "fund_request": "500", "summary": "概况", "opinion": "请审议"}
    assert client.post(f"/tasks/{task.id}", data=form).status_code == 303
    assert hw.project(pid).land_mu == 55
    with hw.db.session() as s:
        event = s.scalars(select(Event).where(Event.project_id == pid, Event.kind == "complete").order_by(Event.id.desc())).first()
    assert event is not None and event.summary.endswith("；修改项目信息：用地面积 60→55")
    assert event.payload["record_changes"] == {"land_mu": ["60", "55"]}


def test_a_meeting_that_defers_every_project_closes_only_when_confirmed(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    _waiting(hw, "暂缓项目")
    auth.login("yanpan")
    token = csrf_token(client, "/meetings/new?kind=assessment")
    opened = client.post("/meetings/new", data={"kind": "assessment", "held_on": "2026-11-20", "attendees": "县委副书记", "csrf_token": token})
    url = opened.headers["Location"]
    item = re.search(r'name="(item-\d+)-decision"', _text(client.get(url))).group(1)
    form = {"csrf_token": csrf_token(client, url), f"{item}-decision": "__defer__", f"{item}-opinion": "材料不全"}
    warned = client.post(url, data=form)
    assert warned.status_code == 422 and "全部暂缓审议" in _text(warned) and 'name="all_deferred" value="1"' in _text(warned)
    assert "进行中" in _text(client.get("/meetings"))
    assert client.post(url, data={**form, "all_deferred": "1"}).status_code == 303
