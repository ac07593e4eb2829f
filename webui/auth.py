"""Sign-in and sign-out with hashed passwords and a lockout after repeated failures."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from sqlalchemy import select

from engine.models import User, utcnow
from engine.org import verify_password

from .services import db

bp = Blueprint("auth", __name__)
WRONG = "用户名或密码错误"


class SignedInUser(UserMixin):
    """The session's view of an official: id, name and roles, detached from the database."""

    def __init__(self, user: User) -> None:
        self.id = user.id
        self.username = user.username
        self.display_name = user.display_name
        self.unit_id = user.unit_id
        self.roles = frozenset(user.roles)


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    """Show the sign-in form; on POST check the password and count failures."""
    if current_user.is_authenticated:
        return redirect(url_for("tasks.inbox"))
    if request.method == "GET":
        return render_template("auth/login.html")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    with db().session() as s:
        user = s.scalars(select(User).where(User.username == username)).first()
        now = utcnow()
        if user is not None and user.locked_until and user.locked_until.replace(tzinfo=now.tzinfo) > now:
            flash("该账号因多次登录失败已被临时锁定，请稍后再试", "error")
            return render_template("auth/login.html", username=username), 429
        if user is None or not user.active or not verify_password(user, password):
            if user is not None:
                user.failed_logins += 1
                if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
                    user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
                    user.failed_logins = 0
            flash(WRONG, "error")
            return render_template("auth/login.html", username=username), 401
        user.failed_logins, user.locked_until = 0, None
    login_user(SignedInUser(user))
    return redirect(url_for("tasks.inbox"))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():  # type: ignore[no-untyped-def]
    """Sign out (POST, so it carries the CSRF token)."""
    logout_user()
    flash("已退出登录", "info")
    return redirect(url_for("auth.login"))
