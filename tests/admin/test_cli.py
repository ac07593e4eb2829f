"""`zhikong audit verify` and `zhikong orphans` over a real database."""
from __future__ import annotations

from sqlalchemy import text

from tests.admin.conftest import AdminHelper
from tests.commands import zhikong
from tests.conftest import INTENT


def test_audit_verify_passes_then_names_the_altered_entry(ah: AdminHelper) -> None:
    pid = ah.register()
    ah.complete(pid, "anwen", INTENT)
    good = zhikong({"DATABASE_URL": ah.db.url}, "audit", "verify")
    assert good.returncode == 0 and "审计链完整：共 3 条事件" in good.stdout
    with ah.db.engine.begin() as conn:
        if ah.db.is_sqlite:
            conn.execute(text("DROP TRIGGER event_no_update"))
        else:
            conn.execute(text("ALTER TABLE event DISABLE TRIGGER event_append_only"))
        victim = conn.execute(text("SELECT id FROM event WHERE kind = 'complete'")).scalar()
        conn.execute(text("UPDATE event SET payload = NULL WHERE id = :id"), {"id": victim})
    bad = zhikong({"DATABASE_URL": ah.db.url}, "audit", "verify")
    assert bad.returncode == 1
    assert f"审计链异常：事件 #{victim}（第 3 条，complete）的内容已被改动（此前 2 条完好）" in bad.stderr


def test_orphans_command_judges_every_ready_task(ahs: AdminHelper) -> None:
    ahs.register(by="anwen")
    with ahs.db.engine.begin() as conn:
        conn.execute(text("UPDATE app_user SET active = false WHERE username = 'anwen'"))
    result = zhikong({"DATABASE_URL": ahs.db.url}, "orphans")
    assert result.returncode == 0 and "无人可办的待办任务：1 个" in result.stdout
