"""Static checks of DMN files before deploy: what the engine can run, types, variables, empty cells, overlaps.

Every problem names the file, the element (decision, input column, cell or rule id) and
what to fix, in Chinese. What the engine cannot run at all (a cycle of requirements, a
missing requirement, an unsupported kind of decision logic) comes from reading the file
(engine.workflow.drg); the table checks add what would silently never match, and UNIQUE
and ANY tables are checked for overlapping rules exactly, with value sets.
"""
from __future__ import annotations

import difflib
import keyword
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import combinations
from typing import Any, Optional

from lxml import etree

from engine.workflow.drg import DmnProblem, namespace, read_file
from engine.workflow.feel import (
    KIND_LABELS, TEMPORAL_FUNCTIONS, Compare, FeelError, Literal, UnaryTests, check_kinds, parse_literal, parse_unary_tests,
    written_as_temporal,
)
from engine.workflow.feel_expr import compile_expression, is_name
from engine.workflow.sandbox.feel_lib import YearsMonths, feel_cell_input, iso_text
from engine.workflow.valueset import TEMPORAL, Domain, ValueSet

DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"
TYPE_KINDS = {
    "number": "number",
    "double": "number",
    "long": "integer",
    "integer": "integer",
    "int": "integer",
    "string": "string",
    "boolean": "boolean",
    "date": "date",
    "dateTime": "date and time",
    "date and time": "date and time",
    "time": "time",
    "dayTimeDuration": "days and time duration",
    "days and time duration": "days and time duration",
    "yearMonthDuration": "years and months duration",
    "years and months duration": "years and months duration",
}
TYPE_REFS = {"date and time": "dateTime", "days and time duration": "dayTimeDuration", "years and months duration": "yearMonthDuration"}


@dataclass(frozen=True)
class Variable:
    """A process variable a decision may read: its kind (number, string …), allowed values, origin."""

    name: str
    kind: Optional[str]
    allowed: Optional[tuple[Any, ...]] = None
    source: str = ""


@dataclass
class Column:
    """One input column of a decision table as checked: label, variable, kind and domain."""

    id: str
    label: str
    variable: str
    kind: Optional[str]
    domain: Domain


@dataclass
class CheckedRule:
    """One rule with the value set of each input cell and its output literals."""

    id: str
    row: int
    cells: list[ValueSet]
    outputs: tuple[Any, ...]


@dataclass
class DecisionInfo:
    """What other checks need to know about one decision: id, name, output names and kinds."""

    id: str
    name: str
    file: str
    hit_policy: str
    inputs: list[Column] = field(default_factory=list)
    outputs: dict[str, Optional[str]] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    required_inputs: list[str] = field(default_factory=list)


@dataclass
class DmnReport:
    """Problems found in one DMN file and the decisions it defines."""

    problems: list[dict[str, str]] = field(default_factory=list)
    decisions: list[DecisionInfo] = field(default_factory=list)


def _text(element: Optional[etree._Element], ns: dict[str, str]) -> Optional[str]:
    if element is None:
        return None
    node = element.find("dmn:text", ns)
    return node.text if node is not None else None


def check_dmn(root: etree._Element, file: str, variables: Optional[dict[str, Variable]]) -> DmnReport:
    """Check every decision of a parsed DMN document; input names against `variables` when given.

    A decision no process in the bundle calls (a standalone rule table) gets `variables=None`:
    its inputs come from elsewhere, so only its own types and cells are checked. Names of the
    file's input data and decisions are known variables too (a decision reads what it requires).
    """
    report = DmnReport()
    ns = namespace(root)
    readable, read_problems = read_file(root, file)
    by_id = {d.id: d for d in readable}
    if variables is not None:
        variables = dict(variables)
        for data in root.findall("dmn:inputData", ns):
            name = data.get("name") or data.get("id") or ""
            variables.setdefault(name, Variable(name, None, None, "DMN 输入数据"))
        for decision in readable:
            variables.setdefault(decision.name, Variable(decision.name, None, None, f"决策 {decision.id} 的结果"))
    table_problems: dict[str, list[dict[str, str]]] = {}
    for element in root.findall("dmn:decision", ns):
        decision_id = element.get("id") or ""
        table = element.find("dmn:decisionTable", ns)
        read = by_id.get(decision_id)
        info = DecisionInfo(decision_id, element.get("name") or decision_id, file, "")
        if table is not None:
            table_problems[decision_id] = _check_table(table, ns, file, variables, info)
        elif read is not None:
            info.hit_policy = "LITERAL"
            info.outputs[read.name] = None
        if read is not None:
            info.required = list(read.required_decisions)
            info.required_inputs = list(read.required_inputs)
        if read is not None or (table is not None and decision_id):
            report.decisions.append(info)
    for problem in read_problems:
        if not table_problems.get(problem.element) and not _in_table(problem, table_problems):
            report.problems.append(_problem(problem.file or file, problem.element, problem.message))
    for found in table_problems.values():
        report.problems += found
    return report


def _in_table(problem: DmnProblem, table_problems: dict[str, list[dict[str, str]]]) -> bool:
    """A reading problem inside a table (a cell, a column) that the table checks already reported in their own words."""
    return any(p["element"] == problem.element for found in table_problems.values() for p in found)


