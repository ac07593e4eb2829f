"""Progress notes (项目进展) from the responsible units, stale-progress warnings and late-update records.

A project in progress with no note for `progress_yellow_days` turns yellow and the landing unit
is reminded; at `progress_red_days` it turns red and one late-update record is written against
the landing unit (read by the assessment), once per silent period.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Optional

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine.platform import inputs, notifications, permissions
from engine.platform import warning_settings
from engine.platform.errors import InvalidInput, NotAllowed, NotFound
from engine.platform.clock import local_time
from engine.platform.messages import N_
from engine.supervision.lights import LIGHT_NAMES, RED, stale_projects
from engine.platform.models import Base, Event, OrgUnit, Project, User, utcnow

CONTENT_MAX, PROBLEMS_MAX = 2000, 1000


class ProgressNote(Base):
    """One progress note on a project, by an official of a responsible unit."""

    __tablename__ = "progress_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    content: Mapped[str] = mapped_column(Text)
    problems: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[User] = relationship(lazy="joined")


class LateUpdate(Base):
    """A late progress update counted against the responsible unit (one per project per silent period)."""

    __tablename__ = "late_update"
    __table_args__ = (
        UniqueConstraint("project_id", "last_update_at"),
        Index("ix_late_update_scoring", "recorded_on", "unit_id", "project_id", "reason"),  # a period's records per unit, index only
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    recorded_on: Mapped[date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer)
    last_update_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(200), default="")
    project: Mapped[Project] = relationship(lazy="joined")
    unit: Mapped[OrgUnit] = relationship(lazy="joined")


def can_post(user: User, project: Project) -> bool:
    """Staff of the landing or attracting unit (with a unit role), or the office, may post progress."""
    return permissions.allowed(user, "progress.post", units=(project.landing_unit_id, project.attracting_unit_id))


def post_note(session: Session, project_id: int, actor: User, data: dict[str, Any]) -> ProgressNote:
    """Validate and store a progress note; the project's last-progress date moves to now."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(N_("项目 %(id)s 不存在"), id=project_id)
    if not can_post(actor, project):
        raise NotAllowed(N_("只有该项目落地单位、招引单位或领导小组办公室可以填报项目进展"))
    errors: dict[str, str] = {}
    content = inputs.text(data.get("content"), "content", N_("进展情况"), CONTENT_MAX, errors, required=True, multiline=True)
    problems = inputs.text(data.get("problems"), "problems", N_("存在问题"), PROBLEMS_MAX, errors, multiline=True)
    if errors:
        raise InvalidInput(errors)
    now = utcnow()
    note = ProgressNote(project_id=project.id, author_id=actor.id, unit_id=actor.unit_id, created_at=now,
                        content=content, problems=problems)
    session.add(note)
    project.last_progress_at = now
    session.add(Event(kind="progress", at=now, project_id=project.id, actor_id=actor.id,
                      summary=f"{actor.display_name}更新项目进展：{content}"[:300]))
    session.flush()
    return note


def notes_of(session: Session, project_id: int, limit: int = 100) -> list[ProgressNote]:
    """A project's progress notes, newest first."""
    query = select(ProgressNote).where(ProgressNote.project_id == project_id)
    return list(session.scalars(query.order_by(ProgressNote.id.desc()).limit(limit)))


def late_updates(session: Session, unit_id: Optional[int] = None, limit: int = 20) -> list[LateUpdate]:
    """The newest late-update records, newest first, optionally of one unit (the board shows a page, never the years)."""
    query = select(LateUpdate)
    if unit_id is not None:
        query = query.where(LateUpdate.unit_id == unit_id)
    return list(session.scalars(query.order_by(LateUpdate.recorded_on.desc(), LateUpdate.id.desc()).limit(limit)))


def scan(session: Session, now: datetime) -> int:
    """Warn each stale project's landing unit and the office once per light; record a late update on red."""
    settings = warning_settings.get_all(session)
    stale = stale_projects(session, now, settings)
    keys = [f"progress:{pid}:{light}:{last.isoformat()}" for pid, last, light in stale]
    already = notifications.sent_alerts(session, keys)
    office = notifications.audience(session, "alerts.receive")
    sent = 0
    for (project_id, last_update, light), key in zip(stale, keys):
        if key in already or not notifications.claim_alert(session, key):
            continue
        project = session.get(Project, project_id)
        assert project is not None
        days = int((now - last_update) / timedelta(days=1))
        if light == RED:
            session.add(LateUpdate(unit_id=project.landing_unit_id, project_id=project.id,
                                   recorded_on=local_time(now).date(), days=days, last_update_at=last_update,
                                   reason=f"项目进展 {days} 天未更新（红灯线 {settings['progress_red_days']} 天）"))
        unit_users = notifications.audience(session, "progress.post", project.landing_unit_id, permissions.UNIT)
        title = f"【{LIGHT_NAMES[light]}】{project.name}：项目进展已 {days} 天未更新"
        body = (f"上次更新：{local_time(last_update):%Y-%m-%d}。请落地单位及时填报项目进展"
                + ("；本次计入落地单位进展更新不及时记录。" if light == RED else "。"))
        notifications.notify(session, unit_users | office, f"progress_{light}", title, body,
                             f"/projects/{project.id}/progress", project.id)
        sent += 1
    return sent
