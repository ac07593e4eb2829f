"""The allow-list: which Python syntax, names and attributes a BPMN/DMN expression or script may use.

Everything not listed here is refused before any code runs, with a Chinese message that
names the construct. Names are compared after NFKC normalisation, as Python normalises them.
"""
from __future__ import annotations

import ast
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal

from engine.platform.errors import SandboxViolation
from engine.workflow.sandbox.limits import Limits

EXPRESSION_NODES: dict[type, str] = {
    ast.Expression: "表达式", ast.BoolOp: "and/or", ast.And: "and", ast.Or: "or", ast.BinOp: "运算",
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**",
    ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&",
    ast.UnaryOp: "一元运算", ast.Not: "not", ast.USub: "负号", ast.UAdd: "正号", ast.Invert: "~",
    ast.IfExp: "条件表达式", ast.Dict: "字典", ast.Set: "集合", ast.List: "列表", ast.Tuple: "元组",
    ast.ListComp: "列表推导式", ast.SetComp: "集合推导式", ast.DictComp: "字典推导式", ast.GeneratorExp: "生成器表达式",
    ast.comprehension: "推导式", ast.Compare: "比较", ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=",
    ast.Gt: ">", ast.GtE: ">=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
    ast.Call: "函数调用", ast.keyword: "关键字参数", ast.Constant: "常量", ast.Attribute: "属性",
    ast.Subscript: "下标", ast.Slice: "切片", ast.Name: "变量", ast.Load: "读取", ast.Store: "赋值",
    ast.Starred: "星号展开", ast.JoinedStr: "f-string", ast.FormattedValue: "f-string 插值",
}
SCRIPT_NODES: dict[type, str] = {
    **EXPRESSION_NODES,
    ast.Module: "脚本", ast.Assign: "赋值", ast.AugAssign: "增量赋值", ast.If: "if", ast.For: "for 循环",
    ast.Expr: "表达式语句", ast.Pass: "pass", ast.Break: "break", ast.Continue: "continue",
}
REFUSED_NAMES: dict[type, str] = {
    ast.FunctionDef: "def 函数定义", ast.AsyncFunctionDef: "async def", ast.Lambda: "lambda",
    ast.ClassDef: "class 类定义", ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield from",
    ast.With: "with", ast.AsyncWith: "async with", ast.AsyncFor: "async for", ast.Try: "try",
    ast.Raise: "raise", ast.Assert: "assert", ast.Match: "match", ast.Global: "global",
    ast.Nonlocal: "nonlocal", ast.Import: "import", ast.ImportFrom: "import", ast.Delete: "del",
    ast.While: "while 循环（请用 for 遍历数据）", ast.NamedExpr: "海象运算符 :=", ast.AnnAssign: "类型标注赋值",
    ast.MatMult: "@ 运算",
}

STR_METHODS = frozenset(
    "capitalize casefold center count endswith find index isalnum isalpha isascii isdecimal isdigit "
    "isidentifier islower isnumeric isspace istitle isupper join ljust lower lstrip partition removeprefix "
    "removesuffix replace rfind rindex rjust rpartition rsplit rstrip split splitlines startswith strip "
    "swapcase title upper zfill".split()
)
NUMBER_ATTRIBUTES = frozenset("real imag conjugate bit_length numerator denominator is_integer".split())
DECIMAL_METHODS = frozenset("quantize normalize is_nan is_zero is_signed adjusted to_integral_value".split())
LIST_METHODS = frozenset("append clear copy count extend index insert pop remove reverse sort".split())
DICT_METHODS = frozenset("clear copy get items keys pop popitem setdefault update values".split())
SET_METHODS = frozenset(
    "add clear copy difference discard intersection isdisjoint issubset issuperset remove symmetric_difference union".split()
)
TUPLE_METHODS = frozenset({"count", "index"})
DATE_ATTRIBUTES = frozenset("year month day weekday isoweekday isoformat isocalendar toordinal replace".split())
DATETIME_ATTRIBUTES = DATE_ATTRIBUTES | frozenset("hour minute second microsecond date".split())
TIMEDELTA_ATTRIBUTES = frozenset("days seconds microseconds total_seconds".split())

ATTRIBUTES_BY_TYPE: dict[type, frozenset[str]] = {
    str: STR_METHODS,
    int: NUMBER_ATTRIBUTES,
    bool: NUMBER_ATTRIBUTES,
    float: NUMBER_ATTRIBUTES,
    Decimal: DECIMAL_METHODS,
    list: LIST_METHODS,
    dict: DICT_METHODS,
    set: SET_METHODS,
    tuple: TUPLE_METHODS,
    date: DATE_ATTRIBUTES,
    datetime: DATETIME_ATTRIBUTES,
    timedelta: TIMEDELTA_ATTRIBUTES,
}
ALLOWED_ATTRIBUTES = frozenset().union(*ATTRIBUTES_BY_TYPE.values())
ALLOWED_FUNCTIONS = frozenset(
    "abs all any bool dict divmod enumerate filter float int isinstance len list map max min range "
    "reversed round set sorted str sum tuple zip".split()
)
NEVER_ATTRIBUTES = ("f_", "co_", "tb_", "gi_", "cr_", "ag_")
FORMAT_SPEC_CHARS = frozenset("<>=^+- #0123456789,._bcdeEfFgGnosxX%")
MAX_FORMAT_WIDTH = 3


