"""DMN 1.3 files read into decision requirements graphs: decision tables and literal expressions, compiled for the sandbox.

Every decision of a file is read (a file may hold several, joined by informationRequirement),
each cell is translated into sandboxed Python once, and anything this engine cannot run is
reported as a problem naming the file, the decision and the feature, never as a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from lxml import etree

from engine.workflow.feel import FeelError, literal_to_python, parse_unary_tests, unary_test_to_python, written_as_temporal
from engine.platform.errors import SandboxViolation
from engine.workflow.feel_expr import compile_expression
from engine.workflow.sandbox import compile_feel

HIT_POLICIES = {"UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER"}
MULTI_HIT = {"COLLECT", "RULE ORDER", "OUTPUT ORDER"}
AGGREGATIONS = {"SUM", "MIN", "MAX", "COUNT"}
UNSUPPORTED_LOGIC = {
    "context": "上下文（context）",
    "invocation": "调用（invocation）",
    "functionDefinition": "函数定义（functionDefinition）",
    "relation": "关系（relation）",
    "list": "列表（list）",
    "conditional": "条件（conditional）",
    "filter": "过滤（filter）",
    "iterator": "迭代（for/some/every）",
}
POLICY_LABELS = {
    "UNIQUE": "UNIQUE（唯一命中）", "FIRST": "FIRST（首条命中）", "PRIORITY": "PRIORITY（按优先级）",
    "ANY": "ANY（任一命中）", "COLLECT": "COLLECT（收集）", "RULE ORDER": "RULE ORDER（按规则顺序）",
    "OUTPUT ORDER": "OUTPUT ORDER（按输出顺序）",
}


class DmnProblem(ValueError):
    """Something in a DMN file this engine cannot run; `element` is the id to highlight."""

    def __init__(self, file: str, element: str, message: str) -> None:
        super().__init__(message)
        self.file, self.element, self.message = file, element, message


@dataclass
class Column:
    """One input column: its label and the sandboxed Python of its input expression."""

    id: str
    label: str
    expression: str
    code: str


@dataclass
class OutputColumn:
    """One output column: the key it has in the result, its listed values (PRIORITY order) and default."""

    id: str
    name: str
    label: str
    type_ref: str
    priorities: tuple[Any, ...] = ()
    default: Optional[str] = None


@dataclass
class Rule:
    """One rule: per input column the test over `dmninputexpr` (None matches anything), and per output its expression."""

    id: str
    row: int
    description: str
    tests: list[Optional[str]]
    outputs: list[str]


@dataclass
class Table:
    """A decision table as the engine runs it."""

    id: str
    hit_policy: str
    aggregation: Optional[str]
    inputs: list[Column] = field(default_factory=list)
    outputs: list[OutputColumn] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)


@dataclass
class Knowledge:
    """A business knowledge model: a function of its parameters whose body is a FEEL literal expression."""

    id: str
    name: str
    parameters: list[str]
    body: str


@dataclass
class Decision:
    """One decision: a table or a literal expression, what it requires and where it was read from."""

    id: str
    name: str
    filename: str
    table: Optional[Table] = None
    literal: Optional[str] = None
    literal_text: str = ""
    required_decisions: list[str] = field(default_factory=list)
    required_inputs: list[str] = field(default_factory=list)
    knowledge: list[Knowledge] = field(default_factory=list)

    @property
    def functions(self) -> frozenset[str]:
        """Names of the business knowledge models the decision may invoke."""
        return frozenset(k.name for k in self.knowledge)

    @property
    def label(self) -> str:
        """“名称”（id）, as messages name a decision."""
        return f"“{self.name}”（{self.id}）" if self.name and self.name != self.id else f"“{self.id}”"


def namespace(root: etree._Element) -> dict[str, str]:
    """The DMN namespace of a document under the prefix `dmn` (any DMN version)."""
    return {"dmn": root.nsmap.get(None) or root.nsmap.get("dmn") or "https://www.omg.org/spec/DMN/20191111/MODEL/"}


def _text(element: Optional[etree._Element], ns: dict[str, str]) -> Optional[str]:
    if element is None:
        return None
    node = element.find("dmn:text", ns)
    return node.text if node is not None else None


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _href(element: Optional[etree._Element]) -> str:
    return (element.get("href") or "").split("#")[-1] if element is not None else ""


def read_file(root: etree._Element, filename: str) -> tuple[list[Decision], list[DmnProblem]]:
    """Every decision of one DMN document, and the problems that stop some of them from running."""
    ns = namespace(root)
    decisions: list[Decision] = []
    problems: list[DmnProblem] = []
    input_names = {d.get("id", ""): d.get("name") or d.get("id") or "" for d in root.findall("dmn:inputData", ns)}
    knowledge: dict[str, Knowledge] = {}
    for model in root.findall("dmn:businessKnowledgeModel", ns):
        try:
            found = _knowledge(model, filename, ns)
        except DmnProblem as problem:
            problems.append(problem)
            continue
        knowledge[found.id] = found
    elements = root.findall("dmn:decision", ns)
    if not elements:
        problems.append(DmnProblem(filename, root.get("id", ""), "DMN 文件中没有决策（decision）"))
    ids = {d.get("id", "") for d in elements}
    for index, element in enumerate(elements, start=1):
        decision_id = element.get("id") or ""
        decision = Decision(decision_id, element.get("name") or decision_id, filename)
        if not decision_id:
            problems.append(DmnProblem(filename, "", f"第{index}个决策“{decision.name}”没有 id，请在属性面板中填写决策 id"))
            continue
        for requirement in element.findall("dmn:informationRequirement", ns):
            required = _href(requirement.find("dmn:requiredDecision", ns))
            given = _href(requirement.find("dmn:requiredInput", ns))
            if required:
                if required not in ids:
                    problems.append(DmnProblem(filename, decision_id, f"决策{decision.label}依赖的决策“{required}”不在本文件中，请补上该决策或删除这条依赖"))
                decision.required_decisions.append(required)
            elif given:
                if given not in input_names:
                    problems.append(DmnProblem(filename, decision_id, f"决策{decision.label}依赖的输入数据“{given}”不在本文件中，请补上该输入数据或删除这条依赖"))
                decision.required_inputs.append(input_names.get(given, given))
        for requirement in element.findall("dmn:knowledgeRequirement", ns):
            wanted = _href(requirement.find("dmn:requiredKnowledge", ns))
            if wanted not in knowledge:
                problems.append(DmnProblem(filename, decision_id, f"决策{decision.label}引用的业务知识模型“{wanted}”不在本文件中或无法执行"))
            else:
                decision.knowledge.append(knowledge[wanted])
        try:
            _read_logic(element, decision, ns)
        except DmnProblem as problem:
            problems.append(problem)
            continue
        except FeelError as exc:
            problems.append(DmnProblem(filename, decision_id, f"决策{decision.label}：{exc}"))
            continue
        decisions.append(decision)
    problems += [DmnProblem(filename, ids[0], message) for ids, message in cycles(decisions)]
    return decisions, problems


def _knowledge(model: etree._Element, filename: str, ns: dict[str, str]) -> Knowledge:
    """A businessKnowledgeModel whose encapsulated logic is a FEEL literal expression."""
    model_id = model.get("id") or ""
    name = model.get("name") or model_id
    logic = model.find("dmn:encapsulatedLogic", ns)
    body = logic.find("dmn:literalExpression", ns) if logic is not None else None
    text = (_text(body, ns) or "").strip()
    if logic is None or body is None or not text:
        raise DmnProblem(filename, model_id, f"业务知识模型“{name}”的逻辑不是 FEEL 文字表达式，本系统暂不支持")
    parameters = [p.get("name") or "" for p in logic.findall("dmn:formalParameter", ns)]
    try:
        return Knowledge(model_id, name, parameters, compile_expression(text))
    except FeelError as exc:
        raise DmnProblem(filename, model_id, f"业务知识模型“{name}”的表达式无法执行：{exc}") from exc


def _read_logic(element: etree._Element, decision: Decision, ns: dict[str, str]) -> None:
    """Fill in the decision's table or literal expression; anything else is a DmnProblem naming the feature."""
    logic = [child for child in element if _local(child) not in ("description", "question", "allowedAnswers", "variable",
                                                                 "informationRequirement", "knowledgeRequirement",
                                                                 "authorityRequirement", "supportedObjective",
                                                                 "impactedPerformanceIndicator", "decisionMaker",
                                                                 "decisionOwner", "usingProcess", "usingTask",
                                                                 "extensionElements")]
    file = decision.filename
    if not logic:
        raise DmnProblem(file, decision.id, f"决策{decision.label}没有决策逻辑，请添加决策表或文字表达式")
    kind = _local(logic[0])
    if kind == "decisionTable":
        decision.table = read_table(logic[0], decision, ns)
    elif kind == "literalExpression":
        text = (_text(logic[0], ns) or "").strip()
        if not text:
            raise DmnProblem(file, decision.id, f"决策{decision.label}的文字表达式为空，请填写 FEEL 表达式")
        decision.literal_text = text
        try:
            decision.literal = compile_expression(text, decision.functions)
        except FeelError as exc:
            raise DmnProblem(file, decision.id, f"决策{decision.label}的文字表达式无法执行：{exc}") from exc
    else:
        feature = UNSUPPORTED_LOGIC.get(kind, kind)
        raise DmnProblem(file, decision.id, f"决策{decision.label}的决策逻辑是{feature}，本系统只支持决策表和 FEEL 文字表达式")


