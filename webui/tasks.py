"""我的待办, 已办 and the task page: filters, pagination, overdue days, forms with inline errors."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from engine.workflow import forms, handover, runtime
from engine.projects import meetings, queries, record
from engine.platform.errors import AlreadyCompleted, ConcurrentUpdate, DecidedAtMeeting, InvalidInput, NotAllowed
from engine.platform.inputs import whole_number
from engine.platform.messages import joined
from engine.platform.models import OrgUnit, Project, Task, User
from engine.platform.org import Delegated, can_act, delegated_to
from engine.projects.record import STAGES

from . import attachments as attachment_pages
from . import metrics
from .guard import signed_in
from .i18n import translated
from .auth import official
from .params import int_arg, search_arg
from .services import db

bp = Blueprint("tasks", __name__)
NAV = [(10, "我的待办", "tasks.inbox", None), (20, "已办", "tasks.done", None)]
PER_PAGE = 20
LANDING_KINDS = ("zone", "town")


def my_delegations(session: Session) -> Delegated:
    """The delegations the signed-in official holds, read once per request (the inbox and its header badge share them)."""
    if "delegated" not in g:
        g.delegated = delegated_to(session, current_user)
    held: Delegated = g.delegated
    return held


@bp.app_context_processor
def inbox_badge() -> dict[str, Any]:
    """The number shown on 我的待办 in the header, on every page."""
    if not current_user.is_authenticated:
        return {"inbox_badge": 0}
    if "inbox_badge" in g:  # the inbox page counted it already
        return {"inbox_badge": g.inbox_badge}
    with db().session() as s:
        return {"inbox_badge": queries.inbox_count(s, current_user, my_delegations(s))}


@bp.app_context_processor
def url_helpers() -> dict[str, Any]:
    """`url_with(page=2)`: the current page's URL with some query arguments changed (pagination, filters)."""

    def url_with(**changes: Any) -> str:
        args = request.args.to_dict()
        args.update({k: v for k, v in changes.items() if v not in (None, "")})
        for key in [k for k, v in changes.items() if v in (None, "")]:
            args.pop(key, None)
        values: dict[str, Any] = {**args, **(request.view_args or {})}
        return url_for(request.endpoint or "tasks.inbox", **values)

    return {"url_with": url_with}


def landing_units(session: Session) -> list[Any]:
    """(id, name, kind) of zones and towns, the units projects land in (for filters and forms)."""
    return list(
        session.execute(
            select(OrgUnit.id, OrgUnit.name, OrgUnit.kind).where(OrgUnit.kind.in_(LANDING_KINDS)).order_by(OrgUnit.kind.desc(), OrgUnit.id)
        )
    )


@bp.route("/")
@signed_in
def inbox() -> ResponseReturnValue:
    """我的待办: the ready tasks this official may act on (task table only), soonest due first."""
    flt = queries.InboxFilter(
        stage=request.args.get("stage", "") if request.args.get("stage") in STAGES else "",
        unit_id=int_arg("unit"),
        search=search_arg(),
        overdue_only=request.args.get("overdue") == "1",
        sort="new" if request.args.get("sort") == "new" else "due",
    )
    now = datetime.now(timezone.utc)
    with db().session() as s:
        page = queries.inbox(s, current_user, flt, now, int_arg("page") or 1, PER_PAGE, my_delegations(s))
        units = landing_units(s)
    g.inbox_badge = page.all_ready
    return render_template("tasks/inbox.html", page=page, flt=flt, overdue=page.overdue, units=units, stages=STAGES, now=now)


@bp.route("/done")
@signed_in
def done() -> ResponseReturnValue:
    """已办: what this official completed, with the opinion written and the time."""
    with db().session() as s:
        page = queries.done(s, int(current_user.get_id()), int_arg("page") or 1, PER_PAGE)
    return render_template("tasks/done.html", page=page)


def _context(session: Session, task: Task) -> dict[str, Any]:
    """Everything the task page shows besides the form values."""
    project = task.project
    meeting = meetings.meeting_of(session, task)
    me = official(session)
    delegations = handover.of_task(session, task) if task.status == "ready" else []
    may_delegate = handover.may_delegate(me, task) and not any(d.delegator_id == me.id and not d.period for d in delegations)
    ready = task.status == "ready"
    return dict(
        me=me,
        claimant=handover.claimant(session, task) if ready else None,
        held_by=handover.held_by_other(session, task, me) if ready else None,
        may_claim=handover.may_claim(me, task),
        delegations=delegations,
        may_delegate=may_delegate,
        colleagues=handover.colleagues(session, me, task.role) if may_delegate else [],
        task=task,
        project=project,
        **_names(session, project),
        schema=runtime.form_schema(session, task),
        meeting=meeting,
        individual=not meeting or project.is_major,
        signatures=queries.signatures(session, project.id),
        holders=queries.current_tasks(session, project.id),
        completed_by=session.get(User, task.completed_by) if task.completed_by else None,
        not_ready=queries.not_ready_reason(session, task) if task.status not in ("ready", "completed") else "",
        now=datetime.now(timezone.utc),
        attachments=attachment_pages.task_panel(session, official(session), task),
    )


