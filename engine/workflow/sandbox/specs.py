"""Every expression a parsed SpiffWorkflow spec will evaluate, and the element kinds the engine can run.

Deploy checks each of these through the sandbox, so nothing a process owner writes is
evaluated before it has been checked; tests compare this list with what the parser keeps.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Iterator

from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec
from SpiffWorkflow.bpmn.specs import control
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, StandardLoopTask
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptEngineTask, ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import AdHocSubprocess, SubWorkflowTask, TransactionSubprocess
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.specs.MultiChoice import MultiChoice

from engine.platform.errors import LimitExceeded
from engine.workflow.sandbox.limits import Limits
from engine.workflow.sandbox.timers import check_timer_value

KIND_NAMES = {
    "NoneTask": "无类型任务（bpmn:task）", "ManualTask": "手工任务", "ServiceTask": "服务任务",
    "SendTask": "发送任务", "ReceiveTask": "接收任务", "AdHocSubprocess": "临时子流程",
}


@dataclass(frozen=True)
class Source:
    """One expression or script of an element: its text, eval or exec, and what it is in words."""

    text: str
    mode: str
    label: str


def runnable(task_spec: Any) -> bool:
    """Whether the engine can run this kind of element (an allow-list of spec classes)."""
    if type(task_spec).__module__ == control.__name__:
        return True
    if isinstance(task_spec, (UserTask, ScriptTask, ExclusiveGateway, InclusiveGateway, ParallelGateway,
                              StandardLoopTask, MultiInstanceTask)):
        return True
    if isinstance(task_spec, SubWorkflowTask) and not isinstance(task_spec, (TransactionSubprocess, AdHocSubprocess)):
        return True
    if isinstance(task_spec, (CatchingEvent, ThrowingEvent)):
        return type(task_spec).__name__ not in ("SendTask", "ReceiveTask")
    return getattr(task_spec, "dmnEngine", None) is not None


def kind_name(task_spec: Any) -> str:
    """The element kind in words, for messages."""
    name = type(task_spec).__name__
    return KIND_NAMES.get(name, name)


def sources(task_spec: Any) -> list[Source]:
    """Every expression and script this element will have SpiffWorkflow evaluate."""
    found: list[Source] = []
    if isinstance(task_spec, MultiChoice):
        found += [
            Source(cond.args[0], "eval", f"通往 {target} 的流转条件") for cond, target in task_spec.cond_task_specs if cond is not None
        ]
    if isinstance(task_spec, ScriptEngineTask) and getattr(task_spec, "script", None):
        found.append(Source(task_spec.script, "exec", "脚本"))
    for attribute, label in (("prescript", "前置脚本"), ("postscript", "后置脚本")):
        if getattr(task_spec, attribute, None):
            found.append(Source(getattr(task_spec, attribute), "exec", label))
    if isinstance(task_spec, StandardLoopTask) and task_spec.condition:
        found.append(Source(task_spec.condition, "eval", "循环条件"))
    if isinstance(task_spec, MultiInstanceTask):
        if task_spec.cardinality:
            found.append(Source(task_spec.cardinality, "eval", "多实例数量"))
        if task_spec.condition:
            found.append(Source(task_spec.condition, "eval", "多实例完成条件"))
    for value in (getattr(task_spec, "operation_params", None) or {}).values():
        if isinstance(value, dict) and value.get("value"):
            found.append(Source(value["value"], "eval", "服务任务参数"))
    found += list(_event_sources(getattr(task_spec, "event_definition", None)))
    engine = getattr(task_spec, "dmnEngine", None)
    if engine is not None:
        found += decision_sources(engine)
    return found


def _event_sources(definition: Any) -> Iterator[Source]:
    if definition is None:
        return
    if isinstance(definition, MultipleEventDefinition):
        for inner in definition.event_definitions:
            yield from _event_sources(inner)
        return
    if isinstance(definition, TimerEventDefinition) and definition.expression:
        yield Source(definition.expression, "eval", "定时器表达式")
    elif isinstance(definition, ConditionalEventDefinition) and definition.expression:
        yield Source(definition.expression, "eval", "条件事件的条件")
    elif getattr(definition, "expression", None):
        yield Source(definition.expression, "eval", "事件载荷表达式")
    if isinstance(definition, MessageEventDefinition):
        for prop in [*(definition.correlation_properties or []), *(getattr(definition, "process_correlations", None) or [])]:
            if prop.retrieval_expression:
                yield Source(prop.retrieval_expression, "eval", "消息关联表达式")


def decision_sources(engine: Any) -> list[Source]:
    """Input expressions, input entries and output entries of a decision table in Python.

    A decision read from DMN by this engine (it carries its `graph`) gives the Python its
    FEEL was compiled to, every decision of the graph included, in mode "feel".
    """
    graph = getattr(engine, "graph", None)
    if graph is not None:
        return [Source(code, "feel", label) for code, label in graph.sources()]
    table = engine.decision_table
    found = [Source(i.expression, "eval", f"决策输入“{i.label or i.id}”的表达式") for i in table.inputs if i.expression]
    for rule in table.rules:
        for entry in rule.inputEntries:
            found += [Source(lhs.replace("?", "dmninputexpr"), "eval", f"规则 {rule.id} 的条件") for lhs in entry.lhs if lhs]
        found += [Source(o.text, "eval", f"规则 {rule.id} 的输出") for o in rule.outputEntries if o.text]
    return found


def literal_problems(task_spec: Any, limits: Limits) -> list[str]:
    """Ceilings that can be checked before running: a literal cardinality, a loop maximum."""
    found = []
    if isinstance(task_spec, MultiInstanceTask) and task_spec.cardinality:
        value = _literal(task_spec.cardinality)
        if isinstance(value, (int, float)) and value > limits.max_cardinality:
            found.append(f"多实例数量 {task_spec.cardinality.strip()[:20]} 超过上限 {limits.max_cardinality}")
    if isinstance(task_spec, StandardLoopTask) and task_spec.maximum and task_spec.maximum > limits.max_loop_iterations:
        found.append(f"循环最大次数 {task_spec.maximum} 超过上限 {limits.max_loop_iterations}")
    definition = getattr(task_spec, "event_definition", None)
    for timer in [definition, *(getattr(definition, "event_definitions", None) or [])]:
        if isinstance(timer, TimerEventDefinition) and timer.expression:
            value = _literal(timer.expression)
            if value is not None:
                try:
                    check_timer_value(timer, value, limits)
                except LimitExceeded as exc:
                    found.append(exc.message)
    return found


def _literal(text: str) -> Any:
    """The value of a constant expression, or None when it needs task data."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        return None


