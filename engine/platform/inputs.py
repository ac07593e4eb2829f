"""One reader of submitted values (web forms, JSON, imports): ASCII numbers that fit their column, plausible dates, text
without control characters; every refusal names the field by its Chinese title and says what it accepts.

Refusals are messages (engine/platform/messages.py) whose field title is a label, so the web edge names the field in
the reader's language; callers mark a literal title with N_."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, Iterable, Optional

from sqlalchemy import ColumnElement, Numeric, String

from engine.platform.messages import ENUMERATION, N_, Message, joined, label

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,4})?", re.ASCII)
_WHOLE = re.compile(r"\d{1,10}", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_MOBILE = re.compile(r"1[3-9]\d{9}", re.ASCII)
_LANDLINE = re.compile(r"0\d{2,3}-?[2-9]\d{6,7}(?:(?:-|转)\d{1,6})?", re.ASCII)
_SERVICE = re.compile(r"[48]00-?\d{3}-?\d{4}", re.ASCII)
_PHONE_DECORATION = re.compile(r"[\s()（）]")
BEYOND_ANY_COLUMN = Decimal(10) ** 15  # larger than every Numeric column holds: read as "not a number we store"
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # an Integer column
EARLIEST, LATEST = date(1990, 1, 1), date(2100, 12, 31)
SHOWN_CHARS = 20
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")  # Unicode categories Cc and Cs (lone surrogates)
_CONTROL_IN_LONG_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")  # line breaks (CR LF) and tabs allowed


@dataclass(frozen=True)
class Number:
    """What a numeric field accepts: inclusive bounds (the lower one exclusive if told), decimal places, unit."""

    minimum: Decimal
    maximum: Decimal
    places: Optional[int] = None
    exclusive_minimum: bool = False
    unit: str = ""

    def within(self, minimum: Optional[Decimal] = None, maximum: Optional[Decimal] = None, exclusive_minimum: bool = False) -> "Number":
        """The same rule narrowed by further bounds (a form's own minimum and maximum)."""
        rule = self
        if minimum is not None and (minimum > rule.minimum or (minimum == rule.minimum and exclusive_minimum)):
            rule = replace(rule, minimum=minimum, exclusive_minimum=exclusive_minimum)
        if maximum is not None and maximum < rule.maximum:
            rule = replace(rule, maximum=maximum)
        return rule

    def span(self) -> str:
        """The accepted range in words: “0到100之间” or “大于0且不超过100”."""
        if self.exclusive_minimum:
            return Message(N_("大于%(low)s且不超过%(high)s"), low=plain(self.minimum), high=plain(self.maximum))
        return Message(N_("%(low)s到%(high)s之间"), low=plain(self.minimum), high=plain(self.maximum))

    def refusal(self, title: str, received: Any) -> str:
        """The message for a value this rule does not accept."""
        kind = Message(N_("整数")) if self.places == 0 else Message(N_("数字"))
        unit = Message(N_("（%(unit)s）"), unit=label(self.unit)) if self.unit else ""
        return Message(N_("%(title)s必须是%(span)s的%(kind)s%(unit)s，收到“%(received)s”"),
                       title=label(title), span=self.span(), kind=kind, unit=unit, received=shown(received))

    def problem(self, value: Decimal, title: str, received: Any) -> Optional[str]:
        """Why a parsed number does not fit (range first, then decimal places), None when it does."""
        too_low = value <= self.minimum if self.exclusive_minimum else value < self.minimum
        if too_low or value > self.maximum:
            return self.refusal(title, received)
        if self.places is not None and value != value.quantize(Decimal(1).scaleb(-self.places)):
            if self.places == 0:
                return self.refusal(title, received)
            return Message(N_("%(title)s最多保留%(places)s位小数，收到“%(received)s”"),
                           title=label(title), places=self.places, received=shown(received))
        return None


def column_number(column: ColumnElement[Any], unit: str = "") -> Number:
    """The rule of a Numeric(precision, scale) column of amounts or areas: not negative, as many digits as it holds."""
    numeric = column.type
    if not isinstance(numeric, Numeric) or numeric.precision is None or numeric.scale is None:
        raise TypeError(f"{column} is not a Numeric(precision, scale) column")
    precision, scale = numeric.precision, numeric.scale
    largest = Decimal(10) ** (precision - scale) - Decimal(1).scaleb(-scale)
    return Number(Decimal(0), largest, scale, unit=unit)


def column_length(column: ColumnElement[Any]) -> int:
    """The most characters a String(length) column holds."""
    string = column.type
    if not isinstance(string, String) or string.length is None:
        raise TypeError(f"{column} is not a String(length) column")
    return string.length


ANY_NUMBER = Number(Decimal("-999999999999.99"), Decimal("999999999999.99"))  # a form number bound for no column: what Money holds
ANY_INTEGER = Number(Decimal(INT_MIN), Decimal(INT_MAX), 0)


def plain(value: Decimal) -> str:
    """A bound as people write it: 100000, 99999999.99, 0.5."""
    return format(value.normalize(), "f")


def shown(received: Any) -> str:
    """What was received, short and printable, for a message."""
    if isinstance(received, int) and not isinstance(received, bool) and abs(received) >= BEYOND_ANY_COLUMN:
        return Message(N_("超过%(digits)s位的整数"), digits=len(str(BEYOND_ANY_COLUMN)) - 1)
    if isinstance(received, float) and received.is_integer() and abs(received) < BEYOND_ANY_COLUMN:
        received = int(received)  # a form's "40" arrives as 40.0
    text = received if isinstance(received, str) else json.dumps(received, ensure_ascii=False, default=str)
    head = _CONTROL.sub(lambda found: f"\\u{ord(found.group()):04x}", text[:SHOWN_CHARS])
    return head + "…" if len(text) > SHOWN_CHARS else head


def printable(text: str) -> str:
    """Text without control characters, for what is only searched for and never stored."""
    return _CONTROL.sub("", text)


def read_decimal(text: str) -> Optional[Decimal]:
    """A number written in ASCII (sign, digits, point, exponent) that a column could hold; None for anything else
    (NaN, Infinity, '1_000', '0x10', full-width or Arabic-Indic digits, 1e400)."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        return None
    value = Decimal(text)
    if abs(value) >= BEYOND_ANY_COLUMN:
        return None
    return value + 0  # -0 → 0


def whole_number(text: str) -> Optional[int]:
    """A non-negative integer in ASCII digits that fits an Integer column (ids, pages, years); None otherwise."""
    value = int(text) if _WHOLE.fullmatch(text) else None
    return value if value is not None and value <= INT_MAX else None


def _parsed(value: Any) -> Optional[Decimal]:
    """A submitted value (form text or JSON number) as a Decimal a column could hold; None for anything else."""
    if isinstance(value, str):
        return read_decimal(value)
    if isinstance(value, float):
        return read_decimal(repr(value))
    if isinstance(value, Decimal):
        return value if value.is_finite() and abs(value) < BEYOND_ANY_COLUMN else None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < BEYOND_ANY_COLUMN:
        return Decimal(value)
    return None


def identifier(raw: Any) -> Optional[int]:
    """A record id as submitted (a JSON integer or ASCII digits); None for anything else."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if 0 < raw <= INT_MAX else None
    return whole_number(raw.strip()) if isinstance(raw, str) else None


def number_problem(value: Any, title: str, rule: Number) -> Optional[str]:
    """Why a submitted value (text from a form, a JSON number) is not a number the rule accepts, None when it is."""
    parsed = _parsed(value)
    return rule.refusal(title, value) if parsed is None else rule.problem(parsed, title, value)


def decimal(raw: Any, field: str, title: str, rule: Number, errors: dict[str, str], required: bool = False) -> Optional[Decimal]:
    """A submitted number as a Decimal within `rule`; None when empty or refused (the message goes to errors[field])."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors[field] = required_message(title)
        return None
    parsed = _parsed(raw)
    message = rule.refusal(title, raw) if parsed is None else rule.problem(parsed, title, raw)
    if message is not None:
        errors[field] = message
        return None
    return parsed


def required_message(title: str) -> str:
    """“…为必填项”: the message for a required field left empty."""
    return Message(N_("%(title)s为必填项"), title=label(title))


def unknown_message(title: str, received: Any) -> str:
    """“…不存在：x”: the message for an id that names no record of the field's kind (a unit, a tag, an official)."""
    return Message(N_("%(title)s不存在：%(received)s"), title=label(title), received=shown(received))


def choice_message(title: str, received: Any, choices: Iterable[str]) -> str:
    """“…无效：“x”，可选：甲、乙”: the message for a value that is none of the field's choices, named as people read them."""
    return Message(N_("%(title)s无效：“%(received)s”，可选：%(choices)s"), title=label(title), received=shown(received),
                   choices=joined([label(choice) for choice in choices], ENUMERATION))


def integer(raw: Any, field: str, title: str, rule: Number, errors: dict[str, str], required: bool = False) -> Optional[int]:
    """A submitted whole number within `rule`; None when empty or refused (the message goes to errors[field])."""
    value = decimal(raw, field, title, replace(rule, places=0), errors, required)
    return None if value is None else int(value)


def date_problem(value: Any, title: str, latest: Optional[date] = None) -> Optional[str]:
    """Why a submitted value is not a real date written YYYY-MM-DD between 1990-01-01 and 2100-12-31 (and not after
    `latest`, today for what has already happened), None when it is."""
    text = value if isinstance(value, str) else ""
    if not _DATE.fullmatch(text):
        return Message(N_("%(title)s必须是“年-月-日”格式的日期（例如 2026-05-01），收到“%(received)s”"),
                       title=label(title), received=shown(value))
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return Message(N_("%(title)s不是有效日期，收到“%(received)s”"), title=label(title), received=shown(value))
    if not EARLIEST <= day <= LATEST:
        return Message(N_("%(title)s必须在%(earliest)s到%(latest)s之间，收到“%(received)s”"),
                       title=label(title), earliest=EARLIEST.isoformat(), latest=LATEST.isoformat(), received=text)
    if latest is not None and day > latest:
        return Message(N_("%(title)s不能晚于今天（%(today)s），收到“%(received)s”"),
                       title=label(title), today=latest.isoformat(), received=text)
    return None


def day(raw: Any, field: str, title: str, errors: dict[str, str], required: bool = False) -> Optional[date]:
    """A submitted date (YYYY-MM-DD, 1990-01-01 … 2100-12-31); None when empty or refused (the message goes to errors[field])."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            errors[field] = required_message(title)
        return None
    text = raw.strip() if isinstance(raw, str) else raw
    message = date_problem(text, title)
    if message is not None:
        errors[field] = message
        return None
    return date.fromisoformat(text)


def text_problem(value: Any, title: str, multiline: bool = False) -> Optional[str]:
    """Why a submitted string cannot be stored: not text, or control characters (line breaks and tabs only in
    long text, `multiline`); None when it is fine."""
    if not isinstance(value, str):
        return Message(N_("%(title)s必须是文本，收到“%(received)s”"), title=label(title), received=shown(value))
    found = (_CONTROL_IN_LONG_TEXT if multiline else _CONTROL).search(value)
    if found is None:
        return None
    char = found.group()
    if char in "\r\n\t":
        return Message(N_("%(title)s不能包含换行符或制表符"), title=label(title))
    if 0xD800 <= ord(char) <= 0xDFFF:
        return Message(N_("%(title)s不能包含无效字符（U+%(code)s）"), title=label(title), code=f"{ord(char):04X}")
    return Message(N_("%(title)s不能包含控制字符（U+%(code)s）"), title=label(title), code=f"{ord(char):04X}")


def phone_problem(value: str, title: str) -> Optional[str]:
    """Why a contact number is not a Chinese mobile (11 digits from 13…–19…), a landline with its area code
    (0571-88888888, an extension after “-” or “转”) or a 400/800 service number; “+86” and spaces are allowed.
    None when it is one, or empty."""
    compact = _PHONE_DECORATION.sub("", value)
    for prefix in ("+86", "0086"):
        if compact.startswith(prefix):
            rest = compact[len(prefix):].lstrip("-")
            compact = rest if rest.startswith("1") else f"0{rest}"
    if not compact or any(pattern.fullmatch(compact) for pattern in (_MOBILE, _LANDLINE, _SERVICE)):
        return None
    return Message(N_("%(title)s格式不正确：请填写11位手机号（如 13812345678）或带区号的固定电话（如 0571-88888888），收到“%(received)s”"),
                   title=label(title), received=shown(value))


def phone(raw: Any, field: str, title: str, limit: int, errors: dict[str, str]) -> str:
    """A submitted contact number as typed (stripped), checked by `phone_problem`; "" when empty or refused (message in errors[field])."""
    value = text(raw, field, title, limit, errors)
    message = phone_problem(value, title) if field not in errors else None
    if message is not None:
        errors[field] = message
        return ""
    return value


def text(raw: Any, field: str, title: str, limit: int, errors: dict[str, str], required: bool = False, multiline: bool = False) -> str:
    """Submitted text, stripped, at most `limit` characters, no control characters; "" when refused (message in errors[field]).
    A JSON integer is taken as written (a telephone number)."""
    value = "" if raw is None else str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
    message = text_problem(value, title, multiline)
    if message is not None:
        errors[field] = message
        return ""
    value = value.strip()
    if required and not value:
        errors[field] = Message(N_("%(title)s不能为空"), title=label(title))
    elif len(value) > limit:
        errors[field] = Message(N_("%(title)s不能超过%(limit)s个字"), title=label(title), limit=limit)
    return value
