"""Process owners: definition versions, the BPMN/DMN modeler, validation, impact preview, deploy,
diff, roll back and migration of running projects. Every page needs the policy action definitions.manage (process owners)."""
from __future__ import annotations

from typing import Any, Optional

import yaml

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.routing import BuildError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflow import definitions, impact, migration, validation, versions
from engine.platform import permissions
from engine.platform.inputs import whole_number
from engine.platform.errors import DefinitionInvalid, EngineError, InvalidInput, NotFound
from engine.platform.messages import joined
from engine.platform.models import Definition, User
from engine.workflow.parser import MAX_FILE_BYTES
from engine.projects.record import STAGES

from .guard import requires
from .params import required_number
from .auth import official
from .services import db
from .i18n import local_datetime, to_local, translated

bp = Blueprint("definitions", __name__)
NAV = [(80, "流程定义", "definitions.index", "definitions.manage")]
SCOPE_LABELS = {"landing_unit": "项目落地单位", "deputy": "项目分管县领导本人", "county": "全县", "item_unit": "交办事项责任单位"}


def _require_process(session: Session, process_id: str) -> Definition:
    try:
        return definitions.latest(session, process_id)
    except NotFound:
        abort(404)


def _posted_files() -> dict[str, str]:
    """The edited files of a JSON request body {"files": {name: text}}."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("files", {}), dict):
        abort(400)
    files: dict[str, str] = payload.get("files", {})
    return files


def _refused(exc: DefinitionInvalid, status: int = 422) -> ResponseReturnValue:
    return jsonify(ok=False, problems=exc.problems), status


@bp.route("/definitions")
@requires("definitions.manage")
def index() -> ResponseReturnValue:
    """Every definition with its versions: who deployed, when, hash, running instances per version."""
    return _index_page({}, 200)


def _index_page(errors: dict[str, str], status: int) -> ResponseReturnValue:
    """The definitions page, with the messages of a refused roll-back when there are any."""
    with db().session() as s:
        processes = versions.version_list(s)
        drafts = {pid: versions.draft_of(s, pid) for pid in processes}
        names = dict(s.execute(select(User.id, User.display_name)).all())
        titles = versions.process_names(s, processes)
    return render_template("definitions/index.html", processes=processes, drafts=drafts, names=names, titles=titles,
                           errors=errors), status


@bp.route("/definitions/<process_id>/modeler")
@requires("definitions.manage")
def modeler(process_id: str) -> ResponseReturnValue:
    """The bpmn-js modeler with properties panel and the dmn-js decision-table editor."""
    with db().session() as s:
        _require_process(s, process_id)
        files, draft, latest = versions.working_files(s, process_id)
        saved_by = s.get_one(User, draft.saved_by).display_name if draft and draft.saved_by else ""
        title = versions.definition_name(latest)
    forms = sorted(name.removeprefix("forms/") for name in files if name.startswith("forms/"))
    decisions = sorted(impact.decisions_in(files))
    config = {
        "processId": process_id,
        "lanes": _lane_roles(files),
        "urls": {
            "files": url_for("definitions.working", process_id=process_id),
            "draft": url_for("definitions.save", process_id=process_id),
            "validate": url_for("definitions.validate", process_id=process_id),
            "impact": url_for("definitions.preview", process_id=process_id),
            "deploy": url_for("definitions.deploy", process_id=process_id),
        },
        "forms": forms,
        "decisions": decisions,
        "stages": [{"value": k, "label": v} for k, v in STAGES.items()],
    }
    return render_template(
        "definitions/modeler.html", process_id=process_id, latest=latest, draft=draft, saved_by=saved_by,
        config=config, max_kb=MAX_FILE_BYTES // 1024, title=title,
    )


def _lane_roles(files: dict[str, str]) -> dict[str, str]:
    """Lane name → "角色名（范围）" from lanes.yaml and the policy's role names, shown next to each lane in the properties panel."""
    try:
        config = yaml.safe_load(files.get("lanes.yaml", "")) or {}
        return {
            str(lane): f"{permissions.role_name(str(m.get('role')))}（{SCOPE_LABELS.get(str(m.get('scope')), m.get('scope'))}）"
            for lane, m in (config.get("lanes") or {}).items()
            if isinstance(m, dict)
        }
    except (yaml.YAMLError, AttributeError):
        return {}


@bp.route("/definitions/<process_id>/files")
@requires("definitions.manage")
def working(process_id: str) -> ResponseReturnValue:
    """The files the modeler edits (the draft, else the newest version) as JSON."""
    with db().session() as s:
        _require_process(s, process_id)
        files, draft, latest = versions.working_files(s, process_id)
    editable = {name: text for name, text in files.items() if versions.editable_name(name)}
    return jsonify(files=editable, main=versions.main_file(files, process_id), version=latest.version, draft=draft is not None)


