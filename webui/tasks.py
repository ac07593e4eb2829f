"""Officials' task list and task pages: view the form, complete it, see errors inline."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine import forms, runtime
from engine.errors import AlreadyCompleted, ConcurrentUpdate, InvalidInput, NotAllowed
from engine.models import Task, User
from engine.org import can_act, ready_tasks_query
from engine.projects import CATEGORIES, STAGES

from .services import db

bp = Blueprint("tasks", __name__)
NAV = [(10, "我的待办", "tasks.inbox", None)]


def _me(session) -> User:  # type: ignore[no-untyped-def]
    user = session.get(User, int(current_user.get_id()))
    if user is None:
        abort(403)
    return user


@bp.route("/")
@login_required
def inbox():  # type: ignore[no-untyped-def]
    """我的待办: the ready tasks this official may act on (task table only)."""
    with db().session() as s:
        rows = s.scalars(ready_tasks_query(_me(s)).limit(200)).all()
        items = [(t, t.project.name) for t in rows]
    return render_template("tasks/inbox.html", items=items, stages=STAGES)


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task_page(task_id: int):  # type: ignore[no-untyped-def]
    """Show a task's form; POST completes it or redisplays it with field messages."""
    with db().session() as s:
        task = s.get(Task, task_id)
        if task is None:
            abort(404)
        me = _me(s)
        if task.status == "ready" and not can_act(me, task):
            abort(403)
        schema = runtime.form_schema(s, task)
        project = task.project
        context = dict(task=task, project=project, schema=schema, categories=CATEGORIES, stages=STAGES)
    if request.method == "GET" or task.status != "ready":
        return render_template("tasks/task.html", values=task.data or {}, errors={}, **context)
    data = forms.coerce(schema, request.form.to_dict())
    try:
        with db().session() as s:
            outcome = runtime.complete_task(s, task_id, _me(s), data)
    except InvalidInput as exc:
        return render_template("tasks/task.html", values=request.form, errors=exc.errors, **context), 422
    except NotAllowed as exc:
        flash(exc.message, "error")
        abort(403)
    except (AlreadyCompleted, ConcurrentUpdate) as exc:
        flash(exc.message, "error")
        return redirect(url_for("tasks.inbox")), 303
    if outcome.error:
        flash(f"已提交，但流程执行出错：{outcome.error['message']}", "error")
    else:
        flash(f"已办理“{task.name}”", "success")
    return redirect(url_for("tasks.inbox"), 303)