def _names(session: Session, project: Project) -> dict[str, str]:
    """The project's landing unit and deputy by name, in one read (no user object, so none of its roles)."""
    unit, deputy = session.execute(select(
        select(OrgUnit.name).where(OrgUnit.id == project.landing_unit_id).scalar_subquery(),
        select(User.display_name).where(User.id == project.deputy_id).scalar_subquery(),
    )).one()
    return {"landing_unit": unit, "deputy": deputy}


def _may_view(session: Session, me: Any, task: Task) -> bool:
    """Who may open a task page: whoever may act on it while it is ready (a delegate too), afterwards its completer and the
    project's viewers."""
    if task.status == "ready":
        return can_act(me, task) or can_act(me, task, delegated_to(session, me))
    return task.completed_by == me.id or queries.can_view_project(me, task.project)


def _redisplay(task_id: int, values: Any, errors: dict[str, str], status: int, message: str = "") -> ResponseReturnValue:
    """The task page again after a refused submission: the input kept, the field messages, the reason flashed (in the
    page's language)."""
    with db().session() as s:
        task = s.get(Task, task_id)
        if task is None or not _may_view(s, official(s), task):
            abort(403)
        if status == 409 and not message:
            message = queries.not_ready_reason(s, task)
            values = task.data or {}
        context = _context(s, task)
    if message:
        flash(translated(message), "error")
    return render_template("tasks/task.html", values=values, errors=errors, **context), status


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@signed_in
def task_page(task_id: int) -> ResponseReturnValue:
    """Show a task's form; POST completes it or redisplays it with the field messages and the input kept (409 once
    it is no longer ready)."""
    if request.method == "GET":
        with db().session() as s:
            task = s.get(Task, task_id, options=[joinedload(Task.project)])
            if task is None:
                abort(404)
            if not _may_view(s, official(s), task):
                abort(403)
            context = _context(s, task)
            values = task.data or (record.form_defaults(task.project, context["schema"].get("properties", {})) if task.status == "ready" else {})
        return render_template("tasks/task.html", values=values, errors={}, **context)
    try:
        with db().session() as s:  # one transaction: complete_task checks status, permission, meeting and form once
            task = s.get(Task, task_id)
            if task is None:
                abort(404)
            data = forms.coerce(runtime.form_schema(s, task), request.form.to_dict())
            outcome = runtime.complete_task(s, task_id, official(s), data)
    except InvalidInput as exc:
        return _redisplay(task_id, request.form, exc.errors, 422)
    except DecidedAtMeeting:
        return _redisplay(task_id, request.form, {}, 409, _("该事项须在会议上集中审议；重大项目可随时单独研判。"))
    except NotAllowed as exc:
        flash(translated(exc.message), "error")
        abort(403)
    except AlreadyCompleted:
        return _redisplay(task_id, {}, {}, 409)
    except ConcurrentUpdate as exc:
        flash(translated(exc.message), "error")
        return redirect(url_for("tasks.inbox"), 303)
    metrics.completed()
    if outcome.error:
        flash(_("已提交，但流程执行出错：") + outcome.error["message"], "error")
    else:
        flash(_("已办理“%(name)s”", name=task.name), "success")
    return redirect(url_for("tasks.inbox"), 303)


@bp.route("/tasks/<int:task_id>/delegate", methods=["POST"])
@signed_in
def delegate(task_id: int) -> ResponseReturnValue:
    """委托: hand this task to a colleague of the same unit and role (the engine checks both)."""
    try:
        with db().session() as s:
            row = handover.delegate_task(s, task_id, whole_number(request.form.get("delegate_id", "")) or 0, official(s),
                                         request.form.get("reason", ""))
            name = s.get_one(User, row.delegate_id).display_name
    except handover.Refused as exc:
        return _redisplay(task_id, {}, {}, 422, exc.message)
    except InvalidInput as exc:
        return _redisplay(task_id, {}, {}, 422, joined(list(exc.errors.values())))
    except NotAllowed as exc:
        flash(translated(exc.message), "error")
        abort(403)
    flash(_("已委托%(name)s办理，可随时收回", name=name), "success")
    return redirect(url_for("tasks.task_page", task_id=task_id), 303)


def _claim_action(task_id: int, change: Any, done: str) -> ResponseReturnValue:
    """Claim or release as the signed-in official, then back to the task page (a refusal is shown there, 409)."""
    try:
        with db().session() as s:
            change(s, task_id, official(s))
    except handover.Refused as exc:
        return _redisplay(task_id, {}, {}, 409, exc.message)
    except NotAllowed as exc:
        flash(translated(exc.message), "error")
        abort(403)
    flash(done, "success")
    return redirect(url_for("tasks.task_page", task_id=task_id), 303)


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@signed_in
def claim(task_id: int) -> ResponseReturnValue:
    """认领: take a task shown to the group; colleagues see who is on it until it is released or completed."""
    return _claim_action(task_id, handover.claim, _("已认领，同事将看到由您办理"))


@bp.route("/tasks/<int:task_id>/release", methods=["POST"])
@signed_in
def release(task_id: int) -> ResponseReturnValue:
    """Release a claim (the claimant, or an administrator)."""
    return _claim_action(task_id, handover.release, _("已释放认领"))
