"""Task forms: coerce submitted strings by JSON Schema type, refuse values that cannot be stored (numbers past their
range, NaN, unreal dates, control characters), and validate with RE2 patterns so no form's regex can backtrack
catastrophically; every message names the field by its title, in Chinese (a message whose title the web edge gives in
the reader's language, engine/platform/messages.py)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache
from typing import Any, Iterable, Iterator, Mapping, Optional

import jsonschema
import re2
import referencing
from jsonschema import Draft202012Validator, ValidationError

from engine.platform import clock, inputs
from engine.workflow import hooks
from engine.platform.errors import InvalidInput
from engine.platform.messages import ENUMERATION, N_, Message, joined, label

_TYPE_NAMES = {"number": N_("数字"), "integer": N_("整数"), "string": N_("文本"), "boolean": N_("“是”或“否”"), "object": N_("对象"),
               "array": N_("列表")}
LONG_TEXT = 200  # a text field holding more characters than this is long text: line breaks and tabs are allowed there
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_NOT_SCHEMA = frozenset({"const", "enum", "default", "examples"})  # keywords whose values are data, not schemas
Schema = dict[str, Any]  # a form's JSON Schema, or one of its subschemas
UNEVALUATED_WITH_PATTERNS = ("unevaluatedProperties 不能与 patternProperties 或 $ref 同层使用（无法保证线性时间校验），"
                             "请改用 additionalProperties")


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> Any:
    """A form's pattern compiled by RE2 (linear time); re2.error when RE2 cannot compile it."""
    return re2.compile(pattern, _RE2_OPTIONS)


def _matches(pattern: str, text: str) -> bool:
    """Whether `text` matches `pattern` anywhere (JSON Schema semantics); a pattern RE2 refuses matches nothing."""
    try:
        return _regex(pattern).search(text) is not None
    except re2.error:
        return False


