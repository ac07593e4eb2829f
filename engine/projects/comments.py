"""会商意见: comments on a project, read by everyone who may see it; an @mention notifies the named official.

A mention is "@" followed by an official's name (姓名) or login name, written straight into the
text ("@钱芳请补充用地材料"): the longest name of an active official that the text after the "@"
begins with is the one meant, so Chinese text needs no space after the name. An "@" inside a word
(an e-mail address) is no mention. A mention that names nobody, a name two officials share, or an
official who may not see the project is refused with a message, so the writer knows who will be
told; the named officials get a notification (in the app, and through the outbox's channels).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from engine.platform import audit, inputs, notifications, permissions
from engine.platform.errors import InvalidInput, NotAllowed, NotFound
from engine.platform.messages import N_, Message, label
from engine.platform.models import Base, Project, User, utcnow
from engine.projects.queries import can_view_project

FIELD = "body"
TITLE = N_("会商意见")
BODY_MAX = 2000
SHOWN = 100
"""A project page lists at most this many comments (the newest), and says how many there are."""
EXCERPT = 120


class ProjectComment(Base):
    """One comment (会商意见) on a project: who wrote what, when, and whom it mentions."""

    __tablename__ = "project_comment"
    __table_args__ = (Index("ix_project_comment_project", "project_id", "id"),)  # a project's newest comments and their count
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    body: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"id": user id, "name": the name as written after "@"}]
    author: Mapped[User] = relationship(lazy="joined")

    def segments(self) -> list[tuple[str, bool]]:
        """The text in pieces, each mention ("@name") apart, for a page to mark them (every piece is escaped as text)."""
        marks = sorted({"@" + str(m["name"]) for m in self.mentions or []}, key=len, reverse=True)
        pieces: list[tuple[str, bool]] = []
        rest = self.body
        while rest:
            starts = [(rest.find(mark), mark) for mark in marks if mark in rest]
            if not starts:
                pieces.append((rest, False))
                break
            at, mark = min(starts, key=lambda found: (found[0], -len(found[1])))
            if at:
                pieces.append((rest[:at], False))
            pieces.append((mark, True))
            rest = rest[at + len(mark):]
        return pieces


def may_comment(user: User, project: Project) -> bool:
    """Whether `user` may write 会商意见 on the project: the county bodies, and the project's own landing and attracting units."""
    return can_view_project(user, project) and permissions.allowed(
        user, "comment.post", units=(project.landing_unit_id, project.attracting_unit_id))


@dataclass(frozen=True)
class Mention:
    """A name after an "@" and the official it names."""

    name: str
    user_id: int


def _shown(text: str) -> str:
    """What follows an "@" up to the first space or punctuation (at most 12 characters), to quote in a message."""
    word = []
    for char in text[:12]:
        if not (char.isalnum() or char in "_.-"):
            break
        word.append(char)
    return "".join(word)


def find_mentions(session: Session, body: str, errors: dict[str, str]) -> list[Mention]:
    """The officials the text mentions, each once; a mention naming nobody, or a name shared by two officials, goes in `errors`."""
    starts = [i for i, char in enumerate(body) if char == "@" and (i == 0 or not (body[i - 1].isascii() and body[i - 1].isalnum()))]
    if not starts:
        return []
    names: dict[str, set[int]] = {}
    for user_id, username, display_name in session.execute(select(User.id, User.username, User.display_name).where(User.active.is_(True))):
        for name in {username, display_name}:
            if name:
                names.setdefault(name, set()).add(user_id)
    found: dict[int, Mention] = {}
    for start in starts:
        after = body[start + 1:]
        name = max((n for n in names if after.startswith(n)), key=len, default="")
        if not name:
            errors[FIELD] = Message(N_("%(title)s中的“@%(name)s”找不到对应的人员：请在 @ 后写对方的姓名或登录名"), title=label(TITLE),
                                    name=_shown(after))
            continue
        if len(names[name]) > 1:
            errors[FIELD] = Message(N_("%(title)s中的“@%(name)s”有多位同名人员：请改写对方的登录名"), title=label(TITLE), name=name)
            continue
        user_id = next(iter(names[name]))
        found.setdefault(user_id, Mention(name, user_id))
    return list(found.values())


def post(session: Session, project_id: int, actor: User, body: Any) -> ProjectComment:
    """Store a comment after checking the text and its mentions, log it, and notify the officials it mentions."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(N_("项目 %(id)s 不存在"), id=project_id)
    if not can_view_project(actor, project):
        raise NotAllowed(N_("无权查看该项目"))
    if not may_comment(actor, project):
        raise NotAllowed(N_("只有该项目的落地单位、招引单位或县级有关部门可以发表会商意见"))
    errors: dict[str, str] = {}
    text = inputs.text(body, FIELD, TITLE, BODY_MAX, errors, required=True, multiline=True)
    mentions = find_mentions(session, text, errors) if text else []
    named = {u.id: u for u in session.scalars(select(User).where(User.id.in_([m.user_id for m in mentions])))} if mentions else {}
    for mention in mentions:
        user = named[mention.user_id]
        if not can_view_project(user, project):
            errors[FIELD] = Message(N_("“@%(name)s”（%(unit)s）无权查看该项目，无法提醒其阅看：请删去这一提及"), name=mention.name,
                                    unit=user.unit.name)
    if errors:
        raise InvalidInput(errors)
    now = utcnow()
    comment = ProjectComment(project_id=project.id, author_id=actor.id, created_at=now, body=text,
                             mentions=[{"id": m.user_id, "name": m.name} for m in mentions])
    session.add(comment)
    session.flush()
    audit.append(session, audit.Entry(
        kind="comment", at=now, project_id=project.id, actor_id=actor.id, summary=f"{actor.display_name}发表会商意见：{text}"[:300],
        payload={"comment_id": comment.id, "mentions": [m.user_id for m in mentions]},
    ))
    told = {m.user_id for m in mentions} - {actor.id}
    if told:
        excerpt = text if len(text) <= EXCERPT else text[:EXCERPT] + "…"
        notifications.notify(session, told, "mention", f"{actor.display_name}在“{project.name}”的会商意见中提到了您", excerpt,
                             f"/projects/{project.id}#comment-{comment.id}", project.id)
    return comment


@dataclass(frozen=True)
class Thread:
    """A project's newest comments (at most SHOWN, oldest of them first) and how many there are."""

    comments: list[ProjectComment]
    total: int


def of_project(session: Session, project_id: int, limit: int = SHOWN) -> Thread:
    """The newest comments of a project with their authors, in the order they were written, and the count: two indexed reads."""
    newest = list(session.scalars(select(ProjectComment).where(ProjectComment.project_id == project_id)
                                  .order_by(ProjectComment.id.desc()).limit(limit)))
    total = len(newest) if len(newest) < limit else session.scalar(
        select(func.count()).select_from(ProjectComment).where(ProjectComment.project_id == project_id)) or 0
    return Thread(newest[::-1], total)

