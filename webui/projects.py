"""项目台账: the ledger with filters and stage counts, lead registration, the project page, the diagram
data and the printable 《磐安县招商引资项目落地审批表》."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.projects import lifecycle
from engine.enterprises import catalog
from engine.supervision import lights
from engine.projects import comments, meetings, corrections, files, queries
from engine.workflow import runtime
from engine.platform import permissions
from engine.platform.errors import EngineError, InvalidInput, NotAllowed, NotFound
from engine.platform.models import OrgUnit, Project, User, UserRole
from engine.platform.org import can_act, delegated_to
from engine.projects.record import CATEGORIES, SOURCE_CHANNELS, STAGES

from . import attachments as attachment_pages
from .guard import requires, signed_in
from .auth import official
from .i18n import category_label, channel_label, translated
from .params import int_arg, search_arg
from .services import db
from .tasks import landing_units

bp = Blueprint("projects", __name__)
NAV = [(30, "项目台账", "projects.ledger", None)]
PER_PAGE = 20
FORM_FIELDS = (
    "name", "investor", "source_channel", "attracting_unit_id", "landing_unit_id", "landing_platform_id", "category",
    "is_manufacturing", "total_investment", "fixed_asset_investment", "foreign_capital", "out_of_province_capital",
    "needs_land", "land_mu", "one_case_support", "one_case_amount", "fund_request", "deputy_id", "contact_name",
    "contact_phone", "is_major",
)


def _flag(name: str) -> bool:
    return request.args.get(name) == "1"


def _project_for_viewer(session: Session, project_id: int) -> Project:
    """The project if the signed-in official may see it; 404 or 403 otherwise."""
    project = session.get(Project, project_id)
    if project is None:
        abort(404)
    if not queries.can_view_project(current_user, project):
        abort(403)
    return project


@bp.route("/projects")
@signed_in
def ledger() -> ResponseReturnValue:
    """项目台账 with filters (stage, unit, category, 7亿+ manufacturing, 3亿+ industrial, major, light, search)."""
    unit_id, page_number = int_arg("unit"), int_arg("page") or 1
    flt = queries.LedgerFilter(
        stage=request.args.get("stage", "") if request.args.get("stage") in STAGES else "",
        unit_id=unit_id,
        category=request.args.get("category", "") if request.args.get("category") in CATEGORIES else "",
        manufacturing_7yi=_flag("m7"),
        industrial_3yi=_flag("i3"),
        major=_flag("major"),
        light=request.args.get("light", "") if request.args.get("light") in lights.LIGHT_NAMES else "",
        search=search_arg(),
        visible_unit_id=queries.visible_unit_for(current_user),
    )
    with db().session() as s:
        result = queries.ledger(s, flt, datetime.now(timezone.utc), lights.LEDGER, page_number, PER_PAGE)
        units = landing_units(s)
    return render_template(
        "projects/ledger.html", page=result.page, flt=flt, counts=result.stage_counts, units=units, stages=STAGES,
        categories=CATEGORIES, light_names=lights.LIGHT_NAMES,
        light_titles={key: _(name) for key, name in lights.LIGHT_NAMES.items()},
    )


def form_options(session: Session) -> dict[str, Any]:
    """(value, label) choices for the registration form: units, platforms, deputies, categories, channels."""
    deputies = session.scalars(
        select(User).where(User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(sorted(permissions.roles_for("project.take_charge"))))),
                           User.active.is_(True)).order_by(User.id)
    ).all()
    units = landing_units(session)
    return dict(
        unit_options=[(u.id, u.name) for u in units],
        platform_options=[(u.id, u.name) for u in units if u.kind == "zone"],
        attracting_options=[(u.id, u.name) for u in session.scalars(select(OrgUnit).order_by(OrgUnit.id))],
        deputy_options=[(u.id, f"{u.display_name}（{u.title}）") for u in deputies],
        category_options=[(key, category_label(key)) for key in CATEGORIES],
        channel_options=[(key, channel_label(key)) for key in SOURCE_CHANNELS],
    )


@bp.route("/projects/new", methods=["GET", "POST"])
@requires("project.register")
def register() -> ResponseReturnValue:
    """登记项目线索: validate every field on the server, store nothing on error, start the lifecycle.

    Staff register leads their own unit attracted; the office names any attracting unit and may flag a major project.
    """
    any_unit = permissions.county_wide(current_user, "project.register")
    with db().session() as s:
        options = form_options(s)
    if request.method == "GET":
        values = {"landing_unit_id": str(current_user.unit_id), "attracting_unit_id": str(current_user.unit_id)}
        return render_template("projects/new.html", values=values, errors={}, any_unit=any_unit, **options)
    data = {name: request.form.get(name, "") for name in FORM_FIELDS}
    if not any_unit:
        data["attracting_unit_id"] = str(current_user.unit_id)
    if not permissions.allowed(current_user, "project.flag_major"):
        data["is_major"] = ""
    try:
        with db().session() as s:
            outcome = lifecycle.register(s, data, official(s))
    except InvalidInput as exc:
        return render_template("projects/new.html", values=request.form, errors=exc.errors, any_unit=any_unit, **options), 422
    flash(_("已登记项目线索“%(name)s”，流程已启动", name=data["name"].strip()), "success")
    return redirect(url_for("projects.project_page", project_id=outcome.project_id), 303)


def _form_text(value: Any) -> str:
    """A stored value as the form's inputs carry it (checkboxes '1', numbers without trailing zeros)."""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return "" if value is None else str(value)


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@requires("project.correct")
def edit(project_id: int) -> ResponseReturnValue:
    """修改项目信息: corrections by the office (every field) or the project's own units (descriptive fields)."""
    with db().session() as s:
        project = _project_for_viewer(s, project_id)
        allowed = corrections.may_edit(official(s), project)
        if not allowed:
            abort(403)
        stored = {k: _form_text(v) for k, v in corrections.current_values(project).items()}
        locked = corrections.locked(project, corrections.tier_fields(s, project))
        context = dict(project_id=project.id, project_name=project.name, allowed=allowed, locked=locked,
                       shown={f: corrections.shown(s, f, getattr(project, f)) for f in locked},
                       county_editor=permissions.county_wide(current_user, "project.correct"), **form_options(s))
    if request.method == "GET":
        return render_template("projects/edit.html", values=stored, errors={}, reason="", **context)
    data = {name: request.form.get(name, "") for name in allowed if name not in context["locked"]}
    reason = request.form.get("reason", "")
    try:
        with db().session() as s:
            changes = corrections.update(s, project_id, data, official(s), reason)
    except NotAllowed as exc:
        flash(translated(exc.message), "error")
        abort(403)
    except InvalidInput as exc:
        values = {**stored, **{k: v for k, v in request.form.items() if k in allowed}}
        return render_template("projects/edit.html", values=values, errors=exc.errors, reason=reason, **context), 422
    flash(_("已保存%(count)s项修改", count=len(changes)) if changes else _("没有修改任何内容"), "success")
    return redirect(url_for("projects.project_page", project_id=project_id), 303)


