"""Sign-in throttling that holds across threads and worker processes: each attempt is counted in the database before its password is checked.

Two counters, each one row of `login_throttle` moved by a single INSERT … ON CONFLICT DO
UPDATE … RETURNING: the (username, client address) pair, locked after `pair_failures` failures
in the window, and the client address alone, locked after `address_failures` (so one address
cannot spray many usernames). A lock is on the pair, never on the account, so nobody can lock
an official out from her own address. Unknown usernames are counted, checked against a dummy
hash and locked exactly like known ones. Every lock is an audit event (`login_locked`).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any, Callable, Optional

from sqlalchemy import DateTime, and_, case, delete, literal, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from engine.platform.db import Database, matched_rows
from engine.platform.models import Event, LoginThrottle, User, utcnow
from engine.platform.org import hash_password

ADDRESS_ONLY = ""
MAX_ADDR_CHARS = 64
EVENT_KIND = "login_locked"
_TABLE = LoginThrottle.__table__
_INSERTS: dict[str, Callable[..., Any]] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


@dataclass(frozen=True)
class Limits:
    """Failures a (username, address) pair and an address may have in one window, and how long a lock lasts."""

    pair_failures: int = 10
    address_failures: int = 50
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt's outcome: the official's id when the password was right, else whether it was refused as locked."""

    user_id: Optional[int] = None
    locked: bool = False

    @property
    def ok(self) -> bool:
        """True when the official may be signed in."""
        return self.user_id is not None


@dataclass(frozen=True)
class _Count:
    """A counter's value after this attempt was added, and the lock it carries."""

    failures: int
    locked_until: Optional[datetime]

    def allows(self, limit: int, now: datetime) -> bool:
        """True when this attempt is within the limit and the row is not locked."""
        return self.failures <= limit and not (self.locked_until and _aware(self.locked_until) > now)


def _aware(value: datetime) -> datetime:
    """A stored timestamp as UTC-aware (SQLite gives it back naive)."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def username_key(username: str) -> str:
    """The counter key of a typed username: its SHA-256, so a password typed as a username is never stored."""
    return hashlib.sha256(username.encode("utf-8")).hexdigest()


def client_key(address: Optional[str]) -> str:
    """The counter key of a client address (as the proxy settings resolved it)."""
    return (address or "unknown")[:MAX_ADDR_CHARS]


def password_matches(stored_hash: str, password: str) -> bool:
    """The one place a password is checked against a stored hash (constant time)."""
    return check_password_hash(stored_hash, password)


@cache
def _dummy_hash() -> str:
    """A hash of a random secret, checked for unknown usernames so they cost what a known one costs."""
    return hash_password(secrets.token_hex(16))


def _stale(now: datetime, limits: Limits) -> Any:
    """SQL: the row's window is over and it is not locked, or its lock has run out."""
    return or_(
        and_(_TABLE.c.locked_until.is_(None), _TABLE.c.window_start <= now - limits.window),
        and_(_TABLE.c.locked_until.is_not(None), _TABLE.c.locked_until <= now),
    )


def _count(session: Session, key: str, address: str, now: datetime, limits: Limits) -> _Count:
    """Add one attempt to a counter in one atomic statement (a fresh window if the old one is over); returns the new value."""
    insert = _INSERTS[session.get_bind().dialect.name](_TABLE)
    stamp = literal(now, DateTime(timezone=True))
    stale = _stale(now, limits)
    statement = (
        insert.values(username_key=key, client_addr=address, failures=1, window_start=now, locked_until=None)
        .on_conflict_do_update(
            index_elements=[_TABLE.c.username_key, _TABLE.c.client_addr],
            set_={
                "failures": case((stale, 1), else_=_TABLE.c.failures + 1),
                "window_start": case((stale, stamp), else_=_TABLE.c.window_start),
                "locked_until": case((stale, null()), else_=_TABLE.c.locked_until),
            },
        )
        .returning(_TABLE.c.failures, _TABLE.c.locked_until)
    )
    row = session.execute(statement).one()
    return _Count(row.failures, row.locked_until)


def claim(session: Session, key: str, address: str, limits: Limits, now: datetime) -> Optional[tuple[int, int]]:
    """Count an attempt on its pair, then (if the pair allows it) on its address; the two counts, or None when refused."""
    pair = _count(session, key, address, now, limits)
    if not pair.allows(limits.pair_failures, now):
        return None
    by_address = _count(session, ADDRESS_ONLY, address, now, limits)
    if not by_address.allows(limits.address_failures, now):
        return None
    return pair.failures, by_address.failures