@bp.route("/definitions/<process_id>/draft", methods=["POST"])
@requires("definitions.manage")
def save(process_id: str) -> ResponseReturnValue:
    """Save the edited files as the process's draft."""
    changed = _posted_files()
    try:
        with db().session() as s:
            me = official(s)
            _require_process(s, process_id)
            draft = versions.save_draft(s, process_id, changed, me)
            saved_at, who = draft.saved_at, me.display_name
    except DefinitionInvalid as exc:
        return _refused(exc)
    local = to_local(saved_at)
    assert local is not None  # a saved draft has its time
    return jsonify(ok=True, message=_("草稿已保存（%(t)s）", t=local.strftime("%H:%M:%S")),
                   draft=_("正在编辑草稿（%(who)s 于 %(at)s 保存）", who=who, at=local_datetime(saved_at)))


@bp.route("/definitions/<process_id>/validate", methods=["POST"])
@requires("definitions.manage")
def validate(process_id: str) -> ResponseReturnValue:
    """Run every pre-deploy check on the working files plus the posted edits; nothing is stored."""
    changed = _posted_files()
    with db().session() as s:
        _require_process(s, process_id)
        files, _draft, _latest = versions.working_files(s, process_id)
    try:
        definitions.build(versions.merge_changes(files, changed), process_id, strict=True)
    except DefinitionInvalid as exc:
        return _refused(exc)
    return jsonify(ok=True, problems=[], message=_("校验通过，可以部署"))


@bp.route("/definitions/<process_id>/impact", methods=["POST"])
@requires("definitions.manage")
def preview(process_id: str) -> ResponseReturnValue:
    """Running projects whose decision output the edited DMN would change (project, old → new).

    The files must be sound (every check but the decision cases); failing cases are listed with
    the preview, since a changed rule usually means changed cases too.
    """
    changed = _posted_files()
    with db().session() as s:
        _require_process(s, process_id)
        files, _draft, _latest = versions.working_files(s, process_id)
        try:
            merged = versions.merge_changes(files, changed)
            checked = validation.check_bundle(merged, process_id, definitions.SCOPES)
            if checked.problems:
                raise DefinitionInvalid(checked.problems)
            definitions.build(merged, process_id)
        except DefinitionInvalid as exc:
            return _refused(exc)
        failing_cases = validation.check_cases(merged, checked)
        decisions, rows = impact.preview(s, process_id, merged)
    return jsonify(
        ok=True,
        problems=failing_cases,
        decisions=decisions,
        rows=[
            {
                "project_id": r.project_id,
                "project": r.project_name,
                "url": _project_url(r.project_id),
                "version": r.version,
                "decision": r.decision_id,
                "inputs": r.inputs,
                "old": r.show(r.old),
                "new": r.show(r.new),
                "decided": r.decided,
            }
            for r in rows
        ],
    )


def _project_url(project_id: int) -> Optional[str]:
    try:
        return url_for("projects.project_page", project_id=project_id)
    except BuildError:
        return None


@bp.route("/definitions/<process_id>/deploy", methods=["POST"])
@requires("definitions.manage")
def deploy(process_id: str) -> ResponseReturnValue:
    """Validate and deploy the working files plus the posted edits as a new version (logged)."""
    payload = request.get_json(silent=True) or {}
    changed = _posted_files()
    note = str(payload.get("note") or "")[:200]
    try:
        with db().session() as s:
            me = official(s)
            _require_process(s, process_id)
            row, created = versions.deploy_working(s, process_id, me, changed, note)
            number = row.version
    except DefinitionInvalid as exc:
        return _refused(exc)
    message = _("已部署第%(v)s版，新登记的项目将按此版本运行", v=number) if created else _("内容与第%(v)s版相同，未生成新版本", v=number)
    return jsonify(ok=True, created=created, version=number, message=message)


@bp.route("/definitions/<process_id>/upload", methods=["POST"])
@requires("definitions.manage")
def upload(process_id: str) -> ResponseReturnValue:
    """Put a .bpmn/.dmn exported from Camunda Modeler or bpmn.io into the draft (XML checked first)."""
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_("请选择要上传的 .bpmn 或 .dmn 文件"), "error")
        return redirect(url_for("definitions.modeler", process_id=process_id), 303)
    raw = file.read(MAX_FILE_BYTES + 1)
    try:
        if len(raw) > MAX_FILE_BYTES:
            raise DefinitionInvalid([{"file": file.filename, "element": "", "message": f"文件超过 {MAX_FILE_BYTES // 1024} KB 上限"}])
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DefinitionInvalid([{"file": file.filename, "element": "", "message": "文件不是 UTF-8 编码的 XML"}]) from exc
        with db().session() as s:
            me = official(s)
            _require_process(s, process_id)
            files, _draft, _latest = versions.working_files(s, process_id)
            name = versions.upload_name(files, file.filename, text, process_id)
            versions.save_draft(s, process_id, {name: text}, me)
    except DefinitionInvalid as exc:
        return render_template("definitions/upload_refused.html", process_id=process_id, problems=exc.problems), 422
    flash(_("已将 %(f)s 放入草稿（替换 %(n)s），请校验后部署", f=file.filename, n=name), "success")
    return redirect(url_for("definitions.modeler", process_id=process_id), 303)


