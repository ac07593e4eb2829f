"""Evaluates decisions as DMN 1.3 says: every hit policy with its result shape, default outputs, nulls, requirements first.

A decision's result is a value (one output or a literal expression), a context keyed by
output name (several outputs), or a list of those (COLLECT, RULE ORDER, OUTPUT ORDER); no
match gives the default outputs, or null. Required decisions are evaluated first, once
each, and their results are visible by name. Every cell runs as compiled, checked code in
the sandbox under one budget per evaluation.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import CodeType
from typing import Any

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.dmn.specs.model import DecisionTable, Input, InputEntry, Output, OutputEntry
from SpiffWorkflow.dmn.specs.model import Rule as SpiffRule

from engine.platform.errors import LimitExceeded, SandboxViolation
from engine.workflow.drg import MULTI_HIT, Decision, Knowledge, Table
from engine.workflow.feel_expr import is_name
from engine.workflow.sandbox import compile_feel, decision_budget, run_feel
from engine.workflow.sandbox.feel_lib import FeelFunction, Range, Scope, Test, YearsMonths, eq, iso_text, number

NULLISH = (TypeError, ValueError, ArithmeticError, KeyError, IndexError, AttributeError)


class DecisionFailed(Exception):
    """A decision could not be evaluated (UNIQUE with several hits, ANY with disagreeing hits, a limit); says which."""


@dataclass
class MatchedRule:
    """A rule that matched, with its outputs by name (what the assessment scorer reads)."""

    id: str
    description: str
    outputs: dict[str, Any]

    def output_as_dict(self, task: Any = None) -> dict[str, Any]:
        """The rule's outputs as stored in process data."""
        return {key: storable(value) for key, value in self.outputs.items()}


