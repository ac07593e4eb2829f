"""附件: upload to a project, a task or a 交办单, download with a safe name and type, removal by the uploader or an administrator."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.platform import attachments
from engine.platform.attachments import Attachment, FileStore, Listing, Upload
from engine.platform.errors import InvalidInput, NotAllowed, NotFound
from engine.platform.models import Project, Task, User
from engine.projects import files
from engine.supervision import coordination
from engine.supervision.models import CoordinationCase

from .auth import official
from .guard import signed_in
from .i18n import translated
from .services import db

bp = Blueprint("attachments", __name__)
ACCEPT = ",".join(extension for kind in attachments.KINDS.values() for extension in kind.extensions)
DOWNLOAD_POLICY = "default-src 'none'; sandbox"


def store() -> FileStore:
    """The attachments' file store of this app (ATTACHMENTS_DIR, from the settings)."""
    return FileStore(Path(current_app.config["ATTACHMENTS_DIR"]))


def max_bytes() -> int:
    """The largest attachment accepted (ATTACHMENT_MAX_BYTES, from the settings)."""
    limit: int = current_app.config["ATTACHMENT_MAX_BYTES"]
    return limit


def _received() -> Upload:
    """The uploaded file of the request's `file` field, read up to one byte past the limit (so an oversized file is told apart)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return Upload("", b"")
    return Upload(upload.filename, upload.read(max_bytes() + 1))


@dataclass(frozen=True)
class Panel:
    """What the attachments card of a page shows: the list, where each hangs, which the viewer may remove, whether they may upload."""

    listing: Listing
    places: dict[int, str]
    removable: set[int]
    upload_url: str
    may_upload: bool
    accept: str = ACCEPT


def panel(session: Session, viewer: User, listing: Listing, upload_url: str, may_upload: bool, show_places: bool = False) -> Panel:
    """The attachments card for a page: a project page names the task or 交办单 each file hangs on."""
    places: dict[int, str] = {}
    if show_places:
        tasks = {row.task_id for row in listing.rows if row.task_id}
        names = {task_id: name for task_id, name in session.execute(select(Task.id, Task.name).where(Task.id.in_(sorted(tasks))))}
        titles = coordination.titles(session, {row.case_id for row in listing.rows if row.case_id})
        for row in listing.rows:
            if row.task_id in names:
                places[row.id] = _("任务：%(name)s", name=names[row.task_id])
            elif row.case_id in titles:
                places[row.id] = _("交办单：%(name)s", name=titles[row.case_id])
    removable = {row.id for row in listing.rows if attachments.may_remove(viewer, row)}
    return Panel(listing, places, removable, upload_url, may_upload)


def project_panel(session: Session, viewer: User, project: Project) -> Panel:
    """The project page's card: every file of the project, its tasks and its 交办单, each with where it hangs."""
    return panel(session, viewer, files.of_project(session, project.id), url_for("attachments.to_project", project_id=project.id),
                 files.may_attach(viewer, project), show_places=True)


def task_panel(session: Session, viewer: User, task: Task) -> Panel:
    """The task page's card: the task's own files."""
    return panel(session, viewer, files.of_task(session, task.id), url_for("attachments.to_task", task_id=task.id),
                 files.may_attach_to_task(viewer, task))


def case_panel(session: Session, viewer: User, case: CoordinationCase) -> Panel:
    """The 交办单 page's card: the case's own files."""
    may_upload = coordination.may_attach(viewer, case)
    return panel(session, viewer, attachments.listing(session, case_id=case.id), url_for("attachments.to_case", case_id=case.id), may_upload)


