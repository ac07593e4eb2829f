"""Task forms: coerce submitted strings by JSON Schema type and report errors per field in Chinese."""
from __future__ import annotations

from typing import Any

import jsonschema

from .errors import InvalidInput

_TYPE_NAMES = {"number": "数字", "integer": "整数", "string": "文本", "boolean": "“是”或“否”", "object": "对象"}


def field_title(schema: dict, field: str) -> str:
    """The field's Chinese title with its key, as every message names the field."""
    title = schema.get("properties", {}).get(field, {}).get("title")
    return f"{title}({field})" if title else field


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
                try:
                    number = float(value)
                    value = int(number) if kind == "integer" and number.is_integer() else number
                except ValueError:
                    pass
            elif kind == "boolean":
                value = {"true": True, "1": True, "on": True, "yes": True, "false": False, "0": False, "no": False}.get(
                    value.lower(), value
                )
        data[field] = value
    return data


def _message(schema: dict, error: jsonschema.ValidationError) -> tuple[str, str]:
    """(field, Chinese message) for one schema error."""
    if error.validator == "required":
        missing = [f for f in error.validator_value if f not in (error.instance or {})]
        field = missing[0] if missing else ""
        return field, f"{field_title(schema, field)}为必填项"
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(schema.get("properties", {})))
        field = extra[0] if extra else ""
        return field, f"不允许提交未定义的字段 {field}"
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
        "format": f"{title}格式不正确（日期请按 YYYY-MM-DD 填写）",
        "oneOf": f"{title}不是有效选项",
        "enum": f"{title}不是有效选项",
        "const": f"{title}不是有效选项",
    }
    return field, messages.get(str(error.validator), f"{title}：{error.message}")


def validate(schema: dict, validator: jsonschema.protocols.Validator, data: dict[str, Any]) -> None:
    """Raise InvalidInput mapping each failing field to its message; nothing is stored on failure."""
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        field, message = _message(schema, error)
        errors.setdefault(field or "_form", message)
    if errors:
        raise InvalidInput(errors)