def read_table(element: etree._Element, decision: Decision, ns: dict[str, str]) -> Table:
    """A decisionTable element compiled for the sandbox (an id is optional, as in the DMN schema)."""
    file, where = decision.filename, f"决策{decision.label}"
    table_id = element.get("id") or decision.id
    policy = (element.get("hitPolicy") or "UNIQUE").upper().replace("_", " ")
    if policy not in HIT_POLICIES:
        raise DmnProblem(file, table_id, f"{where}的命中策略“{element.get('hitPolicy')}”无法识别，请使用 {'、'.join(POLICY_LABELS.values())}")
    aggregation = (element.get("aggregation") or "").upper() or None
    if aggregation and (policy != "COLLECT" or aggregation not in AGGREGATIONS):
        raise DmnProblem(file, table_id, f"{where}的汇总方式“{element.get('aggregation')}”无效：只有 COLLECT 可以汇总，方式为 SUM、MIN、MAX 或 COUNT")
    table = Table(table_id, policy, aggregation)
    for index, column in enumerate(element.findall("dmn:input", ns), start=1):
        expression_el = column.find("dmn:inputExpression", ns)
        expression = (_text(expression_el, ns) or "").strip()
        label = column.get("label") or expression or column.get("id") or f"第{index}列"
        if not expression:
            raise DmnProblem(file, column.get("id") or table_id, f"{where}的输入列“{label}”没有输入表达式")
        try:
            code = compile_expression(expression, decision.functions)
        except FeelError as exc:
            raise DmnProblem(file, column.get("id") or table_id, f"{where}的输入列“{label}”的表达式无法执行：{exc}") from exc
        table.inputs.append(Column(column.get("id") or f"{table_id}_input_{index}", label, expression, code))
    outputs = element.findall("dmn:output", ns)
    if not outputs:
        raise DmnProblem(file, table_id, f"{where}的决策表没有输出列")
    for index, output in enumerate(outputs, start=1):
        name = output.get("name") or ""
        if not name and len(outputs) > 1:
            raise DmnProblem(file, output.get("id") or table_id, f"{where}有多个输出列，第{index}个输出列没有名称（name），请填写")
        label = output.get("label") or name or decision.name
        result = OutputColumn(output.get("id") or f"{table_id}_output_{index}", name or decision.name, label, output.get("typeRef") or "")
        result.priorities = _priorities(output, ns, where, label)
        default = _text(output.find("dmn:defaultOutputEntry", ns), ns)
        if default is not None and default.strip():
            result.default = _output_code(default, file, result.id, f"{where}的输出列“{label}”的默认值", decision.functions)
        table.outputs.append(result)
    if aggregation and len(table.outputs) > 1:
        raise DmnProblem(file, table_id, f"{where}使用 COLLECT {aggregation} 汇总，只能有一个输出列（现有 {len(table.outputs)} 个）")
    for row, rule in enumerate(element.findall("dmn:rule", ns), start=1):
        table.rules.append(_read_rule(rule, row, table, decision, ns))
    return table


