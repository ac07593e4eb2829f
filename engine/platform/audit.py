"""Tamper-evident event log: every Event row is hash-chained to the one before it, in one place.

Events are inserted as usual (runtime.log, definitions.deploy … need no change). The unit of
work (engine.platform.db) calls `guard` and `remember` at each flush and `seal` just before its
one COMMIT: `seal` locks the chain head, gives each of the transaction's new events its
position (`seq`), the previous entry's hash and its own hash, computed from the values as
stored, and moves the head. The head lock is the last lock a transaction takes,
so writers queue there without deadlocking on instance rows. Logged entries cannot be changed
or deleted through the ORM, and the database refuses it too (triggers of migration 0005).
`verify` walks the chain and names the first entry that was altered, deleted or slipped in.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any, Optional
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Integer, String, bindparam, func, insert, inspect, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import set_committed_value

from engine.platform.models import Base, Event, utcnow
from engine.platform.prepared import Prepared, connection_of, taken, transaction_scoped

GENESIS = "0" * 64
HEAD_ID = 1
_PENDING = "audit_pending_event_ids"
_SEALED = "audit_sealed"
_APPENDED = "audit_appended_entries"
_EVENT = Event.__table__
_LAST_HEAD: "WeakKeyDictionary[Engine, tuple[int, str]]" = WeakKeyDictionary()
"""Per database, the head this process last moved the chain to: its next transaction's guess."""
_COLUMNS = [_EVENT.c[name] for name in ("id", "seq", "prev_hash", "hash", "at", "kind", "project_id", "instance_id", "actor_id", "bpmn_id", "summary", "payload")]


class AuditHead(Base):
    """The chain's last position and hash: the lock writers queue on, and the witness of tail deletions."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


_MOVE_HEAD = Prepared(
    update(AuditHead)
    .where(AuditHead.id == HEAD_ID, AuditHead.seq == bindparam("old_seq"), AuditHead.hash == bindparam("old_hash"))
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)
"""Move the head from a known position: matches (and locks) only if nobody moved it since."""


_LINK_ROWS = (
    update(_EVENT)
    .where(_EVENT.c.id == bindparam("event_id"))
    .values(seq=bindparam("new_seq"), prev_hash=bindparam("new_prev_hash"), hash=bindparam("new_hash"))
)
"""Give flushed events their place in the chain."""


class AuditViolation(Exception):
    """Code tried to change or delete an entry of the append-only event log."""


def _utc_text(value: datetime) -> str:
    """Canonical timestamp: UTC, no offset, microseconds (what both backends give back)."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


def entry_hash(row: Any, seq: int, prev_hash: str) -> str:
    """SHA-256 over an entry's chain position, its predecessor's hash and every logged field."""
    body = [
        seq,
        prev_hash,
        _utc_text(row.at),
        row.kind,
        row.project_id,
        row.instance_id,
        row.actor_id,
        row.bpmn_id or "",
        row.summary or "",
        row.payload,
    ]
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def guard(session: Session) -> None:
    """Refuse edits and deletes of logged entries; give new entries an explicit UTC time."""
    for row in session.deleted:
        if isinstance(row, Event):
            raise AuditViolation("事件日志只能追加，不能删除已记录的事件")
    for row in session.dirty:
        if isinstance(row, Event) and session.is_modified(row, include_collections=False):
            raise AuditViolation("事件日志只能追加，不能修改已记录的事件")
    for row in session.new:
        if isinstance(row, Event):
            row.at = row.at or utcnow()
            if row.at.tzinfo is None:
                row.at = row.at.replace(tzinfo=timezone.utc)


def remember(session: Session) -> None:
    """Keep the events a flush is inserting (called as the flush ends); `seal` chains them."""
    rows = [row for row in session.new if isinstance(row, Event)]
    if rows:
        session.info.setdefault(_PENDING, []).extend(rows)


@dataclass
class Entry:
    """One event to log, as `append` takes it: the logged fields, the chain fields left to `seal`."""

    kind: str
    at: datetime
    project_id: Optional[int] = None
    instance_id: Optional[int] = None
    actor_id: Optional[int] = None
    bpmn_id: str = ""
    summary: str = ""
    payload: Any = None

    def values(self) -> dict[str, Any]:
        """The fields as an Event row's values (the payload as given, not copied)."""
        return {name: getattr(self, name) for name in _ENTRY_FIELDS}


_ENTRY_FIELDS = tuple(f.name for f in fields(Entry))
_INSERT_EVENT = Prepared(insert(_EVENT).values({name: bindparam(name) for name in (*_ENTRY_FIELDS, "seq", "prev_hash", "hash")}))
"""Append an event, its chain fields given."""


def append(session: Session, entry: Entry) -> None:
    """Log an event: kept until `seal`, which inserts the transaction's entries already chained.

    Entries belong to the transaction they were appended in: a rollback leaves them unwritten.
    Inside a savepoint, or once the chain is sealed, the entry goes through the session as an
    Event row instead, so a rolled-back savepoint drops it and a COMMIT-time hook's entry is
    chained at once.
    """
    if session.in_nested_transaction() or session.info.get(_SEALED):
        session.add(Event(**entry.values()))
        return
    appended: list[Entry] = transaction_scoped(session, _APPENDED, list)
    appended.append(entry)


def seal(session: Session) -> None:
    """Flush what is left, then chain this transaction's events under the head lock: the last step before COMMIT."""
    for _ in range(100):
        if not (session.new or session.dirty or session.deleted):
            break
        session.flush()
    rows = session.info.pop(_PENDING, [])
    entries: list[Entry] = taken(session, _APPENDED) or []
    if rows or entries:
        chain(session, rows, entries)
    session.info[_SEALED] = True


