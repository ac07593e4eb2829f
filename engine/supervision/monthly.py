"""Monthly rhythm: remind the office to convene the assessment meeting, and the units to update progress.

Each reminder goes out once a month, on its configured day or on the first run after it
(so a scheduler that was down on the day still sends it).
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engine.platform import notifications, permissions
from engine.platform import warning_settings
from engine.platform.clock import local_time
from engine.supervision.models import LAST_ACTIVITY
from engine.platform.models import Project, Task

AGENDA_ROLE = "assessment_group"  # the 研判小组 lane's role (bpmn/lanes.yaml): its tasks are the agenda, its holders convene the meeting


def meeting_reminder(session: Session, month: str) -> int:
    """Tell the office and the assessment group how many projects wait for this month's meeting."""
    if not notifications.claim_alert(session, f"monthly:meeting:{month}"):
        return 0
    agenda = session.scalar(
        select(func.count(func.distinct(Task.project_id))).where(Task.status == "ready", Task.role == AGENDA_ROLE)
    ) or 0
    users = notifications.audience(session, "meeting.convene", scope=permissions.COUNTY) | notifications.users_with_role(session, AGENDA_ROLE)
    title = f"请召集{month}月度项目研判小组会议：待研判项目 {agenda} 个"
    body = "待研判项目见研判小组的待办事项；重大项目可随时研判。"
    return len(notifications.notify(session, users, "monthly_meeting", title, body, "/"))


def progress_reminder(session: Session, month: str, month_start: datetime, report_day: int) -> int:
    """Remind each unit with projects in progress to update them before the monthly report meeting."""
    if not notifications.claim_alert(session, f"monthly:progress:{month}"):
        return 0
    last = LAST_ACTIVITY
    rows = session.execute(
        select(Project.landing_unit_id, func.count(Project.id), func.sum(case((last < month_start, 1), else_=0)))
        .where(Project.status == "active")
        .group_by(Project.landing_unit_id)
    )
    sent = 0
    for unit_id, active, not_updated in rows:
        users = notifications.audience(session, "progress.post", unit_id, permissions.UNIT)
        title = f"请在本月 {report_day} 日月度汇报会前更新项目进展"
        body = f"本单位在办项目 {active} 个，其中 {int(not_updated or 0)} 个本月尚未更新进展。"
        sent += len(notifications.notify(session, users, "monthly_progress", title, body, "/warnings"))
    return sent


def run(session: Session, now: datetime) -> int:
    """Send whichever monthly reminders are due and not yet sent this month; returns notifications created."""
    settings = warning_settings.get_all(session)
    local = local_time(now)
    month = f"{local:%Y-%m}"
    sent = 0
    if local.day >= settings["meeting_day"]:
        sent += meeting_reminder(session, month)
    if local.day >= max(settings["report_day"] - settings["report_reminder_days"], 1):
        month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)
        sent += progress_reminder(session, month, month_start, settings["report_day"])
    return sent
