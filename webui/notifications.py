"""Notification centre: the header bell with the unread count, the list, mark read, delivery addresses."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from engine.platform import notifications
from engine.platform.errors import InvalidInput, NotFound

from .guard import signed_in
from .params import int_arg
from .services import db

bp = Blueprint("notifications", __name__)
HEADER = ["notifications/bell.html"]
PER_PAGE = 30


@bp.app_context_processor
def bell() -> dict[str, Any]:
    """`unread_notifications()` for the header bell (one indexed count, only when the bell is drawn)."""

    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        with db().session() as s:
            return notifications.unread_count(s, int(current_user.get_id()))

    return {"unread_notifications": unread_notifications}


def _local_link(link: str) -> str:
    """A notification's target, if it is a path inside this site (never an outside address)."""
    parts = urlsplit(link)
    local = link.startswith("/") and not link.startswith("//") and "\\" not in link and not parts.scheme and not parts.netloc
    return link if local else url_for("notifications.index")


@bp.route("/notifications")
@signed_in
def index() -> ResponseReturnValue:
    """My notifications, newest first; unread ones marked."""
    page = int_arg("page") or 1
    unread_only = request.args.get("unread") == "1"
    uid = int(current_user.get_id())
    with db().session() as s:
        rows = notifications.inbox(s, uid, PER_PAGE + 1, (page - 1) * PER_PAGE, unread_only)
        unread = notifications.unread_count(s, uid)
        address = s.get(notifications.NotifyAddress, uid)
    return render_template(
        "notifications/index.html", rows=rows[:PER_PAGE], more=len(rows) > PER_PAGE, page=page, unread=unread,
        unread_only=unread_only, address=address, errors={},
    )


@bp.route("/notifications/unread.json")
@signed_in
def unread_json() -> ResponseReturnValue:
    """The bell's number, polled by the page."""
    with db().session() as s:
        return jsonify(unread=notifications.unread_count(s, int(current_user.get_id())))


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
@signed_in
def open_one(notification_id: int) -> ResponseReturnValue:
    """Mark one notification read and go to what it is about."""
    uid = int(current_user.get_id())
    with db().session() as s:
        row = s.get(notifications.Notification, notification_id)
        if row is None or row.user_id != uid:
            abort(404)
        notifications.mark_read(s, uid, notification_id)
        target = _local_link(row.link)
    return redirect(target, 303)


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@signed_in
def read_one(notification_id: int) -> ResponseReturnValue:
    """Mark one of my notifications read."""
    try:
        with db().session() as s:
            notifications.mark_read(s, int(current_user.get_id()), notification_id)
    except NotFound:
        abort(404)
    return redirect(url_for("notifications.index"), 303)


@bp.route("/notifications/read-all", methods=["POST"])
@signed_in
def read_all() -> ResponseReturnValue:
    """Mark all my notifications read."""
    with db().session() as s:
        count = notifications.mark_read(s, int(current_user.get_id()))
    flash(_("已将 %(count)s 条通知标为已读", count=count), "success")
    return redirect(url_for("notifications.index"), 303)


@bp.route("/notifications/address", methods=["POST"])
@signed_in
def address() -> ResponseReturnValue:
    """Save where I receive e-mail and work-messenger notifications."""
    uid = int(current_user.get_id())
    try:
        with db().session() as s:
            notifications.save_address(s, uid, request.form.get("email", ""), request.form.get("messenger_id", ""))
    except InvalidInput as exc:
        with db().session() as s:
            rows = notifications.inbox(s, uid, PER_PAGE)
            unread = notifications.unread_count(s, uid)
        typed = notifications.NotifyAddress(user_id=uid, email=request.form.get("email", ""),
                                            messenger_id=request.form.get("messenger_id", ""))
        return render_template("notifications/index.html", rows=rows, more=False, page=1, unread=unread,
                               unread_only=False, address=typed, errors=exc.errors), 422
    flash(_("接收方式已保存"), "success")
    return redirect(url_for("notifications.index"), 303)