def normalized(name: str) -> str:
    """An identifier as Python reads it (NFKC), so fullwidth letters cannot pass as other names."""
    return unicodedata.normalize("NFKC", name)


def check_name(name: str) -> None:
    """Refuse private and dunder names."""
    if normalized(name).startswith("_"):
        raise SandboxViolation(f"不允许使用 {name}（以下划线开头的名称）")


def check_attribute(name: str) -> None:
    """Only the documented public methods of the value types task data holds."""
    plain = normalized(name)
    if plain.startswith("_") or plain.startswith(NEVER_ATTRIBUTES) or plain not in ALLOWED_ATTRIBUTES:
        raise SandboxViolation(f"不允许访问属性 {name}（只能使用文本、数字、列表、字典、日期等数据的公开方法）")


def check_format_spec(node: ast.FormattedValue) -> None:
    """An f-string format spec is a short constant (no nested expression, width at most 3 digits)."""
    spec = node.format_spec
    if spec is None:
        return
    parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
    text = ""
    for part in parts:
        if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
            raise SandboxViolation("f-string 的格式说明中不允许嵌入表达式")
        text += part.value
    digits = "".join(c if c.isdigit() else " " for c in text).split()
    if any(ch not in FORMAT_SPEC_CHARS for ch in text) or any(len(d) > MAX_FORMAT_WIDTH for d in digits):
        raise SandboxViolation(f"f-string 的格式说明“{text}”不被允许（宽度与精度最多 {MAX_FORMAT_WIDTH} 位数字）")


def check_tree(tree: ast.AST, mode: str, limits: Limits, functions: frozenset[str] = ALLOWED_FUNCTIONS) -> None:
    """Walk the syntax tree: every node kind, name and attribute must be on the allow-list; all refusals are named together.

    `functions` are the names that may be called: the allowed builtins, or for compiled FEEL the FEEL library.
    """
    allowed = SCRIPT_NODES if mode == "exec" else EXPRESSION_NODES
    found: list[str] = []
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limits.max_ast_depth:
            raise SandboxViolation(f"表达式嵌套超过 {limits.max_ast_depth} 层")
        kind = type(node)
        if kind not in allowed:
            label = REFUSED_NAMES.get(kind) or EXPRESSION_NODES.get(kind) or SCRIPT_NODES.get(kind) or kind.__name__
            found.append(f"{'表达式' if mode == 'eval' else '脚本'}中不允许使用 {label}")
        else:
            try:
                _check_node(node, functions)
            except SandboxViolation as exc:
                found.append(exc.message)
        stack.extend((child, depth + 1) for child in reversed(list(ast.iter_child_nodes(node))))
    if found:
        raise SandboxViolation(merged(found))


def merged(messages: list[str]) -> str:
    """One message for several refusals: repeated explanations in brackets are said once, after the last of their group."""
    groups: dict[str, list[str]] = {}
    for message in dict.fromkeys(messages):
        head, _, hint = message.partition("（")
        groups.setdefault(hint, []).append(head if hint else message)
    return "；".join("、".join(heads) + (f"（{hint}" if hint else "") for hint, heads in groups.items())


def _check_node(node: ast.AST, functions: frozenset[str]) -> None:
    if isinstance(node, ast.Name):
        check_name(node.id)
    elif isinstance(node, ast.Attribute):
        if not isinstance(node.ctx, ast.Load):
            raise SandboxViolation(f"不允许给属性 .{node.attr} 赋值")
        check_attribute(node.attr)
    elif isinstance(node, ast.Call):
        _check_callee(node.func, functions)
    elif isinstance(node, ast.keyword) and node.arg is not None:
        check_name(node.arg)
    elif isinstance(node, ast.comprehension) and node.is_async:
        raise SandboxViolation("不允许 async 推导式")
    elif isinstance(node, ast.FormattedValue):
        check_format_spec(node)
    elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and isinstance(node.slice, ast.Slice):
        raise SandboxViolation("不允许切片赋值（如 l[0:0] = ...），请用列表方法")
    elif isinstance(node, ast.AugAssign) and not _simple_target(node.target):
        raise SandboxViolation("增量赋值只能用于变量或 变量[常量或变量]")


def _check_callee(func: ast.expr, functions: frozenset[str]) -> None:
    """Only the allow-listed functions by name, or a method of a value."""
    if isinstance(func, ast.Attribute):
        return
    if isinstance(func, ast.Name) and normalized(func.id) in functions:
        return
    shown = func.id if isinstance(func, ast.Name) else ast.unparse(func)[:60]
    raise SandboxViolation(f"不允许使用 {shown}（可调用的函数只有：{'、'.join(sorted(functions))}）")


def _simple_target(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    return (
        isinstance(target, ast.Subscript)
        and isinstance(target.value, ast.Name)
        and isinstance(target.slice, (ast.Name, ast.Constant))
    )
