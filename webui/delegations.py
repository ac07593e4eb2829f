"""我的委托: the tasks an official handed to colleagues (a leave period or single tasks) and those handed to them; give and take back."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine.platform import inputs
from engine.platform.clock import local_today
from engine.platform.errors import InvalidInput, NotAllowed, NotFound
from engine.platform.models import User
from engine.workflow import handover

from .auth import official
from .guard import signed_in
from .i18n import translated
from .services import db

bp = Blueprint("delegations", __name__)


def _page(status: int = 200, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> ResponseReturnValue:
    """The page with the official's delegations both ways and the form for a leave period."""
    with db().session() as s:
        me = official(s)
        listing = handover.listing(s, me)
        colleagues = handover.colleagues(s, me)
    return render_template("delegations/index.html", listing=listing, colleagues=colleagues, errors=errors or {},
                           values=values or {}, today=local_today()), status


@bp.route("/delegations")
@signed_in
def index() -> ResponseReturnValue:
    """我的委托."""
    return _page()


@bp.route("/delegations", methods=["POST"])
@signed_in
def create() -> ResponseReturnValue:
    """Delegate all the official's own tasks for a leave period (from–to, county days) to a colleague."""
    form = request.form.to_dict()
    errors: dict[str, str] = {}
    first = inputs.day(form.get("first"), "first", _("开始日期"), errors, required=True)
    last = inputs.day(form.get("last"), "last", _("结束日期"), errors, required=True)
    delegate_id = inputs.whole_number(form.get("delegate_id", "")) or 0
    if not delegate_id:
        errors["delegate_id"] = _("请选择受托人")
    if errors:
        return _page(422, errors, form)
    try:
        with db().session() as s:
            row = handover.delegate_period(s, delegate_id, first, last, official(s), form.get("reason", ""))
            name = s.get_one(User, row.delegate_id).display_name
    except handover.Refused as exc:
        return _page(422, {"_form": exc.message}, form)
    except InvalidInput as exc:
        return _page(422, exc.errors, form)
    flash(_("%(first)s至%(last)s期间，您的待办由%(name)s代为办理；期满自动交还，也可随时收回", first=first, last=last, name=name),
          "success")
    return redirect(url_for("delegations.index"), 303)


@bp.route("/delegations/<int:delegation_id>/revoke", methods=["POST"])
@signed_in
def revoke(delegation_id: int) -> ResponseReturnValue:
    """Take a delegation back (its delegator or an administrator); back to the page the form was on."""
    try:
        with db().session() as s:
            row = handover.revoke(s, delegation_id, official(s))
            task_id = row.task_id
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    except handover.Refused as exc:
        flash(translated(exc.message), "error")
        return redirect(url_for("delegations.index"), 303)
    flash(_("已收回委托"), "success")
    if task_id is not None and request.form.get("back") == "task":
        return redirect(url_for("tasks.task_page", task_id=task_id), 303)
    return redirect(url_for("delegations.index"), 303)