def element_label(task_spec: Any) -> str:
    """“名称”（id） of an element for messages."""
    bpmn_id = getattr(task_spec, "bpmn_id", None) or getattr(task_spec, "name", "")
    name = getattr(task_spec, "bpmn_name", None)
    return f"“{name}”（{bpmn_id}）" if name else f"{bpmn_id}"


def process_sources(process: Any) -> list[Source]:
    """Expressions a process spec itself holds (an ad hoc subprocess's completion condition)."""
    condition = getattr(process, "completion_condition", None)
    return [Source(condition, "eval", "临时子流程的完成条件")] if condition else []


def all_sources(spec: Any, subprocess_specs: dict[str, Any]) -> Iterator[tuple[Any, Any, Source]]:
    """(process, owner, source) of every expression in the process, its subprocesses and their task specs."""
    for process in (spec, *subprocess_specs.values()):
        for source in process_sources(process):
            yield process, process, source
    for process, task_spec in all_task_specs(spec, subprocess_specs):
        for source in sources(task_spec):
            yield process, task_spec, source


def all_task_specs(spec: Any, subprocess_specs: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    """(process spec, task spec) of the top process and of every subprocess and called process."""
    for process in (spec, *subprocess_specs.values()):
        for task_spec in process.task_specs.values():
            if isinstance(task_spec, BpmnTaskSpec) or isinstance(task_spec, MultiChoice):
                yield process, task_spec
