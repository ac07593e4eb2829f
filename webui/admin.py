"""Administrators' pages: instances console with the stuck list, instance page with repairs, heat view, officials."""
from __future__ import annotations

import json
from typing import Any, Callable, Optional

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflow import admin, definitions, recheck, versions
from engine.platform import permissions
from engine.platform import audit
from engine.workflow import console as overview
from engine.platform.inputs import whole_number
from engine.platform.errors import EngineError, InvalidInput, NotFound
from engine.platform.models import Definition, OrgUnit, Task, User, UserRole

from .guard import requires
from .params import int_arg
from .auth import official
from .services import db

bp = Blueprint("admin", __name__, url_prefix="/admin")
STUCK_SHOWN = 20  # per kind: the card names the worst cases; the filters below list every instance
NAV = [(90, "运维管理", "admin.console", "admin.operate"), (92, "人员与角色", "admin.users", "admin.operate")]
PAGE_SIZE = 50
TOKEN_LABELS = {"active": "当前环节", "completed": "已完成", "errored": "出错"}


@bp.route("/")
@requires("admin.operate")
def console() -> ResponseReturnValue:
    """Which projects are stuck and why, counts per status, and every instance behind filters."""
    filters = overview.ConsoleFilter(
        status=request.args.get("status", "") if request.args.get("status") in overview.STATUS_LABELS else "",
        definition_id=int_arg("definition"),
        activity=request.args.get("activity", "")[:80],
        unit_id=int_arg("unit"),
        deputy_id=int_arg("deputy"),
        overdue=request.args.get("overdue") == "1",
    )
    page = max(int_arg("page") or 1, 1)
    with db().session() as s:
        counts = overview.counts(s)
        stuck = overview.find_stuck(s, limit=STUCK_SHOWN)
        refused = recheck.refused_versions(s)
        rows, total = overview.list_instances(s, filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, status_counts=counts)
        choices = overview.filter_choices(s)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render_template(
        "admin/console.html",
        counts=counts,
        stuck=stuck,
        stuck_shown=STUCK_SHOWN,
        stuck_more=any(sum(1 for item in stuck if item.kind == kind) >= STUCK_SHOWN for kind in {item.kind for item in stuck}),
        refused=refused,
        rows=rows,
        total=total,
        flt=filters,
        choices=choices,
        page={"page": page, "pages": pages, "total": total},
        status_labels=overview.STATUS_LABELS,
    )


def _pretty(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str)


def _instance_page(instance_id: int, status: int = 200, errors: Optional[dict[str, str]] = None,
                   form: Optional[dict[str, str]] = None, problem: str = "") -> ResponseReturnValue:
    """Render the instance page, optionally with field errors and the submitted values kept."""
    with db().session() as s:
        try:
            detail = overview.instance_detail(s, instance_id)
        except EngineError as exc:
            abort(exc.status)
        assignable = list(s.scalars(select(User).where(User.active.is_(True)).order_by(User.unit_id, User.id)))
        units = dict(s.execute(select(OrgUnit.id, OrgUnit.name)).all())
        error_text = overview.describe_error(detail.instance.error) if detail.instance.error else ""
        heat_link = url_for("admin.heat", definition_id=detail.definition.id)
        process_title = versions.definition_name(detail.definition)
        diagram = {"xml": detail.bpmn_xml, "tokens": detail.tokens}
        people = [(u.id, f"{u.display_name}（{units.get(u.unit_id, '')}·{u.title or u.username}）", sorted(u.roles)) for u in assignable]
    return render_template(
        "admin/instance.html",
        d=detail,
        diagram=diagram,
        people=people,
        role_names=permissions.role_names(),
        error_text=error_text,
        heat_link=heat_link,
        process_title=process_title,
        errors=errors or {},
        form=form or {},
        problem=problem,
        data_json=_pretty(detail.errored_data if detail.errored_data is not None else detail.data),
        data_view=_pretty(detail.data),
        status_labels=overview.STATUS_LABELS,
        token_labels=TOKEN_LABELS,
    ), status


@bp.route("/instances/<int:instance_id>")
@requires("admin.operate")
def instance(instance_id: int) -> ResponseReturnValue:
    """Diagram with token overlays, task data (read-only), tasks, event log and the repair forms."""
    return _instance_page(instance_id)


