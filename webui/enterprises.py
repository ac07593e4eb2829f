"""招引企业库: the shared target-enterprise database — list, entry pages, tags, Excel in and out, turning an entry into a lead."""
from __future__ import annotations

from typing import Any, Optional
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.enterprises import catalog
from engine.projects import record
from engine.enterprises.models import EnterpriseEntry
from engine.platform.errors import AlreadyCompleted, InvalidInput, NotAllowed, NotFound
from engine.platform.models import OrgUnit, User

from . import uploads
from .guard import requires, signed_in
from .params import int_arg, search_arg
from .auth import official
from .projects import form_options
from .services import db

bp = Blueprint("enterprises", __name__)
NAV = [(70, "招引企业库", "enterprises.listing", None)]
PER_PAGE = 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ENTRY_FIELDS = ("name", "tag_id", "source_unit_id", "list_kind", "region", "contact_name", "contact_phone",
                "planned_investment", "notes", "status")


def _entry(session: Session, entry_id: int) -> EnterpriseEntry:
    """The entry or a 404 page."""
    try:
        return catalog.get(session, entry_id)
    except NotFound:
        abort(404)


def _filter() -> catalog.EntryFilter:
    """The list filter from the query string; unknown codes are ignored."""
    kind, status = request.args.get("kind", ""), request.args.get("status", "")
    return catalog.EntryFilter(
        tag_id=int_arg("tag"),
        source_unit_id=int_arg("unit"),
        list_kind=kind if kind in catalog.LIST_KINDS else "",
        status=status if status in catalog.STATUSES else "",
        search=search_arg(),
    )


def _supplying_units(session: Session) -> list[OrgUnit]:
    """Units that may supply lists, for the source-unit filter."""
    return list(session.scalars(select(OrgUnit).where(OrgUnit.kind.in_(catalog.SOURCE_UNIT_KINDS)).order_by(OrgUnit.id)))


@bp.route("/enterprises")
@signed_in
def listing() -> ResponseReturnValue:
    """The shared list with filters (tag, source unit, kind, status, name) and paging; everyone reads, units add their own."""
    flt = _filter()
    page_number = int_arg("page") or 1
    with db().session() as s:
        me = official(s)
        page = catalog.listing(s, flt, page_number, PER_PAGE)
        rows = [(e, catalog.may_maintain(me, e.source_unit_id)) for e in page.rows]
        return render_template(
            "enterprises/list.html", page=page, rows=rows, flt=flt, tags=catalog.tags(s), units=_supplying_units(s),
            kinds=catalog.LIST_KINDS, statuses=catalog.STATUSES,
        )


@bp.route("/enterprises/export.xlsx")
@signed_in
def export() -> ResponseReturnValue:
    """Every entry matching the page's filters as .xlsx, in the page's order."""
    with db().session() as s:
        content = catalog.export_xlsx(s, _filter())
    name = quote("招引企业数据库.xlsx")
    return Response(content, mimetype=XLSX, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})


def _form_page(session: Session, me: User, values: Any, errors: dict[str, str], entry: Optional[EnterpriseEntry], status: int) -> ResponseReturnValue:
    """The new/edit form with its choices and any errors."""
    tags = [t for t in catalog.tags(session) if t.active or (entry is not None and t.id == entry.tag_id)]
    return render_template(
        "enterprises/form.html", values=values, errors=errors, entry=entry, tags=tags,
        units=catalog.source_units(session, me), kinds=catalog.LIST_KINDS, labels=catalog.FIELD_LABELS,
        statuses={k: v for k, v in catalog.STATUSES.items() if k in catalog.SETTABLE_STATUSES},
    ), status


def _posted() -> dict[str, str]:
    """The entry fields of the submitted form."""
    return {field: request.form.get(field, "") for field in ENTRY_FIELDS}


@bp.route("/enterprises/new", methods=["GET", "POST"])
@requires("enterprise.maintain")
def new() -> ResponseReturnValue:
    """录入招引企业: staff of a unit add their unit's entries, the office any unit's; nothing is stored on error."""
    with db().session() as s:
        me = official(s)
        if request.method == "GET":
            return _form_page(s, me, {"source_unit_id": str(me.unit_id), "status": "pending"}, {}, None, 200)
    try:
        with db().session() as s:
            entry_id = catalog.create(s, _posted(), official(s)).id
    except NotAllowed:
        abort(403)
    except InvalidInput as exc:
        with db().session() as s:
            return _form_page(s, official(s), request.form, exc.errors, None, 422)
    flash("已录入招引企业", "success")
    return redirect(url_for("enterprises.detail", entry_id=entry_id), 303)


@bp.route("/enterprises/<int:entry_id>")
@signed_in
def detail(entry_id: int) -> ResponseReturnValue:
    """All fields of an entry, its project when converted, and its history from the event log."""
    return _detail_page(entry_id, "", 200)


def _detail_page(entry_id: int, error: str, status: int) -> ResponseReturnValue:
    """The entry page, with an error line when an action on it was refused."""
    with db().session() as s:
        me = official(s)
        entry = _entry(s, entry_id)
        return render_template(
            "enterprises/detail.html", entry=entry, history=catalog.history(s, entry_id), error=error,
            may_edit=catalog.may_maintain(me, entry.source_unit_id), kinds=catalog.LIST_KINDS,
            statuses=catalog.STATUSES,
        ), status


