"""/healthz and /metrics without sign-in: database and scheduler liveness, Prometheus text that matches the data."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from engine.workflow import admin, health
from engine.platform.db import Database
from engine.platform.models import Instance, Task, utcnow
from tests.admin.conftest import AdminHelper
from tests.conftest import INTENT


def _beat(h: AdminHelper, age_seconds: float = 0) -> None:
    with h.db.session() as s:
        health.beat(s, "scheduler.timers", utcnow() - timedelta(seconds=age_seconds))


def test_healthz_needs_a_fresh_scheduler_heartbeat(ah: AdminHelper) -> None:
    from webui import create_app

    client = create_app({"TESTING": True, "SECRET_KEY": "t", "ZHIKONG_DB": ah.db, "HEARTBEAT_MAX_AGE": 60}).test_client()
    missing = client.get("/healthz")
    assert missing.status_code == 503 and "调度器从未上报心跳" in missing.json["problems"][0]
    _beat(ah, 30)
    fresh = client.get("/healthz")
    assert fresh.status_code == 200 and fresh.json["status"] == "ok"
    assert 29 <= fresh.json["heartbeats"]["scheduler.timers"] <= 40
    _beat(ah, 120)
    stale = client.get("/healthz")
    assert stale.status_code == 503 and "超过 60 秒上限" in stale.json["problems"][0]


def test_healthz_reports_an_unreachable_database() -> None:
    from webui import create_app

    broken = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    client = create_app({"TESTING": True, "SECRET_KEY": "t", "ZHIKONG_DB": broken}).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503 and "数据库不可用" in response.json["problems"][0]
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and "zhikong_database_up 0" in metrics.get_data(as_text=True)


def _value(text: str, name: str, labels: str = "") -> float:
    pattern = re.escape(name + (f"{{{labels}}}" if labels else "")) + r" ([0-9.e+-]+)$"
    match = re.search(pattern, text, re.M)
    assert match, f"{name}{{{labels}}} missing in:\n{text}"
    return float(match.group(1))


def test_metrics_count_what_is_in_the_database(ah: AdminHelper) -> None:
    from webui import create_app

    first = ah.register(by="anwen")
    second = ah.register(by="xinwo", name="第二个")
    ah.complete(second, "xinwo", INTENT)
    with ah.db.session() as s:
        admin.suspend(s, ah.instance(first).id, ah.admin(s), "暂缓")
    third = ah.register(by="anwen", name="第三个")
    with ah.db.session() as s:
        s.execute(update(Task).where(Task.project_id == second).values(due_at=utcnow() - timedelta(days=2)))
        s.execute(update(Instance).where(Instance.project_id == third).values(next_timer_at=utcnow() - timedelta(seconds=90)))
        admin.set_user_active(s, ah.user("xinwo").id, False, ah.admin(s), "调离")
    _beat(ah, 5)
    client = create_app({"TESTING": True, "SECRET_KEY": "t", "ZHIKONG_DB": ah.db}).test_client()
    client.get("/login")
    text = client.get("/metrics").get_data(as_text=True)
    assert _value(text, "zhikong_instances", 'status="running"') == 2
    assert _value(text, "zhikong_instances", 'status="suspended"') == 1
    assert _value(text, "zhikong_instances", 'status="error"') == 0
    assert _value(text, "zhikong_ready_tasks") == 2
    assert _value(text, "zhikong_overdue_tasks") == 1
    assert _value(text, "zhikong_orphaned_tasks") == 0  # xinwo's task went to the deputy: still held
    assert 89 <= _value(text, "zhikong_timer_sweep_lag_seconds") <= 120
    assert 4 <= _value(text, "zhikong_scheduler_heartbeat_age_seconds", 'scheduler="scheduler.timers"') <= 30
    assert _value(text, "zhikong_http_request_duration_seconds_count", 'endpoint="auth.login"') == 1
    assert _value(text, "zhikong_http_request_duration_seconds_bucket", 'endpoint="auth.login",le="+Inf"') == 1
    assert "# TYPE zhikong_http_request_duration_seconds histogram" in text
    with ah.db.session() as s:
        admin.set_user_active(s, ah.user("anwen").id, False, ah.admin(s), "调离")
    text = client.get("/metrics").get_data(as_text=True)
    assert _value(text, "zhikong_orphaned_tasks") == 1  # the third project's task; the first is suspended


def test_metrics_token_when_configured(ahs: AdminHelper) -> None:
    from webui import create_app

    client = create_app({"TESTING": True, "SECRET_KEY": "t", "ZHIKONG_DB": ahs.db, "METRICS_TOKEN": "s3cret"}).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200 and ok.content_type.startswith("text/plain; version=0.0.4")
