"""Language and local formats: Simplified Chinese by default, English selectable, 万元/亿元, the county's clock.

Messages are written in Chinese in the templates and code; the catalog under
webui/translations gives the English. The choice is remembered in a cookie.

The engine's messages (refusals, field errors) arrive as `Message` values, a Chinese template and its values
(engine/platform/messages.py); `translated` gives one in the page's language. Every page goes through it: the
templates' `{{ … }}` output (error pages, field errors), and each view for what it flashes or answers in JSON.
The titles of task form fields come from the deployed forms and are given in English where the catalog has them.
"""
from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Iterator
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Optional
from engine.platform.clock import local_time, local_today, zone

from flask import Blueprint, Flask, g, redirect, request
from flask.typing import ResponseReturnValue
from babel.messages.extract import extract_python
from babel.support import Translations
from flask_babel import Babel, get_locale, get_translations, gettext

from engine.platform.messages import Message
from engine.projects import record
from engine.supervision.lights import LIGHT_NAMES
from engine.projects.meetings import KIND_NAMES

from .guard import public

bp = Blueprint("i18n", __name__)
babel = Babel()
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
LANGUAGES = {"zh": "zh_Hans_CN", "en": "en"}
COOKIE = "lang"
CATALOG = "i18n_catalog"  # flask.g: the request's catalog


def select_locale() -> str:
    """The language the official picked (cookie), else Simplified Chinese."""
    return LANGUAGES.get(request.cookies.get(COOKIE, ""), LANGUAGES["zh"])


def is_english() -> bool:
    """True when the page is rendered in English."""
    return str(get_locale()) == "en"


@bp.record_once
def _init(state: Any) -> None:
    """Configure Flask-Babel on the app this blueprint is registered on."""
    app: Flask = state.app
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LANGUAGES["zh"])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", zone().key)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
    environment: Any = app.jinja_env  # Jinja's i18n extension adds install_gettext_callables to it
    environment.install_gettext_callables(  # Flask-Babel's own, with the catalog looked up once per request
        gettext=lambda s: catalog().ugettext(s),
        ngettext=lambda s, p, n: catalog().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalog().unpgettext(c, s, p, n),
    )
    app.jinja_env.finalize = shown


def catalog() -> Translations:
    """The page's catalog, found once per request: a page asks it for a few hundred texts, and Flask-Babel's lookup
    walks its contexts and the locale each time (about 15 µs a text)."""
    found: Optional[Translations] = g.get(CATALOG)
    if found is None:
        found = g.setdefault(CATALOG, get_translations())
    return found


def translated(message: str) -> str:
    """An engine message in the page's language: its template looked up in the catalog and filled with its values,
    those that are messages or labels (a field title, a role) translated the same way; any other text as it is."""
    if not isinstance(message, Message) or not message.template:
        return message
    params = {key: translated(value) if isinstance(value, Message) else value for key, value in message.params.items()}
    return gettext(message.template, **params)


def shown(value: Any) -> Any:
    """What a template's `{{ … }}` writes: an engine message translated, anything else unchanged."""
    return translated(value) if isinstance(value, Message) else value


def form_text(text: Any) -> Any:
    """A title or choice of a deployed task form in the page's language, where the catalog has it (else as written)."""
    return gettext(text) if isinstance(text, str) and text else text


