"""Checks a definition bundle must pass before deploy, beyond what SpiffWorkflow's parser checks.

Each problem is {"file", "element", "message"}: the file, the BPMN/DMN element id (so the
modeler can highlight it) and, in Chinese, what is wrong and how to fix it.
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, TypeVar

import yaml
from lxml import etree

from engine.workflow import hooks
from engine.workflow.dmn_check import DecisionInfo, Variable, check_dmn
from engine.workflow.decide import as_text
from engine.workflow.decision_cases import DecisionRunner, case_decision, run_cases
from engine.platform import permissions
from engine.platform.errors import DefinitionInvalid, SandboxViolation
from engine.workflow.forms import Schema, check_form
from engine.workflow.parser import MAX_FILE_BYTES, XmlRefused, parse_xml
from engine.workflow.sandbox import compile_checked

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CASES_SUFFIX = ".cases.json"
EXPRESSION_HOLDERS = frozenset(
    "timerEventDefinition conditionExpression inputExpression loopCardinality completionCondition loopCondition condition "
    "conditionalEventDefinition standardLoopCharacteristics multiInstanceLoopCharacteristics".split()
)
ReadT = TypeVar("ReadT")
JSON_KINDS = {"number": "number", "integer": "integer", "string": "string", "boolean": "boolean"}


@dataclass
class BundleCheck:
    """Result of the checks that run before SpiffWorkflow parses the bundle."""

    problems: list[dict[str, str]] = field(default_factory=list)
    decisions: dict[str, DecisionInfo] = field(default_factory=dict)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)


def problem(file: str, element: str, message: str) -> dict[str, str]:
    """One validation problem."""
    return {"file": file, "element": element or "", "message": message}


def require_valid(files: dict[str, str], process_id: str, scopes: tuple[str, ...]) -> None:
    """Raise DefinitionInvalid listing every problem the pre-deploy checks and decision cases find."""
    result = check_bundle(files, process_id, scopes)
    if not result.problems:
        result.problems += check_cases(files, result)
    if result.problems:
        raise DefinitionInvalid(result.problems)


def check_bundle(files: dict[str, str], process_id: str, scopes: tuple[str, ...]) -> BundleCheck:
    """Size, XML safety, lanes, forms, expressions, DMN tables, decision references and case files."""
    result = BundleCheck()
    bpmn_roots: dict[str, etree._Element] = {}
    dmn_roots: dict[str, etree._Element] = {}
    forms: dict[str, Schema] = {}
    for name, text in sorted(files.items()):
        if len(text.encode("utf-8")) > MAX_FILE_BYTES:
            result.problems.append(problem(name, "", f"文件超过 {MAX_FILE_BYTES // 1024} KB 上限，请精简后再上传"))
            continue
        if name.endswith((".bpmn", ".dmn")):
            try:
                root = parse_xml(text, name)
            except XmlRefused as exc:
                result.problems.append(problem(name, "", str(exc).removeprefix(f"{name}: ")))
                continue
            (bpmn_roots if name.endswith(".bpmn") else dmn_roots)[name] = root
        elif name == "lanes.yaml":
            result.problems += _check_lanes(name, text, scopes)
        elif name.endswith(CASES_SUFFIX):
            cases = _read_json(name, text, result.problems, json.loads)
            if cases is not None:
                result.cases[name] = cases
        elif name.startswith("forms/"):
            checked = _read_json(name, text, result.problems, check_form)
            if checked is None:
                continue
            schema, verdict = checked
            if verdict.refusal is not None:
                path = verdict.refusal[0] or "（根）"
                result.problems.append(problem(name, path, f"不是有效的 JSON Schema：{verdict.refusal[1]}（位置 {path}）"))
            else:
                forms[name] = schema
                result.problems += [problem(name, path, message) for path, message in verdict.problems]
    called = set()
    for name, root in bpmn_roots.items():
        result.problems += _check_bpmn_expressions(name, root)
        called |= {(e.text or "").strip() for e in root.iter(f"{{{SPIFF_NS}}}calledDecisionId")}
    variables = catalog(forms, bpmn_roots)
    for name, root in dmn_roots.items():
        decision_ids = {d.get("id") for d in root.iter(etree.Element) if _local(d) == "decision"}
        report = check_dmn(root, name, variables if decision_ids & called else None)
        result.problems += report.problems
        for info in report.decisions:
            if info.id in result.decisions:
                other = result.decisions[info.id].file
                result.problems.append(problem(name, info.id, f"决策 id“{info.id}”与 {other} 中的决策重复，请改用不同的 id"))
            result.decisions[info.id] = info
            for output in info.outputs:
                variables.setdefault(output, Variable(output, info.outputs[output], None, f"决策 {info.id} 的输出"))
    for name, root in bpmn_roots.items():
        result.problems += _check_decision_refs(name, root, result.decisions)
    processes = {p.get("id") for root in bpmn_roots.values() for p in root.iter(f"{{{BPMN_NS}}}process")}
    if process_id not in processes and process_id not in result.decisions and not result.problems:
        known = "、".join(sorted(p for p in processes if p)) or "（无）"
        read = "、".join(sorted(name for name in files if name.endswith((".bpmn", ".dmn")))) or "（没有 .bpmn 或 .dmn 文件）"
        decisions = "、".join(sorted(result.decisions)) or "（无）"
        result.problems.append(problem("", process_id, f"在 {read} 中找不到流程或决策“{process_id}”"
                                                       f"（这些文件中的流程：{known}；决策：{decisions}）"))
    broken = {p["file"] for p in result.problems}
    usable = {name: c for name, c in result.cases.items() if name.removesuffix(CASES_SUFFIX) + ".dmn" not in broken}
    result.problems += _check_case_files(files, usable, result.decisions)
    return result


def _read_json(name: str, text: str, problems: list[dict[str, str]], read: Callable[[str], ReadT]) -> Optional[ReadT]:
    """`read(text)`, or None with the problem noted when the text is not JSON the reader accepts."""
    try:
        return read(text)
    except json.JSONDecodeError as exc:
        problems.append(problem(name, "", f"JSON 格式错误（第{exc.lineno}行第{exc.colno}列）：{exc.msg}"))
    except (ValueError, RecursionError):
        problems.append(problem(name, "", "JSON 内容无法读取：嵌套过深或数字位数过多"))
    return None


class NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases, so a small lanes.yaml cannot expand into gigabytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Refuse an alias before it is expanded."""
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("不允许使用 YAML 别名（*引用）")
        return super().compose_node(parent, index)


