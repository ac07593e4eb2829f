"""The one reader of submitted values: numbers that fit their column, plausible dates, text without control
characters, and form patterns checked by RE2 (linear time)."""
from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest

from engine.workflow import forms
from engine.platform import inputs
from engine.projects import record
from engine.platform.errors import InvalidInput

LAND = record.number_rule("land_mu")
MONEY = record.number_rule("total_investment")


@pytest.mark.parametrize(
    "text", ["NaN", "nan", "Infinity", "-Infinity", "inf", "1e400", "1e308", "9" * 400, "１２３", "١٢٣", "1_000", "0x10",
             "1,000", "¹²", "", " ", "--1", "1e", ".", "1e99999"],
)
def test_only_ascii_numbers_a_column_could_hold_are_read(text: str) -> None:
    assert inputs.read_decimal(text) is None


@pytest.mark.parametrize(("text", "value"), [("40", Decimal(40)), (" 12.5 ", Decimal("12.5")), ("-0", Decimal(0)),
                                             ("1e3", Decimal(1000)), (".5", Decimal("0.5")), ("+3", Decimal(3))])
def test_plain_numbers_read_as_before(text: str, value: Decimal) -> None:
    assert inputs.read_decimal(text) == value
    assert str(inputs.read_decimal("-0")) == "0"


def test_a_column_gives_the_range_and_the_message_names_field_and_range() -> None:
    assert (LAND.minimum, LAND.maximum, LAND.places) == (Decimal(0), Decimal("99999999.99"), 2)
    assert MONEY.maximum == Decimal("999999999999.99")
    assert inputs.number_problem("99999999999", "用地面积", LAND) == "用地面积必须是0到99999999.99之间的数字（亩），收到“99999999999”"
    assert inputs.number_problem(float("nan"), "用地面积", LAND) == "用地面积必须是0到99999999.99之间的数字（亩），收到“NaN”"
    assert inputs.number_problem("12.345", "用地面积", LAND) == "用地面积最多保留2位小数，收到“12.345”"
    assert inputs.number_problem(1e12, "利用外资", MONEY) is not None and inputs.number_problem(12.5, "利用外资", MONEY) is None
    assert inputs.number_problem(10**5000, "利用外资", MONEY) is not None
    assert inputs.number_problem(True, "利用外资", MONEY) is not None and inputs.number_problem([1], "利用外资", MONEY) is not None


@pytest.mark.parametrize(("text", "problem"), [
    ("0001-01-01", "须在"), ("9999-12-31", "须在"), ("1989-12-31", "须在"), ("2101-01-01", "须在"), ("2026-02-30", "不是有效日期"),
    ("2026-13-01", "不是有效日期"), ("yesterday", "格式"), ("2026/05/01", "格式"), ("20260501", "格式"), ("２０２６-０５-０１", "格式"),
    ("2026-05-01T00:00", "格式"), (" 2026-05-01", "格式"),
])
def test_dates_are_real_and_plausible(text: str, problem: str) -> None:
    message = inputs.date_problem(text, "签约日期")
    assert message is not None and message.startswith("签约日期") and problem in message
    assert inputs.date_problem("2026-05-01", "签约日期") is None


def test_control_characters_are_refused_line_breaks_only_in_long_text() -> None:
    for text in ("a\x00b", "\x1b[31m", "\x7f", "\x85", "\ud800"):
        assert inputs.text_problem(text, "意见", multiline=True) is not None, repr(text)
    for text in ("a\nb", "a\r\nb", "a\tb"):
        assert inputs.text_problem(text, "联系人") == "联系人不能包含换行符或制表符"
        assert inputs.text_problem(text, "意见", multiline=True) is None
    assert inputs.text_problem("名称\x00", "项目名称") == "项目名称不能包含控制字符（U+0000）"
    assert inputs.shown("a\x00b") == "a\\u0000b" and inputs.shown("长" * 30) == "长" * 20 + "…"


