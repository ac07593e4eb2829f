"""Date and time, time and duration columns as dmn-js writes them: FEEL meaning when run, deploy checks, refusals naming the cell."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from engine.projects import lifecycle
from engine.platform.config import PROJECT_ROOT
from engine.platform.db import Database
from engine.platform.errors import DefinitionInvalid
from engine.workflow import definitions
from engine.workflow.decide import as_text
from engine.workflow.decision_cases import DecisionRunner
from engine.workflow.dmn_check import Variable, check_dmn
from engine.workflow.parser import parse_xml
from engine.workflow.sandbox.feel_lib import YearsMonths
from tests.definitions.dmn_builder import Out, Table, single

YEAR_2024 = '[date and time("2024-01-01T00:00:00")..date and time("2024-12-31T23:59:59")]'
TERMS = single(Table(
    ["signed_at", "overdue", "term"],
    [Out("level", "string"), Out("follow_up", "dateTime"), Out("grace", "dayTimeDuration")],
    [
        ([YEAR_2024, '>= duration("P30D")', "-"], ['"催办"', 'date and time("2025-01-15T09:00:00")', 'duration("P7D")']),
        ([YEAR_2024, '< duration("P30D")', '< duration("P1Y")'], ['"短期"', "null", 'duration("PT12H")']),
        ([YEAR_2024, '< duration("P30D")', 'not(< duration("P1Y"))'], ['"长期"', "null", 'duration("P1DT6H")']),
        ([f"not({YEAR_2024})", "-", 'duration("P1Y"), duration("P2Y")'], ['"跨年"', '@"2024-01-01T00:00:00"', "null"]),
    ],
    types=["dateTime", "dayTimeDuration", "yearMonthDuration"],
), "terms", "合同期限")

EVALUATIONS = [
    ("datetime, timedelta and FEEL values", {"signed_at": datetime(2024, 3, 1, 10), "overdue": timedelta(days=45), "term": YearsMonths(6)},
     {"level": "催办", "follow_up": datetime(2025, 1, 15, 9), "grace": timedelta(days=7)}),
    ("ISO text as process data keeps it", {"signed_at": "2024-03-01T10:00:00", "overdue": "P10D", "term": "P6M"},
     {"level": "短期", "follow_up": None, "grace": timedelta(hours=12)}),
    ("the range's closed end", {"signed_at": datetime(2024, 12, 31, 23, 59, 59), "overdue": timedelta(days=29), "term": "P2Y"},
     {"level": "长期", "follow_up": None, "grace": timedelta(days=1, hours=6)}),
    ("not(range) and a list", {"signed_at": datetime(2023, 6, 1), "overdue": None, "term": "P1Y"},
     {"level": "跨年", "follow_up": datetime(2024, 1, 1), "grace": None}),
    ("a zoned input against local literals is null, no match", {"signed_at": datetime(2024, 3, 1, tzinfo=timezone.utc), "overdue": timedelta(days=45)}, None),
    ("a date is not a date and time", {"signed_at": date(2024, 3, 1), "overdue": timedelta(days=45)}, None),
    ("a days duration is not a years-and-months one", {"signed_at": datetime(2024, 3, 1), "overdue": timedelta(days=1), "term": "P400D"}, None),
]


@pytest.mark.parametrize("label,inputs,expected", EVALUATIONS, ids=[e[0] for e in EVALUATIONS])
def test_temporal_columns_evaluate_as_feel(label: str, inputs: dict[str, Any], expected: Any) -> None:
    assert DecisionRunner({"terms.dmn": TERMS}).graph.evaluate("terms", inputs) == expected


def test_outputs_reach_process_data_as_storable_values() -> None:
    data = DecisionRunner({"terms.dmn": TERMS}).run("terms", {"signed_at": "2023-06-01T00:00:00", "term": "P2Y"})
    assert data == {"level": "跨年", "follow_up": datetime(2024, 1, 1), "grace": None}
    assert [as_text(v) for v in (datetime(2024, 1, 1), timedelta(days=7), YearsMonths(18), date(2024, 1, 31))] == [
        "2024-01-01T00:00:00", "P7D", "P1Y6M", "2024-01-31"]


def test_a_temporal_table_deploys_with_its_cases_and_passes_the_unique_check(sqlite_db: Database) -> None:
    cases = {"decision": "terms", "cases": [
        {"name": "逾期", "inputs": {"signed_at": "2024-05-01T08:00:00", "overdue": "P31D", "term": "P3M"},
         "expected": {"level": "催办", "follow_up": "2025-01-15T09:00:00", "grace": "P7D"}},
        {"name": "长期", "inputs": {"signed_at": "2024-05-01T08:00:00", "overdue": "PT5H", "term": "P1Y6M"},
         "expected": {"level": "长期", "grace": "P1DT6H"}},
    ]}
    files = {**definitions.read_bundle(PROJECT_ROOT / "bpmn"), "terms.dmn": TERMS,
             "terms.cases.json": json.dumps(cases, ensure_ascii=False)}
    with sqlite_db.session() as s:
        row, created = definitions.deploy(s, files, lifecycle.LIFECYCLE)
    assert created and "terms.dmn" in row.files
    cases["cases"][1]["expected"]["grace"] = "PT12H"
    with pytest.raises(DefinitionInvalid) as err:
        with sqlite_db.session() as s:
            definitions.deploy(s, {**files, "terms.cases.json": json.dumps(cases, ensure_ascii=False)}, lifecycle.LIFECYCLE)
    assert '期望 level="长期"，grace="PT12H"，实际 level="长期"，grace="P1DT6H"' in err.value.problems[0]["message"]


def problems_of(table: Table) -> list[dict[str, str]]:
    """The deploy-time table checks of a one-table file that no process calls."""
    return check_dmn(parse_xml(single(table), "t.dmn"), "t.dmn", None).problems


def test_overlapping_unique_rules_over_a_duration_column_are_named_with_a_witness() -> None:
    rules = [(['>= duration("P30D")'], ['"A"']), (['[duration("P7D")..duration("P30D")]'], ['"B"']), (['< duration("P7D")'], ['"C"'])]
    problems = problems_of(Table(["overdue"], [Out("level")], rules, types=["dayTimeDuration"]))
    assert [p["element"] for p in problems] == ["r2"]
    assert '规则 r1（第1行）与规则 r2（第2行）重叠：输入 overdue=duration("P30D") 同时满足这两条规则' in problems[0]["message"]
    rules[1] = (['[duration("P7D")..duration("P30D")['], ['"B"'])
    assert problems_of(Table(["overdue"], [Out("level")], rules, types=["dayTimeDuration"])) == []


def test_overlaps_are_found_inside_a_kind_and_never_across_kinds() -> None:
    times = [([YEAR_2024], ['"A"']), (['> date and time("2024-12-31T23:59:58")'], ['"B"'])]
    problems = problems_of(Table(["signed_at"], [Out("level")], times, types=["dateTime"]))
    assert 'signed_at=date and time("2024-12-31T23:59:59")' in problems[0]["message"]
    mixed = [(['< duration("P1Y")'], ['"A"']), (['< duration("P30D")'], ['"B"']), (['> date and time("2024-01-01T00:00:00Z")'], ['"C"']),
             (['> date and time("2024-01-01T00:00:00")'], ['"D"'])]
    assert problems_of(Table(["anything"], [Out("level")], mixed)) == []


BAD_CELLS = [
    ("a date and time that does not exist", 'date and time("2024-13-01T00:00:00")', "dateTime",
     "规则 r1（第1行）的“x”列：“date and time(\"2024-13-01T00:00:00\")”：2024-13-01T00:00:00 不是有效日期时间"),
    ("a duration mixing years and days", '< duration("P1Y2D")', "", "P1Y2D 不是有效时长"),
    ("a years-and-months duration in a days column", '< duration("P1Y")', "dayTimeDuration", "是年月时长（年、月），与该列的日时长（天、时、分、秒）类型不符"),
    ("no date between two consecutive days", ']date("2024-01-01")..date("2024-01-02")[', "date", "没有任何值"),
    ("not() over two kinds matches nothing", 'not(duration("P1D"), duration("P1M"))', "", "没有任何值"),
]


@pytest.mark.parametrize("label,cell,type_ref,message", BAD_CELLS, ids=[b[0] for b in BAD_CELLS])
def test_cells_feel_does_not_allow_are_refused_naming_the_cell(label: str, cell: str, type_ref: str, message: str) -> None:
    problems = problems_of(Table(["x"], [Out("y")], [([cell], ['"a"'])], types=[type_ref]))
    assert [p["element"] for p in problems] == ["r1i0"] and message in problems[0]["message"], problems


def test_output_literals_are_checked_against_their_column() -> None:
    table = Table(["x"], [Out("due", "dateTime")], [(["1"], ['date and time("2024-02-30T00:00:00")']), (["2"], ['duration("P1D")'])])
    messages = {p["element"]: p["message"] for p in problems_of(table)}
    assert "规则 r1（第1行）的输出“due”" in messages["r1o0"] and "2024-02-30T00:00:00 不是有效日期时间" in messages["r1o0"]
    assert 'duration("P1D") 是日时长（天、时、分、秒），与输出列的日期时间类型不符' in messages["r2o0"]


def test_a_date_fields_allowed_values_are_read_as_dates() -> None:
    """A form's date field keeps ISO text, and its enum is compared with the date cells as dates."""
    field = {"opened_on": Variable("opened_on", "date", ("2024-01-01", "2024-07-01"), "表单 intake.schema.json 的字段")}
    table = Table(["opened_on"], [Out("half")], [(['date("2024-01-01")'], ['"H1"']), (['date("2024-07-02")'], ['"H2"'])], types=["date"])
    problems = check_dmn(parse_xml(single(table), "t.dmn"), "t.dmn", field).problems
    assert [p["element"] for p in problems] == ["r2i0"]
    assert 'date("2024-07-02") 不是该列的可选值（可选：date("2024-01-01")、date("2024-07-01")）' in problems[0]["message"]
