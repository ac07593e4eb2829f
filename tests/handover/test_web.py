"""委托 pages: the task page's delegate form, the inbox's mark, 我的委托 with a leave period, taking back; CSRF, role and unit checks."""
from __future__ import annotations

from datetime import timedelta
from typing import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.platform.clock import local_today
from engine.platform.db import Database
from engine.platform.models import Delegation, Task
from tests.conftest import Helper, web_parts
from tests.handover.test_claim import group_task, second_official
from tests.handover.test_delegation import deputy_task
from tests.webui.conftest import Auth, csrf_token


@pytest.fixture
def web(db: Database) -> Iterator[tuple[FlaskClient, Auth, Helper]]:
    yield web_parts(db, Helper)


def text(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def between(page: str, start: str, end: str) -> str:
    """The part of a page from `start` to the next `end`."""
    assert start in page, start
    return page[page.index(start):].split(end, 1)[0]


def test_delegate_from_the_task_page_complete_as_the_delegate_and_take_back(web: tuple[FlaskClient, Auth, Helper]) -> None:
    client, auth, h = web
    task = deputy_task(h)
    auth.login("fx_gongye")
    form = between(text(client, f"/tasks/{task.id}"), 'id="delegate-form"', "</form>")
    assert "李红梅" in form and "赵永强" in form and "钱芳" not in form and "郑国强" not in form  # colleagues of the unit and role only
    assert client.post(f"/tasks/{task.id}/delegate", data={"delegate_id": h.user("fx_wenlv").id}).status_code == 400  # no CSRF token
    token = csrf_token(client, f"/tasks/{task.id}")
    refused = client.post(f"/tasks/{task.id}/delegate", data={"delegate_id": h.user("anwen").id, "csrf_token": token})
    assert refused.status_code == 422 and "只能委托给本单位（县人民政府）的同事：钱芳属于安文街道" in refused.get_data(as_text=True)
    done = client.post(f"/tasks/{task.id}/delegate", data={"delegate_id": h.user("fx_wenlv").id, "reason": "出差", "csrf_token": token},
                       follow_redirects=True)
    body = done.get_data(as_text=True)
    assert "已委托李红梅办理" in body and "王志刚已委托李红梅办理此事项。" in body and 'id="delegate-form"' not in body
    assert "李红梅（受王志刚委托）" in between(body, "当前办理", "</section>")
    auth.switch("fx_wenlv")
    inbox = text(client, "/")
    assert f'data-task="{task.id}"' in inbox and "受王志刚委托" in inbox
    page = text(client, f"/tasks/{task.id}")
    assert "您受王志刚委托办理此事项。" in page and "收回委托" not in page
    token = csrf_token(client, f"/tasks/{task.id}")
    with h.db.session() as s:
        row_id = s.scalars(select(Delegation.id)).one()
    assert client.post(f"/delegations/{row_id}/revoke", data={"csrf_token": token}).status_code == 403
    auth.switch("fx_gongye")
    token = csrf_token(client, f"/tasks/{task.id}")
    back = client.post(f"/delegations/{row_id}/revoke", data={"csrf_token": token, "back": "task"}, follow_redirects=True)
    assert "已收回委托" in back.get_data(as_text=True) and 'id="delegate-form"' in back.get_data(as_text=True)
    auth.switch("fx_wenlv")
    assert client.get(f"/tasks/{task.id}").status_code == 403


def test_the_delegate_completes_the_task_page_form(web: tuple[FlaskClient, Auth, Helper]) -> None:
    client, auth, h = web
    task = deputy_task(h)
    auth.login("fx_gongye")
    token = csrf_token(client, f"/tasks/{task.id}")
    client.post(f"/tasks/{task.id}/delegate", data={"delegate_id": h.user("fx_wenlv").id, "csrf_token": token})
    auth.switch("fx_wenlv")
    token = csrf_token(client, f"/tasks/{task.id}")
    response = client.post(f"/tasks/{task.id}", data={"decision": "pass", "opinion": "论证通过", "csrf_token": token})
    assert response.status_code == 303
    with h.db.session() as s:
        assert s.get_one(Task, task.id).completed_by == h.user("fx_wenlv").id
    timeline = text(client, f"/projects/{task.project_id}")
    assert "李红梅" in between(timeline, 'id="timeline"', "</ol>") and "受王志刚委托" in between(timeline, 'id="timeline"', "</ol>")


def test_a_leave_period_from_my_delegations(web: tuple[FlaskClient, Auth, Helper]) -> None:
    client, auth, h = web
    task = deputy_task(h)
    auth.login("fx_gongye")
    page = text(client, "/delegations")
    assert 'id="period-form"' in page and "赵永强" in page
    token = csrf_token(client, "/delegations")
    today = local_today()
    bad = client.post("/delegations", data={"csrf_token": token, "delegate_id": h.user("fx_nongye").id,
                                            "first": str(today + timedelta(days=3)), "last": str(today)})
    assert bad.status_code == 422 and "结束日期不能早于开始日期" in bad.get_data(as_text=True)
    missing = client.post("/delegations", data={"csrf_token": token, "first": "2026-13-01", "last": ""})
    body = missing.get_data(as_text=True)
    assert missing.status_code == 422 and "请选择受托人" in body and "开始日期不是有效日期" in body and "结束日期为必填项" in body
    with h.db.session() as s:
        assert s.scalars(select(Delegation)).all() == []
    ok = client.post("/delegations", data={"csrf_token": token, "delegate_id": h.user("fx_nongye").id, "first": str(today),
                                           "last": str(today + timedelta(days=4)), "reason": "年休假"}, follow_redirects=True)
    body = ok.get_data(as_text=True)
    assert "期满自动交还" in body and "生效中" in body and "年休假" in body
    auth.switch("fx_nongye")
    assert "受王志刚委托" in text(client, "/")
    received = text(client, "/delegations")
    assert 'id="received"' in received and "王志刚" in received
    assert client.get(f"/tasks/{task.id}").status_code == 200


def test_delegation_messages_in_english(web: tuple[FlaskClient, Auth, Helper]) -> None:
    client, auth, h = web
    task = deputy_task(h)
    auth.login("fx_gongye")
    client.set_cookie("lang", "en")
    token = csrf_token(client, f"/tasks/{task.id}")
    refused = client.post(f"/tasks/{task.id}/delegate", data={"delegate_id": h.user("xianzhang").id, "csrf_token": token})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Only a colleague holding the same role" in body
    assert "My delegations" in text(client, "/delegations")


def test_claim_and_release_from_the_task_page(web: tuple[FlaskClient, Auth, Helper]) -> None:
    client, auth, h = web
    second_official(h)
    task = group_task(h)
    auth.login("anwen")
    assert 'id="claim-form"' in text(client, f"/tasks/{task.id}")
    assert client.post(f"/tasks/{task.id}/claim").status_code == 400  # no CSRF token
    token = csrf_token(client, f"/tasks/{task.id}")
    body = client.post(f"/tasks/{task.id}/claim", data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert "您已认领此事项" in body and 'id="release-form"' in body and "我已认领" in text(client, "/")
    auth.switch("anwen2")
    assert "钱芳已认领" in between(text(client, "/"), f'data-task="{task.id}"', "</tr>")
    page = text(client, f"/tasks/{task.id}")
    assert 'id="held"' in page and "task-form" not in page and 'id="release-form"' not in page
    token = csrf_token(client, f"/tasks/{task.id}")
    assert client.post(f"/tasks/{task.id}", data={"has_intent": "true", "opinion": "有意向", "csrf_token": token}).status_code == 403
    refused = client.post(f"/tasks/{task.id}/claim", data={"csrf_token": token})
    assert refused.status_code == 409 and "已由钱芳认领" in refused.get_data(as_text=True)
    assert client.post(f"/tasks/{task.id}/release", data={"csrf_token": token}).status_code == 403
    client.set_cookie("lang", "en")
    assert "Claimed by 钱芳" in text(client, "/")
    client.set_cookie("lang", "zh")
    auth.switch("anwen")
    token = csrf_token(client, f"/tasks/{task.id}")
    body = client.post(f"/tasks/{task.id}/release", data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert "已释放认领" in body and 'id="claim-form"' in body
    with h.db.session() as s:
        assert s.get_one(Task, task.id).claimed_by is None
