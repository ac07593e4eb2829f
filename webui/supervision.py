"""交办单 pages: raise a problem, follow the list and its lights, 督考办 issues items, 通报批评, annual targets."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from engine.supervision import assessment, coordination
from engine.platform import clock, permissions
from engine.platform.inputs import whole_number
from engine.platform.errors import AlreadyCompleted, ConcurrentUpdate, InvalidInput, NotAllowed, NotFound
from engine.platform.models import OrgUnit, Project, Task
from engine.platform.org import can_act
from engine.supervision.models import CoordinationCase, Criticism, UnitTarget

from . import attachments as attachment_pages
from .guard import requires, signed_in
from .auth import official
from .i18n import translated
from .params import int_arg, required_number, year_arg
from .services import db

bp = Blueprint("supervision", __name__)
NAV = [(50, "协调交办", "supervision.cases", None), (55, "年度目标", "supervision.targets", None)]



@bp.route("/supervision")
@signed_in
def cases() -> ResponseReturnValue:
    """交办单 list with each item's light."""
    with db().session() as s:
        me = official(s)
        page = coordination.cases_for(s, me, int_arg("page") or 1)
        today = clock.local_today()
        view = [(c, c.project.name, c.unit.name, [(i, i.responsible_unit.name, coordination.item_light(i, today)) for i in c.items])
                for c in page.rows]
    return render_template("supervision/cases.html", cases=view, page=page,
                           status_labels=coordination.CASE_STATUS_LABELS, light_labels=coordination.LIGHT_LABELS)


@bp.route("/supervision/new", methods=["GET", "POST"])
@requires("coordination.submit")
def new_case() -> ResponseReturnValue:
    """A landing unit reports a problem needing county-level coordination, with written material."""
    with db().session() as s:
        me = official(s)
        own = list(s.scalars(select(Project).where(Project.landing_unit_id == me.unit_id, Project.status == "active").order_by(Project.name)))
        options = [(p.id, p.name) for p in own]
    if request.method == "GET":
        return render_template("supervision/new.html", options=options, values={}, errors={})
    project_id = whole_number(request.form.get("project_id", "")) or 0
    try:
        with db().session() as s:
            case = coordination.submit(s, project_id, official(s), request.form.to_dict())
            case_id = case.id
    except InvalidInput as exc:
        return render_template("supervision/new.html", options=options, values=request.form, errors=exc.errors), 422
    except NotFound:
        return render_template("supervision/new.html", options=options, values=request.form, errors={"project_id": "请选择本单位的项目"}), 422
    except NotAllowed as exc:
        flash(translated(exc.message), "error")
        abort(403)
    flash("已报送领导小组办公室审核", "success")
    return redirect(url_for("supervision.case_page", case_id=case_id), 303)


@bp.route("/supervision/cases/<int:case_id>")
@signed_in
def case_page(case_id: int) -> ResponseReturnValue:
    """One 交办单: problem, material, items with lights and reports, the tasks the viewer may act on."""
    with db().session() as s:
        me = official(s)
        case = s.get(CoordinationCase, case_id)
        if case is None:
            abort(404)
        if not coordination.may_see(me, case):
            abort(403)
        today = clock.local_today()
        items = [(i, i.responsible_unit.name, coordination.item_light(i, today), coordination.was_late(i) or coordination.item_light(i, today) == "red") for i in case.items]
        tasks = [t for t in s.scalars(select(Task).where(Task.instance_id == case.instance_id, Task.status == "ready")) if can_act(me, t)]
        return render_template("supervision/case.html", case=case, project=case.project, unit=case.unit, items=items, tasks=tasks,
                               attachments=attachment_pages.case_panel(s, me, case),
                               status_labels=coordination.CASE_STATUS_LABELS,
                               item_labels=coordination.ITEM_STATUS_LABELS, light_labels=coordination.LIGHT_LABELS)