def _lock(session: Session, key: str, address: str, until: datetime, now: datetime) -> bool:
    """Lock a counter unless it already is (one conditional UPDATE); True when this call set the lock."""
    locked = matched_rows(
        session,
        update(LoginThrottle)
        .where(LoginThrottle.username_key == key, LoginThrottle.client_addr == address)
        .where(or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now))
        .values(locked_until=until),
    )
    return locked == 1


def _lock_summary(scope: str, address: str, username: Optional[str], failures: int, minutes: int) -> str:
    """The audit line of a lock, in Chinese (an unknown username is not repeated: it may be a mistyped password)."""
    if scope == "address":
        return f"来自 {address} 的登录 {failures} 次失败，该地址的所有登录锁定 {minutes} 分钟"
    who = f"账号 {username}" if username else "不存在的用户名"
    return f"来自 {address} 登录{who}连续 {failures} 次失败，该地址对此用户名的登录锁定 {minutes} 分钟"


def record_failure(
    session: Session, key: str, address: str, counts: tuple[int, int], user: Optional[User], limits: Limits, now: datetime
) -> list[str]:
    """After a wrong password: lock the pair and/or the address when this failure reached its limit, logging each lock; returns the scopes locked."""
    until = now + limits.lock
    minutes = int(limits.lock.total_seconds() // 60)
    locked = []
    for scope, row_key, failures, limit in (
        ("pair", key, counts[0], limits.pair_failures),
        ("address", ADDRESS_ONLY, counts[1], limits.address_failures),
    ):
        if failures >= limit and _lock(session, row_key, address, until, now):
            locked.append(scope)
            username = user.username if user is not None else None
            session.add(Event(
                kind=EVENT_KIND,
                at=now,
                summary=_lock_summary(scope, address, username, failures, minutes)[:300],
                payload={
                    "scope": scope,
                    "client_addr": address,
                    "user_id": user.id if user is not None and scope == "pair" else None,
                    "username_key": key if scope == "pair" else None,
                    "failures": failures,
                    "locked_until": until.isoformat(),
                },
            ))
    return locked


def record_success(session: Session, key: str, address: str) -> None:
    """After a right password: forget the pair and give the attempt back to the address (rows locked in claim's order)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.username_key == key, LoginThrottle.client_addr == address))
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.username_key == ADDRESS_ONLY, LoginThrottle.client_addr == address, LoginThrottle.failures > 0)
        .values(failures=LoginThrottle.failures - 1)
    )


def purge_expired(session: Session, limits: Limits, now: datetime, batch: int = 1000) -> int:
    """Drop counters whose window or lock is over, skipping rows another attempt holds (no deadlock); returns how many."""
    expired = select(LoginThrottle.id).where(_stale(now, limits)).limit(batch).with_for_update(skip_locked=True)
    return matched_rows(session, delete(LoginThrottle).where(LoginThrottle.id.in_(expired)).execution_options(synchronize_session=False))


def _check(db: Database, username: str, password: str) -> tuple[Optional[User], bool]:
    """(the user of that name or None, whether the password is right and the account active); always one hash check."""
    with db.session() as s:
        user = s.scalars(select(User).where(User.username == username)).first()
    matches = password_matches(user.password_hash if user is not None else _dummy_hash(), password)
    return user, bool(user is not None and user.active and matches)


def sign_in(db: Database, username: str, password: str, address: Optional[str], limits: Limits, now: Optional[datetime] = None) -> Attempt:
    """One sign-in attempt: counted (and committed) first, then the password checked, then the outcome recorded."""
    now = now or utcnow()
    key, address = username_key(username), client_key(address)
    with db.session() as s:
        counts = claim(s, key, address, limits, now)
    if counts is None:
        return Attempt(locked=True)
    user, right = _check(db, username, password)
    if right and user is not None:
        with db.session() as s:
            record_success(s, key, address)
        with db.session() as s:
            purge_expired(s, limits, now)
        return Attempt(user_id=user.id)
    with db.session() as s:
        record_failure(s, key, address, counts, user, limits, now)
    return Attempt()