def load_lanes(text: str) -> Any:
    """Parse lanes.yaml safely (no Python objects, no aliases)."""
    return yaml.load(text, Loader=NoAliasLoader)  # noqa: S506 - a SafeLoader subclass


def _check_lanes(name: str, text: str, scopes: tuple[str, ...]) -> list[dict[str, str]]:
    """lanes.yaml: every lane maps to a role the permission policy declares and to a known scope.

    Role names come from the policy; a `roles` section that older bundles carry is ignored.
    """
    try:
        config = load_lanes(text) or {}
    except yaml.YAMLError as exc:
        return [problem(name, "", f"YAML 格式错误：{exc}")]
    if not isinstance(config, dict) or not isinstance(config.get("lanes"), dict):
        return [problem(name, "", "lanes.yaml 应包含 lanes（泳道 → 角色与范围）")]
    found = []
    for lane, mapping in config["lanes"].items():
        if not isinstance(mapping, dict):
            found.append(problem(name, str(lane), f"泳道“{lane}”的映射应写成 {{role: 角色, scope: 范围}}"))
            continue
        if not permissions.is_role(mapping.get("role")):
            known = "、".join(f"{key}（{label}）" for key, label in permissions.role_names().items())
            found.append(problem(name, str(lane), f"泳道“{lane}”映射的角色“{mapping.get('role')}”不在 roles 列表中（权限策略声明的角色：{known}）"))
        if mapping.get("scope") not in scopes:
            found.append(problem(name, str(lane), f"泳道“{lane}”的范围“{mapping.get('scope')}”无效，应为 {'、'.join(scopes)} 之一"))
    return found


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _owner_id(element: etree._Element) -> str:
    """The id of the nearest BPMN element that owns an expression (flow, task or event)."""
    node: Optional[etree._Element] = element
    while node is not None:
        if node.get("id") and _local(node) not in EXPRESSION_HOLDERS:
            return node.get("id", "")
        node = node.getparent()
    return ""


