"""Sign-in and sign-out with hashed passwords; repeated failures lock a (username, address) pair through engine.login_throttle."""
from __future__ import annotations

from datetime import timedelta
from typing import Optional
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, login_user, logout_user
from sqlalchemy.orm import Session

from engine.platform import login_throttle
from engine.platform.models import User

from .guard import public, signed_in
from .services import db

bp = Blueprint("auth", __name__)


class SignedInUser(UserMixin):
    """The session's view of an official: id, name, unit, status and roles, detached from the database (a permissions.Official)."""

    def __init__(self, user: User) -> None:
        self.id = user.id
        self.username = user.username
        self.display_name = user.display_name
        self.title = user.title
        self.unit_id = user.unit_id
        self.unit_name = user.unit.name
        self.active = user.active
        self.roles = frozenset(user.roles)
        self.row = user


def official(session: Session) -> User:
    """The signed-in official as a database row in `session` (403 if the account is gone or disabled).

    The row the request's sign-in check loaded, unit and roles with it, joins `session` as it was
    read then, with no second query.
    """
    row: Optional[User] = getattr(current_user, "row", None)
    user = session.merge(row, load=False) if row is not None else None
    if user is None or not user.active:
        abort(403)
    return user


def _safe_next(target: Optional[str]) -> str:
    """Only a local path may be the page to return to after sign-in (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("tasks.inbox")


def _limits() -> login_throttle.Limits:
    """The throttle limits of this app (LOGIN_* settings)."""
    config = current_app.config
    return login_throttle.Limits(
        pair_failures=config["LOGIN_MAX_FAILURES"],
        address_failures=config["LOGIN_MAX_ADDRESS_FAILURES"],
        window=timedelta(minutes=config["LOGIN_WINDOW_MINUTES"]),
        lock=timedelta(minutes=config["LOGIN_LOCK_MINUTES"]),
    )


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    """Show the sign-in form; on POST count the attempt, then check the password (same answer for any username)."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    if request.method == "GET":
        return render_template("auth/login.html")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    attempt = login_throttle.sign_in(db(), username, password, request.remote_addr, _limits())
    if attempt.locked:
        flash(_("登录失败次数过多，已暂时锁定，请 %(minutes)s 分钟后再试", minutes=current_app.config["LOGIN_LOCK_MINUTES"]), "error")
        return render_template("auth/login.html", username=username), 429
    if not attempt.ok:
        flash(_("用户名或密码错误"), "error")
        return render_template("auth/login.html", username=username), 401
    with db().session() as s:
        signed_in = SignedInUser(s.get_one(User, attempt.user_id))
    login_user(signed_in)
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
@signed_in
def logout() -> ResponseReturnValue:
    """Sign out (POST, so it carries the CSRF token)."""
    logout_user()
    flash(_("已退出登录"), "info")
    return redirect(url_for("auth.login"))
