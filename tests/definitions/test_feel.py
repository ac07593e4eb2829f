"""FEEL unary tests as dmn-js writes them: FEEL meaning when run, exact value sets, clear refusals."""
from __future__ import annotations

from decimal import Decimal

import pytest

from engine.workflow.feel import FeelError, check_kinds, literal_to_python, parse_unary_tests
from engine.workflow.sandbox import SCRIPT_ENGINE


def matches(cell: str, value: object) -> bool:
    """Run the translated cell through the sandboxed script engine, as the DMN engine does."""
    source = parse_unary_tests(cell).python()
    if source is None:
        return True
    return bool(SCRIPT_ENGINE.environment.evaluate(source, {"dmninputexpr": value}))


CELLS = [
    ("[20..50]", [(20, True), (50, True), (19.99, False), (50.01, False), (35, True)]),
    ("]20..50]", [(20, False), (20.01, True), (50, True), (50.5, False)]),
    ("(20..50)", [(20, False), (49.9, True), (50, False)]),
    ("[20..50[", [(20, True), (50, False)]),
    ("> 50", [(50, False), (50.1, True)]),
    ("<= 30", [(30, True), (30.01, False), (-5, True)]),
    (">= 3", [(3, True), (2.99, False)]),
    ("20", [(20, True), (20.5, False)]),
    ("= 20", [(20, True), (21, False)]),
    ("-5", [(-5, True), (5, False)]),
    ("< 0.5", [(0.49, True), (0.5, False)]),
    ('"a","b"', [("a", True), ("b", True), ("c", False)]),
    ('"industrial"', [("industrial", True), ("tourism", False)]),
    ('not("a")', [("a", False), ("b", True), (None, False)]),
    ('not("a","b")', [("a", False), ("b", False), ("c", True)]),
    ("not(> 50)", [(50, True), (51, False)]),
    ("-", [(1, True), ("x", True), (None, True)]),
    ("", [(1, True), (None, True)]),
    ("true", [(True, True), (False, False), (1, False)]),
    ("false", [(False, True), (True, False), (0, False)]),
    ("null", [(None, True), (0, False)]),
    ("< 10, > 20", [(5, True), (15, False), (25, True)]),
    ('date("2024-01-31")', [("2024-01-31", True), ("2024-02-01", False)]),
    ('[date("2024-01-01")..date("2024-12-31")]', [("2024-06-30", True), ("2025-01-01", False)]),
    ('"what?"', [("what?", True), ("what", False)]),
    ('"say \\"hi\\""', [('say "hi"', True)]),
]


@pytest.mark.parametrize("cell,samples", CELLS)
def test_cells_mean_what_feel_says(cell: str, samples: list[tuple[object, bool]]) -> None:
    for value, expected in samples:
        assert matches(cell, value) is expected, (cell, value)


@pytest.mark.parametrize("cell,samples", CELLS)
def test_value_sets_agree_with_evaluation(cell: str, samples: list[tuple[object, bool]]) -> None:
    values = parse_unary_tests(cell).value_set()
    for value, expected in samples:
        probe = Decimal(str(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
        if isinstance(value, (int, float)) and not isinstance(value, bool) and cell in ("true", "false"):
            continue  # a number never equals a boolean literal; the set model only holds booleans there
        assert values.contains(probe) is expected, (cell, value)


@pytest.mark.parametrize(
    "cell,message",
    [
        ("30 < ? <= 50", "不要写 ? 或 Python 表达式"),
        ("x > 5", "不支持引用变量或函数"),
        ("[1..", "条件不完整"),
        ('"a",', "逗号后缺少条件"),
        ("not(", "条件不完整"),
        ('"abc', "字符串缺少结束引号"),
        ("1 + 2", "多余的“+”"),
        ("[1,2]", "此处应为“..”"),
        ('date("2024-13-01")', "不是有效日期"),
        ('date and time("2024-01-01T10:00:00")', "暂不支持日期时间"),
        ('duration("P1D")', "暂不支持时长"),
        ('time("10:00:00")', "暂不支持时间"),
        ("abs(-5)", "不是字面值"),
    ],
)
def test_cells_not_understood_are_refused_with_a_reason(cell: str, message: str) -> None:
    with pytest.raises(FeelError) as err:
        parse_unary_tests(cell)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "cell,kind,message",
    [
        ('"30"', "number", "是字符串，与该列的数字类型不符"),
        ("30", "string", "是数字，与该列的字符串类型不符"),
        ("[1..2]", "boolean", "布尔列只能填写"),
        ("> true", None, "true/false 不能用于大小比较"),
        ("< null", None, "null 只能直接填写"),
        ('[1.."b"]', None, "区间两端类型不一致"),
    ],
)
def test_cells_of_the_wrong_type_are_refused(cell: str, kind: str | None, message: str) -> None:
    with pytest.raises(FeelError) as err:
        check_kinds(parse_unary_tests(cell), kind)
    assert message in str(err.value)


def test_outputs_are_single_literals() -> None:
    assert literal_to_python('"T1"') == "'T1'"
    assert literal_to_python("20.5") == "20.5"
    assert literal_to_python("true") == "True"
    for bad, message in (('"a" + "b"', "不是单个字面值"), ("", "输出单元格为空"), ("tier", "不是字面值")):
        with pytest.raises(FeelError) as err:
            literal_to_python(bad)
        assert message in str(err.value)