def file_size(size: int) -> str:
    """A file size as people read it: 820 KB, 3.4 MB."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / 1024 / 1024:.1f} MB"


bp.add_app_template_filter(file_size, "file_size")


def _refused(title: str, back: str, upload_url: str, error: str, status: int) -> ResponseReturnValue:
    """The upload form again with the reason the file was refused; nothing was stored."""
    return render_template("attachments/refused.html", title=title, back=back, upload_url=upload_url, error=error, accept=ACCEPT), status


def _uploaded(row_name: str, back: str) -> ResponseReturnValue:
    """Back to the page the file was attached on, with a confirmation."""
    flash(_("已上传附件“%(name)s”", name=row_name), "success")
    return redirect(back + "#attachments", 303)


def _attach(back: str, attach: Callable[[Session, Upload, User], Attachment], title: Callable[[Session], str]) -> ResponseReturnValue:
    """Store the posted file through `attach` in one unit of work; 404 or 403 as the target says, else the page again
    with the reason (titled by `title`) when the file is refused, or back to the page with a confirmation."""
    upload = _received()
    try:
        with db().session() as s:
            name = attach(s, upload, official(s)).filename
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    except InvalidInput as exc:
        with db().session() as s:
            heading = title(s)
        return _refused(heading, back, request.path, exc.errors[attachments.FIELD], 422)
    return _uploaded(name, back)


@bp.route("/projects/<int:project_id>/attachments", methods=["POST"])
@signed_in
def to_project(project_id: int) -> ResponseReturnValue:
    """Attach a file to a project (its units and the county bodies that follow it)."""
    return _attach(url_for("projects.project_page", project_id=project_id),
                   lambda s, upload, me: files.attach(s, store(), upload, me, project_id=project_id, max_bytes=max_bytes()),
                   lambda s: _("项目：%(name)s", name=s.get_one(Project, project_id).name))


@bp.route("/tasks/<int:task_id>/attachments", methods=["POST"])
@signed_in
def to_task(task_id: int) -> ResponseReturnValue:
    """Attach a file to a task (whoever may act on it, or attach to its project)."""
    with db().session() as s:
        task = s.get(Task, task_id)
        if task is None:
            abort(404)
        project_id, name = task.project_id, task.name
    return _attach(url_for("tasks.task_page", task_id=task_id),
                   lambda s, upload, me: files.attach(s, store(), upload, me, project_id=project_id, task_id=task_id, max_bytes=max_bytes()),
                   lambda s: _("任务：%(name)s", name=name))


@bp.route("/supervision/cases/<int:case_id>/attachments", methods=["POST"])
@signed_in
def to_case(case_id: int) -> ResponseReturnValue:
    """Attach a file to a 交办单 (the raising unit, the responsible units, the county bodies that follow it)."""
    return _attach(url_for("supervision.case_page", case_id=case_id),
                   lambda s, upload, me: coordination.attach(s, store(), upload, case_id, me, max_bytes()),
                   lambda s: _("交办单：%(name)s", name=s.get_one(CoordinationCase, case_id).title))


def _download(row: Attachment, path: Path) -> Response:
    """The file as a download under its own name (RFC 5987 for Chinese names), with the type its content showed and nothing to sniff."""
    response = send_file(path, mimetype=row.mimetype, as_attachment=True, download_name=row.filename, etag=row.sha256, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.route("/attachments/<int:attachment_id>")
@signed_in
def download(attachment_id: int) -> ResponseReturnValue:
    """Download an attachment: whoever may see its project (403 for an official of another town)."""
    files_store = store()
    try:
        with db().session() as s:
            row = files.visible(s, attachment_id, official(s))
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    path = files_store.path(row.sha256)
    if not path.is_file():
        current_app.logger.error("附件 %s 的文件 %s 不在存储目录中", row.id, path)
        raise NotFound(_("附件“%(name)s”的文件不在存储目录中：请系统管理员从备份恢复", name=row.filename))
    return _download(row, path)


def _back(project_id: int) -> str:
    """The page to return to after a removal: the local `next` path the form sent, else the project page."""
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("projects.project_page", project_id=project_id)


@bp.route("/attachments/<int:attachment_id>/remove", methods=["POST"])
@signed_in
def remove(attachment_id: int) -> ResponseReturnValue:
    """Remove an attachment: its uploader or an administrator; the removal is audited."""
    try:
        with db().session() as s:
            row = files.remove(s, store(), attachment_id, official(s))
            name, project_id = row.filename, row.project_id
    except NotFound:
        abort(404)
    except NotAllowed as exc:
        flash(translated(exc.message), "error")
        abort(403)
    flash(_("已删除附件“%(name)s”", name=name), "success")
    return redirect(_back(project_id) + "#attachments", 303)
