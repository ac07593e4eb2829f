"""Types for the part of Flask-Babel 4 this project uses; the package has annotations but no py.typed marker."""
from collections.abc import Callable
from typing import Any

from babel import Locale
from babel.support import Translations
from flask import Flask

class Babel:
    def __init__(self, app: Flask | None = None, date_formats: Any = None, configure_jinja: bool = True, *args: Any, **kwargs: Any) -> None: ...
    def init_app(
        self,
        app: Flask,
        default_locale: str = "en",
        default_domain: str = "messages",
        default_translation_directories: str = "translations",
        default_timezone: str = "UTC",
        locale_selector: Callable[[], str | Locale | None] | None = None,
        timezone_selector: Callable[[], str | None] | None = None,
    ) -> None: ...

def get_locale() -> Locale | None: ...
def gettext(string: str, **variables: Any) -> str: ...
def get_translations() -> Translations: ...