def _priorities(output: etree._Element, ns: dict[str, str], where: str, label: str) -> tuple[Any, ...]:
    """The output's listed values (outputValues), which order PRIORITY and OUTPUT ORDER."""
    text = _text(output.find("dmn:outputValues", ns), ns)
    if not text or not text.strip():
        return ()
    try:
        return tuple(literal.value for literal in parse_unary_tests(text).literals())
    except FeelError as exc:
        raise DmnProblem("", output.get("id") or "", f"{where}的输出列“{label}”的可选值无法识别：{exc}") from exc


def _read_rule(rule: etree._Element, row: int, table: Table, decision: Decision, ns: dict[str, str]) -> Rule:
    file, where = decision.filename, f"决策{decision.label}"
    rule_id = rule.get("id") or f"第{row}行"
    entries, out_entries = rule.findall("dmn:inputEntry", ns), rule.findall("dmn:outputEntry", ns)
    if len(entries) != len(table.inputs) or len(out_entries) != len(table.outputs):
        raise DmnProblem(file, rule_id, f"{where}的规则 {rule_id}（第{row}行）有 {len(entries)} 个输入单元格和 {len(out_entries)} 个输出单元格，应为 {len(table.inputs)} 和 {len(table.outputs)}")
    tests = []
    for entry, column in zip(entries, table.inputs):
        try:
            test = unary_test_to_python(_text(entry, ns))
            if test is not None:
                _checked(test)
            tests.append(test)
        except FeelError as exc:
            raise DmnProblem(file, entry.get("id") or rule_id, f"{where}的规则 {rule_id}（第{row}行）的“{column.label}”列：{exc}") from exc
    outputs = [
        _output_code(_text(entry, ns) or "", file, entry.get("id") or rule_id, f"{where}的规则 {rule_id}（第{row}行）的输出“{column.label}”",
                     decision.functions)
        for entry, column in zip(out_entries, table.outputs)
    ]
    description = rule.find("dmn:description", ns)
    return Rule(rule_id, row, (description.text or "") if description is not None else "", tests, outputs)


