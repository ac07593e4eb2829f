"""Decisions as the DMN 1.3 specification says: hit policies and result shapes (8.2.11), default outputs (8.3.2),
null in unary tests (10.3.2.9), requirements (6.3), FEEL literal expressions (chapter 10), names of outputs."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.workflow.decision_cases import DecisionError, DecisionRunner
from tests.definitions.dmn_builder import D, Out, Table, dmn, single

AGE_RISK = ["Age", "Risk"]


def evaluate(text: str, decision: str = "d", **inputs: Any) -> Any:
    """The DMN result of `decision` in a one-file bundle."""
    return DecisionRunner({"t.dmn": text}).results(decision, inputs)[decision]


def approval(policy: str, aggregation: str = "") -> str:
    """The TCK-style approval table: rules overlap for adults of low or medium risk."""
    return single(Table(AGE_RISK, [Out("Status", values='"Approved", "Declined"'), Out("Rate", values='"Best", "Standard"')], [
        ([">= 18", '"Low"'], ['"Approved"', '"Best"']),
        ([">= 18", '"Low", "Medium"'], ['"Approved"', '"Standard"']),
        (["< 18", "-"], ['"Declined"', '"Standard"']),
        (["-", '"High"'], ['"Declined"', '"Standard"']),
    ], policy, aggregation))


BEST = {"Status": "Approved", "Rate": "Best"}
STANDARD = {"Status": "Approved", "Rate": "Standard"}
DECLINED = {"Status": "Declined", "Rate": "Standard"}

HIT_POLICIES = [
    ("FIRST takes the first matching rule", "FIRST", {"Age": 30, "Risk": "Low"}, BEST),
    ("FIRST with one match", "FIRST", {"Age": 30, "Risk": "Medium"}, STANDARD),
    ("FIRST without a match is null", "FIRST", {"Age": 30, "Risk": "None"}, None),
    ("PRIORITY takes the highest-priority output", "PRIORITY", {"Age": 30, "Risk": "Low"}, BEST),
    ("PRIORITY ranks the first output first", "PRIORITY", {"Age": 10, "Risk": "High"}, DECLINED),
    ("RULE ORDER lists every hit in rule order", "RULE ORDER", {"Age": 30, "Risk": "Low"}, [BEST, STANDARD]),
    ("RULE ORDER with no hit is an empty list", "RULE ORDER", {"Age": 30, "Risk": "None"}, []),
    ("RULE ORDER with one hit is a one-item list", "RULE ORDER", {"Age": 30, "Risk": "Medium"}, [STANDARD]),
    ("OUTPUT ORDER sorts hits by output priority", "OUTPUT ORDER", {"Age": 10, "Risk": "High"}, [DECLINED, DECLINED]),
    ("OUTPUT ORDER puts Best before Standard", "OUTPUT ORDER", {"Age": 30, "Risk": "Low"}, [BEST, STANDARD]),
    ("COLLECT lists every hit", "COLLECT", {"Age": 30, "Risk": "Low"}, [BEST, STANDARD]),
    ("COLLECT with no hit is an empty list", "COLLECT", {"Age": 30, "Risk": "None"}, []),
    ("UNIQUE with one hit gives a context", "UNIQUE", {"Age": 30, "Risk": "Medium"}, STANDARD),
    ("UNIQUE without a hit is null", "UNIQUE", {"Age": 30, "Risk": "None"}, None),
    ("ANY with agreeing hits gives their output", "ANY", {"Age": 10, "Risk": "High"}, DECLINED),
]


@pytest.mark.parametrize("label,policy,inputs,expected", HIT_POLICIES, ids=[h[0] for h in HIT_POLICIES])
def test_hit_policies_give_dmn_result_shapes(label: str, policy: str, inputs: dict[str, Any], expected: Any) -> None:
    assert evaluate(approval(policy), **inputs) == expected


def test_unique_with_two_hits_fails_naming_the_rules() -> None:
    with pytest.raises(DecisionError, match="UNIQUE.*r1、r2"):
        evaluate(approval("UNIQUE"), Age=30, Risk="Low")


def test_any_with_disagreeing_hits_fails_naming_the_rules() -> None:
    with pytest.raises(DecisionError, match="ANY.*r1、r2"):
        evaluate(approval("ANY"), Age=30, Risk="Low")


def points(aggregation: str, policy: str = "COLLECT") -> str:
    """Points by years: every threshold passed adds a line."""
    return single(Table(["Years"], [Out("Points", "number")], [
        ([">1"], ["100"]), ([">2"], ["200"]), ([">3"], ["300"]), ([">5"], ["500"]), ([">3"], ["300"]),
    ], policy, aggregation))


AGGREGATIONS = [
    ("SUM adds every hit", "SUM", 4, 900),
    ("SUM without a hit is null", "SUM", 1, None),
    ("MIN", "MIN", 6, 100),
    ("MAX", "MAX", 6, 500),
    ("MIN without a hit is null", "MIN", 0, None),
    ("COUNT counts hits", "COUNT", 4, 4),
    ("COUNT without a hit is 0", "COUNT", 1, 0),
    ("no aggregation lists the values", "", 4, [100, 200, 300, 300]),
    ("single output list of one", "", 2, [100]),
]


@pytest.mark.parametrize("label,aggregation,years,expected", AGGREGATIONS, ids=[a[0] for a in AGGREGATIONS])
def test_collect_aggregations(label: str, aggregation: str, years: int, expected: Any) -> None:
    assert evaluate(points(aggregation), Years=years) == expected


def test_a_single_output_gives_a_value_and_unnamed_takes_the_decision_name() -> None:
    text = single(Table(["x"], [Out(None)], [(["> 0"], ['"positive"']), (["<= 0"], ['"other"'])]), "sign", "Sign")
    runner = DecisionRunner({"t.dmn": text})
    assert runner.run("sign", {"x": 3}) == {"Sign": "positive"}
    assert runner.results("sign", {"x": 3})["Sign"] == "positive"


def test_output_names_that_are_not_identifiers_are_kept() -> None:
    text = single(Table(["x"], [Out("Approved/Declined"), Out("Rate %")], [(["-"], ['"Approved"', "5"])]))
    assert evaluate(text, x=1) == {"Approved/Declined": "Approved", "Rate %": 5}


DEFAULTS = [
    ("no match gives the default output", {"x": 99}, "low"),
    ("a match gives the rule's output", {"x": 1}, "one"),
    ("a null input falls to the default", {"x": None}, "low"),
]


@pytest.mark.parametrize("label,inputs,expected", DEFAULTS, ids=[d[0] for d in DEFAULTS])
def test_default_output_entries(label: str, inputs: dict[str, Any], expected: Any) -> None:
    text = single(Table(["x"], [Out("level", default='"low"')], [(["1"], ['"one"'])]))
    assert evaluate(text, **inputs) == expected


def test_defaults_of_several_outputs_form_a_context() -> None:
    text = single(Table(["x"], [Out("a", default='"A"'), Out("b", default="0")], [(["1"], ['"one"', "1"])], "FIRST"))
    assert evaluate(text, x=2) == {"a": "A", "b": 0}


def test_a_multi_hit_table_with_defaults_gives_the_default_row() -> None:
    text = single(Table(["x"], [Out("a", default='"none"')], [(["1"], ['"one"'])], "COLLECT"))
    assert evaluate(text, x=2) == ["none"]


NULLS = [
    ("dash matches null", "-", None, True),
    ("dash matches a value", "-", 5, True),
    ("a comparison with null is no match", "< 10", None, False),
    ("a range with null is no match", "[1..10]", None, False),
    ("an equality with null is no match", "5", None, False),
    ("null matches null", "null", None, True),
    ("null does not match a value", "null", 5, False),
    ("not(null) matches a value", "not(null)", 5, True),
    ("not(null) does not match null", "not(null)", None, False),
    ("not(5) does not match null", "not(5)", None, False),
    ("a string against a number is no match", "< 10", "abc", False),
    ("a list of values", "1, 2, 3", 2, True),
    ("a list of values without the value", "1, 2, 3", 4, False),
    ("an open range end", "]1..10]", 1, False),
    ("a closed range end", "[1..10]", 1, True),
    ("a string", '"a"', "a", True),
    ("a negated list", 'not("a", "b")', "c", True),
    ("a negated list hit", 'not("a", "b")', "a", False),
    ("a boolean", "true", True, True),
    ("a boolean mismatch", "true", False, False),
]


@pytest.mark.parametrize("label,cell,value,matches", NULLS, ids=[n[0] for n in NULLS])
def test_unary_tests_and_null(label: str, cell: str, value: Any, matches: bool) -> None:
    text = single(Table(["x"], [Out("hit")], [([cell], ["true"])], "FIRST"))
    assert evaluate(text, x=value) == (True if matches else None)


def test_a_missing_input_is_null_not_an_error() -> None:
    text = single(Table(["x", "y"], [Out("hit")], [(["-", "-"], ['"any"'])]))
    assert evaluate(text) == "any"


def chain() -> str:
    """Land class from area, tier from land class and category: a two-level DRG."""
    land = D("land", Table(["area"], [Out("class")], [(["<= 30"], ['"small"']), (["> 30"], ['"large"'])]), "Land Class", inputs=["area"])
    tier = D("tier", Table(["Land Class", "category"], [Out("tier")], [
        (['"small"', "-"], ['"T1"']), (['"large"', '"industrial"'], ['"T2"']), (['"large"', 'not("industrial")'], ['"T3"']),
    ]), "Tier", requires=["land"], inputs=["category"])
    return dmn(land, tier, input_data=("area", "category"))


DRG = [
    ("small land", {"area": 10, "category": "x"}, "T1"),
    ("large industrial", {"area": 40, "category": "industrial"}, "T2"),
    ("large other", {"area": 40, "category": "services"}, "T3"),
    ("missing area", {"category": "services"}, None),
]


@pytest.mark.parametrize("label,inputs,expected", DRG, ids=[d[0] for d in DRG])
def test_required_decisions_are_evaluated_first_and_visible_by_name(label: str, inputs: dict[str, Any], expected: Any) -> None:
    runner = DecisionRunner({"t.dmn": chain()})
    assert runner.results("tier", inputs)["Tier"] == expected


def test_each_decision_is_evaluated_once() -> None:
    base = D("base", "count([1, 2, 3])", "Base")
    left = D("left", "Base + 1", "Left", requires=["base"])
    right = D("right", "Base * 2", "Right", requires=["base"])
    top = D("top", "Left + Right", "Top", requires=["left", "right"])
    runner = DecisionRunner({"t.dmn": dmn(base, left, right, top)})
    results = runner.results("top", {})
    assert results["Top"] == 10 and results["Base"] == 3
    assert runner.graph.evaluate_all("top", {}).keys() == {"base", "left", "right", "top"}


def test_any_decision_of_a_file_can_be_evaluated() -> None:
    runner = DecisionRunner({"t.dmn": chain()})
    assert runner.run("land", {"area": 3}) == {"class": "small"}


LITERALS: list[tuple[str, dict[str, Any], Any]] = [
    ("1 + 2", {}, 3),
    ("0.1 + 0.2", {}, Decimal("0.3")),
    ("10 / 4", {}, Decimal("2.5")),
    ("10 / 0", {}, None),
    ("2 ** 10", {}, 1024),
    ("-5 + 2", {}, -3),
    ("10 - null", {}, None),
    ("null * 10", {}, None),
    ('"a" + "b"', {}, "ab"),
    ('"a" + 1', {}, None),
    ("Monthly Salary * 12", {"Monthly Salary": 1000}, 12000),
    ('"Hello " + Full Name', {"Full Name": "王 芳"}, "Hello 王 芳"),
    ("loan.amount * loan.rate", {"loan": {"amount": 1000, "rate": 0.05}}, 50),
    ("1 < 2", {}, True),
    ("2 <= 1", {}, False),
    ('"a" < 1', {}, None),
    ("1 = 1.0", {}, True),
    ("null = null", {}, True),
    ("1 != null", {}, True),
    ("true and null", {}, None),
    ("false and null", {}, False),
    ("true or null", {}, True),
    ("false or null", {}, None),
    ("not(true)", {}, False),
    ("not(null)", {}, None),
    ('if x > 5 then "big" else "small"', {"x": 7}, "big"),
    ('if x > 5 then "big" else "small"', {"x": None}, "small"),
    ("5 in [1..10]", {}, True),
    ("5 in ]5..10]", {}, False),
    ("5 in (1, 2, 5)", {}, True),
    ("5 in (< 3, > 4)", {}, True),
    ('"b" in ["a", "b"]', {}, True),
    ("5 between 1 and 5", {}, True),
    ("[1, 2, 3]", {}, [1, 2, 3]),
    ("[1, 2, 3][2]", {}, 2),
    ("[1, 2, 3][-1]", {}, 3),
    ("[1, 2, 3][4]", {}, None),
    ("[1, 2, 3, 4][item > 2]", {}, [3, 4]),
    ("[{a: 1}, {a: 5}][a > 2].a", {}, [5]),
    ("{a: 1, b: a + 1}", {}, {"a": 1, "b": 2}),
    ("{a: 1, b: 2}.b", {}, 2),
    ('{"first name": "X"}.first name', {}, "X"),
    ("for x in [1, 2, 3] return x * x", {}, [1, 4, 9]),
    ("for i in 1..3 return i", {}, [1, 2, 3]),
    ("some x in [1, 5] satisfies x > 4", {}, True),
    ("every x in [1, 5] satisfies x > 4", {}, False),
    ("sum([1, 2, 3])", {}, 6),
    ("sum(1, 2, 3)", {}, 6),
    ("min([3, 1, 2])", {}, 1),
    ("max(3, 1, 2)", {}, 3),
    ("mean([1, 2, 3, 4])", {}, Decimal("2.5")),
    ("count([1, 2, 3])", {}, 3),
    ("all([true, true])", {}, True),
    ("any([false, null])", {}, None),
    ("append([1], 2)", {}, [1, 2]),
    ("concatenate([1], [2, 3])", {}, [1, 2, 3]),
    ("reverse([1, 2])", {}, [2, 1]),
    ("distinct values([1, 1, 2])", {}, [1, 2]),
    ("flatten([[1], [2, [3]]])", {}, [1, 2, 3]),
    ("index of([1, 2, 1], 1)", {}, [1, 3]),
    ("list contains([1, 2], 2)", {}, True),
    ("sublist([1, 2, 3], 2, 1)", {}, [2]),
    ("sort([3, 1, 2])", {}, [1, 2, 3]),
    ("product([2, 3])", {}, 6),
    ("median([1, 3, 2])", {}, 2),
    ('string length("招商引资")', {}, 4),
    ('upper case("abc")', {}, "ABC"),
    ('lower case("ABC")', {}, "abc"),
    ('substring("foobar", 3)', {}, "obar"),
    ('substring("foobar", -2, 1)', {}, "a"),
    ('substring before("foobar", "bar")', {}, "foo"),
    ('substring after("foobar", "ob")', {}, "ar"),
    ('contains("foobar", "of")', {}, False),
    ('starts with("foobar", "fo")', {}, True),
    ('ends with("foobar", "r")', {}, True),
    ('matches("foobar", "^fo*b")', {}, True),
    ('replace("abcd", "(ab)|(a)", "[1=$1][2=$2]")', {}, "[1=ab][2=]cd"),
    ('split("a,b,c", ",")', {}, ["a", "b", "c"]),
    ('string join(["a", "b"], "-")', {}, "a-b"),
    ("string(1.50)", {}, "1.5"),
    ('number("1,000.5", ",", ".")', {}, Decimal("1000.5")),
    ("decimal(1/3, 2)", {}, Decimal("0.33")),
    ("decimal(2.5, 0)", {}, 2),
    ("floor(-1.5)", {}, -2),
    ("ceiling(1.2)", {}, 2),
    ("abs(-3)", {}, 3),
    ("modulo(-12, 5)", {}, 3),
    ("sqrt(16)", {}, 4),
    ("odd(3)", {}, True),
    ("even(3)", {}, False),
    ('date("2024-01-31").month', {}, 1),
    ('date("2024-01-31") + duration("P1D")', {}, "2024-02-01"),
    ('date("2024-03-01") - date("2024-02-01")', {}, timedelta(days=29)),
    ('date and time("2024-01-01T10:30:00").hour', {}, 10),
    ('time("10:30:00").minute', {}, 30),
    ('duration("P1DT2H").hours', {}, 2),
    ('years and months duration(date("2020-01-15"), date("2024-03-10"))', {}, "P4Y1M"),
    ('day of week(date("2024-01-01"))', {}, "Monday"),
    ('month of year(date("2024-02-01"))', {}, "February"),
    ('@"2024-01-31" < @"2024-02-01"', {}, True),
    ('duration("P1Y") > duration("P11M")', {}, True),
    ('min([duration("P1Y"), duration("P2M")])', {}, "P2M"),
    ('duration("P1Y") > duration("P30D")', {}, None),
    ('string(date and time("2024-01-01T10:00:00@Asia/Shanghai"))', {}, "2024-01-01T10:00:00@Asia/Shanghai"),
    ('date and time("2024-01-01T10:00:00@Asia/Shanghai") = date and time("2024-01-01T02:00:00Z")', {}, True),
    ('date and time("2024-01-01T10:00:00") < date and time("2024-01-01T11:00:00Z")', {}, None),
    ("is defined(x)", {"x": 1}, True),
    ("x.y.z", {"x": {"y": {"z": 5}}}, 5),
    ("x.missing", {"x": {}}, None),
    ("unknown name", {}, None),
]


@pytest.mark.parametrize("expression,data,expected", LITERALS, ids=[f"{i}: {c[0]}" for i, c in enumerate(LITERALS)])
def test_feel_literal_expressions(expression: str, data: dict[str, Any], expected: Any) -> None:
    runner = DecisionRunner({"t.dmn": dmn(D("lx", expression, "Result"))})
    actual = runner.results("lx", data)["Result"]
    if isinstance(expected, Decimal):
        assert Decimal(str(actual)) == expected
    else:
        assert actual == expected


def test_business_knowledge_models_are_invoked_as_functions() -> None:
    text = dmn(D("pay", "PMT(Loan.amount, Loan.rate, Loan.term) + fee", "Payment", inputs=["Loan", "fee"]), input_data=("Loan", "fee"))
    text = text.replace('<decision id="pay" name="Payment">', '<decision id="pay" name="Payment"><knowledgeRequirement><requiredKnowledge href="#b_PMT"/></knowledgeRequirement>')
    text = text.replace("</definitions>", '<businessKnowledgeModel id="b_PMT" name="PMT"><encapsulatedLogic><formalParameter name="p"/>'
                        '<formalParameter name="r"/><formalParameter name="n"/><literalExpression><text>(p*r/12)/(1-(1+r/12)**-n)</text>'
                        "</literalExpression></encapsulatedLogic></businessKnowledgeModel></definitions>")
    value = evaluate(text, "pay", Loan={"amount": 600000, "rate": 0.0375, "term": 360}, fee=100)
    assert abs(Decimal(str(value)) - Decimal("2878.69354943277")) < Decimal("1e-6")


BPMN_HARNESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="h" targetNamespace="http://zhikong/test">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="t"><bpmn:extensionElements><spiffworkflow:calledDecisionId>tier</spiffworkflow:calledDecisionId>{props}</bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" /><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>"""


