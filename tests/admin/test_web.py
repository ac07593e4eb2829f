"""Admin pages over HTTP: role checks, CSRF, inline errors that store nothing, repairs that stick."""
from __future__ import annotations

import pytest

import json
import re
from html import unescape

from sqlalchemy import select
from werkzeug.test import TestResponse
from flask.testing import FlaskClient

from engine.platform.models import Event, Instance, Task
from tests.admin.bundles import with_division_script
from tests.definitions.bundles import BUNDLE
from webui.admin import PAGE_SIZE
from tests.admin.conftest import AdminHelper, WebAdmin
from tests.conftest import INTENT
from tests.webui.conftest import Auth


def _text(response: TestResponse) -> str:
    return unescape(response.get_data(as_text=True))


def _admin_events(h: AdminHelper) -> list[Event]:
    with h.db.session() as s:
        return list(s.scalars(select(Event).where(Event.kind.like("admin_%")).order_by(Event.id)))


def test_pages_need_sign_in_and_the_admin_role(ahs: AdminHelper, client: FlaskClient, web: WebAdmin) -> None:
    pid = ahs.register()
    iid = ahs.instance(pid).id
    assert "/login" in client.get("/admin/").headers["Location"]
    web.login("anwen")
    for path in ("/admin/", f"/admin/instances/{iid}", "/admin/users", "/admin/audit", "/admin/definitions/1/heat"):
        assert client.get(path).status_code == 403, path
    response = client.post(f"/admin/instances/{iid}/suspend", data={"reason": "试图挂起", "csrf_token": web.token("/")})
    assert response.status_code == 403
    assert ahs.instance(pid).status == "running"


def test_console_lists_stuck_projects_with_reasons_and_counts(ahs: AdminHelper, client: FlaskClient, web: WebAdmin) -> None:
    ahs.register(name="正常项目")
    ahs.deploy(with_division_script())
    broken = ahs.register(name="除零项目")
    web.login()
    page = _text(client.get("/admin/"))
    stuck = page[page.index('id="stuck"'):page.index('class="stage-counts status-counts"')]
    assert "除零项目" in stuck and "正常项目" not in stuck
    assert "ZeroDivisionError" in stuck and "第 2 行：investment_per_mu = base / land_mu" in stuck
    assert re.search(r'data-status="error"[^>]*>出错<b>1</b>', page)
    assert re.search(r'data-status="running"[^>]*>运行中<b>1</b>', page)
    filtered = _text(client.get("/admin/?status=error"))
    table = filtered[filtered.index('id="instances"'):]
    assert "除零项目" in table and "正常项目" not in table
    assert f'href="/admin/instances/{ahs.instance(broken).id}"' in table


