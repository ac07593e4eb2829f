"""kill -9 of `zhikong scheduler` in the middle of a sweep over 1,000 due timers and 200 queued e-mails, then a fresh start: every timer fires exactly once, every e-mail is delivered."""
from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.platform.db import Database
from engine.platform.models import Event, Instance, Task, utcnow
from tests.conftest import PG_URL, Helper
from tests.faults.checks import unrestorable_instances
from tests.timers.seeding import deploy_wait, seed
from tests.timers.servers import smtp_server
from tests.timers.test_outbox_schedulers import by_status, our_ids, queue_mail
from tests.timers.test_scheduler_cli import ZHIKONG, env, fired, wait_for

pytestmark = pytest.mark.postgres
TIMERS = 1000
MESSAGES = 200


def scheduler(db: Database, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen([ZHIKONG, "scheduler"], env={**env(db), "ZHIKONG_OUTBOX_LEASE_SECONDS": "1"}, stdout=sink,
                                stderr=subprocess.STDOUT)


def due(db: Database) -> int:
    with db.session() as s:
        return s.scalars(select(func.count()).select_from(Instance).where(Instance.next_timer_at <= utcnow())).one()


@pytest.mark.skipif(not PG_URL, reason="needs ZHIKONG_TEST_PG")
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_scheduler_killed_mid_sweep_then_restarted_fires_each_timer_exactly_once(db: Database, tmp_path: Path) -> None:
    h = Helper(db)
    now = utcnow()
    seed(db, deploy_wait(db), [now - timedelta(minutes=1 + i % 600) for i in range(TIMERS)], h.unit("anwen"), h.user("fx_gongye").id)
    log = tmp_path / "scheduler.log"
    with smtp_server() as (port, sink):
        queue_mail(h, port, MESSAGES)
        first = scheduler(db, log)
        try:
            deadline = time.monotonic() + 120
            while fired(db) == 0 and time.monotonic() < deadline:  # the first batch of the sweep has committed
                time.sleep(0.02)
            first.send_signal(signal.SIGKILL)
            first.wait(30)
        finally:
            first.kill()
        at_kill = fired(db)
        assert 0 < at_kill < TIMERS, (at_kill, log.read_text())
        second = scheduler(db, log)
        try:
            assert wait_for(lambda: fired(db) == TIMERS and due(db) == 0 and by_status(h) == {"sent": MESSAGES}, 120), log.read_text()
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(60)
    delivered = Counter(our_ids(sink))
    assert len(delivered) == MESSAGES
    assert sum(n - 1 for n in delivered.values()) <= 1  # at most the one e-mail at the server when the process died comes twice
    with db.session() as s:
        per_instance = dict(s.execute(select(Event.instance_id, func.count()).where(Event.kind == "timer").group_by(Event.instance_id)).all())
        assert len(per_instance) == TIMERS and set(per_instance.values()) == {1}
        assert s.scalars(select(func.count()).select_from(Task).where(Task.bpmn_id == "after_wait", Task.status == "ready")).one() == TIMERS
    assert unrestorable_instances(db) == []
