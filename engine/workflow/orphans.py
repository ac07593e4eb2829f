"""Orphaned tasks: a ready task that no active official may act on, so no inbox shows it.

Caught in the transaction that causes it: the unit of work (engine.platform.db) shows every
flush to `note_changes`, which notes a ready task created, a task's assignee, unit, role or
status changed, a user deactivated or moved, a role granted or removed; its commit step
`check` then judges the affected ready tasks with org.can_act (the one rule every inbox
follows), before the audit chain and the COMMIT. A task that became orphaned gets
`orphaned_at`, an `orphaned` event with the reason in words, and a notification to the office;
a flagged task that someone can act on again is cleared with an `orphan_resolved` event.

Delegations count: a task whose assignee has gone but which an active delegate holds
(org.delegated_to's rules: same unit, the task's role) is not orphaned, and a delegation given
or taken back, or a delegate deactivated, has its tasks judged again. A claim never orphans a
task (engine/workflow/handover.py).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, exists, inspect, or_, select
from sqlalchemy.orm import Session

from engine.platform import db, notifications, permissions
from engine.platform.models import Delegation, Event, OrgUnit, Project, Task, User, UserRole, utcnow
from engine.platform.org import NO_DELEGATIONS, Delegated, can_act, current
from engine.platform.prepared import Prepared

_WATCH = "orphan_watch"
_NOTIFY = "orphan_notify_task_ids"
_HOLDERS = "orphan_role_holders"  # role → active holders, kept for one transaction while no official changes
TASK_FIELDS = ("assignee_id", "unit_id", "role", "scope", "status")
USER_FIELDS = ("active", "unit_id")


def note_changes(session: Session) -> None:
    """Remember which tasks, roles and users this flush touches (called before each flush of a unit of work)."""
    tasks: list[Task] = []
    roles: set[str] = set()
    users: set[int] = set()
    delegators: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Task):
            tasks.append(obj)
        elif isinstance(obj, UserRole):
            roles.add(obj.role)
        elif isinstance(obj, Delegation):
            delegators.add(obj.delegator_id)
    for obj in session.dirty:
        if isinstance(obj, Task) and db.changed(obj, TASK_FIELDS):
            tasks.append(obj)
        elif isinstance(obj, Delegation):
            delegators.add(obj.delegator_id)
        elif isinstance(obj, User):
            role_history = inspect(obj).attrs.role_rows.history
            if db.changed(obj, USER_FIELDS) or role_history.has_changes():
                users.add(obj.id)
                roles.update(r.role for r in obj.role_rows)
                roles.update(r.role for r in role_history.deleted)
    for obj in session.deleted:
        if isinstance(obj, UserRole):
            roles.add(obj.role)
    if roles or users:
        session.info.pop(_HOLDERS, None)
    _note(session, tasks, roles, users | delegators)


def note_written(session: Session, rows: list[Any], _new: bool) -> None:
    """Remember the tasks among rows written past the flush, new or changed (the unit of work's written watcher)."""
    _note(session, [row for row in rows if isinstance(row, Task)], set(), set())


def _note(session: Session, tasks: list[Task], roles: set[str], users: set[int]) -> None:
    if tasks or roles or users:
        watch = session.info.setdefault(_WATCH, {"tasks": [], "roles": set(), "users": set()})
        watch["tasks"].extend(tasks)
        watch["roles"].update(roles)
        watch["users"].update(users)


def check(session: Session) -> None:
    """The unit of work's commit step: judge the ready tasks this transaction may have orphaned or rescued, and tell the office."""
    session.flush()
    watch = session.info.pop(_WATCH, None)
    if watch:
        _judge_watched(session, watch)
    _notify_office(session)


def _judge_watched(session: Session, watch: dict[str, Any]) -> None:
    """Judge the noted tasks and the ready tasks of the noted roles and users."""
    with session.no_autoflush:
        tasks = {t.id: t for t in watch["tasks"] if inspect(t).persistent}
        conditions = []
        if watch["roles"]:
            conditions.append(Task.role.in_(sorted(watch["roles"])))
        if watch["users"]:
            users = sorted(watch["users"])
            conditions.append(Task.assignee_id.in_(users))
            # the tasks these officials hold by delegation: their delegators' own tasks
            given = select(Delegation.delegator_id).where(Delegation.delegate_id.in_(users), Delegation.revoked_at.is_(None))
            conditions.append(Task.assignee_id.in_(given))
        if conditions:
            for task in session.scalars(select(Task).where(Task.status == "ready", or_(*conditions))):
                tasks.setdefault(task.id, task)
        judge(session, [t for t in tasks.values() if t.status == "ready"])


def judge(session: Session, tasks: list[Task]) -> list[Task]:
    """Flag tasks nobody may act on and clear flags that no longer hold; returns the newly orphaned."""
    if not tasks:
        return []
    holders = _holders(session, tasks)
    newly = []
    for task in tasks:
        orphaned = not any(can_act(user, task, user.delegated) for user in holders[task.id])
        if orphaned and task.orphaned_at is None:
            task.orphaned_at = utcnow()
            _record(session, task, "orphaned", f"任务“{task.name}”无人可办：{reason(session, task)}")
            newly.append(task)
        elif not orphaned and task.orphaned_at is not None:
            task.orphaned_at = None
            names = "、".join(sorted(u.display_name for u in holders[task.id] if can_act(u, task, u.delegated))[:5])
            _record(session, task, "orphan_resolved", f"任务“{task.name}”已恢复可办（{names}）")
    if newly:
        session.info.setdefault(_NOTIFY, []).extend(t.id for t in newly)
    return newly


_ROLE_HOLDERS = Prepared(
    select(User.id, User.unit_id, User.display_name, UserRole.role)
    .join(UserRole, UserRole.user_id == User.id)
    .where(UserRole.role.in_(bindparam("roles", expanding=True)), User.active.is_(True))
)
"""The active holders of some roles, one row per holder and role."""

_ASSIGNEES = Prepared(
    select(User.id, User.unit_id, User.display_name, User.active,
           exists().where(Delegation.delegator_id == User.id, *current(bindparam("now"))))
    .where(User.id.in_(bindparam("ids", expanding=True)))
)
"""Some officials, active or not, and whether each has delegated anything in force at `now`."""


@dataclass
class Holder:
    """The few facts of an official that `can_act` reads, without loading the user row and its roles."""

    id: int
    unit_id: int
    display_name: str
    active: bool = True
    roles: set[str] = field(default_factory=set)
    delegated: Delegated = NO_DELEGATIONS  # what a delegate holds of the tasks judged
    title: str = ""  # for lists that name who holds a task (engine.projects.queries.current_tasks)


def _holders(session: Session, tasks: list[Task]) -> dict[int, list[Holder]]:
    """Active candidates per task: its assignee, or every active holder of its role."""
    by_role: dict[str, list[Holder]] = session.info.setdefault(_HOLDERS, {})
    roles = sorted({t.role for t in tasks if t.assignee_id is None} - set(by_role))
    if roles:
        people: dict[int, Holder] = {}
        found: dict[str, list[Holder]] = defaultdict(list)
        rows = _ROLE_HOLDERS.rows(session, {"roles": roles})
        for user_id, unit_id, name, role in rows:
            holder = people.setdefault(user_id, Holder(user_id, unit_id, name))
            holder.roles.add(role)
            found[role].append(holder)
        by_role.update({role: found.get(role, []) for role in roles})
    assignees = {t.assignee_id for t in tasks if t.assignee_id is not None}
    named, delegating = {}, set()
    if assignees:
        assigned = _ASSIGNEES.rows(session, {"ids": sorted(assignees), "now": utcnow()})
        for uid, unit_id, name, active, has_delegated in assigned:
            named[uid] = Holder(uid, unit_id, name, active)
            if has_delegated:
                delegating.add(uid)
    delegates = _delegates(session, delegating)
    result = {}
    for task in tasks:
        if task.assignee_id is not None:
            person = named.get(task.assignee_id)
            result[task.id] = ([person] if person is not None else []) + delegates.get(task.assignee_id, [])
        else:
            result[task.id] = by_role.get(task.role, [])
    return result


def _delegates(session: Session, delegators: set[int]) -> dict[int, list[Holder]]:
    """The active officials who hold tasks of these delegators now, each with what they hold (one read, then their roles);
    called only for assignees the holders' read found delegating, so a completion with no delegation in force reads nothing here."""
    if not delegators:
        return {}
    rows = session.execute(
        select(Delegation.delegator_id, Delegation.task_id, User.id, User.unit_id, User.display_name)
        .join(User, User.id == Delegation.delegate_id)
        .where(Delegation.delegator_id.in_(sorted(delegators)), User.active.is_(True), Delegation.unit_id == User.unit_id,
               *current(utcnow()))
    ).all()
    if not rows:
        return {}
    roles: dict[int, set[str]] = defaultdict(set)
    for user_id, role in session.execute(select(UserRole.user_id, UserRole.role).where(UserRole.user_id.in_({r[2] for r in rows}))):
        roles[user_id].add(role)
    periods: dict[int, set[int]] = defaultdict(set)
    singles: dict[int, dict[int, int]] = defaultdict(dict)
    people: dict[int, tuple[int, str]] = {}
    for delegator_id, task_id, user_id, unit_id, name in rows:
        people[user_id] = (unit_id, name)
        if task_id is None:
            periods[user_id].add(delegator_id)
        else:
            singles[user_id][task_id] = delegator_id
    holders = {uid: Holder(uid, unit_id, name, True, roles[uid], Delegated(frozenset(periods[uid]), singles[uid]))
               for uid, (unit_id, name) in people.items()}
    found: dict[int, list[Holder]] = defaultdict(list)
    for delegator_id, _task_id, user_id, _unit_id, _name in rows:
        if holders[user_id] not in found[delegator_id]:
            found[delegator_id].append(holders[user_id])
    return found


def reason(session: Session, task: Task) -> str:
    """Why nobody may act on the task, in words."""
    if task.assignee_id is not None:
        person = session.get(User, task.assignee_id)
        if person is None:
            return "指定办理人已不存在"
        return f"该任务指定由{person.display_name}（{person.title or person.username}）办理，但该账号已停用"
    name = permissions.role_name(task.role)
    if task.unit_id is not None:
        unit = session.get(OrgUnit, task.unit_id)
        return f"{unit.name if unit else '该单位'}没有在岗且持有“{name}”角色的人员"
    return f"全县没有在岗且持有“{name}”角色的人员"


def _record(session: Session, task: Task, kind: str, summary: str) -> None:
    session.add(
        Event(
            kind=kind,
            at=utcnow(),
            project_id=task.project_id,
            instance_id=task.instance_id,
            bpmn_id=task.bpmn_id,
            summary=summary[:300],
            payload={"task_id": task.id},
        )
    )


def _notify_office(session: Session) -> None:
    """Tell the office (领导小组办公室) through the notification centre, in the same transaction."""
    ids = session.info.pop(_NOTIFY, None)
    if not ids:
        return
    office = notifications.audience(session, "alerts.receive")
    for task in session.scalars(select(Task).where(Task.id.in_(ids), Task.orphaned_at.is_not(None))):
        project = session.get(Project, task.project_id)
        title = f"任务无人可办：{project.name if project else ''}“{task.name}”"
        notifications.notify(
            session, office, "orphaned_task", title, reason(session, task), f"/admin/instances/{task.instance_id}", task.project_id
        )


def recheck_all(session: Session, batch: int = 1000) -> int:
    """Judge every ready task (after an upgrade or a bulk import); returns how many are orphaned."""
    after, count = 0, 0
    while True:
        tasks = list(session.scalars(select(Task).where(Task.status == "ready", Task.id > after).order_by(Task.id).limit(batch)))
        if not tasks:
            return count
        judge(session, tasks)
        count += sum(1 for t in tasks if t.orphaned_at is not None)
        after = tasks[-1].id