def test_ids_and_whole_numbers_are_ascii_and_fit_an_integer_column() -> None:
    assert [inputs.whole_number(t) for t in ("12", "１２", "1_0", "-1", "99999999999", "")] == [12, None, None, None, None, None]
    assert [inputs.identifier(v) for v in (7, "7", " 7 ", True, 0, 2**40, "7.0", None)] == [7, 7, 7, None, None, None, None, None]


def test_a_catastrophic_pattern_runs_in_linear_time() -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "title": "项目代码", "pattern": "^(a+)+$"},
                                               "tags": {"type": "object", "patternProperties": {"^(a|aa)+$": {"type": "integer"}},
                                                        "additionalProperties": False}}}
    started = time.perf_counter()
    with pytest.raises(InvalidInput) as bad:
        forms.validate(schema, forms.validator_for(schema), {"code": "a" * 50 + "!", "tags": {"a" * 60 + "!": 1}})
    assert time.perf_counter() - started < 0.5
    assert bad.value.errors["code"] == "项目代码的格式不符合要求" and "tags" in bad.value.errors
    forms.validate(schema, forms.validator_for(schema), {"code": "aaa", "tags": {"aaaa": 1}})


def test_pattern_problems_name_what_re2_cannot_compile() -> None:
    schema = {"properties": {"a": {"type": "string", "pattern": r"(a)\1"}, "b": {"type": "string", "pattern": "^[0-9]+$"},
                             "c": {"type": "object", "patternProperties": {"(?=x)": {}}},
                             "d": {"const": {"pattern": r"(a)\1"}}}}
    problems = forms.pattern_problems(schema)
    assert [path for path, _ in problems] == ["/properties/a/pattern", "/properties/c/patternProperties/(?=x)"]
    assert all("RE2" in message and "反向引用" in message for _, message in problems)
    assert forms.pattern_problems({"unevaluatedProperties": False, "patternProperties": {"^x": {}}})[0][0] == "/unevaluatedProperties"


def test_the_regex_format_and_a_pattern_re2_refuses_never_reach_pythons_re() -> None:
    schema = {"type": "object", "properties": {"rule": {"type": "string", "format": "regex"},
                                               "code": {"type": "string", "pattern": r"(a)\1"}}}
    with pytest.raises(InvalidInput) as bad:
        forms.validate(schema, forms.validator_for(schema), {"rule": "(a)\\1", "code": "aa"})
    assert set(bad.value.errors) == {"rule", "code"}


@pytest.mark.parametrize("number", ["13812345678", "138 1234 5678", "+86 138 1234 5678", "0571-88881234", "057188881234",
                                    "0579-8466123", "010-62751234", "0571-88881234-802", "0571-88881234转802",
                                    "(0571)88881234", "+86 571 88881234", "400-820-1234", "4008201234", ""])
def test_chinese_mobile_landline_and_service_numbers_are_accepted(number: str) -> None:
    assert inputs.phone_problem(number, "联系电话") is None


@pytest.mark.parametrize("number", ["12", "1381234567", "138123456789", "12812345678", "0571-1234567", "0571-0888123",
                                    "88881234", "0571-88", "phone", "+1 650 253 0000", "0571-88881234-"])
def test_other_contact_numbers_are_refused_with_the_expected_forms(number: str) -> None:
    message = inputs.phone_problem(number, "联系电话")
    assert message is not None and message.startswith("联系电话格式不正确") and "13812345678" in message and "0571-88888888" in message
    errors: dict[str, str] = {}
    assert inputs.phone(number, "contact_phone", "联系电话", 40, errors) == "" and errors["contact_phone"] == message


def test_a_date_that_already_happened_may_not_lie_after_today() -> None:
    today = date(2026, 12, 7)
    assert inputs.date_problem("2026-12-07", "签约日期", latest=today) is None
    assert inputs.date_problem("2026-12-08", "签约日期", latest=today) == "签约日期不能晚于今天（2026-12-07），收到“2026-12-08”"
    assert inputs.date_problem("2027-01-01", "签约日期") is None  # a date that may lie ahead (a plan) has no such bound

