"""/healthz, /readyz and /metrics without sign-in: liveness, readiness (database, schema, scheduler), Prometheus text that matches the data."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import text, update

from engine.workflow import admin, health
from engine.platform import schema
from engine.platform.db import Database
from engine.platform.models import Instance, Task, utcnow
from tests.admin.conftest import AdminHelper
from tests.conftest import INTENT


def _beat(h: AdminHelper, age_seconds: float = 0) -> None:
    with h.db.session() as s:
        health.beat(s, "scheduler.timers", utcnow() - timedelta(seconds=age_seconds))


def test_healthz_is_liveness_and_readyz_needs_a_fresh_scheduler_heartbeat(ah: AdminHelper) -> None:
    from webui import create_app

    client = create_app({"TESTING": True, "SECRET_KEY": "t", "ZHIKONG_DB": ah.db, "HEARTBEAT_MAX_AGE": 60}).test_client()
    assert client.get("/healthz").status_code == 200 and client.get("/healthz").json == {"status": "ok"}
    missing = client.get("/readyz")
    assert missing.status_code == 503 and "调度器从未上报心跳" in missing.json["problems"][0]
    _beat(ah, 30)
    fresh = client.get("/readyz")
    assert fresh.status_code == 200 and fresh.json["status"] == "ok"
    assert 29 <= fresh.json["heartbeats"]["scheduler.timers"] <= 40
    _beat(ah, 120)
    stale = client.get("/readyz")
    assert stale.status_code == 503 and "超过 60 秒上限" in stale.json["problems"][0]
    assert client.get("/healthz").status_code == 200


def test_readyz_wants_the_schema_at_this_codes_migration_head(ahs: AdminHelper) -> None:
    from webui import create_app

    _beat(ahs)
    client = create_app({"TESTING": True, "SECRET_KEY": "t", "ZHIKONG_DB": ahs.db}).test_client()
    assert client.get("/readyz").status_code == 200
    with ahs.db.session() as s:
        newest = max(s.scalars(text("SELECT version_num FROM alembic_version")))
        previous = schema.scripts().get_revision(newest).down_revision
        s.execute(text("UPDATE alembic_version SET version_num = :previous WHERE version_num = :newest"),
                  {"previous": previous, "newest": newest})
    behind = client.get("/readyz")
    assert behind.status_code == 503 and len(behind.json["problems"]) == 1
    assert re.fullmatch(rf"数据库缺少迁移 (\S+、)?{newest}，请运行 zhikong init-db（schema not at head）", behind.json["problems"][0])
    with ahs.db.session() as s:
        s.execute(text("UPDATE alembic_version SET version_num = '9999' WHERE version_num = :previous"), {"previous": previous})
    assert "不是本程序的迁移" in client.get("/readyz").json["problems"][0]


def test_an_unreachable_database_fails_readiness_not_liveness() -> None:
    from webui import create_app

    broken = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    client = create_app({"TESTING": True, "SECRET_KEY": "t", "ZHIKONG_DB": broken}).test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503 and "数据库不可用" in response.json["problems"][0]
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and "zhikong_database_up 0.0" in metrics.get_data(as_text=True)


def _value(text: str, name: str, labels: str = "") -> float:
    pattern = re.escape(name + (f"{{{labels}}}" if labels else "")) + r" ([0-9.e+-]+)$"
    match = re.search(pattern, text, re.M)
    assert match, f"{name}{{{labels}}} missing in:\n{text}"
    return float(match.group(1))


def _value_or_zero(text: str, name: str, labels: str) -> float:
    return _value(text, name, labels) if f"{name}{{{labels}}}" in text else 0.0


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
    before = client.get("/metrics").get_data(as_text=True)  # the instruments count for the whole process, so compare with before
    logins = _value_or_zero(before, "zhikong_http_request_duration_seconds_count", 'endpoint="auth.login"')
    refused = _value_or_zero(before, "zhikong_http_refusals_total", 'kind="not_found"')
    client.get("/login")
    client.get("/no-such-page")
    text = client.get("/metrics").get_data(as_text=True)
    assert _value(text, "zhikong_instances", 'status="running"') == 2
    assert _value(text, "zhikong_instances", 'status="suspended"') == 1
    assert _value(text, "zhikong_instances", 'status="error"') == 0
    assert _value(text, "zhikong_ready_tasks") == 2
    assert _value(text, "zhikong_overdue_tasks") == 1
    assert _value(text, "zhikong_orphaned_tasks") == 0  # xinwo's task went to the deputy: still held
    assert 89 <= _value(text, "zhikong_timer_sweep_lag_seconds") <= 120
    assert _value(text, "zhikong_outbox_backlog") >= 0
    assert 4 <= _value(text, "zhikong_scheduler_heartbeat_age_seconds", 'scheduler="scheduler.timers"') <= 30
    assert _value(text, "zhikong_http_request_duration_seconds_count", 'endpoint="auth.login"') == logins + 1
    assert _value(text, "zhikong_http_request_duration_seconds_bucket", 'endpoint="auth.login",le="+Inf"') == logins + 1
    assert _value(text, "zhikong_http_refusals_total", 'kind="not_found"') == refused + 1
    assert "# TYPE zhikong_http_request_duration_seconds histogram" in text and "# TYPE zhikong_task_completions_total counter" in text
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
