"""Static checks of DMN decision tables before deploy: types, variables, empty cells, overlaps.

Every problem names the file, the element (input column, cell or rule id) and what to fix,
in Chinese. SpiffWorkflow runs every hit policy but COLLECT as "first match" and never
detects overlapping UNIQUE rules; these checks close that gap exactly, with value sets.
"""
from __future__ import annotations

import difflib
import keyword
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import combinations
from typing import Any, Optional

from lxml import etree

from engine.workflow.feel import KIND_LABELS, Compare, FeelError, Literal, UnaryTests, check_kinds, parse_literal, parse_unary_tests
from engine.workflow.valueset import Domain, ValueSet

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
}
UNSUPPORTED_TYPES = {"dateTime", "date and time", "time", "dayTimeDuration", "yearMonthDuration", "duration"}
FIRST_MATCH_POLICIES = {"UNIQUE", "FIRST", "ANY"}
REFUSED_POLICIES = {
    "PRIORITY": "按优先级（PRIORITY）",
    "RULE ORDER": "按规则顺序输出多个结果（RULE ORDER）",
    "OUTPUT ORDER": "按输出顺序输出多个结果（OUTPUT ORDER）",
}


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


@dataclass
class DmnReport:
    """Problems found in one DMN file and the decisions it defines."""

    problems: list[dict[str, str]] = field(default_factory=list)
    decisions: list[DecisionInfo] = field(default_factory=list)


def _ns(root: etree._Element) -> dict[str, str]:
    namespace = root.nsmap.get(None) or root.nsmap.get("dmn") or DMN_NS
    return {"dmn": namespace}


def _text(element: Optional[etree._Element], ns: dict[str, str]) -> Optional[str]:
    if element is None:
        return None
    node = element.find("dmn:text", ns)
    return node.text if node is not None else None


def check_dmn(root: etree._Element, file: str, variables: Optional[dict[str, Variable]]) -> DmnReport:
    """Check every decision of a parsed DMN document; input names against `variables` when given.

    A decision no process in the bundle calls (a standalone rule table) gets `variables=None`:
    its inputs come from elsewhere, so only its own types and cells are checked.
    """
    report = DmnReport()
    ns = _ns(root)
    decisions = root.findall("dmn:decision", ns)
    if not decisions:
        report.problems.append(_problem(file, root.get("id", ""), "DMN 文件中没有决策（decision）"))
    if len(decisions) > 1:
        ids = "、".join(d.get("id", "") for d in decisions)
        report.problems.append(
            _problem(file, decisions[1].get("id", ""), f"一个 DMN 文件只能包含一个决策，本文件有 {len(decisions)} 个（{ids}），请拆分为多个文件")
        )
    for decision in decisions[:1]:
        tables = decision.findall("dmn:decisionTable", ns)
        if len(tables) != 1:
            report.problems.append(
                _problem(file, decision.get("id", ""), "决策必须且只能包含一个决策表（decisionTable），不支持文字表达式等其他形式")
            )
            continue
        info = DecisionInfo(decision.get("id", ""), decision.get("name", "") or decision.get("id", ""), file, "")
        report.problems += _check_table(tables[0], ns, file, variables, info)
        report.decisions.append(info)
    return report


def _problem(file: str, element: str, message: str) -> dict[str, str]:
    return {"file": file, "element": element, "message": message}


def _check_table(
    table: etree._Element, ns: dict[str, str], file: str, variables: Optional[dict[str, Variable]], info: DecisionInfo
) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    info.hit_policy = policy
    if policy in REFUSED_POLICIES:
        problems.append(
            _problem(file, table.get("id", ""), f"命中策略{REFUSED_POLICIES[policy]}不受流程引擎支持（引擎只取第一条命中规则），请改用 UNIQUE、FIRST、ANY 或 COLLECT")
        )
    elif policy not in FIRST_MATCH_POLICIES | {"COLLECT"}:
        problems.append(_problem(file, table.get("id", ""), f"未知的命中策略“{policy}”，请使用 UNIQUE、FIRST、ANY 或 COLLECT"))
    if table.get("aggregation"):
        problems.append(
            _problem(file, table.get("id", ""), f"COLLECT 的汇总方式“{table.get('aggregation')}”不受流程引擎支持（引擎返回全部结果的列表），请去掉汇总")
        )
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
        name = element.get("name") or ""
        label = element.get("label") or name or element.get("id") or ""
        if not name.isidentifier() or keyword.iskeyword(name):
            problems.append(
                _problem(file, element.get("id", ""), f"输出列“{label}”的名称（name）“{name}”不是有效的变量名，决策结果无法写入流程数据；请填写如 tier 的英文变量名")
            )
        kind, problem = _kind_of(element.get("typeRef"), f"输出列“{label}”")
        if problem:
            problems.append(_problem(file, element.get("id", ""), problem))
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


