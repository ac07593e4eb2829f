"""Prebuilt statements run on a unit of work's own driver connection: hot-path SQL compiled once, past SQLAlchemy's per-call layers.

A completion sends about ten statements. Through SQLAlchemy's execution each costs some 19 µs
of Python (cache key, execution context, result wrapping) above the driver's 5 µs. A
`Prepared` statement is compiled once per dialect, exactly as SQLAlchemy would send it; each run
converts its values by the statement's own bind types (the same conversions SQLAlchemy
applies) and executes on the DBAPI connection the unit of work holds, in its transaction.
Results come back as the driver's rows; a SELECT's columns are converted by their types too.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy.exc import DBAPIError
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ReturnsRows

Convert = Optional[Callable[[Any], Any]]


@dataclass(frozen=True)
class Form:
    """One statement as one dialect's driver takes it: its SQL, its parameters in order, how each value and result column converts."""

    sql: str
    names: tuple[str, ...]
    fixed: dict[str, Any]
    binds: tuple[Convert, ...]
    positional: bool
    results: tuple[Convert, ...]

    def parameters(self, values: Mapping[str, Any]) -> list[Any] | dict[str, Any]:
        """The driver's parameters for these values: converted, in order for a positional driver, by name otherwise."""
        fixed = self.fixed
        converted = [values[name] if name in values else fixed[name] for name in self.names]
        for index, convert in enumerate(self.binds):
            if convert is not None:
                converted[index] = convert(converted[index])
        return converted if self.positional else dict(zip(self.names, converted))


def compile_for(statement: ClauseElement, dialect: Dialect) -> Form:
    """`statement` compiled for `dialect`, with the bind and result conversions SQLAlchemy would apply."""
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    if compiled.post_compile_params:
        raise ValueError("a prebuilt statement cannot take an expanding (IN) parameter: its SQL changes with each list")
    names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.params)
    by_name = {name: bind for bind, name in compiled.bind_names.items()}
    binds = tuple(by_name[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
    columns = statement.exported_columns if isinstance(statement, ReturnsRows) else ()  # a SELECT's, or the RETURNING columns
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns)
    return Form(compiled.string, names, dict(compiled.params), binds, compiled.positional, results)


class Prepared:
    """A Core statement without expanding parameters, compiled on first use per dialect and run on the driver.

    The driver's errors reach callers as SQLAlchemy's (a busy database is an OperationalError
    either way), and a dropped connection is invalidated, as SQLAlchemy's own execution does.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self.forms: dict[str, Form] = {}

    def run(self, session: Session, values: Mapping[str, Any]) -> Any:
        """Execute once with these values in the session's transaction; the driver's cursor (rowcount, fetched rows)."""
        return self.execute(session, [values], many=False)[1][0]

    def run_each(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
        """Execute once per row (a few rows: one statement each, in order); the rows matched in all."""
        return sum(cursor.rowcount for cursor in self.execute(session, rows, many=False)[1])

    def run_many(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute for every row in one driver call (executemany), where no count is needed."""
        if rows:
            self.execute(session, rows, many=True)

    def rows(self, session: Session, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Execute a SELECT (or a statement with RETURNING) and fetch every row, each column converted by its type."""
        form, (cursor,) = self.execute(session, [values], many=False)
        fetched, results = cursor.fetchall(), form.results
        if not any(results):
            return [tuple(row) for row in fetched]
        return [tuple(value if convert is None else convert(value) for value, convert in zip(row, results)) for row in fetched]

    def execute(self, session: Session, rows: Sequence[Mapping[str, Any]], many: bool) -> tuple[Form, list[Any]]:
        """Run the statement for `rows` on the session's driver connection (one call with `many`); its form and the cursors used."""
        connection = session.connection()
        dialect = connection.dialect
        form = self.forms.get(dialect.name)
        if form is None:
            form = self.forms[dialect.name] = compile_for(self.statement, dialect)
        driver = connection.connection
        cursor = None
        try:
            if many:
                cursor = driver.cursor()
                each: list[Any] = [form.parameters(values) for values in rows]
                cursor.executemany(form.sql, each)
                return form, [cursor]
            cursors = []
            for values in rows:
                cursor = driver.cursor()
                cursor.execute(form.sql, form.parameters(values))
                cursors.append(cursor)
            return form, cursors
        except dialect.loaded_dbapi.Error as exc:
            gone = dialect.is_disconnect(exc, driver, cursor)
            if gone:
                connection.invalidate(exc)
            raise DBAPIError.instance(form.sql, None, exc, dialect.loaded_dbapi.Error, connection_invalidated=gone, dialect=dialect) from exc
