"""Who may act: role and unit-scope checks, delegations in force, and the indexed task-table query behind an inbox."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional, Protocol

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, func, or_, select, union_all
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from engine.platform.errors import NotFound
from engine.platform.models import Delegation, Project, Task, User, UserRole, utcnow
from engine.platform.prepared import Prepared

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


@dataclass(frozen=True)
class Delegated:
    """What an official holds by delegation at one moment: whose own tasks for a leave period, and single tasks (task → delegator)."""

    delegators: frozenset[int] = frozenset()
    tasks: Mapping[int, int] = field(default_factory=dict)

    def delegator_of(self, user: Official, task: Task) -> Optional[int]:
        """The official on whose behalf `user` may act on `task` through these delegations, or None.

        A delegation covers the delegator's own tasks (assigned to them), and only those of a role
        the delegate holds: the delegate must be able to do the work in their own name.
        """
        owner = task.assignee_id
        if owner is None or owner == user.id or not user.active or task.role not in user.roles:
            return None
        if owner in self.delegators or self.tasks.get(task.id) == owner:
            return owner
        return None


NO_DELEGATIONS = Delegated()


def current(now: datetime | BindParameter[datetime]) -> list[ColumnElement[bool]]:
    """A delegation in force at `now`: not taken back, begun and not ended."""
    return [Delegation.revoked_at.is_(None), Delegation.starts_at <= now, or_(Delegation.ends_at.is_(None), Delegation.ends_at > now)]


_HELD = select(Delegation.delegator_id, Delegation.task_id).where(
    Delegation.delegate_id == bindparam("user_id"), *current(bindparam("now")), Delegation.unit_id == bindparam("unit_id"))
"""The delegations an official holds at a moment, given within their own unit: built once, read on every page (the header's
badge counts with them)."""


def delegated_to(session: Session, user: Official, now: Optional[datetime] = None) -> Delegated:
    """The delegations `user` holds at `now` (one indexed read, whatever the number of tasks)."""
    periods: set[int] = set()
    tasks: dict[int, int] = {}
    rows = session.execute(_HELD, {"user_id": user.id, "unit_id": user.unit_id, "now": now or utcnow()})
    for delegator_id, task_id in rows:
        if task_id is None:
            periods.add(delegator_id)
        else:
            tasks[task_id] = delegator_id
    return Delegated(frozenset(periods), tasks)


def acts_in_own_right(user: Official, task: Task) -> bool:
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


def can_act(user: Official, task: Task, delegated: Delegated = NO_DELEGATIONS) -> bool:
    """True when the user may act on the task in their own right, or on a colleague's behalf through `delegated`."""
    return acts_in_own_right(user, task) or delegated.delegator_of(user, task) is not None


def on_behalf_of(user: Official, task: Task, delegated: Delegated) -> Optional[int]:
    """The colleague for whom `user` acts on `task`: None when the user acts in their own right (or may not act)."""
    if acts_in_own_right(user, task):
        return None
    return delegated.delegator_of(user, task)


def own_branches(user_id: Any, roles: Any, unit_id: Any) -> list[ColumnElement[bool]]:
    """The tasks a user may act on in their own right, as disjoint conditions each led by an inbox index: assigned to
    the user, county-wide in one of the roles, and in one of the roles in the user's unit (values, or bound parameters)."""
    # unassigned written so that no index can lead with it: the role branches start from their role's range of the
    # role index, never from every unassigned ready task of the county (which the assignee index would offer in due order)
    unassigned = (Task.assignee_id + 0).is_(None)
    return [
        Task.assignee_id == user_id,
        and_(unassigned, Task.scope == "county", Task.role.in_(roles)),
        and_(
            unassigned,
            Task.scope.in_(UNIT_SCOPES),
            Task.role.in_(roles),
            Task.unit_id == unit_id,
        ),
    ]


def actionable_branches(user: User, delegated: Delegated = NO_DELEGATIONS) -> list[ColumnElement[bool]]:
    """The tasks `can_act` allows with `delegated`, as disjoint conditions each led by an inbox index: `own_branches`, and
    only when the user holds delegations: a colleague's on leave, single tasks delegated (and not already covered by a
    leave). Without delegations the query is exactly what it was before them."""
    roles = sorted(user.roles)
    branches = own_branches(user.id, roles, user.unit_id)
    # the role written so that no index on it can lead: a delegated branch starts from its few assignees or task
    # ids, never from every ready task of the role
    role_held = (Task.role + "").in_(roles)
    if delegated.delegators:
        branches.append(and_(Task.assignee_id.in_(sorted(delegated.delegators)), role_held))
    singles = _singles(user, delegated)
    if singles:
        branches.append(and_(or_(*(and_(Task.id == task_id, Task.assignee_id == delegator) for task_id, delegator in singles)),
                             role_held))
    return branches


