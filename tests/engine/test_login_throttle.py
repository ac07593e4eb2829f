"""Sign-in throttling in the engine: one limit shared by worker processes, locks that expire, chained lock events, no typed usernames stored."""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from engine.platform import audit, login_throttle, org
from engine.platform.db import Database
from engine.demo import DEMO_PASSWORD
from engine.platform.models import Event, LoginThrottle, utcnow

LIMITS = login_throttle.Limits()


def _guesses_in_a_worker(url: str, barrier: Any, guesses: int) -> int:
    """In a separate process: fire `guesses` wrong passwords for anwen at once; how many were not refused (so were checked)."""
    db = Database(url)
    barrier.wait()
    with ThreadPoolExecutor(max_workers=guesses) as pool:
        attempts = list(pool.map(lambda n: login_throttle.sign_in(db, "anwen", f"wrong{n}", "198.51.100.20", LIMITS), range(guesses)))
    db.dispose()
    return sum(not a.locked for a in attempts)


def test_four_worker_processes_share_one_limit(db: Database) -> None:
    context = multiprocessing.get_context("forkserver")  # the workers start as forks of one server that imported this module once
    context.set_forkserver_preload([__name__])
    with context.Manager() as manager:
        barrier = manager.Barrier(4)
        with ProcessPoolExecutor(max_workers=4, mp_context=context) as pool:
            checked = sum(pool.map(_guesses_in_a_worker, [db.url] * 4, [barrier] * 4, [10] * 4))
    assert checked == 10
    with db.session() as s:
        assert s.scalars(select(Event).where(Event.kind == login_throttle.EVENT_KIND)).all()[0].payload["failures"] == 10
        assert audit.verify(s).ok


def test_a_lock_ends_after_its_time_and_the_pair_starts_afresh(db: Database) -> None:
    start = utcnow()
    for minute in range(10):
        assert not login_throttle.sign_in(db, "fx_gongye", "x", "10.1.1.1", LIMITS, start + timedelta(minutes=minute)).locked
    still = start + timedelta(minutes=20)  # 15 minutes after the tenth failure at minute 9 is minute 24
    assert login_throttle.sign_in(db, "fx_gongye", DEMO_PASSWORD, "10.1.1.1", LIMITS, still).locked
    later = start + timedelta(minutes=25)
    assert login_throttle.sign_in(db, "fx_gongye", DEMO_PASSWORD, "10.1.1.1", LIMITS, later).ok


def test_failures_spread_over_more_than_a_window_never_lock(db: Database) -> None:
    start = utcnow()
    for n in range(30):
        attempt = login_throttle.sign_in(db, "yanpan", "x", "10.1.1.2", LIMITS, start + timedelta(minutes=2 * n))
        assert not attempt.locked, n


def test_the_counters_keep_no_typed_username(db: Database) -> None:
    secret = "my-password-typed-as-username"
    login_throttle.sign_in(db, secret, "x", "10.1.1.3", LIMITS)
    with db.session() as s:
        keys = s.scalars(select(LoginThrottle.username_key)).all()
    assert login_throttle.username_key(secret) in keys and all(secret not in k for k in keys)


def test_a_sign_in_drops_counters_whose_time_is_over(db: Database) -> None:
    long_ago = utcnow() - timedelta(hours=1)
    login_throttle.sign_in(db, "xianzhang", "x", "10.1.1.4", LIMITS, long_ago)
    assert login_throttle.sign_in(db, "anwen", DEMO_PASSWORD, "10.1.1.5", LIMITS).ok
    with db.session() as s:
        assert s.scalars(select(LoginThrottle.client_addr)).all() == ["10.1.1.5"]  # the address row, its count given back
        assert s.scalars(select(LoginThrottle.failures)).all() == [0]


def test_passwords_are_stored_with_scrypt_at_the_production_work_factor() -> None:
    stored = org.hash_password("正确的密码")
    assert stored.startswith("scrypt:32768:8:1$") and "正确的密码" not in stored
    assert login_throttle.password_matches(stored, "正确的密码") and not login_throttle.password_matches(stored, "错误的密码")