def chain_late(session: Session) -> None:
    """After `seal`, chain at once whatever a flush inserted (a COMMIT-time hook), so no event is committed outside the chain."""
    if session.info.get(_SEALED) and session.info.get(_PENDING):
        chain(session, session.info.pop(_PENDING))


def _lock_head(session: Session) -> tuple[int, str]:
    """Take the head row lock (an UPDATE, so SQLite takes its write lock too); returns (seq, hash)."""
    connection = session.connection()
    head = connection.execute(
        update(AuditHead).where(AuditHead.id == HEAD_ID).values(seq=AuditHead.seq).returning(AuditHead.seq, AuditHead.hash)
    ).first()
    if head is None:
        connection.execute(insert(AuditHead).values(id=HEAD_ID, seq=0, hash=GENESIS))
        return 0, GENESIS
    return head.seq, head.hash


def chain(session: Session, rows: list[Event], entries: Sequence[Entry] = ()) -> int:
    """Chain these inserted events in id order, then insert `entries` after them, under the head lock; returns how many were chained.

    The hash covers the values as flushed; logged events cannot change afterwards (the flush
    guard refuses it), so they are the stored values. Events of a rolled-back savepoint are skipped.
    The head this process last wrote is tried first: one UPDATE that matches only if the head is
    still exactly that (seq and hash) both takes the lock and moves it; otherwise the head is
    locked and read, and the links are computed again from what it holds.
    """
    rows = sorted((r for r in rows if inspect(r).persistent and r.seq is None), key=lambda r: r.id)
    chained: list[Any] = [*rows, *entries]
    if not chained:
        return 0
    connection, _ = connection_of(session)
    guess = _LAST_HEAD.get(connection.engine)
    links = _links(chained, *guess) if guess is not None else []
    if guess is None or _MOVE_HEAD.run(
        session, {"old_seq": guess[0], "old_hash": guess[1], "new_seq": links[-1]["seq"], "new_hash": links[-1]["hash"]}
    ).rowcount != 1:
        links = _links(chained, *_lock_head(session))
        connection.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(seq=links[-1]["seq"], hash=links[-1]["hash"]))
    if rows:
        connection.execute(_LINK_ROWS, [{"event_id": row.id, **{"new_" + key: value for key, value in link.items()}} for row, link in zip(rows, links)])
        for row, link in zip(rows, links):
            for key, value in link.items():
                set_committed_value(row, key, value)
    if entries:
        _INSERT_EVENT.run_many(session, [{**entry.values(), **link} for entry, link in zip(entries, links[len(rows):])])
    _LAST_HEAD[connection.engine] = (links[-1]["seq"], links[-1]["hash"])
    return len(links)


def _links(chained: list[Any], seq: int, previous: str) -> list[dict[str, Any]]:
    """Each entry's position, predecessor hash and own hash, following the head (seq, hash)."""
    links = []
    for row in chained:
        seq += 1
        digest = entry_hash(row, seq, previous)
        links.append({"seq": seq, "prev_hash": previous, "hash": digest})
        previous = digest
    return links


@dataclass
class Verdict:
    """Outcome of a chain check: how many entries were read and the first problem, if any."""

    checked: int
    problem: Optional[str] = None
    event_id: Optional[int] = None
    seq: Optional[int] = None
    head: str = ""

    @property
    def ok(self) -> bool:
        """True when every entry is intact and none is missing."""
        return self.problem is None


def verify(session: Session, batch: int = 2000) -> Verdict:
    """Walk the chain in order; report the first altered entry, missing entry or foreign entry."""
    connection = session.connection()
    stray = connection.execute(select(func.min(_EVENT.c.id)).where(_EVENT.c.seq.is_(None))).scalar()
    expected_seq, previous, previous_id, checked = 1, GENESIS, None, 0
    while True:
        rows = connection.execute(
            select(*_COLUMNS).where(_EVENT.c.seq >= expected_seq).order_by(_EVENT.c.seq).limit(batch)
        ).all()
        for row in rows:
            if row.seq != expected_seq:
                where = f"事件 #{previous_id} 之后" if previous_id else "日志开头"
                return Verdict(
                    checked, f"第 {expected_seq} 条事件记录已被删除（{where}，缺 {row.seq - expected_seq} 条）", row.id, expected_seq
                )
            if entry_hash(row, row.seq, row.prev_hash) != row.hash:
                return Verdict(checked, f"事件 #{row.id}（第 {row.seq} 条，{row.kind}）的内容已被改动", row.id, row.seq)
            if row.prev_hash != previous:
                return Verdict(checked, f"事件 #{row.id}（第 {row.seq} 条）与前一条记录的链接不符，前一条已被改动或替换", row.id, row.seq)
            checked += 1
            expected_seq, previous, previous_id = row.seq + 1, row.hash, row.id
        if len(rows) < batch:
            break
    head = connection.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)).first()
    head_seq, head_hash = (head.seq, head.hash) if head is not None else (0, GENESIS)
    if head_seq >= expected_seq:
        missing = head_seq - expected_seq + 1
        return Verdict(checked, f"最后 {missing} 条事件记录已被删除（第 {expected_seq} 条起）", None, expected_seq)
    if head_hash != previous:
        return Verdict(checked, "链头记录与最后一条事件不符，日志末尾已被改动", previous_id, expected_seq - 1)
    if stray is not None:
        return Verdict(checked, f"事件 #{stray} 未经系统写入，不在审计链中", stray, None)
    return Verdict(checked, head=previous)
