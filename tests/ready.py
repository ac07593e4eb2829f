"""The user's ready tasks as one OR of the permission branches, in the inbox's order: what the inbox's counts and pages are checked against."""
from __future__ import annotations

from sqlalchemy import Select, or_, select

from engine.platform.models import Task, User
from engine.platform.org import NO_DELEGATIONS, Delegated, actionable_branches


def ready_tasks_query(user: User, delegated: Delegated = NO_DELEGATIONS) -> Select[Task]:
    """Every ready task `can_act` allows the user with `delegated`, soonest due first."""
    return (select(Task).where(Task.status == "ready", or_(*actionable_branches(user, delegated)))
            .order_by(Task.due_at.asc().nulls_last(), Task.id.desc()))