@bp.route("/enterprises/<int:entry_id>/edit", methods=["GET", "POST"])
@requires("enterprise.maintain")
def edit(entry_id: int) -> ResponseReturnValue:
    """Edit an entry of one's own unit (any entry for the office); other units' entries are read-only."""
    with db().session() as s:
        me = official(s)
        entry = _entry(s, entry_id)
        if not catalog.may_maintain(me, entry.source_unit_id):
            abort(403)
        if request.method == "GET":
            values = {f: "" if getattr(entry, f) is None else str(getattr(entry, f)) for f in ENTRY_FIELDS}
            return _form_page(s, me, values, {}, entry, 200)
    try:
        with db().session() as s:
            catalog.edit(s, entry_id, _posted(), official(s))
    except NotAllowed:
        abort(403)
    except InvalidInput as exc:
        with db().session() as s:
            return _form_page(s, official(s), request.form, exc.errors, _entry(s, entry_id), 422)
    flash("已保存修改", "success")
    return redirect(url_for("enterprises.detail", entry_id=entry_id), 303)


def _lead_page(session: Session, entry: EnterpriseEntry, values: Any, errors: dict[str, str], status: int) -> ResponseReturnValue:
    """The lead form of an entry with its choices and any errors."""
    return render_template("enterprises/lead.html", entry=entry, values=values, errors=errors,
                           **form_options(session)), status


@bp.route("/enterprises/<int:entry_id>/lead", methods=["GET", "POST"])
@requires("enterprise.maintain")
def lead(entry_id: int) -> ResponseReturnValue:
    """转为项目线索: the registration form prefilled from the entry; on success the lifecycle starts and both are linked."""
    with db().session() as s:
        me = official(s)
        entry = _entry(s, entry_id)
        if not catalog.may_maintain(me, entry.source_unit_id):
            abort(403)
        if entry.status == "converted":
            return _detail_page(entry_id, catalog.converted_message(entry), 409)
        if request.method == "GET":
            return _lead_page(s, entry, catalog.lead_defaults(entry), {}, 200)
    data = {field: request.form.get(field, "") for field in catalog.LEAD_FIELDS}
    try:
        with db().session() as s:
            project_id = catalog.convert_to_lead(s, entry_id, data, official(s)).project_id
    except NotAllowed:
        abort(403)
    except AlreadyCompleted as exc:
        return _detail_page(entry_id, exc.message, 409)
    except InvalidInput as exc:
        with db().session() as s:
            return _lead_page(s, _entry(s, entry_id), request.form, exc.errors, 422)
    flash("已转为项目线索，项目全生命周期流程已启动", "success")
    return redirect(url_for("projects.project_page", project_id=project_id), 303)


def _import_page(preview: Any, token: str, errors: dict[str, str], status: int) -> ResponseReturnValue:
    """The import page: upload form, preview table, confirmation when every row is fine."""
    return render_template("enterprises/import.html", preview=preview, token=token, errors=errors,
                           headers=list(catalog.IMPORT_HEADERS), required=catalog.REQUIRED_HEADERS), status


@bp.route("/enterprises/import", methods=["GET", "POST"])
@requires("enterprise.maintain")
def import_entries() -> ResponseReturnValue:
    """Upload an .xlsx: a preview with an error per row naming the column and duplicates; confirm stores all rows or none."""
    if request.method == "GET":
        return _import_page(None, "", {}, 200)
    return uploads.handle(IMPORT)


def _imported(ids: list[int]) -> ResponseReturnValue:
    flash(f"已导入{len(ids)}家招引企业", "success")
    return redirect(url_for("enterprises.listing"), 303)


IMPORT = uploads.ImportFlow("enterprises", catalog.preview_import, catalog.commit_import, _import_page, _imported,
                            "enterprises.import_entries")


@bp.route("/enterprises/tags", methods=["GET", "POST"])
@signed_in
def tags() -> ResponseReturnValue:
    """The "1+3+3" industry tags with their use; the office adds a tag here."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            with db().session() as s:
                tag = catalog.add_tag(s, official(s), request.form)
                flash(f"已新增产业标签“{tag.name}”", "success")
            return redirect(url_for("enterprises.tags"), 303)
        except NotAllowed:
            abort(403)
        except InvalidInput as exc:
            errors = exc.errors
    return _tags_page(errors, None, 422 if errors else 200)


def _tags_page(errors: dict[str, str], failed_tag: Optional[int], status: int) -> ResponseReturnValue:
    """The tag list, with errors beside the tag whose change was refused."""
    with db().session() as s:
        return render_template("enterprises/tags.html", tags=catalog.tags(s), usage=catalog.tag_usage(s),
                               errors=errors, failed_tag=failed_tag, categories=record.CATEGORIES,
                               values=request.form if errors else {}), status


@bp.route("/enterprises/tags/<int:tag_id>", methods=["POST"])
@requires("enterprise.manage")
def tag_update(tag_id: int) -> ResponseReturnValue:
    """The office renames, regroups, deactivates or reactivates a tag."""
    try:
        with db().session() as s:
            tag = catalog.update_tag(s, official(s), tag_id, request.form)
            flash(f"已保存产业标签“{tag.name}”", "success")
    except NotAllowed:
        abort(403)
    except NotFound:
        abort(404)
    except InvalidInput as exc:
        return _tags_page(exc.errors, tag_id, 422)
    return redirect(url_for("enterprises.tags"), 303)


@bp.route("/enterprises/tags/<int:tag_id>/delete", methods=["POST"])
@requires("enterprise.manage")
def tag_delete(tag_id: int) -> ResponseReturnValue:
    """The office deletes an unused tag; a tag in use is refused with the advice to deactivate it."""
    try:
        with db().session() as s:
            catalog.delete_tag(s, official(s), tag_id)
    except NotAllowed:
        abort(403)
    except NotFound:
        abort(404)
    except InvalidInput as exc:
        return _tags_page(exc.errors, tag_id, 422)
    flash("已删除产业标签", "success")
    return redirect(url_for("enterprises.tags"), 303)
