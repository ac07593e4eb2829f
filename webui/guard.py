"""Every route says who may open it — nobody signed in (`public`), any official (`signed_in`) or an action of the policy (`requires`) — and templates ask `can('action')`."""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable, ParamSpec

from flask import Blueprint, abort
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from engine.platform import permissions

bp = Blueprint("guard", __name__)
PUBLIC = "public"
SIGNED_IN = "signed_in"
Params = ParamSpec("Params")


def _mark(view: Callable[Params, ResponseReturnValue], permission: str) -> Callable[Params, ResponseReturnValue]:
    """Record on the view who may open it (what the route test reads)."""
    view.__dict__["permission"] = permission
    return view


def public(view: Callable[Params, ResponseReturnValue]) -> Callable[Params, ResponseReturnValue]:
    """A page for anyone, signed in or not (sign-in, language, health checks): marked so by design."""
    return _mark(view, PUBLIC)


def signed_in(view: Callable[Params, ResponseReturnValue]) -> Callable[Params, ResponseReturnValue]:
    """Any signed-in official; what the page shows or changes is scoped by the engine through the policy."""
    return _mark(login_required(view), SIGNED_IN)


def requires(key: str) -> Callable[[Callable[Params, ResponseReturnValue]], Callable[Params, ResponseReturnValue]]:
    """Signed in and allowed `key` somewhere (403 otherwise); the engine checks the unit or meeting again."""
    permissions.action(key)

    def decorator(view: Callable[Params, ResponseReturnValue]) -> Callable[Params, ResponseReturnValue]:
        @wraps(view)
        def checked(*args: Params.args, **kwargs: Params.kwargs) -> ResponseReturnValue:
            if not permissions.allowed(current_user, key):
                abort(403)
            return view(*args, **kwargs)

        return _mark(login_required(checked), key)

    return decorator


def can(key: str) -> bool:
    """Whether the signed-in official may do action `key` (to show a link, a button or a form)."""
    return bool(current_user.is_authenticated and permissions.allowed(current_user, key))


@bp.app_context_processor
def helpers() -> dict[str, Any]:
    """`can('action')` in every template."""
    return {"can": can}
