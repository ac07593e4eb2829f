"""Delegation (委托) and claim (认领) of tasks: an official hands one task, or all their own tasks for a leave period, to a
colleague; an official takes a task shown to a group so that the others see who is on it.

The colleague must be an active official of the same unit who holds the task's role (for a
period: a role the delegator holds); anything else is refused with a message saying why.
A delegation is read at the moment a task is listed or completed (`org.delegated_to`), so a
period that ends hands the tasks back without any job, and taking a delegation back stops it
at once. Each delegation and each taking back is an event of the audit trail and a
notification to the delegate; a task completed on someone's behalf names both people
(`runtime.complete_task`).

A claim is a courtesy between colleagues, not a change of who may act: the group still sees
the task, marked with who claimed it, and only the claimant (or their delegate, or an
administrator) completes it meanwhile. A claim holds only while its claimant could still act
on the task themselves, so a claimant who leaves the unit, the role or the service frees it
by that alone, and a claim never makes a task orphaned.

Messages are templates marked with `N_` and their values (engine/platform/messages.py), so the web edge gives
them in the reader's language.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Optional

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from engine.platform import audit, inputs, notifications, permissions
from engine.platform.clock import day_starts, local_date, local_today
from engine.platform.errors import EngineError, InvalidInput, NotAllowed, NotFound
from engine.platform.messages import ENUMERATION, N_, joined, label
from engine.platform.models import Delegation, OrgUnit, Project, Task, User, utcnow
from engine.platform.org import acts_in_own_right, delegated_to

LONGEST_PERIOD_DAYS = 366
REASON_LENGTH = 200
LISTED = 50


class Refused(EngineError):
    """A delegation or claim the rules do not allow (the message says why)."""

    status = 422


def _now(now: Optional[datetime]) -> datetime:
    return now or utcnow()


def _person(session: Session, user_id: int) -> User:
    """The chosen colleague, active (refused otherwise)."""
    person = session.get(User, user_id) if user_id else None
    if person is None or not person.active:
        raise Refused(N_("受托人不存在或账号已停用，请选择本单位在岗的同事"))
    return person


def _same_unit(session: Session, actor: User, person: User) -> None:
    """Refuse a colleague of another unit, or oneself."""
    if person.id == actor.id:
        raise Refused(N_("不能委托给自己，请选择本单位的其他同事"))
    if person.unit_id != actor.unit_id:
        own, other = session.get(OrgUnit, actor.unit_id), session.get(OrgUnit, person.unit_id)
        raise Refused(N_("只能委托给本单位（%(unit)s）的同事：%(name)s属于%(other)s"),
                      unit=own.name if own else "", name=person.display_name, other=other.name if other else "")


def colleagues(session: Session, actor: User, role: Optional[str] = None) -> list[User]:
    """Who `actor` may delegate to: active officials of the same unit holding `role` (else any role the actor holds)."""
    roles = {role} if role else actor.roles
    people = session.scalars(
        select(User).where(User.unit_id == actor.unit_id, User.active.is_(True), User.id != actor.id).order_by(User.id)
    )
    return [p for p in people if roles & p.roles]


def _log(session: Session, kind: str, actor: User, summary: str, project_id: Optional[int], payload: dict[str, Any]) -> None:
    audit.append(session, audit.Entry(kind=kind, at=utcnow(), project_id=project_id, actor_id=actor.id,
                                      summary=summary[:300], payload=payload))


def _reason(raw: Any) -> str:
    """The reason given (optional), as one line of at most REASON_LENGTH characters."""
    errors: dict[str, str] = {}
    reason = inputs.text(raw, "reason", N_("委托事由"), REASON_LENGTH, errors)
    if errors:
        raise InvalidInput(errors)
    return reason


def delegate_task(session: Session, task_id: int, delegate_id: int, actor: User, reason: str = "") -> Delegation:
    """Hand one of the actor's own ready tasks to a colleague of the same unit who holds its role, until taken back."""
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(N_("任务 %(id)s 不存在"), id=task_id)
    if task.status != "ready":
        raise Refused(N_("任务“%(task)s”已不在待办状态，不能委托"), task=task.name)
    if not _own(actor, task):
        if acts_in_own_right(actor, task):
            raise Refused(N_("“%(task)s”由持有该角色的同事共同办理，他们已能在待办中看到；如需交由某位同事办理，请先认领再委托"),
                          task=task.name)
        raise NotAllowed(N_("只有“%(task)s”的办理人可以委托他人办理"), task=task.name)
    reason = _reason(reason)
    person = _person(session, delegate_id)
    _same_unit(session, actor, person)
    if task.role not in person.roles:
        raise Refused(N_("只能委托给持有相同角色的同事：%(name)s不持有“%(role)s”角色"),
                      name=person.display_name, role=label(permissions.role_name(task.role)))
    now = utcnow()
    current = session.scalars(select(Delegation).where(
        Delegation.task_id == task.id, Delegation.delegator_id == actor.id, Delegation.revoked_at.is_(None))).first()
    if current is not None:
        holder = session.get(User, current.delegate_id)
        raise Refused(N_("“%(task)s”已委托%(name)s办理，请先收回再重新委托"), task=task.name,
                      name=holder.display_name if holder else "")
    row = Delegation(delegator_id=actor.id, delegate_id=person.id, unit_id=actor.unit_id, task_id=task.id,
                     starts_at=now, ends_at=None, reason=reason, created_at=now)
    session.add(row)
    session.flush()
    project = session.get(Project, task.project_id)
    summary = f"{actor.display_name}将“{task.name}”委托{person.display_name}办理" + (f"（{reason}）" if reason else "")
    _log(session, "delegate", actor, summary, task.project_id,
         {"delegation_id": row.id, "task_id": task.id, "delegator": actor.id, "delegate": person.id, "reason": reason})
    notifications.notify(session, {person.id}, "delegated", f"{actor.display_name}委托您办理：{project.name if project else ''}“{task.name}”",
                         reason, f"/tasks/{task.id}", task.project_id)
    return row


