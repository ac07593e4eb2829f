"""Database engine and unit of work: every service call runs in one transaction that commits once, through explicit steps.

A unit of work (`Database.session()`) rolls back unless its block succeeds. Its commit runs,
in order and in the same transaction: the registered commit steps (the orphan check, which
may notify through the outbox), then the audit chain over the events written, then the one
COMMIT; work that must wait for the commit (putting live workflows back in their cache) runs
after it, and is dropped on rollback. The steps are registered by `engine.wiring`, never on
import, and every session a Database hands out runs them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Engine, Executable, Table, bindparam, create_engine, event, insert, inspect, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Mapper, Session, SessionTransaction, make_transient, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import instance_state

from engine.platform import audit, liveness
from engine.platform.prepared import attached, prebuilt, transaction_scoped

T = TypeVar("T")

AFTER_COMMIT = "unit_of_work_after_commit"

FlushWatcher = Callable[[Session], None]
WriteWatcher = Callable[[Session, list[Any], bool], None]
"""Told of rows written past the flush, and whether they are new rows (inserted) or loaded rows with their change history."""
CommitStep = Callable[[Session], None]


@dataclass
class Steps:
    """What every unit of work runs besides the audit chain: watchers before each flush and of rows written past it, steps before the commit."""

    before_flush: list[FlushWatcher] = field(default_factory=list)
    written: list[WriteWatcher] = field(default_factory=list)
    before_commit: list[CommitStep] = field(default_factory=list)

    def add(
        self, before_flush: FlushWatcher | None = None, written: WriteWatcher | None = None, before_commit: CommitStep | None = None
    ) -> None:
        """Register watchers and/or a commit step (once: registering the same function again changes nothing)."""
        if before_flush is not None and before_flush not in self.before_flush:
            self.before_flush.append(before_flush)
        if written is not None and written not in self.written:
            self.written.append(written)
        if before_commit is not None and before_commit not in self.before_commit:
            self.before_commit.append(before_commit)


STEPS = Steps()


def after_commit(session: Session, work: Callable[[], None]) -> None:
    """Run `work` once this session's unit of work has committed; never if it rolls back."""
    session.info.setdefault(AFTER_COMMIT, []).append(work)


def wrote(session: Session, rows: list[Any], new: bool = False) -> None:
    """Tell the watchers of rows a unit of work wrote past the flush (a Core INSERT, `new`, or UPDATE), as a flush would have shown
    them."""
    for watch in STEPS.written:
        watch(session, rows, new)


def insert_row(session: Session, model: type[T], values: dict[str, Any]) -> T:
    """Insert one new row of `model` now, in one prebuilt INSERT, and return the session's loaded object for it.

    Every column not in `values` gets its model default, as the ORM's flush would give it; the
    watchers are told of the new row as a flush would have shown it, and the flush then has
    nothing left to do for it.
    """
    mapper: Mapper[Any] = inspect(model)
    (key_column,) = mapper.primary_key
    key_name = mapper.get_property_by_column(key_column).key
    row = with_defaults(model, values)
    keys = tuple(row)
    statement = prebuilt(("insert", mapper, keys), lambda: insert(cast(Table, mapper.local_table)).values(
        {mapper.attrs[key].columns[0].name: bindparam(key) for key in keys}).returning(key_column))
    ((key,),) = statement.rows(session, row)
    obj = attached(session, model, {key_name: key, **row})
    wrote(session, [obj], new=True)
    return obj


def with_defaults(model: type[Any], values: dict[str, Any]) -> dict[str, Any]:
    """`values` (by attribute) with every other column of the model but its primary key: its Python default, evaluated now as the
    ORM's flush would, else None. A column whose default the database or a SQL expression gives is refused (a prebuilt INSERT
    names every column)."""
    mapper: Mapper[Any] = inspect(model)
    keys = {mapper.get_property_by_column(column).key for column in mapper.primary_key}
    row = dict(values)
    for prop in mapper.column_attrs:
        if prop.key in row or prop.key in keys:
            continue
        column = prop.columns[0]
        default = column.default
        if column.server_default is not None or (default is not None and not (default.is_scalar or default.is_callable)):
            raise ValueError(f"{mapper.class_.__name__}.{prop.key}: a prebuilt INSERT gives only the model's Python defaults")
        row[prop.key] = None if default is None else default.arg if default.is_scalar else default.arg(None)
    return row


