"""A pooled PostgreSQL connection is judged at checkout by its socket, not by a round trip: one the server has closed is replaced.

The server closing a connection (a restart, a terminated backend, an idle timeout) sends its
last message and ends the stream, so the idle connection's socket turns readable. Only then is
the connection pinged; a healthy idle connection has nothing to read, and costs one `poll`
instead of the `SELECT 1` that SQLAlchemy's `pool_pre_ping` sends at every checkout. A ping
that fails invalidates the whole pool, as `pool_pre_ping` does: a restart has closed every
connection it holds. The pool never holds a connection closed on this side: its rollback on
return fails, and the pool drops it there.
"""
from __future__ import annotations

import select
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import InvalidatePoolError


def watch(engine: Engine) -> None:
    """Check every connection `engine`'s pool hands out; one the server has closed is replaced before a unit of work gets it."""
    dialect = engine.dialect

    def checked_out(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if not spoke(dbapi_connection.fileno()):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise InvalidatePoolError("the server closed a pooled connection") from error

    event.listen(engine, "checkout", checked_out)


def spoke(fd: int) -> bool:
    """Whether anything arrived on an idle connection's socket (the server's closing, an error or a notice), without waiting."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))
