"""The outbox under several scheduler processes with real SMTP: work is split, a killed sender's batch is taken over within seconds, SIGTERM hands claims back."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.platform import notifications
from engine.platform.config import PROJECT_ROOT
from engine.platform.notifications import OutboxMessage
from tests.conftest import Helper
from tests.timers.servers import MailSink, smtp_server
from tests.timers.test_channels import address, configure

LEASE_SECONDS = 1
OUR_MESSAGES = OutboxMessage.subject.startswith("测试通知")
USERS = ("anwen", "xinwo", "bangongshi", "yanpan", "lingdao")


def queue_mail(h: Helper, port: int, messages: int) -> None:
    """E-mail on, five officials with addresses, `messages` outbox rows in all."""
    configure(h, email_enabled=True, smtp_host="127.0.0.1", smtp_port=port, smtp_sender="yujing@panan.gov.cn")
    users = {address(h, name, email=f"{name}@panan.gov.cn") for name in USERS}
    with h.db.session() as s:
        for i in range(messages // len(users)):
            notifications.notify(s, users, "task_yellow", f"测试通知{i}", "请尽快办理。")


def worker(url: str, start: Path, stop: Path | None = None) -> subprocess.Popen[str]:
    """A scheduler process running the outbox once when `start` appears (or, given `stop`, until that appears)."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), ZHIKONG_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS))
    args = [sys.executable, "-m", "tests.timers.worker", url, "outbox", str(start)] + ([str(stop)] if stop else [])
    return subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def by_status(h: Helper) -> dict[str, int]:
    """The test's messages by status (a whole scheduler may queue its monthly reminders beside them)."""
    with h.db.session() as s:
        rows = s.execute(select(OutboxMessage.status, func.count()).where(OUR_MESSAGES).group_by(OutboxMessage.status))
        return {status: count for status, count in rows}


def our_ids(sink: MailSink) -> list[str]:
    return [str(message["Message-ID"]) for _sender, _to, message in sink.messages if message["Subject"].startswith("测试通知")]


def on_postgresql(h: Helper) -> None:
    """Several schedulers are a PostgreSQL deployment (SQLite has one writer): these run there only."""
    if h.db.is_sqlite:
        pytest.skip("several schedulers run on PostgreSQL")


def test_two_scheduler_processes_split_500_messages_and_deliver_each_exactly_once(h: Helper, tmp_path: Path) -> None:
    on_postgresql(h)
    with smtp_server() as (port, sink):
        queue_mail(h, port, 500)
        workers = [worker(h.db.url, tmp_path / "go") for _ in range(2)]
        (tmp_path / "go").touch()
        results = [json.loads(w.communicate(timeout=120)[0]) for w in workers]
    assert [r["sent"] > 0 for r in results] == [True, True]  # both did work
    assert sum(r["sent"] for r in results) == 500
    assert len(sink.messages) == 500 and len(set(sink.ids())) == 500
    assert by_status(h) == {"sent": 500}


def test_a_scheduler_killed_mid_batch_leaves_its_messages_to_the_other_within_seconds(h: Helper, tmp_path: Path) -> None:
    on_postgresql(h)
    with smtp_server() as (port, sink):
        queue_mail(h, port, 60)
        killed = worker(h.db.url, tmp_path / "go-killed")
        survivor = worker(h.db.url, tmp_path / "go-survivor", stop=tmp_path / "stop")
        sink.hold.clear()
        (tmp_path / "go-killed").touch()
        assert sink.arrived.wait(60)
        killed.send_signal(signal.SIGKILL)  # mid-batch: one message at the server unanswered, the rest of its batch claimed
        killed.wait(10)
        started = set(sink.ids())
        sink.hold.set()
        assert by_status(h)["sending"] == notifications.CLAIM_BATCH
        killed_at = time.monotonic()
        (tmp_path / "go-survivor").touch()
        while by_status(h) != {"sent": 60} and time.monotonic() - killed_at < 30:
            time.sleep(0.05)
        delay = time.monotonic() - killed_at
        (tmp_path / "stop").touch()
        result = json.loads(survivor.communicate(timeout=60)[0])
    assert by_status(h) == {"sent": 60}
    assert delay < 8 * LEASE_SECONDS, delay  # the lease, not ten minutes
    delivered = Counter(sink.ids())
    assert set(delivered) == {f"<zhikong-outbox-{i}@zhikong>" for i in range(1, 61)}
    assert {i for i, n in delivered.items() if n > 1} <= started  # only the one it had begun sending can come twice
    assert result["sent"] == 60


def test_a_sender_slower_than_its_lease_keeps_its_claim_by_renewing_it(hs: Helper) -> None:
    lease = timedelta(seconds=0.5)
    with smtp_server() as (port, sink):
        queue_mail(hs, port, 5)
        sink.hold.clear()
        sink.hold_first_only = True
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(notifications.dispatch, hs.db, lease=lease, batch=1)
            assert sink.arrived.wait(30)
            time.sleep(3 * lease.total_seconds())  # three leases into one send
            assert notifications.dispatch(hs.db, lease=lease).sent == 4  # the others; the slow one's row stays claimed
            sink.hold.set()
            assert slow.result(30).sent == 1
    assert len(sink.messages) == 5 and len(set(sink.ids())) == 5


def test_sigterm_makes_the_scheduler_finish_the_send_under_way_and_hand_back_the_rest(hs: Helper, tmp_path: Path) -> None:
    with smtp_server() as (port, sink):
        queue_mail(hs, port, 30)
        sink.hold.clear()
        env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), DATABASE_URL=hs.db.url, ZHIKONG_OUTBOX_LEASE_SECONDS="60")
        scheduler = subprocess.Popen([sys.executable, "-m", "zhikong.cli", "scheduler"], cwd=PROJECT_ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert sink.arrived.wait(60)
        scheduler.send_signal(signal.SIGTERM)
        time.sleep(1)
        sink.hold.set()  # the send under way is answered and recorded
        _out, err = scheduler.communicate(timeout=60)
        assert scheduler.returncode == 0, err
        assert by_status(hs) == {"sent": 1, "pending": 29}
        with hs.db.session() as s:
            pending = s.scalars(select(OutboxMessage).where(OUR_MESSAGES, OutboxMessage.status == "pending")).all()
        assert {(row.attempts, row.claim_token, row.claimed_at) for row in pending} == {(0, None, None)}
        assert notifications.dispatch(hs.db).sent >= 29  # the next scheduler sends them at once
    assert len(our_ids(sink)) == 30 and len(set(our_ids(sink))) == 30