@bp.route("/definitions/<process_id>/draft/discard", methods=["POST"])
@requires("definitions.manage")
def discard(process_id: str) -> ResponseReturnValue:
    """Drop the draft; the modeler opens the newest version again."""
    with db().session() as s:
        versions.discard_draft(s, process_id)
    flash(_("草稿已放弃"), "info")
    return redirect(url_for("definitions.modeler", process_id=process_id), 303)


@bp.route("/definitions/<process_id>/diff")
@requires("definitions.manage")
def diff(process_id: str) -> ResponseReturnValue:
    """Tasks and flows added, removed and changed between two versions."""
    old_number, new_number = required_number(request.args.get("from", "")), required_number(request.args.get("to", ""))
    with db().session() as s:
        try:
            result = versions.diff(s, process_id, old_number, new_number)
        except NotFound:
            abort(404)
        numbers = [v.version for v in versions.version_list(s).get(process_id, [])]
    return render_template("definitions/diff.html", process_id=process_id, diff=result, numbers=numbers)


@bp.route("/definitions/<process_id>/versions/<int:number>/rollback", methods=["POST"])
@requires("definitions.manage")
def rollback(process_id: str, number: int) -> ResponseReturnValue:
    """Redeploy an earlier version's files as the newest version."""
    try:
        with db().session() as s:
            row = versions.rollback(s, process_id, number, official(s), request.form.get("reason", ""))
            new_number = row.version
    except NotFound:
        abort(404)
    except InvalidInput as exc:
        flash(_("未回滚：%(m)s", m=translated(joined(list(exc.errors.values())))), "error")
        return _index_page(exc.errors, 422)
    except DefinitionInvalid as exc:
        flash(_("第%(v)s版未通过当前的校验，不能回滚：%(m)s", v=number, m=translated(exc.message)), "error")
        return redirect(url_for("definitions.index"), 303)
    flash(_("已将第%(old)s版重新部署为第%(new)s版", old=number, new=new_number), "success")
    return redirect(url_for("definitions.index"), 303)


def _filters() -> dict[str, Any]:
    values = request.values
    source = values.get("from", "")
    return {
        "from_definition_id": whole_number(source),
        "current_task": values.get("task", "") or None,  # a step's name: the steps of different tiers share one
    }


def _narrowing(filters: dict[str, Any], steps: dict[str, list[str]]) -> dict[str, Any]:
    """The filters as migration.candidates takes them: the step's name becomes the ids of the steps with that name."""
    name = filters["current_task"]
    return {"from_definition_id": filters["from_definition_id"], "current_tasks": steps.get(name, []) if name else None}


@bp.route("/definitions/<process_id>/migrate", methods=["GET", "POST"])
@requires("definitions.manage")
def migrate(process_id: str) -> ResponseReturnValue:
    """Running projects on older versions with each one's compatibility; migrate one, the selected or all matching."""
    filters = _filters()
    with db().session() as s:
        me = official(s)
        target = _require_process(s, process_id)
        steps = _current_tasks(s, process_id)
        narrowed = _narrowing(filters, steps)
        if request.method == "POST":
            ids = [n for n in map(whole_number, request.form.getlist("instance_id")) if n is not None]
            if not ids and request.form.get("all") != "1":
                flash(_("请选择要迁移的项目，或选择“迁移全部符合条件的项目”"), "error")
                return redirect(url_for("definitions.migrate", process_id=process_id, **_query(filters)), 303)
            chosen = migration.candidates(s, process_id, instance_ids=ids or None, **narrowed)
            try:
                bulk = migration.migrate_many(s, chosen, target, me)
            except EngineError as exc:
                flash(translated(exc.message), "error")
                return redirect(url_for("definitions.migrate", process_id=process_id, **_query(filters)), 303)
            results = bulk.results
            done = True
        else:
            results = migration.preview(s, migration.candidates(s, process_id, **narrowed), target)
            done = False
        sources = _source_versions(s, process_id)
    if done:
        flash(_("已迁移 %(ok)s 个项目，%(no)s 个未迁移", ok=sum(r.migrated for r in results), no=sum(not r.migrated for r in results)), "success")
    return render_template(
        "definitions/migrate.html", process_id=process_id, target=target, results=results, done=done,
        filters=filters, sources=sources, tasks=list(steps),
    )


def _query(filters: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in (("from", filters["from_definition_id"]), ("task", filters["current_task"])) if v}


def _source_versions(session: Session, process_id: str) -> list[tuple[int, int]]:
    rows = session.execute(
        select(Definition.id, Definition.version).where(Definition.process_id == process_id).order_by(Definition.version)
    ).all()
    return [(r[0], r[1]) for r in rows]


def _current_tasks(session: Session, process_id: str) -> dict[str, list[str]]:
    """The newest version's user steps by name, each with the ids of the steps of that name, names sorted."""
    loaded = definitions.load(session, definitions.latest_id(session, process_id))
    steps: dict[str, list[str]] = {}
    for meta in sorted(loaded.user_tasks.values(), key=lambda m: (m.name, m.bpmn_id)):
        steps.setdefault(meta.name, []).append(meta.bpmn_id)
    return steps
