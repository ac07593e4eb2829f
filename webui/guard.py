"""Every route says who may open it — nobody signed in (`public`), any official (`signed_in`) or an action of the policy (`requires`) — and templates ask `can('action')`."""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import Blueprint, abort
from flask_login import current_user, login_required

from engine.platform import permissions

bp = Blueprint("guard", __name__)
PUBLIC = "public"
SIGNED_IN = "signed_in"
View = Callable[..., Any]


def _mark(view: View, permission: str) -> View:
    """Record on the view who may open it (what the route test reads)."""
    view.__dict__["permission"] = permission
    return view


def public(view: View) -> View:
    """A page for anyone, signed in or not (sign-in, language, health checks): marked so by design."""
    return _mark(view, PUBLIC)


def signed_in(view: View) -> View:
    """Any signed-in official; what the page shows or changes is scoped by the engine through the policy."""
    return _mark(login_required(view), SIGNED_IN)


def requires(key: str) -> Callable[[View], View]:
    """Signed in and allowed `key` somewhere (403 otherwise); the engine checks the unit or meeting again."""
    permissions.action(key)

    def decorator(view: View) -> View:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
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