def _header(project: Project) -> dict[str, str]:
    """The names the project page and the printable approval form both show at the top."""
    return {
        "landing_unit": project.landing_unit.name,
        "attracting_unit": project.attracting_unit.name,
        "platform": project.landing_platform.name if project.landing_platform else "",
        "deputy": f"{project.deputy.display_name}（{project.deputy.title}）",
    }


@bp.route("/projects/<int:project_id>")
@signed_in
def project_page(project_id: int) -> ResponseReturnValue:
    """All fields, the timeline from the event log, current tasks and their holders, attachments, 会商意见, the diagram."""
    return _project_view(project_id)


def _project_view(project_id: int, status: int = 200, comment: str = "", comment_error: str = "") -> ResponseReturnValue:
    """The project page; after a refused comment, with its text kept and the reason under it."""
    now = datetime.now(timezone.utc)
    with db().session() as s:
        project = _project_for_viewer(s, project_id)
        me = official(s)
        holdings = queries.current_tasks(s, project.id)
        delegated = delegated_to(s, me)
        actionable = {t.id for t in runtime.ready_tasks_of(s, project.id) if can_act(me, t, delegated)}
        context = dict(
            project=project,
            **_header(project),
            timeline=queries.timeline(s, project.id),
            holdings=holdings,
            actionable=actionable,
            signatures=queries.signatures(s, project.id),
            may_edit=bool(corrections.may_edit(me, project)),
            source_entry=catalog.entry_for_project(s, project.id),
            light=lights.lights_of(s, [project.id], now)[project.id] if project.status == "active" else "",
            now=now,
            attachments=attachment_pages.project_panel(s, me, project),
            thread=comments.of_project(s, project.id),
            may_comment=comments.may_comment(me, project),
            comment=comment,
            comment_error=comment_error,
        )
    return render_template("projects/project.html", **context), status


