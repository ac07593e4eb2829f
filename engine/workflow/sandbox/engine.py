"""The script engine SpiffWorkflow runs every condition, script, timer, loop and DMN cell through: checked, guarded, limited."""
from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import lru_cache
from types import CodeType
from typing import Any, cast

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, StandardLoopTask

from engine.platform.errors import LimitExceeded, SandboxViolation
from engine.workflow.sandbox import guards
from engine.workflow.sandbox.feel_lib import FEEL_FUNCTIONS
from engine.workflow.sandbox.limits import Limits, active
from engine.workflow.sandbox.policy import ALLOWED_FUNCTIONS, check_tree
from engine.workflow.sandbox.rewrite import guarded
from engine.workflow.sandbox.timers import check_timer_value

BUILTINS: dict[str, Any] = {**guards.SAFE_CALLABLES, **guards.GUARDS, "True": True, "False": False, "None": None}
FEEL_BUILTINS: dict[str, Any] = {**guards.GUARDS, **FEEL_FUNCTIONS, "True": True, "False": False, "None": None}
FEEL_CALLABLE = frozenset(FEEL_FUNCTIONS)


def check_source(source: str, mode: str, limits: Limits | None = None, functions: frozenset[str] = ALLOWED_FUNCTIONS) -> ast.AST:
    """Parse `source` and refuse anything not on the allow-list (raises SandboxViolation naming the construct)."""
    limits = limits or active()
    if not isinstance(source, str):
        raise SandboxViolation("表达式必须是文本")
    if len(source) > limits.max_source:
        raise SandboxViolation(f"表达式或脚本超过 {limits.max_source} 个字符")
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise SandboxViolation(f"语法错误（第{exc.lineno}行）：{exc.msg}：{source[:200]!r}") from exc
    except (RecursionError, MemoryError, ValueError) as exc:
        raise SandboxViolation(f"表达式无法解析（嵌套过深或含非法字符）：{source[:200]!r}") from exc
    try:
        check_tree(tree, mode, limits, functions)
    except SandboxViolation as exc:
        raise SandboxViolation(f"{exc.message}：{source[:200]!r}") from None
    return tree


CACHED_SOURCE_CHARS = 4096


def compile_checked(source: str, mode: str) -> CodeType:
    """Check and compile the guarded tree; texts up to 4 KB are cached, so the cache cannot grow past a few hundred MB.

    Mode "feel" is Python compiled from FEEL, which may call the FEEL library and nothing else.
    """
    if mode == "feel":
        return compile_feel(source)
    if isinstance(source, str) and len(source) <= CACHED_SOURCE_CHARS:
        return _compile_cached(source, mode)
    return _compile(source, mode)


@lru_cache(maxsize=8192)
def _compile_cached(source: str, mode: str) -> CodeType:
    return _compile(source, mode)


def _compile(source: str, mode: str) -> CodeType:
    tree = guarded(check_source(source, mode))  # parsed in "eval" or "exec" mode: an Expression or a Module
    return compile(cast(ast.Expression | ast.Module, tree), "<string>", mode)


def compile_feel(source: str) -> CodeType:
    """Check and compile Python compiled from FEEL: the same allow-list and guards, calling only the FEEL library."""
    if isinstance(source, str) and len(source) <= CACHED_SOURCE_CHARS:
        return _compile_feel_cached(source)
    return _compile_feel(source)


@lru_cache(maxsize=8192)
def _compile_feel_cached(source: str) -> CodeType:
    return _compile_feel(source)


def _compile_feel(source: str) -> CodeType:
    tree = guarded(check_source(source, "eval", functions=FEEL_CALLABLE))
    return compile(cast(ast.Expression, tree), "<feel>", "eval")


def run_feel(code: CodeType, names: dict[str, Any]) -> Any:
    """Evaluate compiled FEEL or a compiled DMN cell over `names`; the caller holds the budget (see `decision_budget`)."""
    scope: dict[str, Any] = {"__builtins__": FEEL_BUILTINS}
    scope.update(names)
    return eval(code, scope)  # noqa: S307 - allow-listed, guarded tree


@contextmanager
def decision_budget() -> Iterator[None]:
    """One decision's evaluation, required decisions included, within the script deadline and the sandbox's ceilings."""
    limits = active()
    with guards.budget(limits.script_seconds, "决策", limits), bounded_stack("决策"):
        yield


def result_checked(value: Any, limits: Limits) -> Any:
    """An expression's result must be data within the ceilings (no lazy iterators, no functions)."""
    if type(value) in guards.SCALARS or isinstance(value, guards.CONTAINERS):
        guards.measure(value, limits)
        return value
    raise SandboxViolation(f"表达式的结果必须是数据（文本、数字、列表、字典等），而不是 {type(value).__name__}")


