"""Settings stored as one row per changed key over defaults kept in code: read them overlaid, write only what changed."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.platform.models import utcnow
from engine.platform.prepared import prebuilt

Spec = TypeVar("Spec")


_READ = "settings_rows_read"  # per unit of work: each model's stored (key, value) pairs, read once


def read(session: Session, model: Any, defaults: dict[str, Any], convert: Callable[[Any], Any] = lambda v: v) -> dict[str, Any]:
    """The defaults overlaid with the stored values of known keys (rows of `model`: key, value).

    The rows are read once per unit of work (an import validates thousands of records against the
    same settings); `store` in the same unit of work reads them afresh.
    """
    kept: dict[Any, list[tuple[Any, ...]]] = session.info.setdefault(_READ, {})
    if model not in kept:
        kept[model] = prebuilt(("settings", model), lambda: select(model.key, model.value)).rows(session, {})
    values = dict(defaults)
    for key, value in kept[model]:
        if key in defaults:
            values[key] = convert(value)
    return values


def store(session: Session, model: Any, current: dict[str, Any], values: dict[str, Any], actor_id: int) -> dict[str, Any]:
    """Write the values that differ from `current`, stamped with who and when, at once (a read later in the unit of work sees
    them); returns what changed."""
    changed = {key: value for key, value in values.items() if value != current[key]}
    session.info.get(_READ, {}).pop(model, None)
    now = utcnow()
    for key, value in changed.items():
        row = session.get(model, key)
        if row is None:
            session.add(model(key=key, value=value, updated_at=now, updated_by=actor_id))
        else:
            row.value, row.updated_at, row.updated_by = value, now, actor_id
    session.flush()
    return changed


def submitted_values(current: dict[str, Any], submitted: dict[str, Any], specs: Mapping[str, Spec],
                     coerce: Callable[[Spec, Any, dict[str, str]], Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The current values with each submitted one read by its spec; an unknown key or a bad value is named in the errors."""
    errors: dict[str, str] = {}
    values = dict(current)
    for key, raw in submitted.items():
        spec = specs.get(key)
        if spec is None:
            errors[key] = f"未知的设置项“{key}”"
            continue
        value = coerce(spec, raw, errors)
        if key not in errors:
            values[key] = value
    return values, errors
