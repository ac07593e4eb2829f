"""季度赛拼 and annual assessment rankings with explained scores, the scoring rules, monthly notices, Excel in and out."""
from __future__ import annotations

from typing import Any, Optional


from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session

from engine.supervision import assessment, notices, rankings
from engine.projects import excel, queries
from engine.supervision import excel as supervision_excel
from engine.platform import clock, paging, permissions
from engine.platform.inputs import whole_number
from engine.platform.errors import ConcurrentUpdate, InvalidInput, NotAllowed, NotFound
from engine.platform.models import User
from engine.platform.xlsx import ImportPreview
from engine.supervision.models import MonthlyNotice, PublishedRanking

from . import uploads
from .guard import requires, signed_in
from .auth import official
from .params import int_arg, required_number, year_arg
from .services import db

bp = Blueprint("assessment", __name__)
NAV = [(60, "赛拼考核", "assessment.ranking", None), (65, "每月通报", "assessment.notice_list", None)]
LINES_PER_PAGE = 200  # a unit's explained lines per page: a town's busy year runs to thousands
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"



def _period() -> tuple[int, int]:
    """(year, quarter) from the query string; quarter 0 means the whole year."""
    quarter = request.args.get("quarter")
    return year_arg(), _quarter(quarter if quarter is not None else str((clock.local_today().month - 1) // 3 + 1))


def _quarter(text: str) -> int:
    """A quarter 1–4, or 0 for the whole year; 400 for anything else."""
    quarter = required_number(text)
    if quarter > 4:
        abort(400)
    return quarter


def _ranking(session: Session, year: int, quarter: int,
             explain: assessment.Explain = ()) -> tuple[list[assessment.UnitScore], Optional[PublishedRanking]]:
    """The finalised edition when there is one, else live; `?live=1` asks for the live trial under the current rules.

    Only the units `explain` names get their explained lines.
    """
    if request.args.get("live") == "1":
        return rankings.live(session, year, quarter, explain), None
    return rankings.ranking(session, year, quarter, explain)


def _caption(year: int, quarter: int) -> str:
    return f"{year}年度招商引资综合考评排名" if quarter == 0 else f"{year}年第{quarter}季度招商引资赛拼排名"


def _xlsx(content: bytes, name: str) -> Response:
    from urllib.parse import quote

    return Response(content, mimetype=XLSX, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@bp.route("/assessment")
@signed_in
def ranking() -> ResponseReturnValue:
    """Ranking table of a quarter (季度赛拼) or the year (with 一票评优/一票否优), frozen once finalised."""
    year, quarter = _period()
    return _ranking_page(year, quarter, {}, 200)


def _ranking_page(year: int, quarter: int, errors: dict[str, str], status: int) -> ResponseReturnValue:
    with db().session() as s:
        me = official(s)
        rows, published = _ranking(s, year, quarter)
        cells = supervision_excel.ranking_cells(rows)
        ids = [r.unit_id for r in rows]
        county = permissions.allowed(me, "supervision.view_county")
        version = assessment.deployed(s)[1]
        history = [(e.edition, e.published_at, s.get_one(User, e.published_by).display_name, e.rule_version, e.reason)
                   for e in rankings.editions(s, year, quarter)]
        changed = published is not None and _totals(rankings.live(s, year, quarter)) != _totals(rows)
    ended = rankings.period_range(year, quarter)[1] < clock.local_today()
    return render_template("assessment/ranking.html", year=year, quarter=quarter, rows=list(zip(ids, cells)),
                           headers=supervision_excel.RANKING_HEADERS, caption=_caption(year, quarter), county=county,
                           my_unit=current_user.unit_id, version=version, published=published, history=history,
                           changed=changed, live=request.args.get("live") == "1", ended=ended,
                           errors=errors), status


def _totals(rows: list[assessment.UnitScore]) -> dict[int, float]:
    return {r.unit_id: r.total for r in rows}


@bp.route("/assessment/publish", methods=["POST"])
@requires("ranking.publish")
def publish() -> ResponseReturnValue:
    """The office finalises (定稿) a closed period; finalising again needs a reason."""
    if not request.form.get("year"):
        abort(400)
    year, quarter = year_arg(), _quarter(request.form.get("quarter", ""))
    try:
        with db().session() as s:
            edition = rankings.publish(s, official(s), year, quarter, request.form.get("reason", ""))
            number = edition.edition
    except NotAllowed:
        abort(403)
    except InvalidInput as exc:
        return _ranking_page(year, quarter, exc.errors, 422)
    except ConcurrentUpdate as exc:
        return _ranking_page(year, quarter, {"quarter": exc.message}, 409)
    flash(f"{rankings.period_label(year, quarter)}考核排名已定稿（第{number}版）", "success")
    return redirect(url_for("assessment.ranking", year=year, quarter=quarter), 303)


@bp.route("/assessment/export.xlsx")
@signed_in
def ranking_export() -> ResponseReturnValue:
    """The ranking as .xlsx (with the explained lines on a second sheet for county roles)."""
    year, quarter = _period()
    with db().session() as s:
        me = official(s)
        detail = None if permissions.allowed(me, "supervision.view_county") else {me.unit_id}
        rows = _ranking(s, year, quarter, "all" if detail is None else detail)[0]
        content = supervision_excel.ranking_xlsx(rows, _caption(year, quarter), detail)
    return _xlsx(content, f"{_caption(year, quarter)}.xlsx")


@bp.route("/assessment/units/<int:unit_id>")
@signed_in
def unit_score(unit_id: int) -> ResponseReturnValue:
    """Every point of a unit in the period: project, rule, points, date."""
    year, quarter = _period()
    with db().session() as s:
        me = official(s)
        if not permissions.allowed(me, "supervision.view_county") and me.unit_id != unit_id:
            abort(403)
        rows = _ranking(s, year, quarter, {unit_id})[0]
        score = next((r for r in rows if r.unit_id == unit_id), None)
        if score is None:
            abort(404)
    number = paging.page_number(int_arg("page") or 1, LINES_PER_PAGE, len(score.lines))
    page = paging.Page(score.lines[(number - 1) * LINES_PER_PAGE:number * LINES_PER_PAGE], len(score.lines), number, LINES_PER_PAGE)
    return render_template("assessment/unit.html", score=score, page=page, year=year, quarter=quarter, caption=_caption(year, quarter))


@bp.route("/assessment/rules", methods=["GET", "POST"])
@signed_in
def rules() -> ResponseReturnValue:
    """The scoring table (bpmn/assessment_scoring.dmn as deployed); the office changes points, a new version is deployed."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        changes = {k.removeprefix("points_"): v for k, v in request.form.items() if k.startswith("points_")}
        try:
            with db().session() as s:
                version, created = assessment.update_points(s, official(s), changes)
            flash(f"计分规则已保存为第{version}版" if created else "分值未变化", "success")
            return redirect(url_for("assessment.rules"), 303)
        except NotAllowed:
            abort(403)
        except InvalidInput as exc:
            errors = exc.errors
    with db().session() as s:
        version, table = assessment.rule_table(s)
    return render_template("assessment/rules.html", version=version, rules=table, errors=errors,
                           events=assessment.EVENT_LABELS, classes=assessment.CLASS_LABELS), 422 if errors else 200


def _generated(year: int, month: int) -> bool:
    """Generate (or regenerate) a month's notice; False when year and month name no real month."""
    if not 1 <= month <= 12:
        return False
    try:
        with db().session() as s:
            notices.generate(s, year, month)
    except (ValueError, InvalidInput):
        return False
    return True


@bp.route("/notices", methods=["GET", "POST"])
@signed_in
def notice_list() -> ResponseReturnValue:
    """Generated monthly notices; the office can (re)generate a month."""
    if request.method == "POST":
        with db().session() as s:
            if not permissions.allowed(official(s), "notice.generate"):
                abort(403)
        year, month = whole_number(request.form.get("year", "")), whole_number(request.form.get("month", ""))
        if year is None or month is None or not _generated(year, month):
            flash("年份或月份(month)无效", "error")
            return redirect(url_for("assessment.notice_list"), 303)
        return redirect(url_for("assessment.notice_page", year=year, month=month), 303)
    with db().session() as s:
        page = notices.listing(s, int_arg("page") or 1)
    return render_template("assessment/notices.html", page=page, today=clock.local_today())


def _notice_rows(session: Session, year: int, month: int) -> tuple[MonthlyNotice, list[Any]]:
    me = official(session)
    try:
        notice = notices.get(session, year, month)
    except NotFound:
        abort(404)
    rows = notice.rows if permissions.allowed(me, "supervision.view_county") else [r for r in notice.rows if r["unit_id"] == me.unit_id]
    return notice, rows


@bp.route("/notices/<int:year>/<int:month>")
@signed_in
def notice_page(year: int, month: int) -> ResponseReturnValue:
    """A monthly notice, printable; every count links to the projects behind it."""
    with db().session() as s:
        notice, rows = _notice_rows(s, year, month)
        generated = notice.generated_at
    return render_template("assessment/notice.html", year=year, month=month, rows=rows, columns=notices.COLUMNS, generated=generated)


@bp.route("/notices/<int:year>/<int:month>.xlsx")
@signed_in
def notice_export(year: int, month: int) -> ResponseReturnValue:
    """The monthly notice as .xlsx: the same rows the page shows."""
    with db().session() as s:
        notice, rows = _notice_rows(s, year, month)
        notice.rows = rows
        content = supervision_excel.notice_xlsx(notice)
        s.expunge(notice)
    return _xlsx(content, f"{year}年{month}月招商引资工作通报.xlsx")


@bp.route("/ledger.xlsx")
@signed_in
def ledger_export() -> ResponseReturnValue:
    """The project ledger as .xlsx (a unit gets its own projects)."""
    with db().session() as s:
        official(s)  # a disabled account gets a 403
        content = excel.ledger_xlsx(s, queries.visible_unit_for(current_user))
    return _xlsx(content, "招商引资项目台账.xlsx")


@bp.route("/import", methods=["GET", "POST"])
@requires("project.import")
def import_projects() -> ResponseReturnValue:
    """Upload an .xlsx of leads: preview with an error per row; confirm registers all rows or none."""
    if request.method == "GET":
        return render_template("assessment/import.html", preview=None, token="")
    return uploads.handle(IMPORT)


def _import_page(preview: Optional[ImportPreview], token: str, errors: dict[str, str], status: int) -> ResponseReturnValue:
    return render_template("assessment/import.html", preview=preview, token=token, errors=errors), status


def _imported(ids: list[int]) -> ResponseReturnValue:
    flash(f"已导入{len(ids)}个项目线索", "success")
    return redirect(url_for("projects.ledger"), 303)


IMPORT = uploads.ImportFlow("projects", lambda s, content, _actor: excel.preview(s, content), excel.commit, _import_page,
                            _imported, "assessment.import_projects")
