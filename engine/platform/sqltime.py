"""Time arithmetic inside SQL on both backends: seconds between two timestamps, and this moment as a value to compute with."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, literal
from sqlalchemy.orm import Session


def seconds_between(session: Session, start: Any, end: Any) -> Any:
    """`end - start` in seconds as a SQL expression (PostgreSQL: epoch of the interval; SQLite: Julian days)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def moment(session: Session, value: datetime) -> Any:
    """A timestamp as a SQL value that `seconds_between` can use (SQLite stores naive UTC text)."""
    if session.get_bind().dialect.name == "sqlite":
        return literal(value.replace(tzinfo=None).isoformat(sep=" "))
    return literal(value)
