"""Messages people read, written in Chinese and kept as a template with its values, so that the web edge can give
them in the reader's language while the CLI, the logs and the stored history read the Chinese text as before.

`N_` marks a template for the web edge's catalog (webui/babel.cfg extracts it from the engine). `Message` is the
Chinese text itself (a str) that also keeps the template and values it was made from; a value that is itself a
Message (a nested message, or a `label` such as a field title, role or unit of measure) is translated with it.
Anything else (names, numbers, what the official typed) is shown as it is.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def N_(template: str) -> str:
    """Mark a message template for translation at the web edge; the engine uses it as written."""
    return template


SEMICOLON = N_("%(first)s；%(rest)s")  # clauses one after another
ENUMERATION = N_("%(first)s、%(rest)s")  # names in a list


class Message(str):
    """Chinese text made from a template and its values (`template % params`), which it keeps for translation."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Message:
        text = super().__new__(cls, template % params if params else template)
        text.template, text.params = template, params
        return text


def label(text: str) -> str:
    """A name the catalog carries (a field title, a role, a unit of measure) as a message value, translated with the
    message it appears in; a message stays as it is."""
    return text if isinstance(text, Message) else Message(text)


def joined(parts: Sequence[str], pair: str = SEMICOLON) -> str:
    """Messages one after another, “甲；乙；丙” (or names “甲、乙、丙” with `pair=ENUMERATION`), each part translated."""
    if not parts:
        return ""
    text = parts[-1]
    for part in reversed(parts[:-1]):
        text = Message(pair, first=part, rest=text)
    return text