def _problem(file: str, element: str, message: str) -> dict[str, str]:
    return {"file": file, "element": element, "message": message}


def _check_table(
    table: etree._Element, ns: dict[str, str], file: str, variables: Optional[dict[str, Variable]], info: DecisionInfo
) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    info.hit_policy = policy + (f" {table.get('aggregation', '').upper()}" if table.get("aggregation") else "")
    inputs = table.findall("dmn:input", ns)
    outputs = table.findall("dmn:output", ns)
    if not outputs:
        problems.append(_problem(file, table.get("id", ""), "决策表没有输出列"))
    columns = []
    for element in inputs:
        column, column_problems = _column(element, ns, file, variables)
        problems += column_problems
        columns.append(column)
    info.inputs = columns
    output_kinds: list[tuple[str, Optional[str]]] = []
    for element in outputs:
        name = element.get("name") or ("" if len(outputs) > 1 else info.name)
        label = element.get("label") or name or element.get("id") or ""
        kind = _kind_of(element.get("typeRef"))
        info.outputs[name] = kind
        output_kinds.append((label, kind))
    rules = []
    for row, rule in enumerate(table.findall("dmn:rule", ns), start=1):
        checked, rule_problems = _check_rule(rule, row, ns, file, columns, output_kinds)
        problems += rule_problems
        if checked is not None:
            rules.append(checked)
    if not problems and policy in ("UNIQUE", "ANY"):
        problems += _overlaps(rules, columns, policy, file)
    return problems


def _kind_of(type_ref: Optional[str]) -> Optional[str]:
    """The kind the table checks know a typeRef as (dmn-js's names or FEEL's); other types (item definitions, Any) are left to the engine."""
    return TYPE_KINDS.get(type_ref or "")


def _column(
    element: etree._Element, ns: dict[str, str], file: str, variables: Optional[dict[str, Variable]]
) -> tuple[Column, list[dict[str, str]]]:
    problems = []
    column_id = element.get("id", "")
    label = element.get("label") or column_id
    expression_el = element.find("dmn:inputExpression", ns)
    expression = (_text(expression_el, ns) or "").strip()
    type_ref = expression_el.get("typeRef") if expression_el is not None else None
    kind = _kind_of(type_ref)
    variable = variables.get(expression) if variables is not None else None
    if not expression:
        problems.append(_problem(file, column_id, f"输入列“{label}”没有输入表达式，请填写要判断的流程变量名（如 land_mu）"))
    elif variables is not None and variable is None and is_name(expression) and (expression.isidentifier() and not keyword.iskeyword(expression)):
        close = difflib.get_close_matches(expression, list(variables), n=1)
        hint = f"，是否应为 {close[0]}？" if close else f"。可用变量：{'、'.join(sorted(variables))}"
        problems.append(
            _problem(file, column_id, f"输入列“{label}”引用的变量“{expression}”不是流程中的已知变量（项目台账字段、表单字段或脚本变量），该列永远取不到值{hint}")
        )
    if variable is not None and variable.kind and kind and _family(variable.kind) != _family(kind):
        problems.append(
            _problem(
                file,
                column_id,
                f"输入列“{label}”声明的类型是{KIND_LABELS[kind]}，但变量 {expression}（{variable.source}）是{KIND_LABELS[variable.kind]}，请把列类型改为 {_type_ref(variable.kind)}",
            )
        )
    kind = kind or (variable.kind if variable else None)
    allowed, allowed_problem = _allowed_values(element, ns, kind, label)
    if allowed_problem:
        problems.append(_problem(file, column_id, allowed_problem))
    if allowed is None and variable is not None and variable.allowed is not None:
        allowed = _as_kind(variable.allowed, kind)
    return Column(column_id, label, expression, kind, Domain(kind or "string", allowed)), problems


def _as_kind(values: tuple[Any, ...], kind: Optional[str]) -> tuple[Any, ...]:
    """A variable's allowed values as a date, time or duration column reads them (process data keeps those as ISO text)."""
    function = TEMPORAL_FUNCTIONS.get(kind or "")
    return values if function is None else tuple(feel_cell_input(function, value) for value in values)


def _family(kind: str) -> str:
    return "number" if kind == "integer" else kind


def _type_ref(kind: str) -> str:
    return TYPE_REFS.get(kind, kind)


def _allowed_values(
    element: etree._Element, ns: dict[str, str], kind: Optional[str], label: str
) -> tuple[Optional[tuple[Any, ...]], Optional[str]]:
    """The column's `inputValues` (dmn-js "allowed values") as Python values."""
    text = _text(element.find("dmn:inputValues", ns), ns)
    if not text or not text.strip():
        return None, None
    try:
        tests = parse_unary_tests(text)
        check_kinds(tests, kind)
    except FeelError as exc:
        return None, f"输入列“{label}”的可选值无法识别：{exc}"
    if tests.negated or any(getattr(t, "op", None) != "=" for t in tests.tests):
        return None, f"输入列“{label}”的可选值只能是逗号分隔的字面值，如 \"a\",\"b\""
    return tuple(lit.value for lit in tests.literals()), None


