"""Flask app factory: sign-in, CSRF on every form, the web edge (proxy headers, cookie flags, body limit, security headers), blueprints that call the engine only."""
from __future__ import annotations

import importlib
import pkgutil
import secrets
from pathlib import Path
from typing import Any, Optional

from flask import Flask, Response, render_template
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from engine import wiring
from engine.platform.config import PROJECT_ROOT, Settings
from engine.platform import clock, permissions
from engine.platform.db import Database
from engine.platform.models import User

from . import auth

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录"

# Scripts only from our own files (no inline script, no eval); bpmn-js and dmn-js set inline
# styles and embed their icon font and logo as data: URLs; nothing may frame the pages.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class CompiledTemplates(BytecodeCache):
    """Templates compiled once per process: every app built in it (each test's, a worker's after a reload) reuses the
    code instead of compiling every template again (Jinja checks each template's source before using its code)."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


def _secret_key(settings: Settings, instance_path: Path) -> str:
    """A per-installation secret kept under instance/ (or ZHIKONG_SECRET_KEY)."""
    if settings.secret_key:
        return settings.secret_key
    path = instance_path / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _register_modules(app: Flask) -> None:
    """Register every webui module that defines `bp`, collecting its NAV entries and HEADER snippets.

    NAV is a list of (order, label, endpoint, the policy action that shows the entry, or None
    for every official); HEADER a list of template names included in the page header (for
    example a notification bell).
    """
    nav: list[tuple[int, str, str, Optional[str]]] = []
    header: list[str] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "bp"):
            app.register_blueprint(module.bp)
            nav.extend(getattr(module, "NAV", []))
            header.extend(getattr(module, "HEADER", []))
    nav.sort()

    @app.context_processor
    def navigation() -> dict[str, Any]:
        if not current_user.is_authenticated:
            return {"nav_items": [], "header_snippets": []}
        items = [(label, ep) for _o, label, ep, action in nav if action is None or permissions.allowed(current_user, action)]
        return {"nav_items": items, "header_snippets": header}


def _edge_config(settings: Settings) -> dict[str, Any]:
    """Cookie flags, the request-body limit, trusted proxies and the sign-in throttle, from the settings."""
    return {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": settings.secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": settings.secure_cookies,
        "MAX_CONTENT_LENGTH": settings.max_content_length,
        "PROXY_COUNT": settings.proxy_count,
        "LOGIN_MAX_FAILURES": 10,
        "LOGIN_MAX_ADDRESS_FAILURES": 50,
        "LOGIN_WINDOW_MINUTES": 15,
        "LOGIN_LOCK_MINUTES": 15,
    }


def _harden(app: Flask) -> None:
    """Trust X-Forwarded-For/-Proto from PROXY_COUNT proxies only (none by default), and send the security headers on every response."""
    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]  # Flask documents this replacement; its types call wsgi_app a method

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def create_app(test_config: Optional[dict[str, Any]] = None) -> Flask:
    """Build the web application; `test_config` overrides settings in tests."""
    wiring.install()
    app = Flask(__name__, instance_path=str(PROJECT_ROOT / "instance"))
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    settings = Settings.load()
    clock.use_zone(settings.timezone)
    app.config.update(DATABASE_URL=settings.database_url, METRICS_TOKEN=settings.metrics_token,
                      HEARTBEAT_MAX_AGE=settings.heartbeat_max_age, ATTACHMENTS_DIR=str(settings.attachments_dir),
                      ATTACHMENT_MAX_BYTES=settings.attachment_max_bytes, **_edge_config(settings))
    if test_config:
        app.config.update(test_config)
    _harden(app)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(settings, Path(app.instance_path))
    db = app.config.get("ZHIKONG_DB") or Database(app.config["DATABASE_URL"])
    app.extensions["zhikong_db"] = db
    csrf.init_app(app)
    login_manager.init_app(app)

    @login_manager.user_loader
    def load_user(user_id: str) -> Optional[auth.SignedInUser]:
        with db.session() as s:
            user = s.scalars(select(User).where(User.id == int(user_id)).options(joinedload(User.unit), joinedload(User.role_rows))).unique().first()
            return auth.SignedInUser(user) if user is not None and user.active else None

    _register_modules(app)

    @app.errorhandler(403)
    @app.errorhandler(404)
    def error_page(error: HTTPException) -> ResponseReturnValue:
        assert error.code is not None  # registered for these codes only
        return render_template("error.html", error=error), error.code

    return app