def save_changes(session: Session, row: Any) -> None:
    """Write a loaded row's changed columns now, in one UPDATE by primary key, and count the row as freshly loaded.

    The written watchers are told of the row first, while its change history still says what
    changed. The unit of work's flush then has nothing left to do for the row (re-attached with its
    history reset, it is no longer dirty). A row with a changed relationship, or a versioned
    one, is left to the flush, which knows how to write those.
    """
    state = instance_state(row)
    mapper = state.mapper
    identity = state.identity
    if not state.persistent or identity is None or not state.committed_state or mapper.version_id_col is not None:
        return
    keys = tuple(sorted(state.committed_state))
    columns = mapper.column_attrs
    if not all(key in columns for key in keys):
        return
    (key_column,) = mapper.primary_key
    statement = prebuilt(("update", mapper, keys), lambda: update(cast(Table, mapper.local_table)).where(key_column == bindparam("b_key"))
                         .values({columns[key].columns[0].name: bindparam(key) for key in keys}))
    wrote(session, [row])  # the watchers see the row with its change history, as a flush would have shown it
    if statement.run(session, {"b_key": identity[0], **{key: getattr(row, key) for key in keys}}).rowcount:
        updated_rows(session).add((cast(Table, mapper.local_table).name, identity[0]))
    make_transient(row)
    make_transient_to_detached(row)
    session.add(row)


UPDATED = "unit_of_work_rows_updated"  # session.info: the (table, key) of rows the transaction updated by save_changes


def updated_rows(session: Session) -> set[tuple[str, Any]]:
    """The rows (table name, primary key) this transaction has updated by `save_changes`, and so holds the row locks of until it
    ends (a savepoint's rollback forgets them all: the locks taken inside it are released)."""
    updated: set[tuple[str, Any]] = transaction_scoped(session, UPDATED, set)
    return updated


def changed(row: Any, fields: Iterable[str]) -> bool:
    """Whether the next flush writes any of these columns of a loaded row (what the unit of work's watchers ask).

    Only an attribute set since the row was loaded holds a committed value; its history then says whether the value differs.
    """
    state = instance_state(row)
    touched = state.committed_state
    return any(name in touched and state.attrs[name].history.has_changes() for name in fields)


def matched_rows(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE in this session and return how many rows it matched."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL lets readers run beside one writer; busy_timeout makes writers queue, not fail; a 32 MB page cache per connection
    keeps a county's hot indexes in memory between requests (SQLite's default is 2 MB)."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA cache_size=-32768")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    """The audit guard and the registered watchers see every flush of a unit of work."""
    audit.guard(session)
    for watch in STEPS.before_flush:
        watch(session)


def _after_flush(session: Session, _context: Any) -> None:
    """The audit chain remembers the events each flush inserted."""
    audit.remember(session)


def _after_flush_postexec(session: Session, _context: Any) -> None:
    """Events a COMMIT-time hook flushes after the seal are chained at once."""
    audit.chain_late(session)


def _after_soft_rollback(session: Session, rolled_back: SessionTransaction) -> None:
    """A rolled-back transaction leaves no after-commit work (a savepoint's rollback keeps it); any rollback forgets the rows
    updated, whose locks it may have released."""
    session.info.pop(UPDATED, None)
    if rolled_back.parent is None:
        session.info.pop(AFTER_COMMIT, None)


class Database:
    """Owns the SQLAlchemy engine and hands out units of work."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        kwargs: dict[str, Any] = {"future": True}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            kwargs["pool_size"] = 10
        self.url = url
        self.engine: Engine = create_engine(url, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            liveness.watch(self.engine)  # a connection the server dropped (a restart) is replaced at checkout, not handed to a request
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._factory, "before_flush", _before_flush)
        event.listen(self._factory, "after_flush", _after_flush)
        event.listen(self._factory, "after_flush_postexec", _after_flush_postexec)
        event.listen(self._factory, "after_soft_rollback", _after_soft_rollback)

    @property
    def is_sqlite(self) -> bool:
        """True when the backend is SQLite (affects locking strategy only)."""
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits once when the block succeeds, rolls back on any exception."""
        session = self._factory()
        try:
            yield session
            commit(session)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.info.clear()
            session.close()

    def refresh_statistics(self) -> int:
        """Give the query planner fresh statistics of every table and index; returns 1 when it ran.

        SQLite plans without statistics until ANALYZE has run, and then reads a million task rows
        through whichever index names `status` first. A sampled ANALYZE (at most 1,000 rows per
        index) takes milliseconds at county scale. PostgreSQL's autovacuum keeps its own.
        """
        if not self.is_sqlite:
            return 0
        with self.engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA analysis_limit=1000")
            connection.exec_driver_sql("ANALYZE")
        return 1

    def dispose(self) -> None:
        """Close pooled connections (tests, process shutdown)."""
        self.engine.dispose()


def commit(session: Session) -> None:
    """The commit pipeline: registered steps, the audit chain over this transaction's events, one COMMIT, then after-commit work."""
    for step in STEPS.before_commit:
        step(session)
    audit.seal(session)
    session.commit()
    for work in session.info.pop(AFTER_COMMIT, []):
        work()