def _check_rule(
    rule: etree._Element,
    row: int,
    ns: dict[str, str],
    file: str,
    columns: list[Column],
    output_kinds: list[tuple[str, Optional[str]]],
) -> tuple[Optional[CheckedRule], list[dict[str, str]]]:
    rule_id = rule.get("id", "")
    where = f"规则 {rule_id}（第{row}行）"
    problems: list[dict[str, str]] = []
    entries = rule.findall("dmn:inputEntry", ns)
    out_entries = rule.findall("dmn:outputEntry", ns)
    if len(entries) != len(columns) or len(out_entries) != len(output_kinds):
        message = f"{where}有 {len(entries)} 个输入单元格和 {len(out_entries)} 个输出单元格，应为 {len(columns)} 和 {len(output_kinds)}"
        return None, [_problem(file, rule_id, message)]
    cells: list[ValueSet] = []
    for entry, column in zip(entries, columns):
        text = _text(entry, ns)
        try:
            tests = parse_unary_tests(text)
            check_kinds(tests, column.kind)
            _check_allowed(tests, column)
            values = tests.value_set()
            if _empty(column.domain, values):
                raise FeelError(f"“{text}”在该列的取值范围内没有任何值（如区间下限大于上限），此单元格永远不会匹配")
        except FeelError as exc:
            problems.append(_problem(file, entry.get("id", "") or rule_id, f"{where}的“{column.label}”列：{exc}"))
            continue
        cells.append(values)
    outputs: list[Any] = []
    for entry, (label, kind) in zip(out_entries, output_kinds):
        text = _text(entry, ns)
        try:
            literal = parse_literal(text)
            _check_output_kind(literal, kind)
        except FeelError as exc:
            if (text or "").strip() and _is_expression(text or ""):
                outputs.append(("expression", (text or "").strip()))
                continue
            problems.append(_problem(file, entry.get("id", "") or rule_id, f"{where}的输出“{label}”：{exc}"))
            continue
        outputs.append(literal.value)
    if problems:
        return None, problems
    return CheckedRule(rule_id, row, cells, tuple(outputs)), []


def _is_expression(text: str) -> bool:
    """An output cell that is a FEEL expression rather than a literal (computed when the rule matches)."""
    try:
        compile_expression(text)
    except FeelError:
        return False
    return not text.strip().startswith('"') and not written_as_temporal(text) and not text.strip().lstrip("-").replace(".", "", 1).isdigit()


def _empty(domain: Domain, values: ValueSet) -> bool:
    """True when a cell matches nothing in its column; literals of another kind than an untyped column's are left to run time."""
    try:
        return domain.is_empty(values)
    except TypeError:
        return False


def _check_allowed(tests: UnaryTests, column: Column) -> None:
    """An equality literal outside the column's allowed values is a typo that never matches."""
    allowed = column.domain.allowed
    if allowed is None:
        return
    for test in tests.tests:
        if isinstance(test, Compare) and test.op in ("=", "!=") and test.literal.kind != "null":
            if test.literal.value not in allowed:
                shown = "、".join(_show(v) for v in allowed)
                raise FeelError(f"{test.literal.text} 不是该列的可选值（可选：{shown}），此条件永远不会匹配")


def _check_output_kind(literal: Literal, kind: Optional[str]) -> None:
    if kind is None or literal.kind == "null":
        return
    if literal.kind != _family(kind):
        raise FeelError(f"{literal.text} 是{KIND_LABELS[literal.kind]}，与输出列的{KIND_LABELS[kind]}类型不符")


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (timedelta, YearsMonths)):
        return f'duration("{iso_text(value)}")'
    if isinstance(value, TEMPORAL):
        return f'{"date and time" if isinstance(value, datetime) else type(value).__name__}("{iso_text(value)}")'
    return "null" if value is None else str(value)


def _overlaps(rules: list[CheckedRule], columns: list[Column], policy: str, file: str) -> list[dict[str, str]]:
    """UNIQUE: no two rules may match one input. ANY: overlapping rules must give the same output."""
    problems = []
    for first, second in combinations(rules, 2):
        if policy == "ANY" and first.outputs == second.outputs:
            continue
        witness = []
        for column, a, b in zip(columns, first.cells, second.cells):
            try:
                found, value = column.domain.sample(a.intersect(b))
            except TypeError:  # values of different kinds in an untyped column never meet
                found = False
            if not found:
                break
            witness.append(f"{column.label}={_show(value)}")
        else:
            sample = "，".join(witness) if witness else "任意输入"
            rule_kind = "UNIQUE（唯一命中）要求规则互不重叠" if policy == "UNIQUE" else "ANY 要求重叠的规则输出相同"
            problems.append(
                _problem(
                    file,
                    second.id,
                    f"规则 {first.id}（第{first.row}行）与规则 {second.id}（第{second.row}行）重叠：输入 {sample} 同时满足这两条规则。"
                    f"{rule_kind}，请收窄其中一条的条件，或把命中策略改为 FIRST",
                )
            )
    return problems