class SandboxEnvironment(TaskDataEnvironment):
    """Task-data environment whose eval/exec run checked, guarded code under a deadline."""

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        """Evaluate an expression over task data within the expression deadline."""
        code = compile_checked(expression, "eval")
        limits = active()
        scope: dict[str, Any] = {"__builtins__": BUILTINS}
        scope.update(self.globals)
        if external_context:
            scope.update(external_context)
        scope.update(context)
        with guards.budget(limits.expression_seconds, "表达式", limits), bounded_stack("表达式"):
            value = eval(code, scope)  # noqa: S307 - allow-listed, guarded tree
        return result_checked(value, limits)

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        """Run a script that may set task-data variables, within the script deadline and the data ceiling.

        The script runs on a copy of the task data, which replaces it only when the script
        succeeded and left data that can be stored: a failed step changes nothing.
        """
        code = compile_checked(script, "exec")
        limits = active()
        self.check_for_overwrite(context, external_context or {})
        scope = dict(context)
        scope.update(self.globals)
        scope.update(external_context or {})
        scope["__builtins__"] = BUILTINS
        with guards.budget(limits.script_seconds, "脚本", limits), bounded_stack("脚本"):
            exec(code, scope)  # noqa: S102 - allow-listed, guarded tree
        self._remove_globals_and_functions_from_context(scope, external_context)
        check_task_data(scope, limits)
        context.clear()
        context.update(scope)
        return True


@contextmanager
def bounded_stack(kind: str) -> Iterator[None]:
    """Python's own recursion limit and a failed allocation end the evaluation as a limit, not as a crash."""
    try:
        yield
    except RecursionError:
        raise LimitExceeded(f"{kind}嵌套调用层数超过上限") from None
    except MemoryError:
        raise LimitExceeded(f"{kind}所需内存超过可用内存") from None


def timer_of(spec: Any, expression: Any) -> Any:
    """The timer event definition of `spec` whose expression this is, if any."""
    definition = getattr(spec, "event_definition", None)
    for candidate in [definition, *(getattr(definition, "event_definitions", None) or [])]:
        if isinstance(candidate, TimerEventDefinition) and candidate.expression == expression:
            return candidate
    return None


def check_task_data(data: dict[str, Any], limits: Limits) -> None:
    """Task data stays within the stored-size ceiling, has no deep or cyclic structure, and holds only storable values."""
    try:
        guards.measure(data, limits)
    except LimitExceeded as exc:
        raise LimitExceeded(f"任务数据超过上限（{exc.message}），请精简脚本写入的数据") from None
    problem = unstorable(data)
    if problem:
        raise SandboxViolation(f"任务数据中的 {problem} 无法保存（只能保存文本、数字、布尔值、列表、字典和日期时间），请改用列表或字典")


STORABLE_SCALARS = (str, int, float, bool, type(None), datetime, timedelta)


def unstorable(data: dict[str, Any]) -> str | None:
    """The path and type of the first value the state serializer cannot store, or None (data already measured)."""
    stack: list[tuple[str, Any]] = [(str(key), value) for key, value in data.items()]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    return f"{path} 的键（{type(key).__name__}）"
                stack.append((f"{path}[{key!r}]", item))
        elif isinstance(value, (list, tuple)):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
        elif not isinstance(value, STORABLE_SCALARS):
            return f"{path}（{type(value).__name__}）"
        elif isinstance(value, str) and not value.isascii() and not _encodable(value):
            return f"{path}（含无效的 Unicode 代理字符）"
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class SandboxScriptEngine(PythonScriptEngine):
    """Script engine that also bounds multi-instance cardinality and standard-loop iterations at run time."""

    def __init__(self) -> None:
        super().__init__(environment=SandboxEnvironment())

    def evaluate(self, task: Any, expression: Any, external_context: dict[str, Any] | None = None) -> Any:
        """Evaluate for `task`; a cardinality or a loop past its ceiling fails the task with the reason."""
        spec = getattr(task, "task_spec", None)
        if isinstance(spec, StandardLoopTask) and expression == spec.condition:
            done = len(task.internal_data.get("merged", []))
            ceiling = active().max_loop_iterations
            if done >= ceiling:
                refusal = LimitExceeded(f"循环“{spec.bpmn_name or spec.bpmn_id}”已执行 {done} 次，达到上限 {ceiling}")
                raise WorkflowTaskException(refusal.message, task=task, exception=refusal) from refusal
        value = super().evaluate(task, expression, external_context)
        timer = timer_of(spec, expression)
        if timer is not None:
            try:
                check_timer_value(timer, value, active())
            except LimitExceeded as out_of_range:
                raise WorkflowTaskException(out_of_range.message, task=task, exception=out_of_range) from out_of_range
        if isinstance(spec, MultiInstanceTask) and expression == spec.cardinality:
            ceiling = active().max_cardinality
            if not isinstance(value, int) or value > ceiling:
                refusal = LimitExceeded(f"多实例“{spec.bpmn_name or spec.bpmn_id}”的实例数 {value!r} 超过上限 {ceiling}")
                raise WorkflowTaskException(refusal.message, task=task, exception=refusal) from refusal
        return value

    def validate(self, expression: str) -> None:
        """Raise SyntaxError like the base engine so DMN's operator detection keeps working."""
        try:
            compile_checked(expression, "eval")
        except SandboxViolation as exc:
            if isinstance(exc.__cause__, SyntaxError):
                raise exc.__cause__ from None
            raise


SCRIPT_ENGINE = SandboxScriptEngine()
