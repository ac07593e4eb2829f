"""FEEL unary tests, as dmn-js writes them, translated to sandboxed Python with '?' as input.

Supported: `-`/empty, literals (numbers, "strings", true, false, null), comparisons
(`< 20`, `>= 3`, `!= "a"`), ranges (`[20..50]`, `]20..50]`, `(1..2)`), lists (`"a","b"`)
and `not(...)`. Anything else is refused with a message, so no cell silently never matches.
"""
from __future__ import annotations

import re

_NUMBER = r"-?\d+(?:\.\d+)?"
_STRING = r'"(?:[^"\\]|\\.)*"'
_LITERAL = rf"(?:{_NUMBER}|{_STRING}|true|false|null)"
_RANGE = re.compile(rf"^([\[\](])\s*({_NUMBER})\s*\.\.\s*({_NUMBER})\s*([\])[])$")
_COMPARE = re.compile(rf"^(<=|>=|!=|<|>|=)\s*({_LITERAL})$")
_LITERAL_RE = re.compile(rf"^{_LITERAL}$")


class FeelError(ValueError):
    """A FEEL cell the translator does not understand."""


def literal_to_python(text: str) -> str:
    """Translate one FEEL literal to a Python literal."""
    text = text.strip()
    if not _LITERAL_RE.match(text):
        raise FeelError(f"无法识别的FEEL值：{text}")
    return {"true": "True", "false": "False", "null": "None"}.get(text, text)


def _split_list(text: str) -> list[str]:
    """Split a FEEL list on commas that are outside strings, brackets and parentheses."""
    parts, depth, current, in_string = [], 0, "", False
    for ch in text:
        if ch == '"' and not current.endswith("\\"):
            in_string = not in_string
        elif not in_string and ch in "([":
            depth += 1
        elif not in_string and ch in ")]":
            depth -= 1
        if ch == "," and depth == 0 and not in_string:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    parts.append(current.strip())
    return parts


def _single_test(text: str) -> str:
    """Translate one positive unary test (no list, no not)."""
    match = _RANGE.match(text)
    if match:
        open_b, low, high, close_b = match.groups()
        low_op = "<=" if open_b == "[" else "<"
        high_op = "<=" if close_b == "]" else "<"
        return f"{low} {low_op} ? {high_op} {high}"
    match = _COMPARE.match(text)
    if match:
        op, value = match.groups()
        return f"? {'==' if op == '=' else op} {literal_to_python(value)}"
    return f"? == {literal_to_python(text)}"


def unary_test_to_python(text: str | None) -> str | None:
    """Translate a FEEL unary-test cell; None means "matches anything"."""
    if text is None:
        return None
    text = text.strip()
    if text in ("", "-"):
        return None
    if text.startswith("not(") and text.endswith(")"):
        inner = unary_test_to_python(text[4:-1])
        if inner is None:
            raise FeelError(f"not() 中缺少条件：{text}")
        return f"not ({inner})"
    parts = _split_list(text)
    if any(not p for p in parts):
        raise FeelError(f"列表中有空项：{text}")
    tests = [_single_test(p) for p in parts]
    return tests[0] if len(tests) == 1 else " or ".join(f"({t})" for t in tests)
