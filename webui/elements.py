"""要素保障 pages: the industrial fund ledger and the land ledger, their record forms, settings and Excel exports."""
from __future__ import annotations

from decimal import Decimal
from collections.abc import Callable
from typing import Any, Optional
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from engine.platform import clock
from engine.elements import common, fund, land
from engine.elements.models import LandRevitalisation, LandSupply
from engine.platform.errors import EngineError, InvalidInput, NotAllowed
from engine.platform.models import User

from .guard import requires
from .params import int_arg, search_arg, year_arg
from .auth import official
from .i18n import translated
from .services import db

bp = Blueprint("elements", __name__)
NAV = [(75, "要素保障", "elements.overview", "elements.view")]  # the ledgers name every unit's projects and amounts
WAITING_SHOWN = 100  # waiting projects listed (and offered for a supply record) on the land page; the export has them all
WARNINGS_SHOWN = 20  # fund warnings listed on a page, with how many there are; the export has them all
PAYABLE_SHOWN = 100  # projects offered for a disbursement; a search by name finds the others
LINES_PER_PAGE = 50
PAID_PER_PAGE = 50
RECORDS_PER_PAGE = 50  # land supply and revitalisation records a page
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx(content: bytes, name: str) -> Response:
    """An .xlsx download with a UTF-8 file name."""
    return Response(content, mimetype=XLSX, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@bp.context_processor
def formats() -> dict[str, Any]:
    """Helpers for this blueprint's templates: a percentage as officials write it (50%, 47.5%, — for none), and
    `fund_url(paid_page=2)` / `land_url(page=2)`, a ledger page's URL with the current query arguments (and the land page's
    year) and some changed, also when a refused form is answered."""
    def percent(value: Optional[Decimal]) -> str:
        return "—" if value is None else f"{common.fmt(value)}%"

    def page_url(endpoint: str, changes: dict[str, Any]) -> str:
        args = {**request.args.to_dict(), **changes}
        return url_for(endpoint, **{key: value for key, value in args.items() if value not in (None, "")})

    def fund_url(**changes: Any) -> str:
        return page_url("elements.fund_page", changes)

    def land_url(**changes: Any) -> str:
        return page_url("elements.land_page", {"year": year_arg(), **changes})

    return {"percent": percent, "fund_url": fund_url, "land_url": land_url}


@bp.route("/elements")
@requires("elements.view")
def overview() -> ResponseReturnValue:
    """Both ledgers' totals and warnings on one page."""
    year = clock.local_today().year
    with db().session() as s:
        fund_ledger = fund.ledger(s, alert_limit=WARNINGS_SHOWN)
        land_year = land.year_ledger(s, year, waiting_limit=0)
    return render_template("elements/overview.html", fund=fund_ledger, land=land_year)


def _fund_page(errors: dict[str, str], values: dict[str, Any], status: int, void_error: str = "") -> ResponseReturnValue:
    """The fund ledger page, with the disbursement form's errors and values (or a refused void's reason).

    Each list is a page of its own (`page`, `paid_page`, `voided_page`); `q` narrows the ledger
    and the projects offered for a disbursement to names containing it.
    """
    search = search_arg()
    with db().session() as s:
        shown = fund.view(s, int_arg("page") or 1, LINES_PER_PAGE, search, WARNINGS_SHOWN, PAYABLE_SHOWN)
        paid = fund.disbursements(s, int_arg("paid_page") or 1, PAID_PER_PAGE)
        voided = fund.disbursements(s, int_arg("voided_page") or 1, PAID_PER_PAGE, voided=True)
    lines = shown.lines
    first = (lines.page - 1) * lines.per_page + 1
    return render_template("elements/fund.html", fund=shown.fund, lines=lines, cells=list(zip(lines.rows, fund.cells(lines.rows, first))),
                           headers=fund.HEADERS, money_columns=fund.MONEY_COLUMNS, paid=paid, voided=voided, search=search,
                           paid_headers=fund.DISBURSEMENT_HEADERS, payable=shown.payable, payable_total=shown.payable_total,
                           today=clock.local_today(), errors=errors, values=values, void_error=void_error), status


@bp.route("/elements/fund")
@requires("elements.view")
def fund_page() -> ResponseReturnValue:
    """产业基金台账: requests, commitments and disbursements a page at a time, with the fund's totals and warnings."""
    return _fund_page({}, {}, 200)


@bp.route("/elements/fund/disbursements", methods=["POST"])
@requires("elements.view")
def disburse() -> ResponseReturnValue:
    """The office records a disbursement; refused ones come back with the field named and nothing stored."""
    data = {key: request.form.get(key, "") for key in ("project_id", "paid_on", "amount", "note")}
    try:
        with db().session() as s:
            row = fund.record_disbursement(s, official(s), data)
            message = f"已登记拨付：{row.project.name} {common.fmt(row.amount)}万元"
    except NotAllowed:
        abort(403)
    except InvalidInput as exc:
        return _fund_page(exc.errors, data, 422)
    flash(message, "success")
    return redirect(url_for("elements.fund_page"), 303)


@bp.route("/elements/fund/disbursements/<int:row_id>/void", methods=["POST"])
@requires("elements.view")
def void_disbursement(row_id: int) -> ResponseReturnValue:
    """The office voids (冲销) a wrong disbursement record with a reason; it stops counting and stays listed."""
    try:
        with db().session() as s:
            fund.void_disbursement(s, official(s), row_id, request.form.get("reason", ""))
    except InvalidInput as exc:
        return _fund_page({}, {}, 422, exc.errors["reason"])
    except EngineError as exc:
        flash(translated(exc.message), "error")
        abort(exc.status)
    flash("已冲销该拨付记录，基金余额已恢复", "success")
    return redirect(url_for("elements.fund_page"), 303)


@bp.route("/elements/fund.xlsx")
@requires("elements.view")
def fund_export() -> ResponseReturnValue:
    """The fund ledger as .xlsx: every line and disbursement of the page's lists, and every warning."""
    with db().session() as s:
        content = fund.fund_xlsx(s)
    return _xlsx(content, "产业基金台账.xlsx")


def _land_page(year: int, errors: dict[str, str], values: dict[str, Any], form: Optional[str], status: int,
               void_error: str = "") -> ResponseReturnValue:
    """The land ledger of a year, with the refused form's errors and values (`form` names which form) or a refused void's reason."""
    with db().session() as s:
        land_year = land.year_ledger(s, year, waiting_limit=WAITING_SHOWN)
        view = dict(supplies=land.supplies(s, year, int_arg("page") or 1, RECORDS_PER_PAGE),
                    revitalised=land.revitalisations(s, year, int_arg("revitalised_page") or 1, RECORDS_PER_PAGE),
                    voided=[(land.record_label(r), common.describe(r), r.void_reason, r.voided_at) for r in land.voided(s, year)],
                    waiting=land.waiting_cells(land_year), options=[(w.project_id, w.name) for w in land_year.waiting])
    return render_template("elements/land.html", land=land_year, year=year, form=form, errors=errors, values=values, shown=WAITING_SHOWN,
                           supply_headers=land.SUPPLY_HEADERS, revitalise_headers=land.REVITALISE_HEADERS,
                           waiting_headers=land.WAITING_HEADERS, uses=land.USES,
                           today=clock.local_today(), void_error=void_error, **view), status


@bp.route("/elements/land")
@requires("elements.view")
def land_page() -> ResponseReturnValue:
    """土地要素台账 of a year: supply and industrial share, revitalisation and its plan, waiting projects."""
    return _land_page(year_arg(), {}, {}, None, 200)


def _record_land(form: str, fields: tuple[str, ...], action: Callable[[Session, User, dict[str, Any]], LandSupply | LandRevitalisation],
                 date_field: str, done: str) -> ResponseReturnValue:
    """Submit one land form through `action`; on success go to the record's year, else show the page with errors."""
    data = {key: request.form.get(key, "") for key in fields}
    try:
        with db().session() as s:
            row = action(s, official(s), data)
            year = getattr(row, date_field).year
    except NotAllowed:
        abort(403)
    except InvalidInput as exc:
        return _land_page(year_arg(), exc.errors, data, form, 422)
    flash(done, "success")
    return redirect(url_for("elements.land_page", year=year), 303)


@bp.route("/elements/land/supply", methods=["POST"])
@requires("elements.view")
def supply() -> ResponseReturnValue:
    """县自然资源和规划局 records land supplied."""
    return _record_land("supply", ("supplied_on", "parcel", "area_mu", "land_use", "project_id"), land.record_supply,
                        "supplied_on", "已登记供地记录")


@bp.route("/elements/land/revitalisation", methods=["POST"])
@requires("elements.view")
def revitalise() -> ResponseReturnValue:
    """县自然资源和规划局 records revitalised idle or low-efficiency land."""
    return _record_land("revitalise", ("done_on", "description", "area_mu"), land.record_revitalisation,
                        "done_on", "已登记盘活低效用地记录")


@bp.route("/elements/land/<kind>/<int:row_id>/void", methods=["POST"])
@requires("elements.view")
def void_land(kind: str, row_id: int) -> ResponseReturnValue:
    """县自然资源和规划局 voids (冲销) a wrong supply or revitalisation record with a reason."""
    if kind not in ("supply", "revitalisation"):
        abort(404)
    try:
        with db().session() as s:
            row = land.void_record(s, official(s), kind, row_id, request.form.get("reason", ""))
            year = (row.supplied_on if isinstance(row, LandSupply) else row.done_on).year
    except InvalidInput as exc:
        return _land_page(year_arg(), {}, {}, None, 422, exc.errors["reason"])
    except EngineError as exc:
        flash(translated(exc.message), "error")
        abort(exc.status)
    flash("已冲销该记录，本年度数字已更新", "success")
    return redirect(url_for("elements.land_page", year=year), 303)


@bp.route("/elements/land.xlsx")
@requires("elements.view")
def land_export() -> ResponseReturnValue:
    """The year's land ledger as .xlsx: every record of the page's lists and every waiting project."""
    year = year_arg()
    with db().session() as s:
        content = land.land_xlsx(s, land.year_ledger(s, year))
    return _xlsx(content, f"{year}年土地要素台账.xlsx")


@bp.route("/elements/settings", methods=["GET", "POST"])
@requires("elements.settings")
def settings() -> ResponseReturnValue:
    """要素保障设置 for the office: fund size, per-project cap, industrial share and revitalisation targets."""
    if request.method == "GET":
        with db().session() as s:
            values = {key: common.fmt(value) for key, value in common.get_all(s).items()}
        return render_template("elements/settings.html", specs=common.SPECS, values=values, errors={})
    submitted = {spec.key: request.form.get(spec.key, "") for spec in common.SPECS}
    try:
        with db().session() as s:
            common.update_settings(s, submitted, official(s))
            fund.scan(s)
    except NotAllowed:
        abort(403)
    except InvalidInput as exc:
        return render_template("elements/settings.html", specs=common.SPECS, values=submitted, errors=exc.errors), 422
    flash("要素保障设置已保存", "success")
    return redirect(url_for("elements.settings"), 303)