def delegate_period(session: Session, delegate_id: int, first: Optional[date], last: Optional[date], actor: User,
                    reason: str = "") -> Delegation:
    """Hand all the actor's own tasks, those now and those that arrive, to a colleague for the county days first–last."""
    if first is None or last is None:
        raise Refused(N_("请填写委托的开始日期和结束日期"))
    if last < first:
        raise Refused(N_("结束日期不能早于开始日期"))
    if last < local_today():
        raise Refused(N_("结束日期不能早于今天"))
    if (last - first).days >= LONGEST_PERIOD_DAYS:
        raise Refused(N_("一次委托最长%(n)s天，请缩短委托期间"), n=LONGEST_PERIOD_DAYS)
    reason = _reason(reason)
    person = _person(session, delegate_id)
    _same_unit(session, actor, person)
    shared = actor.roles & person.roles
    if not shared:
        names = joined([label(permissions.role_name(r)) for r in sorted(actor.roles)], ENUMERATION)
        raise Refused(N_("只能委托给持有相同角色的同事：%(name)s不持有您的角色（%(roles)s）"), name=person.display_name, roles=names)
    starts, ends = day_starts(first), day_starts(last + timedelta(days=1))
    now = utcnow()
    overlap = session.scalars(select(Delegation).where(
        Delegation.delegator_id == actor.id, Delegation.task_id.is_(None), Delegation.revoked_at.is_(None),
        Delegation.starts_at < ends, Delegation.ends_at > max(starts, now))).first()
    if overlap is not None:
        holder = session.get(User, overlap.delegate_id)
        raise Refused(N_("该期间与您已有的委托（%(first)s至%(last)s，委托%(name)s）重叠，请先收回那项委托"),
                      first=str(local_date(overlap.starts_at)), last=str(_last_day(overlap)),
                      name=holder.display_name if holder else "")
    row = Delegation(delegator_id=actor.id, delegate_id=person.id, unit_id=actor.unit_id, task_id=None,
                     starts_at=starts, ends_at=ends, reason=reason, created_at=now)
    session.add(row)
    session.flush()
    summary = (f"{actor.display_name}将{first}至{last}期间本人的待办委托{person.display_name}办理"
               + (f"（{reason}）" if reason else ""))
    _log(session, "delegate", actor, summary, None,
         {"delegation_id": row.id, "delegator": actor.id, "delegate": person.id, "first": str(first), "last": str(last),
          "roles": sorted(shared), "reason": reason})
    notifications.notify(session, {person.id}, "delegated", f"{actor.display_name}在{first}至{last}期间将本人待办委托您办理",
                         reason, "/", None)
    return row


def _last_day(row: Delegation) -> Optional[date]:
    """The last county day of a period delegation."""
    return None if row.ends_at is None else local_date(row.ends_at - timedelta(microseconds=1))