def _check_bpmn_expressions(name: str, root: etree._Element) -> list[dict[str, str]]:
    """Conditions, scripts and timers compile and pass the sandbox, named by their own element."""
    found = []
    checks = [
        ("conditionExpression", "eval", "条件"),
        ("script", "exec", "脚本"),
        ("preScript", "exec", "前置脚本"),
        ("postScript", "exec", "后置脚本"),
        ("timeDuration", "eval", "定时器时长"),
        ("timeDate", "eval", "定时器时间"),
        ("timeCycle", "eval", "定时器周期"),
        ("loopCardinality", "eval", "多实例数量"),
        ("completionCondition", "eval", "多实例完成条件"),
        ("loopCondition", "eval", "循环条件"),
        ("condition", "eval", "条件事件的条件"),
        ("messagePayload", "eval", "消息载荷"),
        ("formalExpression", "eval", "消息关联表达式"),
        ("inputExpression", "eval", "决策输入表达式"),
        ("expression", "eval", "消息关联表达式"),
    ]
    for element in root.iter(etree.Element):
        local = _local(element)
        for tag, mode, label in checks:
            if local != tag:
                continue
            text = _expression_text(element)
            if not text:
                continue
            try:
                compile_checked(text, mode)
            except SandboxViolation as exc:
                found.append(problem(name, _owner_id(element), f"{_owner_label(element)}的{label}未通过安全检查：{exc.message}"))
    return found


def _expression_text(element: etree._Element) -> str:
    """An expression element's text (DMN keeps it in a <text> child)."""
    child = next((c for c in element if isinstance(c.tag, str) and _local(c) == "text"), None)
    return ((child.text if child is not None else element.text) or "").strip()


def _owner_label(element: etree._Element) -> str:
    """“名称”（id） of the element that owns an expression."""
    node: Optional[etree._Element] = element
    while node is not None:
        if node.get("id") and _local(node) not in EXPRESSION_HOLDERS:
            name = node.get("name") or node.get("label")
            return f"元素“{name}”（{node.get('id')}）" if name else f"元素 {node.get('id')}"
        node = node.getparent()
    return "元素"


def _check_decision_refs(name: str, root: etree._Element, decisions: dict[str, DecisionInfo]) -> list[dict[str, str]]:
    found = []
    for element in root.iter(f"{{{SPIFF_NS}}}calledDecisionId"):
        ref = (element.text or "").strip()
        owner = _owner_id(element)
        if ref not in decisions:
            known = "、".join(sorted(decisions)) or "（无）"
            found.append(problem(name, owner, f"业务规则任务引用的决策“{ref}”不存在，请先上传对应的 DMN 文件（已有决策：{known}）"))
    for element in root.iter(f"{{{BPMN_NS}}}businessRuleTask"):
        if element.find(f".//{{{SPIFF_NS}}}calledDecisionId") is None:
            found.append(problem(name, element.get("id", ""), "业务规则任务没有指定调用的决策（calledDecisionId），请在属性面板中填写"))
    return found


def catalog(forms: dict[str, Schema], bpmn_roots: dict[str, etree._Element]) -> dict[str, Variable]:
    """Variables a decision may read: the project facts, every form field, names scripts assign."""
    variables: dict[str, Variable] = {}
    for fact in hooks.subject().catalog():
        variables[fact.name] = Variable(fact.name, fact.kind, fact.allowed, "项目台账字段")
    for name, schema in sorted(forms.items()):
        for key, prop in (schema.get("properties") or {}).items():
            if key in variables or not isinstance(prop, dict):
                continue
            json_type = prop.get("type")  # a name, or a list of names such as ["number", "null"]: then no one kind
            kind = "date" if prop.get("format") == "date" else JSON_KINDS.get(json_type) if isinstance(json_type, str) else None
            allowed = _enum(prop)
            variables[key] = Variable(key, kind, allowed, f"表单 {name.removeprefix('forms/')} 的字段")
    for root in bpmn_roots.values():
        for element in root.iter(etree.Element):
            if _local(element) in ("script", "preScript", "postScript") and element.text:
                for key in _assigned_names(element.text):
                    variables.setdefault(key, Variable(key, None, None, "脚本变量"))
    return variables


def _enum(prop: dict[str, Any]) -> Optional[tuple[Any, ...]]:
    if isinstance(prop.get("enum"), list):
        return tuple(prop["enum"])
    options = prop.get("oneOf") or prop.get("anyOf")
    if isinstance(options, list) and options and all(isinstance(o, dict) and "const" in o for o in options):
        return tuple(o["const"] for o in options)
    return None


