"""FEEL unary tests as dmn-js writes them: FEEL meaning when run, exact value sets, clear refusals."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from engine.workflow.feel import FeelError, check_kinds, literal_to_python, parse_literal, parse_unary_tests
from engine.workflow.sandbox import compile_feel, run_feel
from engine.workflow.sandbox.feel_lib import YearsMonths

UTC, BEIJING = timezone.utc, timezone(timedelta(hours=8))


def matches(cell: str, value: object) -> bool:
    """Run the translated cell as the decision engine does: checked and compiled for the sandbox, a type error is no match."""
    source = parse_unary_tests(cell).python()
    if source is None:
        return True
    try:
        return run_feel(compile_feel(source), {"dmninputexpr": value}) is True
    except TypeError:
        return False


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
    ('date("2024-01-31")', [(date(2024, 1, 31), True), (date(2024, 2, 1), False), (datetime(2024, 1, 31), False)]),
    ('[date("2024-01-01")..date("2024-12-31")]', [(date(2024, 6, 30), True), (date(2025, 1, 1), False)]),
    ('[date and time("2024-01-01T00:00:00")..date and time("2024-12-31T23:59:59")]', [
        (datetime(2024, 6, 30, 12), True), (datetime(2024, 12, 31, 23, 59, 59), True), (datetime(2025, 1, 1), False),
        (date(2024, 6, 30), False), (datetime(2024, 6, 30, tzinfo=UTC), False),
    ]),
    ('> date and time("2024-01-01T00:00:00Z")', [
        (datetime(2024, 1, 1, 8, 0, 1, tzinfo=BEIJING), True), (datetime(2024, 1, 1, 8, tzinfo=BEIJING), False), (datetime(2024, 6, 1), False),
    ]),
    ('date and time("2024-01-01T08:00:00@Asia/Shanghai")', [(datetime(2024, 1, 1, tzinfo=UTC), True), (datetime(2024, 1, 1, 8), False)]),
    ('not(< date and time("2024-01-01T00:00:00"))', [
        (datetime(2024, 1, 1), True), (datetime(2023, 12, 31), False), (datetime(2024, 6, 1, tzinfo=UTC), False), (None, False),
    ]),
    ('>= duration("P30D")', [(timedelta(days=30), True), (timedelta(days=29, hours=23), False), (YearsMonths(2), False), (None, False)]),
    ('< duration("P1Y")', [(YearsMonths(11), True), (YearsMonths(12), False), (timedelta(days=1), False)]),
    ('[duration("P1D")..duration("PT168H")[', [(timedelta(days=1), True), (timedelta(days=6, hours=23), True), (timedelta(days=7), False)]),
    ('not(duration("P1D"), duration("P2D"))', [(timedelta(days=1), False), (timedelta(days=3), True), (YearsMonths(1), False), (None, False)]),
    ('time("09:30:00"), > time("18:00:00")', [(time(9, 30), True), (time(19), True), (time(12), False), (time(19, tzinfo=UTC), False)]),
    ('@"2024-01-31", null', [(date(2024, 1, 31), True), (None, True), (date(2024, 1, 30), False)]),
    ('not(5, "a")', [(6, False), ("b", False), (5, False)]),
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
        ('date and time("2024-13-01T00:00:00")', "不是有效日期时间"),
        ('date and time("2024-01-01T10:00:00@Mars/Olympus")', "不是有效日期时间"),
        ('duration("P1Y2D")', "不是有效时长"),
        ('time("25:00:00")', "不是有效时间"),
        ("date and time(2024)", "中应为一个带引号的日期时间"),
        ('date(2024, 1, 31)', "中应为一个带引号的日期"),
        ('@"soon"', "不是有效日期、时间或时长"),
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
        ('< duration("P1Y")', "days and time duration", "是年月时长（年、月），与该列的日时长（天、时、分、秒）类型不符"),
        ('>= duration("P30D")', "years and months duration", "是日时长（天、时、分、秒），与该列的年月时长（年、月）类型不符"),
        ('date("2024-01-01")', "date and time", "是日期，与该列的日期时间类型不符"),
        ('[duration("P1D")..duration("P1Y")]', None, "区间两端类型不一致"),
        ('[date and time("2024-01-01T00:00:00Z")..date and time("2024-12-31T00:00:00")]', None, "一个带时区或时差、一个不带"),
    ],
)
def test_cells_of_the_wrong_type_are_refused(cell: str, kind: str | None, message: str) -> None:
    with pytest.raises(FeelError) as err:
        check_kinds(parse_unary_tests(cell), kind)
    assert message in str(err.value)


TEXT_INPUTS = [
    ('date("2024-01-31")', "2024-01-31", True),
    ('date("2024-01-31")', "2024-01-31T00:00:00", False),
    ('< date and time("2024-06-01T00:00:00")', "2024-05-31T23:59:59", True),
    ('< date and time("2024-06-01T00:00:00")', "2024-05-31T23:59:59Z", False),
    ('>= duration("P30D")', "P30D", True),
    ('< duration("P1Y")', "P11M", True),
    ('< duration("P1Y")', "P300D", False),
    ('time("09:30:00")', "09:30:00", True),
    ('not(date("2024-01-31"))', "31/01/2024", False),
]


@pytest.mark.parametrize("cell,text,expected", TEXT_INPUTS)
def test_iso_text_inputs_are_read_by_the_cell_literals_constructor(cell: str, text: str, expected: bool) -> None:
    """Process data keeps dates and years-and-months durations as ISO text; text the constructor cannot read is a string."""
    assert matches(cell, text) is expected


def test_temporal_cells_compile_to_feel_library_calls_only() -> None:
    source = parse_unary_tests('[date and time("2024-01-01T00:00:00")..date and time("2024-12-31T23:59:59")]').python()
    assert source == (
        "feel_in(feel_cell_input('date and time', dmninputexpr), [feel_range(feel_call('date and time', ['2024-01-01T00:00:00'], {}), True, "
        "feel_call('date and time', ['2024-12-31T23:59:59'], {}), True)]) is True"
    )


def test_outputs_are_single_literals() -> None:
    assert literal_to_python('"T1"') == "'T1'"
    assert literal_to_python("20.5") == "20.5"
    assert literal_to_python("true") == "True"
    assert literal_to_python('duration("P30D")') == "feel_call('duration', ['P30D'], {})"
    assert parse_literal('date and time("2024-01-01T09:00:00+08:00")').value == datetime(2024, 1, 1, 1, tzinfo=UTC)
    assert parse_literal('@"P1Y6M"').value == YearsMonths(18)
    for bad, message in (('"a" + "b"', "不是单个字面值"), ("", "输出单元格为空"), ("tier", "不是字面值")):
        with pytest.raises(FeelError) as err:
            literal_to_python(bad)
        assert message in str(err.value)
