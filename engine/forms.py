"""Task forms: coerce submitted strings by JSON Schema type, refuse values that cannot be stored (numbers past their
range, NaN, unreal dates, control characters) and report errors per field; every message names the field by its title,
in Chinese."""
from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal
from typing import Any, Iterable, Optional

import jsonschema
from jsonschema import ValidationError

from . import inputs, projects
from .errors import InvalidInput

_TYPE_NAMES = {"number": "数字", "integer": "整数", "string": "文本", "boolean": "“是”或“否”", "object": "对象", "array": "列表"}
LONG_TEXT = 200  # a text field holding more characters than this is long text: line breaks and tabs are allowed there


def _property(schema: dict, key: str) -> dict:
    """The subschema of one property ({} when the form names none, or allows anything with `true`)."""
    found = schema.get("properties", {}).get(key)
    return found if isinstance(found, dict) else {}


def field_title(schema: dict, field: str) -> str:
    """The field's Chinese title (its key only when the form gives it none), as every message names the field."""
    return str(_property(schema, field).get("title") or field)


def coerce(schema: dict, raw: dict[str, Any]) -> dict[str, Any]:
    """Turn web-form strings into the schema's types; unparseable values stay strings to be reported."""
    data: dict[str, Any] = {}
    for field, prop in schema.get("properties", {}).items():
        if field not in raw:
            if prop.get("type") == "boolean" and "__present_" + field in raw:
                data[field] = False
            continue
        value = raw[field]
        kind = prop.get("type")
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                continue
            if kind in ("number", "integer"):
                value = _number(value, kind)
            elif kind == "boolean":
                value = {"true": True, "1": True, "on": True, "yes": True, "false": False, "0": False, "no": False}.get(
                    value.lower(), value
                )
        data[field] = value
    return data


def _number(text: str, kind: str) -> Any:
    """Form text as a JSON number (an int for a whole integer), or the text itself to be reported when it is no number
    a column holds or a float would change it (1e-400 is not 0)."""
    number = inputs.read_decimal(text)
    if number is None:
        return text
    if kind == "integer" and number == number.to_integral_value():
        return int(number)
    as_float = float(number)
    return as_float if Decimal(repr(as_float)) == number else text


def _long(prop: dict) -> bool:
    """Long text (a textarea, or more than LONG_TEXT characters allowed) may hold line breaks and tabs."""
    return prop.get("x-widget") == "textarea" or prop.get("format") == "textarea" or prop.get("maxLength", 0) > LONG_TEXT


def _bound(value: Any) -> Optional[Decimal]:
    """A schema's numeric bound as a Decimal, None when it sets none."""
    return Decimal(str(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _number_rule(prop: dict, field: Optional[str]) -> inputs.Number:
    """What a number field accepts: its column when it updates the project record, else a generic bound, narrowed
    by the form's own minimum and maximum."""
    if field in projects.LEDGER_NUMBERS:
        rule = projects.number_rule(field)
    else:
        rule = inputs.ANY_INTEGER if prop.get("type") == "integer" else inputs.ANY_NUMBER
    rule = rule.within(_bound(prop.get("minimum")), _bound(prop.get("maximum")))
    rule = rule.within(_bound(prop.get("exclusiveMinimum")), exclusive_minimum=True)
    return replace(rule, places=0 if prop.get("type") == "integer" else rule.places, unit=prop.get("x-unit", rule.unit))


def _first(found: Iterable[Optional[str]]) -> Optional[str]:
    """The first message found, None when there is none."""
    return next((message for message in found if message is not None), None)


def _value_problem(value: Any, prop: dict, title: str, field: Optional[str] = None) -> Optional[str]:
    """Why a value (nested ones too) cannot be stored as task data or on the record, None when it can."""
    if isinstance(value, dict):
        return _first(_value_problem(item, _property(prop, key), f"{title}的{field_title(prop, key)}")
                      for key, item in value.items())
    if isinstance(value, list):
        items = prop["items"] if isinstance(prop.get("items"), dict) else {}
        return _first(_value_problem(item, items, f"{title}第{index}项") for index, item in enumerate(value, start=1))
    if prop.get("type") in ("number", "integer") and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return inputs.number_problem(value, title, _number_rule(prop, field))
    if isinstance(value, float) and not math.isfinite(value):
        return f"{title}不能是 NaN 或无穷大"
    if isinstance(value, str):
        return inputs.date_problem(value, title) if prop.get("format") == "date" else inputs.text_problem(value, title, _long(prop))
    return None


def _problems(schema: dict, data: dict[str, Any]) -> dict[str, str]:
    """Field → message for every value that cannot be stored, whatever the schema's own keywords say."""
    found = {field: _value_problem(value, _property(schema, field), field_title(schema, field), field)
             for field, value in data.items()}
    return {field: message for field, message in found.items() if message is not None}


def _messages(schema: dict, error: ValidationError) -> list[tuple[str, str]]:
    """(field, Chinese message) for one schema error: one per missing field of a `required`, else one."""
    if error.validator != "required":
        return [_message(schema, error)]
    missing = [f for f in error.validator_value if f not in (error.instance or {})]
    if error.absolute_path:
        field = str(error.absolute_path[0])
        return [(field, f"{field_title(schema, field)}中缺少必填项：{'、'.join(map(inputs.shown, missing))}")]
    return [(field, f"{field_title(schema, field)}为必填项") for field in missing]


def _message(schema: dict, error: ValidationError) -> tuple[str, str]:
    """(field, Chinese message) for one schema error other than `required`."""
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        name = inputs.shown(extra[0]) if extra else ""
        if error.absolute_path:
            field = str(error.absolute_path[0])
            return field, f"{field_title(schema, field)}中不允许提交未定义的字段“{name}”"
        return (extra[0] if extra else ""), f"不允许提交未定义的字段“{name}”"
    field = str(error.absolute_path[0]) if error.absolute_path else ""
    title = field_title(schema, field)
    value = error.validator_value
    messages = {
        "type": f"{title}必须是{_TYPE_NAMES.get(str(value), str(value))}",
        "minimum": f"{title}不能小于{value}",
        "exclusiveMinimum": f"{title}必须大于{value}",
        "maximum": f"{title}不能大于{value}",
        "exclusiveMaximum": f"{title}必须小于{value}",
        "minLength": f"{title}不能为空",
        "maxLength": f"{title}不能超过{value}个字",
        "format": f"{title}格式不正确" + ("（日期请按 YYYY-MM-DD 填写）" if value == "date" else ""),
        "oneOf": f"{title}不是有效选项",
        "enum": f"{title}不是有效选项",
        "const": f"{title}不是有效选项",
    }
    return field, messages.get(str(error.validator), f"{title}：{error.message}")


def validate(schema: dict, validator: jsonschema.protocols.Validator, data: dict[str, Any]) -> None:
    """Raise InvalidInput mapping each failing field to its message; nothing is stored on failure."""
    errors = _problems(schema, data)
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        for field, message in _messages(schema, error):
            errors.setdefault(field or "_form", message)
    if errors:
        raise InvalidInput(errors)
