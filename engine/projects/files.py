"""Attachments of a project and its tasks: who may add, download and remove them, following who may see the project."""
from __future__ import annotations

from typing import Optional

from sqlalchemy.orm import Session

from engine.platform import attachments, permissions
from engine.platform.attachments import Attachment, FileStore, Listing, Upload
from engine.platform.errors import NotAllowed, NotFound
from engine.platform.messages import N_
from engine.platform.models import Project, Task, User
from engine.platform.org import can_act
from engine.projects.queries import can_view_project


def _visible_project(session: Session, project_id: int, user: User) -> Project:
    """The project if `user` may see it: NotFound, or NotAllowed for an official of another town."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(N_("项目 %(id)s 不存在"), id=project_id)
    if not can_view_project(user, project):
        raise NotAllowed(N_("无权查看该项目及其附件"))
    return project


def may_attach(user: User, project: Project) -> bool:
    """Whether `user` may attach files to the project itself: its landing or attracting unit, or the county bodies that follow it."""
    return permissions.allowed(user, "attachment.add", units=(project.landing_unit_id, project.attracting_unit_id))


def may_attach_to_task(user: User, task: Task) -> bool:
    """Whether `user` may attach files to a task: whoever may act on it while it is ready, or may attach to its project."""
    return (task.status == "ready" and can_act(user, task)) or may_attach(user, task.project)


def attach(session: Session, store: FileStore, upload: Upload, actor: User, *, project_id: int, max_bytes: int,
           task_id: Optional[int] = None) -> Attachment:
    """Attach an upload to a project, or to one of its tasks; its content is checked before anything is stored."""
    project = _visible_project(session, project_id, actor)
    if task_id is None:
        if not may_attach(actor, project):
            raise NotAllowed(N_("只有该项目的落地单位、招引单位或县级有关部门可以上传附件"))
        return attachments.add(session, store, upload, actor, project_id=project.id, max_bytes=max_bytes)
    task = session.get(Task, task_id)
    if task is None or task.project_id != project.id:
        raise NotFound(N_("任务 %(id)s 不存在"), id=task_id)
    if not may_attach_to_task(actor, task):
        raise NotAllowed(N_("只有该任务的办理人或该项目的有关单位可以上传附件"))
    return attachments.add(session, store, upload, actor, project_id=project.id, task_id=task.id, max_bytes=max_bytes,
                           where=f"（任务“{task.name}”）")


def visible(session: Session, attachment_id: int, viewer: User) -> Attachment:
    """An attachment the viewer may download: whoever may see its project (403 for an official of another town)."""
    row = attachments.get(session, attachment_id)
    _visible_project(session, row.project_id, viewer)
    return row


def remove(session: Session, store: FileStore, attachment_id: int, actor: User) -> Attachment:
    """Remove an attachment the actor can see: its uploader or an administrator; logged."""
    row = visible(session, attachment_id, actor)
    attachments.remove(session, store, row, actor)
    return row


def of_project(session: Session, project_id: int) -> Listing:
    """Every attachment of the project, its tasks' and its 交办单's included, newest first (bounded)."""
    return attachments.listing(session, project_id=project_id)


def of_task(session: Session, task_id: int) -> Listing:
    """The attachments of one task, newest first (bounded)."""
    return attachments.listing(session, task_id=task_id)