def _output_code(text: str, file: str, element: str, what: str, functions: frozenset[str]) -> str:
    """An output cell: a FEEL literal (the common case) or any FEEL expression; a date, time or duration that does not exist is refused."""
    if not text.strip():
        raise DmnProblem(file, element, f"{what}为空，请填写输出值（如 \"T1\"）")
    try:
        return _checked(literal_to_python(text))
    except FeelError as exc:
        if written_as_temporal(text):
            raise DmnProblem(file, element, f"{what}：{exc}") from exc
    try:
        return compile_expression(text, functions)
    except FeelError as exc:
        raise DmnProblem(file, element, f"{what}无法执行：{exc}") from exc


def _checked(code: str) -> str:
    """Python translated from a FEEL cell, checked by the sandbox's allow-list before it is kept."""
    try:
        compile_feel(code)
    except SandboxViolation as exc:
        raise FeelError(exc.message) from exc
    return code


def cycles(decisions: list[Decision]) -> list[tuple[list[str], str]]:
    """Each requirement cycle among the decisions, as (ids in the cycle, message naming them)."""
    by_id = {d.id: d for d in decisions}
    found: list[tuple[list[str], str]] = []
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(decision_id: str, path: list[str]) -> None:
        state[decision_id] = 1
        for required in by_id[decision_id].required_decisions:
            if required not in by_id:
                continue
            if state.get(required) == 1:
                loop = path[path.index(required):] + [required] if required in path else [decision_id, required]
                if frozenset(loop) not in reported:
                    reported.add(frozenset(loop))
                    names = " → ".join(by_id[i].label for i in loop)
                    found.append((loop, f"决策之间存在循环依赖：{names}，请去掉其中一条依赖"))
            elif state.get(required) is None:
                visit(required, path + [required])
        state[decision_id] = 2

    for decision in decisions:
        if decision.id not in state:
            visit(decision.id, [decision.id])
    return found
