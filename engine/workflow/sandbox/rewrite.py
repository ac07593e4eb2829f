"""Rewrites a checked syntax tree so that every operation that can grow, walk or reach an object goes through a guard."""
from __future__ import annotations

import ast
from typing import Any

from engine.workflow.sandbox.policy import normalized

GUARDED_BINOPS = frozenset({"Add", "Mult", "Pow", "LShift", "Mod", "Sub", "BitOr", "BitAnd", "BitXor", "FloorDiv", "Div", "RShift"})


def _guard(name: str, *args: ast.expr, keywords: list[ast.keyword] | None = None) -> ast.Call:
    return ast.Call(func=ast.Name(id=f"_zk_{name}", ctx=ast.Load()), args=list(args), keywords=keywords or [])


def _all_constant(nodes: list[Any]) -> bool:
    return all(isinstance(n, ast.Constant) for n in nodes if n is not None)


class Guarder(ast.NodeTransformer):
    """Turns operations into guard calls; the names it adds start with `_`, which no user code may name."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        return _guard("binop", ast.Constant(type(node.op).__name__), node.left, node.right)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        target = node.target
        if isinstance(target, ast.Name):
            current: ast.expr = ast.Name(id=target.id, ctx=ast.Load())
        else:
            assert isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
            current = _guard("getitem", ast.Name(id=target.value.id, ctx=ast.Load()), target.slice)
        value = _guard("binop", ast.Constant(type(node.op).__name__), current, node.value)
        return ast.Assign(targets=[target], value=value)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        names = [type(op).__name__ for op in node.ops]
        if all(n in ("Is", "IsNot") for n in names):
            return node
        if len(names) == 1:
            return _guard("compare", ast.Constant(names[0]), node.left, node.comparators[0])
        operators = ast.Tuple(elts=[ast.Constant(name) for name in names], ctx=ast.Load())
        return _guard("chain", operators, node.left, *node.comparators)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        return _guard("call", node.func, *node.args, keywords=node.keywords)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        return _guard("getattr", node.value, ast.Constant(normalized(node.attr)))

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.ctx, ast.Load):
            node.slice = _guard("key", node.slice)
            return node
        key = node.slice
        if isinstance(key, ast.Slice):
            key = _guard("slice", *(part or ast.Constant(None) for part in (key.lower, key.upper, key.step)))
        return _guard("getitem", node.value, key)

    def _display(self, node: ast.expr, parts: list[Any]) -> ast.AST:
        self.generic_visit(node)
        if isinstance(getattr(node, "ctx", ast.Load()), ast.Load) and not _all_constant(parts):
            return _guard("display", node)
        return node

    def visit_List(self, node: ast.List) -> ast.AST:
        return self._display(node, node.elts)

    def visit_Tuple(self, node: ast.Tuple) -> ast.AST:
        return self._display(node, node.elts)

    def visit_Set(self, node: ast.Set) -> ast.AST:
        parts = list(node.elts)
        self.generic_visit(node)
        if _all_constant(parts):
            return node
        node.elts = [e if isinstance(e, ast.Starred) else _guard("key", e) for e in node.elts]
        return _guard("display", node)

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        parts = [*node.keys, *node.values]
        self.generic_visit(node)
        if _all_constant(parts):
            return node
        node.keys = [k if k is None else _guard("key", k) for k in node.keys]
        return _guard("display", node)

    def _comprehension(self, node: ast.expr) -> ast.AST:
        self.generic_visit(node)
        return _guard("display", node)

    visit_ListComp = _comprehension

    def visit_SetComp(self, node: ast.SetComp) -> ast.AST:
        self.generic_visit(node)
        node.elt = _guard("key", node.elt)
        return _guard("display", node)

    def visit_DictComp(self, node: ast.DictComp) -> ast.AST:
        self.generic_visit(node)
        node.key = _guard("key", node.key)
        return _guard("display", node)

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        node.iter = _guard("iter", node.iter)
        return node

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        node.iter = _guard("iter", node.iter)
        return node

    def visit_Starred(self, node: ast.Starred) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            node.value = _guard("iter", node.value)
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        self.generic_visit(node)
        return _guard("text", node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        self.generic_visit(node)
        node.value = _guard("format", node.value)
        return node


def guarded(tree: ast.AST) -> ast.AST:
    """The tree with guards in place, locations fixed for compile()."""
    rewritten: ast.AST = Guarder().visit(tree)
    return ast.fix_missing_locations(rewritten)
