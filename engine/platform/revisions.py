"""Data revisions: a token per kind of derived figure, moved by every unit of work that changes what the figure is computed from.

A figure that costs an aggregate over years of rows (the live quarter's ranking) can then be
kept by whoever computed it and reused while the token it was computed under is still the
stored one. A `Watch` names the rows a figure reads: per model, the columns whose change
counts. The unit of work shows every flush and every row written past the flush to
`note_changes` and `note_written`; its commit step `move_noted` gives each touched watch a
new random token in the same transaction, so the token and the rows it vouches for commit
together. Tokens are random rather than counted, so a database restored from a backup, or a
copy of one, never meets a figure kept under the same token for other rows.
"""
from __future__ import annotations

import secrets
import threading
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, Optional, TypeVar

from sqlalchemy import String, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.platform import db
from engine.platform.models import Base
from engine.platform.prepared import Prepared, connection_of

T = TypeVar("T")
_NOTED = "data_revisions_noted"  # session.info: the names of the watches this unit of work touched


class DataRevision(Base):
    """The current token of one watch: it changes whenever the rows the watch names change."""

    __tablename__ = "data_revision"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


@dataclass(frozen=True)
class Watched:
    """One model a figure reads: the columns whose change counts (None: any), and those of which a new row must hold a value to count
    (None: every new row counts; () : none does, as a row that only counts once a later change fills it in)."""

    model: type
    fields: Optional[tuple[str, ...]] = None
    counted_when: Optional[tuple[str, ...]] = None

    def by_new(self, row: Any) -> bool:
        """Whether inserting this row changes the figure."""
        return isinstance(row, self.model) and (self.counted_when is None or any(getattr(row, f) is not None for f in self.counted_when))

    def by_change(self, row: Any) -> bool:
        """Whether the pending change of this loaded row changes the figure."""
        return isinstance(row, self.model) and (self.fields is None or db.changed(row, self.fields))


@dataclass(frozen=True)
class Watch:
    """What a derived figure is computed from, by name; a deleted row of any watched model always counts."""

    name: str
    watched: tuple[Watched, ...]

    def touched(self, session: Session) -> bool:
        """Whether the flush about to run changes the figure."""
        return (any(w.by_new(row) for row in session.new for w in self.watched)
                or any(w.by_change(row) for row in session.dirty for w in self.watched)
                or any(isinstance(row, w.model) for row in session.deleted for w in self.watched))

    def touched_by_written(self, rows: list[Any], new: bool) -> bool:
        """Whether rows written past the flush change the figure: `new` rows (`db.insert_row`), counted as a flush counts
        new rows, or rows `db.save_changes` writes, told while their change history is still there. Any other Core INSERT or
        UPDATE of a watched model carries no history, so whoever writes one also calls `move` (no product code writes the
        watched models so)."""
        if new:
            return any(w.by_new(row) for row in rows for w in self.watched)
        return any(w.by_change(row) for row in rows for w in self.watched)


WATCHES: dict[str, Watch] = {}


def watch(spec: Watch) -> None:
    """Register a watch (by name: registering it again replaces it)."""
    WATCHES[spec.name] = spec


def note_changes(session: Session) -> None:
    """Note the watches this flush touches (the unit of work's flush watcher)."""
    if not WATCHES:
        return
    _note(session, {spec.name for spec in WATCHES.values() if spec.touched(session)})


def note_written(session: Session, rows: list[Any], new: bool) -> None:
    """Note the watches touched by rows written past the flush (the unit of work's written watcher; see `Watch.touched_by_written`)."""
    _note(session, {spec.name for spec in WATCHES.values() if spec.touched_by_written(rows, new)})


def _note(session: Session, names: set[str]) -> None:
    if names:
        session.info.setdefault(_NOTED, set()).update(names)


def move_noted(session: Session) -> None:
    """The unit of work's commit step: a new token for every watch it touched (after a last flush, whose changes count too)."""
    if not session.info.get(_NOTED) and not (session.new or session.dirty or session.deleted):
        return
    session.flush()
    for name in sorted(session.info.pop(_NOTED, ())):
        move(session, name)


def _upsert(insert: Any) -> Any:
    """Store a watch's token (named `name` and `token`), replacing the one it had."""
    statement = insert(DataRevision).values(name=bindparam("name"), token=bindparam("token"))
    return statement.on_conflict_do_update(index_elements=["name"], set_={"token": statement.excluded.token})


_MOVES = {"postgresql": Prepared(_upsert(postgresql.insert)), "sqlite": Prepared(_upsert(sqlite.insert))}
"""The token's upsert per dialect, built once."""


def move(session: Session, name: str) -> None:
    """Give a watch a new token in this transaction (rows changed where no watcher saw them: a bulk load, a repair)."""
    _MOVES[connection_of(session)[0].dialect.name].run(session, {"name": name, "token": secrets.token_hex(16)})


def current(session: Session, name: str) -> Optional[str]:
    """The watch's stored token (None before it was ever moved: a figure is then not kept)."""
    return session.scalar(select(DataRevision.token).where(DataRevision.name == name))


def move_all(session: Session) -> None:
    """A new token for every registered watch (after a bulk load that no watcher saw)."""
    for name in sorted(WATCHES):
        move(session, name)


class Kept(Generic[T]):
    """Figures of one watch, computed by `compute` and kept per database and key while the watch's token stands.

    A unit of work that has itself changed the watched rows (flushed or pending) neither reads
    nor keeps a figure: what it would see is not yet committed, and may never be. `copy` hands
    each caller a figure of its own, so no caller changes what the next one is given.
    """

    def __init__(self, name: str, copy: Callable[[T], T], capacity: int = 64) -> None:
        self.name = name
        self.copy = copy
        self.capacity = capacity
        self._kept: weakref.WeakKeyDictionary[Any, dict[Hashable, tuple[str, T]]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, session: Session, key: Hashable, compute: Callable[[], T]) -> T:
        """The figure for `key`: kept if computed under the current token, else computed now (and kept when it may be)."""
        if self._changed_here(session):
            return compute()
        token = current(session, self.name)
        engine = session.get_bind()
        with self._lock:
            hit = self._kept.get(engine, {}).get(key)
        if hit is not None and token is not None and hit[0] == token:
            return self.copy(hit[1])
        value = compute()
        if token is not None and not self._changed_here(session):
            with self._lock:
                kept = self._kept.setdefault(engine, {})
                kept.pop(key, None)
                kept[key] = (token, self.copy(value))
                while len(kept) > self.capacity:
                    kept.pop(next(iter(kept)))
        return value

    def _changed_here(self, session: Session) -> bool:
        """Whether this unit of work has changed, or is about to flush a change of, the watched rows."""
        spec = WATCHES.get(self.name)
        return self.name in session.info.get(_NOTED, ()) or (spec is not None and spec.touched(session))