def _repair(instance_id: int, action: Callable[[Session, User, str], Any], done: str) -> ResponseReturnValue:
    """Run one repair in one transaction; errors come back on the page with the input kept."""
    reason = request.form.get("reason", "")
    try:
        with db().session() as s:
            result = action(s, official(s), reason)
    except InvalidInput as exc:
        return _instance_page(instance_id, 422, exc.errors, request.form.to_dict())
    except EngineError as exc:
        return _instance_page(instance_id, exc.status, {}, request.form.to_dict(), exc.message)
    outcome_error = getattr(result, "error", None)
    if outcome_error:
        flash(_("%(done)s，但流程再次出错：%(error)s", done=done, error=overview.describe_error(outcome_error)), "error")
    else:
        flash(done, "success")
    return redirect(url_for("admin.instance", instance_id=instance_id), 303)


def _parse_edits(session: Session, instance_id: int, text: str) -> dict[str, Any]:
    """The fields of the submitted JSON that differ from the errored task's current data."""
    try:
        submitted = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise InvalidInput({"data": f"任务数据不是有效的 JSON：第{exc.lineno}行第{exc.colno}列 {exc.msg}"}) from exc
    admin.validate_edits(submitted)
    detail = overview.instance_detail(session, instance_id, event_limit=0)
    current = detail.errored_data if detail.errored_data is not None else detail.data
    return {key: value for key, value in submitted.items() if current.get(key) != value}


@bp.route("/instances/<int:instance_id>/retry", methods=["POST"])
@requires("admin.operate")
def retry(instance_id: int) -> ResponseReturnValue:
    """Edit the errored task's data (JSON) and run it again."""
    text = request.form.get("data", "")
    return _repair(
        instance_id,
        lambda s, me, reason: admin.retry(s, instance_id, me, reason, _parse_edits(s, instance_id, text)),
        _("已修改数据并重试"),
    )


@bp.route("/instances/<int:instance_id>/suspend", methods=["POST"])
@requires("admin.operate")
def suspend(instance_id: int) -> ResponseReturnValue:
    """Suspend: tasks leave every inbox until resumed."""
    return _repair(instance_id, lambda s, me, reason: admin.suspend(s, instance_id, me, reason), _("流程已挂起"))


@bp.route("/instances/<int:instance_id>/resume", methods=["POST"])
@requires("admin.operate")
def resume(instance_id: int) -> ResponseReturnValue:
    """Resume a suspended instance."""
    return _repair(instance_id, lambda s, me, reason: admin.resume(s, instance_id, me, reason), _("流程已恢复"))


@bp.route("/instances/<int:instance_id>/terminate", methods=["POST"])
@requires("admin.operate")
def terminate(instance_id: int) -> ResponseReturnValue:
    """Terminate for good (the project is closed with the reason)."""
    if request.form.get("confirm") != "yes":
        return _instance_page(instance_id, 422, {"confirm": "请勾选“确认终止”：终止后流程不能恢复"}, request.form.to_dict())
    return _repair(instance_id, lambda s, me, reason: admin.terminate(s, instance_id, me, reason), _("流程已终止"))


@bp.route("/tasks/<int:task_id>/reassign", methods=["POST"])
@requires("admin.operate")
def reassign(task_id: int) -> ResponseReturnValue:
    """Give a waiting task to one named official."""
    with db().session() as s:
        task = s.get(Task, task_id)
        if task is None:
            abort(404)
        instance_id = task.instance_id
    user_id = request.form.get("user_id", "")
    return _repair(
        instance_id,
        lambda s, me, reason: admin.reassign(s, task_id, whole_number(user_id) or 0, me, reason),
        _("任务已改派"),
    )


