"""Sandboxed evaluation for BPMN conditions, scripts, timers and DMN cells.

SpiffWorkflow evaluates everything with Python eval/exec and full builtins; this module
checks each expression's syntax tree once, compiles it once, and runs it with a small
allow-list of builtins, so no import, dunder access, open, exec or eval can run.
"""
from __future__ import annotations

import ast
import builtins
from functools import lru_cache
from types import CodeType
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment

from .errors import SandboxViolation

_SAFE_BUILTIN_NAMES = (
    "abs all any bool dict divmod enumerate filter float int isinstance len list map max min "
    "range reversed round set sorted str sum tuple zip"
).split()
SAFE_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}
SAFE_BUILTINS.update({"True": True, "False": False, "None": None})

FORBIDDEN_NAMES = frozenset(
    "open exec eval compile __import__ getattr setattr delattr globals locals vars input "
    "breakpoint help exit quit memoryview type object super classmethod staticmethod "
    "property dir id hash iter next".split()
)
FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map", "mro", "gi_frame", "f_globals"})


def check_source(source: str, mode: str) -> ast.AST:
    """Parse `source` and refuse imports, dunder names/attributes and dangerous builtins."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise SandboxViolation(f"表达式语法错误（第{exc.lineno}行）：{exc.msg}：{source!r}") from exc
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            raise SandboxViolation(f"表达式不允许 import：{source!r}")
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            raise SandboxViolation(f"表达式不允许 global/nonlocal：{source!r}")
        if isinstance(node, ast.Name) and (node.id.startswith("__") or node.id in FORBIDDEN_NAMES):
            raise SandboxViolation(f"表达式不允许使用 {node.id}：{source!r}")
        if isinstance(node, ast.Attribute) and (
            node.attr.startswith("_") or node.attr in FORBIDDEN_ATTRIBUTES
        ):
            raise SandboxViolation(f"表达式不允许访问属性 {node.attr}：{source!r}")
    return tree


@lru_cache(maxsize=4096)
def compile_checked(source: str, mode: str) -> CodeType:
    """Check once and compile once; the cache keeps hot paths free of re-parsing."""
    tree = check_source(source, mode)
    return compile(tree, "<string>", mode)


class SandboxEnvironment(TaskDataEnvironment):
    """Task-data environment whose eval/exec run checked code with allow-listed builtins."""

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        """Evaluate a checked expression over task data."""
        code = compile_checked(expression, "eval")
        scope: dict[str, Any] = {"__builtins__": SAFE_BUILTINS}
        scope.update(self.globals)
        if external_context:
            scope.update(external_context)
        scope.update(context)
        return eval(code, scope)  # noqa: S307 - checked AST, allow-listed builtins

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        """Execute a checked script that may set task-data variables."""
        code = compile_checked(script, "exec")
        self.check_for_overwrite(context, external_context or {})
        context.update(self.globals)
        context.update(external_context or {})
        context["__builtins__"] = SAFE_BUILTINS
        try:
            exec(code, context)  # noqa: S102 - checked AST, allow-listed builtins
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True


class SandboxScriptEngine(PythonScriptEngine):
    """Script engine whose syntax check is the sandbox check (used by DMN cells too)."""

    def __init__(self) -> None:
        super().__init__(environment=SandboxEnvironment())

    def validate(self, expression: str) -> None:
        """Raise SyntaxError like the base engine so DMN's operator detection keeps working."""
        try:
            compile_checked(expression, "eval")
        except SandboxViolation as exc:
            if isinstance(exc.__cause__, SyntaxError):
                raise exc.__cause__ from None
            raise


SCRIPT_ENGINE = SandboxScriptEngine()
