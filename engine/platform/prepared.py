"""Prebuilt statements run on a unit of work's own driver connection: hot-path SQL compiled once, past SQLAlchemy's per-call layers.

A completion sends about ten statements. Through SQLAlchemy's execution each costs some 19 µs
of Python (cache key, execution context, result wrapping) above the driver's 5 µs. A
`Prepared` statement is compiled once per dialect, exactly as SQLAlchemy would send it; each run
converts its values by the statement's own bind types (the same conversions SQLAlchemy
applies) and executes on the DBAPI connection the unit of work holds, in its transaction.
Results come back as the driver's rows; a SELECT's columns are converted by their types too,
and `attached` turns a row's columns into the session's loaded object, as a query would.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import iterate
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ReturnsRows

T = TypeVar("T")
Conversions = tuple[tuple[int, Callable[[Any], Any]], ...]
"""The values that convert, by position, each with its converter."""


@dataclass(frozen=True)
class Form:
    """One statement as one dialect's driver takes it: its SQL, its parameters in order, the values that convert, its result columns.

    A statement with expanding (IN) parameters has a form per number of values each gets; `expansion` names, for each, the
    parameters its values fill.
    """

    sql: str
    names: tuple[str, ...]
    fixed: dict[str, Any]  # every parameter, with the values the statement itself holds (None for those given at each run)
    binds: Conversions
    positional: bool
    columns: tuple[Any, ...]
    dialect: Dialect
    pick: Callable[[Mapping[str, Any]], Sequence[Any]]  # the parameters' values in order, read in one call
    expansion: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """The driver's parameters for these values: converted, in order for a positional driver, by name otherwise."""
        given = {**self.fixed, **values}
        for name, slots in self.expansion:
            given.update(zip(slots, given[name]))
        picked = self.pick(given)
        if self.binds:
            picked = list(picked)
            for index, convert in self.binds:
                picked[index] = convert(picked[index])
        return picked if self.positional else dict(zip(self.names, picked))


def picker(names: Sequence[str]) -> Callable[[Mapping[str, Any]], Sequence[Any]]:
    """What reads these names' values from a mapping, in order, as a tuple (an itemgetter: one C call, however many names)."""
    if len(names) > 1:
        return itemgetter(*names)
    if names:
        (name,) = names
        return lambda values: (values[name],)
    return lambda values: ()


def expanding_names(statement: ClauseElement) -> tuple[str, ...]:
    """The statement's expanding (IN) parameters, whose number of values its SQL is rendered for."""
    return tuple(sorted({element.key for element in iterate(statement) if isinstance(element, BindParameter) and element.expanding}))


