"""Who may act: role and unit-scope checks, and the indexed task-table query behind an inbox."""
from __future__ import annotations

from typing import Any, Optional, Protocol, Sequence


from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from engine.platform.errors import NotFound
from engine.platform.models import Project, Task, User

UNIT_SCOPES = ("landing_unit", "platform", "item_unit")


class Official(Protocol):
    """What `can_act` reads of an official: a User row, or a lighter holder of the same facts."""

    @property
    def id(self) -> int: ...

    @property
    def unit_id(self) -> int: ...

    @property
    def active(self) -> bool: ...

    @property
    def roles(self) -> set[str]: ...


def hash_password(password: str) -> str:
    """Salted scrypt hash; plain passwords are never stored."""
    return generate_password_hash(password, method="scrypt")


def scope_of(scope: str, project: Project, data: Optional[dict[str, Any]] = None) -> tuple[int | None, int | None]:
    """(unit_id, assignee_id) that a lane scope names for a project (item_unit: the unit a list item names)."""
    if scope == "landing_unit":
        return project.landing_unit_id, None
    if scope == "platform":
        return project.landing_platform_id or project.landing_unit_id, None
    if scope == "item_unit":
        item = (data or {}).get("item")
        unit: Any = item.get("responsible_unit_id") if isinstance(item, dict) else None
        try:
            return int(unit), None
        except (TypeError, ValueError):
            return None, None  # a lane scoped to a list item on a step without one: nobody's unit, shown as orphaned
    if scope == "deputy":
        return None, project.deputy_id
    return None, None


def can_act(user: Official, task: Task) -> bool:
    """True when the user is the task's assignee or holds its role within its scope."""
    if not user.active:
        return False
    if task.assignee_id is not None:
        return task.assignee_id == user.id
    if task.role not in user.roles:
        return False
    if task.scope in UNIT_SCOPES:
        return task.unit_id == user.unit_id
    return task.scope == "county"


def actionable_branches(user: User) -> list[ColumnElement[bool]]:
    """The tasks `can_act` allows, as disjoint conditions each led by an inbox index: assigned to the user, county-wide, the user's unit."""
    roles = sorted(user.roles)
    return [
        Task.assignee_id == user.id,
        and_(Task.assignee_id.is_(None), Task.scope == "county", Task.role.in_(roles)),
        and_(
            Task.assignee_id.is_(None),
            Task.scope.in_(UNIT_SCOPES),
            Task.role.in_(roles),
            Task.unit_id == user.unit_id,
        ),
    ]


def actionable_filter(user: User) -> ColumnElement[bool]:
    """SQL condition matching exactly the tasks `can_act` allows (kept in step with it)."""
    return or_(*actionable_branches(user))


def count_ready(session: Session, user: User, *conditions: ColumnElement[bool]) -> int:
    """How many ready tasks the user may act on (and that meet `conditions`): one count per branch, summed, so each
    is an index range whatever the planner knows of the table."""
    return count_ready_each(session, user, conditions)[0]


def count_ready_each(session: Session, user: User, *condition_sets: Sequence[ColumnElement[bool]]) -> list[int]:
    """`count_ready` for each set of conditions, all in one statement (an inbox's total, overdue count and badge)."""
    branches = actionable_branches(user)
    counts = [select(func.count()).select_from(Task).where(Task.status == "ready", branch, *conditions).scalar_subquery()
              for conditions in condition_sets for branch in branches]
    row = session.execute(select(*counts)).one()
    return [sum(int(n) for n in row[i:i + len(branches)]) for i in range(0, len(row), len(branches))]


def ready_tasks_query(user: User) -> Select[Task]:
    """The user's ready tasks, soonest due first; reads only the task table."""
    return (
        select(Task)
        .where(Task.status == "ready", actionable_filter(user))
        .order_by(Task.due_at.asc().nulls_last(), Task.id.desc())
    )


def user_by_name(session: Session, username: str) -> User:
    """Look up an active or inactive user by login name."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"用户 {username} 不存在")
    return user