class _CompiledTable:
    """A table's cells as code objects, compiled once."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.inputs = [(None, column.expression) if is_name(column.expression) else (compile_feel(column.code), "")
                       for column in table.inputs]
        self.tests = [[None if test is None else compile_feel(test) for test in rule.tests] for rule in table.rules]
        self.outputs = [[compile_feel(code) for code in rule.outputs] for rule in table.rules]
        self.defaults = [None if o.default is None else compile_feel(o.default) for o in table.outputs]


class Graph:
    """The decisions of a set of DMN files, by id and by name, ready to evaluate on plain data."""

    def __init__(self, decisions: list[Decision]) -> None:
        self.decisions = {d.id: d for d in decisions}
        self.by_name = {d.name: d for d in decisions}
        self._tables = {d.id: _CompiledTable(d.table) for d in decisions if d.table is not None}
        self._literals = {d.id: compile_feel(d.literal) for d in decisions if d.literal is not None}

    def sources(self) -> list[tuple[str, str]]:
        """Every piece of compiled FEEL with a label naming where it is (for the sandbox's coverage checks)."""
        found = []
        for decision in self.decisions.values():
            if decision.literal is not None:
                found.append((decision.literal, f"决策{decision.label}的文字表达式"))
            table = decision.table
            found += [(k.body, f"业务知识模型“{k.name}”的表达式") for k in decision.knowledge]
            if table is None:
                continue
            found += [(c.code, f"决策输入“{c.label}”的表达式") for c in table.inputs]
            found += [(o.default, f"输出“{o.label}”的默认值") for o in table.outputs if o.default is not None]
            for rule in table.rules:
                found += [(test, f"规则 {rule.id} 的条件") for test in rule.tests if test is not None]
                found += [(code, f"规则 {rule.id} 的输出") for code in rule.outputs]
        return found

    def evaluate(self, decision_id: str, data: dict[str, Any]) -> Any:
        """The decision's DMN result for `data` (FEEL values: decimals, dates …)."""
        return self.evaluate_all(decision_id, data)[decision_id]

    def evaluate_all(self, decision_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """The results of the decision and of every decision it requires, by id."""
        results: dict[str, Any] = {}
        base = Scope(data)
        try:
            with decision_budget():
                self._evaluate(decision_id, base, results, [])
        except (LimitExceeded, SandboxViolation) as exc:
            raise DecisionFailed(f"决策{self.decisions[decision_id].label}：{exc.message}") from exc
        return results

    def _evaluate(self, decision_id: str, base: Scope, results: dict[str, Any], path: list[str]) -> Any:
        if decision_id in results:
            return results[decision_id]
        decision = self.decisions[decision_id]
        if decision_id in path:
            raise DecisionFailed(f"决策{decision.label}循环依赖")
        required = {}
        for other in decision.required_decisions:
            if other in self.decisions:
                required[self.decisions[other].name] = self._evaluate(other, base, results, path + [decision_id])
        for model in decision.knowledge:
            required[model.name] = self._function(model, base)
        scope = Scope(required, base) if required else base
        if decision.literal is not None:
            value = _nullable(lambda: run_feel(self._literals[decision_id], {"ctx": scope}))
        else:
            value = self._table(decision, scope)
        results[decision_id] = value
        return value

    def _function(self, model: Knowledge, base: Scope) -> FeelFunction:
        """A business knowledge model as a FEEL function: its parameters bound to the arguments, evaluated in the sandbox."""
        code = compile_feel(model.body)

        def call(args: list[Any]) -> Any:
            bound = {name: args[i] if i < len(args) else None for i, name in enumerate(model.parameters)}
            return _nullable(lambda: run_feel(code, {"ctx": Scope(bound, base)}))

        return FeelFunction(model.name, call)

    def _table(self, decision: Decision, scope: Scope) -> Any:
        compiled = self._tables[decision.id]
        table = compiled.table
        values = [scope.lookup(name) if code is None else _nullable(lambda c=code: run_feel(c, {"ctx": scope}))
                  for code, name in compiled.inputs]
        plain_values = [plain(v) for v in values]
        matched: list[int] = []
        for index, tests in enumerate(compiled.tests):
            if all(test is None or _holds(test, value) for test, value in zip(tests, plain_values)):
                matched.append(index)
                if table.hit_policy == "FIRST":
                    break
        rows = [self._row(compiled, index, scope) for index in matched]
        return self._shape(decision, compiled, matched, rows, scope)

    def _row(self, compiled: _CompiledTable, index: int, scope: Scope) -> dict[str, Any]:
        return {
            column.name: _nullable(lambda c=code: run_feel(c, {"ctx": scope}))
            for column, code in zip(compiled.table.outputs, compiled.outputs[index])
        }

    def _shape(self, decision: Decision, compiled: _CompiledTable, matched: list[int], rows: list[dict[str, Any]], scope: Scope) -> Any:
        table = compiled.table
        policy = table.hit_policy
        single = len(table.outputs) == 1
        if not rows:
            if table.aggregation == "COUNT":
                return Decimal(0)
            if table.aggregation or (policy in MULTI_HIT and all(d is None for d in compiled.defaults)):
                return None if table.aggregation else []
            defaults = {
                column.name: None if code is None else _nullable(lambda c=code: run_feel(c, {"ctx": scope}))
                for column, code in zip(table.outputs, compiled.defaults)
            }
            if all(code is None for code in compiled.defaults):
                return None
            shaped = _value(defaults, single)
            return [shaped] if policy in MULTI_HIT else shaped
        if policy == "UNIQUE" and len(rows) > 1:
            hit = "、".join(table.rules[i].id for i in matched)
            raise DecisionFailed(f"决策{decision.label}是 UNIQUE（唯一命中），但输入同时命中了多条规则：{hit}")
        if policy == "ANY" and any(not _same(rows[0], row) for row in rows[1:]):
            hit = "、".join(table.rules[i].id for i in matched)
            raise DecisionFailed(f"决策{decision.label}是 ANY，但命中的规则 {hit} 输出不同")
        if policy == "PRIORITY":
            rows = [min(rows, key=lambda row: _priority(table, row))]
        if policy == "OUTPUT ORDER":
            rows = sorted(rows, key=lambda row: _priority(table, row))
        if policy in ("UNIQUE", "ANY", "FIRST", "PRIORITY"):
            return _value(rows[0], single)
        if table.aggregation:
            return _aggregate(table.aggregation, [row[table.outputs[0].name] for row in rows])
        return [_value(row, single) for row in rows]

    def matched_rules(self, decision_id: str, data: dict[str, Any]) -> list[MatchedRule]:
        """Every rule of a table that matches `data`, in table order, with its outputs (any hit policy)."""
        compiled = self._tables[decision_id]
        found = []
        with decision_budget():
            scope = Scope(data)
            values = [plain(scope.lookup(name) if code is None else _nullable(lambda c=code: run_feel(c, {"ctx": scope})))
                      for code, name in compiled.inputs]
            for index, (rule, tests) in enumerate(zip(compiled.table.rules, compiled.tests)):
                if all(test is None or _holds(test, value) for test, value in zip(tests, values)):
                    found.append(MatchedRule(rule.id, rule.description, self._row(compiled, index, scope)))
        return found

    def as_data(self, decision_id: str, value: Any, variable: str = "") -> dict[str, Any]:
        """What a business rule task writes into process data: under `variable` when one is mapped, else by output name."""
        decision = self.decisions[decision_id]
        if variable:
            return {variable: storable(value)}
        table = decision.table
        if table is None:
            return {decision.name: storable(value)}
        names = [column.name for column in table.outputs]
        if len(names) == 1:
            return {names[0]: storable(value)}
        if isinstance(value, list):
            return {name: [storable(row.get(name)) if isinstance(row, dict) else None for row in value] for name in names}
        row = value if isinstance(value, dict) else {}
        return {name: storable(row.get(name)) for name in names}


def _nullable(evaluate: Any) -> Any:
    """A FEEL evaluation whose type errors give null, as FEEL's semantics say."""
    try:
        return evaluate()
    except NULLISH:
        return None


def _holds(test: CodeType, value: Any) -> bool:
    try:
        return run_feel(test, {"dmninputexpr": value}) is True
    except NULLISH:
        return False


def _value(row: dict[str, Any], single: bool) -> Any:
    return next(iter(row.values())) if single else row


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(eq(a[k], b.get(k)) is True or (a[k] is None and b.get(k) is None) for k in a)


def _priority(table: Table, row: dict[str, Any]) -> tuple[int, ...]:
    """A row's rank by the order of each output's listed values (first listed ranks first)."""
    ranks = []
    for column in table.outputs:
        value = row.get(column.name)
        rank = next((i for i, listed in enumerate(column.priorities) if _equal(listed, value)), len(column.priorities))
        ranks.append(rank)
    return tuple(ranks)


def _equal(a: Any, b: Any) -> bool:
    x, y = number(a), number(b)
    if x is not None and y is not None:
        return x == y
    return bool(a == b) and type(a) is type(b)


def _aggregate(kind: str, values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    if kind == "COUNT":
        return Decimal(len(present))
    numbers = [number(v) for v in present]
    if not present:
        return None
    if kind == "SUM":
        if any(n is None for n in numbers):
            return None
        return sum((n for n in numbers if n is not None), Decimal(0))
    try:
        comparable = [n for n in numbers if n is not None] if all(n is not None for n in numbers) else present
        return min(comparable) if kind == "MIN" else max(comparable)
    except TypeError:
        return None


def plain(value: Any) -> Any:
    """A FEEL number as the int or float a table cell compares with; other values as they are."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 10**18 else float(value)
    return value


def storable(value: Any) -> Any:
    """A FEEL value as process data can hold it: numbers int/float, dates and times ISO text, durations ISO text."""
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, datetime) or isinstance(value, timedelta) or value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, YearsMonths):
        return value.iso()
    if isinstance(value, list):
        return [storable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): storable(v) for k, v in value.items()}
    if isinstance(value, (Range, Test)):
        return None
    return value


def as_text(value: Any) -> str:
    """A value as people read it in messages and pages: dates, times and durations as ISO text, others as str()."""
    return iso_text(value) if isinstance(value, (date, time, timedelta, YearsMonths)) else str(value)


def comparable(value: Any) -> Any:
    """A value (stored or FEEL) in one form for comparing expected and actual case results (dates, times, durations as ISO text)."""
    if isinstance(value, (datetime, timedelta)):
        return iso_text(value)
    value = storable(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if isinstance(value, list):
        return [comparable(v) for v in value]
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items()}
    return value


def agrees(expected: Any, actual: Any) -> bool:
    """Expected and actual results agree: numbers to 1e-9 relative, lists and contexts item by item."""
    a, b = comparable(expected), comparable(actual)
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return abs(a - b) <= max(abs(a), abs(b), Decimal(1)) * Decimal("1e-9")
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(agrees(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(agrees(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


class DecisionEngine(DMNEngine):
    """What a business rule task calls: evaluates its decision (and what it requires) and writes the result into process data."""

    def __init__(self, graph: Graph, decision_id: str) -> None:
        self.graph, self.decision_id = graph, decision_id
        super().__init__(spiff_table(graph.decisions[decision_id]))

    def decide(self, task: Any) -> list[MatchedRule]:
        """The matching rules of the decision's table (in table order)."""
        return self.graph.matched_rules(self.decision_id, task.data)

    def result(self, task: Any) -> dict[str, Any]:
        """The process data the decision sets: by output name, or under the task's result variable when mapped."""
        value = self.graph.evaluate(self.decision_id, task.data)
        spec = getattr(task, "task_spec", None)
        properties = (getattr(spec, "extensions", None) or {}).get("properties", {}) if spec is not None else {}
        return self.graph.as_data(self.decision_id, value, str(properties.get("resultVariable") or "").strip())


def spiff_table(decision: Decision) -> DecisionTable:
    """The decision in SpiffWorkflow's table model, which its serializer and the version comparison read."""
    table = decision.table
    if table is None:
        result = DecisionTable(decision.id, decision.name, "UNIQUE")
        output = Output(f"{decision.id}_result", decision.name, decision.name, "")
        result.outputs = [output]
        rule = SpiffRule(f"{decision.id}_expression")
        entry = OutputEntry(f"{decision.id}_expression", output)
        entry.text = decision.literal_text
        rule.outputEntries = [entry]
        result.rules = [rule]
        return result
    result = DecisionTable(table.id, decision.name, table.hit_policy + (f" {table.aggregation}" if table.aggregation else ""))
    result.inputs = [Input(c.id, c.label, "", c.expression, "") for c in table.inputs]
    result.outputs = [Output(o.id, o.label, o.name, o.type_ref) for o in table.outputs]
    for source in table.rules:
        rule = SpiffRule(source.id)
        rule.row_number, rule.description = source.row, source.description
        for column, test in zip(result.inputs, source.tests):
            entry = InputEntry(f"{source.id}_{column.id}", column)
            entry.lhs = [test]
            rule.inputEntries.append(entry)
        for output, code in zip(result.outputs, source.outputs):
            out = OutputEntry(f"{source.id}_{output.id}", output)
            out.text = code
            rule.outputEntries.append(out)
        result.rules.append(rule)
    return result
