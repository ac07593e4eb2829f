"""The event log is hash-chained: verify finds the first altered, deleted or slipped-in entry."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engine.platform import audit, schema
from engine.platform.db import Database
from engine.platform.models import Event, utcnow
from tests.conftest import INTENT, Helper


def _tamper(db: Database, statement: str) -> None:
    """Run SQL the way someone with direct database access would, bypassing the append-only triggers."""
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.execute(text("DROP TRIGGER event_no_update"))
            conn.execute(text("DROP TRIGGER event_no_delete"))
        else:
            conn.execute(text("ALTER TABLE event DISABLE TRIGGER event_append_only"))
        conn.execute(text(statement))


def _verdict(db: Database) -> audit.Verdict:
    with db.session() as s:
        return audit.verify(s)


def _events(db: Database) -> list[Event]:
    with db.session() as s:
        return list(s.scalars(select(Event).order_by(Event.seq)))


def test_every_event_is_chained_to_the_one_before(h: Helper) -> None:
    pid = h.register()
    h.complete(pid, "anwen", INTENT)
    rows = _events(h.db)
    assert [r.kind for r in rows] == ["deploy", "start", "complete"]
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0].prev_hash == audit.GENESIS
    for before, after in zip(rows, rows[1:]):
        assert after.prev_hash == before.hash
    verdict = _verdict(h.db)
    assert verdict.ok and verdict.checked == len(rows)


def test_altered_row_is_reported(h: Helper) -> None:
    pid = h.register()
    h.complete(pid, "anwen", INTENT)
    target = next(r for r in _events(h.db) if r.kind == "complete")
    _tamper(h.db, f"UPDATE event SET summary = '有人改了这条记录' WHERE id = {target.id}")
    verdict = _verdict(h.db)
    assert not verdict.ok
    assert verdict.event_id == target.id
    assert f"事件 #{target.id}" in verdict.problem and "已被改动" in verdict.problem


def test_altered_row_with_recomputed_hash_breaks_the_next_link(h: Helper) -> None:
    pid = h.register()
    h.complete(pid, "anwen", INTENT)
    rows = _events(h.db)
    target, following = rows[1], rows[2]
    assert target.seq is not None and target.prev_hash is not None
    forged = audit.entry_hash(_with(target, summary="伪造"), target.seq, target.prev_hash)
    _tamper(h.db, f"UPDATE event SET summary = '伪造', hash = '{forged}' WHERE id = {target.id}")
    verdict = _verdict(h.db)
    assert verdict.event_id == following.id and "链接不符" in verdict.problem


def _with(row: Event, **changes: str) -> Event:
    copy = Event(**{c.key: getattr(row, c.key) for c in Event.__table__.columns})
    for key, value in changes.items():
        setattr(copy, key, value)
    return copy


def test_deleted_row_is_reported(h: Helper) -> None:
    pid = h.register()
    h.complete(pid, "anwen", INTENT)
    rows = _events(h.db)
    victim = rows[1]
    _tamper(h.db, f"DELETE FROM event WHERE id = {victim.id}")
    verdict = _verdict(h.db)
    assert verdict.seq == victim.seq
    assert f"第 {victim.seq} 条事件记录已被删除" in verdict.problem
    assert f"事件 #{rows[0].id} 之后" in verdict.problem


def test_deleted_last_row_is_reported_through_the_head(h: Helper) -> None:
    h.register()
    last = _events(h.db)[-1]
    _tamper(h.db, f"DELETE FROM event WHERE id = {last.id}")
    verdict = _verdict(h.db)
    assert not verdict.ok and f"最后 1 条事件记录已被删除（第 {last.seq} 条起）" in verdict.problem


def test_row_inserted_behind_the_chain_is_reported(h: Helper) -> None:
    h.register()
    with h.db.engine.begin() as conn:
        conn.execute(insert(Event.__table__).values(kind="complete", at=utcnow(), bpmn_id="", summary="补记"))
        stray = conn.execute(text("SELECT max(id) FROM event")).scalar()
    verdict = _verdict(h.db)
    assert verdict.event_id == stray and "不在审计链中" in verdict.problem


def test_database_refuses_update_and_delete_of_logged_events(h: Helper) -> None:
    h.register()
    first = _events(h.db)[0]
    for statement in (f"UPDATE event SET summary = 'x' WHERE id = {first.id}", f"DELETE FROM event WHERE id = {first.id}"):
        with pytest.raises(DBAPIError, match="事件日志只能追加"):
            with h.db.engine.begin() as conn:
                conn.execute(text(statement))
    assert _verdict(h.db).ok


def test_orm_refuses_to_change_or_delete_an_event(h: Helper) -> None:
    h.register()
    with pytest.raises(audit.AuditViolation, match="不能修改"):
        with h.db.session() as s:
            row = s.scalars(select(Event).limit(1)).one()
            row.summary = "改写"
    with pytest.raises(audit.AuditViolation, match="不能删除"):
        with h.db.session() as s:
            s.delete(s.scalars(select(Event).limit(1)).one())
    assert _verdict(h.db).ok


def test_rolled_back_events_leave_no_gap(h: Helper) -> None:
    h.register()
    with pytest.raises(RuntimeError):
        with h.db.session() as s:
            s.add(Event(kind="note", summary="不会提交"))
            s.flush()
            raise RuntimeError("abort")
    h.register(name="第二个项目")
    assert _verdict(h.db).ok


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_chains_rows_logged_before_it(backend: str, tmp_path: Path) -> None:
    from tests.conftest import PG_URL, reset_postgres

    if backend == "postgresql" and not PG_URL:
        pytest.skip("ZHIKONG_TEST_PG not set")
    if backend == "postgresql":
        assert PG_URL is not None
        reset_postgres(PG_URL)
        db = Database(PG_URL)
    else:
        db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    config = schema.alembic_config(db)
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(text("INSERT INTO event (at, kind, bpmn_id, summary) VALUES ('2026-01-02 03:04:05.000006', 'deploy', '', '旧记录一')"))
        conn.execute(text("INSERT INTO event (at, kind, bpmn_id, summary, payload) VALUES ('2026-01-03 00:00:00', 'note', '', '旧记录二', '{\"a\": [1, 2.5]}')"))
    schema.upgrade(db)
    rows = _events(db)
    assert [(r.seq, r.summary) for r in rows] == [(1, "旧记录一"), (2, "旧记录二")]
    assert _verdict(db).ok
    with db.session() as s:
        s.add(Event(kind="note", summary="迁移后的新记录"))
    verdict = _verdict(db)
    assert verdict.ok and verdict.checked == 3
    db.dispose()


def test_concurrent_writers_keep_one_chain(db: Database) -> None:
    """Eight threads each commit twenty transactions of two events; the chain has no fork or gap."""
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(20):
                with db.session() as s:
                    s.add(Event(kind="note", summary=f"线程{n}-{i}-a"))
                    s.flush()
                    s.add(Event(kind="note", summary=f"线程{n}-{i}-b"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    verdict = _verdict(db)
    assert verdict.ok, verdict.problem
    notes = [e for e in _events(db) if e.kind == "note"]
    assert len(notes) == 8 * 20 * 2
    for first, second in zip(notes[::2], notes[1::2]):  # one transaction's two events stay adjacent
        assert second.seq == first.seq + 1 and first.summary[:-1] == second.summary[:-1]


def test_events_added_by_a_later_commit_hook_are_chained_too(h: Helper) -> None:
    from sqlalchemy import event as sa_event

    with h.db.session() as s:
        done: list[bool] = []

        def late(session: Session) -> None:
            if not done:
                done.append(True)
                session.add(Event(kind="note", summary="提交前最后一刻写入"))

        sa_event.listen(s, "before_commit", late)
        s.add(Event(kind="note", summary="普通写入"))
    rows = _events(h.db)
    assert [r.summary for r in rows][-2:] == ["普通写入", "提交前最后一刻写入"]
    assert all(r.seq is not None for r in rows)
    assert _verdict(h.db).ok


def test_events_of_a_rolled_back_savepoint_leave_no_gap(h: Helper) -> None:
    with h.db.session() as s:
        s.add(Event(kind="note", summary="保留"))
        s.flush()
        savepoint = s.begin_nested()
        s.add(Event(kind="note", summary="撤销"))
        s.flush()
        savepoint.rollback()
        s.add(Event(kind="note", summary="再保留"))
    assert [r.summary for r in _events(h.db)][-2:] == ["保留", "再保留"]
    assert _verdict(h.db).ok


def _note(session: Session, summary: str) -> None:
    audit.append(session, audit.Entry(kind="note", at=utcnow(), summary=summary))


def test_appended_entries_follow_flushed_rows_and_survive_another_process_moving_the_head(db: Database) -> None:
    """Each Database is a process's own engine: every commit of one moves the head the other last saw."""
    other = Database(db.url)
    try:
        for i in range(3):
            for n, writer in enumerate((db, other)):
                with writer.session() as s:
                    s.add(Event(kind="note", summary=f"行{n}-{i}"))
                    s.flush()
                    _note(s, f"追加{n}-{i}-a")
                    _note(s, f"追加{n}-{i}-b")
    finally:
        other.dispose()
    verdict = _verdict(db)
    assert verdict.ok, verdict.problem
    notes = [e.summary for e in _events(db) if e.kind == "note"]
    assert notes == [f"{kind}{n}-{i}{tail}" for i in range(3) for n in range(2)
                     for kind, tail in (("行", ""), ("追加", "-a"), ("追加", "-b"))]


def test_entries_of_a_rolled_back_transaction_are_never_written(db: Database) -> None:
    with db.session() as s:
        _note(s, "撤销")
        s.rollback()
        _note(s, "保留")
    with pytest.raises(RuntimeError):
        with db.session() as s:
            _note(s, "异常撤销")
            raise RuntimeError("abort")
    assert [e.summary for e in _events(db) if e.kind == "note"] == ["保留"]
    assert _verdict(db).ok


def test_an_entry_appended_in_a_rolled_back_savepoint_is_dropped(db: Database) -> None:
    with db.session() as s:
        _note(s, "保留")
        savepoint = s.begin_nested()
        _note(s, "撤销")
        savepoint.rollback()
        _note(s, "再保留")
    assert [e.summary for e in _events(db) if e.kind == "note"] == ["保留", "再保留"]
    assert _verdict(db).ok
