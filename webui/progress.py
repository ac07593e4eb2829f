"""项目进展: the responsible units post progress notes on a project; everyone who may see it reads them."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from engine.supervision import lights, progress
from engine.platform import warning_settings
from engine.projects import queries
from engine.platform.errors import InvalidInput, NotAllowed, NotFound
from engine.platform.models import Project

from .guard import signed_in
from .auth import official
from .services import db

bp = Blueprint("progress", __name__)


def _page(project_id: int, values: dict[str, str], errors: dict[str, str]) -> str:
    """The progress page of a project the official may see (404/403 otherwise)."""
    now = datetime.now(timezone.utc)
    with db().session() as s:
        project = s.get(Project, project_id)
        if project is None:
            abort(404)
        if not queries.can_view_project(current_user, project):
            abort(403)
        settings = warning_settings.get_all(s)
        last = project.last_progress_at or project.registered_at
        context = dict(
            project=project,
            notes=progress.notes_of(s, project.id),
            may_post=progress.can_post(official(s), project),
            light=lights.progress_light(last, now, settings) if project.status == "active" else "",
            days_since=int((now - lights.as_utc(last)).total_seconds() // 86400),
            settings=settings,
            values=values,
            errors=errors,
            light_names=lights.LIGHT_NAMES,
        )
    return render_template("progress/project.html", **context)


@bp.route("/projects/<int:project_id>/progress", methods=["GET", "POST"])
@signed_in
def project_progress(project_id: int) -> ResponseReturnValue:
    """List a project's progress notes; POST adds one (responsible units and the office only)."""
    if request.method == "GET":
        return _page(project_id, {}, {})
    data = {"content": request.form.get("content", ""), "problems": request.form.get("problems", "")}
    try:
        with db().session() as s:
            progress.post_note(s, project_id, official(s), data)
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    except InvalidInput as exc:
        return _page(project_id, data, exc.errors), 422
    flash(_("项目进展已更新"), "success")
    return redirect(url_for("progress.project_progress", project_id=project_id), 303)
