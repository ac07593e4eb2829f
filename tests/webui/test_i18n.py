"""Language and local formats: Chinese by default, English on request (remembered), 万元/亿元, Asia/Shanghai."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.platform import inputs
from engine.platform.clock import local_today
from engine.platform.config import PROJECT_ROOT
from engine.platform.errors import InvalidInput
from engine.platform.messages import N_, Message
from engine.workflow import forms
from tests.conftest import Helper
from tests.webui.conftest import Auth, csrf_token
from webui import i18n

CATALOG = PROJECT_ROOT / "webui" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
OWN_FILES = re.compile(
    r"webui/(auth|tasks|projects|meetings|errors|i18n|delegations)\.py|webui/templates/(base|error|_macros)\.html"
    r"|webui/templates/(auth|tasks|projects|meetings|delegations)/|engine/|bpmn/forms/"
)  # the engine's messages (marked with N_) and the task forms' field titles are shown in every page's language
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def _switch(client: FlaskClient, lang: str, next_page: str = "/") -> TestResponse:
    token = csrf_token(client, "/login") if "/login" in next_page else csrf_token(client, next_page)
    return client.post("/lang", data={"lang": lang, "next": next_page, "csrf_token": token})


def test_chinese_by_default_english_on_request_and_remembered(client: FlaskClient, auth: Auth, hw: Helper) -> None:
    hw.register(by="anwen", name="双语项目", total_investment=32000)
    login_page = _text(client.get("/login"))
    assert '<html lang="zh-CN">' in login_page and "用户名" in login_page and ">English</button>" in login_page
    auth.login("anwen")
    assert "我的待办" in _text(client.get("/"))
    switched = _switch(client, "en", "/projects?stage=intent")
    assert switched.status_code == 303 and switched.headers["Location"] == "/projects?stage=intent"
    cookie = switched.headers["Set-Cookie"]
    assert cookie.startswith("lang=en") and "HttpOnly" in cookie and "Max-Age=31536000" in cookie
    ledger = _text(client.get("/projects"))
    assert '<html lang="en">' in ledger and "Project ledger" in ledger and "My tasks" in ledger and "Sign out" in ledger
    assert "Intent" in ledger and "CNY 320 million" in ledger and "双语项目" in ledger
    inbox = _text(client.get("/"))
    assert "Confirm" not in inbox and "确认投资意向" in inbox and "Filter and sort" in inbox
    back = _switch(client, "zh")
    assert back.headers["Set-Cookie"].startswith("lang=zh")
    assert "项目台账" in _text(client.get("/projects"))


def test_language_switch_never_redirects_off_site(client: FlaskClient) -> None:
    token = csrf_token(client, "/login")
    for target in ("//evil.example/x", "https://evil.example/", "javascript:alert(1)"):
        response = client.post("/lang", data={"lang": "en", "next": target, "csrf_token": token})
        assert response.headers["Location"] == "/"
    assert client.post("/lang", data={"lang": "en", "next": "/"}).status_code == 400


@pytest.mark.parametrize(
    ("wan", "text"),
    [(80000, "8亿元"), (35000, "3.5亿元"), (120000, "12亿元"), (10000, "1亿元"), (6000, "6000万元"), (9999.5, "9999.5万元"), (0, "0万元")],
)
def test_amounts_are_written_in_wan_and_yi(app: Flask, wan: float, text: str) -> None:
    with app.test_request_context("/"):
        assert i18n.money(Decimal(str(wan))) == text
        assert i18n.money(0, blank_zero=True) == "—" and i18n.money(None) == "—"


def test_dates_are_local_to_shanghai_and_overdue_counts_calendar_days(app: Flask) -> None:
    utc_evening = datetime(2026, 1, 1, 16, 30, tzinfo=timezone.utc)
    assert i18n.local_datetime(utc_evening) == "2026-01-02 00:30"
    assert i18n.local_datetime(utc_evening.replace(tzinfo=None)) == "2026-01-02 00:30"
    assert i18n.local_date(utc_evening) == "2026-01-02"
    due = datetime(2026, 3, 10, 1, 0, tzinfo=timezone.utc)  # 09:00 in Pan'an
    assert i18n.overdue_days(due, due - timedelta(minutes=1)) == 0
    assert i18n.overdue_days(due, due + timedelta(hours=2)) == 1
    assert i18n.overdue_days(due, due + timedelta(days=5, hours=2)) == 5
    assert i18n.days_left(due, due - timedelta(days=2)) == 2
    with app.test_request_context("/"):
        assert i18n.due_status(due, due + timedelta(days=3)) == ("overdue", "2026-03-10", "逾期3天")
        assert i18n.due_status(due, due - timedelta(hours=1)) == ("soon", "2026-03-10", "今日到期")
        assert i18n.due_status(None) == ("", "—", "")


def test_every_message_of_these_pages_has_an_english_translation(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "webui/babel.cfg", "-o", str(pot), "."],
        cwd=PROJECT_ROOT, check=True,
    )
    with pot.open("rb") as f:
        extracted = [m for m in read_po(f) if m.id and (not m.locations or any(OWN_FILES.match(p) for p, _ in m.locations))]
    with CATALOG.open("rb") as f:
        english = {m.id: m.string for m in read_po(f) if m.id}
    missing = [m.id for m in extracted if not english.get(m.id)]
    assert len(extracted) > 200 and missing == []
    engine = [str(m.id) for m in extracted if any(p.startswith(("engine/", "bpmn/forms/")) for p, _ in m.locations)]
    assert len(engine) > 250
    unfilled = [m for m in engine if set(PLACEHOLDER.findall(m)) != set(PLACEHOLDER.findall(str(english[m])))]
    assert unfilled == []  # an English template that drops or renames a value would fail at run time


def test_english_field_errors_name_the_fields_english_titles_and_chinese_stays_as_written(client: FlaskClient, auth: Auth,
                                                                                        hw: Helper) -> None:
    task = hw.only_ready(hw.register(by="anwen", name="双语校验项目"))
    auth.login("anwen")
    bad = {"has_intent": "false", "opinion": "长" * 2001}
    chinese = client.post(f"/tasks/{task.id}", data={**bad, "csrf_token": csrf_token(client, f"/tasks/{task.id}")})
    page = _text(chinese)
    assert chinese.status_code == 422 and "中止原因为必填项" in page and "意见不能超过2000个字" in page
    _switch(client, "en", f"/tasks/{task.id}")
    english = client.post(f"/tasks/{task.id}", data={**bad, "csrf_token": csrf_token(client, f"/tasks/{task.id}")})
    page = _text(english)
    assert english.status_code == 422 and '<html lang="en">' in page
    assert "Reason for stopping is required" in page and "Opinion cannot be longer than 2000 characters" in page
    assert ">Reason for stopping<" in page and "Does the investor intend to invest" in page  # the form's own titles, in English
    assert "中止原因" not in page and "不能超过" not in page and "确认投资意向" in page  # the step keeps its BPMN name
    assert hw.only_ready(task.project_id).id == task.id


def test_english_refusals_for_a_completed_task_a_bad_phone_and_a_missing_permission(client: FlaskClient, auth: Auth,
                                                                                   hw: Helper) -> None:
    task = hw.only_ready(hw.register(by="anwen", name="双语拒绝项目"))
    auth.login("anwen")
    _switch(client, "en", f"/tasks/{task.id}")
    form = {"has_intent": "true", "opinion": "有意向", "csrf_token": csrf_token(client, f"/tasks/{task.id}")}
    assert client.post(f"/tasks/{task.id}", data=form).status_code == 303
    again = client.post(f"/tasks/{task.id}", data=form)
    assert again.status_code == 409 and "Task “确认投资意向” was completed by 钱芳 at " in _text(again)
    lead = {"name": "电话有误项目", "investor": "某公司", "category": "industrial", "total_investment": "100", "deputy_id": "",
            "contact_phone": "12345", "csrf_token": csrf_token(client, "/projects/new")}
    refused = _text(client.post("/projects/new", data=lead))
    assert "Contact phone is not a valid phone number: enter an 11-digit mobile number" in refused and "received “12345”" in refused
    assert "Deputy county head in charge is required" in refused and "格式不正确" not in refused
    other = hw.only_ready(hw.register(by="anwen", name="他乡项目"))
    auth.switch("xinwo")
    _switch(client, "en")
    stranger = client.post(f"/tasks/{other.id}", data={**form, "csrf_token": csrf_token(client, "/")})
    assert stranger.status_code == 403
    assert "You may not handle “确认投资意向” (it needs the Landing unit role and the project within your scope)" in _text(stranger)
    _switch(client, "zh")
    chinese = client.post(f"/tasks/{other.id}", data={**form, "csrf_token": csrf_token(client, "/")})
    assert "您没有办理“确认投资意向”的权限（需要落地单位角色且属于该项目的办理范围）" in _text(chinese)


def test_a_date_after_today_and_a_nested_field_are_refused_in_english(app: Flask) -> None:
    schema = json.loads((PROJECT_ROOT / "bpmn" / "forms" / "signing.schema.json").read_text(encoding="utf-8"))
    with pytest.raises(InvalidInput) as refused:
        forms.validate(schema, forms.validator_for(schema), {"signed_date": "2099-12-31", "contract_amount": "x"})
    today = local_today().isoformat()
    message = refused.value.errors["signed_date"]
    assert message == f"签约日期不能晚于今天（{today}），收到“2099-12-31”" and str(refused.value).startswith("输入有误：")
    nested = forms.field_title({"properties": {"items": {"title": "交办事项"}}}, "items")
    line = Message(N_("%(title)s第%(index)s项"), title=nested, index=2)
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert i18n.translated(message) == f"Signing date cannot be later than today ({today}); received “2099-12-31”"
        assert i18n.translated(inputs.required_message(line)) == "Assigned item no. 2 is required"
        assert i18n.translated(refused.value.message).startswith("Invalid input: signed_date: Signing date cannot be later")
    with app.test_request_context("/"):
        assert i18n.translated(message) == message and i18n.translated("纯文本") == "纯文本"