def revoke(session: Session, delegation_id: int, actor: User) -> Delegation:
    """Take a delegation back (the delegator, or an administrator): its tasks return to the delegator at once."""
    row = session.get(Delegation, delegation_id, with_for_update=True)
    if row is None:
        raise NotFound(N_("委托 %(id)s 不存在"), id=delegation_id)
    if row.delegator_id != actor.id and not permissions.allowed(actor, "admin.operate"):
        raise NotAllowed(N_("只有委托人或系统管理员可以收回委托"))
    now = utcnow()
    if row.revoked_at is not None:
        raise Refused(N_("该委托已经收回"))
    if row.ends_at is not None and _aware(row.ends_at) <= now:
        raise Refused(N_("该委托已到期，任务已自动交还委托人，无需收回"))
    row.revoked_at, row.revoked_by = now, actor.id
    delegator, delegate = session.get(User, row.delegator_id), session.get(User, row.delegate_id)
    task = session.get(Task, row.task_id) if row.task_id else None
    what = f"“{task.name}”" if task else "期间待办"
    by = "" if actor.id == row.delegator_id else f"（由{actor.display_name}操作）"
    summary = f"{delegator.display_name if delegator else ''}收回委托{delegate.display_name if delegate else ''}办理的{what}{by}"
    _log(session, "delegation_revoked", actor, summary, task.project_id if task else None,
         {"delegation_id": row.id, "task_id": row.task_id, "delegator": row.delegator_id, "delegate": row.delegate_id})
    notifications.notify(session, {row.delegate_id}, "delegation_revoked", summary, "", "/", task.project_id if task else None)
    session.flush()
    return row


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive UTC."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass
class Row:
    """One delegation as 我的委托 lists it."""

    id: int
    delegator: str
    delegate: str
    task_id: Optional[int]
    task_name: str
    project_name: str
    first: Optional[date]
    last: Optional[date]
    reason: str
    created_at: datetime
    state: str  # upcoming, in_force, ended, revoked, done (the task was completed)

    @property
    def open(self) -> bool:
        """Whether it can still be taken back."""
        return self.state in ("upcoming", "in_force")


@dataclass
class Listing:
    """我的委托: what the official handed to colleagues, and what colleagues handed to them."""

    given: list[Row]
    received: list[Row]