def _assigned_names(script: str) -> set[str]:
    try:
        tree = ast.parse(script)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _check_case_files(
    files: dict[str, str],
    cases: dict[str, dict[str, Any]],
    decisions: dict[str, DecisionInfo],
) -> list[dict[str, str]]:
    """A cases file sits next to its DMN, names its decision and lists inputs → expected outputs."""
    found = []
    for name, content in cases.items():
        dmn_name = name.removesuffix(CASES_SUFFIX) + ".dmn"
        if dmn_name not in files:
            found.append(problem(name, "", f"用例文件没有对应的决策文件 {dmn_name}"))
            continue
        of_file = [d for d in decisions.values() if d.file == dmn_name]
        if not of_file:
            continue
        if not isinstance(content, dict) or not isinstance(content.get("cases"), list):
            found.append(problem(name, "", "用例文件应为 {\"decision\": 决策id, \"cases\": [{\"name\", \"inputs\", \"expected\"}]}"))
            continue
        info = _case_info(content.get("decision"), of_file)
        if info is None:
            ids = "、".join(d.id for d in of_file)
            found.append(problem(name, "", f"用例文件声明的决策“{content.get('decision') or '（未填写）'}”不在 {dmn_name} 中（其中的决策：{ids}），文件有多个决策时请用 decision 指明"))
            continue
        found += _check_case_list(name, content["cases"], info, of_file)
    return found


def _case_info(declared: Any, of_file: list[DecisionInfo]) -> Optional[DecisionInfo]:
    """The decision a cases file tests: the one it names (id or name), else the first that no other decision requires."""
    if isinstance(declared, str) and declared:
        return next((d for d in of_file if declared in (d.id, d.name)), None)
    required = {r for d in of_file for r in d.required}
    tops = [d for d in of_file if d.id not in required] or of_file
    return tops[0] if tops else None


def _check_case_list(name: str, cases: list[Any], info: DecisionInfo, of_file: list[DecisionInfo]) -> list[dict[str, str]]:
    """Each case has inputs and expected outputs; inputs are what the decisions read, outputs are outputs or decisions."""
    found = []
    plain = all(c.variable.isidentifier() for d in of_file for c in d.inputs) and not any(d.required_inputs for d in of_file)
    needed = {c.variable for c in info.inputs}
    readable = {c.variable for d in of_file for c in d.inputs} | {n for d in of_file for n in d.required_inputs}
    results = set(info.outputs) | {d.id for d in of_file} | {d.name for d in of_file}
    for index, case in enumerate(cases, start=1):
        label = f"用例{index}“{case.get('name', '')}”" if isinstance(case, dict) else f"用例{index}"
        if not isinstance(case, dict) or not isinstance(case.get("inputs"), dict) or not isinstance(case.get("expected"), dict):
            found.append(problem(name, str(index), f"{label}应包含 inputs（输入）和 expected（期望输出）两个对象"))
            continue
        missing = sorted(needed - set(case["inputs"])) if plain else []
        extra = sorted(set(case["inputs"]) - readable) if plain else []
        unknown_outputs = sorted(set(case["expected"]) - results)
        if missing:
            found.append(problem(name, str(index), f"{label}缺少输入：{'、'.join(missing)}（缺少的输入按 null 计算，请明确写出 null）"))
        if extra:
            found.append(problem(name, str(index), f"{label}的输入 {'、'.join(extra)} 不是决策 {info.id} 的输入列变量"))
        if unknown_outputs:
            found.append(problem(name, str(index), f"{label}的期望输出 {'、'.join(unknown_outputs)} 不是决策 {info.id} 的输出列，也不是本文件中的决策"))
    return found


def check_cases(files: dict[str, str], checked: BundleCheck) -> list[dict[str, str]]:
    """Run every decision's cases file through the real DMN engine; each failure shows expected vs actual."""
    if not checked.cases:
        return []
    runner = DecisionRunner({name: text for name, text in files.items() if name.endswith(".dmn")})
    found = []
    for name, content in sorted(checked.cases.items()):
        dmn_name = name.removesuffix(CASES_SUFFIX) + ".dmn"
        decision_id = case_decision(runner, dmn_name, content.get("decision"))
        if decision_id is None:
            continue
        for result in run_cases(runner, decision_id, content["cases"]):
            if result.passed:
                continue
            shown_inputs = "，".join(f"{k}={_show(v)}" for k, v in result.inputs.items())
            expected = "，".join(f"{k}={_show(v)}" for k, v in result.expected.items())
            if result.actual is None:
                actual = f"执行出错：{result.error}"
            else:
                actual = "，".join(f"{k}={_show(v)}" for k, v in result.actual.items())
            found.append(
                problem(
                    name,
                    str(result.number),
                    f"决策 {decision_id} 的用例{result.number}“{result.name}”未通过：输入 {shown_inputs}；期望 {expected}，实际 {actual}",
                )
            )
    return found


def _show(value: Any) -> str:
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False, default=as_text)