def test_the_stuck_card_names_a_few_of_each_kind_and_says_the_filters_list_the_rest(
    ahs: AdminHelper, client: FlaskClient, web: WebAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    import webui.admin

    monkeypatch.setattr(webui.admin, "STUCK_SHOWN", 2)
    ahs.deploy(with_division_script())
    for n in range(3):
        ahs.register(name=f"除零项目{n}")
    web.login()
    page = _text(client.get("/admin/"))
    stuck = page[page.index('id="stuck"'):page.index('class="stage-counts status-counts"')]
    assert stuck.count('data-kind="error"') == 2 and 'id="stuck-count">2+<' in stuck
    assert "每类最多列出 2 项" in stuck
    assert re.search(r'data-status="error"[^>]*>出错<b>3</b>', page)  # the counts and the filtered list still hold all


def test_retry_form_errors_are_inline_and_store_nothing(ahs: AdminHelper, client: FlaskClient, web: WebAdmin) -> None:
    ahs.deploy(with_division_script())
    pid = ahs.register()
    iid = ahs.instance(pid).id
    web.login()
    page = _text(client.get(f"/admin/instances/{iid}"))
    assert "“计算亩均投资”（calc_density）执行出错：ZeroDivisionError" in page
    data = json.loads(re.search(r'<textarea id="retry-data"[^>]*>(.*?)</textarea>', page, re.S).group(1))
    assert data["land_mu"] == 0.0
    path = f"/admin/instances/{iid}"
    bad_json = web.post(f"{path}/retry", {"data": "{land_mu: 20", "reason": "补正", "form_id": "retry"}, path)
    assert bad_json.status_code == 422 and "任务数据不是有效的 JSON" in _text(bad_json)
    no_reason = web.post(f"{path}/retry", {"data": json.dumps({**data, "land_mu": 20}), "reason": " ", "form_id": "retry"}, path)
    assert no_reason.status_code == 422 and "操作原因为必填项" in _text(no_reason)
    assert '"land_mu": 20' in _text(no_reason)  # the administrator's input stays in the form
    assert ahs.instance(pid).status == "error" and _admin_events(ahs) == []
    done = web.post(f"{path}/retry", {"data": json.dumps({**data, "land_mu": 20}), "reason": "补正用地面积", "form_id": "retry"}, path)
    assert done.status_code == 303
    assert ahs.instance(pid).status == "running" and ahs.only_ready(pid).bpmn_id == "confirm_intent"
    [logged] = _admin_events(ahs)
    assert logged.payload["changes"] == {"land_mu": {"before": 0.0, "after": 20}}


def test_forms_without_csrf_token_are_refused(ahs: AdminHelper, client: FlaskClient, web: WebAdmin) -> None:
    pid = ahs.register()
    iid = ahs.instance(pid).id
    web.login()
    response = client.post(f"/admin/instances/{iid}/suspend", data={"reason": "无令牌"})
    assert response.status_code == 400
    assert ahs.instance(pid).status == "running"


def test_suspend_resume_and_terminate_through_the_page(ahs: AdminHelper, client: FlaskClient, web: WebAdmin) -> None:
    pid = ahs.register()
    iid = ahs.instance(pid).id
    path = f"/admin/instances/{iid}"
    web.login()
    task_id = ahs.only_ready(pid).id
    assert web.post(f"{path}/suspend", {"reason": "投资方要求暂缓"}, path).status_code == 303
    assert ahs.instance(pid).status == "suspended"
    official = client.application.test_client()  # the official whose task it was sees who suspended it, when and why
    Auth(official).login("anwen")
    told = _text(official.get(f"/tasks/{task_id}"))
    assert re.search(r"所在流程已于\d{4}-\d\d-\d\d \d\d:\d\d由\S+挂起，原因：投资方要求暂缓。流程恢复后方可办理", told)
    assert "流程已变化" not in told
    again = web.post(f"{path}/suspend", {"reason": "再次挂起"}, path)
    assert again.status_code == 409 and "只有运行中、出错的流程可以挂起" in _text(again)
    assert web.post(f"{path}/resume", {"reason": "继续"}, path).status_code == 303
    unconfirmed = web.post(f"{path}/terminate", {"reason": "重复登记", "form_id": "terminate"}, path)
    assert unconfirmed.status_code == 422 and "确认终止" in _text(unconfirmed)
    assert web.post(f"{path}/terminate", {"reason": "重复登记", "confirm": "yes"}, path).status_code == 303
    assert ahs.instance(pid).status == "terminated" and ahs.project(pid).status == "closed"
    kinds = [e.kind for e in _admin_events(ahs)]
    assert kinds == ["admin_suspend", "admin_resume", "admin_terminate"]


def test_move_shows_a_confirmation_then_moves(ahs: AdminHelper, client: FlaskClient, web: WebAdmin) -> None:
    pid = ahs.register()
    iid = ahs.instance(pid).id
    web.login()
    preview = _text(client.get(f"/admin/instances/{iid}/move?target=fill_approval_form"))
    cancelled = preview[preview.index('id="plan-cancelled"'):preview.index('id="plan-ready"')]
    ready = preview[preview.index('id="plan-ready"'):]
    assert "确认投资意向" in cancelled and "填写落地审批表" in ready.split("</ul>")[0]
    assert ahs.only_ready(pid).bpmn_id == "confirm_intent"
    move = f"/admin/instances/{iid}/move"
    refused = web.post(move, {"target": "fill_approval_form", "reason": ""}, f"{move}?target=fill_approval_form")
    assert refused.status_code == 422 and "操作原因为必填项" in _text(refused)
    assert ahs.only_ready(pid).bpmn_id == "confirm_intent"
    done = web.post(move, {"target": "fill_approval_form", "reason": "线下已完成"}, f"{move}?target=fill_approval_form")
    assert done.status_code == 303 and ahs.only_ready(pid).bpmn_id == "fill_approval_form"
    bad = client.get(f"/admin/instances/{iid}/move?target=nonexistent&form_id=move")
    assert bad.status_code == 422 and "目标环节(target)“nonexistent”不是本流程中的活动" in _text(bad)


def test_deactivating_an_official_flags_the_task_on_the_instance_page(ahs: AdminHelper, client: FlaskClient, web: WebAdmin) -> None:
    pid = ahs.register(by="anwen")
    iid = ahs.instance(pid).id
    web.login()
    anwen = ahs.user("anwen").id
    missing = web.post(f"/admin/users/{anwen}", {"active": "0", "reason": ""}, "/admin/users")
    assert missing.status_code == 422 and "操作原因为必填项" in _text(missing)
    assert ahs.user("anwen").active
    assert web.post(f"/admin/users/{anwen}", {"active": "0", "reason": "调离"}, "/admin/users").status_code == 303
    page = _text(client.get(f"/admin/instances/{iid}"))
    assert "无人可办：安文街道没有在岗且持有“落地单位”角色的人员" in page
    console = _text(client.get("/admin/"))
    assert "“确认投资意向”无人可办" in console
    task = ahs.only_ready(pid)
    response = web.post(f"/admin/tasks/{task.id}/reassign", {"user_id": str(ahs.user("xinwo").id), "reason": "新渥代办"}, f"/admin/instances/{iid}")
    assert response.status_code == 303
    with ahs.db.session() as s:
        row = s.get(Task, task.id)
        assert row.assignee_id == ahs.user("xinwo").id and row.orphaned_at is None


def test_heat_and_audit_pages(ahs: AdminHelper, client: FlaskClient, web: WebAdmin) -> None:
    pid = ahs.register()
    ahs.complete(pid, "anwen", INTENT)
    with ahs.db.session() as s:
        definition_id = s.scalars(select(Instance.definition_id)).first()
    web.login()
    heat = _text(client.get(f"/admin/definitions/{definition_id}/heat"))
    assert "<h1>项目全生命周期 第1版" in heat and "<title>热力图 · 项目全生命周期" in heat  # the process's name, not its id
    row = re.search(r'data-activity="feasibility_review">(.*?)</tr>', heat, re.S).group(1)
    assert re.findall(r'<td class="num">([^<]*)</td>', row)[0] == "1"
    diagram = json.loads(re.search(r'<script type="application/json" id="diagram-data">(.*?)</script>', heat, re.S).group(1))
    assert diagram["heat"]["feasibility_review"]["running"] == 1 and "<bpmn:definitions" in diagram["xml"]
    checked = _text(web.post("/admin/audit", {}, "/admin/audit"))
    assert re.search(r'id="audit-verdict" data-ok="1">审计链完整：共 \d+ 条事件', checked)


def test_the_console_list_renders_every_page(ahs: AdminHelper, client: FlaskClient, web: WebAdmin) -> None:
    for number in range(PAGE_SIZE + 1):
        ahs.register(name=f"分页项目{number}")
    web.login()
    first, second = client.get("/admin/"), client.get("/admin/?page=2")
    assert first.status_code == second.status_code == 200
    assert 'href="/admin/?page=2"' in _text(first).replace("&amp;", "&")
    assert "分页项目0" in _text(second)


def test_the_heat_view_of_a_decision_table_says_there_is_no_diagram(ahs: AdminHelper, client: FlaskClient, web: WebAdmin) -> None:
    decision_id = ahs.deploy(BUNDLE, "assessment_scoring")
    web.login()
    response = client.get(f"/admin/definitions/{decision_id}/heat")
    assert response.status_code == 404
    assert "是决策表，没有流程图可显示办理热度" in _text(response)
