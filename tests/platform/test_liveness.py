"""A pooled PostgreSQL connection the server has closed is replaced at checkout; a healthy one is handed out as it is, unpinged."""
from __future__ import annotations

from typing import Any

import pytest

from engine.platform.db import Database
from engine.platform.liveness import spoke


def backend(db: Database) -> int:
    """The server process behind the connection a unit of work checks out."""
    with db.session() as session:
        pid: int = session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    return pid


@pytest.fixture
def pings(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The test's database down to one pooled connection, so that every unit of work takes that one unless it is replaced; the list
    holds a 1 for every ping the pool sends."""
    if db.is_sqlite:
        pytest.skip("an SQLite connection cannot be dropped by a server")
    db.dispose()
    backend(db)
    sent: list[int] = []
    dialect = db.engine.dialect
    ping = dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        sent.append(1)
        return ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counted)
    return sent


def test_a_connection_the_server_closed_in_the_pool_is_replaced_before_a_unit_of_work_gets_it(db: Database, pings: list[int]) -> None:
    pid = backend(db)
    other = Database(db.url)  # a pool of its own: the test's pool would hand it the very connection to end
    try:
        with other.engine.connect() as connection:
            assert connection.exec_driver_sql(f"SELECT pg_terminate_backend({pid}, 5000)").scalar_one()  # waits until it has exited
    finally:
        other.dispose()
    assert backend(db) != pid  # no error reached the unit of work
    assert pings == [1]


def test_a_healthy_pooled_connection_is_handed_out_without_a_ping(db: Database, pings: list[int]) -> None:
    raw = db.engine.raw_connection()
    try:
        assert not spoke(raw.driver_connection.fileno())
    finally:
        raw.close()
    pid = backend(db)
    assert backend(db) == pid
    assert pings == []


def test_a_connection_closed_on_this_side_never_goes_back_to_the_pool(db: Database, pings: list[int]) -> None:
    raw = db.engine.raw_connection()
    pid = raw.driver_connection.info.backend_pid
    raw.driver_connection.close()
    raw.close()  # its rollback on return fails: the pool drops it
    assert backend(db) != pid
    assert pings == []
