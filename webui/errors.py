"""Error pages for the cases the app factory does not cover: expired forms, wrong methods, oversized requests, engine refusals, server errors."""
from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from engine.platform.config import MB

from engine.platform.errors import EngineError

from .i18n import translated

bp = Blueprint("errors", __name__)


@bp.app_errorhandler(CSRFError)
def csrf_failed(error: CSRFError) -> ResponseReturnValue:
    """A form without a valid CSRF token (usually a page left open too long): nothing was saved."""
    return render_template("error.html", error=error, csrf=True), 400


@bp.app_errorhandler(400)
@bp.app_errorhandler(405)
@bp.app_errorhandler(409)
def client_error(error: HTTPException) -> ResponseReturnValue:
    """Bad request, wrong method or conflict shown in the normal layout."""
    assert error.code is not None  # registered for these codes only
    return render_template("error.html", error=error), error.code


@bp.app_errorhandler(413)
def too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """A request body over MAX_CONTENT_LENGTH, refused from its Content-Length before it is read: nothing was saved."""
    return render_template("error.html", error=error, limit_mb=current_app.config["MAX_CONTENT_LENGTH"] // MB), 413


@bp.app_errorhandler(EngineError)
def engine_refused(error: EngineError) -> ResponseReturnValue:
    """An engine refusal no page caught (e.g. a definition not deployed yet): its status and its message, never a 500."""
    return render_template("error.html", error=SimpleNamespace(code=error.status), detail=translated(error.message)), error.status


@bp.app_errorhandler(500)
def server_error(error: InternalServerError) -> ResponseReturnValue:
    """An unexpected failure: a plain apology, never a traceback."""
    return render_template("error.html", error=error), 500
