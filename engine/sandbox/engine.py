"""The script engine SpiffWorkflow runs every condition, script, timer, loop and DMN cell through: checked, guarded, limited."""
from __future__ import annotations

import ast
from functools import lru_cache
from types import CodeType
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, StandardLoopTask

from ..errors import LimitExceeded, SandboxViolation
from . import guards
from .limits import Limits, active
from .policy import check_tree
from .rewrite import guarded

BUILTINS: dict[str, Any] = {**guards.SAFE_CALLABLES, **guards.GUARDS, "True": True, "False": False, "None": None}


def check_source(source: str, mode: str, limits: Limits | None = None) -> ast.AST:
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
        check_tree(tree, mode, limits)
    except SandboxViolation as exc:
        raise SandboxViolation(f"{exc.message}：{source[:200]!r}") from None
    return tree


CACHED_SOURCE_CHARS = 4096


def compile_checked(source: str, mode: str) -> CodeType:
    """Check and compile the guarded tree; texts up to 4 KB are cached, so the cache cannot grow past a few hundred MB."""
    if isinstance(source, str) and len(source) <= CACHED_SOURCE_CHARS:
        return _compile_cached(source, mode)
    return _compile(source, mode)


@lru_cache(maxsize=8192)
def _compile_cached(source: str, mode: str) -> CodeType:
    return _compile(source, mode)


def _compile(source: str, mode: str) -> CodeType:
    return compile(guarded(check_source(source, mode)), "<string>", mode)


def result_checked(value: Any, limits: Limits) -> Any:
    """An expression's result must be data within the ceilings (no lazy iterators, no functions)."""
    if type(value) in guards.SCALARS or isinstance(value, guards.CONTAINERS):
        guards.measure(value, limits)
        return value
    raise SandboxViolation(f"表达式的结果必须是数据（文本、数字、列表、字典等），而不是 {type(value).__name__}")


class SandboxEnvironment(TaskDataEnvironment):
    """Task-data environment whose eval/exec run checked, guarded code under a deadline."""

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        """Evaluate an expression over task data within the expression deadline."""
        code = compile_checked(expression, "eval")
        limits = active()
        scope: dict[str, Any] = {"__builtins__": BUILTINS}
        scope.update(self.globals)
        if external_context:
            scope.update(external_context)
        scope.update(context)
        with guards.budget(limits.expression_seconds, "表达式", limits):
            value = eval(code, scope)  # noqa: S307 - allow-listed, guarded tree
        return result_checked(value, limits)

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        """Run a script that may set task-data variables, within the script deadline and the data ceiling."""
        code = compile_checked(script, "exec")
        limits = active()
        self.check_for_overwrite(context, external_context or {})
        context.update(self.globals)
        context.update(external_context or {})
        context["__builtins__"] = BUILTINS
        try:
            with guards.budget(limits.script_seconds, "脚本", limits):
                exec(code, context)  # noqa: S102 - allow-listed, guarded tree
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        check_task_data(context, limits)
        return True


def check_task_data(data: dict[str, Any], limits: Limits) -> None:
    """Task data stays within the stored-size ceiling (and no deep or cyclic structure)."""
    try:
        guards.measure(data, limits)
    except LimitExceeded as exc:
        raise LimitExceeded(f"任务数据超过上限（{exc.message}），请精简脚本写入的数据") from None


class SandboxScriptEngine(PythonScriptEngine):
    """Script engine that also bounds multi-instance cardinality and standard-loop iterations at run time."""

    def __init__(self) -> None:
        super().__init__(environment=SandboxEnvironment())

    def evaluate(self, task: Any, expression: Any, external_context: dict | None = None) -> Any:
        """Evaluate for `task`; a cardinality or a loop past its ceiling fails the task with the reason."""
        spec = getattr(task, "task_spec", None)
        if isinstance(spec, StandardLoopTask) and expression == spec.condition:
            done = len(task.internal_data.get("merged", []))
            ceiling = active().max_loop_iterations
            if done >= ceiling:
                raise LimitExceeded(f"循环“{spec.bpmn_name or spec.bpmn_id}”已执行 {done} 次，达到上限 {ceiling}")
        value = super().evaluate(task, expression, external_context)
        if isinstance(spec, MultiInstanceTask) and expression == spec.cardinality:
            ceiling = active().max_cardinality
            if not isinstance(value, int) or value > ceiling:
                raise LimitExceeded(f"多实例“{spec.bpmn_name or spec.bpmn_id}”的实例数 {value!r} 超过上限 {ceiling}")
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