def _state(row: Delegation, task_status: Optional[str], now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if task_status is not None and task_status != "ready":
        return "done"
    if _aware(row.starts_at) > now:
        return "upcoming"
    if row.ends_at is not None and _aware(row.ends_at) <= now:
        return "ended"
    return "in_force"


def listing(session: Session, actor: User, now: Optional[datetime] = None) -> Listing:
    """The actor's delegations both ways, newest first (the latest 50 each)."""
    now = _now(now)
    delegator, delegate = aliased(User), aliased(User)
    query = (
        select(Delegation, delegator.display_name, delegate.display_name, Task.name, Task.status, Project.name)
        .join(delegator, delegator.id == Delegation.delegator_id)
        .join(delegate, delegate.id == Delegation.delegate_id)
        .outerjoin(Task, Task.id == Delegation.task_id)
        .outerjoin(Project, Project.id == Task.project_id)
        .order_by(Delegation.created_at.desc(), Delegation.id.desc())
        .limit(LISTED)
    )

    def rows(condition: Any) -> list[Row]:
        return [
            Row(d.id, giver, taker, d.task_id, task or "", project or "",
                None if d.task_id else local_date(d.starts_at), None if d.task_id else _last_day(d),
                d.reason, d.created_at, _state(d, status, now))
            for d, giver, taker, task, status, project in session.execute(query.where(condition))
        ]

    return Listing(rows(Delegation.delegator_id == actor.id), rows(Delegation.delegate_id == actor.id))


@dataclass
class TaskDelegation:
    """A delegation in force over one task, as the task page shows it."""

    id: int
    delegator_id: int
    delegator: str
    delegate_id: int
    delegate: str
    period: bool
    last: Optional[date]


def of_task(session: Session, task: Task, now: Optional[datetime] = None) -> list[TaskDelegation]:
    """The delegations in force over a task: of the task itself, or a leave of its assignee (delegates of the task's role only)."""
    if task.assignee_id is None:
        return []
    now = _now(now)
    rows = session.scalars(
        select(Delegation)
        .where(
            Delegation.delegator_id == task.assignee_id,
            Delegation.revoked_at.is_(None),
            Delegation.starts_at <= now,
            or_(Delegation.ends_at.is_(None), Delegation.ends_at > now),
            or_(Delegation.task_id == task.id, Delegation.task_id.is_(None)),
        )
        .order_by(Delegation.id)
    ).all()
    found = []
    for d in rows:
        giver, taker = session.get(User, d.delegator_id), session.get(User, d.delegate_id)
        if giver and taker and taker.active and taker.unit_id == d.unit_id and task.role in taker.roles:
            found.append(TaskDelegation(d.id, d.delegator_id, giver.display_name, d.delegate_id, taker.display_name,
                                        d.task_id is None, _last_day(d)))
    return found


def _own(actor: User, task: Task) -> bool:
    """A task that is the actor's own: assigned to them, or a group task they claimed."""
    return acts_in_own_right(actor, task) and actor.id in (task.assignee_id, task.claimed_by)


def may_delegate(actor: User, task: Task) -> bool:
    """Whether the task page offers the actor to delegate this task: their own ready task."""
    return task.status == "ready" and _own(actor, task)


def claimant(session: Session, task: Task) -> Optional[User]:
    """Who holds the task's claim: None when unclaimed, or when the claimant could no longer act on it themselves."""
    if task.claimed_by is None:
        return None
    person = session.get(User, task.claimed_by)
    return person if person is not None and acts_in_own_right(person, task) else None


def held_by_other(session: Session, task: Task, actor: User) -> Optional[User]:
    """The colleague whose claim keeps `actor` from completing the task, or None: not claimed, claimed by the actor,
    or by someone the actor holds a delegation from; an administrator is never kept."""
    holder = claimant(session, task)
    if holder is None or holder.id == actor.id or permissions.allowed(actor, "admin.operate"):
        return None
    delegated = delegated_to(session, actor)
    if holder.id in delegated.delegators or delegated.tasks.get(task.id) == holder.id:
        return None
    return holder


def may_claim(actor: User, task: Task) -> bool:
    """Whether the task page offers the actor to claim the task: a ready group task they may act on, not claimed."""
    return task.status == "ready" and task.assignee_id is None and task.claimed_by is None and acts_in_own_right(actor, task)


def claim(session: Session, task_id: int, actor: User) -> Task:
    """认领: take a ready task shown to a group, so that the colleagues see who is on it."""
    task = session.get(Task, task_id, with_for_update=True)
    if task is None:
        raise NotFound(N_("任务 %(id)s 不存在"), id=task_id)
    if task.status != "ready":
        raise Refused(N_("任务“%(task)s”已不在待办状态，不能认领"), task=task.name)
    if task.assignee_id is not None:
        raise Refused(N_("“%(task)s”已指定专人办理，无需认领"), task=task.name)
    if not acts_in_own_right(actor, task):
        raise NotAllowed(N_("您不能办理“%(task)s”，因此不能认领"), task=task.name)
    holder = claimant(session, task)
    if holder is not None:
        if holder.id == actor.id:
            raise Refused(N_("您已认领“%(task)s”"), task=task.name)
        raise Refused(N_("“%(task)s”已由%(name)s认领，请与其联系或等待其释放"), task=task.name, name=holder.display_name)
    task.claimed_by, task.claimed_at = actor.id, utcnow()
    _log(session, "claim", actor, f"{actor.display_name}认领“{task.name}”", task.project_id, {"task_id": task.id})
    session.flush()
    return task


def release(session: Session, task_id: int, actor: User) -> Task:
    """Release a claim (the claimant, or an administrator, who tells the claimant): the task is the whole group's again."""
    task = session.get(Task, task_id, with_for_update=True)
    if task is None:
        raise NotFound(N_("任务 %(id)s 不存在"), id=task_id)
    if task.claimed_by is None:
        raise Refused(N_("“%(task)s”未被认领"), task=task.name)
    if task.claimed_by != actor.id and not permissions.allowed(actor, "admin.operate"):
        raise NotAllowed(N_("只有认领人或系统管理员可以释放认领"))
    holder = session.get(User, task.claimed_by)
    task.claimed_by, task.claimed_at = None, None
    by = "" if holder is not None and holder.id == actor.id else f"（由{actor.display_name}操作）"
    summary = f"{holder.display_name if holder else ''}释放对“{task.name}”的认领{by}"
    _log(session, "release", actor, summary, task.project_id, {"task_id": task.id, "claimed_by": holder.id if holder else None})
    if holder is not None and holder.id != actor.id:
        notifications.notify(session, {holder.id}, "claim_released", summary, "", f"/tasks/{task.id}", task.project_id)
    session.flush()
    return task