@bp.route("/lang", methods=["POST"])
@public
def switch_language() -> ResponseReturnValue:
    """Remember the chosen language for a year and go back to the page the official was on."""
    lang = request.form.get("lang", "zh")
    target = request.form.get("next", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    response = redirect(target, 303)
    response.set_cookie(COOKIE, lang if lang in LANGUAGES else "zh", max_age=365 * 24 * 3600, httponly=True, samesite="Lax")
    return response


def _trim(value: Decimal) -> str:
    """At most two decimals, no trailing zeros: 8.00 → 8, 3.50 → 3.5."""
    text = f"{value.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def money(value: Any, blank_zero: bool = False) -> str:
    """An amount stored in 万元 written as officials write it: 8亿元, 3.5亿元, 6000万元 (— for none)."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if blank_zero and amount == 0:
        return "—"
    if is_english():
        return f"CNY {_trim(amount / 100)} million" if amount >= 100 else f"CNY {_trim(amount * 10)} thousand"
    if abs(amount) >= 10000:
        return f"{_trim(amount / 10000)}亿元"
    return f"{_trim(amount)}万元"


def area(value: Any) -> str:
    """Land area in 亩."""
    if value is None or value == "":
        return "—"
    number = _trim(Decimal(str(value)))
    return f"{number} mu" if is_english() else f"{number}亩"


def to_local(value: Optional[datetime]) -> Optional[datetime]:
    """A stored UTC time on the county's clock (engine.platform.clock converts; None stays None)."""
    return None if value is None else local_time(value)


def local_datetime(value: Optional[datetime]) -> str:
    """2026-11-25 14:30 in local time."""
    local = to_local(value)
    return local.strftime("%Y-%m-%d %H:%M") if local else "—"


def local_date(value: Any) -> str:
    """2026-11-25 (a datetime is converted to local time first)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        value = to_local(value)
    return value.strftime("%Y-%m-%d") if isinstance(value, (date, datetime)) else str(value)


def overdue_days(due_at: Optional[datetime], now: Optional[datetime] = None) -> int:
    """Whole calendar days (local) a task is overdue: 0 when not yet due, at least 1 once past due."""
    if due_at is None:
        return 0
    now = now or datetime.now(timezone.utc)
    due = to_local(due_at)
    assert due is not None
    if due >= now:
        return 0
    return max(1, (local_time(now).date() - due.date()).days)


def days_left(due_at: Optional[datetime], now: Optional[datetime] = None) -> Optional[int]:
    """Calendar days until a task is due (local), None without a due time."""
    if due_at is None:
        return None
    now = now or datetime.now(timezone.utc)
    due = to_local(due_at)
    assert due is not None
    return (due.date() - local_time(now).date()).days


def due_status(due_at: Optional[datetime], now: Optional[datetime] = None) -> tuple[str, str, str]:
    """(css class, local due date, note) of a due time: overdue with its days, due today, or days left when ≤ 3."""
    if due_at is None:
        return "", "—", ""
    late = overdue_days(due_at, now)
    if late:
        return "overdue", local_date(due_at), gettext("逾期%(d)s天", d=late)
    left = days_left(due_at, now)
    if left == 0:
        return "soon", local_date(due_at), gettext("今日到期")
    if left is not None and left <= 3:
        return "soon", local_date(due_at), gettext("剩%(d)s天", d=left)
    return "", local_date(due_at), ""


def stage_label(key: str) -> str:
    """Translated ledger stage name."""
    return gettext(record.STAGES.get(key, key)) if key else "—"


def category_label(key: str) -> str:
    """Translated industry category name."""
    return gettext(record.CATEGORIES.get(key, key)) if key else "—"


def channel_label(key: str) -> str:
    """Translated source channel name."""
    return gettext(record.SOURCE_CHANNELS.get(key, key)) if key else "—"


def field_label(key: str) -> str:
    """Translated label of a project field."""
    return gettext(record.FIELD_LABELS.get(key, key))


def meeting_label(key: str) -> str:
    """Translated meeting kind name."""
    return gettext(KIND_NAMES.get(key, key))


@bp.app_context_processor
def formatting() -> dict[str, Any]:
    """Format helpers and the current language for every template."""
    return {
        "lang": "en" if is_english() else "zh",
        "overdue_days": overdue_days,
        "days_left": days_left,
        "due_status": due_status,
        "stage_label": stage_label,
        "category_label": category_label,
        "channel_label": channel_label,
        "field_label": field_label,
        "meeting_label": meeting_label,
        "form_text": form_text,
        "local_today": local_today,
    }


for _name, _func in (("money", money), ("area", area), ("local_datetime", local_datetime), ("local_date", local_date)):
    bp.add_app_template_filter(_func, _name)


def extract_labels(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple[int, str, str | tuple[str | None, ...], list[str]]]:
    """Babel extractor for this module: its own gettext calls, plus text translated at run time —
    the engine's label tables (stages, categories, channels, fields, meetings, lights) and every
    web module's NAV labels."""
    # Babel annotates extract_python as yielding (lineno, message, comments, context); it yields (lineno, funcname, message, comments)
    yield from extract_python(fileobj, keywords, comment_tags, options)  # type: ignore[misc]
    tables = (record.STAGES, record.CATEGORIES, record.SOURCE_CHANNELS, record.FIELD_LABELS, KIND_NAMES, LIGHT_NAMES)
    for table in tables:
        for text in table.values():
            yield 0, "gettext", text, ["engine label"]
    package = Path(__file__).resolve().parent
    for info in pkgutil.iter_modules([str(package)]):
        for entry in getattr(importlib.import_module(f"webui.{info.name}"), "NAV", []):
            yield 0, "gettext", entry[1], [f"navigation of webui/{info.name}.py"]


def extract_form_titles(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extractor for a task form (bpmn/forms/*.schema.json): the titles of its fields, nested ones too, of their
    choices and their units, which the form and its messages show in English where the catalog has them (not the form's
    own title, the step's name, which stays as written like every name from the BPMN bundle)."""
    for title in _field_titles(json.load(fileobj)):
        yield 0, "gettext", title, ["task form field"]


def _field_titles(schema: Any, top: bool = True) -> Iterator[str]:
    """Every title and unit in a schema below its top level (the fields', at any depth, and their choices'), data values
    aside."""
    if isinstance(schema, list):
        for item in schema:
            yield from _field_titles(item, False)
    elif isinstance(schema, dict):
        for key, value in schema.items():
            if key in ("title", "x-unit") and isinstance(value, str) and value and not top:
                yield value
            elif key not in ("const", "enum", "default", "examples"):
                yield from _field_titles(value, False)
