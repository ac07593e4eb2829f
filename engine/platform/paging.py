"""Pages of a list: one page of rows with the total, so no page ever renders a county's years of rows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of rows plus the total, for pagination."""

    rows: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.per_page))


def page_number(page: int, per_page: int, total: int) -> int:
    """Clamp a requested page into range so an out-of-range link shows the last page."""
    return min(max(1, page), max(1, -(-total // per_page)))


def page_of(session: Session, query: Select[Any], page: int, per_page: int) -> Page[Any]:
    """One page of an ordered ORM query's entities, and how many match in all (one count, one page read)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page = page_number(page, per_page, total)
    return Page(list(session.scalars(query.offset((page - 1) * per_page).limit(per_page))), total, page, per_page)
