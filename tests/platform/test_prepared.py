"""Prebuilt statements store and read exactly what SQLAlchemy's own execution stores and reads, and fail as it fails."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from engine.platform.db import Database
from engine.platform.models import User
from engine.platform.prepared import Prepared, attached, column_keys
from engine.platform.warning_settings import WarningSetting

SETTING = WarningSetting.__table__
INSERT = insert(SETTING).values(key=bindparam("key"), value=bindparam("value"), updated_at=bindparam("updated_at"),
                                updated_by=bindparam("updated_by"))
CASES: list[dict[str, Any]] = [
    {"value": {"天数": 7, "list": [1.5, None, "红"]}, "updated_at": datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)},
    {"value": None, "updated_at": datetime(2026, 3, 1, 8, 0, 0, 120, tzinfo=timezone(timedelta(hours=8)))},
    {"value": "文本", "updated_at": datetime(2026, 12, 31, 23, 59, 59, 999999)},
]


def stored(db: Database, key: str) -> tuple[Any, ...]:
    """The row's columns exactly as the database holds them, read through the driver."""
    with db.engine.connect() as connection:
        return tuple(connection.execute(text("SELECT value, updated_at, updated_by FROM warning_setting WHERE key = :key"),
                                         {"key": key}).one())


@pytest.mark.parametrize("case", range(len(CASES)))
def test_stores_and_reads_what_sqlalchemy_does(db: Database, case: int) -> None:
    values = {**CASES[case], "updated_by": None}
    prepared_read = Prepared(select(SETTING.c.value, SETTING.c.updated_at).where(SETTING.c.key == bindparam("key")))
    with db.session() as session:
        session.connection().execute(INSERT, {**values, "key": "by_sqlalchemy"})
        Prepared(INSERT).run(session, {**values, "key": "prebuilt"})
    assert stored(db, "prebuilt") == stored(db, "by_sqlalchemy")
    with db.session() as session:
        expected = session.execute(select(SETTING.c.value, SETTING.c.updated_at).where(SETTING.c.key == "by_sqlalchemy")).one()
        assert prepared_read.rows(session, {"key": "prebuilt"}) == [tuple(expected)]


def test_counts_matched_rows_and_runs_in_the_unit_of_work(db: Database) -> None:
    touch = Prepared(update(SETTING).where(SETTING.c.key == bindparam("b_key")).values(value=bindparam("value")))
    with pytest.raises(RuntimeError), db.session() as session:
        Prepared(INSERT).run_many(session, [{**CASES[0], "key": f"k{i}", "updated_by": None} for i in range(3)])
        assert touch.run_many(session, [{"b_key": "k0", "value": 1}, {"b_key": "k2", "value": 2}, {"b_key": "none", "value": 3}]) == 2
        raise RuntimeError("rolled back")
    with db.session() as session:
        assert session.scalar(select(SETTING.c.key).where(SETTING.c.key.like("k%"))) is None


def test_driver_errors_arrive_as_sqlalchemys(db: Database) -> None:
    with pytest.raises(IntegrityError), db.session() as session:
        Prepared(INSERT).run_many(session, [{**CASES[0], "key": "twice", "updated_by": None}] * 2)


@pytest.mark.parametrize("keys", [[], ["k1"], ["k0", "k2"], ["k0", "k1", "k2", "missing"]])
def test_an_expanding_parameter_reads_what_sqlalchemy_reads(db: Database, keys: list[str]) -> None:
    """An IN list of any length, the empty one included, gets its own form, and reads the rows SQLAlchemy's rendering reads."""
    statement = (select(SETTING.c.key, SETTING.c.updated_at).where(SETTING.c.key.in_(bindparam("keys", expanding=True)),
                                                                   SETTING.c.key != bindparam("other"))
                 .order_by(SETTING.c.key))
    prebuilt = Prepared(statement)
    with db.session() as session:
        Prepared(INSERT).run_many(session, [{**CASES[0], "key": f"k{i}", "updated_by": None} for i in range(3)])
        expected = [tuple(row) for row in session.execute(statement, {"keys": keys, "other": "k9"})]
        assert prebuilt.rows(session, {"keys": keys, "other": "k9"}) == expected
        assert len(expected) == len([key for key in keys if key != "missing"])


def test_a_dropped_connection_is_reported_and_replaced(db: Database) -> None:
    """The server ending a unit of work's connection reaches the caller as SQLAlchemy's disconnect; the next unit of work runs."""
    if db.is_sqlite:
        pytest.skip("an SQLite connection cannot be dropped by a server")
    read = Prepared(select(SETTING.c.key).where(SETTING.c.key == bindparam("key")))
    with pytest.raises(DBAPIError) as raised, db.session() as session:
        pid = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with db.engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        read.rows(session, {"key": "any"})
    assert raised.value.connection_invalidated
    with db.session() as session:
        assert read.rows(session, {"key": "any"}) == []


def test_attached_rows_are_the_sessions_loaded_objects(db: Database) -> None:
    keys = column_keys(User, leave_out=("password_hash",))
    read = Prepared(select(*(getattr(User, key) for key in keys)).where(User.username == bindparam("name")))
    with db.session() as session:
        expected = session.scalars(select(User).where(User.username == "anwen")).one()
        held = (expected.id, expected.password_hash, expected.roles)
        session.expunge_all()
        (row,) = read.rows(session, {"name": "anwen"})
        user = attached(session, User, dict(zip(keys, row)))
        assert user in session and not session.dirty and not session.is_modified(user)
        assert (user.id, user.password_hash, user.roles) == held  # the column left out and the roles load when first used
        assert attached(session, User, dict(zip(keys, row))) is user  # the session's object for that identity, as a query gives
        user.title = "新职务"
        assert session.dirty
    with db.session() as session:
        assert session.scalars(select(User.title).where(User.username == "anwen")).one() == "新职务"


def test_each_transaction_of_a_session_runs_on_its_own_connection(db: Database) -> None:
    """A session that commits and goes on (a script's, not a unit of work's) writes its next statements in its next transaction."""
    add = Prepared(INSERT)
    with Session(db.engine) as session:
        add.run(session, {**CASES[0], "key": "first", "updated_by": None})
        session.commit()
        add.run(session, {**CASES[0], "key": "second", "updated_by": None})
        session.rollback()
        add.run(session, {**CASES[0], "key": "third", "updated_by": None})
        session.commit()
    with db.session() as session:
        assert set(session.scalars(select(SETTING.c.key).where(SETTING.c.key.in_(["first", "second", "third"])))) == {"first", "third"}
