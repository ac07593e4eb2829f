"""预警看板: lights per project, unit and deputy that refresh themselves; the office's warning settings."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from engine.supervision import lights, progress
from engine.platform import warning_settings
from engine.projects import queries
from engine.platform.errors import InvalidInput, NotAllowed

from .guard import requires, signed_in
from .auth import official
from .params import int_arg
from .services import db

bp = Blueprint("warnings", __name__)
NAV = [(25, "预警看板", "warnings.board", None)]
SORTS = ("days", "-days", "name")


def _board_context() -> dict[str, Any]:
    """The board as the signed-in official may see it, with the list filters and sort of the query string."""
    sort = request.args.get("sort", "days")
    sort = sort if sort in SORTS else "days"
    unit_filter, deputy_filter = int_arg("unit"), int_arg("deputy")
    visible = queries.visible_unit_for(current_user)
    now = datetime.now(timezone.utc)
    with db().session() as s:
        board = lights.board(s, now, {visible} if visible is not None else None, sort, unit_filter, deputy_filter, int_arg("page") or 1)
        settings = warning_settings.get_all(s)
        late = progress.late_updates(s, unit_id=visible)
    return dict(
        board=board,
        red=board.red,
        yellow=board.yellow,
        sort=sort,
        per_page=lights.BOARD_PAGE,
        unit_filter=unit_filter,
        deputy_filter=deputy_filter,
        refresh_seconds=settings["board_refresh_seconds"],
        late=late,
        thresholds=(settings["progress_yellow_days"], settings["progress_red_days"]),
        light_names=lights.LIGHT_NAMES,
    )


@bp.route("/warnings")
@signed_in
def board() -> ResponseReturnValue:
    """The full board page; its body refreshes itself from /warnings/live."""
    return render_template("warnings/board.html", **_board_context())


@bp.route("/warnings/live")
@signed_in
def live() -> ResponseReturnValue:
    """The board body alone, fetched by the page at the configured interval."""
    return render_template("warnings/_board.html", **_board_context())


def _submitted_settings() -> dict[str, Any]:
    """Every setting from the form; an unticked checkbox means “no”."""
    data: dict[str, Any] = {}
    for spec in warning_settings.SPECS:
        if spec.kind == "bool":
            data[spec.key] = spec.key in request.form
        elif spec.key in request.form:
            data[spec.key] = request.form[spec.key]
    return data


@bp.route("/warnings/settings", methods=["GET", "POST"])
@requires("warning_settings.edit")
def settings() -> ResponseReturnValue:
    """预警设置 for the office: thresholds, monthly days, notification channels."""
    if request.method == "GET":
        with db().session() as s:
            values = warning_settings.get_all(s)
        return render_template("warnings/settings.html", specs=warning_settings.SPEC_BY_KEY, values=values, errors={})
    submitted = _submitted_settings()
    try:
        with db().session() as s:
            warning_settings.update(s, submitted, official(s))
    except NotAllowed:
        abort(403)
    except InvalidInput as exc:
        with db().session() as s:
            values = {**warning_settings.get_all(s), **submitted}
        return render_template("warnings/settings.html", specs=warning_settings.SPEC_BY_KEY, values=values, errors=exc.errors), 422
    flash(_("预警设置已保存"), "success")
    return redirect(url_for("warnings.settings"), 303)
