"""External channels: a webhook receiver and an SMTP server on 127.0.0.1; retries with backoff; sent once across processes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
import time_machine

from engine.platform import notifications
from engine.platform import warning_settings
from engine.platform.config import PROJECT_ROOT
from engine.platform.db import Database
from engine.platform.models import utcnow
from engine.platform.notifications import OutboxMessage
from tests.conftest import Helper
from tests.timers.servers import smtp_server, webhook_receiver


def configure(h: Helper, **settings: object) -> None:
    with h.db.session() as s:
        warning_settings.update(s, settings, s.merge(h.user("bangongshi")))


def address(h: Helper, username: str, email: str = "", messenger_id: str = "") -> int:
    with h.db.session() as s:
        uid = h.user(username).id
        notifications.save_address(s, uid, email, messenger_id)
        return uid


def notify(h: Helper, user_ids: set[int], title: str = "【黄灯】测试项目：“确认投资意向”已逾期1天") -> None:
    with h.db.session() as s:
        notifications.notify(s, user_ids, "task_yellow", title, "请尽快办理。", "/tasks/1")


def statuses(h: Helper) -> list[tuple[str, int]]:
    with h.db.session() as s:
        return [(r.status, r.attempts) for r in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_channels_are_off_by_default_so_only_the_in_app_notification_is_made(hs: Helper) -> None:
    uid = address(hs, "anwen", "anwen@panan.gov.cn", "zzd-anwen")
    notify(hs, {uid})
    assert statuses(hs) == []
    with hs.db.session() as s:
        assert notifications.unread_count(s, uid) == 1


def test_the_webhook_channel_posts_receiver_ids_and_text_once(hs: Helper) -> None:
    with webhook_receiver() as receiver:
        configure(hs, webhook_enabled=True, webhook_url=receiver.url)
        anwen = address(hs, "anwen", messenger_id="zzd-anwen")
        office = address(hs, "bangongshi", messenger_id="zzd-chenxm")
        notify(hs, {anwen, office, hs.user("xinwo").id})  # xinwo has no messenger id: in-app only
        assert notifications.dispatch(hs.db).sent == 2
        assert notifications.dispatch(hs.db).sent == 0
    bodies = sorted((r["json"] for r in receiver.requests), key=lambda b: b["receiverIds"])
    assert [b["receiverIds"] for b in bodies] == [["zzd-anwen"], ["zzd-chenxm"]]
    assert bodies[0]["msg"]["msgtype"] == "text" and "确认投资意向" in bodies[0]["msg"]["text"]["content"]
    assert receiver.requests[0]["path"] == "/work-notice"
    assert len(set(receiver.ids())) == 2
    assert statuses(hs) == [("sent", 1), ("sent", 1)]


def test_a_failing_webhook_is_retried_with_growing_waits_then_given_up(hs: Helper, clock: time_machine.Traveller) -> None:
    with webhook_receiver() as receiver:
        configure(hs, webhook_enabled=True, webhook_url=receiver.url, max_attempts=4, retry_base_seconds=60)
        notify(hs, {address(hs, "anwen", messenger_id="zzd-anwen")})
        receiver.statuses = [500, 503, 200]
        assert notifications.dispatch(hs.db).retried == 1
        clock.shift(timedelta(seconds=59))
        assert notifications.dispatch(hs.db).retried == 0  # not yet: first wait is 60 s
        clock.shift(timedelta(seconds=2))
        assert notifications.dispatch(hs.db).retried == 1
        clock.shift(timedelta(seconds=119))
        assert notifications.dispatch(hs.db).sent == 0  # second wait is 120 s
        clock.shift(timedelta(seconds=2))
        assert notifications.dispatch(hs.db).sent == 1
        assert len(receiver.requests) == 3 and len(set(receiver.ids())) == 1
        assert statuses(hs) == [("sent", 3)]
        notify(hs, {hs.user("anwen").id})
        receiver.statuses = [500] * 4
        for _ in range(4):
            notifications.dispatch(hs.db)
            clock.shift(timedelta(hours=1))
        assert statuses(hs)[-1] == ("failed", 4)
        with hs.db.session() as s:
            assert "500" in s.scalars(select(OutboxMessage.last_error).order_by(OutboxMessage.id.desc())).first()


def test_the_email_channel_sends_through_smtp_with_a_stable_message_id(hs: Helper) -> None:
    with smtp_server() as (port, sink):
        configure(hs, email_enabled=True, smtp_host="127.0.0.1", smtp_port=port, smtp_sender="yujing@panan.gov.cn")
        notify(hs, {address(hs, "anwen", email="anwen@panan.gov.cn")})
        assert notifications.dispatch(hs.db).sent == 1
    sender, recipients, message = sink.messages[0]
    assert (sender, recipients) == ("yujing@panan.gov.cn", ["anwen@panan.gov.cn"])
    assert message["Subject"] == "【黄灯】测试项目：“确认投资意向”已逾期1天"
    assert message["Message-ID"] == "<zhikong-outbox-1@zhikong>"
    assert "请尽快办理" in message.get_content()


def test_an_unreachable_smtp_server_is_retried_later(hs: Helper) -> None:
    from tests.timers.servers import free_port

    configure(hs, email_enabled=True, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_sender="yujing@panan.gov.cn")
    notify(hs, {address(hs, "anwen", email="anwen@panan.gov.cn")})
    assert notifications.dispatch(hs.db).retried == 1
    with hs.db.session() as s:
        row = s.scalars(select(OutboxMessage)).one()
        assert row.status == "pending" and "邮件发送失败" in row.last_error


def _start_workers(db: Database, job: str, count: int, start_file: Path) -> list[subprocess.Popen[str]]:
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    return [
        subprocess.Popen([sys.executable, "-m", "tests.timers.worker", db.url, job, str(start_file)],
                         cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(count)
    ]


def test_two_dispatcher_processes_send_each_message_exactly_once(h: Helper, tmp_path: Path) -> None:
    with webhook_receiver() as receiver:
        configure(h, webhook_enabled=True, webhook_url=receiver.url)
        users = {address(h, name, messenger_id=f"zzd-{name}") for name in ("anwen", "xinwo", "bangongshi", "yanpan")}
        for i in range(50):
            notify(h, users, f"测试通知{i}")
        workers = _start_workers(h.db, "outbox", 2, tmp_path / "go")
        (tmp_path / "go").touch()
        results = [json.loads(w.communicate(timeout=120)[0]) for w in workers]
    assert sum(r["sent"] for r in results) == 200
    assert len(receiver.requests) == 200 and len(set(receiver.ids())) == 200
    with h.db.session() as s:
        assert s.scalars(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")).one() == 200


def test_a_dispatcher_killed_mid_send_is_not_resent_until_its_lease_ends_and_then_under_the_same_id(hs: Helper, tmp_path: Path) -> None:
    with webhook_receiver() as receiver:
        configure(hs, webhook_enabled=True, webhook_url=receiver.url)
        notify(hs, {address(hs, "anwen", messenger_id="zzd-anwen")})
        receiver.hold.clear()  # the receiver takes the request but does not answer yet
        (worker,) = _start_workers(hs.db, "outbox", 1, tmp_path / "go")
        (tmp_path / "go").touch()
        assert receiver.arrived.wait(60)
        worker.send_signal(signal.SIGKILL)  # the scheduler dies mid-send
        worker.wait(10)
        receiver.hold.set()
        assert statuses(hs) == [("sending", 1)]
        assert notifications.dispatch(hs.db).sent == 0  # claimed by the dead process: left alone
        later = utcnow() + notifications.CLAIM_LEASE + timedelta(seconds=1)
        assert notifications.dispatch(hs.db, now=later).sent == 1
    assert receiver.ids() == ["zhikong-outbox-1", "zhikong-outbox-1"]  # the same id: the receiver keeps one
    assert statuses(hs) == [("sent", 2)]