@pytest.mark.parametrize("props,expected", [
    ("", {"tier": "T2"}),
    ('<spiffworkflow:properties><spiffworkflow:property name="resultVariable" value="tier_result"/></spiffworkflow:properties>', {"tier_result": "T2"}),
])
def test_a_business_rule_task_runs_a_required_decision_chain(props: str, expected: dict[str, Any]) -> None:
    from SpiffWorkflow.bpmn import BpmnWorkflow

    from engine.workflow.parser import new_parser, parse_xml
    from engine.workflow.sandbox import SCRIPT_ENGINE

    parser = new_parser()
    parser.add_dmn_xml(parse_xml(chain(), "t.dmn"), filename="t.dmn")
    parser.add_bpmn_xml(parse_xml(BPMN_HARNESS.format(props=props), "h.bpmn"), filename="h.bpmn")
    workflow = BpmnWorkflow(parser.get_spec("p"), script_engine=SCRIPT_ENGINE)
    workflow.get_tasks()[0].data.update({"area": 40, "category": "industrial"})
    workflow.do_engine_steps()
    assert workflow.is_completed()
    data = workflow.last_task.data
    assert {k: data.get(k) for k in expected} == expected


def test_a_cases_file_may_expect_any_decision_of_the_file_by_name() -> None:
    from engine.workflow.decision_cases import run_cases

    runner = DecisionRunner({"t.dmn": chain()})
    results = run_cases(runner, "tier", [{"name": "一", "inputs": {"area": 40, "category": "x"}, "expected": {"Tier": "T3", "Land Class": "large", "tier": "T3"}}])
    assert results[0].passed, results[0]