@bp.route("/projects/<int:project_id>/comments", methods=["POST"])
@signed_in
def comment(project_id: int) -> ResponseReturnValue:
    """发表会商意见: the project's units and the county bodies; an @mention notifies the named official."""
    text = request.form.get("body", "")
    try:
        with db().session() as s:
            posted = comments.post(s, project_id, official(s), text)
            comment_id = posted.id
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    except InvalidInput as exc:
        return _project_view(project_id, 422, text, exc.errors[comments.FIELD])
    flash(_("已发表会商意见"), "success")
    return redirect(url_for("projects.project_page", project_id=project_id) + f"#comment-{comment_id}", 303)


@bp.route("/projects/<int:project_id>/diagram.json")
@signed_in
def diagram(project_id: int) -> ResponseReturnValue:
    """BPMN XML of the project's definition version with the completed path and current tasks."""
    with db().session() as s:
        _project_for_viewer(s, project_id)
        try:
            data = queries.diagram(s, project_id)
        except EngineError as exc:
            return jsonify(error=translated(exc.message)), exc.status
    return jsonify(
        xml=data.xml, version=data.definition_version, current=data.current, completed=data.completed, flows=data.flows
    )


@bp.route("/projects/<int:project_id>/approval-form")
@signed_in
def approval_form(project_id: int) -> ResponseReturnValue:
    """Printable 《磐安县招商引资项目落地审批表》 with every signer's opinion."""
    with db().session() as s:
        project = _project_for_viewer(s, project_id)
        signatures = queries.signatures(s, project.id)
        context = dict(
            project=project,
            **_header(project),
            signatures=signatures,
            summary=_latest_summary(signatures),
            attachments=files.of_project(s, project.id),
        )
    return render_template("projects/approval_form.html", **context)


def _latest_summary(signatures: list[queries.Signature]) -> str:
    """The project summary the landing unit last wrote on the approval form."""
    texts = [sig.data.get("summary", "") for sig in signatures if sig.data.get("summary")]
    return str(texts[-1]) if texts else ""


@bp.route("/projects/<int:project_id>/major", methods=["POST"])
@requires("project.flag_major")
def flag_major(project_id: int) -> ResponseReturnValue:
    """The office flags a project major (decided outside the monthly meeting) or removes the flag."""
    major = request.form.get("major") == "1"
    try:
        with db().session() as s:
            meetings.set_major(s, project_id, major, official(s))
    except EngineError as exc:
        flash(translated(exc.message), "error")
        abort(exc.status)
    flash(_("已认定为重大项目，可随时单独研判") if major else _("已取消重大项目认定"), "success")
    return redirect(url_for("projects.project_page", project_id=project_id), 303)