def _kind_of(type_ref: Optional[str], what: str) -> tuple[Optional[str], Optional[str]]:
    if not type_ref or type_ref == "Any":
        return None, None
    if type_ref in TYPE_KINDS:
        return TYPE_KINDS[type_ref], None
    if type_ref in UNSUPPORTED_TYPES:
        return None, f"{what}的类型 {type_ref} 暂不受支持，请改用 number、string、boolean 或 date"
    return None, f"{what}的类型“{type_ref}”无法识别，请改用 number、string、boolean 或 date"


def _column(
    element: etree._Element, ns: dict[str, str], file: str, variables: Optional[dict[str, Variable]]
) -> tuple[Column, list[dict[str, str]]]:
    problems = []
    column_id = element.get("id", "")
    label = element.get("label") or column_id
    expression_el = element.find("dmn:inputExpression", ns)
    expression = (_text(expression_el, ns) or "").strip()
    type_ref = expression_el.get("typeRef") if expression_el is not None else None
    kind, problem = _kind_of(type_ref, f"输入列“{label}”")
    if problem:
        problems.append(_problem(file, column_id, problem))
    variable = variables.get(expression) if variables is not None else None
    if not expression:
        problems.append(_problem(file, column_id, f"输入列“{label}”没有输入表达式，请填写要判断的流程变量名（如 land_mu）"))
    elif variables is not None and (not expression.isidentifier() or keyword.iskeyword(expression)):
        problems.append(
            _problem(file, column_id, f"输入列“{label}”的表达式“{expression}”不是变量名；输入表达式只能是一个流程变量名（如 land_mu）")
        )
    elif variables is not None and variable is None:
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
        allowed = variable.allowed
    return Column(column_id, label, expression, kind, Domain(kind or "string", allowed)), problems


def _family(kind: str) -> str:
    return "number" if kind == "integer" else kind


def _type_ref(kind: str) -> str:
    return {"integer": "integer", "number": "number"}.get(kind, kind)


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
            if column.domain.is_empty(values):
                raise FeelError(f"“{text}”在该列的取值范围内没有任何值（如区间下限大于上限），此单元格永远不会匹配")
        except FeelError as exc:
            problems.append(_problem(file, entry.get("id", "") or rule_id, f"{where}的“{column.label}”列：{exc}"))
            continue
        cells.append(values)
    outputs: list[Any] = []
    for entry, (label, kind) in zip(out_entries, output_kinds):
        try:
            literal = parse_literal(_text(entry, ns))
            _check_output_kind(literal, kind)
        except FeelError as exc:
            problems.append(_problem(file, entry.get("id", "") or rule_id, f"{where}的输出“{label}”：{exc}"))
            continue
        outputs.append(literal.value)
    if problems:
        return None, problems
    return CheckedRule(rule_id, row, cells, tuple(outputs)), []


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
    return "null" if value is None else str(value)


def _overlaps(rules: list[CheckedRule], columns: list[Column], policy: str, file: str) -> list[dict[str, str]]:
    """UNIQUE: no two rules may match one input. ANY: overlapping rules must give the same output."""
    problems = []
    for first, second in combinations(rules, 2):
        if policy == "ANY" and first.outputs == second.outputs:
            continue
        witness = []
        for column, a, b in zip(columns, first.cells, second.cells):
            found, value = column.domain.sample(a.intersect(b))
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