def _singles(user: User, delegated: Delegated) -> list[tuple[int, int]]:
    """(task id, delegator) of the single tasks delegated to the user that no leave of theirs already covers."""
    return sorted((task_id, delegator) for task_id, delegator in delegated.tasks.items()
                  if delegator not in delegated.delegators and delegator != user.id)


_OWN_COUNTS = select(*(select(func.count()).select_from(Task).where(Task.status == "ready", branch).scalar_subquery()
                       for branch in own_branches(bindparam("user_id"), bindparam("roles", expanding=True), bindparam("unit_id"))))
"""The header badge's counts for an official who holds no delegation: one statement, built once and compiled once."""


def count_ready(session: Session, user: User, *conditions: ColumnElement[bool], delegated: Optional[Delegated] = None) -> int:
    """How many ready tasks the user may act on, delegations in force included (read here unless given), and that meet
    `conditions`: one count per branch, summed, so each is an index range whatever the planner knows of the table."""
    return count_ready_each(session, user, conditions, delegated=delegated)[0]


def count_ready_each(session: Session, user: User, *condition_sets: Sequence[ColumnElement[bool]],
                     delegated: Optional[Delegated] = None) -> list[int]:
    """`count_ready` for each set of conditions, all in one statement (an inbox's total, overdue count and badge)."""
    if delegated is None:
        delegated = delegated_to(session, user)
    if condition_sets == ((),) and not delegated.delegators and not delegated.tasks:  # holds no delegation at all
        own = session.execute(_OWN_COUNTS, {"user_id": user.id, "roles": sorted(user.roles), "unit_id": user.unit_id}).one()
        return [sum(int(n) for n in own)]
    branches = actionable_branches(user, delegated)
    counts = [select(func.count()).select_from(Task).where(Task.status == "ready", branch, *conditions).scalar_subquery()
              for conditions in condition_sets for branch in branches]
    row = session.execute(select(*counts)).one()
    return [sum(int(n) for n in row[i:i + len(branches)]) for i in range(0, len(row), len(branches))]


def ready_tasks_page(user: User, delegated: Delegated, conditions: Sequence[ColumnElement[bool]], columns: Sequence[str],
                     order: Callable[[Any], Sequence[Any]], limit: int, offset: int) -> Select[Any]:
    """A page of the user's ready tasks meeting `conditions`, as the task columns named, sorted by `order` (given the page's
    columns; it must read only named columns and end in a unique one).

    Each disjoint permission branch reads its own tasks from its inbox index (a range, as the
    counts read it), and only those are merged and sorted. As one OR over the task table, or
    with each branch asked for its first rows in due order, the planners walk every ready task
    of the county in due order until the page is full.
    """
    # OFFSET 0 keeps each branch a query of its own: merged into one, SQLite sorted each branch through the due-time index
    parts = [select(*(getattr(Task, name) for name in columns)).where(Task.status == "ready", branch, *conditions).offset(0).subquery()
             for branch in actionable_branches(user, delegated)]
    merged = union_all(*(select(*part.c) for part in parts)).subquery()
    return select(*merged.c).order_by(*order(merged.c)).limit(limit).offset(offset)


@dataclass(frozen=True)
class Standing:
    """An official's unit, whether active, and roles, read without the user row: what a permission check asks of someone named by id."""

    id: int
    unit_id: int
    active: bool
    roles: frozenset[str]


_STANDING = Prepared(select(User.id, User.unit_id, User.active, UserRole.role).outerjoin(UserRole, UserRole.user_id == User.id)
                     .where(User.id == bindparam("user_id")))


def standing(session: Session, user_id: int) -> Optional[Standing]:
    """The standing of the official with this id, in one prebuilt read; None when there is none."""
    rows = _STANDING.rows(session, {"user_id": user_id})
    if not rows:
        return None
    found, unit_id, active, _role = rows[0]
    return Standing(found, unit_id, bool(active), frozenset(row[3] for row in rows if row[3] is not None))


def user_by_name(session: Session, username: str) -> User:
    """Look up an active or inactive user by login name."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"用户 {username} 不存在")
    return user