def _pattern(validator: Any, pattern: str, instance: Any, schema: Schema) -> Iterator[ValidationError]:
    """The `pattern` keyword, matched by RE2."""
    if validator.is_type(instance, "string") and not _matches(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any, schema: Schema) -> Iterator[ValidationError]:
    """The `patternProperties` keyword, keys matched by RE2."""
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _matches(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Keys neither named in `properties` nor matched by a `patternProperties` pattern."""
    named, patterns = schema.get("properties", {}), list(schema.get("patternProperties", {}))
    return [key for key in instance if key not in named and not any(_matches(p, key) for p in patterns)]


def _additional_properties(validator: Any, allowed: Any, instance: Any, schema: Schema) -> Iterator[ValidationError]:
    """The `additionalProperties` keyword, which reads `patternProperties` too: keys matched by RE2."""
    if not validator.is_type(instance, "object"):
        return
    extras = _additional(instance, schema)
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        yield ValidationError(f"Additional properties are not allowed ({', '.join(map(repr, sorted(extras)))} unexpected)")


def _unevaluated_properties(validator: Any, unevaluated: Any, instance: Any, schema: Schema) -> Iterator[ValidationError]:
    """unevaluatedProperties as jsonschema checks it, except where that check would match patterns with Python's
    backtracking re (pattern_problems refuses such a form at deploy)."""
    if _backtracking_lookup(schema):
        yield ValidationError(UNEVALUATED_WITH_PATTERNS)
    else:
        yield from _DRAFT_UNEVALUATED(validator, unevaluated, instance, schema)


def _backtracking_lookup(schema: Any) -> bool:
    """Whether jsonschema's unevaluatedProperties would run Python's re here: patternProperties in place, or a
    reference that may lead to some."""
    if not isinstance(schema, dict):
        return False
    if {"patternProperties", "$ref", "$dynamicRef"} & set(schema):
        return True
    in_place = [schema.get(key) for key in ("if", "then", "else")] + list(schema.get("dependentSchemas", {}).values())
    in_place += [sub for key in ("allOf", "anyOf", "oneOf") for sub in schema.get(key, [])]
    return any(_backtracking_lookup(sub) for sub in in_place)


def _regex_format(instance: object) -> bool:
    """The `regex` format: the string is a pattern RE2 compiles."""
    if isinstance(instance, str):
        _regex(instance)
    return True


_DRAFT_UNEVALUATED = Draft202012Validator.VALIDATORS["unevaluatedProperties"]
FormValidator = jsonschema.validators.extend(
    Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
        "unevaluatedProperties": _unevaluated_properties,
    },
)
FORMAT_CHECKER = jsonschema.FormatChecker()
FORMAT_CHECKER.checkers = {**Draft202012Validator.FORMAT_CHECKER.checkers, "regex": (_regex_format, re2.error)}


def validator_for(schema: Schema) -> Any:
    """The validator every task form is checked with: JSON Schema 2020-12, patterns and the regex format in RE2,
    and a registry that retrieves nothing, so no `$ref` can read a file or fetch an address."""
    return FormValidator(schema, format_checker=FORMAT_CHECKER, registry=referencing.Registry())


REFERENCE_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")


def schema_problems(schema: Schema) -> list[tuple[str, str]]:
    """Everything in a form's schema that could make validation slow or reach outside it: patterns RE2 cannot run,
    and references other than to a definition of the same form that itself refers to nothing."""
    return pattern_problems(schema) + reference_problems(schema)


@dataclass(frozen=True)
class FormVerdict:
    """What checking a form file found: the meta-schema's refusal as (path, message), else the schema's own problems."""

    refusal: Optional[tuple[str, str]]
    problems: tuple[tuple[str, str], ...]


FORM_VERDICTS_KEPT = 256


def check_form(text: str) -> tuple[Schema, FormVerdict]:
    """A form file's schema, decoded anew for the caller, and its verdict, found once per process and text.

    Every deploy and every load of a version checks each of the bundle's forms, and the bundle's
    unchanged forms give the same verdict each time; the meta-schema check is most of a deploy's
    validation. Raises ValueError or RecursionError when the text is not JSON the reader accepts.
    """
    schema = json.loads(text)
    return schema, _verdict(text)


@lru_cache(maxsize=FORM_VERDICTS_KEPT)
def _verdict(text: str) -> FormVerdict:
    schema = json.loads(text)
    try:
        Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return FormVerdict(("/".join(str(p) for p in exc.path), exc.message), ())
    return FormVerdict(None, tuple(schema_problems(schema)))


def reference_problems(schema: Any, path: str = "", inside_definition: bool = False) -> list[tuple[str, str]]:
    """(JSON pointer, Chinese message) for each reference that leaves the form, or that a definition makes (no cycles)."""
    found: list[tuple[str, str]] = []
    if isinstance(schema, list):
        for index, item in enumerate(schema):
            found += reference_problems(item, f"{path}/{index}", inside_definition)
        return found
    if not isinstance(schema, dict):
        return found
    for keyword in REFERENCE_KEYWORDS:
        target = schema.get(keyword)
        if target is None:
            continue
        if not isinstance(target, str) or not target.startswith(("#/$defs/", "#/definitions/")):
            found.append((f"{path}/{keyword}", f"表单只能引用本表单 $defs 中的定义（如 #/$defs/金额），不能引用“{str(target)[:80]}”"))
        elif inside_definition:
            found.append((f"{path}/{keyword}", "$defs 中的定义不能再引用其他定义（避免循环引用）"))
    for key, value in schema.items():
        if key not in _NOT_SCHEMA:
            nested = inside_definition or (path == "" and key in ("$defs", "definitions"))
            found += reference_problems(value, f"{path}/{_escaped(key)}", nested)
    return found


def pattern_problems(schema: Schema) -> list[tuple[str, str]]:
    """(JSON pointer, Chinese message) for every `pattern` or `patternProperties` key RE2 cannot compile
    (backreferences, lookaround …), which could only run on a backtracking engine, and every unevaluatedProperties
    that would make jsonschema match patterns itself."""
    return list(_pattern_problems(schema, ""))


def _pattern_problems(schema: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from _pattern_problems(item, f"{path}/{index}")
        return
    if not isinstance(schema, dict):
        return
    found = [(f"{path}/pattern", schema["pattern"])] if isinstance(schema.get("pattern"), str) else []
    if isinstance(schema.get("patternProperties"), dict):
        found += [(f"{path}/patternProperties/{_escaped(key)}", key) for key in schema["patternProperties"]]
    if "unevaluatedProperties" in schema and _backtracking_lookup(schema):
        yield f"{path}/unevaluatedProperties", UNEVALUATED_WITH_PATTERNS
    for where, pattern in found:
        try:
            _regex(pattern)
        except re2.error as exc:
            reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            yield where, f"正则表达式“{pattern}”无法用线性时间的 RE2 引擎编译（{reason}）：请去掉反向引用、环视等写法"
    for key, value in schema.items():
        if key not in _NOT_SCHEMA:
            yield from _pattern_problems(value, f"{path}/{_escaped(key)}")


def _escaped(key: str) -> str:
    """A key as one JSON Pointer step (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _property(schema: Schema, key: str) -> Schema:
    """The subschema of one property ({} when the form names none, or allows anything with `true`)."""
    found = schema.get("properties", {}).get(key)
    return found if isinstance(found, dict) else {}


def field_title(schema: Schema, field: str) -> str:
    """The field's Chinese title (its key only when the form gives it none), as every message names the field: a label,
    which the web edge gives in the reader's language."""
    return label(str(_property(schema, field).get("title") or field))


def coerce(schema: Schema, raw: dict[str, Any]) -> dict[str, Any]:
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


def _long(prop: Schema) -> bool:
    """Long text (a textarea, or more than LONG_TEXT characters allowed) may hold line breaks and tabs."""
    return prop.get("x-widget") == "textarea" or prop.get("format") == "textarea" or prop.get("maxLength", 0) > LONG_TEXT


def _bound(value: Any) -> Optional[Decimal]:
    """A schema's numeric bound as a Decimal, None when it sets none."""
    return Decimal(str(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _number_rule(prop: Schema, field: Optional[str]) -> inputs.Number:
    """What a number field accepts: its column when it updates the project record, else a generic bound, narrowed
    by the form's own minimum and maximum."""
    rule = hooks.subject().number_rule(field) if field else None
    if rule is None:
        rule = inputs.ANY_INTEGER if prop.get("type") == "integer" else inputs.ANY_NUMBER
    rule = rule.within(_bound(prop.get("minimum")), _bound(prop.get("maximum")))
    rule = rule.within(_bound(prop.get("exclusiveMinimum")), exclusive_minimum=True)
    return replace(rule, places=0 if prop.get("type") == "integer" else rule.places, unit=prop.get("x-unit", rule.unit))


def _first(found: Iterable[Optional[str]]) -> Optional[str]:
    """The first message found, None when there is none."""
    return next((message for message in found if message is not None), None)


def _value_problem(value: Any, prop: Schema, title: str, field: Optional[str] = None) -> Optional[str]:
    """Why a value (nested ones too) cannot be stored as task data or on the record, None when it can."""
    if isinstance(value, dict):
        return _first(_value_problem(item, _property(prop, key), Message(N_("%(title)s的%(field)s"), title=title,
                                                                            field=field_title(prop, key)))
                      for key, item in value.items())
    if isinstance(value, list):
        items = prop["items"] if isinstance(prop.get("items"), dict) else {}
        return _first(_value_problem(item, items, Message(N_("%(title)s第%(index)s项"), title=title, index=index))
                      for index, item in enumerate(value, start=1))
    if prop.get("type") in ("number", "integer") and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return inputs.number_problem(value, title, _number_rule(prop, field))
    if isinstance(value, float) and not math.isfinite(value):
        return Message(N_("%(title)s不能是 NaN 或无穷大"), title=title)
    if isinstance(value, str):
        if prop.get("format") == "date":
            return inputs.date_problem(value, title, clock.local_today() if prop.get("x-not-after") == "today" else None)
        return inputs.text_problem(value, title, _long(prop))
    return None


def _problems(schema: Schema, data: dict[str, Any]) -> dict[str, str]:
    """Field → message for every value that cannot be stored, whatever the schema's own keywords say."""
    found = {field: _value_problem(value, _property(schema, field), field_title(schema, field), field)
             for field, value in data.items()}
    return {field: message for field, message in found.items() if message is not None}


def _messages(schema: Schema, error: ValidationError) -> list[tuple[str, str]]:
    """(field, Chinese message) for one schema error: one per missing field of a `required`, else one."""
    if error.validator != "required":
        return [_message(schema, error)]
    required = error.validator_value if isinstance(error.validator_value, list) else []
    instance = error.instance if isinstance(error.instance, dict) else {}
    missing = [f for f in required if f not in instance]
    if error.absolute_path:
        field = str(error.absolute_path[0])
        return [(field, Message(N_("%(title)s中缺少必填项：%(missing)s"), title=field_title(schema, field),
                                missing=joined([inputs.shown(name) for name in missing], ENUMERATION)))]
    return [(field, inputs.required_message(field_title(schema, field))) for field in missing]


_TEMPLATES = {  # the message of each schema keyword a form may use, by keyword
    "type": N_("%(title)s必须是%(value)s"),
    "minimum": N_("%(title)s不能小于%(value)s"),
    "exclusiveMinimum": N_("%(title)s必须大于%(value)s"),
    "maximum": N_("%(title)s不能大于%(value)s"),
    "exclusiveMaximum": N_("%(title)s必须小于%(value)s"),
    "minLength": N_("%(title)s不能为空"),
    "maxLength": N_("%(title)s不能超过%(value)s个字"),
    "format": N_("%(title)s格式不正确"),
    "pattern": N_("%(title)s的格式不符合要求"),
    "oneOf": N_("%(title)s不是有效选项"),
    "enum": N_("%(title)s不是有效选项"),
    "const": N_("%(title)s不是有效选项"),
}


def _message(schema: Schema, error: ValidationError) -> tuple[str, str]:
    """(field, Chinese message) for one schema error other than `required`."""
    if error.validator == "additionalProperties":
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        subschema = error.schema if isinstance(error.schema, Mapping) else {}
        extra = sorted(_additional(instance, subschema))
        name = inputs.shown(extra[0]) if extra else ""
        if error.absolute_path:
            field = str(error.absolute_path[0])
            return field, Message(N_("%(title)s中不允许提交未定义的字段“%(name)s”"), title=field_title(schema, field), name=name)
        return (extra[0] if extra else ""), Message(N_("不允许提交未定义的字段“%(name)s”"), name=name)
    field = str(error.absolute_path[0]) if error.absolute_path else ""
    title = field_title(schema, field)
    value = error.validator_value
    template = _TEMPLATES.get(str(error.validator))
    if template is None:
        return field, Message(N_("%(title)s：%(detail)s"), title=title, detail=error.message)
    if error.validator == "type":
        value = label(_TYPE_NAMES.get(str(value), str(value)))
    elif error.validator == "format" and value == "date":
        template = N_("%(title)s格式不正确（日期请按 YYYY-MM-DD 填写）")
    return field, Message(template, title=title, value=value)


def validate(schema: Schema, validator: Any, data: dict[str, Any]) -> None:
    """Raise InvalidInput mapping each failing field to its message; nothing is stored on failure.
    `validator` is validator_for(schema), which a loaded definition keeps per form."""
    errors = _problems(schema, data)
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        for field, message in _messages(schema, error):
            errors.setdefault(field or "_form", message)
    if errors:
        raise InvalidInput(errors)
