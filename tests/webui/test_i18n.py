"""Language and local formats: Chinese by default, English on request (remembered), 万元/亿元, Asia/Shanghai."""
from __future__ import annotations

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

from engine.platform.config import PROJECT_ROOT
from tests.conftest import Helper
from tests.webui.conftest import Auth, csrf_token
from webui import i18n

CATALOG = PROJECT_ROOT / "webui" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
OWN_FILES = re.compile(
    r"webui/(auth|tasks|projects|meetings|errors|i18n|delegations)\.py|webui/templates/(base|error|_macros)\.html"
    r"|webui/templates/(auth|tasks|projects|meetings|delegations)/|engine/workflow/handover\.py"
)


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