def compile_for(statement: ClauseElement, dialect: Dialect, sizes: Mapping[str, int]) -> Form:
    """`statement` compiled for `dialect`, each expanding parameter rendered for `sizes[name]` values, with the bind and result
    conversions SQLAlchemy would apply."""
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    if any(not by_name[name].expanding for name in (compiled.bind_names[bind] for bind in compiled.post_compile_params)):
        raise ValueError("a prebuilt statement cannot take a parameter rendered into its SQL as a literal")
    expanded = compiled.construct_expanded_state({**compiled.params, **{name: [None] * size for name, size in sizes.items()}})
    expansion = tuple((name, tuple(slots)) for name, slots in expanded.parameter_expansion.items())
    origin = {slot: name for name, slots in expansion for slot in slots}
    names = tuple(expanded.positiontup or ()) if compiled.positional else tuple(expanded.parameters)
    found = (by_name[origin.get(name, name)].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
    binds = tuple((index, convert) for index, convert in enumerate(found) if convert is not None)
    columns = tuple(statement.exported_columns) if isinstance(statement, ReturnsRows) else ()  # a SELECT's, or the RETURNING columns
    return Form(expanded.statement, names, dict(compiled.params), binds, compiled.positional, columns, dialect, picker(names), expansion)


def converters(form: Form, description: Sequence[Sequence[Any]]) -> Conversions:
    """The result columns that need converting, by position, with their types' converters for the types the driver reported."""
    dialect = form.dialect
    found = (column.type.dialect_impl(dialect).result_processor(dialect, reported[1]) for column, reported in zip(form.columns, description))
    return tuple((index, convert) for index, convert in enumerate(found) if convert is not None)


def transaction_scoped(session: Session, key: str, make: Callable[[], T]) -> T:
    """What the session keeps under `key` for its current transaction (begun if none is): `make()`'s value, made again once a
    commit or a rollback has begun another transaction."""
    transaction = session.get_transaction() or session.begin()
    held: tuple[Any, T] | None = session.info.get(key)
    if held is None or held[0] is not transaction:
        held = session.info[key] = (transaction, make())
    return held[1]


def taken(session: Session, key: str) -> Any:
    """What the session kept under `key` for its current transaction, removed (None if it kept nothing for this one); begins no
    transaction."""
    held: tuple[Any, Any] | None = session.info.pop(key, None)
    return held[1] if held is not None and held[0] is session.get_transaction() else None


HELD = "prepared_connection"  # session.info: the current transaction's connection and that connection's driver connection


def connection_of(session: Session) -> tuple[Connection, Any]:
    """The session's connection in its current transaction, and its pooled driver connection, asked of the session once per
    transaction (again after the connection was invalidated)."""
    held = transaction_scoped(session, HELD, lambda: _checked_out(session))
    if held[0].invalidated:
        session.info.pop(HELD)
        held = transaction_scoped(session, HELD, lambda: _checked_out(session))
    return held


def _checked_out(session: Session) -> tuple[Connection, Any]:
    connection = session.connection()
    return connection, connection.connection


class Prepared:
    """A Core statement compiled on first use per dialect (and per number of values of each expanding parameter) and run on the
    driver.

    The driver's errors reach callers as SQLAlchemy's (a busy database is an OperationalError
    either way), and a dropped connection is invalidated, as SQLAlchemy's own execution does.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self.expanding = expanding_names(statement)
        self.forms: dict[tuple[Any, ...], Form] = {}  # by dialect and the number of values of each expanding parameter
        self.results: dict[str, Conversions] = {}

    def run(self, session: Session, values: Mapping[str, Any]) -> Any:
        """Execute once with these values in the session's transaction; the driver's cursor (rowcount, fetched rows)."""
        return self.execute(session, [values])[1]

    def run_many(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
        """Execute for every row in one driver call (executemany; one row is one plain execute, which psycopg sends without a
        pipeline's extra round trip); the rows matched in all, as both drivers sum them."""
        return self.execute(session, rows)[1].rowcount if rows else 0

    def rows(self, session: Session, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Execute a SELECT (or a statement with RETURNING) and fetch every row, each column converted by its type."""
        form, cursor = self.execute(session, [values])
        fetched = cursor.fetchall()
        converting = self.results.get(form.dialect.name)
        if converting is None:
            converting = self.results[form.dialect.name] = converters(form, cursor.description)
        if not converting:
            return [tuple(row) for row in fetched]
        rows = []
        for row in fetched:
            columns = list(row)
            for index, convert in converting:
                columns[index] = convert(columns[index])
            rows.append(tuple(columns))
        return rows

    def execute(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> tuple[Form, Any]:
        """Run the statement for `rows` (one or several sets of values, each expanding parameter given as many values in every
        set) on the session's driver connection, in one driver call; its form and the cursor."""
        connection, driver = connection_of(session)
        dialect = connection.dialect
        sizes = {name: len(rows[0][name]) for name in self.expanding}
        key = (dialect.name, *sizes.values())
        form = self.forms.get(key)
        if form is None:
            form = self.forms[key] = compile_for(self.statement, dialect, sizes)
        cursor = None
        try:
            cursor = driver.cursor()
            if len(rows) == 1:
                cursor.execute(form.sql, form.parameters(rows[0]))
            else:
                each: list[Any] = [form.parameters(values) for values in rows]
                cursor.executemany(form.sql, each)
            return form, cursor
        except dialect.loaded_dbapi.Error as exc:
            gone = dialect.is_disconnect(exc, driver, cursor)
            if gone:
                connection.invalidate(exc)
            raise DBAPIError.instance(form.sql, None, exc, dialect.loaded_dbapi.Error, connection_invalidated=gone, dialect=dialect) from exc


BUILT: dict[Hashable, Prepared] = {}
"""Statements whose shape depends on what they are used for (the columns a row changed, a model's columns), by that key."""


def prebuilt(key: Hashable, build: Callable[[], ClauseElement]) -> Prepared:
    """The prebuilt statement kept under `key`, made from `build()` on its first use."""
    statement = BUILT.get(key)
    if statement is None:
        statement = BUILT[key] = Prepared(build())
    return statement


def column_keys(model: type[Any], leave_out: Sequence[str] = ()) -> tuple[str, ...]:
    """A model's column attributes in mapped order, but those left out (read later, when first used)."""
    return tuple(prop.key for prop in inspect(model).column_attrs if prop.key not in leave_out)


MAPPED: dict[type[Any], tuple[Mapper[Any], Callable[[Mapping[str, Any]], Sequence[Any]]]] = {}
"""Each model's mapper and what reads its primary key from a row, as `attached` looks them up."""


def attached(session: Session, model: type[T], row: dict[str, Any]) -> T:
    """The session's loaded `model` object for a row (column key → value) read or written through the driver: the one the session
    holds for that identity, else a new one.

    A new object gets these column values as loaded, with no change history; columns not in
    `row` count as expired and are read when first used (a deferred column, as a query's `defer`
    leaves it). Relationships load as they would on a queried object.
    """
    found = MAPPED.get(model)
    if found is None:
        mapper = inspect(model)
        found = MAPPED[model] = (mapper, picker([mapper.get_property_by_column(column).key for column in mapper.primary_key]))
    mapper, key_of = found
    held = session.identity_map.get(mapper.identity_key_from_primary_key(tuple(key_of(row))))
    if held is not None:
        return cast(T, held)
    obj: T = mapper.class_manager.new_instance()
    obj.__dict__.update(row)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj
