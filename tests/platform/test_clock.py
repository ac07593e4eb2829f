"""The engine's clock: `clock.as_of` sets it back to a moment (nested, and restored after), county days follow it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.platform import clock
from engine.platform.models import utcnow

LEEWAY = timedelta(minutes=5)  # the clock moves on while the test runs


def test_as_of_sets_the_engine_clock_back_and_puts_it_right_after() -> None:
    past = datetime(2025, 3, 1, 15, 30, tzinfo=timezone.utc)
    day = clock.local_date(past)
    with clock.as_of(past):
        assert timedelta(0) <= utcnow() - past < LEEWAY
        assert clock.local_today() == day
        with clock.as_of(past + timedelta(days=1)):
            assert clock.local_today() == day + timedelta(days=1)
        assert clock.local_today() == day
    assert abs(utcnow() - datetime.now(timezone.utc)) < LEEWAY