@bp.route("/supervision/tasks/<int:task_id>/issue", methods=["GET", "POST"])
@signed_in
def issue(task_id: int) -> ResponseReturnValue:
    """县督考办 writes the list: one line per item with responsible unit and deadline."""
    with db().session() as s:
        task = s.get(Task, task_id)
        if task is None or task.bpmn_id != "issue_list":
            abort(404)
        if task.status == "ready" and not can_act(official(s), task):
            abort(403)
        case = s.scalars(select(CoordinationCase).where(CoordinationCase.instance_id == task.instance_id)).one()
        case_id, title, problem = case.id, case.title, case.problem
        units = [(u.id, u.name) for u in s.scalars(select(OrgUnit).where(OrgUnit.kind.in_(coordination.UNIT_KINDS_RESPONSIBLE)).order_by(OrgUnit.id))]
    context = dict(task_id=task_id, case_id=case_id, title=title, problem=problem, units=units)
    if request.method == "GET":
        return render_template("supervision/issue.html", lines=[{}] * 3, errors={}, opinion="", **context)
    lines = []
    for i in range(1, 31):
        line = {k: request.form.get(f"{k}_{i}", "").strip() for k in ("title", "responsible_unit_id", "deadline")}
        if any(line.values()):
            lines.append(line)
    try:
        with db().session() as s:
            coordination.issue_list(s, task_id, official(s), lines, request.form.get("opinion", ""))
    except InvalidInput as exc:
        return render_template("supervision/issue.html", lines=lines or [{}], errors=exc.errors, opinion=request.form.get("opinion", ""), **context), 422
    except NotAllowed:
        abort(403)
    except (AlreadyCompleted, ConcurrentUpdate) as exc:
        flash(translated(exc.message), "error")
        return redirect(url_for("supervision.case_page", case_id=case_id), 303)
    flash("交办单已下发，各责任单位待办中可见", "success")
    return redirect(url_for("supervision.case_page", case_id=case_id), 303)


@bp.route("/supervision/criticisms", methods=["GET", "POST"])
@signed_in
def criticisms() -> ResponseReturnValue:
    """通报批评: the office records one (一票否优 for the year); everyone sees the list."""
    if request.method == "POST":
        unit_id = whole_number(request.form.get("unit_id", "")) or 0
        item_id = required_number(request.form["item_id"]) if request.form.get("item_id") else None
        try:
            with db().session() as s:
                coordination.record_criticism(s, official(s), unit_id, request.form.get("reason", ""), item_id)
        except NotAllowed:
            abort(403)
        except InvalidInput as exc:
            with db().session() as s:
                rows = [(c, c.unit.name) for c in s.scalars(select(Criticism).order_by(Criticism.recorded_at.desc()))]
            return render_template("supervision/criticisms.html", rows=rows, errors=exc.errors), 422
        flash("已记录通报批评，该单位当年取消优秀评选资格", "success")
        return redirect(url_for("supervision.criticisms"), 303)
    with db().session() as s:
        rows = [(c, c.unit.name) for c in s.scalars(select(Criticism).order_by(Criticism.recorded_at.desc()))]
    return render_template("supervision/criticisms.html", rows=rows, errors={})


@bp.route("/supervision/targets", methods=["GET", "POST"])
@signed_in
def targets() -> ResponseReturnValue:
    """Annual targets per unit; the office edits them, units see their own."""
    year = year_arg()
    errors: dict[str, str] = {}
    if request.method == "POST":
        unit_id = whole_number(request.form.get("unit_id", "")) or 0
        try:
            with db().session() as s:
                assessment.set_target(s, official(s), year, unit_id, request.form.to_dict())
            flash("年度目标已保存", "success")
            return redirect(url_for("supervision.targets", year=year), 303)
        except NotAllowed:
            abort(403)
        except InvalidInput as exc:
            errors = exc.errors
    with db().session() as s:
        me = official(s)
        units = list(s.scalars(select(OrgUnit).where(OrgUnit.kind.in_(assessment.ASSESSED_KINDS)).order_by(OrgUnit.id)))
        if not permissions.allowed(me, "supervision.view_county"):
            units = [u for u in units if u.id == me.unit_id]
        rows = {t.unit_id: t for t in s.scalars(select(UnitTarget).where(UnitTarget.year == year))}
        view = [(u.id, u.name, rows.get(u.id)) for u in units]
    status = 422 if errors else 200
    return render_template("supervision/targets.html", year=year, rows=view, fields=assessment.TARGET_FIELDS,
                           errors=errors), status


@bp.route("/supervision/targets/<int:unit_id>")
@signed_in
def plan(unit_id: int) -> ResponseReturnValue:
    """The unit's monthly plan derived backwards from its targets (倒排), against actuals."""
    year = year_arg()
    with db().session() as s:
        me = official(s)
        if not permissions.allowed(me, "supervision.view_county") and me.unit_id != unit_id:
            abort(403)
        unit = s.get(OrgUnit, unit_id)
        if unit is None:
            abort(404)
        today = clock.local_today()
        upto = 12 if year < today.year else (today.month if year == today.year else 0)
        target, rows = assessment.plan_against_actuals(s, year, unit_id, upto)
    return render_template("supervision/plan.html", year=year, unit=unit, target=target, rows=rows,
                           fields=assessment.TARGET_FIELDS, upto=upto)
