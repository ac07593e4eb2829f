"""Sign-in, the plain task list and completing a task through the web form."""
from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.workflow import runtime
from engine.platform.errors import AlreadyCompleted
from engine.platform.models import Event, Task, User
from tests.conftest import Helper
from tests.webui.conftest import Auth, csrf_token
from webui.i18n import local_datetime


def test_every_page_requires_sign_in(client: FlaskClient) -> None:
    for path in ("/", "/tasks/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_wrong_password_gives_one_message_and_ten_failures_lock(client: FlaskClient, auth: Auth) -> None:
    for _ in range(10):
        response = auth.login("anwen", "wrong")
        assert response.status_code == 401
        assert "用户名或密码错误" in response.get_data(as_text=True)
    assert "用户名或密码错误" in auth.login("nobody", "wrong").get_data(as_text=True)
    locked = auth.login("anwen")
    assert locked.status_code == 429 and "锁定" in locked.get_data(as_text=True)


def test_session_cookie_is_httponly_and_samesite(client: FlaskClient, auth: Auth) -> None:
    response = auth.login("anwen")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_post_without_csrf_token_is_refused(client: FlaskClient) -> None:
    response = client.post("/login", data={"username": "anwen", "password": "x"})
    assert response.status_code == 400


def test_official_sees_and_completes_a_task_with_inline_errors(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    pid = hw.register(by="anwen", name="网页办理测试项目")
    task = hw.only_ready(pid)
    auth.login("anwen")
    inbox = client.get("/").get_data(as_text=True)
    assert "网页办理测试项目" in inbox and "确认投资意向" in inbox
    token = csrf_token(client, f"/tasks/{task.id}")
    bad = client.post(f"/tasks/{task.id}", data={"has_intent": "false", "opinion": "<script>x</script>", "csrf_token": token})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "中止原因为必填项" in page and "&lt;script&gt;" in page and "<script>x" not in page
    assert hw.only_ready(pid).id == task.id
    ok = client.post(f"/tasks/{task.id}", data={"has_intent": "true", "opinion": "有意向", "csrf_token": token})
    assert ok.status_code == 303
    assert hw.only_ready(pid).bpmn_id == "feasibility_review"


def _stored(hw: Helper) -> tuple[int, int]:
    with hw.db.session() as s:
        return s.scalars(select(func.count(Event.id))).one() or 0, s.scalars(select(func.count(Task.id))).one() or 0


def test_posting_a_completed_task_again_answers_409_saying_who_and_when(client: FlaskClient, auth: Auth, hw: Helper,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    pid = hw.register(by="anwen", name="重复提交项目")
    task = hw.only_ready(pid)
    auth.login("anwen")
    form = {"has_intent": "true", "opinion": "有意向", "csrf_token": csrf_token(client, f"/tasks/{task.id}")}
    assert client.post(f"/tasks/{task.id}", data=form).status_code == 303
    before = _stored(hw)
    again = client.post(f"/tasks/{task.id}", data=form)
    with hw.db.session() as s:
        when = local_datetime(s.get_one(Task, task.id).completed_at)
    assert again.status_code == 409 and f"任务“确认投资意向”已由钱芳于{when}办理完毕" in again.get_data(as_text=True)
    assert _stored(hw) == before and hw.only_ready(pid).bpmn_id == "feasibility_review"

    racing = hw.register(by="anwen", name="同时办理项目")
    raced = hw.only_ready(racing)
    real = runtime.complete_task

    def beaten(session: Session, task_id: int, actor: User, data: dict[str, Any]) -> runtime.Outcome:
        with hw.db.session() as other:
            real(other, task_id, other.merge(hw.user("anwen")), {"has_intent": True, "opinion": "先办"})
        raise AlreadyCompleted("任务已由他人办理完毕")

    monkeypatch.setattr(runtime, "complete_task", beaten)
    lost = client.post(f"/tasks/{raced.id}", data=form)
    assert lost.status_code == 409 and "任务“确认投资意向”已由钱芳于" in lost.get_data(as_text=True)


def test_other_town_gets_403_on_the_task(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    pid = hw.register(by="anwen")
    task = hw.only_ready(pid)
    auth.login("xinwo")
    assert client.get(f"/tasks/{task.id}").status_code == 403
    assert "测试项目" not in client.get("/").get_data(as_text=True)


def test_dashboard_stands_before_any_scoring_table_is_deployed(client: FlaskClient, auth: Auth) -> None:
    auth.login("xianzhang")
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert 'id="chart-funnel"' in response.get_data(as_text=True)


def test_a_page_whose_definition_is_not_deployed_says_so_instead_of_failing(client: FlaskClient, auth: Auth) -> None:
    auth.login("bangongshi")
    for path in ("/assessment", "/assessment/rules", "/assessment/export.xlsx?quarter=0"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "assessment_scoring 尚未部署，请先运行 zhikong deploy bpmn" in response.get_data(as_text=True), path