@bp.route("/instances/<int:instance_id>/move", methods=["GET", "POST"])
@requires("admin.operate")
def move(instance_id: int) -> ResponseReturnValue:
    """GET: what moving the token to `target` cancels and makes ready; POST: do it (reason required)."""
    target = (request.values.get("target") or "")[:80]
    with db().session() as s:
        try:
            plan = admin.plan_move(s, instance_id, target)
        except InvalidInput as exc:
            return _instance_page(instance_id, 422, exc.errors, request.values.to_dict())
        except EngineError as exc:
            return _instance_page(instance_id, exc.status, {}, request.values.to_dict(), exc.message)
    if request.method == "GET":
        return render_template("admin/move.html", plan=plan, instance_id=instance_id, errors={}, reason="")
    reason = request.form.get("reason", "")
    try:
        with db().session() as s:
            outcome = admin.move_token(s, instance_id, target, official(s), reason)
    except InvalidInput as exc:
        return render_template("admin/move.html", plan=plan, instance_id=instance_id, errors=exc.errors, reason=reason), 422
    except EngineError as exc:
        return _instance_page(instance_id, exc.status, {}, {}, exc.message)
    if outcome.error:
        flash(_("令牌已移动，但流程出错：%(error)s", error=overview.describe_error(outcome.error)), "error")
    else:
        flash(_("令牌已移至“%(name)s”", name=plan.target_name), "success")
    return redirect(url_for("admin.instance", instance_id=instance_id), 303)


@bp.route("/definitions/<int:definition_id>/heat")
@requires("admin.operate")
def heat(definition_id: int) -> ResponseReturnValue:
    """The definition's diagram with per-activity counts of running instances and average time spent."""
    with db().session() as s:
        definition = s.get(Definition, definition_id)
        if definition is None:
            abort(404)
        loaded = definitions.load(s, definition_id)
        if loaded.is_decision:
            raise NotFound(f"第{definition_id}号定义是决策表，没有流程图可显示办理热度")
        cells = overview.heat(s, definition_id)
        names = {t[0]: t[1] for t in overview.move_targets(loaded)}
        xml = overview.process_xml(definition)
        title = versions.definition_name(definition)
    table = sorted(((names.get(k, k), k, c) for k, c in cells.items()), key=lambda row: -row[2].running)
    diagram = {"xml": xml, "heat": {k: vars(c) for k, c in cells.items()}}
    return render_template("admin/heat.html", definition=definition, title=title, table=table, diagram=diagram)


def _known_roles(session: Session) -> dict[str, str]:
    """Role keys with their Chinese names: every role the permission policy declares, plus any other role still held."""
    names = permissions.role_names()
    for role in session.scalars(select(UserRole.role).distinct()):
        names.setdefault(role, role)
    return names


@bp.route("/users")
@requires("admin.operate")
def users() -> ResponseReturnValue:
    """Officials with their units, roles and status; deactivate or change roles with a reason."""
    return _users_page()


def _users_page(status: int = 200, errors: Optional[dict[str, str]] = None, user_id: Optional[int] = None) -> ResponseReturnValue:
    with db().session() as s:
        people = list(s.scalars(select(User).order_by(User.unit_id, User.id)))
        units = dict(s.execute(select(OrgUnit.id, OrgUnit.name)).all())
        roles = _known_roles(s)
        rows = [(u, units.get(u.unit_id, ""), sorted(u.roles)) for u in people]
    return render_template("admin/users.html", rows=rows, roles=roles, errors=errors or {}, error_user=user_id), status


@bp.route("/users/<int:user_id>", methods=["POST"])
@requires("admin.operate")
def update_user(user_id: int) -> ResponseReturnValue:
    """Activate/deactivate (field active) or replace roles (field roles); orphaned tasks are flagged at once."""
    reason = request.form.get("reason", "")
    try:
        with db().session() as s:
            me = official(s)
            if "active" in request.form:
                person = admin.set_user_active(s, user_id, request.form["active"] == "1", me, reason)
            else:
                person = admin.set_user_roles(s, user_id, request.form.getlist("roles"), set(_known_roles(s)), me, reason)
            name = person.display_name
    except InvalidInput as exc:
        return _users_page(422, exc.errors, user_id)
    except EngineError as exc:
        abort(exc.status)
    flash(_("已更新 %(name)s", name=name), "success")
    return redirect(url_for("admin.users"), 303)


@bp.route("/audit", methods=["GET", "POST"])
@requires("admin.operate")
def audit_check() -> ResponseReturnValue:
    """Check the event log's hash chain on request (POST) and show the first problem found."""
    verdict = None
    if request.method == "POST":
        with db().session() as s:
            verdict = audit.verify(s)
    return render_template("admin/audit.html", verdict=verdict)
